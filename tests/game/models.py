"""The game's own models: what a game server keeps next to the package's tables."""

from __future__ import annotations

from typing import Final

from tortoise import fields
from tortoise.models import Model

__all__ = ["CREATE_TABLES", "GameNote"]

CREATE_TABLES: Final = """
CREATE TABLE IF NOT EXISTS game_notes (
    id SERIAL PRIMARY KEY,
    text VARCHAR(100) NOT NULL UNIQUE
)
"""
"""The game's schema (a game would migrate it with its own aerich app)."""


class GameNote(Model):
    """A row the game writes with its own model, inside the package's transactions."""

    id = fields.IntField(primary_key=True)
    text = fields.CharField(max_length=100, unique=True)

    class Meta:
        table = "game_notes"

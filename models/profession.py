"""Professions a player can take; static data seeded from world files."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

__all__ = ["Profession"]


class Profession(Model):
    """A profession (character class) with its stat requirements and effects."""

    id = fields.IntField(primary_key=True, generated=False)
    name = fields.CharField(max_length=50, unique=True)
    description = fields.TextField(default="")
    flavor_text = fields.TextField(default="")
    stat_requirements: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    mechanical_effects: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    is_available = fields.BooleanField(default=True, db_index=True)

    class Meta:
        table = "professions"

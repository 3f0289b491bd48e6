"""A guild players can join: a game table the persistence package knows nothing about."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Guild(Model):
    """A guild."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "dungeon_guilds"

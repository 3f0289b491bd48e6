"""Rooms of the world; loaded into the room cache once at start."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

__all__ = ["Room"]


class Room(Model):
    """A room. Ids are hierarchical strings such as ``earth_arkhamcity_sanitarium_room_foyer_001``.

    ``exits`` maps a direction to the room id it leads to. Player and container room ids carry
    no foreign key to this table: instanced rooms exist that were never written here.
    """

    room_id = fields.CharField(max_length=255, primary_key=True)
    name = fields.CharField(max_length=255)
    description = fields.TextField(default="")
    plane = fields.CharField(max_length=64)
    zone = fields.CharField(max_length=64)
    sub_zone = fields.CharField(max_length=64)
    exits: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    attributes: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "rooms"

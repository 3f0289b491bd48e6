"""Item instances: one row per item, in exactly one place."""

from __future__ import annotations

from typing import Any, Final

from tortoise import fields
from tortoise.models import Model

__all__ = ["OWNER_TYPES", "ItemInstance", "ItemPrototype"]

OWNER_TYPES: Final = ("room", "player", "container")


class ItemPrototype(Model):
    """What an item is: its name and weight, whether it stacks and how far.

    Loaded from a world folder (``item_prototypes.json``) like rooms and professions. Every
    item instance names one (``item_instances.prototype_id`` is a foreign key to this table),
    and a container's ``weight_limit`` counts ``weight * quantity`` of its items.
    """

    prototype_id = fields.CharField(max_length=120, primary_key=True)
    name = fields.CharField(max_length=255)
    weight = fields.IntField(default=0)
    stackable = fields.BooleanField(default=False)
    max_stack = fields.IntField(default=1)
    metadata: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "item_prototypes"


class ItemInstance(Model):
    """One item. Where it is, is ``(owner_type, owner_id)`` on this row and nowhere else.

    There is no inventory JSON on players and no container contents table: a player's inventory
    is the query ``owner_type = 'player' AND owner_id = <player id>``, so an item cannot be in
    two places at once. ``owner_id`` holds a room id, a player uuid or a container uuid as text.
    """

    item_instance_id = fields.CharField(max_length=64, primary_key=True)
    prototype_id = fields.CharField(max_length=120, db_index=True)
    owner_type = fields.CharField(max_length=16)
    owner_id = fields.CharField(max_length=255)
    position = fields.IntField(null=True)
    location_context = fields.CharField(max_length=255, null=True)
    quantity = fields.IntField(default=1)
    condition = fields.IntField(null=True)
    flags_override: fields.Field[list[str]] = fields.JSONField(default=list)
    binding_state = fields.CharField(max_length=32, null=True)
    attunement_state: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    custom_name = fields.CharField(max_length=255, null=True)
    metadata: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    origin_source = fields.CharField(max_length=64, null=True)
    origin_metadata: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "item_instances"
        indexes = (("owner_type", "owner_id"),)

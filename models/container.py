"""Containers: room chests, equipment that holds items, and corpses that decay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from persistence.models.item import ItemInstance

__all__ = ["LOCK_STATES", "MAX_CAPACITY_SLOTS", "SOURCE_TYPES", "Container"]

SOURCE_TYPES: Final = ("environment", "equipment", "corpse")
LOCK_STATES: Final = ("unlocked", "locked", "sealed")
MAX_CAPACITY_SLOTS: Final = 20


class Container(Model):
    """A container row. Its items are ``item_instances`` rows owned by ``("container", id)``.

    Environment and corpse containers stand in a room (``room_id``); equipment containers belong
    to an entity (``entity_id``), which may be an NPC, so it carries no foreign key.
    """

    container_id = fields.UUIDField(primary_key=True)
    source_type = fields.CharField(max_length=16, db_index=True)
    owner_id = fields.UUIDField(null=True, db_index=True)
    room_id = fields.CharField(max_length=255, null=True, db_index=True)
    entity_id = fields.UUIDField(null=True, db_index=True)
    lock_state = fields.CharField(max_length=16, default="unlocked")
    capacity_slots = fields.IntField(default=MAX_CAPACITY_SLOTS)
    weight_limit = fields.IntField(null=True)
    decay_at = fields.DatetimeField(null=True, db_index=True)
    allowed_roles: fields.Field[list[str]] = fields.JSONField(default=list)
    metadata: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "containers"

    @property
    def items(self) -> list[ItemInstance]:
        """The items inside, in slot order, as the repository loaded them with the container."""
        loaded: list[ItemInstance] = getattr(self, "_items", [])
        return list(loaded)

    def set_items(self, items: list[ItemInstance]) -> None:
        """Attach the contents read together with the container (repositories call this)."""
        object.__setattr__(self, "_items", list(items))

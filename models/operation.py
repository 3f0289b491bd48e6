"""Operation records: idempotency keys and the item movement ledger."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

__all__ = ["AppliedOperation", "ItemMovement"]


class AppliedOperation(Model):
    """An operation that carried an ``op_id`` and committed, with its outcome.

    Written in the same transaction as the operation's effect, so a repeat of the op_id
    finds it and returns ``result`` instead of applying the effect again.
    """

    op_id = fields.CharField(max_length=128, primary_key=True)
    kind = fields.CharField(max_length=32)
    request: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    result: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "applied_operations"


class ItemMovement(Model):
    """One move of one item, appended in the transaction that moved it (an audit ledger).

    An item's first row is its creation (``reason = "created"``), written by the statement
    that inserted it: no from-owner (``NULL``), its first owner as the to-owner. Replaying
    an item's rows in ``id`` order from its latest creation ends at its owner, moved or not
    (``layer.audit()`` checks this for every item).
    """

    id = fields.BigIntField(primary_key=True)
    item_instance_id = fields.CharField(max_length=64, db_index=True)
    from_owner_type = fields.CharField(max_length=16, null=True)
    from_owner_id = fields.CharField(max_length=255, null=True)
    to_owner_type = fields.CharField(max_length=16)
    to_owner_id = fields.CharField(max_length=255)
    reason = fields.CharField(max_length=32)
    op_id = fields.CharField(max_length=128, null=True)
    moved_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "item_movements"

"""The event outbox: events written in the transaction of the change, for other processes."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

__all__ = ["EventConsumer", "EventDelivery", "OutboxEvent"]


class OutboxEvent(Model):
    """One event, stored in the same transaction as the write it describes.

    It exists if and only if that write committed; ``event_id`` identifies it for the
    subscribers' de-duplication (delivery is at least once).
    """

    id = fields.BigIntField(primary_key=True)
    event_id = fields.UUIDField(unique=True)
    event_type = fields.CharField(max_length=64)
    payload: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "event_outbox"


class EventConsumer(Model):
    """A named subscriber of the outbox: it receives the events stored after ``since_id``."""

    name = fields.CharField(max_length=128, primary_key=True)
    since_id = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "event_consumers"


class EventDelivery(Model):
    """An event a consumer has handled: recorded after its handler returned."""

    id = fields.BigIntField(primary_key=True)
    consumer = fields.CharField(max_length=128)
    outbox_id = fields.BigIntField()
    delivered_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "event_deliveries"
        unique_together = (("consumer", "outbox_id"),)

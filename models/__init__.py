"""Tortoise ORM models of mud-persistence: the app Tortoise and aerich load (``APP_LABEL``).

One module per aggregate. Table and column names are a contract: tools and reports query them.
"""

from persistence.models.app import APP_LABEL
from persistence.models.container import Container
from persistence.models.item import ItemInstance, ItemPrototype
from persistence.models.operation import AppliedOperation, ItemMovement
from persistence.models.outbox import EventConsumer, EventDelivery, OutboxEvent
from persistence.models.player import Player
from persistence.models.profession import Profession
from persistence.models.room import Room
from persistence.models.stats import NUMERIC_STATS, STAT_REGISTRY, PlayerStats, StatSpec

__all__ = [
    "APP_LABEL",
    "AppliedOperation",
    "EventConsumer",
    "EventDelivery",
    "OutboxEvent",
    "ItemMovement",
    "Container",
    "ItemInstance",
    "ItemPrototype",
    "Player",
    "Profession",
    "Room",
    "PlayerStats",
    "StatSpec",
    "STAT_REGISTRY",
    "NUMERIC_STATS",
]

"""Tortoise ORM models of mud-persistence: the app Tortoise and aerich load (``APP_LABEL``).

One module per aggregate. Table and column names are a contract: tools and reports query them.
"""

from models.app import APP_LABEL
from models.container import Container
from models.item import ItemInstance
from models.operation import AppliedOperation, ItemMovement
from models.player import Player
from models.profession import Profession
from models.room import Room
from models.stats import NUMERIC_STATS, STAT_REGISTRY, PlayerStats, StatSpec

__all__ = [
    "APP_LABEL",
    "AppliedOperation",
    "ItemMovement",
    "Container",
    "ItemInstance",
    "Player",
    "Profession",
    "Room",
    "PlayerStats",
    "StatSpec",
    "STAT_REGISTRY",
    "NUMERIC_STATS",
]

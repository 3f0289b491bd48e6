"""Test data for the package's own tests, from the test kit's builders."""

from __future__ import annotations

from typing import Any

from persistence.models.player import Player
from persistence.testing.factories import DEFAULT_ROOM, make_player

FOYER = DEFAULT_ROOM
HALLWAY = "earth_arkhamcity_sanitarium_room_hallway_001"

TEST_PROTOTYPES = (
    "bone",
    "book.necronomicon",
    "knife",
    "ring.gold",
    "ring.silver",
    "coin",
    "gem",
    "idol",
    "lint",
    "loot",
    "orb",
    "ring",
    "rock",
    "rope",
    "scroll",
    "test.item",
    "thing",
    "x",
    "weapon.knife",
)
"""Prototype ids the package's tests make items of; the test layers have them (weight 0)."""


def new_player(name: str | None = None, **fields: Any) -> Player:
    """An unsaved player with a unique name in the foyer."""
    return make_player(name, **fields)

"""Builders for test data with unique ids."""

from __future__ import annotations

import uuid
from typing import Any

from models.player import Player
from models.stats import PlayerStats

FOYER = "earth_arkhamcity_sanitarium_room_foyer_001"
HALLWAY = "earth_arkhamcity_sanitarium_room_hallway_001"


def new_player(name: str | None = None, **fields: Any) -> Player:
    """An unsaved player with a unique name in the foyer."""
    values: dict[str, Any] = {
        "player_id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "name": name or f"p_{uuid.uuid4().hex[:12]}",
        "current_room_id": FOYER,
        "stats": PlayerStats(),
    }
    values.update(fields)
    return Player(**values)

"""The stat registry is the one source of keys, defaults and bounds."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from persistence.models.stats import (
    NUMERIC_STATS,
    STAT_REGISTRY,
    PlayerStats,
    default_stats_document,
    default_stats_json,
)

CORE = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")


def test_registry_keys_defaults_and_bounds() -> None:
    for name in CORE:
        spec = STAT_REGISTRY[name]
        assert (spec.default, spec.minimum, spec.maximum) == (50, 1, 100)
    assert (STAT_REGISTRY["lucidity"].default, STAT_REGISTRY["lucidity"].minimum) == (100, 0)
    for name in ("occult_knowledge", "fear", "corruption", "cult_affiliation"):
        spec = STAT_REGISTRY[name]
        assert (spec.default, spec.minimum, spec.maximum) == (0, 0, 100)
    assert (STAT_REGISTRY["max_health"].default, STAT_REGISTRY["max_health"].minimum) == (100, 1)
    assert STAT_REGISTRY["max_health"].maximum is None
    health = STAT_REGISTRY["current_health"]
    assert (health.default, health.minimum, health.maximum) == (100, None, "max_health")
    assert STAT_REGISTRY["position"].default == "standing"


def test_numeric_whitelist_is_derived_from_the_registry() -> None:
    assert NUMERIC_STATS == set(STAT_REGISTRY) - {"position"}


def test_python_default_equals_the_default_document() -> None:
    assert PlayerStats().model_dump() == default_stats_document()
    assert json.loads(default_stats_json()) == default_stats_document()


@pytest.mark.parametrize(
    "change",
    [
        {"strength": 0},
        {"strength": 101},
        {"lucidity": -1},
        {"fear": 101},
        {"max_health": 0},
        {"current_health": 101},
    ],
)
def test_bounds_are_enforced(change: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        PlayerStats(**change)


def test_current_health_capped_by_own_max_health() -> None:
    assert PlayerStats(max_health=150, current_health=150).current_health == 150
    with pytest.raises(ValidationError):
        PlayerStats(max_health=80, current_health=90)


def test_unknown_keys_survive_a_round_trip() -> None:
    stats = PlayerStats.model_validate({**default_stats_document(), "cold_resistance": 7})
    assert stats.model_dump()["cold_resistance"] == 7

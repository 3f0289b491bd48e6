"""Database-side rules that Tortoise models cannot declare.

Tortoise and aerich express columns, foreign keys and plain indexes, but not CHECK constraints,
expression indexes or JSONB column defaults. Those live in a hand-written migration; this module
is the list of what that migration must have created. ``tests/integration/test_migrations.py``
compares it with the migrated database, so a rule added here without a migration fails.
"""

from __future__ import annotations

from typing import Final

from models.container import LOCK_STATES, MAX_CAPACITY_SLOTS, SOURCE_TYPES
from models.item import OWNER_TYPES
from models.stats import default_stats_json

__all__ = ["CHECK_CONSTRAINTS", "COLUMN_DEFAULTS", "EXPRESSION_INDEXES"]


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


CHECK_CONSTRAINTS: Final[dict[str, tuple[str, str]]] = {
    # name: (table, condition)
    "players_stats_is_object": ("players", "jsonb_typeof(stats) = 'object'"),
    "players_experience_points_nonnegative": ("players", "experience_points >= 0"),
    "players_level_positive": ("players", "level >= 1"),
    "players_name_not_blank": ("players", "length(btrim(name)) > 0"),
    "professions_stat_requirements_is_object": (
        "professions",
        "jsonb_typeof(stat_requirements) = 'object'",
    ),
    "rooms_exits_is_object": ("rooms", "jsonb_typeof(exits) = 'object'"),
    "containers_source_type_valid": ("containers", _in("source_type", SOURCE_TYPES)),
    "containers_lock_state_valid": ("containers", _in("lock_state", LOCK_STATES)),
    "containers_capacity_slots_range": (
        "containers",
        f"capacity_slots BETWEEN 1 AND {MAX_CAPACITY_SLOTS}",
    ),
    "containers_weight_limit_positive": (
        "containers",
        "weight_limit IS NULL OR weight_limit > 0",
    ),
    "containers_placement": (
        "containers",
        "(source_type = 'equipment' AND entity_id IS NOT NULL)"
        " OR (source_type IN ('environment', 'corpse') AND room_id IS NOT NULL)",
    ),
    "containers_metadata_is_object": ("containers", "jsonb_typeof(metadata) = 'object'"),
    "item_instances_owner_type_valid": ("item_instances", _in("owner_type", OWNER_TYPES)),
    "item_instances_quantity_positive": ("item_instances", "quantity >= 1"),
    "item_instances_owner_id_not_blank": ("item_instances", "length(owner_id) > 0"),
    "item_instances_metadata_is_object": ("item_instances", "jsonb_typeof(metadata) = 'object'"),
    "item_instances_position_nonnegative": (
        "item_instances",
        "position IS NULL OR position >= 0",
    ),
    "item_movements_owner_types_valid": (
        "item_movements",
        _in("from_owner_type", OWNER_TYPES) + " AND " + _in("to_owner_type", OWNER_TYPES),
    ),
}
"""CHECK constraints by name. Conditions are compared with what PostgreSQL reports."""

EXPRESSION_INDEXES: Final[dict[str, tuple[str, str]]] = {
    # name: (table, definition after ON <table>)
    "players_name_lower_key": ("players", "UNIQUE (lower((name)::text))"),
}
"""Indexes Tortoise cannot declare. Names differing only in case are one name."""

COLUMN_DEFAULTS: Final[dict[tuple[str, str], str]] = {
    ("players", "stats"): default_stats_json(),
    ("players", "experience_points"): "0",
    ("players", "level"): "1",
    ("players", "is_admin"): "false",
    ("professions", "description"): "",
    ("professions", "flavor_text"): "",
    ("professions", "is_available"): "true",
    ("professions", "stat_requirements"): "{}",
    ("professions", "mechanical_effects"): "{}",
    ("rooms", "description"): "",
    ("rooms", "exits"): "{}",
    ("rooms", "attributes"): "{}",
    ("containers", "lock_state"): "unlocked",
    ("containers", "capacity_slots"): str(MAX_CAPACITY_SLOTS),
    ("containers", "allowed_roles"): "[]",
    ("containers", "metadata"): "{}",
    ("item_instances", "quantity"): "1",
    ("item_instances", "flags_override"): "[]",
    ("item_instances", "attunement_state"): "{}",
    ("item_instances", "metadata"): "{}",
    ("item_instances", "origin_metadata"): "{}",
    ("applied_operations", "request"): "{}",
    ("applied_operations", "result"): "{}",
}
"""Database defaults, so tools inserting rows by hand get the same values as the ORM."""

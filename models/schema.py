"""Database-side rules that Tortoise models cannot declare.

Tortoise and aerich express columns, foreign keys and plain indexes, but not CHECK constraints,
expression indexes, JSONB column defaults or generated columns. Those live in hand-written
migrations; this module is the list of what they must have created.
``tests/integration/test_migrations.py`` compares it with the migrated database, so a rule
added here without a migration fails.
"""

from __future__ import annotations

from typing import Final

from persistence.models.container import LOCK_STATES, MAX_CAPACITY_SLOTS, SOURCE_TYPES
from persistence.models.item import OWNER_TYPES
from persistence.models.stats import (
    HEALTH_FLOOR_DEFAULT,
    STAT_REGISTRY,
    STAT_VALUE_LIMIT,
    default_stats_json,
)

__all__ = [
    "CHECK_CONSTRAINTS",
    "COLUMN_DEFAULTS",
    "EXPRESSION_INDEXES",
    "EXTRA_FOREIGN_KEYS",
    "GENERATED_COLUMNS",
    "HEALTH_FLOOR_CHECK",
    "LOST_AND_FOUND_ROOM",
    "stats_checks",
]

HEALTH_FLOOR_CHECK: Final = "players_stats_current_health_valid"
"""The CHECK carrying the health floor; ``python -m persistence migrate`` sets its floor from
``MUD_HEALTH_FLOOR`` and ``start()`` refuses a layer whose floor differs."""

LOST_AND_FOUND_ROOM: Final = "mud_lost_and_found"
"""Where the ownership migration put items whose player or container no longer existed."""


def _stat_value(key: str, lower: int, upper: int) -> str:
    # A present key must be a JSON integer within bounds; a missing key takes its default.
    # One jsonpath per key: evaluated in one pass over the document, about a third of the
    # cost of the equivalent SQL (text extraction and numeric casts per test) on every write.
    return (
        f'jsonb_path_match(stats, \'!exists($.{key}) || ($.{key}.type() == "number"'
        f" && $.{key} >= {lower} && $.{key} <= {upper} && $.{key}.floor() == $.{key})')"
    )


def stats_checks(health_floor: int = HEALTH_FLOOR_DEFAULT) -> dict[str, tuple[str, str]]:
    """The CHECKs that keep every stats document within the registry's bounds.

    One per registry key, plus ``current_health <= max_health`` (missing keys count as their
    defaults). The floor of ``current_health`` is the setting's.
    """
    checks: dict[str, tuple[str, str]] = {}
    for key, spec in STAT_REGISTRY.items():
        name = f"players_stats_{key}_valid"
        if not spec.numeric:
            condition = f"NOT stats ? '{key}' OR jsonb_typeof(stats -> '{key}') = 'string'"
        else:
            lower = health_floor if key == "current_health" else spec.minimum
            upper = spec.maximum if isinstance(spec.maximum, int) else STAT_VALUE_LIMIT
            condition = _stat_value(key, -STAT_VALUE_LIMIT if lower is None else lower, upper)
        checks[name] = ("players", condition)
    current, maximum = STAT_REGISTRY["current_health"], STAT_REGISTRY["max_health"]
    checks["players_stats_health_within_max"] = (
        "players",
        "CASE WHEN COALESCE(jsonb_typeof(stats -> 'current_health'), 'number') = 'number'"
        " AND COALESCE(jsonb_typeof(stats -> 'max_health'), 'number') = 'number'"
        f" THEN COALESCE((stats ->> 'current_health')::numeric, {current.default})"
        f" <= COALESCE((stats ->> 'max_health')::numeric, {maximum.default})"
        " ELSE true END",
    )
    return checks


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
    "item_instances_owner_id_is_uuid": (
        "item_instances",
        "owner_type = 'room'"
        " OR owner_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'",
    ),
    "players_deleted_at_set_when_deleted": ("players", "is_deleted = (deleted_at IS NOT NULL)"),
    "item_prototypes_weight_nonnegative": ("item_prototypes", "weight >= 0"),
    "item_prototypes_max_stack_valid": (
        "item_prototypes",
        "max_stack >= 1 AND (stackable OR max_stack = 1)",
    ),
    "item_prototypes_metadata_is_object": (
        "item_prototypes",
        "jsonb_typeof(metadata) = 'object'",
    ),
    "item_prototypes_name_not_blank": ("item_prototypes", "length(btrim(name)) > 0"),
    **stats_checks(),
}
"""CHECK constraints by name. Conditions are compared with what PostgreSQL reports."""

GENERATED_COLUMNS: Final[dict[tuple[str, str], tuple[str, str]]] = {
    # (table, column): (type, expression). Each owner of an item as a column of its own type,
    # derived from (owner_type, owner_id), so a real foreign key can check it.
    ("item_instances", "owner_player_id"): (
        "uuid",
        "CASE WHEN owner_type = 'player' THEN owner_id::uuid END",
    ),
    ("item_instances", "owner_container_id"): (
        "uuid",
        "CASE WHEN owner_type = 'container' THEN owner_id::uuid END",
    ),
    ("item_instances", "owner_room_id"): (
        "character varying",
        "CASE WHEN owner_type = 'room' THEN owner_id END",
    ),
    # The player an equipment container is worn by (migration 9).
    ("containers", "equipment_player_id"): (
        "uuid",
        "CASE WHEN source_type = 'equipment' THEN entity_id END",
    ),
}
"""Stored generated columns (Tortoise does not declare generated columns)."""

EXTRA_FOREIGN_KEYS: Final[dict[str, tuple[str, str]]] = {
    # name: (table, definition as pg_get_constraintdef reports it)
    "item_instances_owner_player_fkey": (
        "item_instances",
        "FOREIGN KEY (owner_player_id) REFERENCES players(player_id) ON DELETE CASCADE",
    ),
    "item_instances_owner_container_fkey": (
        "item_instances",
        "FOREIGN KEY (owner_container_id) REFERENCES containers(container_id) ON DELETE CASCADE",
    ),
    "item_instances_owner_room_fkey": (
        "item_instances",
        "FOREIGN KEY (owner_room_id) REFERENCES rooms(room_id) ON DELETE RESTRICT",
    ),
    "containers_room_fkey": (
        "containers",
        "FOREIGN KEY (room_id) REFERENCES rooms(room_id) ON DELETE RESTRICT",
    ),
    "containers_equipment_player_fkey": (
        "containers",
        "FOREIGN KEY (equipment_player_id) REFERENCES players(player_id) ON DELETE CASCADE",
    ),
    "event_deliveries_outbox_fkey": (
        "event_deliveries",
        "FOREIGN KEY (outbox_id) REFERENCES event_outbox(id) ON DELETE CASCADE",
    ),
    "event_deliveries_consumer_fkey": (
        "event_deliveries",
        "FOREIGN KEY (consumer) REFERENCES event_consumers(name) ON DELETE CASCADE",
    ),
    "item_instances_prototype_fkey": (
        "item_instances",
        "FOREIGN KEY (prototype_id) REFERENCES item_prototypes(prototype_id) ON DELETE RESTRICT",
    ),
}
"""Foreign keys the models do not declare: an item's owner, by kind, a container's room, an
equipment container's player and an item's prototype (a plain text column in the model, so
reads and writes stay one row).

Deleting a player or a container deletes the items it still holds, and a player the
equipment containers it wears (in the same statement);
a room that holds items or containers, or a prototype items are made of, cannot be deleted."""

EXPRESSION_INDEXES: Final[dict[str, tuple[str, str]]] = {
    # name: (table, definition after ON <table>)
    # Unique among active characters: a soft-deleted one frees its name.
    # Greek final sigma counts as sigma (PostgreSQL's lower() keeps them apart; migration 6).
    "players_name_lower_key": (
        "players",
        "UNIQUE (lower(translate((name)::text, '\u03c2'::text, '\u03c3'::text)))"
        " WHERE (NOT is_deleted)",
    ),
    "item_instances_owner_player_idx": ("item_instances", "(owner_player_id)"),
    "item_instances_owner_container_idx": ("item_instances", "(owner_container_id)"),
    "item_instances_owner_room_idx": ("item_instances", "(owner_room_id)"),
    "containers_equipment_player_idx": ("containers", "(equipment_player_id)"),
}
"""Indexes Tortoise cannot declare. Names differing only in case are one name."""

COLUMN_DEFAULTS: Final[dict[tuple[str, str], str]] = {
    ("players", "stats"): default_stats_json(),
    ("players", "experience_points"): "0",
    ("players", "level"): "1",
    ("players", "is_admin"): "false",
    ("players", "is_deleted"): "false",
    ("item_prototypes", "weight"): "0",
    ("item_prototypes", "stackable"): "false",
    ("item_prototypes", "max_stack"): "1",
    ("item_prototypes", "metadata"): "{}",
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
    ("event_outbox", "payload"): "{}",
    ("event_consumers", "since_id"): "0",
    ("applied_operations", "request"): "{}",
    ("applied_operations", "result"): "{}",
}
"""Database defaults, so tools inserting rows by hand get the same values as the ORM."""

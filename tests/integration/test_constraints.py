"""The database itself refuses bad data, whatever client writes it."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from persistence.models.stats import default_stats_document

pytestmark = pytest.mark.integration

FOYER = "earth_arkhamcity_sanitarium_room_foyer_001"


async def _insert_player(
    conn: asyncpg.Connection, name: str, stats: str | None = None
) -> uuid.UUID:
    pid = uuid.uuid4()
    if stats is None:
        await conn.execute(
            "INSERT INTO players (player_id, user_id, name, current_room_id)"
            " VALUES ($1, $2, $3, $4)",
            pid,
            uuid.uuid4(),
            name,
            FOYER,
        )
    else:
        await conn.execute(
            "INSERT INTO players (player_id, user_id, name, current_room_id, stats)"
            " VALUES ($1, $2, $3, $4, $5::jsonb)",
            pid,
            uuid.uuid4(),
            name,
            FOYER,
            stats,
        )
    return pid


async def test_stats_database_default_is_the_python_default(clean_db: asyncpg.Connection) -> None:
    pid = await _insert_player(clean_db, "Defaulted")
    stored = await clean_db.fetchval("SELECT stats::text FROM players WHERE player_id = $1", pid)
    assert json.loads(stored) == default_stats_document()


@pytest.mark.parametrize("stats", ['"a string"', "[1, 2]", "42", "null"])
async def test_non_object_stats_are_refused(clean_db: asyncpg.Connection, stats: str) -> None:
    with pytest.raises((asyncpg.CheckViolationError, asyncpg.NotNullViolationError)):
        await _insert_player(clean_db, "Bad stats", stats)
    assert await clean_db.fetchval("SELECT count(*) FROM players") == 0


async def test_names_are_unique_ignoring_case(clean_db: asyncpg.Connection) -> None:
    await _insert_player(clean_db, "Armitage")
    with pytest.raises(asyncpg.UniqueViolationError):
        await _insert_player(clean_db, "ARMITAGE")


@pytest.mark.parametrize(
    ("column", "value"),
    [("experience_points", -1), ("level", 0)],
)
async def test_player_ranges(clean_db: asyncpg.Connection, column: str, value: int) -> None:
    pid = await _insert_player(clean_db, "Ranged")
    with pytest.raises(asyncpg.CheckViolationError):
        await clean_db.execute(f"UPDATE players SET {column} = $1 WHERE player_id = $2", value, pid)


async def _insert_container(conn: asyncpg.Connection, **values: object) -> None:
    await conn.execute(
        "INSERT INTO rooms (room_id, name, plane, zone, sub_zone)"
        " VALUES ($1, 'Foyer', 'e', 'a', 's') ON CONFLICT DO NOTHING",
        FOYER,
    )
    row = {"container_id": uuid.uuid4(), "source_type": "environment", "room_id": FOYER}
    row.update(values)
    columns = ", ".join(row)
    params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(f"INSERT INTO containers ({columns}) VALUES ({params})", *row.values())


@pytest.mark.parametrize(
    "values",
    [
        {"source_type": "backpack"},
        {"lock_state": "ajar"},
        {"capacity_slots": 0},
        {"capacity_slots": 21},
        {"weight_limit": 0},
        {"source_type": "equipment", "entity_id": None},
        {"source_type": "corpse", "room_id": None},
    ],
)
async def test_container_rules(clean_db: asyncpg.Connection, values: dict[str, object]) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await _insert_container(clean_db, **values)
    assert await clean_db.fetchval("SELECT count(*) FROM containers") == 0


async def test_container_defaults(clean_db: asyncpg.Connection) -> None:
    await _insert_container(clean_db)
    row = await clean_db.fetchrow(
        "SELECT lock_state, capacity_slots, metadata::text FROM containers"
    )
    assert (row["lock_state"], row["capacity_slots"], json.loads(row["metadata"])) == (
        "unlocked",
        20,
        {},
    )


async def _insert_item(conn: asyncpg.Connection, **values: object) -> None:
    row = {
        "item_instance_id": uuid.uuid4().hex,
        "prototype_id": "weapon.knife",
        "owner_type": "room",
        "owner_id": FOYER,
    }
    row.update(values)
    columns = ", ".join(row)
    params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(f"INSERT INTO item_instances ({columns}) VALUES ({params})", *row.values())


@pytest.mark.parametrize(
    "values",
    [{"quantity": 0}, {"quantity": -5}, {"owner_type": "bank"}, {"owner_id": ""}],
)
async def test_item_rules(clean_db: asyncpg.Connection, values: dict[str, object]) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await _insert_item(clean_db, **values)
    assert await clean_db.fetchval("SELECT count(*) FROM item_instances") == 0


async def test_item_needs_an_owner(clean_db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.NotNullViolationError):
        await _insert_item(clean_db, owner_id=None)

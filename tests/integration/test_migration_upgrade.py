"""Each hand-written migration on a database holding data at its previous head.

Migration 3: the database is migrated to migration 2 and filled the way 0.1 could leave it:
players, items held by players, containers and rooms, items of players and containers that
no longer exist, rooms never written, a stats document that breaks the new bounds. Then the
package upgrades it. Migration 4 (the stats checks as jsonpath): a database at migration 3
with players, a health floor of -10 and a row an external tool wrote past a dropped check.
Migration 5 (prototypes): items of any prototype id get placeholders that can be replaced.
Migration 6 (the final-sigma name key): clashing names each get a free ``#k`` suffix.
Migration 8 (the creation ledger): every existing item gets the creation row its ledger
replays from.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise.context import TortoiseContext, _current_context

from persistence.config import tortoise_config
from persistence.facade import AsyncPersistenceLayer
from persistence.models.schema import LOST_AND_FOUND_ROOM, stats_checks
from persistence.schema import (
    MIGRATIONS_APP,
    apply_health_floor,
    floor_in,
    migration_files,
    migrations_location,
    run_migrations,
)
from persistence.settings import PersistenceSettings
from tests.conftest import connect, create_database, drop_database, make_settings
from tests.integration.test_migrations import _columns, _foreign_keys, _indexes

pytestmark = pytest.mark.integration

PREVIOUS_HEAD = 3  # migrations 0, 1 and 2


async def _aerich_upgrade(url: str, location: Path, head: int) -> list[str]:
    """Apply the first ``head`` migration files with aerich alone (no floor step after)."""
    from aerich import Command

    (location / MIGRATIONS_APP).mkdir(parents=True, exist_ok=True)
    for name in migration_files()[:head]:
        shutil.copy(migrations_location() / MIGRATIONS_APP / name, location / MIGRATIONS_APP)
    os.environ.setdefault("AERICH_NO_TORTOISE_V1_WARNING", "1")
    config = tortoise_config(PersistenceSettings(), url)
    token = _current_context.set(TortoiseContext())
    try:
        async with Command(
            tortoise_config=config, app=MIGRATIONS_APP, location=str(location)
        ) as cmd:
            applied: list[str] = await cmd.upgrade(run_in_transaction=True)
    finally:
        _current_context.reset(token)
    return applied


async def _migrate_to_previous_head(url: str, tmp_path: Path, head: int = PREVIOUS_HEAD) -> None:
    applied = await _aerich_upgrade(url, tmp_path / "migrations", head)
    assert applied == migration_files()[:head]


async def _fill_like_0_1(conn: asyncpg.Connection) -> dict[str, Any]:
    alive, gone, broken, gone_chest = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    chest, lost_chest = uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO rooms (room_id, name, plane, zone, sub_zone)"
        " VALUES ('hall', 'Hall', 'p', 'z', 's')"
    )
    for pid, name in ((alive, "Alive"), (broken, "Broken")):
        await conn.execute(
            "INSERT INTO players (player_id, user_id, name, current_room_id, experience_points)"
            " VALUES ($1, $2, $3, 'hall', 2147483000)",
            pid,
            uuid.uuid4(),
            name,
        )
    await conn.execute(  # what an old tool could write before the bounds existed
        "UPDATE players SET stats = stats || $1::jsonb WHERE player_id = $2",
        json.dumps({"current_health": 150, "max_health": 100}),
        broken,
    )
    await conn.execute(
        "INSERT INTO containers (container_id, source_type, room_id) VALUES"
        " ($1, 'environment', 'hall'), ($2, 'environment', 'never_written')",
        chest,
        lost_chest,
    )
    items = [
        ("held", "player", str(alive)),
        ("in-chest", "container", str(chest)),
        ("on-floor", "room", "hall"),
        ("in-unwritten-room", "room", "also_never_written"),
        ("of-gone-player", "player", str(gone)),
        ("of-gone-chest", "container", str(gone_chest)),
    ]
    for item_id, owner_type, owner_id in items:
        await conn.execute(
            "INSERT INTO item_instances (item_instance_id, prototype_id, owner_type, owner_id)"
            " VALUES ($1, 'thing', $2, $3)",
            item_id,
            owner_type,
            owner_id,
        )
    return {
        "alive": alive,
        "broken": broken,
        "chest": chest,
        "gone": gone,
        "gone_chest": gone_chest,
    }


async def test_upgrading_a_database_with_data_at_the_previous_head(
    pg_server: str, tmp_path: Path
) -> None:
    url = await create_database(pg_server, "mud_up")
    fresh = await create_database(pg_server, "mud_fresh")
    try:
        await _migrate_to_previous_head(url, tmp_path)
        conn = await connect(url)
        try:
            ids = await _fill_like_0_1(conn)
            before = {
                r["player_id"]: dict(r)
                for r in await conn.fetch("SELECT player_id, name, stats::text FROM players")
            }
            assert await run_migrations(url) == migration_files()[PREVIOUS_HEAD:]

            # The data survives: players unchanged, XP widened, every item still there.
            after = {
                r["player_id"]: dict(r)
                for r in await conn.fetch("SELECT player_id, name, stats::text FROM players")
            }
            assert after == before
            assert (
                await conn.fetchval(
                    "SELECT pg_typeof(experience_points)::text FROM players LIMIT 1"
                )
                == "bigint"
            )
            owners = {
                r["item_instance_id"]: (r["owner_type"], r["owner_id"])
                for r in await conn.fetch(
                    "SELECT item_instance_id, owner_type, owner_id FROM item_instances"
                )
            }
            assert owners == {
                "held": ("player", str(ids["alive"])),
                "in-chest": ("container", str(ids["chest"])),
                "on-floor": ("room", "hall"),
                "in-unwritten-room": ("room", "also_never_written"),
                "of-gone-player": ("room", LOST_AND_FOUND_ROOM),
                "of-gone-chest": ("room", LOST_AND_FOUND_ROOM),
            }
            ledger = await conn.fetch(
                "SELECT item_instance_id, reason, to_owner_type, to_owner_id FROM item_movements"
                " ORDER BY item_instance_id, id"
            )
            assert [
                (r["item_instance_id"], r["reason"]) for r in ledger if r["reason"] != "created"
            ] == [
                ("of-gone-chest", "orphan_rehomed"),
                ("of-gone-player", "orphan_rehomed"),
            ]
            # Migration 8: each item's history starts at its creation, where it first was.
            created = {
                r["item_instance_id"]: (r["to_owner_type"], r["to_owner_id"])
                for r in ledger
                if r["reason"] == "created"
            }
            assert created == {
                **owners,
                "of-gone-player": ("player", str(ids["gone"])),
                "of-gone-chest": ("container", str(ids["gone_chest"])),
            }
            placeholders = {
                r["room_id"]
                for r in await conn.fetch("SELECT room_id FROM rooms WHERE room_id <> 'hall'")
            }
            assert placeholders == {"never_written", "also_never_written", LOST_AND_FOUND_ROOM}

            # The old row breaking the new bounds is kept; its constraint checks new writes.
            valid = {
                r["conname"]: r["convalidated"]
                for r in await conn.fetch(
                    "SELECT conname, convalidated FROM pg_constraint"
                    " WHERE conname LIKE 'players_stats%'"
                )
            }
            assert valid.pop("players_stats_health_within_max") is False
            assert all(valid.values())
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute(
                    "UPDATE players SET stats = stats || '{\"current_health\": 500}'"
                    " WHERE player_id = $1",
                    ids["alive"],
                )
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await conn.execute(
                    "INSERT INTO item_instances (item_instance_id, prototype_id, owner_type,"
                    " owner_id) VALUES ('x', 'thing', 'player', $1)",
                    str(uuid.uuid4()),
                )
            await conn.execute("DELETE FROM players WHERE player_id = $1", ids["alive"])
            assert "held" not in {
                r["item_instance_id"]
                for r in await conn.fetch("SELECT item_instance_id FROM item_instances")
            }
        finally:
            await conn.close()

        # The upgraded schema is the schema a fresh database gets.
        await run_migrations(fresh)
        upgraded, clean = await connect(url), await connect(fresh)
        try:
            assert await _columns(upgraded) == await _columns(clean)
            assert await _foreign_keys(upgraded) == await _foreign_keys(clean)
            assert await _indexes(upgraded) == await _indexes(clean)
        finally:
            await upgraded.close()
            await clean.close()
    finally:
        await drop_database(pg_server, url)
        await drop_database(pg_server, fresh)


async def test_the_jsonpath_checks_upgrade_a_database_at_migration_3(
    pg_server: str, tmp_path: Path
) -> None:
    url = await create_database(pg_server, "mud_up4")
    try:
        await _migrate_to_previous_head(url, tmp_path, head=4)
        assert await apply_health_floor(url, -10)  # what migrate does for MUD_HEALTH_FLOOR=-10
        conn = await connect(url)
        try:
            await conn.execute(
                "INSERT INTO rooms (room_id, name, plane, zone, sub_zone)"
                " VALUES ('hall', 'Hall', 'p', 'z', 's')"
            )
            ok, wounded, odd = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            for pid, name, stats in (
                (ok, "Ok", {"strength": 60, "current_health": 80}),
                (wounded, "Wounded", {"current_health": -7}),
                (odd, "Odd", {"fear": 100}),
            ):
                await conn.execute(
                    "INSERT INTO players (player_id, user_id, name, current_room_id, stats)"
                    " VALUES ($1, $2, $3, 'hall', $4::jsonb)",
                    pid,
                    uuid.uuid4(),
                    name,
                    json.dumps(stats),
                )
            # An external tool with DDL rights wrote past a dropped check (fear 150).
            await conn.execute("ALTER TABLE players DROP CONSTRAINT players_stats_fear_valid")
            await conn.execute(
                "UPDATE players SET stats = stats || '{\"fear\": 150}' WHERE player_id = $1", odd
            )
            before = await conn.fetch("SELECT player_id, stats::text FROM players ORDER BY 1")

            # aerich alone: the floor kept is the migration's doing, not migrate's floor step
            assert await _aerich_upgrade(url, tmp_path / "migrations", 5) == migration_files()[4:5]

            assert await conn.fetch("SELECT player_id, stats::text FROM players ORDER BY 1") == (
                before
            )
            definitions = {
                r["conname"]: (r["def"], r["convalidated"])
                for r in await conn.fetch(
                    "SELECT conname, pg_get_constraintdef(oid) AS def, convalidated"
                    " FROM pg_constraint WHERE conname LIKE 'players_stats%'"
                )
            }
            assert set(definitions) == {*stats_checks(), "players_stats_is_object"}
            assert all(
                "jsonb_path_match" in d
                for n, (d, _) in definitions.items()
                if n in stats_checks()
                and n not in ("players_stats_position_valid", "players_stats_health_within_max")
            )
            # The floor the database enforced is kept; fear's old row is kept, not validated.
            assert floor_in(definitions["players_stats_current_health_valid"][0]) == -10
            assert definitions["players_stats_fear_valid"][1] is False
            assert all(v for n, (_, v) in definitions.items() if n != "players_stats_fear_valid")
            await conn.execute(
                "UPDATE players SET stats = stats || '{\"current_health\": -10}'"
                " WHERE player_id = $1",
                ok,
            )
            refused = {
                "players_stats_current_health_valid": '{"current_health": -11}',
                "players_stats_strength_valid": '{"strength": 101}',
                "players_stats_fear_valid": '{"fear": 2.5}',
                "players_stats_dexterity_valid": '{"dexterity": "abc"}',
                "players_stats_lucidity_valid": '{"lucidity": null}',
            }
            for constraint, patch in refused.items():
                with pytest.raises(asyncpg.CheckViolationError) as info:
                    await conn.execute(
                        "UPDATE players SET stats = stats || $2::jsonb WHERE player_id = $1",
                        ok,
                        patch,
                    )
                assert info.value.constraint_name == constraint
        finally:
            await conn.close()
    finally:
        await drop_database(pg_server, url)


async def test_soft_delete_and_prototypes_upgrade_a_database_at_migration_4(
    pg_server: str, tmp_path: Path
) -> None:
    url = await create_database(pg_server, "mud_up5")
    try:
        await _migrate_to_previous_head(url, tmp_path, head=5)
        conn = await connect(url)
        try:
            await conn.execute(
                "INSERT INTO rooms (room_id, name, plane, zone, sub_zone)"
                " VALUES ('hall', 'Hall', 'p', 'z', 's')"
            )
            pid = uuid.uuid4()
            await conn.execute(
                "INSERT INTO players (player_id, user_id, name, current_room_id)"
                " VALUES ($1, $2, 'Keeper', 'hall')",
                pid,
                uuid.uuid4(),
            )
            for item, proto, quantity in (
                ("sword", "weapon.sword", 1),
                ("coins", "coin.gold", 30),
                ("coins2", "coin.gold", 5),
            ):
                await conn.execute(
                    "INSERT INTO item_instances (item_instance_id, prototype_id, owner_type,"
                    " owner_id, quantity) VALUES ($1, $2, 'player', $3, $4)",
                    item,
                    proto,
                    str(pid),
                    quantity,
                )
            items_before = await conn.fetch("SELECT * FROM item_instances ORDER BY 1")

            assert await run_migrations(url) == migration_files()[5:]

            # Nothing lost: every item is still there, with a placeholder prototype each.
            items_after = await conn.fetch("SELECT * FROM item_instances ORDER BY 1")
            assert [dict(r) for r in items_after] == [dict(r) for r in items_before]
            prototypes = {
                r["prototype_id"]: dict(r)
                for r in await conn.fetch("SELECT * FROM item_prototypes")
            }
            assert set(prototypes) == {"weapon.sword", "coin.gold"}
            gold = prototypes["coin.gold"]
            assert (gold["name"], gold["weight"], gold["stackable"], gold["max_stack"]) == (
                "(unknown prototype)",
                0,
                True,
                30,
            )
            assert json.loads(gold["metadata"]) == {"placeholder": True}
            assert prototypes["weapon.sword"]["stackable"] is False
            row = await conn.fetchrow(
                "SELECT is_deleted, deleted_at FROM players WHERE player_id = $1", pid
            )
            assert (row["is_deleted"], row["deleted_at"]) == (False, None)
            # The new rules hold.
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await conn.execute(
                    "INSERT INTO item_instances (item_instance_id, prototype_id, owner_type,"
                    " owner_id) VALUES ('new', 'no.such', 'room', 'hall')"
                )
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute("UPDATE players SET is_deleted = true WHERE player_id = $1", pid)
            await conn.execute(
                "UPDATE players SET is_deleted = true, deleted_at = now() WHERE player_id = $1",
                pid,
            )
            await conn.execute(
                "INSERT INTO players (player_id, user_id, name, current_room_id)"
                " VALUES ($1, $2, 'KEEPER', 'hall')",
                uuid.uuid4(),
                uuid.uuid4(),
            )
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute(
                    "INSERT INTO players (player_id, user_id, name, current_room_id)"
                    " VALUES ($1, $2, 'keeper', 'hall')",
                    uuid.uuid4(),
                    uuid.uuid4(),
                )
        finally:
            await conn.close()
    finally:
        await drop_database(pg_server, url)


async def test_every_placeholder_prototype_migration_5_makes_can_be_replaced(
    pg_server: str, tmp_path: Path
) -> None:
    """Items of any prototype id the layer let them name get placeholders that can be replaced.

    Before migration 5 an item's prototype id was any text of 1-120 characters: the
    placeholders made for them are replaced by a world file or ``save_prototypes``, and the
    audit no longer lists them.
    """
    odd_ids = ("Sword of Doom", "odd/proto", "ß-λ ✓ #1", " padded ", "x" * 120)
    url = await create_database(pg_server, "mud_up5p")
    try:
        await _migrate_to_previous_head(url, tmp_path, head=5)
        conn = await connect(url)
        try:
            await conn.execute(
                "INSERT INTO rooms (room_id, name, plane, zone, sub_zone)"
                " VALUES ('hall', 'Hall', 'p', 'z', 's')"
            )
            for n, proto in enumerate(odd_ids):
                await conn.execute(
                    "INSERT INTO item_instances (item_instance_id, prototype_id, owner_type,"
                    " owner_id) VALUES ($1, $2, 'room', 'hall')",
                    f"old-{n}",
                    proto,
                )
            await run_migrations(url)
            placeholders = await conn.fetch(
                "SELECT prototype_id FROM item_prototypes"
                " WHERE metadata @> '{\"placeholder\": true}'"
            )
            assert {r["prototype_id"] for r in placeholders} == set(odd_ids)
        finally:
            await conn.close()

        world = tmp_path / "world"
        world.mkdir()
        (world / "item_prototypes.json").write_text(
            json.dumps([{"prototype_id": odd_ids[0], "name": "Sword of Doom", "weight": 3}])
        )
        settings = make_settings(url, fallback_room_id="hall")
        async with AsyncPersistenceLayer(settings) as layer:
            assert [f.key for f in (await layer.audit()).of("placeholder_prototype")] == sorted(
                odd_ids
            )
            await layer.seed_world(world)
            await layer.items.save_prototypes(
                [{"prototype_id": p, "name": f"Thing {n}"} for n, p in enumerate(odd_ids[1:])]
            )
            report = await layer.audit()
            assert report.of("placeholder_prototype") == [], str(report)
            assert report.ok, str(report)
            sword = await layer.items.require_prototype(odd_ids[0])
            assert (sword.name, sword.weight) == ("Sword of Doom", 3)
            assert (await layer.items.require_prototype("odd/proto")).name == "Thing 0"
            made = await layer.items.create_item_instance(
                "new-sword", odd_ids[0], owner_type="room", owner_id="hall"
            )
            assert made.prototype_id == odd_ids[0]
    finally:
        await drop_database(pg_server, url)


async def test_the_audit_lists_placeholder_prototypes_and_overweight_containers(
    world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
) -> None:
    await world_layer.items.save_prototypes(
        [
            {
                "prototype_id": "mystery",
                "name": "(unknown prototype)",
                "metadata": {"placeholder": True},
            },
            {"prototype_id": "lead", "name": "Lead", "weight": 5},
        ]
    )
    box = await world_layer.create_container(
        "environment",
        room_id="earth_arkhamcity_sanitarium_room_foyer_001",
        weight_limit=10,
        items=[{"item_instance_id": f"lead-{n}", "prototype_id": "lead"} for n in range(2)],
    )
    assert (await world_layer.audit()).of("container_over_weight") == []
    await world_layer.items.save_prototypes([{"prototype_id": "lead", "name": "Lead", "weight": 6}])
    report = await world_layer.audit()
    assert [f.key for f in report.of("placeholder_prototype")] == ["mystery"]
    assert [f.key for f in report.of("container_over_weight")] == [str(box.container_id)]
    assert not report.ok


async def test_the_final_sigma_name_key_upgrades_a_database_at_migration_5(
    pg_server: str, tmp_path: Path
) -> None:
    url = await create_database(pg_server, "mud_up6")
    try:
        await _migrate_to_previous_head(url, tmp_path, head=6)
        conn = await connect(url)
        try:
            await conn.execute(
                "INSERT INTO rooms (room_id, name, plane, zone, sub_zone)"
                " VALUES ('hall', 'Hall', 'p', 'z', 's')"
            )
            first, second, gone = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            for pid, name, deleted in (
                (first, "ΟΔΟΣ", False),
                (second, "οδος", False),
                (gone, "Οδος", True),
            ):
                await conn.execute(
                    "INSERT INTO players (player_id, user_id, name, current_room_id, is_deleted,"
                    " deleted_at) VALUES ($1, $2, $3, 'hall', $4,"
                    " CASE WHEN $4 THEN now() END)",
                    pid,
                    uuid.uuid4(),
                    name,
                    deleted,
                )
            assert await run_migrations(url) == migration_files()[6:]
            names = {
                r["player_id"]: r["name"]
                for r in await conn.fetch("SELECT player_id, name FROM players")
            }
            assert names == {first: "ΟΔΟΣ", second: "οδος #2", gone: "Οδος"}
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute(
                    "INSERT INTO players (player_id, user_id, name, current_room_id)"
                    " VALUES ($1, $2, 'οδος', 'hall')",
                    uuid.uuid4(),
                    uuid.uuid4(),
                )
        finally:
            await conn.close()
    finally:
        await drop_database(pg_server, url)


async def test_the_final_sigma_name_key_renames_each_clash_to_a_free_suffix(
    pg_server: str, tmp_path: Path
) -> None:
    """Several names of one key, and a name already ending in ``#2``, all stay unique.

    Three active names that differ only by final sigma are one name under the new key: the
    two later ones need two different suffixes. ``οδοσ #2`` exists next to ``ΟΔΟΣ`` and
    ``οδος``: the renamed ``οδος`` must not become ``οδος #2``, which is the same name.
    """
    url = await create_database(pg_server, "mud_up6k")
    # Lower-case sigma and iota spelled as escapes (ruff reads them as look-alikes of o, i).
    final_sigma, sigma = "\u03c2", "\u03c3"
    deleted = "\u03c3\u03b9\u03c3\u03c3\u03c3"  # the first name's key, of a deleted player
    try:
        await _migrate_to_previous_head(url, tmp_path, head=6)
        conn = await connect(url)
        try:
            await conn.execute(
                "INSERT INTO rooms (room_id, name, plane, zone, sub_zone)"
                " VALUES ('hall', 'Hall', 'p', 'z', 's')"
            )
            players = {
                "Σισσς": uuid.uuid4(),  # the oldest of its key keeps its name
                "Σισςσ": uuid.uuid4(),
                "Σισςς": uuid.uuid4(),
                "ΟΔΟΣ": uuid.uuid4(),
                "οδος": uuid.uuid4(),
                "οδοσ #2": uuid.uuid4(),
                deleted: uuid.uuid4(),  # deleted: no clash, keeps its name
            }
            for age, (name, pid) in enumerate(players.items()):
                await conn.execute(
                    "INSERT INTO players (player_id, user_id, name, current_room_id, is_deleted,"
                    " deleted_at, created_at) VALUES ($1, $2, $3, 'hall', $4,"
                    " CASE WHEN $4 THEN now() END, now() + make_interval(secs => $5))",
                    pid,
                    uuid.uuid4(),
                    name,
                    name == deleted,
                    float(age),
                )
            assert await run_migrations(url) == migration_files()[6:]
            names = {
                r["player_id"]: r["name"]
                for r in await conn.fetch("SELECT player_id, name FROM players")
            }
            assert names[players["Σισσς"]] == "Σισσς"
            renamed = sorted(
                (names[players[old]].removeprefix(old), old) for old in ("Σισςσ", "Σισςς")
            )
            assert [suffix for suffix, _ in renamed] == [" #2", " #3"]
            assert names[players["ΟΔΟΣ"]] == "ΟΔΟΣ"
            assert names[players["οδος"]] == "οδος #3"
            assert names[players["οδοσ #2"]] == "οδοσ #2"
            assert names[players[deleted]] == deleted
            key = await conn.fetch(
                "SELECT lower(translate(name, $1, $2)) AS k FROM players WHERE NOT is_deleted",
                final_sigma,
                sigma,
            )
            assert len({r["k"] for r in key}) == len(key) == 6
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute(
                    "INSERT INTO players (player_id, user_id, name, current_room_id)"
                    " VALUES ($1, $2, 'ΣΙΣΣΣ', 'hall')",
                    uuid.uuid4(),
                    uuid.uuid4(),
                )
        finally:
            await conn.close()
    finally:
        await drop_database(pg_server, url)


async def test_the_creation_ledger_upgrades_a_database_at_migration_7(
    pg_server: str, tmp_path: Path
) -> None:
    """Migration 8 gives every existing item a creation row its ledger replays from.

    The creation names the item's first owner: where its first recorded move started, or
    where it is when it never moved. The backfilled rows sort before every existing move.
    """
    url = await create_database(pg_server, "mud_up8")
    fresh = await create_database(pg_server, "mud_up8_fresh")
    try:
        await _migrate_to_previous_head(url, tmp_path, head=8)
        conn = await connect(url)
        try:
            await conn.execute(
                "INSERT INTO rooms (room_id, name, plane, zone, sub_zone)"
                " VALUES ('hall', 'Hall', 'p', 'z', 's')"
            )
            alive, gone = uuid.uuid4(), uuid.uuid4()
            await conn.execute(
                "INSERT INTO players (player_id, user_id, name, current_room_id)"
                " VALUES ($1, $2, 'Keeper', 'hall')",
                alive,
                uuid.uuid4(),
            )
            chest = uuid.uuid4()
            await conn.execute(
                "INSERT INTO containers (container_id, source_type, room_id)"
                " VALUES ($1, 'environment', 'hall')",
                chest,
            )
            await conn.execute(
                "INSERT INTO item_prototypes (prototype_id, name) VALUES ('thing', 'Thing')"
            )
            held, travelled, rehomed = "held", "travelled", "rehomed"
            for item, owner_type, owner_id in (
                (held, "player", str(alive)),
                (travelled, "container", str(chest)),
                (rehomed, "room", "hall"),
            ):
                await conn.execute(
                    "INSERT INTO item_instances (item_instance_id, prototype_id, owner_type,"
                    " owner_id) VALUES ($1, 'thing', $2, $3)",
                    item,
                    owner_type,
                    owner_id,
                )
            moves = [  # as 0.1 recorded them: moves only
                (travelled, "player", str(alive), "room", "hall", "transfer"),
                (rehomed, "player", str(gone), "room", "hall", "orphan_rehomed"),
                (travelled, "room", "hall", "container", str(chest), "transfer"),
            ]
            for move in moves:
                await conn.execute(
                    "INSERT INTO item_movements (item_instance_id, from_owner_type,"
                    " from_owner_id, to_owner_type, to_owner_id, reason)"
                    " VALUES ($1, $2, $3, $4, $5, $6)",
                    *move,
                )
            before = [tuple(r) for r in await conn.fetch("SELECT * FROM item_movements")]
            items_before = [dict(r) for r in await conn.fetch("SELECT * FROM item_instances")]

            assert await run_migrations(url) == migration_files()[8:]

            assert [dict(r) for r in await conn.fetch("SELECT * FROM item_instances")] == (
                items_before
            )
            after = await conn.fetch("SELECT * FROM item_movements ORDER BY id")
            assert {tuple(r) for r in after if r["reason"] != "created"} == set(before)
            created = {
                r["item_instance_id"]: (r["from_owner_type"], r["to_owner_type"], r["to_owner_id"])
                for r in after
                if r["reason"] == "created"
            }
            assert created == {
                held: (None, "player", str(alive)),
                travelled: (None, "player", str(alive)),
                rehomed: (None, "player", str(gone)),
            }
            # Replaying each item's rows in id order, from its creation, ends at its owner.
            where: dict[str, tuple[str, str]] = {}
            for row in after:
                item = row["item_instance_id"]
                if row["from_owner_type"] is None:
                    assert item not in where
                else:
                    assert where[item] == (row["from_owner_type"], row["from_owner_id"])
                where[item] = (row["to_owner_type"], row["to_owner_id"])
            assert where == {
                i["item_instance_id"]: (i["owner_type"], i["owner_id"]) for i in items_before
            }
        finally:
            await conn.close()

        async with AsyncPersistenceLayer(make_settings(url, fallback_room_id="hall")) as layer:
            assert (await layer.audit()).ok
            await layer.items.create_item_instance(
                "new", "thing", owner_type="room", owner_id="hall"
            )
            await layer.items.transfer_item(
                "new", from_owner=("room", "hall"), to_owner=("player", alive)
            )
            assert (await layer.audit()).ok

        # The upgraded schema is the schema a fresh database gets.
        await run_migrations(fresh)
        upgraded, clean = await connect(url), await connect(fresh)
        try:
            assert await _columns(upgraded) == await _columns(clean)
            assert await _indexes(upgraded) == await _indexes(clean)
        finally:
            await upgraded.close()
            await clean.close()
    finally:
        await drop_database(pg_server, url)
        await drop_database(pg_server, fresh)


async def test_the_equipment_player_key_upgrades_a_database_at_migration_8(
    pg_server: str, tmp_path: Path
) -> None:
    """Migration 9: an equipment container's player is a foreign key; orphans lose nothing.

    An equipment container whose player is gone (what a delete racing its creation left) is
    removed and its items go to the lost-and-found room, each with a ledger row; the others
    stay as they are, and the database refuses such a container from now on.
    """
    url = await create_database(pg_server, "mud_up9")
    fresh = await create_database(pg_server, "mud_up9_fresh")
    try:
        await _migrate_to_previous_head(url, tmp_path, head=9)
        conn = await connect(url)
        try:
            await conn.execute(
                "INSERT INTO rooms (room_id, name, plane, zone, sub_zone)"
                " VALUES ('hall', 'Hall', 'p', 'z', 's')"
            )
            await conn.execute(
                "INSERT INTO item_prototypes (prototype_id, name) VALUES ('ring', 'Ring')"
            )
            alive, gone = uuid.uuid4(), uuid.uuid4()
            await conn.execute(
                "INSERT INTO players (player_id, user_id, name, current_room_id)"
                " VALUES ($1, $2, 'Wearer', 'hall')",
                alive,
                uuid.uuid4(),
            )
            worn, orphan, empty_orphan, chest = (uuid.uuid4() for _ in range(4))
            await conn.execute(
                "INSERT INTO containers (container_id, source_type, entity_id, room_id) VALUES"
                " ($1, 'equipment', $4, NULL), ($2, 'equipment', $5, NULL),"
                " ($3, 'equipment', $5, NULL), ($6, 'environment', NULL, 'hall')",
                worn,
                orphan,
                empty_orphan,
                alive,
                gone,
                chest,
            )
            for item, owner in (("kept", worn), ("lost-1", orphan), ("lost-2", orphan)):
                await conn.execute(
                    "INSERT INTO item_instances (item_instance_id, prototype_id, owner_type,"
                    " owner_id) VALUES ($1, 'ring', 'container', $2)",
                    item,
                    str(owner),
                )
                await conn.execute(
                    "INSERT INTO item_movements (item_instance_id, to_owner_type, to_owner_id,"
                    " reason) VALUES ($1, 'container', $2, 'created')",
                    item,
                    str(owner),
                )

            assert await run_migrations(url) == migration_files()[9:]

            containers = {r[0] for r in await conn.fetch("SELECT container_id FROM containers")}
            assert containers == {worn, chest}
            owners = {
                r["item_instance_id"]: (r["owner_type"], r["owner_id"])
                for r in await conn.fetch("SELECT * FROM item_instances")
            }
            assert owners == {
                "kept": ("container", str(worn)),
                "lost-1": ("room", LOST_AND_FOUND_ROOM),
                "lost-2": ("room", LOST_AND_FOUND_ROOM),
            }
            rehomed = await conn.fetch(
                "SELECT item_instance_id, from_owner_id FROM item_movements"
                " WHERE reason = 'orphan_rehomed' ORDER BY item_instance_id"
            )
            assert [tuple(r) for r in rehomed] == [
                ("lost-1", str(orphan)),
                ("lost-2", str(orphan)),
            ]
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await conn.execute(
                    "INSERT INTO containers (container_id, source_type, entity_id)"
                    " VALUES ($1, 'equipment', $2)",
                    uuid.uuid4(),
                    gone,
                )
            await conn.execute("DELETE FROM players WHERE player_id = $1", alive)
            assert await conn.fetchval("SELECT count(*) FROM containers") == 1  # the chest
            assert await conn.fetchval("SELECT count(*) FROM item_instances") == 2
        finally:
            await conn.close()

        async with AsyncPersistenceLayer(make_settings(url, fallback_room_id="hall")) as layer:
            assert (await layer.audit()).ok

        await run_migrations(fresh)
        upgraded, clean = await connect(url), await connect(fresh)
        try:
            assert await _columns(upgraded) == await _columns(clean)
            assert await _indexes(upgraded) == await _indexes(clean)
        finally:
            await upgraded.close()
            await clean.close()
    finally:
        await drop_database(pg_server, url)
        await drop_database(pg_server, fresh)

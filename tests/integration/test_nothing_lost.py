"""Nothing lost, nothing resurrected, nothing orphaned (issue 12), on real PostgreSQL.

Each class is one failure a demanding game server found: saves that broke stat bounds, a
corrupt row taking whole reads down, items owned by owners that no longer exist, deleted
players coming back, a change made during a save lost, raw exceptions from odd input, op_id
replays that ignored part of the request, waits longer than documented, look-alike names.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from persistence.errors import (
    ConstraintViolationError,
    CorruptRowError,
    ItemNotOwnedError,
    NotFoundError,
    OperationReusedError,
    PersistenceError,
    PlayerDeletedError,
    PoolExhaustedError,
    StaleDataError,
    ValidationError,
)
from persistence.events import PlayerRowCorrupt
from persistence.facade import AsyncPersistenceLayer
from persistence.schema import run_migrations
from persistence.stats import MAX_DELTA
from persistence.testing import ensure_prototypes
from tests.conftest import RecordingBus, connect, create_database, drop_database, make_settings
from tests.factories import FOYER, HALLWAY, new_player

pytestmark = pytest.mark.integration


async def _stats(conn: asyncpg.Connection, player_id: uuid.UUID) -> dict[str, Any]:
    text = await conn.fetchval("SELECT stats::text FROM players WHERE player_id = $1", player_id)
    return dict(json.loads(text))


class TestSavesKeepStatBounds:
    async def test_a_stale_max_health_cannot_drop_below_the_stored_current(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player("Stale", stats={"current_health": 40})
        await layer.players.save_player(player)
        stale = await layer.players.require_player(player.player_id)
        assert await layer.health.update_player_health(player.player_id, 60) == 100
        stale.stats.max_health = 50  # fine on the stale copy (40 <= 50)
        with pytest.raises(StaleDataError) as info:
            await layer.players.save_player(stale)
        assert "stats.max_health" in info.value.fields
        stored = await _stats(clean_db, player.player_id)
        assert (stored["current_health"], stored["max_health"]) == (100, 100)

    async def test_a_stale_current_health_cannot_rise_above_the_stored_max(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player("Mirror", stats={"current_health": 40})
        await layer.players.save_player(player)
        stale = await layer.players.require_player(player.player_id)
        assert (
            await layer.experience.update_player_stat_field(player.player_id, "max_health", -50)
            == 50
        )
        stale.stats.current_health = 90  # fine on the stale copy (90 <= 100)
        with pytest.raises(StaleDataError):
            await layer.players.save_player(stale)
        with pytest.raises(StaleDataError):
            await layer.players.save_players([stale, new_player("Bystander")])
        stored = await _stats(clean_db, player.player_id)
        assert (stored["current_health"], stored["max_health"]) == (40, 50)
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 1

    @pytest.mark.parametrize(
        "change",
        [
            {"current_health": 101},  # above its own max_health
            {"current_health": -1},  # below the health floor (0)
            {"strength": 0},
            {"strength": 101},
            {"lucidity": -1},
            {"fear": "abc"},
            {"fear": 1.5},
            {"max_health": 0},
            {"position": 7},
        ],
    )
    async def test_the_database_refuses_a_document_that_breaks_a_bound(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, change: dict[str, Any]
    ) -> None:
        player = new_player("Checked")
        await layer.players.save_player(player)
        with pytest.raises(asyncpg.CheckViolationError):
            await clean_db.execute(
                "UPDATE players SET stats = stats || $1::jsonb", json.dumps(change)
            )
        assert await _stats(clean_db, player.player_id) == player.get_stats()


@pytest_asyncio.fixture(loop_scope="session")
async def unchecked(pg_server: str) -> AsyncIterator[tuple[AsyncPersistenceLayer, Any, Any]]:
    """A database whose stats checks were dropped, as an external tool with DDL rights (or
    rows older than the checks) would leave it; a layer on it with a recording bus."""
    url = await create_database(pg_server, "mud_corrupt")
    try:
        await run_migrations(url)
        conn = await connect(url)
        checks = await conn.fetch(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'players'::regclass"
            " AND contype = 'c' AND conname LIKE 'players_stats%'"
        )
        for row in checks:
            await conn.execute(f'ALTER TABLE players DROP CONSTRAINT "{row["conname"]}"')
        bus = RecordingBus()
        async with AsyncPersistenceLayer(make_settings(url), event_bus=bus) as layer:
            yield layer, conn, bus
        await conn.close()
    finally:
        await drop_database(pg_server, url)


CORRUPTIONS = {
    "wrong type": ('{"strength": "abc"}', "strength"),
    "out of range": ('{"lucidity": 500}', "lucidity"),
    "missing key": ('{"current_health": 150, "max_health": null}', "max_health"),
    "json null": ("null", "stats"),
    "not an object": ("[1, 2, 3]", "stats"),
}


class TestCorruptRows:
    @pytest.mark.parametrize("kind", list(CORRUPTIONS))
    async def test_reads_name_the_bad_row_and_return_the_good_ones(
        self,
        unchecked: tuple[AsyncPersistenceLayer, Any, RecordingBus],
        kind: str,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        layer, conn, bus = unchecked
        await conn.execute("TRUNCATE players CASCADE")
        good = [new_player(f"Good {i}") for i in range(3)]
        bad = new_player("Bad")
        await layer.players.save_players([*good, bad])
        patch, field = CORRUPTIONS[kind]
        if field == "stats":
            await conn.execute(
                "UPDATE players SET stats = $1::jsonb WHERE player_id = $2", patch, bad.player_id
            )
        else:
            await conn.execute(
                "UPDATE players SET stats = stats || $1::jsonb WHERE player_id = $2",
                patch,
                bad.player_id,
            )
        with pytest.raises(CorruptRowError) as info:
            await layer.players.get_player_by_id(bad.player_id)
        assert info.value.key == bad.player_id
        assert field in info.value.fields
        assert str(bad.player_id) in str(info.value)
        with pytest.raises(CorruptRowError):
            await layer.players.get_player_by_name("bad")
        published = len(bus.published)
        with caplog.at_level(logging.WARNING):
            in_room = await layer.players.get_players_in_room(FOYER)
            listed = await layer.players.list_players()
            batch = await layer.players.get_players_batch([p.player_id for p in [*good, bad]])
        wanted = sorted(p.player_id for p in good)
        for found in (in_room, listed, batch):
            assert sorted(p.player_id for p in found) == wanted
        reports = [e for e in bus.published[published:] if isinstance(e, PlayerRowCorrupt)]
        assert len(reports) == 3
        assert {e.player_id for e in reports} == {bad.player_id}
        assert field in reports[0].fields
        assert str(bad.player_id) in caplog.text

    async def test_a_batch_delta_over_a_corrupt_row_names_it_and_changes_nothing(
        self, unchecked: tuple[AsyncPersistenceLayer, Any, RecordingBus]
    ) -> None:
        layer, conn, _ = unchecked
        await conn.execute("TRUNCATE players CASCADE")
        good, bad = new_player("Fine"), new_player("Broken")
        await layer.players.save_players([good, bad])
        await conn.execute(
            'UPDATE players SET stats = stats || \'{"current_health": "abc"}\'::jsonb'
            " WHERE player_id = $1",
            bad.player_id,
        )
        for call in (
            layer.health.apply_health_deltas({good.player_id: -5, bad.player_id: -5}),
            layer.health.update_player_health(bad.player_id, -5),
            layer.health.apply_health_deltas({good.player_id: -5, bad.player_id: -5}, op_id="t"),
        ):
            with pytest.raises(CorruptRowError) as info:
                await call
            assert info.value.key == bad.player_id
            assert "current_health" in info.value.fields
        assert (await _stats(conn, good.player_id))["current_health"] == 100


async def _orphans(conn: asyncpg.Connection) -> dict[str, int]:
    return {
        "player": await conn.fetchval(
            "SELECT count(*) FROM item_instances i WHERE owner_type = 'player' AND NOT EXISTS"
            " (SELECT 1 FROM players p WHERE p.player_id::text = i.owner_id)"
        ),
        "container": await conn.fetchval(
            "SELECT count(*) FROM item_instances i WHERE owner_type = 'container' AND NOT EXISTS"
            " (SELECT 1 FROM containers c WHERE c.container_id::text = i.owner_id)"
        ),
        "room": await conn.fetchval(
            "SELECT count(*) FROM item_instances i WHERE owner_type = 'room' AND NOT EXISTS"
            " (SELECT 1 FROM rooms r WHERE r.room_id = i.owner_id)"
        ),
    }


class TestOwnersExist:
    async def test_items_need_an_owner_that_exists(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        items = world_layer.items
        with pytest.raises(NotFoundError):
            await items.create_item_instance(
                "ghost-coin", "coin", owner_type="player", owner_id=str(uuid.uuid4())
            )
        with pytest.raises(NotFoundError):
            await items.create_item_instance(
                "void-coin", "coin", owner_type="room", owner_id="earth_nowhere_void_001"
            )
        coin = await items.create_item_instance("coin", "coin", owner_type="room", owner_id=FOYER)
        with pytest.raises(NotFoundError):
            await items.transfer_item(
                coin.item_instance_id,
                from_owner=("room", FOYER),
                to_owner=("room", "earth_nowhere_void_001"),
            )
        with pytest.raises(NotFoundError):
            await world_layer.containers.create_container(
                "environment", room_id="earth_nowhere_void_001"
            )
        with pytest.raises(asyncpg.ForeignKeyViolationError):  # tools are refused too
            await clean_db.execute(
                "INSERT INTO item_instances (item_instance_id, prototype_id, owner_type, owner_id)"
                " VALUES ('tool-coin', 'coin', 'player', $1)",
                str(uuid.uuid4()),
            )
        assert await clean_db.fetchval("SELECT count(*) FROM item_instances") == 1
        assert await _orphans(clean_db) == {"player": 0, "container": 0, "room": 0}

    @pytest.mark.slow
    async def test_deletes_racing_transfers_and_corpses_leave_no_orphans(
        self, clean_db: asyncpg.Connection, database_url: str
    ) -> None:
        settings = make_settings(database_url, pool_min_size=4, pool_max_size=8)
        rng = random.Random(12)
        outcomes: dict[str, int] = {}
        async with AsyncPersistenceLayer(settings) as layer:
            await layer.seed_world()
            await ensure_prototypes(layer, "loot")
            deadline = time.monotonic() + 40
            for round_no in range(150):
                if time.monotonic() > deadline:
                    break
                victim = new_player(f"Victim {round_no}")
                await layer.players.save_player(victim)
                vid = str(victim.player_id)
                gear = await layer.containers.create_container(
                    "equipment", entity_id=victim.player_id
                )
                floor = [
                    (
                        await layer.items.create_item_instance(
                            f"r{round_no}-{n}", "loot", owner_type="room", owner_id=HALLWAY
                        )
                    ).item_instance_id
                    for n in range(6)
                ]

                async def into(item: str, owner: tuple[str, str]) -> object:
                    await asyncio.sleep(rng.random() * 0.004)
                    return await layer.items.transfer_item(
                        item, from_owner=("room", HALLWAY), to_owner=owner
                    )

                async def corpse(pid: uuid.UUID = victim.player_id) -> object:
                    await asyncio.sleep(rng.random() * 0.004)
                    return await layer.containers.create_corpse(pid, HALLWAY)

                async def delete(pid: uuid.UUID = victim.player_id) -> object:
                    await asyncio.sleep(rng.random() * 0.004)
                    return await layer.players.delete_player(pid)

                calls = [
                    *(into(item, ("player", vid)) for item in floor[:3]),
                    *(into(item, ("container", str(gear.container_id))) for item in floor[3:]),
                    corpse(),
                    delete(),
                ]
                for result in await asyncio.gather(*calls, return_exceptions=True):
                    name = type(result).__name__
                    outcomes[name] = outcomes.get(name, 0) + 1
                    if isinstance(result, BaseException):
                        assert isinstance(result, NotFoundError | ItemNotOwnedError), result
        assert await _orphans(clean_db) == {"player": 0, "container": 0, "room": 0}
        assert outcomes.get("NotFoundError", 0) > 0  # the race was real: some lost it
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 0


class TestDeletedPlayersStayDeleted:
    async def test_saving_a_copy_of_a_deleted_player_raises_and_writes_nothing(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player("Departed")
        await layer.players.save_player(player)
        copies = [await layer.players.require_player(player.player_id) for _ in range(5)]
        assert await layer.players.delete_player(player.player_id)
        for n, copy in enumerate(copies):
            copy.current_room_id = HALLWAY
            copy.stats.strength = 10 + n
            with pytest.raises(PlayerDeletedError) as info:
                if n % 2:
                    await layer.players.save_player(copy)
                else:
                    await layer.players.save_players([copy])
            assert isinstance(info.value, NotFoundError)
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 0
        restored = await layer.players.recreate_player(copies[0])
        assert restored.current_room_id == HALLWAY
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 1


class TestSaveRemembersWhatItWrote:
    async def test_a_change_made_while_a_save_runs_is_written_by_the_next_save(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player("Mover")
        await layer.players.save_player(player)
        loaded = await layer.players.require_player(player.player_id)
        loaded.current_room_id = HALLWAY  # room A
        saving = asyncio.create_task(layer.players.save_player(loaded))
        await asyncio.sleep(0)  # the save has read the object and is waiting on the database
        loaded.current_room_id = FOYER  # room B, while the save is in flight
        loaded.stats.fear = 9
        await saving
        assert await clean_db.fetchval("SELECT current_room_id FROM players") == HALLWAY
        await layer.players.save_player(loaded)
        assert await clean_db.fetchval("SELECT current_room_id FROM players") == FOYER
        assert (await _stats(clean_db, player.player_id))["fear"] == 9


class TestOddInput:
    async def test_a_decay_beyond_any_date_is_refused(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player("Timeless")
        await world_layer.players.save_player(player)
        for extreme in (timedelta.max, timedelta(days=10**6)):
            with pytest.raises(ValidationError):
                await world_layer.containers.create_corpse(
                    player.player_id, FOYER, decay_after=extreme
                )
            with pytest.raises(ValidationError):
                await world_layer.containers.create_corpse(
                    player.player_id, FOYER, grace_period=extreme
                )
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 0
        assert await world_layer.purge_operations(older_than=timedelta.max) == 0

    async def test_deeply_nested_metadata_is_refused(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        nested: dict[str, Any] = {}
        level = nested
        for _ in range(5000):
            level["a"] = {}
            level = level["a"]
        with pytest.raises(ValidationError):
            await world_layer.containers.create_container(
                "environment", room_id=FOYER, metadata=nested
            )
        with pytest.raises(ValidationError):
            await world_layer.items.create_item_instance(
                "deep", "coin", owner_type="room", owner_id=FOYER, metadata=nested
            )
        with pytest.raises(ValidationError):
            await world_layer.containers.create_container(
                "environment",
                room_id=FOYER,
                items=[{"item_instance_id": "deep2", "prototype_id": "coin", "metadata": nested}],
            )
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 0
        assert await clean_db.fetchval("SELECT count(*) FROM item_instances") == 0

    async def test_a_stat_value_that_is_not_json_is_refused(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player("Odd")
        await layer.players.save_player(player)
        loaded = await layer.players.require_player(player.player_id)
        for value in (object(), {1, 2}, float("nan"), b"bytes"):
            loaded.stats.custom = value  # type: ignore[attr-defined]
            with pytest.raises(ValidationError):
                await layer.players.save_player(loaded)
        assert "custom" not in await _stats(clean_db, player.player_id)

    async def test_experience_does_not_overflow(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player("Sage")
        await layer.players.save_player(player)
        for _ in range(3):
            await layer.experience.update_player_xp(player.player_id, MAX_DELTA)
        xp = await clean_db.fetchval("SELECT experience_points FROM players")
        assert xp == 3 * MAX_DELTA


class TestOpIdMatchesTheWholeRequest:
    async def test_a_different_reason_type_or_operation_is_a_reuse(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player("Keyed")
        await layer.players.save_player(player)
        pid = player.player_id
        assert await layer.health.damage_player(player, 5, "fire", op_id="hit") == 95
        assert await layer.health.damage_player(player, 5, "fire", op_id="hit") == 95
        with pytest.raises(OperationReusedError):
            await layer.health.damage_player(player, 5, "ice", op_id="hit")
        with pytest.raises(OperationReusedError):
            await layer.health.heal_player(player, 5, op_id="hit")
        await layer.health.update_player_health(pid, -5, "trap", op_id="trap")
        with pytest.raises(OperationReusedError):
            await layer.health.update_player_health(pid, -5, "other", op_id="trap")
        with pytest.raises(OperationReusedError):
            await layer.experience.update_player_stat_field(
                pid, "current_health", -5, "trap", op_id="trap"
            )
        await layer.experience.update_player_stat_field(pid, "fear", 1, "x", op_id="fear")
        with pytest.raises(OperationReusedError):
            await layer.experience.apply_stat_deltas("fear", {pid: 1}, "x", op_id="fear")
        hp = (await _stats(clean_db, pid))["current_health"]
        assert hp == 90


class TestBoundedWaits:
    async def test_a_call_waits_for_a_connection_no_longer_than_documented(
        self, database_url: str
    ) -> None:
        settings = make_settings(
            database_url,
            pool_min_size=1,
            pool_max_size=1,
            pool_acquire_timeout=0.5,
            retry_max_attempts=3,
            retry_base_delay=0.2,
            retry_max_delay=0.4,
        )
        async with AsyncPersistenceLayer(settings) as layer:
            held, release = asyncio.Event(), asyncio.Event()

            async def hold() -> None:
                async with layer.transaction():
                    held.set()
                    await release.wait()

            holder = asyncio.create_task(hold())
            await held.wait()
            for call in (
                layer.players.get_player_by_id(uuid.uuid4()),
                layer.health.update_player_health(uuid.uuid4(), -1),
                layer.items.transfer_item(
                    "x", from_owner=("room", FOYER), to_owner=("room", HALLWAY)
                ),
            ):
                started = time.monotonic()
                with pytest.raises(PoolExhaustedError):
                    await call
                assert time.monotonic() - started < 0.5 + 0.3
            release.set()
            await holder


class TestLookAlikeNames:
    async def test_names_mixing_scripts_are_refused_and_compatibility_forms_fold(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        await layer.players.save_player(new_player("Armitage"))
        cyrillic = "\u0410rmit\u0430g\u0435"  # Cyrillic A, a, e among Latin letters
        with pytest.raises(ValidationError):
            await layer.players.save_player(new_player(cyrillic))
        fullwidth = "\uff21\uff52\uff4d\uff49\uff54\uff41\uff47\uff45"  # "Armitage", full width
        with pytest.raises(PersistenceError) as info:
            await layer.players.save_player(new_player(fullwidth))
        assert type(info.value).__name__ == "DuplicateError"
        found = await layer.players.get_player_by_name(fullwidth)
        assert found is not None
        assert found.name == "Armitage"
        assert await layer.players.get_player_by_name(cyrillic) is None
        # A name in one other script is a name: stored as written (after NFKC).
        greek = "\u0391\u03c1\u03bc\u03b9\u03c4\u03b1\u03b3\u03b5"
        await layer.players.save_player(new_player(greek))
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 2


def test_errors_are_typed() -> None:
    assert issubclass(PlayerDeletedError, NotFoundError)
    assert issubclass(CorruptRowError, PersistenceError)
    assert issubclass(ConstraintViolationError, PersistenceError)


# -- A second, hostile review of the points above (each test failed on the code before) ------


async def _without_stats_checks(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """Drop the stats CHECKs; return their definitions so they can come back NOT VALID."""
    checks = await conn.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint"
        " WHERE conrelid = 'players'::regclass AND contype = 'c' AND conname LIKE 'players_stats%'"
    )
    for row in checks:
        await conn.execute(f'ALTER TABLE players DROP CONSTRAINT "{row["conname"]}"')
    return [(row["conname"], row["definition"]) for row in checks]


class TestCorruptRowsStrictly:
    @pytest.mark.parametrize(
        ("patch", "field"),
        [
            ('{"strength": true}', "strength"),
            ('{"current_health": false}', "current_health"),
            ('{"wisdom": "50"}', "wisdom"),
            ('{"fear": 1.5}', "fear"),
        ],
    )
    async def test_a_stat_that_is_not_a_json_integer_is_corrupt_on_read(
        self, unchecked: tuple[AsyncPersistenceLayer, Any, RecordingBus], patch: str, field: str
    ) -> None:
        layer, conn, _ = unchecked
        await conn.execute("TRUNCATE players CASCADE")
        good, bad = new_player("Whole"), new_player("Boolish")
        await layer.players.save_players([good, bad])
        await conn.execute(
            "UPDATE players SET stats = stats || $1::jsonb WHERE player_id = $2",
            patch,
            bad.player_id,
        )
        with pytest.raises(CorruptRowError) as info:
            await layer.players.get_player_by_id(bad.player_id)
        assert field in info.value.fields
        listed = await layer.players.get_players_in_room(FOYER)
        assert [p.player_id for p in listed] == [good.player_id]

    @pytest.mark.parametrize(
        "patch",
        [
            '{"current_health": 150, "max_health": null}',
            '{"max_health": "abc"}',
            '{"max_health": true}',
            '{"current_health": null}',
            '{"current_health": "50"}',
        ],
    )
    async def test_a_health_delta_over_a_corrupt_health_key_applies_nothing(
        self, unchecked: tuple[AsyncPersistenceLayer, Any, RecordingBus], patch: str
    ) -> None:
        layer, conn, _ = unchecked
        await conn.execute("TRUNCATE players CASCADE")
        good, bad = new_player("Sound"), new_player("NoMax")
        await layer.players.save_players([good, bad])
        await conn.execute(
            "UPDATE players SET stats = stats || $1::jsonb WHERE player_id = $2",
            patch,
            bad.player_id,
        )
        before = await _stats(conn, bad.player_id)
        for call in (
            layer.health.update_player_health(bad.player_id, -5),
            layer.health.update_player_health(bad.player_id, 3),
            layer.health.apply_health_deltas({good.player_id: -1, bad.player_id: 3}),
            layer.health.apply_health_deltas({bad.player_id: 3}, op_id="corrupt-batch"),
            layer.health.change_health(bad.player_id, -5),
        ):
            with pytest.raises(CorruptRowError) as info:
                await call
            assert info.value.key == bad.player_id
        assert await _stats(conn, bad.player_id) == before
        assert (await _stats(conn, good.player_id))["current_health"] == 100

    async def test_rows_older_than_the_checks_are_named_as_corrupt(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        good, bad = new_player("Recent"), new_player("Ancient")
        await layer.players.save_players([good, bad])
        checks = await _without_stats_checks(clean_db)
        try:
            await clean_db.execute(
                'UPDATE players SET stats = stats || \'{"strength": "abc"}\'::jsonb'
                " WHERE player_id = $1",
                bad.player_id,
            )
            for name, definition in checks:  # as a migration adds them over older rows
                await clean_db.execute(
                    f'ALTER TABLE players ADD CONSTRAINT "{name}" {definition} NOT VALID'
                )
            for call in (
                layer.health.update_player_health(bad.player_id, -5),
                layer.health.apply_health_deltas({good.player_id: -1, bad.player_id: -1}),
                layer.experience.update_player_stat_field(bad.player_id, "fear", 1),
            ):
                with pytest.raises(CorruptRowError) as info:
                    await call
                assert info.value.key == bad.player_id
                assert "strength" in info.value.fields
            assert (await _stats(clean_db, good.player_id))["current_health"] == 100
        finally:
            await _without_stats_checks(clean_db)
            await clean_db.execute("DELETE FROM players WHERE player_id = $1", bad.player_id)
            for name, definition in checks:
                await clean_db.execute(f'ALTER TABLE players ADD CONSTRAINT "{name}" {definition}')

    async def test_restoring_a_corrupt_row_raises_and_leaves_it_deleted(
        self, unchecked: tuple[AsyncPersistenceLayer, Any, RecordingBus]
    ) -> None:
        layer, conn, _ = unchecked
        await conn.execute("TRUNCATE players CASCADE")
        sleeper = new_player("Sleeper")
        await layer.players.save_player(sleeper)
        await layer.players.soft_delete_player(sleeper.player_id)
        await conn.execute(
            'UPDATE players SET stats = stats || \'{"strength": "abc"}\'::jsonb'
            " WHERE player_id = $1",
            sleeper.player_id,
        )
        with pytest.raises(CorruptRowError):
            await layer.players.restore_player(sleeper.player_id)
        assert await conn.fetchval(
            "SELECT is_deleted FROM players WHERE player_id = $1", sleeper.player_id
        )


class TestOwnersExistToo:
    async def test_an_equipment_container_needs_a_player_that_exists(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        gone = new_player("Gone")
        await world_layer.players.save_player(gone)
        await world_layer.players.delete_player(gone.player_id)
        for entity in (gone.player_id, uuid.uuid4()):
            with pytest.raises(NotFoundError):
                await world_layer.containers.create_container(
                    "equipment",
                    entity_id=entity,
                    items=[{"item_instance_id": f"ring-{entity}", "prototype_id": "coin"}],
                )
            with pytest.raises(NotFoundError):
                await world_layer.containers.ensure_container(
                    uuid.uuid4(), "equipment", entity_id=entity
                )
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 0
        assert await clean_db.fetchval("SELECT count(*) FROM item_instances") == 0

    @pytest.mark.slow
    async def test_equipment_made_while_its_player_is_deleted_goes_with_the_player(
        self, clean_db: asyncpg.Connection, database_url: str
    ) -> None:
        settings = make_settings(database_url, pool_min_size=4, pool_max_size=8)
        rng = random.Random(7)
        async with AsyncPersistenceLayer(settings) as layer:
            await layer.seed_world()
            await ensure_prototypes(layer, "coin")
            for round_no in range(40):
                victim = new_player(f"Wearer {round_no}")
                await layer.players.save_player(victim)

                async def gear(
                    n: int, pid: uuid.UUID = victim.player_id, tag: int = round_no
                ) -> object:
                    await asyncio.sleep(rng.random() * 0.003)
                    return await layer.containers.create_container(
                        "equipment",
                        entity_id=pid,
                        items=[{"item_instance_id": f"g{tag}-{n}", "prototype_id": "coin"}],
                    )

                async def delete(pid: uuid.UUID = victim.player_id) -> object:
                    await asyncio.sleep(rng.random() * 0.003)
                    return await layer.players.delete_player(pid)

                results = await asyncio.gather(
                    *(gear(n) for n in range(3)), delete(), return_exceptions=True
                )
                for result in results:
                    if isinstance(result, BaseException):
                        assert isinstance(result, NotFoundError), result
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 0
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 0
        assert await clean_db.fetchval("SELECT count(*) FROM item_instances") == 0


class TestOddInputToo:
    async def test_an_int_too_long_for_text_is_refused(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player("Hoarder")
        await world_layer.players.save_player(player)
        loaded = await world_layer.players.require_player(player.player_id)
        loaded.stats.hoard = 10**5000  # type: ignore[attr-defined]
        with pytest.raises(ValidationError):
            await world_layer.players.save_player(loaded)
        with pytest.raises(ValidationError):
            await world_layer.containers.create_container(
                "environment", room_id=FOYER, metadata={"x": 10**5000}
            )
        with pytest.raises(ValidationError):
            await world_layer.items.create_item_instance(
                "huge", "coin", owner_type="room", owner_id=FOYER, metadata={"x": 10**5000}
            )
        assert "hoard" not in await _stats(clean_db, player.player_id)
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 0

    async def test_dates_beyond_the_calendar_in_any_zone_are_refused(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        from datetime import datetime, timezone

        east, west = timezone(timedelta(hours=14)), timezone(timedelta(hours=-14))
        player = new_player("Clockwork")
        await world_layer.players.save_player(player)
        containers = world_layer.containers
        for call in (
            containers.create_container(
                "environment", room_id=FOYER, decay_at=datetime.max.replace(tzinfo=west)
            ),
            containers.create_container(
                "environment", room_id=FOYER, decay_at=datetime.min.replace(tzinfo=east)
            ),
            containers.get_decayed_containers(datetime.max.replace(tzinfo=west)),
            containers.remove_decayed_containers(datetime.min.replace(tzinfo=east)),
            world_layer.players.update_player_last_active(
                player.player_id, datetime.max.replace(tzinfo=west)
            ),
        ):
            with pytest.raises(ValidationError):
                await call
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 0

    async def test_facade_calls_refuse_what_is_not_a_player(
        self, world_layer: AsyncPersistenceLayer
    ) -> None:
        for call in (
            world_layer.apply_fear("not a player", 1),  # type: ignore[arg-type]
            world_layer.apply_lucidity_loss(42, 1),  # type: ignore[arg-type]
            world_layer.apply_corruption(None, 1),  # type: ignore[arg-type]
            world_layer.gain_occult_knowledge(object(), 1),  # type: ignore[arg-type]
            world_layer.validate_and_fix_player_room("x"),  # type: ignore[arg-type]
        ):
            with pytest.raises(ValidationError):
                await call


class TestOneDeadlinePerCall:
    async def test_the_waits_of_one_call_share_one_deadline(
        self, database_url: str, clean_db: asyncpg.Connection
    ) -> None:
        """A call needing several connections in turn waits no longer than the bound in all.

        Relay: one holder has the only connection for 0.3 s; the call queues behind it, then
        other holders queue behind the call and each keeps the connection for 1 s. Every
        later acquire of the call waits behind them.
        """
        settings = make_settings(
            database_url, pool_min_size=1, pool_max_size=1, pool_acquire_timeout=0.5
        )
        async with AsyncPersistenceLayer(settings) as layer:
            await layer.seed_world()
            await ensure_prototypes(layer, "coin")
            player = new_player("Waiter")
            await layer.players.save_player(player)
            stale = await layer.players.require_player(player.player_id)
            await layer.health.update_player_health(player.player_id, -1)
            stale.stats.current_health = 50

            async def hold(seconds: float, started: asyncio.Event | None = None) -> None:
                with contextlib.suppress(PoolExhaustedError):  # a holder may wait too long
                    async with layer.transaction():
                        if started is not None:
                            started.set()
                        await asyncio.sleep(seconds)

            cases = {
                "delta on a missing player": lambda: layer.health.update_player_health(
                    uuid.uuid4(), -1
                ),
                "stale save": lambda: layer.players.save_player(stale),
                "get_or_create": lambda: layer.players.get_or_create_player(
                    f"New {uuid.uuid4().hex}"
                ),
                "create_container": lambda: layer.containers.create_container(
                    "environment", room_id=FOYER
                ),
            }
            for name, call in cases.items():
                started = asyncio.Event()
                first = asyncio.create_task(hold(0.3, started))
                await started.wait()
                began = time.monotonic()
                task = asyncio.create_task(call())
                await asyncio.sleep(0.02)
                relay = [asyncio.create_task(hold(1.0)) for _ in range(3)]
                with contextlib.suppress(PoolExhaustedError):  # giving up in time is fine
                    await task
                waited = time.monotonic() - began
                assert waited < 0.5 + 0.25, f"{name} waited {waited:.2f} s"
                await asyncio.gather(first, *relay)

    async def test_a_call_whose_write_committed_never_says_not_applied(
        self, database_url: str, clean_db: asyncpg.Connection
    ) -> None:
        settings = make_settings(
            database_url, pool_min_size=1, pool_max_size=1, pool_acquire_timeout=0.5
        )
        async with AsyncPersistenceLayer(settings) as layer:
            await layer.seed_world()
            await ensure_prototypes(layer, "coin")
            victim = new_player("Victim")
            await layer.players.save_player(victim)
            await layer.items.create_item_instance(
                "loot", "coin", owner_type="player", owner_id=str(victim.player_id)
            )
            chest = await layer.containers.create_container("environment", room_id=FOYER)

            async def hold(seconds: float, started: asyncio.Event | None = None) -> None:
                with contextlib.suppress(PoolExhaustedError):  # a holder may wait too long
                    async with layer.transaction():
                        if started is not None:
                            started.set()
                        await asyncio.sleep(seconds)

            async def contended(call: Any) -> BaseException | None:
                started = asyncio.Event()
                first = asyncio.create_task(hold(0.3, started))
                await started.wait()
                task = asyncio.create_task(call())
                await asyncio.sleep(0.02)
                relay = asyncio.create_task(hold(1.0))
                try:
                    await task
                    error: BaseException | None = None
                except PersistenceError as exc:
                    error = exc
                await asyncio.gather(first, relay)
                return error

            count = "SELECT count(*) FROM containers"
            before = await clean_db.fetchval(count)
            error = await contended(
                lambda: layer.containers.create_container("environment", room_id=FOYER)
            )
            created = await clean_db.fetchval(count) - before
            assert error is None or (created == 0) == bool(getattr(error, "not_applied", False))
            error = await contended(lambda: layer.containers.create_corpse(victim.player_id, FOYER))
            moved = await clean_db.fetchval(
                "SELECT owner_type <> 'player' FROM item_instances WHERE item_instance_id = 'loot'"
            )
            assert error is None or (not moved) == bool(getattr(error, "not_applied", False))
            error = await contended(
                lambda: layer.containers.update_container(chest.container_id, lock_state="locked")
            )
            locked = await clean_db.fetchval(
                "SELECT lock_state = 'locked' FROM containers WHERE container_id = $1",
                chest.container_id,
            )
            assert error is None or (not locked) == bool(getattr(error, "not_applied", False))


class TestInvisibleNames:
    @pytest.mark.parametrize(
        "twin",
        [
            "Armitage\u200b",  # zero-width space
            "Armi\u00adtage",  # soft hyphen
            "Armi\u200dtage",  # zero-width joiner
            "\u2060Armitage",  # word joiner
            "\u202eArmitage",  # right-to-left override
            "Armitage ",
            " Armitage",
            "Armitage\u00a0",  # no-break space
            "Armitage\t",
        ],
    )
    async def test_a_name_that_only_adds_what_cannot_be_seen_is_the_same_name(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, twin: str
    ) -> None:
        await layer.players.save_player(new_player("Armitage"))
        with pytest.raises(PersistenceError) as info:
            await layer.players.save_player(new_player(twin))
        assert type(info.value).__name__ in ("DuplicateError", "ValidationError")
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 1

    async def test_inner_runs_of_spaces_are_one_space(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        await layer.players.save_player(new_player("Henry Armitage"))
        with pytest.raises(PersistenceError):
            await layer.players.save_player(new_player("Henry  Armitage"))
        found = await layer.players.get_player_by_name("henry   armitage")
        assert found is not None
        assert found.name == "Henry Armitage"


class TestWorkStartedByHandlersIsItsOwn:
    async def test_a_task_an_event_handler_starts_is_not_part_of_the_publishing_call(
        self, database_url: str, clean_db: asyncpg.Connection
    ) -> None:
        """A handler runs while the publishing call ends; the work it starts is the game's.

        Its calls are counted as calls of their own and get a wait budget of their own, not
        what is left of the call that published the event.
        """
        from persistence.events import InProcessEventBus, PlayerHPUpdated

        bus = InProcessEventBus()
        settings = make_settings(
            database_url, pool_min_size=1, pool_max_size=1, pool_acquire_timeout=0.5
        )
        async with AsyncPersistenceLayer(settings, event_bus=bus) as layer:
            await layer.seed_world()
            player = new_player("Watched")
            await layer.players.save_player(player)
            spawned: list[asyncio.Task[Any]] = []

            async def follow_up(player_id: uuid.UUID) -> None:
                await asyncio.sleep(0.6)  # longer than the publishing call's whole budget
                held = asyncio.Event()

                async def hold() -> None:
                    async with layer.transaction():
                        held.set()
                        await asyncio.sleep(0.3)

                holder = asyncio.create_task(hold())
                await held.wait()
                # Waits 0.3 s for the connection: within a budget of its own (0.5 s).
                await layer.players.require_player(player_id)
                await holder

            bus.subscribe(
                PlayerHPUpdated,
                lambda event: spawned.append(asyncio.create_task(follow_up(event.player_id))),
            )
            before = layer.metrics().calls.get("players.require_player", 0)
            await layer.health.update_player_health(player.player_id, -1)
            await asyncio.gather(*spawned)
            assert layer.metrics().calls.get("players.require_player", 0) == before + 1


class TestRefusalsStillSayNothingWasApplied:
    async def test_a_refusal_after_reads_keeps_not_applied(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        """Only a committed write makes a call's failure "maybe applied", never a read."""
        layer = world_layer
        player = new_player("Refused")
        await layer.players.save_player(player)
        stale = await layer.players.require_player(player.player_id)
        await layer.health.update_player_health(player.player_id, -10)
        stale.stats.current_health = 5
        with pytest.raises(StaleDataError) as stale_info:
            await layer.players.save_player(stale)
        assert stale_info.value.not_applied
        box = await layer.containers.create_container(
            "environment",
            room_id=FOYER,
            capacity_slots=1,
            items=[{"item_instance_id": "filler", "prototype_id": "coin"}],
        )
        with pytest.raises(PersistenceError) as full_info:
            await layer.items.ensure_item_instance(
                "extra", "coin", owner_type="container", owner_id=box.container_id
            )
        assert type(full_info.value).__name__ == "ContainerFullError"
        assert full_info.value.not_applied


class TestDeltasOnSparseDocuments:
    """A key a document lacks is its default, for the delta, its cap and what it re-clamps."""

    async def _with_stats(
        self, layer: AsyncPersistenceLayer, conn: asyncpg.Connection, document: dict[str, Any]
    ) -> uuid.UUID:
        player = new_player(f"Sparse {uuid.uuid4().hex[:6]}")
        await layer.players.save_player(player)
        await conn.execute(
            "UPDATE players SET stats = $1::jsonb WHERE player_id = $2",
            json.dumps(document),
            player.player_id,
        )
        return player.player_id

    @pytest.mark.parametrize(
        ("document", "delta", "expected"),
        [
            ({}, 10, (110, 100)),
            ({"max_health": 200}, -50, (150, 100)),
            ({"max_health": 200}, 10, (210, 100)),
            ({"current_health": 80}, -50, (50, 50)),
        ],
    )
    async def test_a_max_health_delta_keeps_a_missing_current_health_at_its_default(
        self,
        layer: AsyncPersistenceLayer,
        clean_db: asyncpg.Connection,
        document: dict[str, Any],
        delta: int,
        expected: tuple[int, int],
    ) -> None:
        pid = await self._with_stats(layer, clean_db, document)
        await layer.experience.update_player_stat_field(pid, "max_health", delta)
        stored = await _stats(clean_db, pid)
        assert (stored["max_health"], stored.get("current_health", 100)) == expected

    async def test_results_report_the_default_of_a_missing_max_health(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        pid = await self._with_stats(layer, clean_db, {"current_health": 50})
        change = await layer.change_health(pid, 10)
        assert (change.new_hp, change.max_hp) == (60, 100)
        batch = await layer.health.change_health_batch({pid: 100})
        assert (batch[pid].new_hp, batch[pid].max_hp) == (100, 100)

    async def test_max_health_clamps_at_the_stat_limit(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        pid = await self._with_stats(layer, clean_db, {})
        for _ in range(3):
            value = await layer.experience.update_player_stat_field(pid, "max_health", MAX_DELTA)
        assert value == 2**31 - 1
        assert (await _stats(clean_db, pid))["max_health"] == 2**31 - 1


async def test_a_float_stat_is_corrupt_for_reads_and_the_audit_alike(
    layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
) -> None:
    """50.0 passes the database's jsonpath CHECK (it compares numbers); the layer never
    writes it, and its reads and its audit agree on calling it corrupt."""
    player = new_player("Fractional")
    await layer.players.save_player(player)
    await clean_db.execute(
        "UPDATE players SET stats = stats || '{\"strength\": 50.0}'::jsonb WHERE player_id = $1",
        player.player_id,
    )
    with pytest.raises(CorruptRowError):
        await layer.players.get_player_by_id(player.player_id)
    report = await layer.audit()
    assert [f.key for f in report.of("corrupt_row")] == [str(player.player_id)]


async def test_a_task_a_handler_starts_at_commit_is_outside_the_transaction(
    database_url: str, clean_db: asyncpg.Connection
) -> None:
    """Events of a layer.transaction() go out at its COMMIT, while the block is being left."""
    from persistence.events import InProcessEventBus, PlayerHPUpdated

    bus = InProcessEventBus()
    async with AsyncPersistenceLayer(make_settings(database_url), event_bus=bus) as layer:
        await layer.seed_world()
        player = new_player("Committed")
        await layer.players.save_player(player)
        spawned: list[asyncio.Task[Any]] = []
        bus.subscribe(
            PlayerHPUpdated,
            lambda event: spawned.append(
                asyncio.create_task(layer.players.require_player(event.player_id))
            ),
        )
        async with layer.transaction():
            await layer.health.update_player_health(player.player_id, -3)
        (found,) = await asyncio.gather(*spawned)
        assert found.stats.current_health == 97


class TestNamesOfTheWorld:
    @pytest.mark.parametrize(
        "name",
        [
            "\u062f\u0627\u0631\u0627\u200c\u06cc\u0648\u0634",  # Persian, with a ZWNJ
            "\u0915\u094d\u200d\u0937",  # Devanagari: a ZWJ after a virama
            "\u30e6\u30fc\u30ea",  # Japanese with the prolonged sound mark
            "Ka\u02bbiulani",  # Hawaiian okina
            "Y\u0131lmaz",  # Turkish dotless i
            "O'Brien-Smith",
        ],
    )
    async def test_names_real_languages_write_are_accepted(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, name: str
    ) -> None:
        player = new_player(name)
        await layer.players.save_player(player)
        found = await layer.players.get_player_by_name(name)
        assert found is not None
        assert found.player_id == player.player_id

    @pytest.mark.parametrize(
        "name",
        ["Armitage\u200d", "\u200cArmitage", "Arm\u200citage", "\u0251rmitage", "\u1d00rmitage"],
    )
    async def test_joiners_beside_latin_and_phonetic_letters_are_refused(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, name: str
    ) -> None:
        with pytest.raises(ValidationError):
            await layer.players.save_player(new_player(name))
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 0

    async def test_a_name_stored_before_these_rules_still_loads_saves_and_is_found(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        legacy = {"Trailing ": None, "Bob  Smith": None, "Dara\u200byush": None}
        for name in legacy:  # as an older version or a tool stored them
            player = new_player("placeholder")
            await layer.players.save_player(player)
            await clean_db.execute(
                "UPDATE players SET name = $1 WHERE player_id = $2", name, player.player_id
            )
            legacy[name] = player.player_id
        for name, pid in legacy.items():
            loaded = await layer.players.require_player(pid)
            loaded.stats.fear = 7  # another field: the save must neither refuse nor rename
            await layer.players.save_player(loaded)
            assert loaded.name == name
            assert (
                await clean_db.fetchval("SELECT name FROM players WHERE player_id = $1", pid)
                == name
            )
            found = await layer.players.get_player_by_name(name)
            assert found is not None
            assert found.player_id == pid


async def test_a_sweep_of_many_containers_gives_each_its_own_wait(
    database_url: str, clean_db: asyncpg.Connection
) -> None:
    """remove_decayed_containers works container by container: under steady contention the
    sweep's waits add up past one call's budget, yet each container's wait is bounded."""
    settings = make_settings(
        database_url, pool_min_size=1, pool_max_size=1, pool_acquire_timeout=0.3
    )
    async with AsyncPersistenceLayer(settings) as layer:
        await layer.seed_world()
        past = datetime.now(UTC) - timedelta(minutes=1)
        for _ in range(6):
            await layer.containers.create_container("environment", room_id=FOYER, decay_at=past)
        stop = asyncio.Event()

        async def contend() -> None:  # takes the only connection again and again
            while not stop.is_set():
                async with layer.transaction():
                    await asyncio.sleep(0.12)
                await asyncio.sleep(0)

        contender = asyncio.create_task(contend())
        await asyncio.sleep(0.05)
        try:
            removed = await layer.containers.remove_decayed_containers()
        finally:
            stop.set()
            await contender
        assert len(removed) == 6
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 0

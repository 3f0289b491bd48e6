"""Reliability: idempotent deltas, connections killed under load, a database restart."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
import uuid
from collections import defaultdict
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from persistence.errors import (
    DatabaseUnavailableError,
    ItemNotOwnedError,
    OperationReusedError,
    PersistenceError,
)
from persistence.events import PlayerHPUpdated
from persistence.facade import AsyncPersistenceLayer
from persistence.repositories.item import Owner
from persistence.testing import ensure_prototypes
from tests.conftest import RecordingBus, make_settings
from tests.factories import FOYER, HALLWAY, new_player
from tests.pgbouncer import backend_pids

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def _player(layer: AsyncPersistenceLayer, **stats: int) -> Any:
    player = new_player()
    for key, value in stats.items():
        setattr(player.stats, key, value)
    await layer.players.save_player(player)
    return player


class TestOpIds:
    async def test_a_repeated_op_id_applies_once_and_returns_the_first_outcome(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        player = await _player(layer)
        pid = player.player_id
        assert await layer.health.update_player_health(pid, -10, op_id="hit-1") == 90
        assert await layer.health.update_player_health(pid, -10, op_id="hit-1") == 90
        assert await layer.health.update_player_health(pid, -10, op_id="hit-2") == 80
        assert len(bus.of(PlayerHPUpdated)) == 2
        first = await layer.experience.update_player_xp(pid, 150, op_id="xp-1")
        again = await layer.experience.update_player_xp(pid, 150, op_id="xp-1")
        assert first == again
        assert await layer.experience.update_player_stat_field(pid, "fear", 7, op_id="f") == 7
        assert await layer.experience.update_player_stat_field(pid, "fear", 7, op_id="f") == 7
        assert await layer.health.damage_player(player, 5, op_id="d") == 75
        assert await layer.health.damage_player(player, 5, op_id="d") == 75
        row = await clean_db.fetchrow(
            "SELECT experience_points, (stats->>'current_health')::int AS hp,"
            " (stats->>'fear')::int AS fear FROM players"
        )
        assert (row["experience_points"], row["hp"], row["fear"]) == (150, 75, 7)

    async def test_batches_take_op_ids_too(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        a, b = await _player(layer), await _player(layer)
        deltas = {a.player_id: -5, b.player_id: -7}
        first = await layer.health.apply_health_deltas(deltas, op_id="tick-1")
        assert first == await layer.health.apply_health_deltas(deltas, op_id="tick-1")
        xp = {a.player_id: 10, b.player_id: 20}
        assert await layer.experience.apply_xp_deltas(xp, op_id="x") == (
            await layer.experience.apply_xp_deltas(xp, op_id="x")
        )
        stats = {a.player_id: 3, b.player_id: 4}
        await layer.experience.apply_stat_deltas("corruption", stats, op_id="c")
        await layer.experience.apply_stat_deltas("corruption", stats, op_id="c")
        rows = await clean_db.fetch(
            "SELECT (stats->>'current_health')::int AS hp, experience_points AS xp,"
            " (stats->>'corruption')::int AS c FROM players ORDER BY xp"
        )
        assert [(r["hp"], r["xp"], r["c"]) for r in rows] == [(95, 10, 3), (93, 20, 4)]

    async def test_concurrent_repeats_apply_once(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = await _player(layer)
        results = await asyncio.gather(
            *(
                layer.health.update_player_health(player.player_id, -1, op_id="once")
                for _ in range(20)
            )
        )
        assert set(results) == {99}
        hp = await clean_db.fetchval("SELECT (stats->>'current_health')::int FROM players")
        assert hp == 99

    async def test_reusing_an_op_id_for_something_else_is_refused(
        self, layer: AsyncPersistenceLayer
    ) -> None:
        player = await _player(layer)
        await layer.health.update_player_health(player.player_id, -1, op_id="k")
        with pytest.raises(OperationReusedError):
            await layer.health.update_player_health(player.player_id, -2, op_id="k")
        with pytest.raises(OperationReusedError):
            await layer.experience.update_player_xp(player.player_id, 1, op_id="k")

    async def test_a_failed_operation_is_not_recorded(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        from persistence.errors import NotFoundError

        with pytest.raises(NotFoundError):
            await layer.health.update_player_health(uuid.uuid4(), -1, op_id="ghost")
        assert await clean_db.fetchval("SELECT count(*) FROM applied_operations") == 0

    async def test_old_operations_can_be_purged(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        from datetime import timedelta

        player = await _player(layer)
        await layer.health.update_player_health(player.player_id, -1, op_id="old")
        await clean_db.execute(
            "UPDATE applied_operations SET created_at = now() - interval '2 days'"
        )
        await layer.health.update_player_health(player.player_id, -1, op_id="new")
        assert await layer.purge_operations(older_than=timedelta(days=1)) == 1
        assert await clean_db.fetchval("SELECT op_id FROM applied_operations") == "new"


KILL_EVERY = 0.1
FAULT_SECONDS = 10.0
WORKERS = 50


async def _kill_backends(admin: asyncpg.Connection, application: str, until: float) -> int:
    killed = 0
    while time.monotonic() < until:
        pids = await backend_pids(admin, application)  # through PgBouncer: its servers'
        killed += int(
            await admin.fetchval(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"
                " FROM unnest($1::int[]) AS pid",
                pids,
            )
        )
        await asyncio.sleep(KILL_EVERY)
    return killed


async def test_terminating_every_backend_every_100ms_loses_and_duplicates_nothing(
    clean_db: asyncpg.Connection, database_url: str
) -> None:
    """50 workers, 10 s of pg_terminate_backend every 100 ms, then an exact audit."""
    app = f"fault-{uuid.uuid4().hex[:8]}"
    settings = make_settings(
        database_url,
        application_name=app,
        pool_min_size=5,
        pool_max_size=10,
        retry_max_attempts=4,
        retry_base_delay=0.02,
        retry_max_delay=0.2,
        pool_acquire_timeout=3,
    )
    async with AsyncPersistenceLayer(settings) as layer:
        await layer.seed_world()
        await ensure_prototypes(layer, "loot")
        shared = [new_player() for _ in range(20)]
        for p in shared:
            p.stats.max_health = 1_000_000
            p.stats.current_health = 500_000
        owned = [new_player() for _ in range(WORKERS)]
        await layer.players.save_players([*shared, *owned])
        items = []
        for n in range(100):
            holder = shared[n % len(shared)]
            item = await layer.items.create_item_instance(
                f"fault-{n:03d}",
                "loot",
                owner_type="player",
                owner_id=str(holder.player_id),
                quantity=1 + n % 4,
            )
            items.append(item.item_instance_id)
        start_owner = {
            r["item_instance_id"]: (r["owner_type"], r["owner_id"])
            for r in await clean_db.fetch(
                "SELECT item_instance_id, owner_type, owner_id FROM item_instances"
            )
        }

        hp: dict[uuid.UUID, int] = defaultdict(int)
        xp: dict[uuid.UUID, int] = defaultdict(int)
        last_room: dict[uuid.UUID, str] = {}
        moved: list[str] = []
        typed_failures: defaultdict[str, int] = defaultdict(int)
        stop = time.monotonic() + FAULT_SECONDS
        settle = stop + 30.0

        async def until_done(call: Any) -> Any:
            """Repeat a call (same op_id) until it answers, counting the typed failures."""
            while True:
                try:
                    return await call()
                except PersistenceError as exc:
                    if not exc.transient:
                        raise
                    typed_failures[type(exc).__name__] += 1
                    if time.monotonic() > settle:
                        raise
                    await asyncio.sleep(0.01)

        async def worker(number: int) -> None:
            rng = random.Random(number)
            mine = await until_done(lambda: layer.players.require_player(owned[number].player_id))
            i = 0
            while time.monotonic() < stop:
                i += 1
                op = f"w{number}-{i}"
                roll = rng.random()
                pid = rng.choice(shared).player_id
                if roll < 0.2:
                    try:
                        found = await layer.players.get_player_by_id(pid)
                        assert found is not None
                    except PersistenceError as exc:
                        typed_failures[type(exc).__name__] += 1
                elif roll < 0.45:
                    delta = rng.randint(-50, 50)
                    await until_done(
                        partial(layer.health.update_player_health, pid, delta, op_id=op)
                    )
                    hp[pid] += delta
                elif roll < 0.6:
                    amount = rng.randint(0, 30)
                    await until_done(
                        partial(layer.experience.update_player_xp, pid, amount, op_id=op)
                    )
                    xp[pid] += amount
                elif roll < 0.75:
                    mine.current_room_id = rng.choice([FOYER, HALLWAY])
                    await until_done(lambda: layer.players.save_player(mine))
                    last_room[mine.player_id] = mine.current_room_id
                else:
                    item_id = rng.choice(items)
                    try:
                        current = await layer.items.get_item_instance(item_id)
                    except PersistenceError as exc:
                        typed_failures[type(exc).__name__] += 1
                        continue
                    assert current is not None
                    source = Owner(current.owner_type, current.owner_id)
                    target = ("player", str(rng.choice(shared).player_id))
                    if target == source:
                        continue
                    try:
                        await until_done(
                            partial(
                                layer.items.transfer_item,
                                item_id,
                                from_owner=source,
                                to_owner=target,
                                op_id=op,
                            )
                        )
                    except ItemNotOwnedError:
                        continue
                    moved.append(op)

        async with asyncio.timeout(FAULT_SECONDS + 60):
            killer = asyncio.create_task(_kill_backends(clean_db, app, stop))
            await asyncio.gather(*(worker(n) for n in range(WORKERS)))
            kills = await killer
        print(f"\nkills={kills} typed failures seen by callers={dict(typed_failures)}")
        assert kills > 50, kills
        assert sum(typed_failures.values()) > 0, "the faults never reached the callers"

        # The layer serves again, without a restart.
        assert await layer.players.get_player_by_id(shared[0].player_id) is not None

    rows = {
        r["player_id"]: r
        for r in await clean_db.fetch(
            "SELECT player_id, experience_points, current_room_id,"
            " (stats->>'current_health')::int AS hp FROM players"
        )
    }
    for p in shared:
        assert rows[p.player_id]["hp"] == 500_000 + hp[p.player_id]
        assert rows[p.player_id]["experience_points"] == xp[p.player_id]
    for pid, room in last_room.items():
        assert rows[pid]["current_room_id"] == room
    final = await clean_db.fetch(
        "SELECT item_instance_id, owner_type, owner_id, quantity FROM item_instances"
    )
    assert sorted(r["item_instance_id"] for r in final) == sorted(items)
    assert sum(r["quantity"] for r in final) == sum(1 + n % 4 for n in range(100))
    ledger = await clean_db.fetch(
        "SELECT * FROM item_movements WHERE reason <> 'created' ORDER BY id"
    )
    assert sorted(r["op_id"] for r in ledger) == sorted(moved)
    where = dict(start_owner)
    for row in ledger:
        assert where[row["item_instance_id"]] == (row["from_owner_type"], row["from_owner_id"])
        where[row["item_instance_id"]] = (row["to_owner_type"], row["to_owner_id"])
    assert where == {r["item_instance_id"]: (r["owner_type"], r["owner_id"]) for r in final}


async def test_database_restart_is_survived_and_recovered_within_a_second() -> None:
    """A private cluster (not the machine's service) is stopped and started again."""
    import pgserver

    from persistence.schema import run_migrations

    folder = Path(tempfile.mkdtemp(prefix="mud-restart-"))
    server = await asyncio.to_thread(pgserver.get_server, folder, cleanup_mode="stop")
    socket_dir = server.get_uri().split("host=", 1)[1].split("&", 1)[0]
    server.psql("CREATE DATABASE mud;")
    url = f"postgres://postgres@/mud?host={socket_dir}"
    await run_migrations(url, make_settings(url, through_pooler=False))
    settings = make_settings(
        url,
        through_pooler=False,  # a private cluster, not the pooler's server
        pool_acquire_timeout=0.5,
        statement_timeout=2,
        retry_max_attempts=2,
        retry_base_delay=0.01,
        retry_max_delay=0.02,
    )
    try:
        async with AsyncPersistenceLayer(settings) as layer:
            player = new_player()
            await layer.players.save_player(player)

            await asyncio.to_thread(server.cleanup)  # pg_ctl stop: sessions are terminated
            for _ in range(3):
                began = time.monotonic()
                with pytest.raises(DatabaseUnavailableError):
                    await layer.players.get_player_by_id(player.player_id)
                assert time.monotonic() - began < 3, "a call while the server is down hung"

            server = await asyncio.to_thread(pgserver.get_server, folder, cleanup_mode="stop")
            back = time.monotonic()
            while True:
                try:
                    found = await layer.players.get_player_by_id(player.player_id)
                    break
                except DatabaseUnavailableError:
                    assert time.monotonic() - back < 1.0, "not recovered within 1 s"
                    await asyncio.sleep(0.02)
            recovered = time.monotonic() - back
            assert found is not None
            assert recovered < 1.0
            assert await layer.health.update_player_health(player.player_id, -1) == 99
    finally:
        await asyncio.to_thread(server.cleanup)
        import shutil

        shutil.rmtree(folder, ignore_errors=True)

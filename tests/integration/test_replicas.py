"""Reads on a streaming replica with read-your-writes (issue 15, point 3).

A private primary and a standby made with ``pg_basebackup -R``: over 1,000 write-then-read
pairs no read misses the write just made, most reads run on the replica, transactions and
locking reads stay on the primary, and a replica that goes down sends reads to the primary,
also one that stops answering without closing its connections (SIGSTOP: a frozen host).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import pytest_asyncio

from persistence.facade import AsyncPersistenceLayer
from persistence.replicas import REPLICA_TIMEOUT
from persistence.schema import run_migrations
from persistence.settings import PersistenceSettings
from tests import cluster
from tests.factories import new_player

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not cluster.available(), reason="PostgreSQL 15 binaries not found"),
]


@pytest.fixture(scope="module")
def pair() -> Iterator[cluster.Pair]:
    running = cluster.Pair().start()
    try:
        yield running
    finally:
        running.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def settings(pair: cluster.Pair) -> AsyncIterator[PersistenceSettings]:
    admin = await asyncpg.connect(pair.primary.url())
    try:
        await admin.execute("DROP DATABASE IF EXISTS mud WITH (FORCE)")
        await admin.execute("CREATE DATABASE mud")
    finally:
        await admin.close()
    chosen = PersistenceSettings(
        database_url=pair.primary.url("mud"),
        replica_urls=(pair.replica.url("mud"),),
        replica_wait=1.0,
        replica_poll_interval=0.05,
        pool_min_size=1,
        pool_max_size=4,
        pool_acquire_timeout=2,
        retry_base_delay=0.01,
        retry_max_delay=0.05,
        room_notifications=False,
    )
    await run_migrations(pair.primary.url("mud"), chosen)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the standby replays the new database too
        try:
            probe = await asyncpg.connect(pair.replica.url("mud"))
            await probe.close()
            break
        except asyncpg.InvalidCatalogNameError:
            await asyncio.sleep(0.05)
    yield chosen


async def test_a_thousand_writes_each_read_back_at_once_never_stale(
    settings: PersistenceSettings,
) -> None:
    async with AsyncPersistenceLayer(settings) as layer:
        await layer.seed_world()
        player = new_player("Reader")
        await layer.save_player(player)
        loaded = await layer.players.require_player(player.player_id)
        stale = 0
        for n in range(1000):
            loaded.stats.strength = n % 100 + 1
            await layer.save_player(loaded)
            fresh = await layer.get_player_by_id(player.player_id)
            assert fresh is not None
            stale += fresh.stats.strength != n % 100 + 1
        replicas = layer.db.replicas
        assert replicas is not None
        assert stale == 0
        assert replicas.reads_on_replicas > 900  # the replica served them, after catching up
        assert replicas.reads_on_primary < 100

        # The control: forget the writes' WAL positions, and reads right after a write do
        # come back stale from the replica. So the check above could fail.
        async def forget() -> None:  # no WAL position noted, and no round trip for it
            return None

        layer.db.note_write = forget  # type: ignore[method-assign]
        replicas.written = 0
        unguarded = 0
        for n in range(200):
            loaded.stats.strength = n % 100 + 1
            await layer.save_player(loaded)
            fresh = await layer.get_player_by_id(player.player_id)
            assert fresh is not None
            unguarded += fresh.stats.strength != n % 100 + 1
        assert unguarded > 0


async def test_transactions_stay_on_the_primary(settings: PersistenceSettings) -> None:
    async with AsyncPersistenceLayer(settings) as layer:
        await layer.seed_world()
        player = new_player("Inside")
        await layer.save_player(player)
        replicas = layer.db.replicas
        assert replicas is not None
        before = replicas.reads_on_replicas
        async with layer.transaction():
            await layer.update_player_health(player.player_id, -30)
            inside = await layer.get_player_by_id(player.player_id)  # its own uncommitted write
            assert inside is not None
            assert inside.stats.current_health == 70
        assert replicas.reads_on_replicas == before  # not one read left the transaction


async def test_a_replica_that_goes_down_sends_reads_to_the_primary(
    pair: cluster.Pair, settings: PersistenceSettings
) -> None:
    async with AsyncPersistenceLayer(settings) as layer:
        await layer.seed_world()
        player = new_player("Rerouted")
        await layer.save_player(player)
        replicas = layer.db.replicas
        assert replicas is not None
        await asyncio.to_thread(pair.replica.stop, "fast")
        try:
            for _ in range(20):
                began = time.monotonic()
                found = await layer.get_player_by_id(player.player_id)
                assert found is not None
                assert time.monotonic() - began < 3
            on_primary = replicas.reads_on_primary
            assert on_primary > 0
        finally:
            await asyncio.to_thread(pair.replica.start)
        deadline = time.monotonic() + 10
        served = replicas.reads_on_replicas
        while replicas.reads_on_replicas == served and time.monotonic() < deadline:
            await layer.get_player_by_id(player.player_id)
            await asyncio.sleep(0.05)
        assert replicas.reads_on_replicas > served  # back on the replica once it answers


async def test_a_committed_write_never_looks_failed_when_its_position_cannot_be_read(
    settings: PersistenceSettings, caplog: pytest.LogCaptureFixture
) -> None:
    # One pool connection, held by another task right after the write: the round trip
    # that reads the write's WAL position cannot get a connection in time.
    tight = settings.model_copy(update={"pool_max_size": 1, "pool_acquire_timeout": 0.3})
    async with AsyncPersistenceLayer(tight) as layer:
        await layer.seed_world()
        player = new_player("Unplaced")
        await layer.save_player(player)
        replicas = layer.db.replicas
        assert replicas is not None

        async def hold() -> None:  # the game's own code on the shared pool, say
            async with layer.db.client().acquire_connection():
                await asyncio.sleep(1.0)

        write = asyncio.create_task(layer.update_player_health(player.player_id, -10, "hit"))
        await asyncio.sleep(0)  # the write has the connection
        holder = asyncio.create_task(hold())
        assert await write == 90  # committed, and reported as done
        await holder
        assert "could not read the primary's WAL position" in caplog.text
        on_primary = replicas.reads_on_primary
        found = await layer.get_player_by_id(player.player_id)
        assert found is not None
        assert found.stats.current_health == 90
        assert replicas.reads_on_primary == on_primary + 1  # no replica is known to have it
        await layer.update_player_health(player.player_id, 1, "heal")  # position read again
        served = replicas.reads_on_replicas
        again = await layer.get_player_by_id(player.player_id)
        assert again is not None
        assert again.stats.current_health == 91
        assert replicas.reads_on_replicas == served + 1


async def test_a_multi_host_primary_url_keeps_the_replica_for_reads(
    pair: cluster.Pair, settings: PersistenceSettings
) -> None:
    failover_url = (
        f"postgres://postgres@127.0.0.1:{pair.primary.port},127.0.0.1:{pair.replica.port}"
        "/mud?target_session_attrs=read-write"
    )
    chosen = settings.model_copy(update={"database_url": failover_url})
    async with AsyncPersistenceLayer(chosen) as layer:
        await layer.seed_world()
        player = new_player("TwoHosts")
        await layer.save_player(player)
        replicas = layer.db.replicas
        assert replicas is not None
        for _ in range(10):
            assert await layer.get_player_by_id(player.player_id) is not None
        assert replicas.reads_on_replicas >= 9


async def test_a_frozen_replica_costs_a_read_at_most_the_bound_then_reads_go_to_the_primary(
    pair: cluster.Pair, settings: PersistenceSettings
) -> None:
    chosen = settings.model_copy(
        update={
            "replica_wait": 0.05,
            "replica_poll_interval": 0.2,
            "statement_timeout": 10.0,
            "pool_acquire_timeout": 5.0,
        }
    )
    async with AsyncPersistenceLayer(chosen) as layer:
        await layer.seed_world()
        player = new_player("Frozen")
        await layer.save_player(player)
        replicas = layer.db.replicas
        assert replicas is not None
        # Every replica pool connection open and in use: a frozen host then hangs statements
        # on connections already made, not only new connections.
        await asyncio.gather(*(layer.get_player_by_id(player.player_id) for _ in range(12)))
        served = replicas.reads_on_replicas
        assert served > 0
        await asyncio.to_thread(pair.replica.signal, signal.SIGSTOP)
        timings: list[tuple[float, object]] = []
        try:

            async def read() -> None:
                began = time.monotonic()
                try:
                    found = await asyncio.wait_for(layer.get_player_by_id(player.player_id), 20)
                    outcome: object = None if found is None else found.stats.current_health
                except Exception as exc:  # recorded, so every read's fate is in the message
                    outcome = repr(exc)
                timings.append((round(time.monotonic() - began, 2), outcome))

            model_reads: list[tuple[float, bool]] = []

            async def model_read() -> None:  # a Tortoise queryset, not hand-written SQL
                began = time.monotonic()
                exists = await asyncio.wait_for(layer.items.item_instance_exists("none"), 20)
                model_reads.append((round(time.monotonic() - began, 2), exists))

            # At once, on frozen connections (and waiting for them).
            await asyncio.gather(*(read() for _ in range(5)), model_read(), model_read())
            for _ in range(5):  # one after the other
                await read()
            hp = await layer.update_player_health(player.player_id, -7, "frozen")
            await read()  # read-your-writes while the replica is frozen: from the primary
        finally:
            await asyncio.to_thread(pair.replica.signal, signal.SIGCONT)
        # docs/scaling.md: at most MUD_REPLICA_WAIT + REPLICA_TIMEOUT more than on the primary.
        bound = chosen.replica_wait + REPLICA_TIMEOUT + 1.0  # + 1 s for a busy machine
        assert [o for _, o in timings] == [100] * 10 + [hp], timings
        assert max(t for t, _ in timings) <= bound, timings
        assert len(model_reads) == 2
        assert all(t <= bound and exists is False for t, exists in model_reads), model_reads
        assert all(t < 0.5 for t, _ in timings[5:]), timings  # once seen, skipped at once
        assert replicas.reads_moved >= 5  # the first five ran on the primary after all
        deadline = time.monotonic() + 15
        served = replicas.reads_on_replicas
        while replicas.reads_on_replicas == served and time.monotonic() < deadline:
            assert await layer.get_player_by_id(player.player_id) is not None
            await asyncio.sleep(0.05)
        assert replicas.reads_on_replicas > served  # back on the replica once it answers

"""A server that stops answering without closing anything (SIGSTOP: a frozen host).

Two statements of docs/scaling.md, on private clusters:

* how long a call can take when its server stops answering: each attempt waits at most
  ``MUD_POOL_ACQUIRE_TIMEOUT`` for a connection, then ``MUD_STATEMENT_TIMEOUT`` + 1 s for
  its statement (the driver's own limit, as the server cannot cancel anything), then up to
  ``MUD_POOL_ACQUIRE_TIMEOUT`` again while the pool waits for the cancel request before it
  drops the connection; a retried call adds that per attempt, plus the backoffs;
* failover when the old primary freezes instead of stopping: asyncpg's connect timeout is
  one budget for every host of a multi-host URL, so a frozen first host spends all of it and
  writes do not resume on the promoted standby until the old primary is fenced (here killed:
  its port then refuses connections, and asyncpg moves on to the next host at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Iterator
from typing import Any

import asyncpg
import pytest

from persistence.errors import PersistenceError
from persistence.facade import AsyncPersistenceLayer
from persistence.schema import run_migrations
from persistence.settings import PersistenceSettings
from tests import cluster
from tests.factories import new_player

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not cluster.available(), reason="PostgreSQL 15 binaries not found"),
]

ACQUIRE, STATEMENT, ATTEMPTS, MAX_DELAY = 0.5, 1.0, 2, 0.05
PER_ATTEMPT = ACQUIRE + STATEMENT + 1.0 + ACQUIRE
"""docs/scaling.md: one attempt of a one-statement call on a server that does not answer."""
PER_CALL = ATTEMPTS * PER_ATTEMPT + (ATTEMPTS - 1) * MAX_DELAY


@pytest.fixture
def pair() -> Iterator[cluster.Pair]:
    running = cluster.Pair().start()
    try:
        yield running
    finally:
        # Never leave a stopped process behind: continue it so that it can be stopped.
        for server in (running.primary, running.replica):
            with contextlib.suppress(FileNotFoundError, ValueError):
                server.signal(signal.SIGCONT)
        running.stop()


async def _layer_settings(pair: cluster.Pair, url: str) -> PersistenceSettings:
    admin = await asyncpg.connect(pair.primary.url())
    try:
        await admin.execute("CREATE DATABASE mud")
    finally:
        await admin.close()
    settings = PersistenceSettings(
        database_url=url,
        pool_min_size=2,
        pool_max_size=4,
        pool_acquire_timeout=ACQUIRE,
        statement_timeout=STATEMENT,
        retry_max_attempts=ATTEMPTS,
        retry_base_delay=MAX_DELAY,
        retry_max_delay=MAX_DELAY,
        room_notifications=False,
    )
    await run_migrations(pair.primary.url("mud"), settings)
    return settings


async def test_a_call_on_a_server_that_stops_answering_ends_within_the_documented_bound(
    pair: cluster.Pair,
) -> None:
    settings = await _layer_settings(pair, pair.primary.url("mud"))
    async with AsyncPersistenceLayer(settings) as layer:
        await layer.seed_world()
        player = new_player("Stopped")
        await layer.save_player(player)
        pid = player.player_id
        # Every pool connection open: the calls below find idle connections whose server
        # then never answers (the longest case), and others wait for the pool.
        await asyncio.gather(*(layer.get_player_by_id(pid) for _ in range(8)))
        await asyncio.to_thread(pair.primary.signal, signal.SIGSTOP)
        try:

            async def timed(call: Awaitable[Any]) -> tuple[float, str]:
                began = time.monotonic()
                try:
                    await asyncio.wait_for(call, 60)
                    outcome = "answered"
                except PersistenceError as exc:
                    outcome = type(exc).__name__
                return time.monotonic() - began, outcome

            results = await asyncio.gather(
                timed(layer.get_player_by_id(pid)),  # a read: retried
                timed(layer.get_player_by_id(pid)),
                timed(layer.update_player_health(pid, -1)),
                timed(layer.update_player_health(pid, -1, op_id="frozen-1")),
                timed(layer.players.get_players_in_room(player.current_room_id)),
                timed(layer.get_player_by_id(pid)),  # waits for the pool
            )
        finally:
            await asyncio.to_thread(pair.primary.signal, signal.SIGCONT)
    assert all(outcome != "answered" for _, outcome in results), results
    assert max(took for took, _ in results) <= PER_CALL + 0.5, (results, PER_CALL)
    # The old statement ("bounded by the pool wait and the statement timeout") was wrong:
    # the longest call really does take longer than their sum.
    assert max(took for took, _ in results) > ACQUIRE + STATEMENT, results


async def test_failover_with_a_frozen_old_primary_resumes_once_it_is_fenced(
    pair: cluster.Pair,
) -> None:
    both = (
        f"postgres://postgres@127.0.0.1:{pair.primary.port},127.0.0.1:{pair.replica.port}"
        "/mud?target_session_attrs=read-write"
    )
    settings = await _layer_settings(pair, both)
    async with AsyncPersistenceLayer(settings) as layer:
        await layer.seed_world()
        player = new_player("Fenced")
        await layer.save_player(player)
        pair.wait_streaming()
        await asyncio.sleep(0.5)  # the standby has the player
        await asyncio.to_thread(pair.primary.signal, signal.SIGSTOP)
        await asyncio.to_thread(pair.replica.promote)

        async def write() -> bool:
            try:
                await asyncio.wait_for(layer.update_player_health(player.player_id, -1), 30)
            except PersistenceError:
                return False
            return True

        # Frozen, not stopped: every new connection spends its whole connect budget on the
        # first host, so writes fail (each within its bound) and never reach the new primary.
        frozen_until = time.monotonic() + 3 * PER_CALL
        while time.monotonic() < frozen_until:
            assert not await write()
        # Fenced: the old primary's port refuses connections, asyncpg moves on at once.
        await asyncio.to_thread(pair.primary.signal, signal.SIGKILL)
        fenced = time.monotonic()
        while not await write():
            assert time.monotonic() - fenced < 2 * PER_CALL
            await asyncio.sleep(0.05)
        resumed_after = time.monotonic() - fenced
    assert resumed_after < 2 * PER_CALL, resumed_after

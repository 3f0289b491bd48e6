"""Regression tests for the two Tortoise 1.1.9 transaction leaks the layer works around.

Tortoise's ``TransactionContextPooled`` (a) never released the pooled connection, and left
the transaction current in the task, when BEGIN failed, and (b) skipped resetting the task's
transaction when returning a broken connection raised, so every later ``in_transaction()``
of that task became a savepoint in a dead transaction. ``RootTransactionContext`` fixes
both, for ``layer.transaction()``, for repository calls, and for ``in_transaction()`` on a
connection the layer runs or is attached to (docs/decisions/0003-tortoise-native-engine.md).

The failures are injected at the driver boundary (asyncpg's ``Transaction.start`` and
``Pool.release`` raising what they raise on a killed connection) so the test is exact; the
pool, the connection and the database are real. A third test kills a real backend.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import asyncpg.pool
import asyncpg.transaction
import pytest
from tortoise.transactions import in_transaction

from persistence.engine import BoundedWaitPool
from persistence.errors import DatabaseUnavailableError, PersistenceError
from persistence.facade import AsyncPersistenceLayer
from tests.conftest import make_settings
from tests.factories import new_player

pytestmark = pytest.mark.integration


class Boom(Exception):
    pass


def _one_connection(url: str) -> Any:
    return make_settings(
        url,
        pool_min_size=1,
        pool_max_size=1,
        pool_acquire_timeout=1.0,
        retry_max_attempts=1,
        application_name=f"fix-{uuid.uuid4().hex[:8]}",
    )


async def _hp(conn: asyncpg.Connection, player_id: uuid.UUID) -> int:
    return int(
        await conn.fetchval(
            "SELECT (stats->>'current_health')::int FROM players WHERE player_id = $1", player_id
        )
    )


async def test_begin_failing_releases_the_connection_and_the_task(
    clean_db: asyncpg.Connection, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with AsyncPersistenceLayer(_one_connection(database_url)) as layer:
        player = new_player("Begin")
        await layer.players.save_player(player)
        original = asyncpg.transaction.Transaction.start
        failures = {"left": 3}

        async def start(self: Any) -> None:
            if failures["left"] and not self._nested:
                failures["left"] -= 1
                raise asyncpg.ConnectionDoesNotExistError("connection was closed")
            await original(self)

        monkeypatch.setattr(asyncpg.transaction.Transaction, "start", start)
        for _ in range(2):
            with pytest.raises(DatabaseUnavailableError) as info:
                async with layer.transaction():
                    pass
            assert info.value.not_applied
            assert not layer.db.in_transaction
        # Tortoise's own block on the layer's connection has the same fix.
        with pytest.raises(asyncpg.ConnectionDoesNotExistError):
            async with in_transaction():
                pass
        assert not layer.db.in_transaction
        # The only pooled connection came back each time: this would wait for a free one.
        async with layer.transaction():
            assert await layer.health.update_player_health(player.player_id, -5) == 95
        assert await _hp(clean_db, player.player_id) == 95


async def test_a_release_that_raises_leaves_no_dead_transaction_in_the_task(
    clean_db: asyncpg.Connection, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with AsyncPersistenceLayer(_one_connection(database_url)) as layer:
        player = new_player("Release")
        await layer.players.save_player(player)
        original = BoundedWaitPool.release
        broken = {"left": 1}

        async def release(self: Any, connection: Any, *, timeout: Any = None) -> None:  # noqa: ASYNC109
            await original(self, connection, timeout=timeout)
            if broken["left"]:
                broken["left"] -= 1
                raise asyncpg.ConnectionDoesNotExistError("connection was closed")

        monkeypatch.setattr(BoundedWaitPool, "release", release)
        with pytest.raises(Boom):
            async with layer.transaction():
                await layer.health.update_player_health(player.player_id, -10)
                raise Boom
        assert broken["left"] == 0
        assert not layer.db.in_transaction
        # A real transaction again, not a savepoint in the dead one: it rolls back alone.
        with pytest.raises(Boom):
            async with layer.transaction():
                await layer.health.update_player_health(player.player_id, -10)
                raise Boom
        async with layer.transaction():
            await layer.health.update_player_health(player.player_id, -1)
        assert await _hp(clean_db, player.player_id) == 99


async def test_a_killed_backend_inside_a_transaction_leaves_the_task_usable(
    clean_db: asyncpg.Connection, database_url: str
) -> None:
    async with AsyncPersistenceLayer(_one_connection(database_url)) as layer:
        player = new_player("Killed")
        await layer.players.save_player(player)
        with pytest.raises(PersistenceError) as info:
            async with layer.transaction():
                await layer.health.update_player_health(player.player_id, -10)
                rows = await layer.db.client().execute_query_dict("SELECT pg_backend_pid() AS pid")
                await clean_db.execute("SELECT pg_terminate_backend($1)", rows[0]["pid"])
                await asyncio.sleep(0.05)
                await layer.health.update_player_health(player.player_id, -10)
        assert info.value.transient
        assert not layer.db.in_transaction
        async with layer.transaction():
            assert await layer.health.update_player_health(player.player_id, -1) == 99
        assert await _hp(clean_db, player.player_id) == 99

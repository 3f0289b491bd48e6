"""The facade: lifecycle, transactions, events after commit, retries, several layers."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import asyncpg
import pytest

from persistence import ApplicationContainer, InProcessEventBus
from persistence.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    DuplicateError,
    OperationTimeoutError,
    PersistenceError,
    PoolExhaustedError,
)
from persistence.events import PlayerCreated, PlayerSaved
from persistence.facade import AsyncPersistenceLayer
from persistence.repositories.base import BaseRepository
from persistence.retry import RetryPolicy
from tests.conftest import RecordingBus, make_settings
from tests.factories import HALLWAY, new_player

pytestmark = pytest.mark.integration


class Boom(Exception):
    pass


class TestTransactions:
    async def test_rollback_undoes_calls_across_repositories(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        keep, other = new_player("Keeper"), new_player("Other", current_room_id="earth_lost_001")
        await world_layer.players.save_players([keep, other])
        coin = await world_layer.items.create_item_instance(
            "coin-1", "coin", owner_type="player", owner_id=str(other.player_id)
        )
        tables = ("players", "item_instances", "item_movements", "containers")
        before = {t: await clean_db.fetch(f"SELECT * FROM {t} ORDER BY 1") for t in tables}
        published = len(bus.published)
        with pytest.raises(Boom):
            async with world_layer.transaction():
                await world_layer.players.save_player(new_player("Ghost"))
                assert await world_layer.players.delete_player(keep.player_id)
                await world_layer.players.update_player_last_active(other.player_id)
                assert await world_layer.players.validate_and_fix_player_room(other)
                await world_layer.health.update_player_health(other.player_id, -40)
                await world_layer.experience.update_player_xp(other.player_id, 500)
                await world_layer.items.transfer_item(
                    coin.item_instance_id,
                    from_owner=("player", other.player_id),
                    to_owner=("room", HALLWAY),
                )
                await world_layer.containers.create_container("environment", room_id=HALLWAY)
                raise Boom
        for table in tables:
            assert await clean_db.fetch(f"SELECT * FROM {table} ORDER BY 1") == before[table]
        assert len(bus.published) == published  # nothing published for rolled-back writes

    async def test_events_are_published_only_after_commit(
        self, layer: AsyncPersistenceLayer, bus: RecordingBus, clean_db: asyncpg.Connection
    ) -> None:
        async with layer.transaction():
            await layer.players.save_player(new_player("Committed"))
            assert bus.published == []
            other = await asyncpg.connect(**_creds(layer.url))
            try:  # another session does not see the row before COMMIT
                assert await other.fetchval("SELECT count(*) FROM players") == 0
            finally:
                await other.close()
        assert [type(e) for e in bus.published] == [PlayerCreated]

    async def test_nested_block_is_a_savepoint(
        self, layer: AsyncPersistenceLayer, bus: RecordingBus, clean_db: asyncpg.Connection
    ) -> None:
        async with layer.transaction():
            await layer.players.save_player(new_player("Outer"))
            with pytest.raises(DuplicateError):
                async with layer.transaction():
                    await layer.players.save_player(new_player("Inner"))
                    await layer.players.save_player(new_player("OUTER"))
        names = [r["name"] for r in await clean_db.fetch("SELECT name FROM players")]
        assert names == ["Outer"]
        assert [e.name for e in bus.of(PlayerCreated)] == ["Outer"]

    async def test_failing_handler_does_not_undo_the_write(
        self,
        layer: AsyncPersistenceLayer,
        bus: RecordingBus,
        clean_db: asyncpg.Connection,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        def broken(event: Any) -> None:
            raise RuntimeError("handler bug")

        async def broken_async(event: Any) -> None:
            raise RuntimeError("async handler bug")

        bus.subscribe(PlayerCreated, broken)
        bus.subscribe(PlayerCreated, broken_async)
        with caplog.at_level(logging.ERROR):
            await layer.players.save_player(new_player("Survivor"))
            await bus.drain()
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 1
        assert "handler bug" in caplog.text
        assert "async handler bug" in caplog.text

    async def test_subscribers_get_events_by_type(
        self, layer: AsyncPersistenceLayer, bus: RecordingBus
    ) -> None:
        seen: list[Any] = []
        bus.subscribe(PlayerSaved, seen.append)
        player = new_player()
        await layer.players.save_player(player)
        player.current_room_id = HALLWAY
        await layer.players.save_player(player)
        assert [type(e) for e in seen] == [PlayerSaved]


def _creds(url: str) -> dict[str, Any]:
    from persistence.config import database_credentials

    return database_credentials(url)


class SlowReads(BaseRepository):
    """Uses the repositories' read path with a statement slow enough to be killed mid-flight."""

    async def slow(self) -> int:
        rows = await self._statement("SELECT 42 AS answer FROM pg_sleep(0.5)", [])
        return int(rows[0]["answer"])


async def _terminate_when_running(conn: asyncpg.Connection, application: str) -> int:
    for _ in range(200):
        killed = await conn.fetchval(
            """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE application_name = $1 AND query LIKE '%pg_sleep(0.5)%'
                  AND state = 'active'""",
            application,
        )
        if killed:
            return int(killed)
        await asyncio.sleep(0.01)
    return 0


class TestRetry:
    @pytest.mark.parametrize("attempts", [3, 1])
    async def test_read_survives_its_connection_being_terminated(
        self,
        database_url: str,
        admin_conn: asyncpg.Connection,
        attempts: int,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        app = f"retry-test-{uuid.uuid4().hex[:8]}"
        settings = make_settings(database_url, application_name=app, retry_max_attempts=attempts)
        async with AsyncPersistenceLayer(settings) as layer:
            repo = SlowReads(db=layer.db, retry_policy=RetryPolicy.from_settings(settings))
            read = asyncio.create_task(repo.slow())
            with caplog.at_level(logging.WARNING):
                assert await _terminate_when_running(admin_conn, app) == 1
                if attempts == 1:
                    with pytest.raises(DatabaseUnavailableError) as info:
                        await read
                    assert info.value.__cause__ is not None
                else:
                    assert await read == 42
                    assert "retrying" in caplog.text
            # The layer serves again afterwards, without a restart.
            assert await layer.players.get_player_by_id(uuid.uuid4()) is None


class TestLifecycle:
    async def test_two_layers_in_one_process_share_the_database(
        self, layer: AsyncPersistenceLayer, database_url: str
    ) -> None:
        async with AsyncPersistenceLayer(make_settings(database_url)) as second:
            player = new_player("Shared")
            await layer.players.save_player(player)
            seen = await second.players.get_player_by_id(player.player_id)
            assert seen is not None
            seen.current_room_id = HALLWAY
            await second.players.save_player(seen)
        again = await layer.players.require_player(player.player_id)
        assert again.current_room_id == HALLWAY

    async def test_tasks_created_before_start_can_use_the_layer(
        self, clean_db: asyncpg.Connection, database_url: str
    ) -> None:
        ready = asyncio.Event()
        layer = AsyncPersistenceLayer(make_settings(database_url))

        async def early_task() -> list[Any]:
            await ready.wait()
            return await layer.players.list_players()

        task = asyncio.create_task(early_task())
        await layer.start()
        try:
            ready.set()
            assert await task == []
        finally:
            await layer.close()

    async def test_calls_before_start_or_after_close_are_typed_errors(
        self, database_url: str
    ) -> None:
        layer = AsyncPersistenceLayer(make_settings(database_url))
        with pytest.raises(ConfigurationError):
            await layer.players.get_player_by_id(uuid.uuid4())
        await layer.start()
        await layer.close()
        await layer.close()  # twice is fine
        with pytest.raises(ConfigurationError):
            await layer.players.list_players()

    async def test_unreachable_database_is_a_typed_error(self) -> None:
        settings = make_settings(
            "postgres://postgres@127.0.0.1:1/nothing", through_pooler=False, retry_max_attempts=1
        )
        with pytest.raises(PersistenceError) as info:
            async with AsyncPersistenceLayer(settings):
                pass
        assert isinstance(info.value, DatabaseUnavailableError)

    async def test_facade_delegates(self, world_layer: AsyncPersistenceLayer) -> None:
        player = new_player("Delegated")
        await world_layer.save_player(player)
        assert (await world_layer.get_player_by_id(player.player_id)) is not None
        assert (await world_layer.get_player_by_name("delegated")) is not None
        assert (await world_layer.get_player_by_user_id(player.user_id)) is not None
        assert [p.name for p in await world_layer.list_players()] == ["Delegated"]
        assert len(await world_layer.get_players_in_room(player.current_room_id)) == 1
        assert len(await world_layer.get_players_batch([player.player_id])) == 1
        await world_layer.update_player_last_active(player.player_id)
        assert await world_layer.validate_and_fix_player_room(player) is False
        assert len(world_layer.list_rooms()) == 8
        await world_layer.save_players([player])
        assert await world_layer.delete_player(player.player_id) is True


async def test_application_container_builds_one_layer_with_a_bus(
    clean_db: asyncpg.Connection, database_url: str
) -> None:
    container = ApplicationContainer(make_settings(database_url))
    assert isinstance(container.event_bus, InProcessEventBus)
    assert container.persistence.event_bus is container.event_bus
    seen: list[Any] = []
    container.event_bus.subscribe(PlayerCreated, seen.append)
    async with container:
        await container.persistence.players.save_player(new_player("Contained"))
    assert [e.name for e in seen] == ["Contained"]


class TestBoundedWaits:
    async def test_pool_wait_is_bounded_and_typed(self, database_url: str) -> None:
        settings = make_settings(
            database_url, pool_min_size=1, pool_max_size=1, pool_acquire_timeout=0.2
        )
        async with AsyncPersistenceLayer(settings) as layer:
            held = asyncio.Event()
            release = asyncio.Event()

            async def hold_the_only_connection() -> None:
                async with layer.transaction():
                    held.set()
                    await release.wait()

            holder = asyncio.create_task(hold_the_only_connection())
            await held.wait()
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(PoolExhaustedError) as info:
                await layer.players.get_player_by_id(uuid.uuid4())
            assert isinstance(info.value, TimeoutError)
            assert loop.time() - started < 5
            release.set()
            await holder
            assert await layer.players.get_player_by_id(uuid.uuid4()) is None

    async def test_statement_timeout_is_typed(self, database_url: str) -> None:
        settings = make_settings(
            database_url, through_pooler=False, statement_timeout=0.2, retry_max_attempts=1
        )
        async with AsyncPersistenceLayer(settings) as layer:
            repo = SlowReads(db=layer.db, retry_policy=RetryPolicy(1))
            with pytest.raises(OperationTimeoutError):
                await repo.slow()
            assert await layer.players.get_player_by_id(uuid.uuid4()) is None

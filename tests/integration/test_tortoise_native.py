"""The layer inside a game's own Tortoise: one pool, one transaction system, both nestings.

A game model (``tests.game.models.GameNote``) is written with the game's own model class
next to repository calls and Tortoise querysets on the package's models; every combination
of ``layer.transaction()`` and Tortoise's ``in_transaction()`` commits or rolls back as one
PostgreSQL transaction, and events go out only after the outermost COMMIT.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from tortoise.context import TortoiseContext
from tortoise.exceptions import IntegrityError
from tortoise.expressions import RawSQL
from tortoise.transactions import in_transaction

from persistence import APP_LABEL, AsyncPersistenceLayer, tortoise_app
from persistence.config import database_credentials
from persistence.errors import ConfigurationError, DuplicateError, TransactionAbortedError
from persistence.events import PlayerHPUpdated
from persistence.models.player import Player
from persistence.repositories import HealthRepository
from persistence.repositories.player import StatsKeysHold, StatsPatch
from tests.conftest import RecordingBus, make_settings
from tests.factories import HALLWAY, new_player
from tests.game.models import CREATE_TABLES, GameNote

pytestmark = pytest.mark.integration


class Boom(Exception):
    pass


def game_config(url: str, *, with_package: bool = True) -> dict[str, Any]:
    """A game's Tortoise config: its own app, plus the package's app under APP_LABEL."""
    apps: dict[str, Any] = {"game": {"models": ["tests.game.models"]}}
    if with_package:
        apps[APP_LABEL] = tortoise_app()
    return {
        "connections": {
            "default": {
                "engine": "tortoise.backends.asyncpg",
                "credentials": {**database_credentials(url), "minsize": 1, "maxsize": 4},
            }
        },
        "apps": apps,
    }


@pytest_asyncio.fixture(loop_scope="session")
async def game_db(clean_db: asyncpg.Connection) -> asyncpg.Connection:
    await clean_db.execute(CREATE_TABLES)
    await clean_db.execute("TRUNCATE game_notes")
    return clean_db


@pytest_asyncio.fixture(loop_scope="session")
async def game(game_db: asyncpg.Connection, database_url: str) -> AsyncIterator[TortoiseContext]:
    """The game's Tortoise, initialised the way a game does it (before the layer)."""
    async with TortoiseContext() as context:
        await context.init(config=game_config(database_url))
        yield context


async def _hp(conn: asyncpg.Connection, player_id: uuid.UUID) -> int:
    return int(
        await conn.fetchval(
            "SELECT (stats->>'current_health')::int FROM players WHERE player_id = $1", player_id
        )
    )


async def _notes(conn: asyncpg.Connection) -> list[str]:
    return [r["text"] for r in await conn.fetch("SELECT text FROM game_notes ORDER BY text")]


@pytest_asyncio.fixture(loop_scope="session")
async def attached(
    game: TortoiseContext, database_url: str, bus: RecordingBus
) -> AsyncIterator[AsyncPersistenceLayer]:
    with game:
        layer = AsyncPersistenceLayer(
            make_settings(database_url), connection="default", event_bus=bus
        )
        async with layer:
            yield layer


class TestAttaching:
    async def test_the_layer_opens_no_pool_and_leaves_tortoise_running(
        self, game: TortoiseContext, database_url: str, game_db: asyncpg.Connection
    ) -> None:
        settings = make_settings(database_url, application_name=f"mud-{uuid.uuid4().hex[:8]}")
        with game:
            client = game.connections.get("default")
            layer = AsyncPersistenceLayer(settings, connection="default")
            async with layer:
                assert layer.db.client() is client  # the game's own client object
                player = new_player("Attached")
                await layer.players.save_player(player)
                assert (await layer.players.require_player(player.player_id)).name == "Attached"
                ours = await game_db.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                    settings.application_name,
                )
                assert ours == 0  # every statement ran on the game's pool
            # close() neither closed Tortoise nor its pool: the game keeps working.
            await GameNote.create(text="after close")
            assert await Player.filter(name="Attached").count() == 1

    async def test_attached_through_a_pooler_the_listener_uses_the_games_login(
        self, game: TortoiseContext, database_url: str, game_db: asyncpg.Connection
    ) -> None:
        """Pooler mode attached: LISTEN goes direct, logged in as the game's connection."""
        await game_db.execute(
            "ALTER DATABASE "
            + await game_db.fetchval("SELECT quote_ident(current_database())")
            + " SET statement_timeout = 30000"
        )
        settings = make_settings(
            database_url,
            pooler="pgbouncer-transaction",
            migration_database_url=database_url,
            application_name=f"mud-{uuid.uuid4().hex[:8]}",
        ).model_copy(update={"database_url": None})  # attached: the game's connection only
        with game:
            async with AsyncPersistenceLayer(settings, connection="default") as layer:
                assert layer.db.listen_url() is not None
                listening = await game_db.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                    f"{settings.application_name}-listener",
                )
                assert listening == 1

    async def test_needs_an_initialised_tortoise(self, database_url: str) -> None:
        layer = AsyncPersistenceLayer(make_settings(database_url), connection="default")
        with TortoiseContext(), pytest.raises(ConfigurationError, match="not initialised"):
            await layer.start()

    async def test_needs_the_package_app(
        self, game_db: asyncpg.Connection, database_url: str
    ) -> None:
        async with TortoiseContext() as context:
            await context.init(config=game_config(database_url, with_package=False))
            layer = AsyncPersistenceLayer(make_settings(database_url), connection="default")
            with pytest.raises(ConfigurationError, match="tortoise_app"):
                await layer.start()

    async def test_unknown_connection_name(self, game: TortoiseContext, database_url: str) -> None:
        with game:
            layer = AsyncPersistenceLayer(make_settings(database_url), connection="replica")
            with pytest.raises(ConfigurationError, match="no connection named"):
                await layer.start()

    def test_apps_and_connection_are_exclusive(self, database_url: str) -> None:
        with pytest.raises(ConfigurationError):
            AsyncPersistenceLayer(
                make_settings(database_url), connection="default", apps={"game": {"models": []}}
            )


class TestOneTransactionSystem:
    async def _target(self, layer: AsyncPersistenceLayer) -> Player:
        player = new_player("Target")
        await layer.players.save_player(player)
        return await layer.players.require_player(player.player_id)

    async def test_layer_transaction_outer_rolls_back_the_games_rows(
        self, attached: AsyncPersistenceLayer, game_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        target = await self._target(attached)
        with pytest.raises(Boom):
            async with attached.transaction():
                await GameNote.create(text="game row")
                await attached.health.damage_player(target, 30, "claw")
                await Player.filter(player_id=target.player_id).update(current_room_id=HALLWAY)
                raise Boom
        assert await _notes(game_db) == []
        assert await _hp(game_db, target.player_id) == 100
        assert await game_db.fetchval("SELECT current_room_id FROM players") != HALLWAY
        assert bus.of(PlayerHPUpdated) == []

    async def test_in_transaction_outer_rolls_back_the_layers_calls(
        self, attached: AsyncPersistenceLayer, game_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        target = await self._target(attached)
        with pytest.raises(Boom):
            async with in_transaction("default"):
                await attached.health.damage_player(target, 30, "claw")
                await GameNote.create(text="game row")
                raise Boom
        assert await _notes(game_db) == []
        assert await _hp(game_db, target.player_id) == 100
        assert bus.of(PlayerHPUpdated) == []

    async def test_in_transaction_outer_commits_and_publishes_after_commit(
        self, attached: AsyncPersistenceLayer, game_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        target = await self._target(attached)
        async with in_transaction("default"):
            await attached.health.damage_player(target, 30, "claw")
            await GameNote.create(text="game row")
            assert bus.of(PlayerHPUpdated) == []  # not before COMMIT
        assert await _notes(game_db) == ["game row"]
        assert await _hp(game_db, target.player_id) == 70
        assert [e.new_hp for e in bus.of(PlayerHPUpdated)] == [70]

    async def test_in_transaction_nested_in_layer_transaction_is_a_savepoint(
        self, attached: AsyncPersistenceLayer, game_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        target = await self._target(attached)
        async with attached.transaction():
            await attached.health.damage_player(target, 10, "claw")
            await GameNote.create(text="outer")
            with pytest.raises(Boom):
                async with in_transaction("default"):
                    await attached.health.damage_player(target, 20, "fire")
                    await GameNote.create(text="inner")
                    raise Boom
        assert await _notes(game_db) == ["outer"]
        assert await _hp(game_db, target.player_id) == 90
        assert [e.reason for e in bus.of(PlayerHPUpdated)] == ["damage:claw"]

    async def test_layer_transaction_nested_in_in_transaction_is_a_savepoint(
        self, attached: AsyncPersistenceLayer, game_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        target = await self._target(attached)
        async with in_transaction("default"):
            await GameNote.create(text="outer")
            with pytest.raises(Boom):
                async with attached.transaction():
                    await attached.health.damage_player(target, 20, "fire")
                    await GameNote.create(text="inner")
                    raise Boom
            await attached.health.damage_player(target, 10, "claw")
            assert bus.of(PlayerHPUpdated) == []
        assert await _notes(game_db) == ["outer"]
        assert await _hp(game_db, target.player_id) == 90
        assert [e.reason for e in bus.of(PlayerHPUpdated)] == ["damage:claw"]

    async def test_outer_rollback_drops_a_committed_savepoints_events(
        self, attached: AsyncPersistenceLayer, game_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        target = await self._target(attached)
        with pytest.raises(Boom):
            async with in_transaction("default"):
                async with attached.transaction():
                    await attached.health.damage_player(target, 20, "fire")
                raise Boom
        assert await _hp(game_db, target.player_id) == 100
        assert bus.of(PlayerHPUpdated) == []

    async def test_a_caught_failure_of_the_games_own_statement_cannot_look_committed(
        self, attached: AsyncPersistenceLayer, game_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        target = await self._target(attached)
        await GameNote.create(text="taken")
        with pytest.raises(TransactionAbortedError):
            async with attached.transaction():
                await attached.health.damage_player(target, 30, "claw")
                with contextlib.suppress(IntegrityError):
                    await GameNote.create(text="taken")  # the game's own failing statement
        assert await _hp(game_db, target.player_id) == 100
        assert bus.of(PlayerHPUpdated) == []
        # The same under Tortoise's own block.
        with pytest.raises(TransactionAbortedError):
            async with in_transaction("default"):
                await attached.health.damage_player(target, 30, "claw")
                with contextlib.suppress(IntegrityError):
                    await GameNote.create(text="taken")
        assert await _hp(game_db, target.player_id) == 100
        assert bus.of(PlayerHPUpdated) == []

    async def test_a_caught_repository_error_under_in_transaction_keeps_the_rest(
        self, attached: AsyncPersistenceLayer, game_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        target = await self._target(attached)
        await attached.players.save_player(new_player("Taken"))
        async with in_transaction("default"):
            await attached.health.damage_player(target, 30, "claw")
            with pytest.raises(DuplicateError):
                await attached.players.save_player(new_player("TAKEN"))
            await GameNote.create(text="after the error")
        assert await _hp(game_db, target.player_id) == 70
        assert await _notes(game_db) == ["after the error"]
        assert [e.new_hp for e in bus.of(PlayerHPUpdated)] == [70]

    async def test_repositories_built_alone_join_the_games_transaction(
        self, game: TortoiseContext, game_db: asyncpg.Connection, database_url: str
    ) -> None:
        """No layer at all: the design's ``HealthRepository(event_bus=bus)`` in a game."""
        bus = RecordingBus()
        with game:
            player = new_player("Alone")
            await Player.create(
                player_id=player.player_id,
                user_id=player.user_id,
                name=player.name,
                current_room_id=player.current_room_id,
            )
            health = HealthRepository(event_bus=bus)
            with pytest.raises(Boom):
                async with in_transaction("default"):
                    await health.update_player_health(player.player_id, -25)
                    raise Boom
            assert bus.published == []
            async with in_transaction("default"):
                assert await health.update_player_health(player.player_id, -25) == 75
                assert bus.published == []
        assert await _hp(game_db, player.player_id) == 75
        assert [e.new_hp for e in bus.of(PlayerHPUpdated)] == [75]


class TestLayerRunningTortoiseForTheGame:
    async def test_game_apps_share_the_layers_pool_and_transactions(
        self, game_db: asyncpg.Connection, database_url: str, bus: RecordingBus
    ) -> None:
        layer = AsyncPersistenceLayer(
            make_settings(database_url),
            apps={"game": {"models": ["tests.game.models"]}},
            event_bus=bus,
        )
        async with layer:
            player = new_player("Owned")
            await layer.players.save_player(player)
            loaded = await layer.players.require_player(player.player_id)
            with pytest.raises(Boom):
                async with in_transaction():
                    await GameNote.create(text="rolled back")
                    await layer.health.damage_player(loaded, 40)
                    raise Boom
            async with layer.transaction():
                await GameNote.create(text="kept")
                await layer.health.damage_player(loaded, 10)
            assert await GameNote.all().count() == 1
        assert await _notes(game_db) == ["kept"]
        assert await _hp(game_db, player.player_id) == 90
        assert [e.new_hp for e in bus.of(PlayerHPUpdated)] == [90]


class TestJsonbUpdateExpressions:
    """Tortoise 1.1.9 JSON-encodes a RawSQL given to ``update()`` of a JSONField; an
    ``Expression`` subclass (``StatsPatch``) is resolved into SQL with bound values."""

    async def test_rawsql_in_update_of_a_jsonfield_is_json_encoded_not_inlined(
        self, layer: AsyncPersistenceLayer
    ) -> None:
        player = new_player("Raw")
        await layer.players.save_player(player)
        with layer.db.activate(), pytest.raises(TypeError, match="not JSON serializable"):
            await Player.filter(player_id=player.player_id).update(
                stats=RawSQL("jsonb_set(stats, '{fear}', '5')")
            )

    async def test_stats_patch_is_sql_with_bound_values(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player("Patched")
        await layer.players.save_player(player)
        with layer.db.activate():
            query = Player.filter(player_id=player.player_id).update(
                stats=StatsPatch({"fear": 5, "custom": "x"}, ["position"])
            )
            sql = query.sql()
            assert '"stats"=(("stats" - CAST($1 AS TEXT[])) || CAST($2 AS JSONB))' in sql
            assert "custom" not in sql  # values are parameters
            assert "fear" not in sql
            assert await query == 1
        stats = json.loads(await clean_db.fetchval("SELECT stats::text FROM players"))
        assert (stats["fear"], stats["custom"]) == (5, "x")
        assert "position" not in stats
        assert stats["current_health"] == 100  # untouched keys stay

    async def test_stats_keys_hold_filters_an_update(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player("Guarded")
        await layer.players.save_player(player)
        with layer.db.activate():

            def guarded(expected: int) -> Any:
                return (
                    Player.filter(player_id=player.player_id)
                    .annotate(ok=StatsKeysHold({"fear": expected}, {"fear": 9}))
                    .filter(ok=True)
                    .update(stats=StatsPatch({"fear": 9}, []))
                )

            assert await guarded(3) == 0  # fear is 0, not 3: nothing written
            assert await guarded(0) == 1
            assert await guarded(0) == 1  # already the new value: a repeat passes
        assert await clean_db.fetchval("SELECT (stats->>'fear')::int FROM players") == 9

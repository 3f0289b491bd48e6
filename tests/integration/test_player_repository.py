"""PlayerRepository on a real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from persistence.errors import DuplicateError, NotFoundError, PlayerDeletedError, ValidationError
from persistence.events import PlayerCreated, PlayerDeleted, PlayerRoomFixed, PlayerSaved
from persistence.facade import AsyncPersistenceLayer
from persistence.models.player import TRACKED_COLUMNS, Player
from persistence.repositories.player import PlayerRepository
from persistence.repositories.room import RoomRepository
from persistence.retry import RetryPolicy
from tests.conftest import RecordingBus
from tests.factories import FOYER, HALLWAY, new_player

pytestmark = pytest.mark.integration


_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def count_queries(layer: AsyncPersistenceLayer, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every data statement sent on any asyncpg connection (queries of Tortoise
    querysets and hand-written statements alike; transaction control is left out)."""
    sent: list[str] = []
    for name in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
        original: Callable[..., Any] = getattr(asyncpg.Connection, name)

        async def spy(
            self: Any, query: str, *args: Any, _original: Any = original, **kw: Any
        ) -> Any:
            if not query.lstrip().upper().startswith(_CONTROL):
                sent.append(query)
            return await _original(self, query, *args, **kw)

        monkeypatch.setattr(asyncpg.Connection, name, spy)
    return sent


class TestReads:
    async def test_save_then_read_back_every_field(
        self, layer: AsyncPersistenceLayer, bus: RecordingBus
    ) -> None:
        player = new_player("Armitage", is_admin=True, respawn_room_id=HALLWAY)
        player.stats.strength = 77
        await layer.players.save_player(player)
        loaded = await layer.players.get_player_by_id(player.player_id)
        assert isinstance(loaded, Player)
        assert loaded.name == "Armitage"
        assert loaded.user_id == player.user_id
        assert (loaded.current_room_id, loaded.respawn_room_id) == (FOYER, HALLWAY)
        assert loaded.is_admin is True
        assert loaded.stats.strength == 77
        assert loaded.get_stats() == player.get_stats()
        assert (loaded.experience_points, loaded.level) == (0, 1)
        assert loaded.created_at.tzinfo is not None
        assert [type(e) for e in bus.published] == [PlayerCreated]

    async def test_missing_player_is_none_and_require_raises(
        self, layer: AsyncPersistenceLayer
    ) -> None:
        missing = uuid.uuid4()
        assert await layer.players.get_player_by_id(missing) is None
        assert await layer.players.get_player_by_id(str(missing)) is None
        with pytest.raises(NotFoundError):
            await layer.players.require_player(missing)

    @pytest.mark.parametrize("bad", ["not-a-uuid", 42, None, b"bytes"])
    async def test_malformed_ids_are_refused_before_sql(
        self, layer: AsyncPersistenceLayer, bad: Any
    ) -> None:
        with pytest.raises(ValidationError):
            await layer.players.get_player_by_id(bad)

    async def test_name_lookup_ignores_case(self, layer: AsyncPersistenceLayer) -> None:
        await layer.players.save_player(new_player("Wilbur Whateley"))
        for spelling in ("wilbur whateley", "WILBUR WHATELEY", "WiLbUr WhAtElEy"):
            found = await layer.players.get_player_by_name(spelling)
            assert found is not None
            assert found.name == "Wilbur Whateley"
        assert await layer.players.get_player_by_name("Wilbur") is None

    async def test_user_id_returns_the_oldest_character(self, layer: AsyncPersistenceLayer) -> None:
        account = uuid.uuid4()
        old = new_player("Older", user_id=account, created_at=datetime.now(UTC) - timedelta(days=1))
        young = new_player("Younger", user_id=account)
        await layer.players.save_players([young, old])
        found = await layer.players.get_player_by_user_id(account)
        assert found is not None
        assert found.name == "Older"
        assert await layer.players.get_player_by_user_id(uuid.uuid4()) is None

    async def test_list_and_room_queries(self, layer: AsyncPersistenceLayer) -> None:
        await layer.players.save_players(
            [
                new_player("Carter", current_room_id=HALLWAY),
                new_player("armitage"),
                new_player("Blake"),
            ]
        )
        assert [p.name for p in await layer.players.list_players()] == [
            "armitage",
            "Blake",
            "Carter",
        ]
        assert [p.name for p in await layer.players.list_players(limit=1, offset=1)] == ["Blake"]
        assert [p.name for p in await layer.players.get_players_in_room(FOYER)] == [
            "armitage",
            "Blake",
        ]
        assert await layer.players.get_players_in_room("nowhere") == []

    async def test_batch_is_one_query_in_request_order(
        self, layer: AsyncPersistenceLayer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        players = [new_player() for _ in range(5)]
        await layer.players.save_players(players)
        sent = count_queries(layer, monkeypatch)
        wanted = [players[3].player_id, uuid.uuid4(), players[0].player_id, players[3].player_id]
        found = await layer.players.get_players_batch(wanted)
        assert [p.player_id for p in found] == [players[3].player_id, players[0].player_id]
        assert len(sent) == 1
        assert await layer.players.get_players_batch([]) == []
        assert len(sent) == 1  # the empty batch made no query


class TestSaves:
    async def test_second_name_differing_only_in_case_is_a_duplicate(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        await layer.players.save_player(new_player("Lavinia"))
        with pytest.raises(DuplicateError) as info:
            await layer.players.save_player(new_player("LAVINIA"))
        assert info.value.__cause__ is not None
        assert info.value.constraint == "players_name_lower_key"
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 1

    async def test_save_players_upserts_one_thousand_in_one_statement(
        self,
        layer: AsyncPersistenceLayer,
        clean_db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        players = [new_player(f"bulk_{i:04d}") for i in range(1000)]
        sent = count_queries(layer, monkeypatch)
        await layer.players.save_players(players)
        assert len(sent) == 1
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 1000

        loaded = await layer.players.list_players()
        for i, player in enumerate(loaded):
            player.current_room_id = HALLWAY
            player.stats.strength = 1 + i % 100
        sent.clear()
        await layer.players.save_players(loaded)
        assert len(sent) == 1
        rows = await clean_db.fetch(
            "SELECT name, current_room_id, (stats->>'strength')::int AS s"
            " FROM players ORDER BY name"
        )
        assert all(r["current_room_id"] == HALLWAY for r in rows)
        assert [r["s"] for r in rows] == [1 + i % 100 for i in range(1000)]

    async def test_unchanged_players_make_no_query(
        self, layer: AsyncPersistenceLayer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await layer.players.save_player(new_player("Still"))
        loaded = await layer.players.get_player_by_name("still")
        assert loaded is not None
        sent = count_queries(layer, monkeypatch)
        await layer.players.save_player(loaded)
        assert sent == []

    async def test_save_of_a_loaded_player_whose_row_was_deleted_raises(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        await layer.players.save_player(new_player("Phoenix"))
        loaded = await layer.players.get_player_by_name("Phoenix")
        assert loaded is not None
        await clean_db.execute("DELETE FROM players")
        loaded.current_room_id = HALLWAY
        with pytest.raises(PlayerDeletedError):
            await layer.players.save_player(loaded)
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 0
        await layer.players.recreate_player(loaded)  # only on purpose
        assert await clean_db.fetchval("SELECT current_room_id FROM players") == HALLWAY

    @pytest.mark.parametrize(
        "change",
        [
            {"name": ""},
            {"name": "x" * 51},
            {"experience_points": -1},
            {"level": 0},
            {"current_room_id": ""},
        ],
    )
    async def test_invalid_players_are_refused_before_sql(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, change: dict[str, Any]
    ) -> None:
        player = new_player()
        for key, value in change.items():
            setattr(player, key, value)
        with pytest.raises(ValidationError):
            await layer.players.save_player(player)
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 0

    async def test_health_below_the_floor_is_refused(self, layer: AsyncPersistenceLayer) -> None:
        player = new_player()
        player.stats.current_health = -1
        with pytest.raises(ValidationError):
            await layer.players.save_player(player)

    async def test_delete(
        self, layer: AsyncPersistenceLayer, bus: RecordingBus, clean_db: asyncpg.Connection
    ) -> None:
        player = new_player()
        await layer.players.save_player(player)
        assert await layer.players.delete_player(player.player_id) is True
        assert await layer.players.delete_player(player.player_id) is False
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 0
        (deleted,) = bus.of(PlayerDeleted)
        assert deleted == PlayerDeleted(
            player_id=player.player_id,
            occurred_at=deleted.occurred_at,
            event_id=deleted.event_id,
        )

    async def test_last_active(self, layer: AsyncPersistenceLayer) -> None:
        player = new_player()
        await layer.players.save_player(player)
        when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert await layer.players.update_player_last_active(player.player_id, when) == when
        before = datetime.now(UTC)
        stored = await layer.players.update_player_last_active(player.player_id)
        assert stored >= before - timedelta(seconds=1)
        with pytest.raises(NotFoundError):
            await layer.players.update_player_last_active(uuid.uuid4())


class TestRoomFix:
    async def test_player_in_a_missing_room_moves_to_the_fallback_and_it_persists(
        self, world_layer: AsyncPersistenceLayer, bus: RecordingBus, clean_db: asyncpg.Connection
    ) -> None:
        lost = new_player("Lost", current_room_id="earth_nowhere_void_room_001")
        fine = new_player("Fine", current_room_id=HALLWAY)
        await world_layer.players.save_players([lost, fine])
        assert await world_layer.players.validate_and_fix_player_room(lost) is True
        assert lost.current_room_id == FOYER
        assert await world_layer.players.validate_and_fix_player_room(fine) is False
        rows = dict(await clean_db.fetch("SELECT name, current_room_id FROM players"))
        assert rows == {"Lost": FOYER, "Fine": HALLWAY}
        assert bus.of(PlayerRoomFixed)[0].old_room_id == "earth_nowhere_void_room_001"

    async def test_empty_cache_changes_nothing(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        assert layer.rooms.loaded
        assert layer.rooms.size == 0
        player = new_player(current_room_id="earth_nowhere_void_room_001")
        await layer.players.save_player(player)
        assert await layer.players.validate_and_fix_player_room(player) is False
        assert player.current_room_id == "earth_nowhere_void_room_001"
        stored = await clean_db.fetchval("SELECT current_room_id FROM players")
        assert stored == "earth_nowhere_void_room_001"

    async def test_unloaded_cache_changes_nothing(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        unloaded = RoomRepository(db=world_layer.db)
        repo = PlayerRepository(unloaded.cache, db=world_layer.db, retry_policy=RetryPolicy())
        player = new_player(current_room_id="earth_nowhere_void_room_001")
        await repo.save_player(player)
        assert await repo.validate_and_fix_player_room(player) is False
        stored = await clean_db.fetchval("SELECT current_room_id FROM players")
        assert stored == "earth_nowhere_void_room_001"


async def test_saved_event_names_the_written_fields(
    layer: AsyncPersistenceLayer, bus: RecordingBus
) -> None:
    await layer.players.save_player(new_player("Evented"))
    loaded = await layer.players.get_player_by_name("Evented")
    assert loaded is not None
    loaded.current_room_id = HALLWAY
    loaded.stats.fear = 5
    await layer.players.save_player(loaded)
    saved = bus.of(PlayerSaved)
    assert [e.fields for e in saved] == [("current_room_id", "stats.fear")]


class TestRowBuilder:
    """Player._init_from_db is Tortoise's builder made cheaper; the result must be the same."""

    async def test_builds_what_tortoises_own_builder_builds(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        from tortoise.models import Model

        from persistence.repositories.player import PLAYER_COLUMNS

        player = new_player("Built", respawn_room_id=HALLWAY, profession_id=None)
        player.stats.fear = 12
        await layer.players.save_player(player)
        row = await clean_db.fetchrow(f"SELECT {PLAYER_COLUMNS} FROM players")
        with layer.db.activate():
            ours = Player._init_from_db(**row)
            theirs = Model._init_from_db.__func__(Player, **row)  # type: ignore[attr-defined]
        mine = {k: v for k, v in vars(ours).items() if k != "_persisted"}
        assert mine == vars(theirs)
        assert ours.persisted_values() == {
            **{c: getattr(theirs, c) for c in TRACKED_COLUMNS if c != "stats"},
            "stats": theirs.stats.model_dump(),
        }

    async def test_partial_rows_take_tortoises_path(self, layer: AsyncPersistenceLayer) -> None:
        await layer.players.save_player(new_player("Partial"))
        with layer.db.activate():
            partial = await Player.all().only("player_id", "name").first()
        assert partial is not None
        assert partial.name == "Partial"
        assert partial._partial

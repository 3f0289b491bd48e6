"""RoomRepository (the cache), the world loader, and ProfessionRepository."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from persistence.errors import ConfigurationError, ValidationError
from persistence.facade import AsyncPersistenceLayer
from persistence.models.profession import Profession
from persistence.models.room import Room
from persistence.world import read_world, sample_world_path
from tests.conftest import make_settings
from tests.factories import FOYER, HALLWAY
from tests.integration.test_player_repository import count_queries

pytestmark = pytest.mark.integration


class TestRoomCache:
    async def test_rooms_are_served_from_memory_only(
        self,
        world_layer: AsyncPersistenceLayer,
        clean_db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        await clean_db.execute("DELETE FROM rooms")
        sent = count_queries(world_layer, monkeypatch)
        foyer = world_layer.rooms.get_room_by_id(FOYER)
        assert isinstance(foyer, Room)
        assert foyer.exits["north"] == HALLWAY
        assert world_layer.get_room_by_id("nope") is None
        assert len(world_layer.rooms.list_rooms()) == world_layer.rooms.size == 8
        assert sent == []

    async def test_start_loads_the_cache_in_one_query_and_reload_refreshes_it(
        self,
        world_layer: AsyncPersistenceLayer,
        clean_db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        async with AsyncPersistenceLayer(make_settings(world_layer.url)) as fresh:
            assert fresh.rooms.size == 8
        await clean_db.execute(
            "INSERT INTO rooms (room_id, name, plane, zone, sub_zone)"
            " VALUES ('earth_arkhamcity_extra_room_001', 'Extra', 'earth', 'arkhamcity', 'x')"
        )
        assert world_layer.rooms.get_room_by_id("earth_arkhamcity_extra_room_001") is None
        sent = count_queries(world_layer, monkeypatch)
        assert await world_layer.reload_rooms() == 9
        assert len(sent) == 2  # the rooms in one query, and the other processes told
        assert 'FROM "rooms"' in sent[0]
        assert "pg_notify" in sent[1]
        assert world_layer.rooms.get_room_by_id("earth_arkhamcity_extra_room_001") is not None

    async def test_missing_fallback_room_is_a_configuration_error_at_start(
        self, world_layer: AsyncPersistenceLayer
    ) -> None:
        settings = make_settings(world_layer.url, fallback_room_id="earth_missing_room_001")
        with pytest.raises(ConfigurationError, match="earth_missing_room_001"):
            await AsyncPersistenceLayer(settings).start()


class TestWorldLoader:
    def test_sample_world_is_consistent(self) -> None:
        rooms, professions, prototypes = read_world(sample_world_path())
        assert FOYER in {r.room_id for r in rooms}
        assert {p.id for p in professions} >= {0, 1}
        assert {"weapon.knife", "coin.silver"} <= {p.prototype_id for p in prototypes}

    async def test_loading_twice_changes_nothing(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        before = await clean_db.fetch("SELECT * FROM rooms ORDER BY room_id")
        result = await world_layer.seed_world()
        assert (result.rooms, result.professions) == (8, 5)
        assert await clean_db.fetch("SELECT * FROM rooms ORDER BY room_id") == before

    async def test_a_bad_world_changes_nothing(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, tmp_path: Path
    ) -> None:
        rooms = json.loads((sample_world_path() / "rooms.json").read_text())
        rooms[0]["exits"]["up"] = "earth_nowhere_room_404"
        (tmp_path / "rooms.json").write_text(json.dumps(rooms))
        with pytest.raises(ValidationError, match="earth_nowhere_room_404"):
            await layer.seed_world(tmp_path)
        (tmp_path / "rooms.json").write_text('[{"room_id": "Bad Id!"}]')
        with pytest.raises(ValidationError):
            await layer.seed_world(tmp_path)
        assert await clean_db.fetchval("SELECT count(*) FROM rooms") == 0


class TestProfessions:
    async def test_available_ones_ordered_by_id(self, world_layer: AsyncPersistenceLayer) -> None:
        professions = await world_layer.professions.get_all_professions()
        assert all(isinstance(p, Profession) for p in professions)
        assert [p.id for p in professions] == [0, 1, 2, 3]
        assert all(p.is_available for p in professions)
        everything = await world_layer.get_all_professions(include_unavailable=True)
        assert [p.id for p in everything] == [0, 1, 2, 3, 4]
        assert [p.id for p in await world_layer.get_professions()] == [0, 1, 2, 3]

    async def test_by_id(self, world_layer: AsyncPersistenceLayer) -> None:
        scholar = await world_layer.professions.get_profession_by_id(2)
        assert scholar is not None
        assert scholar.name == "Scholar"
        assert scholar.stat_requirements == {"intelligence": 60}
        unavailable = await world_layer.get_profession_by_id(4)
        assert unavailable is not None
        assert unavailable.is_available is False
        assert await world_layer.professions.get_profession_by_id(99) is None
        assert await world_layer.professions.get_profession_by_id(2**40) is None
        with pytest.raises(ValidationError):
            await world_layer.professions.get_profession_by_id("2")  # type: ignore[arg-type]

    async def test_player_profession_foreign_key(self, world_layer: AsyncPersistenceLayer) -> None:
        from persistence.errors import ForeignKeyError
        from tests.factories import new_player

        player = new_player(profession_id=2)
        await world_layer.players.save_player(player)
        loaded = await world_layer.players.require_player(player.player_id)
        assert loaded.profession_id == 2
        with pytest.raises(ForeignKeyError):
            await world_layer.players.save_player(new_player(profession_id=77))

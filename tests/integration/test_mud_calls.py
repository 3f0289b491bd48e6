"""The calls every MUD writes (issue 13, point 6), on real PostgreSQL, under concurrency.

HP changes that say whether they killed, get-or-create by name, moving through exits, fixed
containers that are never reset, a room's scene in one round trip, and death to corpse
exactly once.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest

from persistence.errors import (
    DuplicateError,
    NoExitError,
    NotFoundError,
    PlayerDeletedError,
    StaleDataError,
    ValidationError,
)
from persistence.events import PlayerHPUpdated, PlayerMoved, PlayerRowCorrupt
from persistence.facade import AsyncPersistenceLayer
from persistence.repositories.health import HealthChange
from persistence.repositories.room import RoomScene
from tests.conftest import RecordingBus
from tests.factories import FOYER, HALLWAY, new_player

pytestmark = pytest.mark.integration

COURTYARD = "earth_arkhamcity_sanitarium_room_courtyard_001"


async def _player(layer: AsyncPersistenceLayer, hp: int = 100, **fields: Any) -> uuid.UUID:
    player = new_player(stats={"current_health": hp}, **fields)
    await layer.players.save_player(player)
    return player.player_id


async def _hp(conn: asyncpg.Connection, pid: uuid.UUID) -> int:
    text = await conn.fetchval("SELECT stats::text FROM players WHERE player_id = $1", pid)
    return int(json.loads(text)["current_health"])


class TestHealthChangesSayWhatHappened:
    async def test_of_concurrent_killing_blows_exactly_one_died(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        """The int API cannot tell two killing blows apart (both return 0); died can."""
        victims = [await _player(layer, hp=10) for _ in range(12)]
        blows = [layer.health.change_health(pid, -10, "blow") for pid in victims for _ in range(4)]
        changes = await asyncio.gather(*blows)
        for pid in victims:
            mine = [c for c in changes if c.player_id == pid]
            assert [c.died for c in mine].count(True) == 1
            killer = next(c for c in mine if c.died)
            assert (killer.old_hp, killer.new_hp, killer.max_hp) == (10, 0, 100)
            assert all((c.old_hp, c.new_hp) == (0, 0) for c in mine if not c.died)
            assert await _hp(clean_db, pid) == 0
        assert len({c.change_id for c in changes}) == len(changes)

    async def test_batches_report_died_per_player_under_overlap(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        victims = [await _player(layer, hp=30) for _ in range(10)]
        ticks = [
            layer.health.change_health_batch({pid: -20 for pid in victims}, "area")
            for _ in range(5)
        ]
        results = await asyncio.gather(*ticks)
        for pid in victims:
            died = [r[pid].died for r in results]
            assert died.count(True) == 1
            assert sorted((r[pid].old_hp, r[pid].new_hp) for r in results) == [
                (0, 0),
                (0, 0),
                (0, 0),
                (10, 0),
                (30, 10),
            ]
            assert await _hp(clean_db, pid) == 0

    async def test_the_floor_decides_and_healing_never_dies(
        self, layer: AsyncPersistenceLayer
    ) -> None:
        pid = await _player(layer, hp=5)
        assert not (await layer.health.change_health(pid, 0)).died  # 5 -> 5
        change = await layer.health.change_health(pid, -5)
        assert change.died
        assert change.applied == -5
        assert change.floor == 0
        assert not (await layer.health.change_health(pid, -5)).died  # already at the floor
        assert not (await layer.health.change_health(pid, +50)).died

    async def test_an_op_id_replay_returns_the_same_death(
        self, layer: AsyncPersistenceLayer, bus: RecordingBus
    ) -> None:
        pid = await _player(layer, hp=10)
        first = await layer.health.change_health(pid, -15, "blow", op_id="kill-1")
        again = await layer.health.change_health(pid, -15, "blow", op_id="kill-1")
        assert first == again
        assert first.died
        assert first.new_hp == 0
        hp_events = bus.of(PlayerHPUpdated)
        assert [(e.new_hp, e.died) for e in hp_events] == [(0, True)]

    async def test_a_loaded_player_is_refreshed_and_the_int_methods_still_work(
        self, layer: AsyncPersistenceLayer
    ) -> None:
        pid = await _player(layer, hp=50)
        player = await layer.players.require_player(pid)
        change = await layer.change_health(player, -20, "trap")
        assert isinstance(change, HealthChange)
        assert player.stats.current_health == 30
        assert await layer.damage_player(player, 10) == 20
        assert await layer.heal_player(player, 5) == 25
        assert await layer.update_player_health(pid, -25) == 0
        assert await layer.health.apply_health_deltas({pid: 7}) == {pid: 7}

    async def test_bad_input_is_refused_before_sql(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        pid = await _player(layer, hp=50)
        for delta in (1.5, "3", True, None, 10**30):
            with pytest.raises(ValidationError):
                await layer.health.change_health(pid, delta)  # type: ignore[arg-type]
        with pytest.raises(NotFoundError):
            await layer.health.change_health(uuid.uuid4(), -1)
        with pytest.raises(NotFoundError):
            await layer.health.change_health_batch({pid: -1, uuid.uuid4(): -1})
        assert await _hp(clean_db, pid) == 50


class TestGetOrCreatePlayer:
    async def test_concurrent_callers_get_one_player(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        results = await asyncio.gather(
            *(layer.get_or_create_player("Wilbur") for _ in range(20)),
            *(layer.get_or_create_player("wILBUR") for _ in range(5)),
        )
        assert sum(created for _, created in results) == 1
        assert len({p.player_id for p, _ in results}) == 1
        rows = await clean_db.fetch("SELECT name, current_room_id, user_id FROM players")
        assert len(rows) == 1  # whichever spelling got there first
        assert (rows[0]["name"].lower(), rows[0]["current_room_id"]) == ("wilbur", FOYER)
        assert isinstance(rows[0]["user_id"], uuid.UUID)

    async def test_an_account_keeps_its_names(self, world_layer: AsyncPersistenceLayer) -> None:
        layer = world_layer
        account = uuid.uuid4()
        mine, created = await layer.get_or_create_player(
            "Lavinia", user_id=account, room_id=HALLWAY, profession_id=0
        )
        assert created
        assert mine.user_id == account
        assert mine.current_room_id == HALLWAY
        again, created = await layer.get_or_create_player("lavinia", user_id=str(account))
        assert not created
        assert again.player_id == mine.player_id
        with pytest.raises(DuplicateError):
            await layer.get_or_create_player("Lavinia", user_id=uuid.uuid4())
        anyone, created = await layer.get_or_create_player("Lavinia")
        assert not created
        assert anyone.player_id == mine.player_id

    async def test_bad_names_are_refused_and_a_rollback_keeps_nothing(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        for name in ("", "   ", "x" * 51, "\u0410rmitage", 7):  # a Cyrillic A
            with pytest.raises(ValidationError):
                await layer.get_or_create_player(name)  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            await layer.get_or_create_player("Ok", user_id="not-a-uuid")
        with pytest.raises(RuntimeError):
            async with layer.transaction():
                _, created = await layer.get_or_create_player("Ghost")
                assert created
                raise RuntimeError("the game's own failure")
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 0

    async def test_a_new_player_starts_in_a_room_that_exists(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        with pytest.raises(NotFoundError) as info:
            await layer.get_or_create_player("Nowhere Man", room_id="earth_no_such_room_001")
        assert info.value.entity == "room"
        assert await clean_db.fetchval("SELECT count(*) FROM players") == 0
        instanced, created = await layer.get_or_create_player(
            "Instanced",
            room_id="instance_crypt_7",  # made at run time: not "missing"
        )
        assert created
        assert instanced.current_room_id == "instance_crypt_7"
        # An existing player is returned wherever the caller would have started a new one.
        again, created = await layer.get_or_create_player(
            "instanced", room_id="earth_no_such_room_001"
        )
        assert not created
        assert again.player_id == instanced.player_id


class TestMovePlayer:
    async def test_a_move_goes_through_the_exit_in_one_update(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        layer = world_layer
        pid = await _player(layer)
        player = await layer.players.require_player(pid)
        room = await layer.move_player(player, "north")
        assert room.room_id == HALLWAY
        assert player.current_room_id == HALLWAY
        assert (
            await clean_db.fetchval("SELECT current_room_id FROM players WHERE player_id = $1", pid)
            == HALLWAY
        )
        assert bus.of(PlayerMoved)[-1].to_room_id == HALLWAY
        player.stats.strength = 77  # an unsaved change survives the move, and saves
        await layer.save_player(player)
        fresh = await layer.players.require_player(pid)
        assert (fresh.current_room_id, fresh.stats.strength) == (HALLWAY, 77)

    async def test_no_exit_is_a_typed_error_and_nothing_moves(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        pid = await _player(layer)
        player = await layer.players.require_player(pid)
        with pytest.raises(NoExitError) as info:
            await layer.move_player(player, "up")
        assert "north" in info.value.exits
        assert info.value.room_id == FOYER
        for odd in ("", None, 3, "north\x00"):
            with pytest.raises(ValidationError):
                await layer.move_player(player, odd)  # type: ignore[arg-type]
        lost = new_player(current_room_id="instance_42")
        with pytest.raises(NoExitError):
            await layer.move_player(lost, "north")
        assert (
            await clean_db.fetchval("SELECT current_room_id FROM players WHERE player_id = $1", pid)
            == FOYER
        )

    async def test_concurrent_moves_of_one_player_apply_once(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        for _ in range(10):
            pid = await _player(layer)
            copies = [await layer.players.require_player(pid) for _ in range(2)]
            outcomes = await asyncio.gather(
                layer.move_player(copies[0], "north"),
                layer.move_player(copies[1], "south"),
                return_exceptions=True,
            )
            won = [o for o in outcomes if not isinstance(o, BaseException)]
            lost = [o for o in outcomes if isinstance(o, BaseException)]
            assert len(won) == 1
            assert len(lost) == 1
            assert isinstance(lost[0], StaleDataError)
            stored = await clean_db.fetchval(
                "SELECT current_room_id FROM players WHERE player_id = $1", pid
            )
            assert stored == won[0].room_id
            assert {c.current_room_id for c in copies} == {stored}  # the loser learnt it

    async def test_a_deleted_player_does_not_move(self, world_layer: AsyncPersistenceLayer) -> None:
        layer = world_layer
        pid = await _player(layer)
        player = await layer.players.require_player(pid)
        await layer.delete_player(pid)
        with pytest.raises(PlayerDeletedError):
            await layer.move_player(player, "north")


class TestEnsureContainer:
    async def test_created_once_under_concurrency_and_never_reset(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        chest = uuid.uuid4()
        loot = [{"item_instance_id": f"coin-{n}", "prototype_id": "coin"} for n in range(3)]
        results = await asyncio.gather(
            *(
                layer.ensure_container(chest, "environment", room_id=FOYER, items=loot)
                for _ in range(12)
            )
        )
        assert sum(created for _, created in results) == 1
        assert all(len(c.items) == 3 for c, _ in results)
        pid = await _player(layer)
        await layer.items.transfer_items(
            ["coin-0", "coin-1"], from_owner=("container", chest), to_owner=("player", pid)
        )
        await layer.containers.update_container(chest, lock_state="locked")
        again, created = await layer.ensure_container(
            chest, "environment", room_id=FOYER, items=loot
        )
        assert not created
        assert [i.item_instance_id for i in again.items] == ["coin-2"]
        assert again.lock_state == "locked"
        assert await clean_db.fetchval("SELECT count(*) FROM item_instances") == 3
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 1

    async def test_another_kind_of_container_with_the_id_is_refused(
        self, world_layer: AsyncPersistenceLayer
    ) -> None:
        layer = world_layer
        chest = uuid.uuid4()
        await layer.ensure_container(chest, "environment", room_id=FOYER)
        with pytest.raises(DuplicateError):
            await layer.ensure_container(chest, "environment", room_id=HALLWAY)
        with pytest.raises(ValidationError):
            await layer.ensure_container("nope", "environment", room_id=FOYER)
        with pytest.raises(NotFoundError):
            await layer.ensure_container(uuid.uuid4(), "environment", room_id="no_such_room")


class TestRoomScene:
    async def test_one_round_trip_with_players_containers_and_floor(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        layer = world_layer
        here = [await _player(layer, name=n) for n in ("Zed", "amy", "Bo")]
        await _player(layer, name="Elsewhere", current_room_id=HALLWAY)
        chest = await layer.create_container(
            "environment",
            room_id=FOYER,
            items=[{"item_instance_id": f"gem-{n}", "prototype_id": "gem"} for n in range(2)],
        )
        await layer.create_container("environment", room_id=HALLWAY)
        await layer.create_item_instance("rock", "rock", owner_type="room", owner_id=FOYER)
        await layer.create_item_instance("far-rock", "rock", owner_type="room", owner_id=HALLWAY)
        await layer.create_item_instance("pocket", "lint", owner_type="player", owner_id=here[0])
        check = "players_stats_strength_valid"  # as an external tool with DDL rights would
        definition = await clean_db.fetchval(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1", check
        )
        await clean_db.execute(f"ALTER TABLE players DROP CONSTRAINT {check}")
        try:
            await clean_db.execute(
                "UPDATE players SET stats = jsonb_set(stats, '{strength}', '\"abc\"') "
                "WHERE name = 'Bo'"
            )
            scene, calls = await self._counted_scene(layer)
        finally:
            await clean_db.execute("DELETE FROM players WHERE name = 'Bo'")
            await clean_db.execute(f"ALTER TABLE players ADD CONSTRAINT {check} {definition}")
        assert calls == 1
        assert scene.room is not None
        assert scene.room.room_id == FOYER
        assert [p.name for p in scene.players] == ["amy", "Zed"]  # Bo is corrupt: reported
        assert [c.container_id for c in scene.containers] == [chest.container_id]
        assert [i.item_instance_id for i in scene.containers[0].items] == ["gem-0", "gem-1"]
        assert [i.item_instance_id for i in scene.items] == ["rock"]
        assert [e.player_id for e in bus.of(PlayerRowCorrupt)] == [here[2]]
        empty = await layer.read_scene("instance_7")
        assert (empty.room, empty.players, empty.containers, empty.items) == (None, [], [], [])

    @staticmethod
    async def _counted_scene(layer: AsyncPersistenceLayer) -> tuple[RoomScene, int]:
        calls = 0
        fetch = layer.db.fetch

        async def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            return await fetch(*args, **kwargs)

        layer.db.fetch = counting  # type: ignore[method-assign]
        try:
            scene = await layer.read_scene(FOYER)
        finally:
            del layer.db.fetch
        return scene, calls

    async def test_every_item_appears_once_while_items_move(
        self, world_layer: AsyncPersistenceLayer
    ) -> None:
        layer = world_layer
        chest = await layer.create_container("environment", room_id=FOYER)
        ids = [f"orb-{n}" for n in range(6)]
        for item_id in ids:
            await layer.create_item_instance(item_id, "orb", owner_type="room", owner_id=FOYER)
        stop = asyncio.Event()

        async def shuffle() -> None:
            for n in range(40):
                item = ids[n % len(ids)]
                await layer.items.transfer_items(
                    [item], from_owner=("room", FOYER), to_owner=("container", chest.container_id)
                )
                await layer.items.transfer_items(
                    [item],
                    from_owner=("container", chest.container_id),
                    to_owner=("room", FOYER),
                )
            stop.set()

        async def look() -> int:
            looks = 0
            while not stop.is_set() and looks < 500:
                scene = await layer.read_scene(FOYER)
                seen = [i.item_instance_id for i in scene.items] + [
                    i.item_instance_id for c in scene.containers for i in c.items
                ]
                assert sorted(seen) == sorted(ids)
                looks += 1
            return looks

        _, looks = await asyncio.gather(shuffle(), look())
        assert looks > 0


class TestDeathMakesOneCorpse:
    async def test_two_killing_blows_and_two_handlers_make_one_corpse(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        pid = await _player(layer, hp=10, current_room_id=HALLWAY)
        for n in range(3):
            await layer.create_item_instance(f"loot-{n}", "loot", owner_type="player", owner_id=pid)
        changes = await asyncio.gather(*(layer.change_health(pid, -10) for _ in range(3)))
        deaths = [c for c in changes if c.died]
        assert len(deaths) == 1
        for change in changes:
            if not change.died:
                with pytest.raises(ValidationError):
                    await layer.create_corpse_for(change)
        corpses = await asyncio.gather(*(layer.create_corpse_for(deaths[0]) for _ in range(4)))
        assert len({c.container_id for c in corpses}) == 1
        corpse = corpses[0]
        assert corpse.room_id == HALLWAY
        assert corpse.source_type == "corpse"
        assert sorted(i.item_instance_id for i in corpse.items) == ["loot-0", "loot-1", "loot-2"]
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 1
        assert (await layer.audit()).ok

    async def test_a_replayed_killing_blow_names_the_same_death(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        pid = await _player(layer, hp=3)
        await layer.create_item_instance("ring", "ring", owner_type="player", owner_id=pid)
        first = await layer.change_health(pid, -3, op_id="tick-9")
        corpse = await layer.create_corpse_for(first, room_id=COURTYARD)
        replay = await layer.change_health(pid, -3, op_id="tick-9")  # a retry of the tick
        assert replay.change_id == first.change_id
        assert replay.died
        again = await layer.create_corpse_for(replay, room_id=COURTYARD)
        assert again.container_id == corpse.container_id
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 1
        with pytest.raises(ValidationError):
            await layer.create_corpse_for("not a change")  # type: ignore[arg-type]

"""What users of the original system rely on (issue 14), on real PostgreSQL.

Several characters per account with soft delete, room writes, instanced rooms, item
prototypes with weight, and a retry decorator for game code.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest

from persistence import retry_with_backoff
from persistence.errors import (
    ConfigurationError,
    ContainerOverweightError,
    DatabaseUnavailableError,
    DuplicateError,
    NotFoundError,
    PlayerSoftDeletedError,
    RoomInUseError,
    ValidationError,
)
from persistence.events import (
    PlayerRestored,
    PlayerRoomFixed,
    PlayerSoftDeleted,
    RoomDeleted,
    RoomsSaved,
)
from persistence.facade import AsyncPersistenceLayer
from persistence.models.room import Room
from persistence.retry import RetryPolicy
from tests.conftest import RecordingBus, make_settings
from tests.factories import FOYER, HALLWAY, new_player

pytestmark = pytest.mark.integration

ACCOUNT = uuid.UUID(int=42)


async def _saved(layer: AsyncPersistenceLayer, name: str, **fields: Any) -> uuid.UUID:
    player = new_player(name, **fields)
    await layer.players.save_player(player)
    return player.player_id


async def _row(conn: asyncpg.Connection, pid: uuid.UUID) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "SELECT name, is_deleted, deleted_at, current_room_id, stats::text AS stats,"
        " experience_points FROM players WHERE player_id = $1",
        pid,
    )
    return row


class TestSeveralCharactersAndSoftDelete:
    async def test_an_accounts_characters_with_one_soft_deleted(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        layer = world_layer
        ids = [await _saved(layer, n, user_id=ACCOUNT) for n in ("Alpha", "Beta", "Gamma")]
        await layer.create_item_instance("keepsake", "coin", owner_type="player", owner_id=ids[1])
        assert await layer.soft_delete_player(ids[1])
        assert not await layer.soft_delete_player(ids[1])  # already deleted
        assert not await layer.soft_delete_player(uuid.uuid4())

        everyone = await layer.get_players_by_user_id(ACCOUNT)
        assert [(p.name, p.is_deleted) for p in everyone] == [
            ("Alpha", False),
            ("Beta", True),
            ("Gamma", False),
        ]
        assert everyone[1].deleted_at is not None
        active = await layer.get_active_players_by_user_id(str(ACCOUNT))
        assert [p.name for p in active] == ["Alpha", "Gamma"]
        # Gone from name lookups, room listings, batch reads and list_players; still by id.
        assert await layer.get_player_by_name("beta") is None
        assert [p.name for p in await layer.get_players_in_room(FOYER)] == ["Alpha", "Gamma"]
        assert [p.name for p in await layer.get_players_batch(ids)] == ["Alpha", "Gamma"]
        assert [p.name for p in await layer.list_players()] == ["Alpha", "Gamma"]
        assert len(await layer.list_players(include_deleted=True)) == 3
        beta = await layer.get_player_by_id(ids[1])
        assert beta is not None
        assert beta.is_deleted
        assert [p.name for p in (await layer.read_scene(FOYER)).players] == ["Alpha", "Gamma"]
        # Its items stay where they are.
        held = await layer.items.get_items_by_owner("player", ids[1])
        assert [i.item_instance_id for i in held] == ["keepsake"]
        assert [e.player_id for e in bus.of(PlayerSoftDeleted)] == [ids[1]]

    async def test_the_name_is_freed_and_restore_fails_while_it_is_taken(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        layer = world_layer
        old = await _saved(layer, "Wilmarth", user_id=ACCOUNT)
        await layer.soft_delete_player(old)
        newcomer = new_player("WILMARTH")
        await layer.save_player(newcomer)  # the name is free among active characters
        with pytest.raises(DuplicateError):
            await layer.restore_player(old)
        assert (await _row(clean_db, old))["is_deleted"] is True
        with pytest.raises(asyncpg.UniqueViolationError):  # the database refuses it too
            await clean_db.execute(
                "UPDATE players SET is_deleted = false, deleted_at = NULL WHERE player_id = $1",
                old,
            )
        loaded = await layer.players.require_player(newcomer.player_id)
        loaded.name = "Wilmarth Junior"
        await layer.save_player(loaded)
        restored = await layer.restore_player(old)
        assert (restored.name, restored.is_deleted, restored.deleted_at) == (
            "Wilmarth",
            False,
            None,
        )
        assert (await layer.get_player_by_name("wilmarth")).player_id == old  # type: ignore[union-attr]
        assert [e.player_id for e in bus.of(PlayerRestored)] == [old]
        assert (await layer.restore_player(old)).player_id == old  # an active one: as is
        with pytest.raises(NotFoundError):
            await layer.restore_player(uuid.uuid4())

    async def test_writes_to_a_soft_deleted_character_are_refused(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        pid = await _saved(layer, "Ghost")
        other = await _saved(layer, "Living")
        copy = await layer.players.require_player(pid)
        await layer.soft_delete_player(pid)
        before = await _row(clean_db, pid)
        calls = [
            layer.update_player_health(pid, -5),
            layer.health.apply_health_deltas({pid: -5, other: -5}),
            layer.health.change_health(pid, -5),
            layer.health.change_health_batch({other: -1, pid: -1}, op_id="tick-ghost"),
            layer.experience.update_player_xp(pid, 10),
            layer.experience.apply_xp_deltas({other: 5, pid: 5}),
            layer.experience.update_player_stat_field(pid, "fear", 3),
            layer.update_player_last_active(pid),
            layer.containers.create_corpse(pid),
        ]
        for call in calls:
            with pytest.raises(PlayerSoftDeletedError):
                await call
        copy.stats.strength = 99
        with pytest.raises(PlayerSoftDeletedError):
            await layer.save_player(copy)
        with pytest.raises(PlayerSoftDeletedError):
            await layer.save_players([copy, await layer.players.require_player(other)])
        with pytest.raises(PlayerSoftDeletedError):
            await layer.move_player(await layer.players.require_player(pid), "north")
        assert await _row(clean_db, pid) == before
        living = await _row(clean_db, other)
        assert json.loads(living["stats"])["current_health"] == 100  # batches: all or nothing
        assert living["experience_points"] == 0
        assert await layer.delete_player(pid)  # the hard delete still works

    async def test_a_restore_racing_a_new_character_for_the_name_one_wins(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        for round_number in range(10):
            name = f"Contested{round_number}"
            old = await _saved(layer, name)
            await layer.soft_delete_player(old)
            outcomes = await asyncio.gather(
                layer.restore_player(old),
                layer.save_player(new_player(name.upper())),
                return_exceptions=True,
            )
            errors = [o for o in outcomes if isinstance(o, BaseException)]
            assert len(errors) == 1
            assert isinstance(errors[0], DuplicateError)
            active = await clean_db.fetchval(
                "SELECT count(*) FROM players WHERE lower(name) = lower($1) AND NOT is_deleted",
                name,
            )
            assert active == 1

    async def test_the_twin_agrees_on_soft_delete(self) -> None:
        from persistence.testing import InMemoryPersistence

        async with InMemoryPersistence() as twin:
            await twin.seed_world()
            old = new_player("Twin", user_id=ACCOUNT)
            await twin.players.save_player(old)
            assert await twin.players.soft_delete_player(old.player_id)
            await twin.players.save_player(new_player("twin"))
            with pytest.raises(DuplicateError):
                await twin.players.restore_player(old.player_id)
            with pytest.raises(PlayerSoftDeletedError):
                await twin.health.update_player_health(old.player_id, -1)
            assert [p.is_deleted for p in await twin.players.get_players_by_user_id(ACCOUNT)] == [
                True
            ]


class TestRoomWrites:
    async def test_save_rooms_upserts_and_updates_this_layers_cache(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        layer = world_layer
        attic = {
            "room_id": "earth_arkhamcity_sanitarium_room_attic_001",
            "name": "Attic",
            "plane": "earth",
            "zone": "arkhamcity",
            "sub_zone": "sanitarium",
            "exits": {"down": HALLWAY, "east": "earth_arkhamcity_sanitarium_room_loft_001"},
        }
        loft = {
            **attic,
            "room_id": "earth_arkhamcity_sanitarium_room_loft_001",
            "name": "Loft",
            "exits": {"west": attic["room_id"]},
        }
        assert await layer.save_rooms([attic, loft]) == 2  # exits to each other: one call
        cached = layer.get_room_by_id(attic["room_id"])
        assert cached is not None
        assert cached.exits["down"] == HALLWAY  # no reload needed
        hallway = layer.get_room_by_id(HALLWAY)
        assert hallway is not None
        changed = Room(**{**hallway.__dict__, "name": "Renamed Hallway"})
        changed.exits = {**hallway.exits, "up": attic["room_id"]}
        await layer.save_room(changed)
        assert layer.get_room_by_id(HALLWAY).name == "Renamed Hallway"  # type: ignore[union-attr]
        assert await clean_db.fetchval("SELECT name FROM rooms WHERE room_id = $1", HALLWAY) == (
            "Renamed Hallway"
        )
        assert [e.room_ids for e in bus.of(RoomsSaved)] == [
            (attic["room_id"], loft["room_id"]),
            (HALLWAY,),
        ]
        player = await layer.players.require_player(await _saved(layer, "Climber"))
        await layer.move_player(player, "north")
        assert (await layer.move_player(player, "up")).name == "Attic"

    async def test_bad_rooms_and_dangling_exits_write_nothing(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        count = await clean_db.fetchval("SELECT count(*) FROM rooms")
        good = {"room_id": "r_ok", "name": "Ok", "plane": "p", "zone": "z", "sub_zone": "s"}
        bad_rooms: list[Any] = [
            [{**good, "room_id": "Bad Id!"}],
            [{**good, "name": ""}],
            [{**good, "exits": {"north": 5}}],
            [{**good, "unknown_field": 1}],
            [good, good],
            ["not a room"],
            [{**good, "exits": {"north": "nowhere_room"}}],
            [good, {**good, "room_id": "r_two", "exits": {"up": "nowhere_room"}}],
        ]
        for rooms in bad_rooms:
            with pytest.raises(ValidationError):
                await layer.save_rooms(rooms)
        assert await clean_db.fetchval("SELECT count(*) FROM rooms") == count
        assert layer.get_room_by_id("r_ok") is None

    async def test_a_rolled_back_save_leaves_the_cache_alone(
        self, world_layer: AsyncPersistenceLayer
    ) -> None:
        layer = world_layer
        room = {"room_id": "r_ghost", "name": "Ghost", "plane": "p", "zone": "z", "sub_zone": "s"}
        with pytest.raises(RuntimeError):
            async with layer.transaction():
                await layer.save_room(room)
                raise RuntimeError("the game's failure")
        assert layer.get_room_by_id("r_ghost") is None
        async with layer.transaction():
            await layer.save_room(room)
            assert layer.get_room_by_id("r_ghost") is None  # not before the commit
        assert layer.get_room_by_id("r_ghost") is not None

    async def test_delete_room_is_refused_while_anything_keeps_it(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        layer = world_layer
        base = {"plane": "p", "zone": "z", "sub_zone": "s"}
        await layer.save_rooms(
            [
                {"room_id": "r_a", "name": "A", **base, "exits": {"east": "r_b"}},
                {"room_id": "r_b", "name": "B", **base},
                {"room_id": "r_c", "name": "C", **base},
            ]
        )
        with pytest.raises(RoomInUseError) as info:
            await layer.delete_room("r_b")  # an exit of r_a leads to it
        assert info.value.holders == ("an exit of r_a",)
        pid = await _saved(layer, "Squatter", current_room_id="r_c")
        chest = await layer.create_container("environment", room_id="r_c")
        await layer.create_item_instance("pebble", "rock", owner_type="room", owner_id="r_c")
        with pytest.raises(RoomInUseError) as info:
            await layer.delete_room("r_c")
        assert info.value.holders == ("1 players", "1 containers", "1 items")
        with pytest.raises(RoomInUseError):
            await layer.delete_room(FOYER)  # the fallback room
        await layer.delete_player(pid)
        await layer.delete_container(chest.container_id, contents="delete")
        await layer.items.delete_item_instance("pebble")
        assert await layer.delete_room("r_c")
        assert not await layer.delete_room("r_c")
        assert layer.get_room_by_id("r_c") is None
        assert await clean_db.fetchval("SELECT count(*) FROM rooms WHERE room_id = 'r_c'") == 0
        assert [e.room_id for e in bus.of(RoomDeleted)] == ["r_c"]

    async def test_a_delete_racing_moves_into_the_room_never_strands_a_player(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        base = {"plane": "p", "zone": "z", "sub_zone": "s"}
        outcomes: set[str] = set()
        for n in range(25):
            door, room = f"r_door_{n}", f"r_room_{n}"
            await layer.save_rooms(
                [
                    {"room_id": door, "name": "Door", **base, "exits": {"in": room}},
                    {"room_id": room, "name": "Room", **base},
                ]
            )
            # The delete must be possible: drop the door's exit from the table only (the
            # cache still has it, as a stale cache in another process would).
            await clean_db.execute("UPDATE rooms SET exits = '{}' WHERE room_id = $1", door)
            player = await layer.players.require_player(
                await _saved(layer, f"Mover{n}", current_room_id=door)
            )
            if n % 2:  # either call may reach the database first
                deleted, moved = await asyncio.gather(
                    layer.delete_room(room), layer.move_player(player, "in"), return_exceptions=True
                )
            else:
                moved, deleted = await asyncio.gather(
                    layer.move_player(player, "in"), layer.delete_room(room), return_exceptions=True
                )
            stored = await clean_db.fetchval(
                "SELECT current_room_id FROM players WHERE player_id = $1", player.player_id
            )
            exists = await clean_db.fetchval("SELECT count(*) FROM rooms WHERE room_id = $1", room)
            if exists:
                assert isinstance(deleted, RoomInUseError)
                assert stored == room
                outcomes.add("moved first")
            else:
                assert deleted is True
                assert isinstance(moved, NotFoundError)
                assert stored == door
                outcomes.add("deleted first")
        assert outcomes  # every round ended in one of the two consistent states

    async def test_a_move_waits_for_a_delete_holding_the_room_and_then_finds_it_gone(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, database_url: str
    ) -> None:
        """The lock interaction itself, in a fixed order: the room's row is locked for
        update (as delete_room locks it) before the move is sent."""
        layer = world_layer
        base = {"plane": "p", "zone": "z", "sub_zone": "s"}
        await layer.save_rooms(
            [
                {"room_id": "r_gate", "name": "Gate", **base, "exits": {"in": "r_keep"}},
                {"room_id": "r_keep", "name": "Keep", **base},
            ]
        )
        await clean_db.execute("UPDATE rooms SET exits = '{}' WHERE room_id = 'r_gate'")
        player = await layer.players.require_player(
            await _saved(layer, "Waiter", current_room_id="r_gate")
        )
        deleter = await asyncpg.connect(database_url)
        try:
            tx = deleter.transaction()
            await tx.start()
            await deleter.execute("SELECT 1 FROM rooms WHERE room_id = 'r_keep' FOR UPDATE")
            move = asyncio.create_task(layer.move_player(player, "in"))
            await asyncio.sleep(0.3)
            assert not move.done()  # the move waits on the room's lock
            await deleter.execute("DELETE FROM rooms WHERE room_id = 'r_keep'")
            await tx.commit()
            with pytest.raises(NotFoundError):
                await move
        finally:
            await deleter.close()
        stored = await clean_db.fetchval(
            "SELECT current_room_id FROM players WHERE player_id = $1", player.player_id
        )
        assert stored == "r_gate"


class TestInstancedRooms:
    async def test_instances_are_not_missing_rooms(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        instanced = await layer.players.require_player(
            await _saved(layer, "Dreamer", current_room_id="instance_dream_7")
        )
        lost = await layer.players.require_player(
            await _saved(layer, "Lost", current_room_id="earth_nowhere_001")
        )
        assert not await layer.validate_and_fix_player_room(instanced)
        assert await layer.validate_and_fix_player_room(lost)
        assert instanced.current_room_id == "instance_dream_7"
        assert lost.current_room_id == FOYER

    async def test_prefixes_and_validation_on_read_are_settings(
        self, clean_db: asyncpg.Connection, database_url: str
    ) -> None:
        settings = make_settings(
            database_url,
            instance_room_prefixes=("tutorial_",),
            validate_rooms_on_read=True,
        )
        async with AsyncPersistenceLayer(settings) as layer:
            await layer.seed_world()
            tutorial = new_player("Pupil", current_room_id="tutorial_cellar_3")
            stray = new_player("Stray", current_room_id="instance_x")  # not an instance here
            await layer.save_players([tutorial, stray])
            assert (await layer.get_player_by_id(tutorial.player_id)).current_room_id == (  # type: ignore[union-attr]
                "tutorial_cellar_3"
            )
            assert (await layer.get_player_by_name("stray")).current_room_id == FOYER  # type: ignore[union-attr]
            stored = await clean_db.fetchval(
                "SELECT current_room_id FROM players WHERE player_id = $1", stray.player_id
            )
            assert stored == FOYER
        with pytest.raises(ValueError):
            make_settings(database_url, instance_room_prefixes=("",))

    async def test_validation_on_read_is_off_by_default(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        pid = await _saved(world_layer, "Wanderer", current_room_id="earth_nowhere_001")
        loaded = await world_layer.get_player_by_id(pid)
        assert loaded is not None
        assert loaded.current_room_id == "earth_nowhere_001"
        scene = await world_layer.read_scene("earth_nowhere_001")
        assert [p.player_id for p in scene.players] == [pid]
        assert scene.players[0].current_room_id == "earth_nowhere_001"

    async def test_read_scene_fixes_its_players_with_validation_on_read(
        self, clean_db: asyncpg.Connection, database_url: str
    ) -> None:
        recorder = RecordingBus()
        settings = make_settings(database_url, validate_rooms_on_read=True)
        async with AsyncPersistenceLayer(settings, event_bus=recorder) as layer:
            await layer.seed_world()
            lost = new_player("Lost", current_room_id="earth_nowhere_001")
            dreamer = new_player("Dreamer", current_room_id="instance_dream_7")
            await layer.save_players([lost, dreamer])

            gone = await layer.read_scene("earth_nowhere_001")
            # Moved to the fallback room by the read: no longer a player of this room.
            assert gone.room is None
            assert gone.players == []
            stored = await clean_db.fetchval(
                "SELECT current_room_id FROM players WHERE player_id = $1", lost.player_id
            )
            assert stored == FOYER
            assert [
                (e.player_id, e.old_room_id, e.new_room_id) for e in recorder.of(PlayerRoomFixed)
            ] == [(lost.player_id, "earth_nowhere_001", FOYER)]
            foyer = await layer.read_scene(FOYER)
            assert [(p.name, p.current_room_id) for p in foyer.players] == [("Lost", FOYER)]
            instance = await layer.read_scene("instance_dream_7")
            assert [(p.name, p.current_room_id) for p in instance.players] == [
                ("Dreamer", "instance_dream_7")
            ]
            assert len(recorder.of(PlayerRoomFixed)) == 1

    async def test_a_room_listing_leaves_out_the_players_the_fix_moved_away(
        self, clean_db: asyncpg.Connection, database_url: str
    ) -> None:
        settings = make_settings(database_url, validate_rooms_on_read=True)
        async with AsyncPersistenceLayer(settings) as layer:
            await layer.seed_world()
            await _saved(layer, "Lost", current_room_id="earth_nowhere_001")
            assert await layer.get_players_in_room("earth_nowhere_001") == []


class TestPrototypesAndWeight:
    async def test_the_sample_world_has_prototypes(
        self, world_layer: AsyncPersistenceLayer
    ) -> None:
        prototypes = {p.prototype_id: p for p in await world_layer.list_prototypes()}
        assert {"weapon.knife", "coin.silver", "book.occult"} <= set(prototypes)
        coin = await world_layer.get_prototype("coin.silver")
        assert coin is not None
        assert (coin.stackable, coin.max_stack, coin.weight) == (True, 100, 0)
        assert await world_layer.get_prototype("no.such") is None
        with pytest.raises(NotFoundError):
            await world_layer.items.require_prototype("no.such")

    async def test_an_unknown_prototype_is_refused_everywhere(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        chest = await layer.create_container("environment", room_id=FOYER)
        with pytest.raises(NotFoundError) as info:
            await layer.create_item_instance("i1", "no.such", owner_type="room", owner_id=FOYER)
        assert info.value.entity == "item prototype"
        assert info.value.key == "no.such"
        with pytest.raises(NotFoundError) as info:
            await layer.create_item_instance(
                "i2", "no.such", owner_type="container", owner_id=chest.container_id
            )
        assert info.value.entity == "item prototype"
        with pytest.raises(NotFoundError) as info:
            await layer.create_container(
                "environment",
                room_id=FOYER,
                items=[{"item_instance_id": "i3", "prototype_id": "no.such"}],
            )
        assert info.value.entity == "item prototype"
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await clean_db.execute(
                "INSERT INTO item_instances (item_instance_id, prototype_id, owner_type, owner_id)"
                " VALUES ('raw', 'no.such', 'room', $1)",
                FOYER,
            )
        assert await clean_db.fetchval("SELECT count(*) FROM item_instances") == 0
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 1
        for bad in (
            {"prototype_id": "", "name": "Bad id"},
            {"prototype_id": "x" * 121, "name": "Bad id"},
            {"prototype_id": "ok", "name": "  "},
            {"prototype_id": "ok", "name": "Ok", "weight": -1},
            {"prototype_id": "ok", "name": "Ok", "max_stack": 5},
            {"prototype_id": "ok", "name": "Ok", "weight": True},
        ):
            with pytest.raises(ValidationError):
                await layer.items.save_prototypes([bad])

    async def test_weight_limits_hold_on_create_transfer_and_container_creation(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        await layer.items.save_prototypes([{"prototype_id": "anvil", "name": "Anvil", "weight": 4}])
        sack = await layer.create_container("environment", room_id=FOYER, weight_limit=10)
        cid = sack.container_id
        await layer.create_item_instance("a1", "anvil", owner_type="container", owner_id=cid)
        await layer.create_item_instance("a2", "anvil", owner_type="container", owner_id=cid)
        with pytest.raises(ContainerOverweightError) as info:
            await layer.create_item_instance("a3", "anvil", owner_type="container", owner_id=cid)
        assert (info.value.weight_limit, info.value.weight, info.value.incoming) == (10, 8, 4)
        pid = await _saved(layer, "Smith")
        await layer.create_item_instance(
            "pair", "anvil", owner_type="player", owner_id=pid, quantity=2
        )
        with pytest.raises(ContainerOverweightError):  # 8 + 2 x 4
            await layer.items.transfer_items(
                ["pair"], from_owner=("player", pid), to_owner=("container", cid)
            )
        await layer.items.transfer_items(
            ["a1"], from_owner=("container", cid), to_owner=("player", pid)
        )
        with pytest.raises(ContainerOverweightError):  # 4 + 8
            await layer.items.transfer_items(
                ["pair"], from_owner=("player", pid), to_owner=("container", cid)
            )
        await layer.items.transfer_items(
            ["a1"], from_owner=("player", pid), to_owner=("container", cid)
        )
        with pytest.raises(ContainerOverweightError):
            await layer.create_container(
                "environment",
                room_id=FOYER,
                weight_limit=7,
                items=[{"item_instance_id": f"b{n}", "prototype_id": "anvil"} for n in range(2)],
            )
        owners = {
            r["item_instance_id"]: r["owner_type"]
            for r in await clean_db.fetch("SELECT item_instance_id, owner_type FROM item_instances")
        }
        assert owners == {"a1": "container", "a2": "container", "pair": "player"}
        assert (await layer.audit()).ok

    async def test_racing_transfers_never_overfill_a_weight_limit(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        layer = world_layer
        await layer.items.save_prototypes([{"prototype_id": "brick", "name": "Brick", "weight": 3}])
        crate = await layer.create_container(
            "environment", room_id=FOYER, weight_limit=20, capacity_slots=20
        )
        players = [await _saved(layer, f"Porter{n}") for n in range(24)]
        for n, pid in enumerate(players):
            await layer.create_item_instance(
                f"brick-{n}", "brick", owner_type="player", owner_id=pid
            )

        async def carry(n: int, pid: uuid.UUID) -> str:
            try:
                await layer.items.transfer_items(
                    [f"brick-{n}"],
                    from_owner=("player", pid),
                    to_owner=("container", crate.container_id),
                )
            except ContainerOverweightError:
                return "refused"
            return "in"

        results = await asyncio.gather(*(carry(n, pid) for n, pid in enumerate(players)))
        assert results.count("in") == 6  # 6 x 3 = 18 <= 20 < 21
        weight = await clean_db.fetchval(
            "SELECT sum(i.quantity * p.weight) FROM item_instances i"
            " JOIN item_prototypes p USING (prototype_id)"
            " WHERE owner_type = 'container' AND owner_id = $1",
            str(crate.container_id),
        )
        assert weight == 18
        assert await clean_db.fetchval("SELECT count(*) FROM item_instances") == 24

    async def test_a_corpse_with_a_weight_limit_spills_what_does_not_fit(
        self, world_layer: AsyncPersistenceLayer
    ) -> None:
        layer = world_layer
        await layer.items.save_prototypes(
            [
                {"prototype_id": "boulder", "name": "Boulder", "weight": 50},
                {"prototype_id": "feather", "name": "Feather", "weight": 1},
            ]
        )
        pid = await _saved(layer, "Hoarder")
        for n, proto in enumerate(("feather", "boulder", "feather", "boulder")):
            await layer.create_item_instance(
                f"h{n}", proto, owner_type="player", owner_id=pid, position=n
            )
        corpse = await layer.containers.create_corpse(pid, weight_limit=60)
        assert [i.item_instance_id for i in corpse.items] == ["h0", "h1", "h2"]
        floor = await layer.items.get_items_by_owner("room", FOYER)
        assert [i.item_instance_id for i in floor] == ["h3"]


class TestRetryDecorator:
    async def test_a_transient_failure_is_retried_and_the_result_returned(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, database_url: str
    ) -> None:
        conn = await asyncpg.connect(database_url)
        calls = {"n": 0}
        policy = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.02)

        @retry_with_backoff(policy=policy)
        async def read_motd() -> int:
            nonlocal conn
            calls["n"] += 1
            if conn.is_closed():
                conn = await asyncpg.connect(database_url)
            if calls["n"] == 1:  # the server kills our backend mid-call
                await clean_db.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
                await asyncio.sleep(0.05)
            value: int = await conn.fetchval("SELECT 41 + 1")
            return value

        try:
            assert await read_motd() == 42
            assert calls["n"] == 2
        finally:
            await conn.close()
        assert read_motd.__name__ == "read_motd"

    async def test_other_failures_are_not_retried_and_keep_their_type(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        calls = {"n": 0}

        @retry_with_backoff
        async def insert_twice() -> None:
            calls["n"] += 1
            await clean_db.execute(
                "INSERT INTO rooms (room_id, name, plane, zone, sub_zone)"
                " VALUES ('dup', 'Dup', 'p', 'z', 's')"
            )

        await insert_twice()
        with pytest.raises(asyncpg.UniqueViolationError):
            await insert_twice()
        assert calls["n"] == 2  # once each: a unique violation is not transient

        attempts = {"n": 0}

        @retry_with_backoff(policy=RetryPolicy(max_attempts=3, base_delay=0, max_delay=0))
        async def always_down() -> None:
            attempts["n"] += 1
            raise asyncpg.ConnectionDoesNotExistError("connection was closed")

        with pytest.raises(asyncpg.ConnectionDoesNotExistError):
            await always_down()
        assert attempts["n"] == 3
        assert DatabaseUnavailableError  # the layer's view of that error: transient

    def test_only_async_functions_can_be_decorated(self) -> None:
        with pytest.raises(ConfigurationError):

            @retry_with_backoff  # type: ignore[arg-type]
            def not_async() -> None:
                return None

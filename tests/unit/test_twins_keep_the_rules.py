"""The in-memory twins refuse what the real layer refuses (issue 12's rules), with no database.

The same rules are proven on PostgreSQL in tests/integration/test_nothing_lost.py; here a
game's unit tests get them from the twins.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from persistence.errors import (
    DuplicateError,
    NotFoundError,
    OperationReusedError,
    PlayerDeletedError,
    StaleDataError,
    ValidationError,
)
from persistence.events import PlayerRoomFixed
from persistence.settings import PersistenceSettings
from persistence.testing import InMemoryPersistence, RecordingEventBus, create_player
from tests.factories import FOYER, HALLWAY, new_player


@pytest.fixture
async def twins() -> InMemoryPersistence:
    memory = InMemoryPersistence()
    await memory.start()
    await memory.seed_world()
    for prototype in ("coin", "gem", "test.item"):
        memory.add_prototype(prototype)
    return memory


async def test_a_deleted_player_stays_deleted(twins: InMemoryPersistence) -> None:
    player = await create_player(twins, "Departed")
    copy = await twins.players.require_player(player.player_id)
    assert await twins.players.delete_player(player.player_id)
    copy.current_room_id = HALLWAY
    with pytest.raises(PlayerDeletedError):
        await twins.players.save_player(copy)
    assert await twins.players.get_player_by_id(player.player_id) is None
    back = await twins.players.recreate_player(copy)
    assert back.current_room_id == HALLWAY


async def test_a_stale_save_cannot_break_the_health_bound(twins: InMemoryPersistence) -> None:
    player = await create_player(twins, "Stale", stats={"current_health": 40})
    stale = await twins.players.require_player(player.player_id)
    await twins.health.update_player_health(player.player_id, 60)
    stale.stats.max_health = 50
    with pytest.raises(StaleDataError):
        await twins.players.save_player(stale)


async def test_a_save_remembers_what_it_wrote(twins: InMemoryPersistence) -> None:
    player = await create_player(twins, "Mover")
    player.current_room_id = HALLWAY
    await twins.players.save_player(player)
    snapshot = player.persisted_values()
    assert snapshot is not None
    assert snapshot["current_room_id"] == HALLWAY


async def test_owners_must_exist(twins: InMemoryPersistence) -> None:
    with pytest.raises(NotFoundError):
        await twins.items.create_item_instance(
            "ghost", "coin", owner_type="player", owner_id=str(uuid.uuid4())
        )
    with pytest.raises(NotFoundError):
        await twins.items.create_item_instance("void", "coin", owner_type="room", owner_id="void")
    coin = await twins.items.create_item_instance("coin", "coin", owner_type="room", owner_id=FOYER)
    with pytest.raises(NotFoundError):
        await twins.items.transfer_item(
            coin.item_instance_id, from_owner=("room", FOYER), to_owner=("room", "void")
        )
    with pytest.raises(NotFoundError):
        await twins.containers.create_container("environment", room_id="void")
    player = await create_player(twins)
    with pytest.raises(NotFoundError):
        await twins.containers.create_corpse(player.player_id, "void")
    with pytest.raises(ValidationError):
        await twins.containers.create_corpse(player.player_id, FOYER, decay_after=timedelta.max)


async def test_names_fold_and_mixed_scripts_are_refused(twins: InMemoryPersistence) -> None:
    await create_player(twins, "Armitage")
    with pytest.raises(ValidationError):
        await create_player(twins, "\u0410rmit\u0430g\u0435")
    found = await twins.players.get_player_by_name(
        "\uff21\uff52\uff4d\uff49\uff54\uff41\uff47\uff45"
    )
    assert found is not None
    assert found.name == "Armitage"


async def test_an_op_id_matches_the_whole_request(twins: InMemoryPersistence) -> None:
    player = await create_player(twins, "Keyed")
    await twins.health.damage_player(player, 5, "fire", op_id="hit")
    with pytest.raises(OperationReusedError):
        await twins.health.damage_player(player, 5, "ice", op_id="hit")
    with pytest.raises(OperationReusedError):
        await twins.experience.update_player_stat_field(
            player.player_id, "current_health", -5, "damage:fire", op_id="hit"
        )


async def test_validation_on_read_fixes_every_player_a_read_returns() -> None:
    bus = RecordingEventBus()
    settings = PersistenceSettings(fallback_room_id=FOYER, validate_rooms_on_read=True)
    async with InMemoryPersistence(settings, event_bus=bus) as memory:
        await memory.seed_world()
        for name, room in (("Lost", "earth_nowhere_001"), ("Dreamer", "instance_dream_7")):
            await memory.players.save_player(new_player(name, current_room_id=room))
        lost = await memory.players.get_player_by_name("lost")
        assert lost is not None
        assert lost.current_room_id == FOYER  # fixed by the read, and in the store
        stored = await memory.players.get_player_by_id(lost.player_id)
        assert stored is not None
        assert stored.current_room_id == FOYER
        assert len(bus.of(PlayerRoomFixed)) == 1
        dreamer = await memory.players.get_player_by_name("dreamer")
        assert dreamer is not None
        assert dreamer.current_room_id == "instance_dream_7"


async def test_validation_on_read_fixes_a_scene_and_leaves_the_moved_players_out() -> None:
    settings = PersistenceSettings(fallback_room_id=FOYER, validate_rooms_on_read=True)
    async with InMemoryPersistence(settings) as memory:
        await memory.seed_world()
        lost = new_player("Lost", current_room_id="earth_nowhere_001")
        await memory.players.save_player(lost)
        assert (await memory.rooms.read_scene("earth_nowhere_001")).players == []
        foyer = await memory.rooms.read_scene(FOYER)
        assert [(p.name, p.current_room_id) for p in foyer.players] == [("Lost", FOYER)]


async def test_the_room_fix_reads_the_stored_row_not_a_stale_copy(
    twins: InMemoryPersistence,
) -> None:
    await twins.players.save_player(new_player("Ghost", current_room_id="earth_nowhere_001"))
    stale = await twins.players.get_player_by_name("ghost")
    assert stale is not None
    assert await twins.players.soft_delete_player(stale.player_id)
    assert not stale.is_deleted
    assert await twins.players.validate_and_fix_player_room(stale) is False
    assert stale.current_room_id == "earth_nowhere_001"
    stored = await twins.players.get_player_by_id(stale.player_id)
    assert stored is not None
    assert stored.current_room_id == "earth_nowhere_001"


async def test_a_weighed_container_names_an_unknown_prototype_before_its_room(
    twins: InMemoryPersistence,
) -> None:
    # With a weight limit the prototypes are weighed before the row (and its room) is written.
    with pytest.raises(NotFoundError) as info:
        await twins.containers.create_container(
            "environment",
            room_id="void",
            weight_limit=5,
            items=[{"item_instance_id": "z1", "prototype_id": "no.such"}],
        )
    assert info.value.entity == "item prototype"


async def test_an_item_into_a_missing_container_names_the_container(
    twins: InMemoryPersistence,
) -> None:
    await twins.items.create_item_instance("taken", "coin", owner_type="room", owner_id=FOYER)
    # Into a container the container is locked first: a missing one is named before the id.
    with pytest.raises(NotFoundError) as info:
        await twins.items.create_item_instance(
            "taken", "coin", owner_type="container", owner_id=uuid.uuid4()
        )
    assert info.value.entity == "container"
    with pytest.raises(DuplicateError):  # a room's foreign key is checked after the id
        await twins.items.create_item_instance("taken", "coin", owner_type="room", owner_id="void")

"""The in-memory twins refuse what the real layer refuses (issue 12's rules), with no database.

The same rules are proven on PostgreSQL in tests/integration/test_nothing_lost.py; here a
game's unit tests get them from the twins.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from persistence.errors import (
    NotFoundError,
    OperationReusedError,
    PlayerDeletedError,
    StaleDataError,
    ValidationError,
)
from persistence.testing import InMemoryPersistence, create_player
from tests.factories import FOYER, HALLWAY


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

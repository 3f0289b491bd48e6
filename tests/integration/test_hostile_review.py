"""What a hostile review of issues 13 and 14 found, each reproduced here first, then fixed.

Concurrent moves announced several times, a retry decorator that repeated a game's own
non-database failures and retried inside transactions, names that differed only in Greek
final sigma, text and integers that reached SQL unchecked, and twins that disagreed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from persistence import RetryPolicy, retry_with_backoff
from persistence.errors import (
    ConfigurationError,
    DuplicateError,
    NotFoundError,
    PlayerSoftDeletedError,
    ValidationError,
)
from persistence.events import PlayerMoved
from persistence.facade import AsyncPersistenceLayer
from persistence.testing import InMemoryPersistence
from tests.conftest import RecordingBus
from tests.factories import FOYER, HALLWAY, new_player

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def twin() -> Any:
    async with InMemoryPersistence() as memory:
        await memory.seed_world()
        memory.add_prototype("coin")
        yield memory


async def test_concurrent_moves_of_one_player_are_announced_once(
    world_layer: AsyncPersistenceLayer, bus: RecordingBus
) -> None:
    player = new_player("Runner")
    await world_layer.save_player(player)
    copies = [await world_layer.players.require_player(player.player_id) for _ in range(5)]
    rooms = await asyncio.gather(*(world_layer.move_player(c, "north") for c in copies))
    assert {r.room_id for r in rooms} == {HALLWAY}
    assert len(bus.of(PlayerMoved)) == 1


async def test_the_retry_decorator_leaves_the_games_own_failures_alone() -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=0, max_delay=0)
    for error in (FileNotFoundError("x"), TimeoutError("x"), BrokenPipeError("x")):
        calls = {"n": 0}

        @retry_with_backoff(policy=policy)
        async def game_io(failure: Exception = error, seen: dict[str, int] = calls) -> None:
            seen["n"] += 1
            raise failure

        with pytest.raises(type(error)):
            await game_io()
        assert calls["n"] == 1, error

    suppressed = {"n": 0}

    @retry_with_backoff(policy=policy)
    async def hides_a_deadlock() -> None:
        suppressed["n"] += 1
        try:
            raise asyncpg.DeadlockDetectedError("deadlock")
        except asyncpg.DeadlockDetectedError:
            raise ValueError("game decided") from None

    with pytest.raises(ValueError):
        await hides_a_deadlock()
    assert suppressed["n"] == 1


async def test_the_retry_decorator_never_retries_inside_a_transaction(
    layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
) -> None:
    player = new_player("Once")
    await layer.save_player(player)
    calls = {"n": 0}

    @retry_with_backoff(policy=RetryPolicy(max_attempts=3, base_delay=0, max_delay=0))
    async def hit_then_fail() -> None:
        calls["n"] += 1
        await layer.change_health(player.player_id, -10)
        raise asyncpg.ConnectionDoesNotExistError("connection was closed")

    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        async with layer.transaction():
            await hit_then_fail()
    assert calls["n"] == 1
    hp = await clean_db.fetchval(
        "SELECT (stats->>'current_health')::int FROM players WHERE player_id = $1",
        player.player_id,
    )
    assert hp == 100  # the block rolled back; nothing was applied twice


@pytest.mark.parametrize(("first", "second"), [("ΟΔΟΣ", "οδος"), ("ΚΑΣ", "κας"), ("Bob", "BOB")])
async def test_names_differing_only_in_case_are_one_name(
    layer: AsyncPersistenceLayer, twin: InMemoryPersistence, first: str, second: str
) -> None:
    for persistence in (layer, twin):
        await persistence.players.save_player(new_player(first))
        with pytest.raises(DuplicateError):
            await persistence.players.save_player(new_player(second))
        found = await persistence.players.get_player_by_name(second)
        assert found is not None
        assert found.name == first


async def test_room_text_is_checked_before_sql(
    world_layer: AsyncPersistenceLayer, twin: InMemoryPersistence
) -> None:
    room = {"room_id": "r_bad", "name": "Bad", "plane": "p", "zone": "z", "sub_zone": "s"}
    for patch in ({"name": "x\x00"}, {"description": "\udc80"}, {"zone": "z\x00"}):
        for persistence in (world_layer, twin):
            with pytest.raises(ValidationError):
                await persistence.rooms.save_rooms([{**room, **patch}])


async def test_out_of_range_integers_are_refused_before_sql(
    world_layer: AsyncPersistenceLayer, twin: InMemoryPersistence
) -> None:
    for persistence in (world_layer, twin):
        for bad in ({"limit": 2**63}, {"offset": 2**63}, {"limit": True}):
            with pytest.raises(ValidationError):
                await persistence.players.list_players(**bad)
        with pytest.raises(ValidationError):
            await persistence.items.transfer_items(
                ["a", "b"],
                from_owner=("room", FOYER),
                to_owner=("room", HALLWAY),
                position=2**31 - 1,
            )


async def test_a_reason_is_checked_with_or_without_an_op_id(
    layer: AsyncPersistenceLayer, twin: InMemoryPersistence
) -> None:
    for persistence in (layer, twin):
        player = new_player()
        await persistence.players.save_player(player)
        for reason in ("x\x00", "\udc80", 5):
            for op_id in (None, f"op-{uuid.uuid4().hex}"):
                with pytest.raises(ValidationError):
                    await persistence.health.update_player_health(
                        player.player_id,
                        -1,
                        reason,  # type: ignore[arg-type]
                        op_id=op_id,
                    )
        with pytest.raises(ValidationError):
            await persistence.health.damage_player(player, 1, "fire\x00", op_id="op-damage")


async def test_the_twin_reports_a_soft_deleted_player_in_a_batch_first(
    layer: AsyncPersistenceLayer, twin: InMemoryPersistence
) -> None:
    for persistence in (layer, twin):
        player = new_player()
        await persistence.players.save_player(player)
        await persistence.players.soft_delete_player(player.player_id)
        with pytest.raises(PlayerSoftDeletedError):
            await persistence.health.apply_health_deltas({uuid.uuid4(): -1, player.player_id: -1})


async def test_a_corpse_in_an_unstored_room_names_that_room(
    world_layer: AsyncPersistenceLayer,
) -> None:
    player = new_player(current_room_id="instance_crypt_9")
    await world_layer.save_player(player)
    with pytest.raises(NotFoundError) as info:
        await world_layer.containers.create_corpse(player.player_id)
    assert info.value.key == "instance_crypt_9"


async def test_the_twins_decay_calls_check_like_the_real_ones(
    world_layer: AsyncPersistenceLayer, twin: InMemoryPersistence
) -> None:
    for persistence in (world_layer, twin):
        assert await persistence.containers.get_decayed_containers(datetime(2000, 1, 1)) == []
        with pytest.raises(ValidationError):
            await persistence.containers.get_decayed_containers("now")  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            await persistence.containers.remove_decayed_containers(contents="burn")


async def test_odd_options_and_settings_give_typed_errors(
    world_layer: AsyncPersistenceLayer, twin: InMemoryPersistence
) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(max_attempts="3")  # type: ignore[arg-type]
    for persistence in (world_layer, twin):
        with pytest.raises(ValidationError):
            await persistence.containers.ensure_container(
                uuid.uuid4(), "environment", room_id=FOYER, bogus=1
            )
    env = {**os.environ, "MUD_POOL_MAX_SIZE": "not a number", "PYTHONPATH": str(ROOT)}
    imported = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "import persistence; from persistence import retry_with_backoff"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr

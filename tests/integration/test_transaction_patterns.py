"""Transactions that never lie: caught errors and concurrent calls inside one transaction.

Two ordinary patterns that broke the first engine (issue 11): a repository error caught
inside ``layer.transaction()`` left PostgreSQL's transaction aborted, so COMMIT silently
rolled back the earlier calls while their events were published; calls gathered inside one
transaction interleaved their savepoints, so one raised ``savepoint does not exist`` and a
"successful" transfer was gone after the block.

The rule now: each repository call inside a transaction runs in its own savepoint, held for
the whole call; concurrent calls in one transaction run one after another.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from persistence.errors import (
    DuplicateError,
    ItemNotOwnedError,
    PersistenceError,
    TransactionClosedError,
)
from persistence.events import ItemsTransferred, PlayerHPUpdated
from persistence.facade import AsyncPersistenceLayer
from tests.conftest import RecordingBus
from tests.factories import HALLWAY, new_player

pytestmark = pytest.mark.integration


async def _hp(conn: asyncpg.Connection, player_id: uuid.UUID) -> int:
    return int(
        await conn.fetchval(
            "SELECT (stats->>'current_health')::int FROM players WHERE player_id = $1", player_id
        )
    )


class TestCaughtErrorInsideATransaction:
    async def test_calls_before_a_caught_error_commit_and_publish(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        target = new_player("Target")
        await world_layer.players.save_players([target, new_player("Taken")])
        loaded = await world_layer.players.require_player(target.player_id)
        async with world_layer.transaction():
            assert await world_layer.health.damage_player(loaded, 30, "claw") == 70
            with pytest.raises(DuplicateError):
                await world_layer.players.save_player(new_player("TAKEN"))
            # The transaction is still usable after the caught error.
            assert await world_layer.health.damage_player(loaded, 5, "claw") == 65
        assert await _hp(clean_db, target.player_id) == 65
        assert [e.new_hp for e in bus.of(PlayerHPUpdated)] == [70, 65]
        assert await clean_db.fetchval("SELECT count(*) FROM players WHERE name = 'TAKEN'") == 0

    async def test_the_failed_call_itself_leaves_nothing(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        holder = new_player("Holder")
        await world_layer.players.save_player(holder)
        await world_layer.items.create_item_instance(
            "kept-coin", "coin", owner_type="player", owner_id=str(holder.player_id)
        )
        published = len(bus.published)
        async with world_layer.transaction():
            with pytest.raises(ItemNotOwnedError):
                await world_layer.items.transfer_items(
                    ["kept-coin"],
                    from_owner=("room", HALLWAY),
                    to_owner=("player", holder.player_id),
                )
        assert (
            await clean_db.fetchval("SELECT count(*) FROM item_movements WHERE reason <> 'created'")
            == 0
        )
        assert len(bus.published) == published


class TestConcurrentCallsInOneTransaction:
    async def _setup(self, layer: AsyncPersistenceLayer, count: int) -> str:
        owner = new_player("Looter")
        await layer.players.save_player(owner)
        for i in range(count):
            await layer.items.create_item_instance(
                f"gem-{i}", "gem", owner_type="player", owner_id=str(owner.player_id)
            )
        return str(owner.player_id)

    @pytest.mark.parametrize("return_exceptions", [True, False])
    async def test_gathered_transfers_never_interleave_savepoints(
        self,
        world_layer: AsyncPersistenceLayer,
        clean_db: asyncpg.Connection,
        bus: RecordingBus,
        return_exceptions: bool,
    ) -> None:
        owner = await self._setup(world_layer, 12)
        published = len(bus.of(ItemsTransferred))

        async def move(i: int) -> object:
            # Odd items name the wrong source, so they fail after taking their locks.
            source = ("player", owner) if i % 2 == 0 else ("room", HALLWAY)
            return await world_layer.items.transfer_item(
                f"gem-{i}", from_owner=source, to_owner=("room", HALLWAY)
            )

        results: list[object] = []
        try:
            async with world_layer.transaction():
                results = list(
                    await asyncio.gather(
                        *(move(i) for i in range(12)), return_exceptions=return_exceptions
                    )
                )
        except ItemNotOwnedError:
            assert not return_exceptions  # the first failure left the block: all rolled back
        # Let calls still running when the block was left finish (they are refused).
        await asyncio.sleep(0.2)
        moved = {
            r["item_instance_id"]
            for r in await clean_db.fetch(
                "SELECT item_instance_id FROM item_instances WHERE owner_type = 'room'"
            )
        }
        ledger = await clean_db.fetchval(
            "SELECT count(*) FROM item_movements WHERE reason <> 'created'"
        )
        events = bus.of(ItemsTransferred)[published:]
        if return_exceptions:
            assert len(results) == 12
            for i, result in enumerate(results):
                if i % 2 == 0:
                    assert not isinstance(result, BaseException), result
                else:
                    assert isinstance(result, ItemNotOwnedError), result
            assert moved == {f"gem-{i}" for i in range(0, 12, 2)}
            assert ledger == 6
            assert sorted(e.item_instance_ids[0] for e in events) == sorted(moved)
        else:
            assert moved == set()
            assert ledger == 0
            assert events == []

    async def test_tasks_that_outlive_their_transaction_are_refused(
        self, world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        target = new_player("Late")
        await world_layer.players.save_player(target)
        started = asyncio.Event()
        late: asyncio.Task[int] | None = None

        async def after_the_block() -> int:
            started.set()
            await asyncio.sleep(0.1)
            return await world_layer.health.update_player_health(target.player_id, -10)

        async with world_layer.transaction():
            late = asyncio.create_task(after_the_block())
            await started.wait()
        with pytest.raises(TransactionClosedError) as info:
            await late
        assert isinstance(info.value, PersistenceError)
        assert await _hp(clean_db, target.player_id) == 100
        # The task's own later calls outside any transaction work.
        assert await world_layer.health.update_player_health(target.player_id, -10) == 90

"""10,000 concurrent random transfers: nothing duplicated, nothing lost, nothing over capacity.

Each worker reads an item's owner, then moves it somewhere else with that (possibly already
stale) owner as ``from_owner``, the way game code does. Every move that succeeded must
appear exactly once in the ``item_movements`` ledger, and replaying each item's ledger from
its starting place must end exactly where the item is.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from persistence.errors import (
    ContainerFullError,
    ContainerLockedError,
    ItemNotOwnedError,
)
from persistence.events import ItemsTransferred
from persistence.facade import AsyncPersistenceLayer
from persistence.repositories.item import Owner
from tests.conftest import RecordingBus, make_settings
from tests.factories import FOYER, new_player

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def _rooms_exist(layer: AsyncPersistenceLayer) -> None:
    """Items and containers in a room need the room (a foreign key): the sample world."""
    await layer.seed_world()


WORKERS = 50
TRANSFERS_PER_WORKER = 200
EXPECTED_FAILURES = (ItemNotOwnedError, ContainerFullError, ContainerLockedError)


@pytest.fixture
async def busy_layer(clean_db: asyncpg.Connection, database_url: str, bus: RecordingBus) -> Any:
    settings = make_settings(database_url, pool_min_size=4, pool_max_size=12)
    async with AsyncPersistenceLayer(settings, event_bus=bus) as layer:
        yield layer


async def _world(
    layer: AsyncPersistenceLayer, rng: random.Random
) -> tuple[list[Owner], dict[str, int]]:
    players = [new_player() for _ in range(20)]
    await layer.players.save_players(players)
    places = [Owner("player", str(p.player_id)) for p in players]
    quantities: dict[str, int] = {}
    for n in range(30):
        capacity = rng.randint(2, 20)
        locked = n < 5
        full = 5 <= n < 10
        count = capacity if (full or locked) else rng.randint(0, capacity // 2)
        items = []
        for _ in range(count):
            item_id = f"c{n}-{uuid.uuid4().hex[:10]}"
            quantities[item_id] = rng.randint(1, 5)
            items.append(
                {
                    "item_instance_id": item_id,
                    "prototype_id": "loot",
                    "quantity": quantities[item_id],
                }
            )
        box = await layer.containers.create_container(
            "environment",
            room_id=FOYER,
            capacity_slots=capacity,
            lock_state="locked" if locked else "unlocked",
            items=items,
        )
        places.append(Owner("container", str(box.container_id)))
    for player in places[:20]:
        for _ in range(rng.randint(3, 8)):
            item = await layer.items.create_item_instance(
                f"p-{uuid.uuid4().hex[:12]}",
                "loot",
                owner_type="player",
                owner_id=player.owner_id,
                quantity=rng.randint(1, 5),
            )
            quantities[item.item_instance_id] = item.quantity
    return places, quantities


async def test_ten_thousand_random_transfers(
    busy_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
) -> None:
    rng = random.Random(20261127)
    places, quantities = await _world(busy_layer, rng)
    start = {
        r["item_instance_id"]: (r["owner_type"], r["owner_id"])
        for r in await clean_db.fetch(
            "SELECT item_instance_id, owner_type, owner_id FROM item_instances"
        )
    }
    locked_before = {
        r["container_id"]: sorted(
            i for i, owner in start.items() if owner == ("container", str(r["container_id"]))
        )
        for r in await clean_db.fetch(
            "SELECT container_id FROM containers WHERE lock_state = 'locked'"
        )
    }
    item_ids = sorted(quantities)
    successes: list[tuple[str, Owner, Owner]] = []
    failures: defaultdict[str, int] = defaultdict(int)

    async def worker(number: int) -> None:
        wrng = random.Random(number)
        for _ in range(TRANSFERS_PER_WORKER):
            item_id = wrng.choice(item_ids)
            current = await busy_layer.items.get_item_instance(item_id)
            assert current is not None
            source = Owner(current.owner_type, current.owner_id)
            target = wrng.choice(places)
            if target == source:
                target = places[(places.index(target) + 1) % len(places)]
            try:
                await busy_layer.items.transfer_item(item_id, from_owner=source, to_owner=target)
            except EXPECTED_FAILURES as exc:
                failures[type(exc).__name__] += 1
            else:
                successes.append((item_id, source, target))

    await asyncio.gather(*(worker(n) for n in range(WORKERS)))

    assert len(successes) + sum(failures.values()) == WORKERS * TRANSFERS_PER_WORKER
    assert len(successes) > 1000, (len(successes), dict(failures))
    assert failures["ContainerFullError"] > 0
    assert failures["ContainerLockedError"] > 0

    rows = await clean_db.fetch(
        "SELECT item_instance_id, owner_type, owner_id, quantity FROM item_instances"
    )
    final = {r["item_instance_id"]: (r["owner_type"], r["owner_id"]) for r in rows}
    # Every item exists exactly once (the primary key guarantees "at most"), none lost.
    assert sorted(final) == item_ids
    assert sum(r["quantity"] for r in rows) == sum(quantities.values())
    # No container over capacity.
    over = await clean_db.fetch(
        """SELECT c.container_id, c.capacity_slots, count(i.*) AS used
             FROM containers c JOIN item_instances i
               ON i.owner_type = 'container' AND i.owner_id = c.container_id::text
            GROUP BY c.container_id, c.capacity_slots HAVING count(i.*) > c.capacity_slots"""
    )
    assert over == []
    # Locked containers were never entered or emptied.
    for container_id, before in locked_before.items():
        now = sorted(i for i, owner in final.items() if owner == ("container", str(container_id)))
        assert now == before
    # Successful transfers equal the moves observed: in the ledger and on the event bus.
    ledger = await clean_db.fetch(
        "SELECT * FROM item_movements WHERE reason <> 'created' ORDER BY id"
    )
    assert len(ledger) == len(successes)
    assert sum(len(e.item_instance_ids) for e in bus.of(ItemsTransferred)) == len(successes)
    assert sorted(
        (
            r["item_instance_id"],
            (r["from_owner_type"], r["from_owner_id"]),
            (r["to_owner_type"], r["to_owner_id"]),
        )
        for r in ledger
    ) == sorted((i, tuple(s), tuple(t)) for i, s, t in successes)
    # Replaying each item's moves from where it started ends where it is.
    position = dict(start)
    for row in ledger:
        item = row["item_instance_id"]
        assert position[item] == (row["from_owner_type"], row["from_owner_id"])
        position[item] = (row["to_owner_type"], row["to_owner_id"])
    assert position == final

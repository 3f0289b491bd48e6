"""Items and containers on a real PostgreSQL: one owner per item, atomic moves, corpses."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from persistence.errors import (
    ContainerFullError,
    ContainerLockedError,
    DuplicateError,
    ItemNotOwnedError,
    NotFoundError,
    OperationReusedError,
    ValidationError,
)
from persistence.events import (
    ContainerCreated,
    ContainerRemoved,
    ContainerUpdated,
    CorpseCreated,
    ItemCreated,
    ItemsTransferred,
)
from persistence.facade import AsyncPersistenceLayer
from persistence.models.container import Container
from persistence.models.item import ItemInstance
from tests.conftest import RecordingBus
from tests.factories import FOYER, HALLWAY, new_player
from tests.integration.test_player_repository import count_queries

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def _rooms_exist(layer: AsyncPersistenceLayer) -> None:
    """Items and containers in a room need the room (a foreign key): the sample world."""
    await layer.seed_world()


MOVES_ONLY = "WHERE reason <> 'created'"
"""The ledger's moves, without the creation row every item starts with."""


def iid() -> str:
    return f"item-{uuid.uuid4().hex[:16]}"


async def a_player(layer: AsyncPersistenceLayer) -> str:
    player = new_player()
    await layer.players.save_player(player)
    return str(player.player_id)


async def chest(layer: AsyncPersistenceLayer, **options: Any) -> Container:
    return await layer.containers.create_container("environment", room_id=FOYER, **options)


async def owners(conn: asyncpg.Connection) -> dict[str, tuple[str, str]]:
    rows = await conn.fetch("SELECT item_instance_id, owner_type, owner_id FROM item_instances")
    return {r["item_instance_id"]: (r["owner_type"], r["owner_id"]) for r in rows}


class TestItems:
    async def test_create_read_and_inventory(
        self, layer: AsyncPersistenceLayer, bus: RecordingBus
    ) -> None:
        pid = await a_player(layer)
        first = await layer.items.create_item_instance(
            iid(),
            "weapon.knife",
            owner_type="player",
            owner_id=pid,
            position=1,
            quantity=3,
            custom_name="Old Knife",
            metadata={"runes": ["ᚠ"]},
            flags_override=["cursed"],
        )
        second = await layer.items.create_item_instance(
            iid(), "book.necronomicon", owner_type="player", owner_id=pid.upper(), position=0
        )
        assert isinstance(first, ItemInstance)
        assert (first.quantity, first.custom_name, first.metadata) == (
            3,
            "Old Knife",
            {"runes": ["ᚠ"]},
        )
        assert second.owner_id == pid  # uuids are stored in one canonical form
        inventory = await layer.items.get_items_by_owner("player", pid)
        assert [i.item_instance_id for i in inventory] == [
            second.item_instance_id,
            first.item_instance_id,
        ]
        assert await layer.items.item_instance_exists(first.item_instance_id)
        assert not await layer.items.item_instance_exists("nope")
        assert await layer.items.get_item_instance("nope") is None
        assert len(bus.of(ItemCreated)) == 2

    async def test_ensure_never_resets_an_existing_item(self, layer: AsyncPersistenceLayer) -> None:
        item_id = iid()
        await layer.items.create_item_instance(
            item_id,
            "ring.gold",
            owner_id=FOYER,
            custom_name="Grandma's ring",
            condition=42,
            binding_state="soulbound",
            attunement_state={"to": "Armitage"},
        )
        again = await layer.items.ensure_item_instance(
            item_id, "ring.gold", owner_id=HALLWAY, custom_name=None, condition=100
        )
        assert (again.custom_name, again.condition, again.binding_state) == (
            "Grandma's ring",
            42,
            "soulbound",
        )
        assert (again.owner_id, again.attunement_state) == (FOYER, {"to": "Armitage"})
        created = await layer.items.ensure_item_instance(iid(), "ring.silver", owner_id=HALLWAY)
        assert created.owner_id == HALLWAY

    async def test_create_twice_is_a_duplicate(self, layer: AsyncPersistenceLayer) -> None:
        item_id = iid()
        await layer.items.create_item_instance(item_id, "coin", owner_id=FOYER)
        with pytest.raises(DuplicateError):
            await layer.items.create_item_instance(item_id, "coin", owner_id=HALLWAY)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"quantity": 0},
            {"quantity": True},
            {"quantity": 1.5},
            {"owner_id": None},
            {"owner_type": "bank", "owner_id": "x"},
            {"owner_type": "player", "owner_id": "not-a-uuid"},
            {"item_instance_id": "x" * 65},
            {"item_instance_id": ""},
            {"prototype_id": None},
            {"metadata": ["not", "a", "dict"]},
            {"unknown_field": 1},
            {"position": -1},
        ],
    )
    async def test_bad_items_are_refused_before_sql(
        self,
        layer: AsyncPersistenceLayer,
        clean_db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch,
        kwargs: dict[str, Any],
    ) -> None:
        values: dict[str, Any] = {
            "item_instance_id": iid(),
            "prototype_id": "coin",
            "owner_id": FOYER,
        }
        values.update(kwargs)
        sent = count_queries(layer, monkeypatch)
        with pytest.raises(ValidationError):
            await layer.items.create_item_instance(**values)
        assert sent == []
        assert await clean_db.fetchval("SELECT count(*) FROM item_instances") == 0

    async def test_creating_into_a_container_respects_capacity(
        self, layer: AsyncPersistenceLayer
    ) -> None:
        box = await chest(layer, capacity_slots=2)
        cid = str(box.container_id)
        a = await layer.items.create_item_instance(
            iid(), "gem", owner_type="container", owner_id=cid
        )
        b = await layer.items.create_item_instance(
            iid(), "gem", owner_type="container", owner_id=cid
        )
        assert (a.position, b.position) == (0, 1)
        with pytest.raises(ContainerFullError):
            await layer.items.create_item_instance(
                iid(), "gem", owner_type="container", owner_id=cid
            )
        with pytest.raises(NotFoundError):
            await layer.items.create_item_instance(
                iid(), "gem", owner_type="container", owner_id=str(uuid.uuid4())
            )


class TestContainers:
    async def test_create_with_items_returns_a_typed_container_in_order(
        self, layer: AsyncPersistenceLayer, bus: RecordingBus
    ) -> None:
        ids = [iid() for _ in range(3)]
        box = await layer.containers.create_container(
            "environment",
            room_id=FOYER,
            capacity_slots=5,
            metadata={"label": "dusty chest"},
            allowed_roles=["admin"],
            items=[
                {"item_instance_id": i, "prototype_id": "scroll", "quantity": n + 1}
                for n, i in enumerate(ids)
            ],
        )
        assert isinstance(box, Container)
        assert [i.item_instance_id for i in box.items] == ids
        assert [i.position for i in box.items] == [0, 1, 2]
        assert all(isinstance(i, ItemInstance) for i in box.items)
        assert (box.metadata, box.allowed_roles, box.capacity_slots) == (
            {"label": "dusty chest"},
            ["admin"],
            5,
        )
        assert bus.of(ContainerCreated)[0].item_instance_ids == tuple(ids)
        fetched = await layer.containers.get_container(box.container_id)
        assert fetched is not None
        assert [i.item_instance_id for i in fetched.items] == ids
        assert await layer.get_container(uuid.uuid4()) is None

    async def test_container_and_contents_appear_together_or_not_at_all(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        taken = iid()
        await layer.items.create_item_instance(taken, "coin", owner_id=HALLWAY)
        with pytest.raises(DuplicateError):
            await layer.containers.create_container(
                "environment",
                room_id=FOYER,
                items=[
                    {"item_instance_id": iid(), "prototype_id": "gem"},
                    {"item_instance_id": taken, "prototype_id": "gem"},
                ],
            )
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 0
        assert await clean_db.fetchval("SELECT count(*) FROM item_instances") == 1

    @pytest.mark.parametrize(
        ("source_type", "kwargs"),
        [
            ("environment", {}),
            ("corpse", {"entity_id": uuid.uuid4()}),
            ("equipment", {"room_id": FOYER}),
            ("backpack", {"room_id": FOYER}),
            ("environment", {"room_id": FOYER, "capacity_slots": 0}),
            ("environment", {"room_id": FOYER, "capacity_slots": 21}),
            ("environment", {"room_id": FOYER, "capacity_slots": True}),
            ("environment", {"room_id": FOYER, "lock_state": "ajar"}),
            ("environment", {"room_id": FOYER, "weight_limit": 0}),
            (
                "environment",
                {
                    "room_id": FOYER,
                    "capacity_slots": 1,
                    "items": [
                        {"item_instance_id": "a", "prototype_id": "x"},
                        {"item_instance_id": "b", "prototype_id": "x"},
                    ],
                },
            ),
            ("environment", {"room_id": FOYER, "metadata": "text"}),
        ],
    )
    async def test_bad_containers_are_refused_before_sql(
        self,
        layer: AsyncPersistenceLayer,
        monkeypatch: pytest.MonkeyPatch,
        source_type: str,
        kwargs: dict[str, Any],
    ) -> None:
        sent = count_queries(layer, monkeypatch)
        with pytest.raises(ValidationError):
            await layer.containers.create_container(source_type, **kwargs)
        assert sent == []

    async def test_lookups_by_room_and_entity(self, layer: AsyncPersistenceLayer) -> None:
        wearer = await a_player(layer)  # an equipment container's player must exist
        one = await chest(layer)
        two = await chest(layer, items=[{"item_instance_id": iid(), "prototype_id": "gem"}])
        pack = await layer.containers.create_container("equipment", entity_id=wearer)
        in_room = await layer.containers.get_containers_by_room_id(FOYER)
        assert [c.container_id for c in in_room] == [one.container_id, two.container_id]
        assert [len(c.items) for c in in_room] == [0, 1]
        worn = await layer.containers.get_containers_by_entity_id(wearer)
        assert [c.container_id for c in worn] == [pack.container_id]
        assert await layer.containers.get_containers_by_room_id("empty_room") == []

    async def test_update(self, layer: AsyncPersistenceLayer, bus: RecordingBus) -> None:
        box = await chest(layer)
        updated = await layer.containers.update_container(box.container_id, lock_state="locked")
        assert updated.lock_state == "locked"
        updated = await layer.containers.update_container(
            box.container_id, metadata={"key": "brass"}
        )
        assert (updated.lock_state, updated.metadata) == ("locked", {"key": "brass"})
        assert [e.fields for e in bus.of(ContainerUpdated)] == [("lock_state",), ("metadata",)]
        with pytest.raises(ValidationError):
            await layer.containers.update_container(box.container_id)
        with pytest.raises(ValidationError):
            await layer.containers.update_container(box.container_id, lock_state="open")
        with pytest.raises(NotFoundError):
            await layer.containers.update_container(uuid.uuid4(), lock_state="locked")

    async def test_delete_drops_or_deletes_contents(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        kept, gone = iid(), iid()
        box = await chest(layer, items=[{"item_instance_id": kept, "prototype_id": "gem"}])
        assert await layer.containers.delete_container(box.container_id) is True
        assert (await owners(clean_db))[kept] == ("room", FOYER)
        other = await chest(layer, items=[{"item_instance_id": gone, "prototype_id": "gem"}])
        assert await layer.containers.delete_container(other.container_id, contents="delete")
        assert gone not in await owners(clean_db)
        assert await layer.containers.delete_container(other.container_id) is False
        assert [e.contents for e in bus.of(ContainerRemoved)] == ["drop", "delete"]

    async def test_equipment_without_a_room_cannot_drop_its_items(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        item = iid()
        pack = await layer.containers.create_container(
            "equipment",
            entity_id=await a_player(layer),
            items=[{"item_instance_id": item, "prototype_id": "rope"}],
        )
        with pytest.raises(ValidationError):
            await layer.containers.delete_container(pack.container_id)
        assert await layer.containers.get_container(pack.container_id) is not None
        assert (await owners(clean_db))[item] == ("container", str(pack.container_id))

    async def test_decay(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        now = datetime.now(UTC)
        old_item = iid()
        old = await chest(
            layer,
            decay_at=now - timedelta(minutes=1),
            items=[{"item_instance_id": old_item, "prototype_id": "bone"}],
        )
        fresh = await chest(layer, decay_at=now + timedelta(hours=1))
        await chest(layer)  # never decays
        decayed = await layer.containers.get_decayed_containers()
        assert [c.container_id for c in decayed] == [old.container_id]
        assert [i.item_instance_id for i in decayed[0].items] == [old_item]
        later = await layer.containers.get_decayed_containers(now + timedelta(hours=2))
        assert [c.container_id for c in later] == [old.container_id, fresh.container_id]
        assert await layer.containers.remove_decayed_containers() == [old.container_id]
        assert (await owners(clean_db))[old_item] == ("room", FOYER)
        removed = bus.of(ContainerRemoved)
        assert (removed[0].decayed, removed[0].item_instance_ids) == (True, (old_item,))
        assert await clean_db.fetchval("SELECT count(*) FROM containers") == 2


class TestTransfers:
    async def test_move_into_a_container(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        pid = await a_player(layer)
        box = await chest(layer, items=[{"item_instance_id": iid(), "prototype_id": "gem"}])
        item = await layer.items.create_item_instance(
            iid(), "knife", owner_type="player", owner_id=pid
        )
        result = await layer.items.transfer_item(
            item.item_instance_id,
            from_owner=("player", pid),
            to_owner=("container", box.container_id),
        )
        assert result.positions == (1,)
        assert result.replayed is False
        refreshed = await layer.containers.require_container(box.container_id)
        assert [i.item_instance_id for i in refreshed.items][-1] == item.item_instance_id
        assert await layer.items.get_items_by_owner("player", pid) == []
        ledger = await clean_db.fetch(f"SELECT * FROM item_movements {MOVES_ONLY} ORDER BY id")
        assert [(r["from_owner_type"], r["to_owner_type"]) for r in ledger] == [
            ("player", "container")
        ]
        assert bus.of(ItemsTransferred)[0].to_owner == ("container", str(box.container_id))

    async def test_wrong_owner_moves_nothing(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        pid, thief = await a_player(layer), await a_player(layer)
        item = await layer.items.create_item_instance(
            iid(), "coin", owner_type="player", owner_id=pid
        )
        with pytest.raises(ItemNotOwnedError) as info:
            await layer.items.transfer_item(
                item.item_instance_id, from_owner=("player", thief), to_owner=("room", FOYER)
            )
        assert info.value.actual_owner == ("player", pid)
        assert (await owners(clean_db))[item.item_instance_id] == ("player", pid)
        assert await clean_db.fetchval(f"SELECT count(*) FROM item_movements {MOVES_ONLY}") == 0

    async def test_full_and_locked_containers(self, layer: AsyncPersistenceLayer) -> None:
        pid = await a_player(layer)
        full = await chest(
            layer, capacity_slots=1, items=[{"item_instance_id": iid(), "prototype_id": "gem"}]
        )
        locked = await chest(
            layer, lock_state="locked", items=[{"item_instance_id": iid(), "prototype_id": "gem"}]
        )
        item = await layer.items.create_item_instance(
            iid(), "coin", owner_type="player", owner_id=pid
        )
        with pytest.raises(ContainerFullError):
            await layer.items.transfer_item(
                item.item_instance_id,
                from_owner=("player", pid),
                to_owner=("container", full.container_id),
            )
        with pytest.raises(ContainerLockedError):
            await layer.items.transfer_item(
                item.item_instance_id,
                from_owner=("player", pid),
                to_owner=("container", locked.container_id),
            )
        with pytest.raises(ContainerLockedError):
            await layer.items.transfer_item(
                locked.items[0].item_instance_id,
                from_owner=("container", locked.container_id),
                to_owner=("player", pid),
            )
        with pytest.raises(NotFoundError):
            await layer.items.transfer_item(
                item.item_instance_id, from_owner=("player", pid), to_owner=("player", uuid.uuid4())
            )
        with pytest.raises(NotFoundError):
            await layer.items.transfer_item(
                "missing", from_owner=("player", pid), to_owner=("room", FOYER)
            )

    async def test_several_items_all_or_nothing(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        pid = await a_player(layer)
        mine = [
            (
                await layer.items.create_item_instance(
                    iid(), "coin", owner_type="player", owner_id=pid
                )
            ).item_instance_id
            for _ in range(3)
        ]
        elsewhere = (
            await layer.items.create_item_instance(iid(), "coin", owner_id=HALLWAY)
        ).item_instance_id
        before = await owners(clean_db)
        with pytest.raises(ItemNotOwnedError):
            await layer.items.transfer_items(
                [*mine, elsewhere], from_owner=("player", pid), to_owner=("room", FOYER)
            )
        assert await owners(clean_db) == before
        result = await layer.items.transfer_items(
            mine, from_owner=("player", pid), to_owner=("room", FOYER)
        )
        assert result.item_instance_ids == tuple(mine)
        after = await owners(clean_db)
        assert all(after[i] == ("room", FOYER) for i in mine)

    async def test_op_id_makes_a_transfer_idempotent(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        pid = await a_player(layer)
        item = (
            await layer.items.create_item_instance(iid(), "coin", owner_type="player", owner_id=pid)
        ).item_instance_id
        first = await layer.items.transfer_item(
            item, from_owner=("player", pid), to_owner=("room", FOYER), op_id="loot-1"
        )
        again = await layer.items.transfer_item(
            item, from_owner=("player", pid), to_owner=("room", FOYER), op_id="loot-1"
        )
        assert (first.replayed, again.replayed) == (False, True)
        assert again.item_instance_ids == first.item_instance_ids
        assert await clean_db.fetchval(f"SELECT count(*) FROM item_movements {MOVES_ONLY}") == 1
        assert len(bus.of(ItemsTransferred)) == 1
        with pytest.raises(OperationReusedError):
            await layer.items.transfer_item(
                item, from_owner=("room", FOYER), to_owner=("player", pid), op_id="loot-1"
            )

    async def test_concurrent_repeats_of_one_op_id_move_once(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        pid = await a_player(layer)
        item = (
            await layer.items.create_item_instance(iid(), "coin", owner_type="player", owner_id=pid)
        ).item_instance_id
        results = await asyncio.gather(
            *(
                layer.items.transfer_item(
                    item, from_owner=("player", pid), to_owner=("room", FOYER), op_id="once"
                )
                for _ in range(10)
            )
        )
        assert sorted(r.replayed for r in results) == [False] + [True] * 9
        assert await clean_db.fetchval(f"SELECT count(*) FROM item_movements {MOVES_ONLY}") == 1

    async def test_two_looters_race_for_one_item(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        looters = [await a_player(layer) for _ in range(2)]
        for _round in range(20):
            box = await chest(layer, items=[{"item_instance_id": iid(), "prototype_id": "idol"}])
            item = box.items[0].item_instance_id
            outcomes = await asyncio.gather(
                *(
                    layer.items.transfer_item(
                        item, from_owner=("container", box.container_id), to_owner=("player", who)
                    )
                    for who in looters
                ),
                return_exceptions=True,
            )
            wins = [o for o in outcomes if not isinstance(o, BaseException)]
            losses = [o for o in outcomes if isinstance(o, ItemNotOwnedError)]
            assert (len(wins), len(losses)) == (1, 1), outcomes
            owner = (await owners(clean_db))[item]
            assert owner == ("player", wins[0].to_owner.owner_id)


class TestCorpses:
    async def test_corpse_takes_the_inventory(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, bus: RecordingBus
    ) -> None:
        player = new_player("Doomed")
        await layer.players.save_player(player)
        pid = str(player.player_id)
        ids = [iid() for _ in range(3)]
        for n, item in enumerate(ids):
            await layer.items.create_item_instance(
                item, "coin", owner_type="player", owner_id=pid, position=2 - n
            )
        before = datetime.now(UTC)
        corpse = await layer.containers.create_corpse(player.player_id, HALLWAY)
        assert corpse.source_type == "corpse"
        assert (corpse.room_id, corpse.owner_id) == (HALLWAY, player.player_id)
        assert [i.item_instance_id for i in corpse.items] == list(reversed(ids))
        assert corpse.metadata["player_name"] == "Doomed"
        assert corpse.metadata["grace_period_seconds"] == 300
        assert corpse.decay_at is not None
        assert timedelta(minutes=59) < corpse.decay_at - before < timedelta(minutes=61)
        assert await layer.items.get_items_by_owner("player", pid) == []
        assert bus.of(CorpseCreated)[0].item_instance_ids == tuple(reversed(ids))

    async def test_more_than_twenty_items_spill_on_the_floor(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        pid = await a_player(layer)
        for n in range(25):
            await layer.items.create_item_instance(
                iid(), "coin", owner_type="player", owner_id=pid, position=n
            )
        corpse = await layer.containers.create_corpse(pid, FOYER, decay_after=timedelta(minutes=5))
        assert len(corpse.items) == 20
        floor = await layer.items.get_items_by_owner("room", FOYER)
        assert len(floor) == 5
        assert await clean_db.fetchval("SELECT count(*) FROM item_instances") == 25

    async def test_unknown_player(self, layer: AsyncPersistenceLayer) -> None:
        with pytest.raises(NotFoundError):
            await layer.containers.create_corpse(uuid.uuid4(), FOYER)

    async def test_corpse_while_items_leave_the_inventory(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        for _round in range(10):
            pid = await a_player(layer)
            ids = [iid() for _ in range(15)]
            for item in ids:
                await layer.items.create_item_instance(
                    item, "coin", owner_type="player", owner_id=pid
                )

            async def drop(item: str, pid: str = pid) -> str | None:
                try:
                    await layer.items.transfer_item(
                        item, from_owner=("player", pid), to_owner=("room", HALLWAY)
                    )
                except ItemNotOwnedError:
                    return None
                return item

            corpse_task = asyncio.create_task(layer.containers.create_corpse(pid, FOYER))
            dropped = {i for i in await asyncio.gather(*(drop(i) for i in ids)) if i}
            corpse = await corpse_task
            in_corpse = {i.item_instance_id for i in corpse.items}
            assert dropped.isdisjoint(in_corpse)
            assert dropped | in_corpse == set(ids)
            final = await owners(clean_db)
            for item in ids:
                expected = (
                    ("room", HALLWAY)
                    if item in dropped
                    else ("container", str(corpse.container_id))
                )
                assert final[item] == expected


async def test_deleting_a_player_takes_their_items_and_gear(
    layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
) -> None:
    pid = await a_player(layer)
    await layer.items.create_item_instance(iid(), "coin", owner_type="player", owner_id=pid)
    pack = await layer.containers.create_container(
        "equipment", entity_id=pid, items=[{"item_instance_id": iid(), "prototype_id": "rope"}]
    )
    floor = await layer.items.create_item_instance(iid(), "coin", owner_id=FOYER)
    assert await layer.players.delete_player(pid)
    assert await layer.containers.get_container(pack.container_id) is None
    assert set(await owners(clean_db)) == {floor.item_instance_id}


CREATIONS = (
    "SELECT item_instance_id, from_owner_type, from_owner_id, to_owner_type, to_owner_id, op_id"
    " FROM item_movements WHERE reason = 'created' ORDER BY id"
)


class TestCreationLedger:
    """Every item's first ledger row is its creation: from nowhere to its first owner."""

    async def test_each_way_of_creating_an_item_records_its_first_owner(
        self,
        layer: AsyncPersistenceLayer,
        clean_db: asyncpg.Connection,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        pid = await a_player(layer)
        on_floor, held, kept = iid(), iid(), iid()
        sent = count_queries(layer, monkeypatch)
        await layer.items.create_item_instance(on_floor, "coin", owner_type="room", owner_id=FOYER)
        assert len(sent) == 1  # the creation row is written by the insert's own statement
        await layer.items.create_item_instance(held, "knife", owner_type="player", owner_id=pid)
        await layer.items.ensure_item_instance(kept, "gem", owner_type="player", owner_id=pid)
        await layer.items.ensure_item_instance(kept, "gem", owner_type="room", owner_id=FOYER)
        in_box = [iid(), iid()]
        box = await chest(
            layer, items=[{"item_instance_id": i, "prototype_id": "gem"} for i in in_box]
        )
        added = iid()
        await layer.items.create_item_instance(
            added, "gem", owner_type="container", owner_id=box.container_id
        )
        spare, _ = await layer.containers.ensure_container(
            uuid.uuid4(),
            "environment",
            room_id=FOYER,
            items=[{"item_instance_id": iid(), "prototype_id": "coin"}],
        )
        with pytest.raises(DuplicateError):
            await layer.items.create_item_instance(held, "knife", owner_type="room", owner_id=FOYER)
        with pytest.raises(DuplicateError):  # the container and its items roll back together
            await chest(layer, items=[{"item_instance_id": on_floor, "prototype_id": "gem"}])

        box_id, spare_id = str(box.container_id), str(spare.container_id)
        rows = [tuple(r) for r in await clean_db.fetch(CREATIONS)]
        assert rows == [
            (on_floor, None, None, "room", FOYER, None),
            (held, None, None, "player", pid, None),
            (kept, None, None, "player", pid, None),
            *((i, None, None, "container", box_id, None) for i in in_box),
            (added, None, None, "container", box_id, None),
            (spare.items[0].item_instance_id, None, None, "container", spare_id, None),
        ]
        assert await clean_db.fetchval("SELECT count(*) FROM item_movements") == len(rows)
        assert (await layer.audit()).ok

    async def test_moves_follow_the_creation_and_the_audit_replays_them(
        self, layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
    ) -> None:
        pid = await a_player(layer)
        item = iid()
        await layer.items.create_item_instance(item, "coin", owner_type="player", owner_id=pid)
        await layer.items.transfer_item(item, from_owner=("player", pid), to_owner=("room", FOYER))
        await layer.items.delete_item_instance(item)
        # The same id again: a new creation starts its history, the old rows stay.
        await layer.items.create_item_instance(item, "coin", owner_type="room", owner_id=HALLWAY)
        ledger = await clean_db.fetch(
            "SELECT from_owner_type, to_owner_id, reason FROM item_movements"
            " WHERE item_instance_id = $1 ORDER BY id",
            item,
        )
        assert [tuple(r) for r in ledger] == [
            (None, pid, "created"),
            ("player", FOYER, "transfer"),
            (None, HALLWAY, "created"),
        ]
        assert (await layer.audit()).ok

"""One scenario, run against the in-memory twins and the real repositories: same results.

This is what makes the twins trustworthy for unit tests of game code: every outcome below
(values, errors, inventories, container contents, events) must be identical.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from persistence.errors import NotFoundError, PersistenceError
from persistence.facade import AsyncPersistenceLayer
from persistence.protocols import PersistenceProtocol
from persistence.settings import PersistenceSettings
from persistence.testing import InMemoryPersistence, RecordingEventBus, make_player
from persistence.testing.database import make_settings

pytestmark = pytest.mark.integration

FOYER = "earth_arkhamcity_sanitarium_room_foyer_001"
HALL = "earth_arkhamcity_sanitarium_room_hallway_001"
A = uuid.UUID(int=1)
B = uuid.UUID(int=2)


async def outcome(call: Any) -> Any:
    """The value of a call, or the name of the package error it raised (and what it names)."""
    try:
        return await call
    except NotFoundError as exc:
        return f"{type(exc).__name__}({exc.entity})"
    except PersistenceError as exc:
        return type(exc).__name__


async def scenario(p: PersistenceProtocol, bus: RecordingEventBus) -> list[Any]:
    out: list[Any] = []
    alice = make_player("Alice", player_id=A, user_id=A)
    bob = make_player(
        "Bob", player_id=B, user_id=B, stats={"max_health": 150, "current_health": 150}
    )
    out.append(await outcome(p.players.save_players([alice, bob])))
    out.append(await outcome(p.players.save_player(make_player("ALICE"))))
    out.append((await p.players.require_player(A)).name)
    out.append([x.name for x in await p.players.list_players()])
    # health, xp, stats, batches, op_ids
    out.append(await outcome(p.health.update_player_health(A, -30, "trap")))
    out.append(await outcome(p.health.damage_player(bob, 200, "fire")))
    out.append(bob.stats.current_health)
    out.append(await outcome(p.health.heal_player(alice, 500)))
    out.append(await outcome(p.health.heal_player(alice, -1)))
    change = await p.experience.update_player_xp(A, 250, "quest")
    out.append((change.old_xp, change.new_xp, change.old_level, change.new_level))
    out.append((await p.experience.gain_experience(bob, 99)).new_level)
    out.append(await outcome(p.experience.update_player_stat_field(A, "fear", 150)))
    out.append(await outcome(p.experience.update_player_stat_field(A, "max_health", -60)))
    out.append(await outcome(p.experience.update_player_stat_field(A, "position", 1)))
    out.append(await outcome(p.experience.update_player_stat_field(A, "fear'; --", 1)))
    out.append(await outcome(p.health.apply_health_deltas({A: -10, B: 20}, "area")))
    out.append(await outcome(p.health.apply_health_deltas({A: -10, uuid.UUID(int=9): 1})))
    out.append(await outcome(p.health.update_player_health(A, -5, op_id="op-1")))
    out.append(await outcome(p.health.update_player_health(A, -5, op_id="op-1")))
    out.append(await outcome(p.health.update_player_health(A, -6, op_id="op-1")))
    # saves: changed fields only, compare-and-set
    loaded = await p.players.require_player(A)
    await p.health.update_player_health(A, -1)
    loaded.current_room_id = HALL
    out.append(await outcome(p.players.save_player(loaded)))
    fresh = await p.players.require_player(A)
    out.append((fresh.current_room_id, fresh.stats.current_health))
    stale = await p.players.require_player(A)
    await p.health.update_player_health(A, -1)
    stale.stats.current_health = 10
    out.append(await outcome(p.players.save_player(stale)))
    # items and containers
    await p.items.save_prototypes(
        [
            {"prototype_id": "coin", "name": "Coin", "weight": 1},
            {"prototype_id": "gem", "name": "Gem", "weight": 2},
        ]
    )
    for n in range(3):
        await p.items.create_item_instance(
            f"a-{n}", "coin", owner_type="player", owner_id=str(A), position=n
        )
    chest = await p.containers.create_container(
        "environment",
        room_id=FOYER,
        capacity_slots=2,
        items=[{"item_instance_id": "c-0", "prototype_id": "gem"}],
    )
    cid = str(chest.container_id)
    out.append(await outcome(p.items.create_item_instance("a-0", "coin", owner_id=FOYER)))
    moved = await p.items.transfer_item(
        "a-0", from_owner=("player", A), to_owner=("container", cid)
    )
    out.append(moved.positions)
    out.append(
        await outcome(
            p.items.transfer_item("a-1", from_owner=("player", A), to_owner=("container", cid))
        )
    )
    out.append(
        await outcome(
            p.items.transfer_item("a-1", from_owner=("player", B), to_owner=("room", FOYER))
        )
    )
    out.append([i.item_instance_id for i in (await p.containers.require_container(cid)).items])
    await p.containers.update_container(cid, lock_state="locked")
    out.append(
        await outcome(
            p.items.transfer_item("c-0", from_owner=("container", cid), to_owner=("player", B))
        )
    )
    out.append(
        await outcome(
            p.items.transfer_items(
                ["a-1", "a-2"], from_owner=("player", A), to_owner=("player", B), op_id="give"
            )
        )
    )
    out.append(
        await outcome(
            p.items.transfer_items(
                ["a-1", "a-2"], from_owner=("player", A), to_owner=("player", B), op_id="give"
            )
        )
    )
    out.append([i.item_instance_id for i in await p.items.get_items_by_owner("player", B)])
    # corpse and decay
    corpse = await p.containers.create_corpse(B, HALL)
    out.append((corpse.source_type, corpse.room_id, [i.item_instance_id for i in corpse.items]))
    out.append(await p.items.get_items_by_owner("player", B))
    await p.containers.update_container(cid, lock_state="unlocked")
    out.append(await p.containers.delete_container(corpse.container_id))
    out.append(sorted(i.item_instance_id for i in await p.items.get_items_by_owner("room", HALL)))
    out.append(await p.containers.delete_container(corpse.container_id))
    # the room fix
    lost = make_player("Lost", current_room_id="earth_nowhere_room_001")
    await p.players.save_player(lost)
    out.append(await p.players.validate_and_fix_player_room(lost))
    out.append(lost.current_room_id)
    ghost = make_player("Ghost", current_room_id="earth_nowhere_room_002")
    await p.players.save_player(ghost)
    await p.players.soft_delete_player(ghost.player_id)
    out.append(await p.players.validate_and_fix_player_room(ghost))  # the copy is stale
    out.append(
        (ghost.current_room_id, (await p.players.require_player(ghost.player_id)).current_room_id)
    )
    # the calls every MUD writes: get-or-create, move, scene, death, fixed containers
    wil, created = await p.players.get_or_create_player("Wil", user_id=uuid.UUID(int=3))
    out.append((wil.name, wil.current_room_id, created))
    out.append((await p.players.get_or_create_player("WIL"))[1])
    out.append(await outcome(p.players.get_or_create_player("wil", user_id=uuid.UUID(int=4))))
    out.append((await p.players.move_player(wil, "north")).room_id)
    out.append(await outcome(p.players.move_player(wil, "sideways")))
    stale_wil = await p.players.require_player(wil.player_id)
    await p.players.move_player(wil, "south")
    out.append(await outcome(p.players.move_player(stale_wil, "east")))
    out.append(stale_wil.current_room_id)
    out.append((await p.players.move_player(stale_wil, "north")).room_id)  # from the foyer
    await p.players.move_player(stale_wil, "south")
    scene = await p.rooms.read_scene(FOYER)
    out.append(
        (
            [x.name for x in scene.players],
            [len(c.items) for c in scene.containers],
            [i.item_instance_id for i in scene.items],
        )
    )
    await p.items.create_item_instance("w-0", "coin", owner_type="player", owner_id=wil.player_id)
    blows = [await p.health.change_health(wil, -60, "blow") for _ in range(2)]
    out.append([(c.old_hp, c.new_hp, c.died) for c in blows])
    out.append(await outcome(p.containers.create_corpse_for(blows[0])))
    first = await p.containers.create_corpse_for(blows[1])
    again = await p.containers.create_corpse_for(blows[1])
    out.append((first.container_id == again.container_id, first.room_id))
    out.append([i.item_instance_id for i in first.items])
    batch = await p.health.change_health_batch({A: 0, B: -1000}, "meteor")
    out.append(sorted((c.new_hp, c.died) for c in batch.values()))
    fixed = uuid.UUID(int=77)
    made = await p.containers.ensure_container(fixed, "environment", room_id=HALL)
    kept = await p.containers.ensure_container(fixed, "environment", room_id=HALL)
    out.append((made[1], kept[1], kept[0].container_id == fixed))
    out.append(await outcome(p.containers.ensure_container(fixed, "environment", room_id=FOYER)))
    # several characters, soft delete, rooms, prototypes and weight (issue 14)
    alt = make_player("Alt", user_id=A)
    await p.players.save_player(alt)
    out.append(await p.players.soft_delete_player(alt.player_id))
    out.append([(x.name, x.is_deleted) for x in await p.players.get_players_by_user_id(A)])
    out.append([x.name for x in await p.players.get_active_players_by_user_id(A)])
    out.append(await p.players.get_player_by_name("alt"))
    out.append(await outcome(p.health.update_player_health(alt.player_id, -1)))
    await p.players.save_player(make_player("ALT"))
    out.append(await outcome(p.players.restore_player(alt.player_id)))
    out.append(len(await p.players.list_players(include_deleted=True)))
    out.append(
        await outcome(
            p.rooms.save_rooms(
                [
                    {
                        "room_id": "r_x",
                        "name": "X",
                        "plane": "p",
                        "zone": "z",
                        "sub_zone": "s",
                        "exits": {"north": "r_nowhere"},
                    }
                ]
            )
        )
    )
    out.append(
        await p.rooms.save_rooms(
            [
                {
                    "room_id": "r_x",
                    "name": "X",
                    "plane": "p",
                    "zone": "z",
                    "sub_zone": "s",
                    "exits": {"west": FOYER},
                }
            ]
        )
    )
    out.append(p.rooms.get_room_by_id("r_x") is not None)
    out.append(await outcome(p.rooms.delete_room(FOYER)))
    out.append(await p.rooms.delete_room("r_x"))
    out.append(p.rooms.get_room_by_id("r_x"))
    await p.items.save_prototypes([{"prototype_id": "anvil", "name": "Anvil", "weight": 6}])
    sack = await p.containers.create_container("environment", room_id=HALL, weight_limit=10)
    first_anvil = await p.items.create_item_instance(
        "anv-1", "anvil", owner_type="container", owner_id=sack.container_id
    )
    out.append((first_anvil.item_instance_id, first_anvil.position))
    out.append(
        await outcome(
            p.items.create_item_instance(
                "anv-2", "anvil", owner_type="container", owner_id=sack.container_id
            )
        )
    )
    out.append(await outcome(p.items.create_item_instance("nope-1", "no.such", owner_id=FOYER)))
    out.append([x.prototype_id for x in await p.items.list_prototypes()])
    # what a refused create names: the real checks' order (weight, room, id, prototype)
    for room, limit, proto, item_id in (
        ("r_nowhere", 5, "no.such", "w-1"),  # weighed before the room is written
        ("r_nowhere", 5, "anvil", "w-1"),  # too heavy, before the room
        ("r_nowhere", None, "no.such", "anv-1"),  # the room before the items
        (HALL, 50, "no.such", "anv-1"),  # weighed before the items are written
        (HALL, None, "no.such", "anv-1"),  # a taken id before an unknown prototype
    ):
        items = [{"item_instance_id": item_id, "prototype_id": proto}]
        out.append(
            await outcome(
                p.containers.create_container(
                    "environment", room_id=room, weight_limit=limit, items=items
                )
            )
        )
    tiny = await p.containers.create_container(
        "environment",
        room_id=HALL,
        capacity_slots=1,
        items=[{"item_instance_id": "t-0", "prototype_id": "coin"}],
    )
    for proto, owner_type, owner in (
        ("anvil", "container", uuid.UUID(int=404)),  # the container is locked first
        ("anvil", "container", tiny.container_id),  # full, before the id
        ("anvil", "container", sack.container_id),  # too heavy, before the id
        ("no.such", "container", sack.container_id),  # weighed, before the id
        ("anvil", "room", "r_nowhere"),  # the id before the owner's foreign key
        ("no.such", "room", "r_nowhere"),  # the owner before the prototype
    ):
        out.append(
            await outcome(
                p.items.create_item_instance("anv-1", proto, owner_type=owner_type, owner_id=owner)
            )
        )
    # an equipment container needs a player that exists (a foreign key, migration 9)
    for entity in (uuid.UUID(int=405), A):
        made = await outcome(
            p.containers.create_container(
                "equipment",
                entity_id=entity,
                items=[{"item_instance_id": f"worn-{entity.int}", "prototype_id": "coin"}],
            )
        )
        out.append(made if isinstance(made, str) else [i.item_instance_id for i in made.items])
    # a transaction that fails leaves nothing behind
    try:
        async with p.transaction():
            await p.health.update_player_health(A, -1)
            await p.items.create_item_instance("ghost", "coin", owner_id=FOYER)
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    out.append(await p.items.item_instance_exists("ghost"))
    out.append((await p.players.require_player(A)).stats.current_health)
    out.append([type(e).__name__ for e in bus.published])
    return out


async def test_twins_and_real_repositories_agree(
    mud_layer: AsyncPersistenceLayer, mud_event_bus: RecordingEventBus
) -> None:
    await mud_layer.seed_world()
    mud_event_bus.published.clear()
    real = await scenario(mud_layer, mud_event_bus)

    twin_bus = RecordingEventBus()
    async with InMemoryPersistence(event_bus=twin_bus) as memory:
        await memory.seed_world()
        twin = await scenario(memory, twin_bus)

    assert len(real) == len(twin)
    for step, (got_real, got_twin) in enumerate(zip(real, twin, strict=True)):
        assert got_real == got_twin, f"step {step}: real {got_real!r} != twin {got_twin!r}"


async def fix_on_read_scenario(p: PersistenceProtocol, bus: RecordingEventBus) -> list[Any]:
    """With ``MUD_VALIDATE_ROOMS_ON_READ``: each kind of read fixes what it returns."""
    out: list[Any] = []
    names = ("Ann", "Ben", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal", "Ivy")
    lost = [
        make_player(
            name,
            player_id=uuid.UUID(int=100 + n),
            user_id=uuid.UUID(int=100 + n),
            current_room_id=f"earth_gone_room_{n:03d}",
        )
        for n, name in enumerate(names)
    ]
    dreamer = make_player("Dreamer", player_id=B, user_id=B, current_room_id="instance_dream_7")
    await p.players.save_players([*lost, dreamer])
    ids = [x.player_id for x in lost]
    await p.players.soft_delete_player(ids[8])
    out.append([type(e).__name__ for e in bus.published])  # saves fix nothing
    found = await p.players.get_player_by_id(ids[0])
    out.append(found and found.current_room_id)
    found = await p.players.get_player_by_name("ben")
    out.append(found and found.current_room_id)
    found = await p.players.get_player_by_user_id(ids[2])
    out.append(found and found.current_room_id)
    out.append([x.current_room_id for x in await p.players.get_players_by_user_id(ids[3])])
    out.append([x.current_room_id for x in await p.players.get_active_players_by_user_id(ids[4])])
    out.append([x.current_room_id for x in await p.players.get_players_batch([ids[5]])])
    out.append(
        [
            (x.name, x.current_room_id)
            for x in await p.players.get_players_in_room(lost[6].current_room_id)
        ]
    )
    scene = await p.rooms.read_scene(lost[7].current_room_id)
    out.append([(x.name, x.current_room_id) for x in scene.players])
    out.append([(x.name, x.current_room_id) for x in await p.players.list_players()])
    deleted = await p.players.get_player_by_id(ids[8])  # a soft-deleted one is left alone
    out.append(deleted and (deleted.current_room_id, deleted.is_deleted))
    out.append((await p.players.restore_player(ids[8])).current_room_id)
    # A new player cannot start in a room known not to exist; an instance room is fine.
    try:
        await p.players.get_or_create_player("Newbie", room_id="earth_gone_room_999")
    except NotFoundError as exc:
        out.append(("refused", exc.entity))
    made, created = await p.players.get_or_create_player("Newbie", room_id="instance_vault_1")
    out.append((made.current_room_id, created))
    out.append(
        [(x.name, x.current_room_id) for x in await p.players.list_players(include_deleted=True)]
    )
    out.append([type(e).__name__ for e in bus.published])
    return out


async def test_twins_and_real_repositories_agree_on_fixing_rooms_on_read(
    mud_clean_database: Any, mud_database_url: str
) -> None:
    real_bus = RecordingEventBus()
    settings = make_settings(mud_database_url, validate_rooms_on_read=True)
    async with AsyncPersistenceLayer(settings, event_bus=real_bus) as layer:
        await layer.seed_world()
        real_bus.published.clear()
        real = await fix_on_read_scenario(layer, real_bus)

    twin_bus = RecordingEventBus()
    twin_settings = PersistenceSettings(
        fallback_room_id=settings.fallback_room_id, validate_rooms_on_read=True
    )
    async with InMemoryPersistence(twin_settings, event_bus=twin_bus) as memory:
        await memory.seed_world()
        twin = await fix_on_read_scenario(memory, twin_bus)

    assert len(real) == len(twin)
    for step, (got_real, got_twin) in enumerate(zip(real, twin, strict=True)):
        assert got_real == got_twin, f"step {step}: real {got_real!r} != twin {got_twin!r}"

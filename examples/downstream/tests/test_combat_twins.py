"""Combat on the in-memory twins: no database."""

from __future__ import annotations

import asyncio

from dungeon.combat import KILL_XP, Combat

from persistence.testing import InMemoryPersistence, create_item, create_player


async def test_the_killing_blow_makes_one_corpse_with_the_inventory(
    mud_memory: InMemoryPersistence,
) -> None:
    await mud_memory.seed_world()
    hunter = await create_player(mud_memory, "Hunter")
    prey = await create_player(mud_memory, "Prey", stats={"current_health": 25})
    await create_item(mud_memory, ("player", prey.player_id), item_instance_id="amulet")
    combat = Combat(mud_memory)

    first = await combat.attack(hunter.player_id, prey.player_id, 20)
    assert (first.change.new_hp, first.change.died, first.corpse) == (5, False, None)
    kill = await combat.attack(hunter.player_id, prey.player_id, 20)
    assert kill.change.died
    assert kill.corpse is not None
    assert [i.item_instance_id for i in kill.corpse.items] == ["amulet"]
    again = await combat.attack(hunter.player_id, prey.player_id, 20)
    assert not again.change.died
    assert again.corpse is None
    assert (await mud_memory.players.require_player(hunter.player_id)).experience_points == (
        KILL_XP
    )


async def test_only_one_of_two_simultaneous_blows_kills(mud_memory: InMemoryPersistence) -> None:
    await mud_memory.seed_world()
    a = await create_player(mud_memory, "A")
    b = await create_player(mud_memory, "B")
    prey = await create_player(mud_memory, "C", stats={"current_health": 10})
    combat = Combat(mud_memory)
    outcomes = await asyncio.gather(
        combat.attack(a.player_id, prey.player_id, 10),
        combat.attack(b.player_id, prey.player_id, 10),
    )
    assert [o.change.died for o in outcomes].count(True) == 1

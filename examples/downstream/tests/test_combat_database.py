"""Combat on a real PostgreSQL through the package's pytest plugin."""

from __future__ import annotations

import asyncio
from typing import Any

from dungeon.combat import KILL_XP, Combat

import models
import persistence.models
from persistence.facade import AsyncPersistenceLayer
from persistence.testing import create_item, create_player


def test_the_games_models_and_the_packages_live_side_by_side() -> None:
    assert models.Guild.__module__ == "models.guild"
    assert persistence.models.Player.__module__.startswith("persistence.models")


async def test_concurrent_killing_blows_make_one_corpse(
    mud_layer: AsyncPersistenceLayer, mud_clean_database: Any
) -> None:
    await mud_layer.seed_world()
    attackers = [await create_player(mud_layer, f"Attacker{n}") for n in range(6)]
    prey = await create_player(mud_layer, "Prey", stats={"current_health": 30})
    for n in range(3):
        await create_item(mud_layer, ("player", prey.player_id), item_instance_id=f"loot-{n}")
    combat = Combat(mud_layer)

    outcomes = await asyncio.gather(
        *(combat.attack(a.player_id, prey.player_id, 30) for a in attackers)
    )

    killers = [o for o in outcomes if o.change.died]
    assert len(killers) == 1
    corpse = killers[0].corpse
    assert corpse is not None
    assert sorted(i.item_instance_id for i in corpse.items) == ["loot-0", "loot-1", "loot-2"]
    db = mud_clean_database
    assert await db.fetchval("SELECT count(*) FROM containers WHERE source_type = 'corpse'") == 1
    xp = await db.fetch("SELECT experience_points FROM players WHERE name LIKE 'Attacker%'")
    assert sorted(r["experience_points"] for r in xp) == [0] * 5 + [KILL_XP]
    assert (await mud_layer.audit()).ok


async def test_a_retried_attack_does_not_kill_twice(mud_layer: AsyncPersistenceLayer) -> None:
    await mud_layer.seed_world()
    hunter = await create_player(mud_layer, "Hunter")
    prey = await create_player(mud_layer, "Prey", stats={"current_health": 5})
    combat = Combat(mud_layer)
    first = await combat.attack(hunter.player_id, prey.player_id, 9, op_id="swing-1")
    retry = await combat.attack(hunter.player_id, prey.player_id, 9, op_id="swing-1")
    assert first.corpse is not None
    assert retry.corpse is not None
    assert retry.corpse.container_id == first.corpse.container_id
    hunter_now = await mud_layer.players.require_player(hunter.player_id)
    assert hunter_now.experience_points == KILL_XP

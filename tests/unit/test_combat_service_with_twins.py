"""Game logic unit-tested on the in-memory twins: no database, same behaviour.

The service is the design's Example 3 ("Service Layer Integration"), written against the
protocols, so the same class runs on the real layer in production.
"""

from __future__ import annotations

from typing import Any

import pytest

from persistence.events import PlayerHPUpdated, PlayerLeveledUp
from persistence.models.player import Player
from persistence.protocols import ExperienceRepositoryProtocol, HealthRepositoryProtocol
from persistence.settings import PersistenceSettings
from persistence.testing import InMemoryPersistence, RecordingEventBus, create_player


class CombatService:
    """The design's example: damage the target, reward the attacker for a kill."""

    def __init__(
        self, health: HealthRepositoryProtocol, experience: ExperienceRepositoryProtocol
    ) -> None:
        self.health_repo = health
        self.xp_repo = experience

    async def apply_combat_damage(
        self, attacker: Player, target: Player, damage: int
    ) -> dict[str, Any]:
        await self.health_repo.damage_player(target, damage, "combat")
        if target.get_stats()["current_health"] <= 0:
            await self.xp_repo.gain_experience(attacker, 100, "killed_enemy")
        return {"damage_dealt": damage, "target_alive": target.get_stats()["current_health"] > 0}


@pytest.fixture
async def world() -> tuple[InMemoryPersistence, RecordingEventBus]:
    bus = RecordingEventBus()
    memory = InMemoryPersistence(PersistenceSettings(health_floor=-10), event_bus=bus)
    await memory.start()
    return memory, bus


async def test_a_kill_awards_experience(
    world: tuple[InMemoryPersistence, RecordingEventBus],
) -> None:
    memory, bus = world
    attacker = await create_player(memory, "Armitage")
    target = await create_player(memory, "Wilbur")
    service = CombatService(memory.health, memory.experience)

    assert await service.apply_combat_damage(attacker, target, 60) == {
        "damage_dealt": 60,
        "target_alive": True,
    }
    assert await service.apply_combat_damage(attacker, target, 60) == {
        "damage_dealt": 60,
        "target_alive": False,
    }
    assert target.stats.current_health == -10  # the configured floor, not a literal 0
    assert (attacker.experience_points, attacker.level) == (100, 2)
    assert [e.new_hp for e in bus.of(PlayerHPUpdated)] == [40, -10]
    assert len(bus.of(PlayerLeveledUp)) == 1
    stored = await memory.players.require_player(target.player_id)
    assert stored.stats.current_health == -10


async def test_bad_damage_is_refused_like_the_real_layer(
    world: tuple[InMemoryPersistence, RecordingEventBus],
) -> None:
    from persistence.errors import InvalidAmountError

    memory, _ = world
    attacker = await create_player(memory)
    target = await create_player(memory)
    service = CombatService(memory.health, memory.experience)
    with pytest.raises(InvalidAmountError):
        await service.apply_combat_damage(attacker, target, -5)

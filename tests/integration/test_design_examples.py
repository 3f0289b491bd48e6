"""The design document's three usage examples, run as written (imports adapted).

The example code between the ``# --- Example N`` markers is the design's, unchanged but for
the import lines (``server.*`` -> this package's modules) and, in Example 1, the
``xp_repo`` the design uses without defining. Tortoise is initialised by a layer (Examples 1
and 3) or by the game through ``RegisterTortoise`` (Example 2).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, HTTPException
from tortoise.contrib.fastapi import RegisterTortoise

from persistence import APP_LABEL, tortoise_app
from persistence.config import database_credentials
from persistence.models.player import Player
from persistence.repositories import (
    ContainerRepository,
    ExperienceRepository,
    HealthRepository,
    ItemRepository,
    PlayerRepository,
    ProfessionRepository,
)
from tests.conftest import RecordingBus
from tests.factories import new_player

pytestmark = pytest.mark.integration


async def test_the_designs_constructors_run_as_written(
    world_layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
) -> None:
    bus = RecordingBus()
    layer = world_layer
    health = HealthRepository(event_bus=bus)
    experience = ExperienceRepository(event_bus=bus)
    players = PlayerRepository(room_cache=layer._room_cache, event_bus=bus)
    professions = ProfessionRepository()
    containers = ContainerRepository()
    items = ItemRepository()

    player = new_player("Constructed")
    await players.save_player(player)
    assert await health.damage_player(player, 10, "combat") == 90
    assert (await experience.gain_experience(player, 150, "quest")).new_level == 2
    assert [p.id for p in await professions.get_all_professions()]
    chest = await containers.create_container("environment", room_id=player.current_room_id)
    coin = await items.create_item_instance(
        "constructed-coin", "coin", owner_type="container", owner_id=str(chest.container_id)
    )
    assert coin.position == 0
    # The room cache is the layer's own object: the fix sees the loaded rooms.
    player.current_room_id = "earth_nowhere_void_room_001"
    await players.save_player(player)
    assert await players.validate_and_fix_player_room(player) is True
    assert [type(e).__name__ for e in bus.published] == [
        "PlayerCreated",
        "PlayerHPUpdated",
        "PlayerXPAwarded",
        "PlayerLeveledUp",
        "PlayerSaved",
        "PlayerRoomFixed",
    ]


# --- Example 1: Direct Repository Usage (the design's code; imports adapted) -----------

from persistence import AsyncPersistenceLayer  # noqa: E402

event_bus = RecordingBus()

# Initialize

async_persistence = AsyncPersistenceLayer()
player_repo = PlayerRepository(room_cache=async_persistence._room_cache, event_bus=event_bus)
health_repo = HealthRepository(event_bus=event_bus)
xp_repo = ExperienceRepository(event_bus=event_bus)  # used by the design, never defined there

# Use


async def process_combat(attacker_id: UUID, target_id: UUID, damage: int):  # type: ignore[no-untyped-def]
    attacker = await player_repo.get_player_by_id(attacker_id)
    target = await player_repo.get_player_by_id(target_id)

    await health_repo.damage_player(target, damage, "combat")
    await xp_repo.gain_experience(attacker, 50, "combat_victory")

    await player_repo.save_player(target)


# --- end of Example 1 ---------------------------------------------------------------------


async def test_example_1_direct_repository_usage(
    layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
) -> None:
    attacker, target = new_player("Attacker"), new_player("Target")
    await layer.players.save_players([attacker, target])
    published = len(event_bus.published)
    await process_combat(attacker.player_id, target.player_id, 35)
    rows = {
        r["name"]: (r["hp"], r["experience_points"])
        for r in await clean_db.fetch(
            "SELECT name, (stats->>'current_health')::int AS hp, experience_points FROM players"
        )
    }
    assert rows == {"Attacker": (100, 50), "Target": (65, 0)}
    kinds = [type(e).__name__ for e in event_bus.published[published:]]
    assert kinds == ["PlayerHPUpdated", "PlayerXPAwarded"]  # the save wrote nothing new


# --- Example 2: FastAPI Dependency Injection (the design's code; imports adapted) ------

from fastapi import APIRouter, Depends  # noqa: E402

from persistence import AsyncPersistenceLayer  # noqa: E402
from persistence.repositories import PlayerRepository  # noqa: E402

router = APIRouter()

# Dependency factory


async def get_player_repo():  # type: ignore[no-untyped-def]
    async_persistence = AsyncPersistenceLayer()
    return PlayerRepository(room_cache=async_persistence._room_cache)


# Route handler


@router.get("/players/{player_id}")
async def get_player(  # type: ignore[no-untyped-def]
    player_id: UUID,
    player_repo: PlayerRepository = Depends(get_player_repo),  # noqa: B008 - FastAPI's idiom
):
    player = await player_repo.get_player_by_id(player_id)
    if not player:
        raise HTTPException(status_code=404, detail="Player not found")
    return player


# --- end of Example 2 ---------------------------------------------------------------------


def _register(url: str) -> Any:
    config = {
        "connections": {
            "default": {
                "engine": "tortoise.backends.asyncpg",
                "credentials": database_credentials(url),
            }
        },
        "apps": {APP_LABEL: tortoise_app()},
    }

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=config):
            yield

    return lifespan


async def test_example_2_fastapi_dependency_injection(
    clean_db: asyncpg.Connection, database_url: str
) -> None:
    app = FastAPI(lifespan=_register(database_url))
    app.include_router(router)
    async with app.router.lifespan_context(app):
        player = new_player("Henry Armitage")
        await Player.create(
            player_id=player.player_id,
            user_id=player.user_id,
            name=player.name,
            current_room_id=player.current_room_id,
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mud") as client:
            found = await client.get(f"/players/{player.player_id}")
            assert found.status_code == 200, found.text
            body = found.json()
            assert (body["name"], body["stats"]["current_health"]) == ("Henry Armitage", 100)
            assert body["player_id"] == str(player.player_id)
            missing = await client.get(f"/players/{UUID(int=7)}")
            assert (missing.status_code, missing.json()) == (404, {"detail": "Player not found"})


# --- Example 3: Service Layer Integration (the design's code; imports adapted) ---------

from persistence.repositories import ExperienceRepository, HealthRepository  # noqa: E402


class CombatService:
    def __init__(self, event_bus=None):  # type: ignore[no-untyped-def]
        self.health_repo = HealthRepository(event_bus=event_bus)
        self.xp_repo = ExperienceRepository(event_bus=event_bus)

    async def apply_combat_damage(self, attacker: Player, target: Player, damage: int) -> dict:  # type: ignore[type-arg]
        # Apply damage

        await self.health_repo.damage_player(target, damage, "combat")

        # Award XP if target died

        if target.get_stats()["current_health"] <= 0:
            await self.xp_repo.gain_experience(attacker, 100, "killed_enemy")

        return {"damage_dealt": damage, "target_alive": target.get_stats()["current_health"] > 0}


# --- end of Example 3 ---------------------------------------------------------------------


async def test_example_3_service_layer_integration(
    layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection
) -> None:
    bus = RecordingBus()
    service = CombatService(event_bus=bus)
    attacker, target = new_player("Slayer"), new_player("Victim")
    await layer.players.save_players([attacker, target])
    attacker = await layer.players.require_player(attacker.player_id)
    target = await layer.players.require_player(target.player_id)
    assert await service.apply_combat_damage(attacker, target, 60) == {
        "damage_dealt": 60,
        "target_alive": True,
    }
    assert await service.apply_combat_damage(attacker, target, 60) == {
        "damage_dealt": 60,
        "target_alive": False,
    }
    assert attacker.experience_points == 100
    xp = await clean_db.fetchval("SELECT experience_points FROM players WHERE name = 'Slayer'")
    assert xp == 100
    assert [type(e).__name__ for e in bus.published] == [
        "PlayerHPUpdated",
        "PlayerHPUpdated",
        "PlayerXPAwarded",
        "PlayerLeveledUp",
    ]

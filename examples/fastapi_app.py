r"""A FastAPI game server that runs Tortoise itself and attaches the persistence layer to it.

Run it with ``uvicorn examples.fastapi_app:app`` after ``pip install -e ".[examples]"``. With
no ``MUD_DATABASE_URL`` it starts the embedded PostgreSQL, migrates it and seeds the sample
world, so every route can be tried at once::

    curl -X POST localhost:8000/players -H 'content-type: application/json' \
         -d '{"name": "Armitage"}'
    curl localhost:8000/players?name=armitage
    curl -X POST localhost:8000/players/<id>/damage -H 'content-type: application/json' \
         -d '{"amount": 30, "op_id": "hit-1"}'
    curl -X POST localhost:8000/players/<id>/move -H 'content-type: application/json' \
         -d '{"direction": "north"}'
    curl localhost:8000/rooms/earth_arkhamcity_sanitarium_room_hallway_001

Tortoise is registered the FastAPI way (``RegisterTortoise``) with the package's app
(``tortoise_app()``) next to the game's own; the layer attaches to that connection
(``connection="default"``), so the game's models and the layer share one pool and one
transaction system. Handlers get repositories through ``Depends``; the package's errors map
to HTTP statuses.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID, uuid4

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from tortoise.contrib.fastapi import RegisterTortoise

from persistence import APP_LABEL, AsyncPersistenceLayer, PersistenceSettings, tortoise_app
from persistence.config import tortoise_connection
from persistence.embedded import start_embedded_postgres
from persistence.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    PersistenceError,
    ValidationError,
)
from persistence.events import EventBus
from persistence.models import Player
from persistence.repositories import HealthRepository, PlayerRepository
from persistence.schema import run_migrations


class PlayerOut(BaseModel):
    """What the API shows of a player."""

    player_id: UUID
    name: str
    current_room_id: str
    level: int
    experience_points: int
    stats: dict[str, Any]

    @classmethod
    def of(cls, player: Player) -> PlayerOut:
        """The API view of a player model."""
        return cls(
            player_id=player.player_id,
            name=player.name,
            current_room_id=player.current_room_id,
            level=player.level,
            experience_points=player.experience_points,
            stats=player.get_stats(),
        )


class PlayerIn(BaseModel):
    """A new character: a name, and optionally the account and the starting room."""

    name: str = Field(min_length=1, max_length=50)
    user_id: UUID | None = None
    current_room_id: str | None = None


class MoveIn(BaseModel):
    """A step through an exit of the player's room."""

    direction: str = Field(min_length=1, max_length=64)


class DamageIn(BaseModel):
    """A hit: how much, of what kind, and an idempotency key for client retries."""

    amount: int = Field(ge=0)
    damage_type: str = "physical"
    op_id: str | None = None


def create_app(
    settings: PersistenceSettings | None = None, *, event_bus: EventBus | None = None
) -> FastAPI:
    """Build the app; the database comes from ``settings`` (the environment by default)."""
    config = settings or PersistenceSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url, embedded = config.database_url, None
        if url is None:  # the embedded default: a throwaway PostgreSQL, migrated and seeded
            embedded = await asyncio.to_thread(start_embedded_postgres)
            url = embedded.url
            await run_migrations(url, config)
        tortoise = {
            "connections": {"default": tortoise_connection(config, url)},
            "apps": {APP_LABEL: tortoise_app()},  # the game's own apps go next to it
        }
        try:
            async with RegisterTortoise(app, config=tortoise):
                layer = AsyncPersistenceLayer(config, connection="default", event_bus=event_bus)
                async with layer:
                    if embedded is not None:
                        await layer.seed_world()
                    app.state.layer = layer
                    yield
        finally:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    app = FastAPI(title="mud-persistence example", lifespan=lifespan)

    @app.exception_handler(PersistenceError)
    async def persistence_error(request: Request, exc: PersistenceError) -> JSONResponse:
        status = 500
        if isinstance(exc, NotFoundError):
            status = 404
        elif isinstance(exc, ValidationError):
            status = 422
        elif isinstance(exc, ConflictError | IntegrityError):
            status = 409
        elif exc.transient:
            status = 503
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status_code=status)

    def get_player_repo(request: Request) -> PlayerRepository:
        layer: AsyncPersistenceLayer = request.app.state.layer
        return layer.players

    def get_health_repo(request: Request) -> HealthRepository:
        layer: AsyncPersistenceLayer = request.app.state.layer
        return layer.health

    @app.post("/players", status_code=201)
    async def create_player(
        new: PlayerIn, request: Request, player_repo: PlayerRepository = Depends(get_player_repo)
    ) -> PlayerOut:
        layer: AsyncPersistenceLayer = request.app.state.layer
        player = Player(
            player_id=uuid4(),
            user_id=new.user_id or uuid4(),
            name=new.name,
            current_room_id=new.current_room_id or layer.settings.fallback_room_id,
        )
        await player_repo.save_player(player)  # a taken name (any case) -> 409
        return PlayerOut.of(await player_repo.require_player(player.player_id))

    @app.get("/players/{player_id}")
    async def get_player(
        player_id: UUID, player_repo: PlayerRepository = Depends(get_player_repo)
    ) -> PlayerOut:
        player = await player_repo.get_player_by_id(player_id)
        if not player:
            raise HTTPException(status_code=404, detail="Player not found")
        return PlayerOut.of(player)

    @app.get("/players")
    async def find_player(
        name: str, player_repo: PlayerRepository = Depends(get_player_repo)
    ) -> PlayerOut:
        player = await player_repo.get_player_by_name(name)
        if not player:
            raise HTTPException(status_code=404, detail="Player not found")
        return PlayerOut.of(player)

    @app.post("/players/{player_id}/damage")
    async def damage(
        player_id: UUID,
        hit: DamageIn,
        player_repo: PlayerRepository = Depends(get_player_repo),
        health_repo: HealthRepository = Depends(get_health_repo),
    ) -> PlayerOut:
        player = await player_repo.require_player(player_id)  # NotFoundError -> 404
        await health_repo.damage_player(player, hit.amount, hit.damage_type, op_id=hit.op_id)
        return PlayerOut.of(player)

    @app.post("/players/{player_id}/move")
    async def move(
        player_id: UUID, step: MoveIn, player_repo: PlayerRepository = Depends(get_player_repo)
    ) -> PlayerOut:
        player = await player_repo.require_player(player_id)
        await player_repo.move_player(player, step.direction)  # no such exit -> 422
        return PlayerOut.of(player)

    @app.get("/rooms/{room_id}")
    async def get_room(room_id: str, request: Request) -> dict[str, Any]:
        layer: AsyncPersistenceLayer = request.app.state.layer
        room = layer.rooms.get_room_by_id(room_id)  # memory only
        if room is None:
            raise HTTPException(status_code=404, detail="Room not found")
        scene = await layer.rooms.read_scene(room_id)  # who and what is here: one query
        return {
            "room_id": room.room_id,
            "name": room.name,
            "exits": room.exits,
            "players": [p.name for p in scene.players],
            "containers": [
                {
                    "container_id": str(c.container_id),
                    "items": [i.item_instance_id for i in c.items],
                }
                for c in scene.containers
            ],
            "items": [i.item_instance_id for i in scene.items],
        }

    return app


app = create_app()

"""The design's "FastAPI dependency injection" example, made real.

Run it with ``uvicorn examples.fastapi_app:app`` (``pip install -e ".[examples]"``); with no
``MUD_DATABASE_URL`` it starts the embedded PostgreSQL and migrates it. The persistence layer
(and with it Tortoise) is started and closed in the app's lifespan; handlers get repositories
through ``Depends``; a missing player is a 404; the package's errors map to HTTP statuses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from models import Player
from persistence import ApplicationContainer
from persistence.errors import ConflictError, NotFoundError, PersistenceError, ValidationError
from persistence.repositories import HealthRepository, PlayerRepository


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


class DamageIn(BaseModel):
    """A hit: how much, of what kind, and an idempotency key for client retries."""

    amount: int = Field(ge=0)
    damage_type: str = "physical"
    op_id: str | None = None


def create_app(container: ApplicationContainer | None = None) -> FastAPI:
    """Build the app around one composition root (a new one from the environment by default)."""
    root = container or ApplicationContainer()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with root:  # starts the layer: Tortoise context, pool, room cache
            app.state.container = root
            yield

    app = FastAPI(title="mud-persistence example", lifespan=lifespan)

    @app.exception_handler(PersistenceError)
    async def persistence_error(request: Request, exc: PersistenceError) -> JSONResponse:
        status = 500
        if isinstance(exc, NotFoundError):
            status = 404
        elif isinstance(exc, ValidationError):
            status = 422
        elif isinstance(exc, ConflictError):
            status = 409
        elif exc.transient:
            status = 503
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status_code=status)

    def get_player_repo(request: Request) -> PlayerRepository:
        container: ApplicationContainer = request.app.state.container
        return container.persistence.players

    def get_health_repo(request: Request) -> HealthRepository:
        container: ApplicationContainer = request.app.state.container
        return container.persistence.health

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

    return app


app = create_app()

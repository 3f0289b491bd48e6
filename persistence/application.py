"""ApplicationContainer: the composition root that builds settings, event bus and layer.

Build it once at process start and pass what it holds to the code that needs it; nothing in
the package reaches for a global. FastAPI wiring (see ``docs/architecture.md``)::

    container = ApplicationContainer()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with container:
            yield

    app = FastAPI(lifespan=lifespan)

    def get_players(request: Request) -> PlayerRepository:
        return container.persistence.players

    @app.get("/players/{player_id}")
    async def read_player(player_id: UUID, players: PlayerRepository = Depends(get_players)):
        player = await players.get_player_by_id(player_id)
        if player is None:
            raise HTTPException(status_code=404, detail="Player not found")
        return {"name": player.name}
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from persistence.events import EventBus, InProcessEventBus
from persistence.facade import AsyncPersistenceLayer
from persistence.settings import PersistenceSettings

__all__ = ["ApplicationContainer"]


class ApplicationContainer:
    """Builds and owns one settings object, one event bus and one persistence layer.

    Args:
        settings: Configuration; from the environment when ``None``.
        event_bus: The bus to publish on; a new :class:`InProcessEventBus` when ``None``.
    """

    def __init__(
        self, settings: PersistenceSettings | None = None, *, event_bus: EventBus | None = None
    ) -> None:
        self.settings = settings or PersistenceSettings()
        self.event_bus: EventBus = event_bus if event_bus is not None else InProcessEventBus()
        self.persistence = AsyncPersistenceLayer(self.settings, event_bus=self.event_bus)

    async def start(self) -> None:
        """Start the persistence layer."""
        await self.persistence.start()

    async def stop(self) -> None:
        """Close the persistence layer."""
        await self.persistence.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

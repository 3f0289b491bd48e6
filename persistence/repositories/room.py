"""RoomRepository: the in-memory room cache.

Rooms are static world data read on every movement and every room check, so they are read
from the ``rooms`` table once at start (one query) and served from memory afterwards:
``get_room_by_id`` and ``list_rooms`` never touch the database. The cache goes stale when
another process changes the table; call :meth:`reload` after reseeding the world.
"""

from __future__ import annotations

import asyncio
from types import MappingProxyType

from models.room import Room
from persistence.db import Database
from persistence.errors import guard

__all__ = ["RoomRepository"]

_SELECT_ROOMS = (
    "SELECT room_id, name, description, plane, zone, sub_zone, exits, attributes "
    "FROM rooms ORDER BY room_id"
)


class RoomRepository:
    """Rooms by id, from memory. The returned ``Room`` objects are shared: treat as read-only."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._rooms: MappingProxyType[str, Room] = MappingProxyType({})
        self._loaded = False
        self._lock = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the cache has been filled from the database at least once."""
        return self._loaded

    @property
    def size(self) -> int:
        """Number of cached rooms."""
        return len(self._rooms)

    def __contains__(self, room_id: object) -> bool:
        return room_id in self._rooms

    async def load(self) -> int:
        """Fill the cache from the database if it is not loaded yet; returns its size."""
        if self._loaded:
            return self.size
        return await self.reload()

    async def reload(self) -> int:
        """Read every room again (one query) and swap the cache atomically; returns its size."""
        async with self._lock:
            rows = await self._db.fetch(_SELECT_ROOMS, [])
            with self._db.activate():
                async with guard():
                    rooms = {row["room_id"]: Room._init_from_db(**row) for row in rows}
            self._rooms = MappingProxyType(rooms)
            self._loaded = True
            return len(rooms)

    def get_room_by_id(self, room_id: str) -> Room | None:
        """The cached room, or ``None``. Never queries the database."""
        return self._rooms.get(room_id)

    def list_rooms(self) -> list[Room]:
        """Every cached room, ordered by id. Never queries the database."""
        return list(self._rooms.values())

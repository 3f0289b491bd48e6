"""RoomRepository: the in-memory room cache.

Rooms are static world data read on every movement and every room check, so they are read
from the ``rooms`` table once at start (one query) and served from memory afterwards:
``get_room_by_id`` and ``list_rooms`` never touch the database. The cache goes stale when
another process changes the table; call :meth:`RoomRepository.reload` after reseeding.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from persistence.config import DEFAULT_CONNECTION
from persistence.db import Database
from persistence.errors import guard
from persistence.models.room import Room
from persistence.settings import PersistenceSettings

__all__ = ["RoomCache", "RoomRepository"]


class RoomCache(Mapping[str, Room]):
    """The world's rooms by id, in memory; one object shared by the layer's repositories.

    It is a read-only mapping (``room_id in cache``, ``cache[room_id]``, ``len(cache)``), the
    shape the design's ``room_cache`` dict had, and knows whether it was ever loaded: an
    empty, never-loaded cache says nothing about which rooms exist.
    """

    def __init__(self) -> None:
        self._rooms: Mapping[str, Room] = MappingProxyType({})
        self.loaded = False
        """Whether the cache was filled from the database at least once."""

    def __getitem__(self, room_id: str) -> Room:
        return self._rooms[room_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rooms)

    def __len__(self) -> int:
        return len(self._rooms)

    def replace(self, rooms: Mapping[str, Room]) -> None:
        """Swap in a new set of rooms at once (readers see the old or the new, never a mix)."""
        self._rooms = MappingProxyType(dict(rooms))
        self.loaded = True


class RoomRepository:
    """Rooms by id, from memory. The returned ``Room`` objects are shared: treat as read-only.

    Args:
        room_cache: The cache to fill and serve (the layer's ``_room_cache``); a new one when
            ``None``.
        db: The layer's database; a repository built alone follows Tortoise's current context.
        settings: Used only to build that database.
        connection: The Tortoise connection name, for a repository built alone.
    """

    def __init__(
        self,
        room_cache: RoomCache | None = None,
        *,
        db: Database | None = None,
        settings: PersistenceSettings | None = None,
        connection: str | None = None,
    ) -> None:
        self.cache = room_cache if room_cache is not None else RoomCache()
        self._db = db or Database.following_current(
            settings or PersistenceSettings(), connection or DEFAULT_CONNECTION
        )
        self._lock = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the cache has been filled from the database at least once."""
        return self.cache.loaded

    @property
    def size(self) -> int:
        """Number of cached rooms."""
        return len(self.cache)

    def __contains__(self, room_id: object) -> bool:
        return room_id in self.cache

    async def load(self) -> int:
        """Fill the cache from the database if it is not loaded yet; returns its size."""
        if self.cache.loaded:
            return self.size
        return await self.reload()

    async def reload(self) -> int:
        """Read every room again (one query) and swap the cache atomically; returns its size."""
        async with self._lock, self._db.call() as client, guard():
            rooms = await Room.all().order_by("room_id").using_db(client)
            self.cache.replace({room.room_id: room for room in rooms})
        return self.size

    def get_room_by_id(self, room_id: str) -> Room | None:
        """The cached room, or ``None``. Never queries the database."""
        return self.cache.get(room_id)

    def list_rooms(self) -> list[Room]:
        """Every cached room, ordered by id. Never queries the database."""
        return list(self.cache.values())

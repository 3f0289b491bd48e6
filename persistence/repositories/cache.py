"""RoomCache: the rooms the layer's repositories share, in memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

from persistence.models.room import Room

__all__ = ["RoomCache"]


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

    def apply(self, saved: Iterable[Room] = (), deleted: Iterable[str] = ()) -> None:
        """Take rooms written and deleted by this layer (a loaded cache only; swapped at once)."""
        if not self.loaded:
            return  # the first load reads them all
        rooms = dict(self._rooms)
        for room in saved:
            rooms[room.room_id] = room
        for room_id in deleted:
            rooms.pop(room_id, None)
        self._rooms = MappingProxyType(rooms)

    def replace(self, rooms: Mapping[str, Room]) -> None:
        """Swap in a new set of rooms at once (readers see the old or the new, never a mix)."""
        self._rooms = MappingProxyType(dict(rooms))
        self.loaded = True

"""RoomRepository: the in-memory room cache, and a room's whole scene in one query.

Rooms are static world data read on every movement and every room check, so they are read
from the ``rooms`` table once at start (one query) and served from memory afterwards:
``get_room_by_id`` and ``list_rooms`` never touch the database. The cache goes stale when
another process changes the table; call :meth:`RoomRepository.reload` after reseeding.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Final

from persistence.errors import guard
from persistence.models.container import Container
from persistence.models.item import ItemInstance
from persistence.models.player import Player
from persistence.models.room import Room
from persistence.repositories.base import BaseRepository, check_text
from persistence.repositories.cache import RoomCache
from persistence.repositories.container import CONTAINER_COLUMNS
from persistence.repositories.item import ITEM_COLUMNS, items_from_rows
from persistence.repositories.player import PLAYER_COLUMNS, report_corrupt, split_rows

__all__ = ["RoomCache", "RoomRepository", "RoomScene"]

_PLAYER_FIELDS: Final = tuple(c.strip() for c in PLAYER_COLUMNS.split(","))
_ITEM_FIELDS: Final = tuple(c.strip() for c in ITEM_COLUMNS.split(","))


def _row(alias: str, columns: tuple[str, ...]) -> str:
    return "ROW(" + ", ".join(f"{alias}.{c}" for c in columns) + ")"


# Hand-written: a room's players, containers and every item in them or on the floor, in one
# round trip and one snapshot (an item moving from the floor into a chest meanwhile shows up
# once); Tortoise would need three queries. Rows come back as anonymous records (tuples in
# the constant column orders), so a column added later cannot break the decoding.
SCENE_SQL: Final = f"""
SELECT
  ARRAY(SELECT {_row("p", _PLAYER_FIELDS)} FROM players p
         WHERE p.current_room_id = $1 ORDER BY lower(p.name), p.player_id) AS players,
  ARRAY(SELECT {_row("c", CONTAINER_COLUMNS)} FROM containers c
         WHERE c.room_id = $1 ORDER BY c.created_at, c.container_id) AS containers,
  ARRAY(SELECT {_row("i", _ITEM_FIELDS)} FROM item_instances i
         WHERE (i.owner_type = 'room' AND i.owner_id = $1)
            OR (i.owner_type = 'container' AND i.owner_id IN (
                SELECT c.container_id::text FROM containers c WHERE c.room_id = $1))
         ORDER BY i.position NULLS LAST, i.created_at, i.item_instance_id) AS items
"""  # noqa: S608 - constant column lists; the room id is a bound parameter


@dataclass(frozen=True, slots=True)
class RoomScene:
    """Everything a player sees on entering a room, read in one statement.

    Attributes:
        room_id: The room asked for.
        room: The cached room, or ``None`` (an instanced room that is not in the table).
        players: Players standing in it, by name (corrupt rows are skipped and reported).
        containers: Containers in it (chests, corpses), each with its ``items`` loaded.
        items: Items lying on its floor, in slot order.
    """

    room_id: str
    room: Room | None
    players: list[Player] = field(default_factory=list)
    containers: list[Container] = field(default_factory=list)
    items: list[ItemInstance] = field(default_factory=list)


class RoomRepository(BaseRepository, metrics_name="rooms"):
    """Rooms by id, from memory. The returned ``Room`` objects are shared: treat as read-only.

    Args:
        room_cache: The cache to fill and serve (the layer's ``_room_cache``); a new one when
            ``None``.
        **options: ``db``, ``settings``, ``connection``, ``event_bus``, ``retry_policy``,
            ``metrics``; see :class:`BaseRepository`.
    """

    def __init__(self, room_cache: RoomCache | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.cache = room_cache if room_cache is not None else RoomCache()
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

    async def read_scene(self, room_id: str) -> RoomScene:
        """The room's players, containers with their items, and floor items; one query.

        The lists come from one snapshot of the database. A room that is not cached (an
        instance) still gets its scene, with ``room`` set to ``None``.
        """
        check_text(room_id, "room_id", max_length=255)
        rows = await self._statement(SCENE_SQL, [room_id])
        row = rows[0]
        players, corrupt = split_rows(dict(zip(_PLAYER_FIELDS, r, strict=True)) for r in row[0])
        report_corrupt(corrupt, self._emit)
        items = items_from_rows(dict(zip(_ITEM_FIELDS, r, strict=True)) for r in row[2])
        contents: defaultdict[str, list[ItemInstance]] = defaultdict(list)
        floor: list[ItemInstance] = []
        for item in items:
            if item.owner_type == "container":
                contents[item.owner_id].append(item)
            else:
                floor.append(item)
        containers: list[Container] = []
        for values in row[1]:
            container = Container._init_from_db(**dict(zip(CONTAINER_COLUMNS, values, strict=True)))
            container.set_items(contents[str(container.container_id)])
            containers.append(container)
        return RoomScene(
            room_id=room_id,
            room=self.cache.get(room_id),
            players=players,
            containers=containers,
            items=floor,
        )

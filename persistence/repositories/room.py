"""RoomRepository: the in-memory room cache, and a room's whole scene in one query.

Rooms are static world data read on every movement and every room check, so they are read
from the ``rooms`` table once at start (one query) and served from memory afterwards:
``get_room_by_id`` and ``list_rooms`` never touch the database. Room writes through a layer
reach the other layers' caches by a notification (:mod:`persistence.notify`); the cache goes
stale only when something else changes the table (SQL, a reseed by hand): then call
:meth:`RoomRepository.reload`, or the layer's ``reload_rooms()``, which tells the others too.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError as PydanticValidationError

from persistence.errors import RoomInUseError, ValidationError, guard
from persistence.events import Event, RoomDeleted, RoomsSaved
from persistence.models.container import Container
from persistence.models.item import ItemInstance
from persistence.models.player import Player
from persistence.models.room import Room
from persistence.notify import NOTIFY_SQL, ROOMS_CHANNEL, rooms_payload
from persistence.repositories.base import BaseRepository, Client, check_text
from persistence.repositories.cache import RoomCache
from persistence.repositories.container import CONTAINER_COLUMNS
from persistence.repositories.item import ITEM_COLUMNS, items_from_rows
from persistence.repositories.player import (
    PLAYER_COLUMNS,
    PlayerRepository,
    report_corrupt,
    split_rows,
)
from persistence.validation import check_json, check_sequence
from persistence.world import RoomSpec

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
         WHERE p.current_room_id = $1 AND NOT p.is_deleted
         ORDER BY lower(p.name), p.player_id) AS players,
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


# Hand-written: the rooms that exits name, locked so a concurrent delete_room waits for this
# write (Tortoise's select_for_update has no KEY SHARE mode).
_LOCK_TARGETS_SQL: Final = """
SELECT room_id FROM rooms WHERE room_id = ANY($1::text[]) ORDER BY room_id FOR KEY SHARE
"""
# Hand-written: everything that keeps a room, counted in one statement after it is locked.
_HOLDERS_SQL: Final = """
SELECT (SELECT count(*) FROM players WHERE current_room_id = $1 AND NOT is_deleted) AS players,
       (SELECT count(*) FROM players WHERE current_room_id = $1 AND is_deleted)
           AS soft_deleted_players,
       (SELECT count(*) FROM containers WHERE room_id = $1) AS containers,
       (SELECT count(*) FROM item_instances WHERE owner_type = 'room' AND owner_id = $1)
           AS items,
       ARRAY(SELECT r.room_id FROM rooms r
              WHERE r.room_id <> $1
                AND EXISTS (SELECT 1 FROM jsonb_each_text(r.exits) e WHERE e.value = $1)
              ORDER BY r.room_id) AS exits_from
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class _CacheChange(Event):
    """Rooms this layer wrote or deleted; applied to its cache when the write commits."""

    saved: tuple[Room, ...] = ()
    deleted: tuple[str, ...] = ()


class _CacheWriter:
    """The room cache as an after-commit listener (a rolled-back write never reaches it)."""

    def __init__(self, cache: RoomCache) -> None:
        self._cache = cache

    def publish(self, event: Event) -> None:
        if isinstance(event, _CacheChange):
            self._cache.apply(event.saved, event.deleted)

    def subscribe(self, event_type: type[Any], handler: Any) -> None:
        raise NotImplementedError


def room_spec(value: object) -> RoomSpec:
    """A room to save, checked before any SQL (a ``Room``, a ``RoomSpec`` or a dict)."""
    if isinstance(value, RoomSpec):
        return value
    if isinstance(value, Room):
        value = {name: getattr(value, name) for name in RoomSpec.model_fields}
    if isinstance(value, dict):
        for name in ("exits", "attributes"):
            if name in value:
                check_json(value[name], f"room {name}")
    try:
        return RoomSpec.model_validate(value)
    except PydanticValidationError as exc:
        raise ValidationError(f"invalid room: {exc}") from exc


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
        self._cache_writer = _CacheWriter(self.cache)
        shared = {"db": self._db, "settings": self._settings, "metrics": self._metrics}
        self._players = PlayerRepository(self.cache, **(options | shared))
        """Applies the room fix on read to a scene's players: the player reads' own code."""
        self.origin = uuid.uuid4().hex
        """This repository's identity in room notifications (its own are not applied twice)."""

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

        With ``MUD_VALIDATE_ROOMS_ON_READ`` the scene's players get the room fix, as every
        player read does. Those it moves to the fallback room are no longer in this room, so
        the scene leaves them out (the fallback room's scene has them).
        """
        check_text(room_id, "room_id", max_length=255)
        rows = await self._statement(SCENE_SQL, [room_id])
        row = rows[0]
        players, corrupt = split_rows(dict(zip(_PLAYER_FIELDS, r, strict=True)) for r in row[0])
        report_corrupt(corrupt, self._emit)
        if self._settings.validate_rooms_on_read:
            checked = await self._players._checked(players)
            players = [p for p in checked if p.current_room_id == room_id]
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

    async def save_room(self, room: Room | RoomSpec | dict[str, Any]) -> None:
        """Insert or update one room; see :meth:`save_rooms`."""
        await self.save_rooms([room])

    async def save_rooms(self, rooms: Sequence[Room | RoomSpec | dict[str, Any]]) -> int:
        """Insert or update rooms in one transaction (an upsert); returns how many.

        Every exit must name a room that exists or is saved in the same call. This layer's
        room cache takes the rooms when the write commits. The other layers on the database
        (other processes) get a notification sent in the same transaction, so only a
        committed write reaches them, and re-read the rooms it names; a layer that does not
        listen (``MUD_ROOM_NOTIFICATIONS=false``, or no direct URL for LISTEN) keeps its
        cache until its ``reload_rooms()``.

        Raises:
            ValidationError: A malformed room (id ``[a-z0-9_]+``, names, JSON exits), an id
                given twice, or an exit to a room that does not exist; nothing written.
        """
        specs = [room_spec(r) for r in check_sequence(rooms, "rooms")]
        ids = [s.room_id for s in specs]
        if len(set(ids)) != len(ids):
            raise ValidationError("save_rooms got the same room_id twice")
        if not specs:
            return 0
        targets = sorted({t for s in specs for t in s.exits.values()} - set(ids))
        fields = [f for f in RoomSpec.model_fields if f != "room_id"]
        models = [Room(**spec.model_dump()) for spec in specs]

        async def write(client: Client) -> None:
            if targets:
                found = {
                    r["room_id"] for r in await self._fetch(client, _LOCK_TARGETS_SQL, [targets])
                }
                missing = [t for t in targets if t not in found]
                if missing:
                    raise ValidationError(
                        f"exits lead to rooms that do not exist: {', '.join(missing)}"
                    )
            await Room.bulk_create(
                models, on_conflict=["room_id"], update_fields=fields, using_db=client
            )
            # Delivered to the other processes' layers when, and only if, this commits.
            await self._fetch(
                client, NOTIFY_SQL, [ROOMS_CHANNEL, rooms_payload(self.origin, ids, [])]
            )

        await self._atomic(write, idempotent=True)
        self._db.emit(self._cache_writer, [_CacheChange(saved=tuple(models))])
        self._emit(RoomsSaved(room_ids=tuple(ids)))
        return len(specs)

    async def delete_room(self, room_id: str) -> bool:
        """Delete a room nothing is in and no exit leads to; ``False`` if there was none.

        The room is locked first, so a concurrent move into it (which key-share locks the
        room it enters), a container or an item put there either happens before (and the
        delete is refused) or finds the room gone. This layer's cache drops the room when
        the delete commits.

        Raises:
            RoomInUseError: Players, containers or items are in it, an exit of another room
                leads to it, or it is the fallback room; nothing was deleted.
        """
        rid = check_text(room_id, "room_id", max_length=255)
        if rid == self._settings.fallback_room_id:
            raise RoomInUseError(rid, ("the fallback room, MUD_FALLBACK_ROOM_ID",))

        async def delete(client: Client) -> bool:
            # A model query: Tortoise 1.1 drops select_for_update() from values_list() queries.
            locked = await Room.filter(room_id=rid).select_for_update().using_db(client).first()
            if locked is None:
                return False
            row = (await self._fetch(client, _HOLDERS_SQL, [rid]))[0]
            holders = tuple(
                f"{row[kind]} {kind.replace('_', ' ')}"
                for kind in ("players", "soft_deleted_players", "containers", "items")
                if row[kind]
            ) + tuple(f"an exit of {other}" for other in row["exits_from"])
            if holders:
                raise RoomInUseError(rid, holders)
            await Room.filter(room_id=rid).using_db(client).delete()
            await self._fetch(
                client, NOTIFY_SQL, [ROOMS_CHANNEL, rooms_payload(self.origin, [], [rid])]
            )
            return True

        deleted = await self._atomic(delete, idempotent=True)
        if deleted:
            self._db.emit(self._cache_writer, [_CacheChange(deleted=(rid,))])
            self._emit(RoomDeleted(room_id=rid))
        return deleted

    async def announce_reload(self) -> None:
        """Tell the other processes' layers to reload their room caches (after a reseed)."""
        payload = json.dumps({"origin": self.origin, "reload": True})
        await self._statement(NOTIFY_SQL, [ROOMS_CHANNEL, payload], idempotent=True)

    async def apply_notification(self, payload: str) -> None:
        """Take a room notification from another process into this cache.

        The rooms named are read again (their state now, whatever the order of writes), the
        deleted ones dropped; a reload notification reloads everything.
        """
        message = json.loads(payload)
        if not isinstance(message, dict) or message.get("origin") == self.origin:
            return
        if message.get("reload"):
            await self.reload()
            return
        saved = [str(r) for r in message.get("saved", [])]
        deleted = [str(r) for r in message.get("deleted", [])]
        rooms: list[Room] = []
        if saved:
            async with self._db.call() as client, guard():
                rooms = await Room.filter(room_id__in=saved).using_db(client)
        gone = set(saved) - {room.room_id for room in rooms}  # deleted again since
        self.cache.apply(rooms, [*deleted, *gone])

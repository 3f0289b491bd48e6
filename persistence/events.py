"""Domain events: frozen dataclasses, published only after the write that caused them commits.

Repositories hand events to an :class:`EventOutbox`. Outside a transaction the statement has
already committed when the repository gets its result, so the event goes out at once. Inside
``layer.transaction()`` events wait for COMMIT and are dropped on ROLLBACK. A handler that
raises is logged; the write it reacts to stays written.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, runtime_checkable
from uuid import UUID, uuid4

__all__ = [
    "ContainerCreated",
    "ContainerRemoved",
    "ContainerUpdated",
    "CorpseCreated",
    "ItemCreated",
    "ItemsTransferred",
    "Event",
    "EventBus",
    "EventHandler",
    "EventOutbox",
    "InProcessEventBus",
    "NullEventBus",
    "PlayerCreated",
    "PlayerDeleted",
    "PlayerHPUpdated",
    "PlayerLeveledUp",
    "PlayerMoved",
    "PlayerRestored",
    "PlayerRoomFixed",
    "PlayerRowCorrupt",
    "PlayerSaved",
    "PlayerSoftDeleted",
    "PlayerStatUpdated",
    "PlayerXPAwarded",
    "RoomDeleted",
    "RoomsSaved",
]

log = logging.getLogger(__name__)

E = TypeVar("E", bound="Event")
EventHandler = Callable[[E], Awaitable[None] | None]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event. ``occurred_at`` is when the layer saw the commit.

    ``event_id`` identifies the event: a subscriber that may receive it twice (the
    PostgreSQL event bus delivers at least once) drops repeats by it.
    """

    occurred_at: datetime = field(default_factory=_now)
    event_id: UUID = field(default_factory=uuid4)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerCreated(Event):
    """A save inserted a new player row."""

    player_id: UUID
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerSaved(Event):
    """A save wrote changes to an existing player; ``fields`` names what was written."""

    player_id: UUID
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerDeleted(Event):
    """A player row was deleted."""

    player_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerSoftDeleted(Event):
    """A character was soft-deleted: its row and items stay, its name is free."""

    player_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerRestored(Event):
    """A soft-deleted character was brought back."""

    player_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomsSaved(Event):
    """Rooms were inserted or updated (``save_room`` / ``save_rooms``)."""

    room_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomDeleted(Event):
    """A room was deleted (``delete_room``)."""

    room_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerRoomFixed(Event):
    """A player stood in a room that does not exist and was moved to the fallback room."""

    player_id: UUID
    old_room_id: str
    new_room_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerMoved(Event):
    """A player walked through an exit (``move_player``)."""

    player_id: UUID
    from_room_id: str
    to_room_id: str
    direction: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerRowCorrupt(Event):
    """A multi-row read skipped a player whose stored row breaks the schema.

    ``fields`` names what is wrong (``"stats"`` for the whole document); ``error`` says how.
    The row is left as it is for an operator to fix (see ``layer.audit()``).
    """

    player_id: UUID
    fields: tuple[str, ...]
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerHPUpdated(Event):
    """current_health changed (or was clamped); values are the database's, from one statement.

    ``delta`` is what the caller asked for; ``new_hp - old_hp`` is what the clamp allowed.
    ``died``: this change took the player from above the health floor to it or below
    (decided in the statement, so exactly one of two concurrent killing blows has it).
    """

    player_id: UUID
    old_hp: int
    new_hp: int
    max_hp: int
    delta: int
    reason: str
    died: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerXPAwarded(Event):
    """Experience was added; old and new values come from the same statement."""

    player_id: UUID
    xp_amount: int
    old_xp: int
    new_xp: int
    old_level: int
    new_level: int
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerLeveledUp(Event):
    """An XP award moved the player to a higher level (published after PlayerXPAwarded)."""

    player_id: UUID
    old_level: int
    new_level: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayerStatUpdated(Event):
    """A whitelisted stat other than current_health changed through an atomic delta."""

    player_id: UUID
    field: str
    old_value: int
    new_value: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemCreated(Event):
    """A new item instance was created at ``owner`` (``(owner_type, owner_id)``)."""

    item_instance_id: str
    prototype_id: str
    owner: tuple[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemsTransferred(Event):
    """Items moved from one owner to another in one transaction (replays publish nothing)."""

    item_instance_ids: tuple[str, ...]
    from_owner: tuple[str, str]
    to_owner: tuple[str, str]
    op_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerCreated(Event):
    """A container was created, with ``item_instance_ids`` created inside it."""

    container_id: UUID
    source_type: str
    room_id: str | None
    entity_id: UUID | None
    item_instance_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CorpseCreated(Event):
    """A player died: a corpse container took their inventory.

    ``spilled_item_ids`` did not fit (a container holds at most 20 items) and lie on the floor
    of ``room_id``.
    """

    container_id: UUID
    player_id: UUID
    room_id: str
    item_instance_ids: tuple[str, ...]
    spilled_item_ids: tuple[str, ...]
    decay_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerUpdated(Event):
    """A container's lock state or metadata changed; ``fields`` names which."""

    container_id: UUID
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerRemoved(Event):
    """A container was deleted (``decayed`` when it was past its decay time).

    ``contents`` says what happened to its items: ``"drop"`` (now on the floor of
    ``room_id``) or ``"delete"`` (deleted with it).
    """

    container_id: UUID
    source_type: str
    room_id: str | None
    item_instance_ids: tuple[str, ...]
    contents: str
    decayed: bool


@runtime_checkable
class EventBus(Protocol):
    """What the layer needs from an event bus; bring your own or use the in-process one."""

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to its subscribers. Must not raise for a failing handler."""

    def subscribe(self, event_type: type[E], handler: EventHandler[E]) -> None:
        """Call ``handler`` for every published event of ``event_type`` (or a subclass)."""


class NullEventBus:
    """A bus that drops everything; the default when no bus is given."""

    def publish(self, event: Event) -> None:
        """Drop the event."""

    def subscribe(self, event_type: type[E], handler: EventHandler[E]) -> None:
        """Accept and ignore the subscription."""


class InProcessEventBus:
    """Calls subscribers in the publishing process.

    Plain functions run at once; coroutine functions are scheduled as tasks on the running
    loop. Exceptions from either are logged and never reach the publisher.
    """

    def __init__(self) -> None:
        self._handlers: defaultdict[type[Event], list[EventHandler[Any]]] = defaultdict(list)
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(self, event_type: type[E], handler: EventHandler[E]) -> None:
        """Register ``handler`` for ``event_type`` and its subclasses."""
        self._handlers[event_type].append(handler)

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to the handlers of its type and of its base types."""
        for event_type in type(event).__mro__:
            for handler in self._handlers.get(event_type, ()):
                self._call(handler, event)

    def _call(self, handler: EventHandler[Any], event: Event) -> None:
        try:
            result = handler(event)
        except Exception:
            log.exception("event handler %r failed on %r", handler, event)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(self._await(handler, result, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _await(handler: EventHandler[Any], result: Awaitable[None], event: Event) -> None:
        try:
            await result
        except Exception:
            log.exception("event handler %r failed on %r", handler, event)

    async def drain(self) -> None:
        """Wait for the coroutine handlers scheduled so far (useful in tests and at shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class EventOutbox:
    """Holds events until the transaction that produced them commits."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._pending: contextvars.ContextVar[list[Event] | None] = contextvars.ContextVar(
            f"mud_outbox_{id(self)}", default=None
        )

    @property
    def listening(self) -> bool:
        """Whether events reach anyone; hot paths skip building them for a NullEventBus."""
        return not isinstance(self.bus, NullEventBus)

    def emit(self, *events: Event) -> None:
        """Publish now, or after the enclosing transaction commits."""
        pending = self._pending.get()
        if pending is not None:
            pending.extend(events)
            return
        for event in events:
            self._publish(event)

    def _publish(self, event: Event) -> None:
        try:
            self.bus.publish(event)
        except Exception:
            log.exception("event bus failed to publish %r", event)

    @contextmanager
    def collect(self) -> Iterator[list[Event]]:
        """Collect events emitted inside the block instead of publishing them.

        The caller decides what to do with the list: :meth:`release` after commit, or
        nothing after rollback. Blocks nest (savepoints): an inner block's list is handed to
        the outer one on release.
        """
        pending: list[Event] = []
        token = self._pending.set(pending)
        try:
            yield pending
        finally:
            self._pending.reset(token)

    def release(self, events: list[Event]) -> None:
        """Publish committed events, or pass them to the enclosing transaction's list."""
        self.emit(*events)

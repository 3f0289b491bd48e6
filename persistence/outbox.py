"""A PostgreSQL-backed event bus: events for other processes, in the transaction of the change.

With :class:`PostgresEventBus` as the layer's bus, every repository call runs in a
transaction (its own, or the caller's) and the events it publishes are written to the
``event_outbox`` table just before that transaction's COMMIT: an event is stored if and only
if its change committed. The commit notifies :data:`EVENTS_CHANNEL`. In the same process the
bus's own subscribers get the events after the commit, as with the in-process bus.

In any process, :class:`OutboxSubscriber` delivers the stored events to a handler, at least
once and in id order: it records each delivery after the handler returned, under the
consumer's name, so a subscriber that dies is given again what it had not finished, and one
that restarts continues where it stopped. Handlers drop repeats by ``event_id``.

Run one subscriber per consumer name: two running under the same name each deliver every
event (still at least once, but every event twice). A new consumer starts after the highest
event id stored when it registers; an event of a transaction still open at that moment can
get a lower id and is then not delivered to it: give ``from_start=True`` to a consumer that
must see every event.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Final

import asyncpg

from persistence.errors import DatabaseUnavailableError, ValidationError, guard
from persistence.events import Event, InProcessEventBus
from persistence.notify import Listener
from persistence.urls import connect_arguments, database_credentials
from persistence.validation import check_text

__all__ = [
    "EVENTS_CHANNEL",
    "DeliveredEvent",
    "OutboxSubscriber",
    "PostgresEventBus",
    "stage_events",
]

log = logging.getLogger(__name__)

EVENTS_CHANNEL: Final = "mud_events"
"""Notified (empty payload) by every commit that stored events."""

# Hand-written: a commit's events in one INSERT ... SELECT FROM unnest, and the notification
# in the same statement (the COMMIT right after delivers both or neither).
_STAGE: Final = """
WITH stored AS (
    INSERT INTO event_outbox (event_id, event_type, payload)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[])
    RETURNING id
)
SELECT pg_notify($4, count(*)::text) FROM stored
"""
_REGISTER: Final = """
INSERT INTO event_consumers (name, since_id)
VALUES ($1, CASE WHEN $2 THEN 0 ELSE (SELECT COALESCE(max(id), 0) FROM event_outbox) END)
ON CONFLICT (name) DO NOTHING
"""
# Every stored event after the consumer's start that it has not handled, oldest first. An
# event whose transaction commits late (a smaller id than ones already handled) is found
# too: delivery is tracked per event, not by a high-water mark.
_PENDING: Final = """
SELECT o.id, o.event_id, o.event_type, o.payload::text AS payload, o.created_at
  FROM event_outbox o, event_consumers c
 WHERE c.name = $1 AND o.id > c.since_id
   AND NOT EXISTS (SELECT 1 FROM event_deliveries d
                    WHERE d.consumer = $1 AND d.outbox_id = o.id)
 ORDER BY o.id
 LIMIT $2
"""
_DELIVERED: Final = """
INSERT INTO event_deliveries (consumer, outbox_id) VALUES ($1, $2)
ON CONFLICT (consumer, outbox_id) DO NOTHING
"""


class PostgresEventBus(InProcessEventBus):
    """The layer's bus when other processes must see its events (see the module)."""

    transactional = True
    """Tells the layer to run each call in a transaction and store its events at COMMIT."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    return value


async def stage_events(connection: Any, events: Sequence[Event]) -> None:
    """Store ``events`` on ``connection``, inside the transaction about to commit."""
    if not events:
        return
    ids = [event.event_id for event in events]
    types = [type(event).__name__ for event in events]
    payloads = [json.dumps(_jsonable(dataclasses.asdict(event))) for event in events]
    await connection.fetch(_STAGE, ids, types, payloads, EVENTS_CHANNEL)


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveredEvent:
    """An event as a subscriber receives it.

    Attributes:
        outbox_id: Its position in the outbox (ascending in delivery order).
        event_id: The event's id: the same for every delivery of it.
        event_type: The event class's name (``"PlayerHPUpdated"``).
        data: Its fields, as JSON (ids and times as text).
        created_at: When it was stored.
    """

    outbox_id: int
    event_id: uuid.UUID
    event_type: str
    data: dict[str, Any]
    created_at: datetime


Handler = Callable[[DeliveredEvent], Awaitable[None] | None]


class OutboxSubscriber:
    """Deliver the outbox's events to ``handler`` under the consumer name ``consumer``.

    Args:
        url: A direct URL of the database (it LISTENs; not through a transaction pooler).
        consumer: The subscriber's name: its progress is kept under it across restarts.
        handler: Called once per event, in order; an exception stops the delivery of that
            event (it is given again later) and is logged.
        from_start: A new consumer receives every stored event, not only later ones.
        poll_interval: Seconds between looks when no notification arrives (a safety net).
        batch: Events read per query.

    Raises:
        ValidationError: A bad URL, consumer name, interval or batch, before connecting.
    """

    def __init__(
        self,
        url: str,
        consumer: str,
        handler: Handler,
        *,
        from_start: bool = False,
        poll_interval: float = 1.0,
        batch: int = 100,
    ) -> None:
        try:
            database_credentials(url)
        except ValueError as exc:
            raise ValidationError(f"url: {exc}") from None
        if not isinstance(poll_interval, int | float) or not 0 < poll_interval <= 3600:
            raise ValidationError("poll_interval must be a number of seconds in (0, 3600]")
        if type(batch) is not int or not 0 < batch <= 10_000:
            raise ValidationError("batch must be an int from 1 to 10,000")
        self._url = url
        self._consumer = check_text(consumer, "consumer", max_length=128)
        self._handler = handler
        self._from_start = from_start
        self._poll_interval = poll_interval
        self._batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: Listener | None = None
        self._conn: asyncpg.Connection | None = None
        self._delivering = asyncio.Lock()  # deliver_pending from the caller and from _run
        self.delivered = 0
        """Events handed to the handler so far by this object."""

    async def start(self) -> None:
        """Register the consumer, listen, and start delivering; a no-op while running.

        Raises:
            DatabaseUnavailableError: The database cannot be reached (nothing started).
        """
        if self._task is not None:
            return
        async with guard():
            await self._connect()
            assert self._conn is not None  # noqa: S101 - set by _connect
            await self._conn.execute(_REGISTER, self._consumer, self._from_start)
        self._listener = Listener(
            self._url,
            EVENTS_CHANNEL,
            self._notified,
            self._notified_all,
            application_name=f"mud-outbox-{self._consumer}"[:63],
        )
        await self._listener.start()
        self._task = asyncio.create_task(self._run(), name=f"mud-outbox-{self._consumer}")

    async def stop(self) -> None:
        """Stop delivering (an event being handled is given again to the next start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> OutboxSubscriber:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def deliver_pending(self) -> int:
        """Deliver what is stored and not yet handled; returns how many were handed over.

        Safe to call while the subscriber runs: deliveries take turns, in id order.

        Raises:
            DatabaseUnavailableError: The database cannot be reached (or another
                :class:`~persistence.errors.PersistenceError` of the outbox's statements).
            Exception: What the handler raised; that event is given again next time.
        """
        async with self._delivering:
            return await self._deliver_pending()

    async def _deliver_pending(self) -> int:
        handed = 0
        while True:
            async with guard():  # the database's errors are translated, the handler's not
                if self._conn is None or self._conn.is_closed():
                    await self._connect()
                assert self._conn is not None  # noqa: S101 - set by _connect
                rows = await self._conn.fetch(_PENDING, self._consumer, self._batch)
            for row in rows:
                event = DeliveredEvent(
                    outbox_id=row["id"],
                    event_id=row["event_id"],
                    event_type=row["event_type"],
                    data=json.loads(row["payload"]),
                    created_at=row["created_at"],
                )
                result = self._handler(event)
                if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                    await result
                async with guard():
                    await self._conn.execute(_DELIVERED, self._consumer, row["id"])
                handed += 1
                self.delivered += 1
            if len(rows) < self._batch:
                return handed

    async def _connect(self) -> None:
        self._conn = await asyncpg.connect(
            **connect_arguments(self._url),
            timeout=5,
            statement_cache_size=0,
            server_settings={"application_name": f"mud-outbox-{self._consumer}"[:63]},
        )

    async def _notified(self, _payload: str) -> None:
        self._wake.set()

    async def _notified_all(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        delay = 0.05
        while True:
            self._wake.clear()  # before looking: a notification from now on wakes us again
            try:
                await self.deliver_pending()
                delay = 0.05
            except DatabaseUnavailableError as exc:
                log.warning("outbox consumer %s: %s; retrying", self._consumer, exc)
                if self._conn is not None:
                    self._conn.terminate()
                    self._conn = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            except Exception:
                log.exception("outbox consumer %s: the handler failed", self._consumer)
                await asyncio.sleep(self._poll_interval)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)

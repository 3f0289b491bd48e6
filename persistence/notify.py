"""Across processes: a dedicated LISTEN connection that survives being killed.

Room writes (``save_rooms``, ``delete_room``) and ``reload_rooms()`` send a notification on
:data:`ROOMS_CHANNEL` in the same transaction as the write, so it is delivered when, and only
if, the write commits. Every other layer on the database listens and updates its room cache
(the rooms named, or all of them). LISTEN needs a session of its own: through a transaction
pooler it must go direct (``MUD_LISTEN_DATABASE_URL`` or ``MUD_MIGRATION_DATABASE_URL``).
After its connection is lost the listener reconnects with backoff and reloads everything,
since notifications sent meanwhile were missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import asyncpg

from persistence.config import connect_arguments

__all__ = ["NOTIFY_SQL", "ROOMS_CHANNEL", "Listener", "rooms_payload"]

log = logging.getLogger(__name__)

ROOMS_CHANNEL: Final = "mud_rooms"
"""Notifications of room writes: ``{"origin", "saved", "deleted"}`` or ``{"origin", "reload"}``."""

NOTIFY_SQL: Final = "SELECT pg_notify($1, $2)"
"""Hand-written: NOTIFY takes no bind parameters; ``pg_notify`` does (channel, payload)."""

_MAX_PAYLOAD: Final = 7000  # PostgreSQL's limit is 8000 bytes


def rooms_payload(origin: str, saved: list[str], deleted: list[str]) -> str:
    """The notification of a room write; "reload everything" when the ids would not fit."""
    text = json.dumps({"origin": origin, "saved": saved, "deleted": deleted})
    if len(text.encode()) > _MAX_PAYLOAD:
        return json.dumps({"origin": origin, "reload": True})
    return text


class Listener:
    """LISTEN on one channel over a connection of its own, reconnecting when it is lost.

    ``on_message`` gets each payload, in order; ``on_reconnect`` runs after every connection
    but the first (to catch up on what was missed while disconnected).
    """

    def __init__(
        self,
        url: str,
        channel: str,
        on_message: Callable[[str], Awaitable[None]],
        on_reconnect: Callable[[], Awaitable[object]],
        *,
        application_name: str,
        max_delay: float = 2.0,
    ) -> None:
        self._url = url
        self._channel = channel
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._application_name = application_name
        self._max_delay = max_delay
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._connected = asyncio.Event()
        self._stopping = False
        self.connections = 0
        """How many times the listener connected (1 + reconnections)."""
        self.id = uuid.uuid4().hex
        """This listener's identity, sent as the origin of this process's notifications."""

    async def start(self, *, wait: float = 5.0) -> None:
        """Start listening; waits up to ``wait`` seconds for the first connection."""
        self._tasks = [
            asyncio.create_task(self._connect_loop(), name=f"mud-listen-{self._channel}"),
            asyncio.create_task(self._deliver_loop(), name=f"mud-deliver-{self._channel}"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), wait)
        if not self._connected.is_set():
            log.warning("listener on %s not connected yet; it keeps trying", self._channel)

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    async def _connect_loop(self) -> None:
        delay = 0.05
        while not self._stopping:
            try:
                conn: asyncpg.Connection = await asyncpg.connect(
                    **connect_arguments(self._url),
                    timeout=5,
                    statement_cache_size=0,
                    server_settings={"application_name": self._application_name},
                )
            except Exception as exc:  # whatever stops a connection now: keep trying, logged
                log.warning("listener on %s cannot connect (%s); retrying", self._channel, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_delay)
                continue
            delay = 0.05
            try:
                await self._listen(conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("listener on %s lost its connection (%s)", self._channel, exc)
            finally:
                self._connected.clear()
                with contextlib.suppress(Exception):
                    conn.terminate()

    async def _listen(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(self._channel, self._received)
        self.connections += 1
        self._connected.set()
        if self.connections > 1:
            await self._queue.put("")  # "" means: catch up on what was missed
        while not lost.is_set() and not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), 1.0)
            if not lost.is_set() and not conn.is_closed():
                # A half-open connection only shows when used: a cheap round trip.
                await asyncio.wait_for(conn.execute("SELECT 1"), 5)

    def _received(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._queue.put_nowait(payload)

    async def _deliver_loop(self) -> None:
        while True:
            payload = await self._queue.get()
            try:
                if payload == "":
                    await self._on_reconnect()
                else:
                    await self._on_message(payload)
            except Exception:  # one bad message must not stop the listener
                log.exception("listener on %s failed to apply %r", self._channel, payload)

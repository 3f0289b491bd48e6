"""Reads on streaming replicas, and still reading your own writes.

With ``MUD_REPLICA_URLS`` set, a read-only repository call made outside a transaction
(``get_*``, ``require_*``, ``list_*``, ``read_*``) runs on a replica, as one more Tortoise
connection of the layer. Everything else stays on the primary: writes, transactions, the
room cache load, ``FOR UPDATE``.

Read-your-writes: after every write through the layer (and every commit of
``layer.transaction()``) the layer notes the primary's WAL position. A read goes to a
replica only once that replica is known to have replayed up to it: the replicas' replay
positions are polled in the background and asked again when a read needs a newer one, for
at most ``MUD_REPLICA_WAIT`` seconds; then the read goes to the primary. A replica that
cannot be reached is skipped until it answers again, so its reads go to the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient

__all__ = ["ReplicaSet", "lsn", "reading"]

log = logging.getLogger(__name__)

_READING: contextvars.ContextVar[bool] = contextvars.ContextVar("mud_reading", default=False)

REPLAY_SQL: Final = "SELECT pg_last_wal_replay_lsn()::text"
"""How far a replica has replayed the primary's WAL (``NULL`` on a primary)."""
WRITTEN_SQL: Final = "SELECT pg_current_wal_lsn()::text"
"""How far the primary has written its WAL: past every commit it acknowledged."""
_REFRESH_TIMEOUT: Final = 2.0
"""Seconds one look at a replica may take before it counts as unavailable."""


@contextmanager
def reading(read_only: bool = True) -> Iterator[None]:
    """Mark the calls made in the block as read-only (they may run on a replica), or not."""
    token = _READING.set(read_only)
    try:
        yield
    finally:
        _READING.reset(token)


def is_reading() -> bool:
    """Whether the current call is a read-only one."""
    return _READING.get()


def lsn(text: str | None) -> int:
    """A WAL position (``'16/B374D848'``) as a number (0 for none)."""
    if not text:
        return 0
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass
class _Replica:
    name: str
    replayed: int = 0
    healthy: bool = False
    checked: float = field(default=0.0)
    down_logged: bool = False


class ReplicaSet:
    """The replicas of one layer: their replay positions, their health, the choice of one."""

    def __init__(self, names: list[str], client_of: Any, *, wait: float, poll: float) -> None:
        self._replicas = [_Replica(name) for name in names]
        self._client_of = client_of
        self._wait = wait
        self._poll = poll
        self._task: asyncio.Task[None] | None = None
        self._next = 0
        self.written = 0
        """The primary's WAL position after this layer's latest write."""
        self._unknown_since: float | None = None
        """Set when a write's position could not be read: reads stay on the primary until a
        position read after that moment is noted."""
        self.reads_on_replicas = 0
        self.reads_on_primary = 0

    async def start(self) -> None:
        """Poll every replica once, then keep polling in the background."""
        await asyncio.gather(*(self._refresh(r) for r in self._replicas))
        self._task = asyncio.create_task(self._poll_loop(), name="mud-replicas")

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def note(self, position: int, read_at: float) -> None:
        """A write committed on the primary up to ``position``, read at ``read_at`` (monotonic)."""
        self.written = max(self.written, position)
        if self._unknown_since is not None and read_at > self._unknown_since:
            self._unknown_since = None  # read after the write nobody could place: covers it

    def note_unknown(self, since: float) -> None:
        """A write committed, but its position could not be read (its read began at ``since``).

        Until a position read after ``since`` is noted, every read goes to the primary: no
        replica can be shown to have that write.
        """
        self._unknown_since = since if self._unknown_since is None else self._unknown_since

    def mark_down(self, name: str) -> None:
        """A call on this replica failed to connect: skip it until it answers again."""
        for replica in self._replicas:
            if replica.name == name:
                replica.healthy = False

    async def pick(self) -> BaseDBAsyncClient | None:
        """A replica's client that has every write of this layer, or ``None`` (the primary)."""
        if self._unknown_since is not None:
            self.reads_on_primary += 1
            return None
        needed = self.written
        deadline = time.monotonic() + self._wait
        while True:
            ready = [r for r in self._replicas if r.healthy and r.replayed >= needed]
            if ready:
                self._next = (self._next + 1) % len(ready)
                self.reads_on_replicas += 1
                client: BaseDBAsyncClient = self._client_of(ready[self._next].name)
                return client
            behind = [r for r in self._replicas if r.healthy]
            if not behind or time.monotonic() >= deadline:
                self.reads_on_primary += 1
                return None
            try:  # a replica that does not answer costs this read at most the wait
                async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
                    await asyncio.gather(*(self._refresh(r) for r in behind))
            except TimeoutError:
                self.reads_on_primary += 1
                return None
            if not any(r.replayed >= needed for r in behind):
                await asyncio.sleep(0.001)

    async def _refresh(self, replica: _Replica) -> None:
        try:
            async with asyncio.timeout(_REFRESH_TIMEOUT):  # the pool wait included
                client = self._client_of(replica.name)
                async with client.acquire_connection() as conn:
                    text = await conn.fetchval(REPLAY_SQL)
        except Exception as exc:  # any failure: not usable now
            if replica.healthy or not replica.down_logged:
                log.warning(
                    "replica %s unavailable (%s): its reads go to the primary",
                    replica.name,
                    type(exc).__name__ if isinstance(exc, TimeoutError) else exc,
                )
                replica.down_logged = True
            replica.healthy = False
            return
        if text is None:  # promoted, or not a replica at all: no replay to trust
            replica.healthy = False
            return
        if not replica.healthy:
            log.info("replica %s available", replica.name)
            replica.down_logged = False
        replica.healthy = True
        replica.replayed = max(replica.replayed, lsn(text))
        replica.checked = time.monotonic()

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self._poll)
            await asyncio.gather(*(self._refresh(r) for r in self._replicas))

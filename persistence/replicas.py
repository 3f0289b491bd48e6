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

A replica that stops answering without closing its connections (a frozen host, a network
that drops packets) must not hold reads for the statement timeout: every look at a replica,
and every read sent to one (the pool wait, connecting and the statement together), has
:data:`REPLICA_TIMEOUT` to answer. A look that gets no answer marks the replica down; a read
that gets none runs on the primary instead (a read is safe to repeat), and marks it down
when a statement went unanswered. The connection that hung is terminated, not returned to
the pool: asyncpg would wait for its cancel request, which a frozen host never answers.
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
from functools import partial
from typing import Any, Final

import asyncpg
from tortoise.backends.asyncpg.client import TransactionWrapper
from tortoise.backends.base.client import BaseDBAsyncClient

from persistence.config import DEFAULT_CONNECTION
from persistence.engine import detached_context
from persistence.errors import DatabaseUnavailableError

__all__ = ["REPLICA_TIMEOUT", "ReplicaSet", "lsn", "reading"]

log = logging.getLogger(__name__)

_READING: contextvars.ContextVar[bool] = contextvars.ContextVar("mud_reading", default=False)

REPLAY_SQL: Final = "SELECT pg_last_wal_replay_lsn()::text"
"""How far a replica has replayed the primary's WAL (``NULL`` on a primary)."""
WRITTEN_SQL: Final = "SELECT pg_current_wal_lsn()::text"
"""How far the primary has written its WAL: past every commit it acknowledged."""
REPLICA_TIMEOUT: Final = 1.0
"""Seconds a replica has to answer one look at its position, or one read sent to it (the
pool wait, connecting and the statement together), before it counts as not answering.

So a replica that stops answering costs a read at most ``MUD_REPLICA_WAIT`` plus this, on
top of the read itself on the primary. Reads of this layer are short indexed statements,
answered in milliseconds; one slower than this on a replica runs again on the primary, and
the replica is used again as soon as a look at its position succeeds."""

_LOST: Final = (
    OSError,  # TimeoutError, ConnectionError, ...
    asyncpg.PostgresConnectionError,  # 08xxx, the connection closed in the middle
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    DatabaseUnavailableError,
)
"""Statement failures that say the replica did not answer, not that the statement is wrong."""


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
    """The replicas of one layer: their replay positions, their health, the choice of one.

    Args:
        names: The replicas' Tortoise connection names.
        client_of: Tortoise's client of a connection name (``context.connections.get``).
        wait: ``MUD_REPLICA_WAIT``.
        poll: ``MUD_REPLICA_POLL_INTERVAL``.
        timeout: How long a replica has to answer (:data:`REPLICA_TIMEOUT`).
        primary: The primary's connection name, where a read goes that a replica did not
            answer in time.
    """

    def __init__(
        self,
        names: list[str],
        client_of: Any,
        *,
        wait: float,
        poll: float,
        timeout: float = REPLICA_TIMEOUT,
        primary: str = DEFAULT_CONNECTION,
    ) -> None:
        self._replicas = [_Replica(name) for name in names]
        self._client_of = client_of
        self._wait = wait
        self._poll = poll
        self.timeout = timeout
        """Seconds a replica has to answer a look or a read."""
        self._primary = primary
        self._task: asyncio.Task[None] | None = None
        self._looking: dict[str, asyncio.Task[None]] = {}
        """The look at each replica in progress, shared by the poller and waiting reads."""
        self._bounded: list[BaseDBAsyncClient] = []
        self._next = 0
        self.written = 0
        """The primary's WAL position after this layer's latest write."""
        self._unknown_since: float | None = None
        """Set when a write's position could not be read: reads stay on the primary until a
        position read after that moment is noted."""
        self.reads_on_replicas = 0
        self.reads_on_primary = 0
        self.reads_moved = 0
        """Reads sent to a replica that did not answer in time, run on the primary instead."""

    async def start(self) -> None:
        """Poll every replica once, then keep polling in the background."""
        await asyncio.gather(*(self._look(r) for r in self._replicas))
        self._task = asyncio.create_task(self._poll_loop(), name="mud-replicas")

    async def stop(self) -> None:
        """Stop polling, and give the replicas' clients their own connection handling back."""
        tasks = [t for t in (self._task, *self._looking.values()) if t is not None]
        self._task = None
        self._looking.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for client in self._bounded:
            vars(client).pop("acquire_connection", None)
        self._bounded.clear()

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
        """A replica's client that has every write of this layer, or ``None`` (the primary).

        The client's reads are bounded: one that the replica does not answer within
        :attr:`timeout` runs on the primary.
        """
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
                return self._bounded_client(ready[self._next])
            behind = [r for r in self._replicas if r.healthy]
            left = deadline - time.monotonic()
            if not behind or left <= 0:
                self.reads_on_primary += 1
                return None
            # A replica that does not answer costs this read at most the wait: the look goes
            # on in the background (bounded by its own timeout) and other reads share it.
            await asyncio.wait([self._looking_at(r) for r in behind], timeout=left)
            if not any(r.replayed >= needed for r in behind):
                await asyncio.sleep(0.001)

    def _bounded_client(self, replica: _Replica) -> BaseDBAsyncClient:
        """The replica's client, its ``acquire_connection()`` bounded (see :class:`_ReplicaRead`).

        Set on the client object, as :func:`persistence.engine.attach` does, so every way
        Tortoise and the layer reach the replica (hand-written statements and model queries)
        goes through it; :meth:`stop` removes it.
        """
        client: BaseDBAsyncClient = self._client_of(replica.name)
        if isinstance(client, BaseDBAsyncClient) and "acquire_connection" not in vars(client):
            client.acquire_connection = partial(_ReplicaRead, self, replica, client)  # type: ignore[method-assign, assignment]
            self._bounded.append(client)
        return client

    def _primary_client(self) -> BaseDBAsyncClient:
        client: BaseDBAsyncClient = self._client_of(self._primary)
        while isinstance(client, TransactionWrapper):  # never for a read routed to a replica
            client = client._parent
        return client

    def _unanswered(self, replica: _Replica, exc: BaseException, *, down: bool) -> None:
        """A replica did not answer (``exc``); ``down``: skip it until a look succeeds."""
        if not down:
            return
        if replica.healthy or not replica.down_logged:
            reason = (
                f"no answer within {self.timeout:g} s"
                if isinstance(exc, TimeoutError)
                else type(exc).__name__
                if isinstance(exc, _LOST)
                else str(exc)
            )
            log.warning(
                "replica %s unavailable (%s): its reads go to the primary", replica.name, reason
            )
            replica.down_logged = True
        replica.healthy = False

    def _looking_at(self, replica: _Replica) -> asyncio.Task[None]:
        """The look at ``replica`` in progress, or a new one."""
        task = self._looking.get(replica.name)
        if task is None or task.done():
            task = asyncio.create_task(  # shared by later reads: not the starting call's own
                self._look(replica), name=f"mud-replica-{replica.name}", context=detached_context()
            )
            self._looking[replica.name] = task
        return task

    async def _look(self, replica: _Replica) -> None:
        """Ask the replica how far it has replayed, within :attr:`timeout`."""
        client = self._client_of(replica.name)
        # The client's own pool connection, not the bounded read path: this is the check.
        wrapper = type(client).acquire_connection(client)
        connection: Any = None
        try:
            async with asyncio.timeout(self.timeout):
                connection = await wrapper.__aenter__()
                text = await connection.fetchval(REPLAY_SQL)
        except BaseException as exc:
            if connection is not None:
                _terminate(connection)  # hung: returning it would wait for a cancel request
            if not isinstance(exc, Exception):
                raise
            self._unanswered(replica, exc, down=True)
            return
        finally:
            if connection is not None:
                await _release_quietly(wrapper)
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
        while self._replicas:
            await asyncio.sleep(self._poll)
            await asyncio.wait([self._looking_at(r) for r in self._replicas])


class _ReplicaRead:
    """What a replica's ``acquire_connection()`` gives: a bounded read, else the primary's.

    Entering it takes a replica connection within the replica's timeout; the statements run
    on it must answer by the same deadline (:class:`_BoundedConnection`). When the replica
    does not answer in time, the read takes a primary connection instead: a replica that is
    merely busy (its pool full) is left as it is, one whose connection or statement hung is
    marked down.
    """

    __slots__ = ("_client", "_held", "_moved_to", "_replica", "_replicas")

    def __init__(self, replicas: ReplicaSet, replica: _Replica, client: BaseDBAsyncClient) -> None:
        self._replicas = replicas
        self._replica = replica
        self._client = client
        self._held: Any = None
        """The replica's own pool wrapper, while it holds a connection."""
        self._moved_to: Any = None
        """The primary's pool wrapper, once the read moved there."""

    async def __aenter__(self) -> Any:
        replicas, replica = self._replicas, self._replica
        if replica.healthy:
            deadline = asyncio.get_running_loop().time() + replicas.timeout
            wrapper = type(self._client).acquire_connection(self._client)
            try:
                async with asyncio.timeout_at(deadline):
                    connection = await wrapper.__aenter__()
            except Exception as exc:
                # Waiting for a pool slot or for a connection to open: not proof the replica
                # is gone (the poller decides that), but this read goes to the primary.
                replicas._unanswered(replica, exc, down=not isinstance(exc, TimeoutError))
            else:
                self._held = wrapper
                return _BoundedConnection(self, connection, deadline)
        return await self._to_primary()

    async def _to_primary(self) -> Any:
        self._replicas.reads_moved += 1
        wrapper = self._replicas._primary_client().acquire_connection()
        connection = await wrapper.__aenter__()
        self._moved_to = wrapper
        return connection

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        held, self._held = self._held, None
        moved_to, self._moved_to = self._moved_to, None
        try:
            if held is not None:  # the replica's connection: its release never fails the read
                await _release_quietly(held)
        finally:
            if moved_to is not None:
                await moved_to.__aexit__(exc_type, exc, tb)


class _BoundedConnection:
    """A replica connection whose statements must answer by the read's deadline.

    A statement the replica does not answer in time (or answers by losing the connection)
    runs again on a primary connection, and every later statement of the read goes there
    too. Anything else (attributes, other methods) is the connection's own.
    """

    __slots__ = ("_connection", "_deadline", "_read")

    def __init__(self, read: _ReplicaRead, connection: Any, deadline: float) -> None:
        self._read = read
        self._connection = connection
        self._deadline = deadline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        """``Connection.fetch``, bounded."""
        return await self._run("fetch", args, kwargs)

    async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
        """``Connection.fetchrow``, bounded."""
        return await self._run("fetchrow", args, kwargs)

    async def fetchval(self, *args: Any, **kwargs: Any) -> Any:
        """``Connection.fetchval``, bounded."""
        return await self._run("fetchval", args, kwargs)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        """``Connection.execute``, bounded."""
        return await self._run("execute", args, kwargs)

    async def executemany(self, *args: Any, **kwargs: Any) -> Any:
        """``Connection.executemany``, bounded."""
        return await self._run("executemany", args, kwargs)

    async def _run(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        read = self._read
        if read._moved_to is None:
            connection = self._connection
            try:
                async with asyncio.timeout_at(self._deadline):
                    return await getattr(connection, method)(*args, **kwargs)
            except Exception as exc:
                if not (isinstance(exc, _LOST) or _is_closed(connection)):
                    raise  # the statement's own error: the same on the primary, the caller's
                _terminate(connection)  # hung: returning it would wait for a cancel request
                read._replicas._unanswered(read._replica, exc, down=True)
            except BaseException:
                _terminate(connection)  # abandoned mid-statement (the caller was cancelled)
                raise
            self._connection = await read._to_primary()
        return await getattr(self._connection, method)(*args, **kwargs)


def _terminate(connection: Any) -> None:
    terminate = getattr(connection, "terminate", None)
    if terminate is not None:
        try:
            terminate()
        except Exception:
            log.debug("terminating a replica connection raised", exc_info=True)


def _is_closed(connection: Any) -> bool:
    is_closed = getattr(connection, "is_closed", None)
    return bool(is_closed()) if is_closed is not None else False


async def _release_quietly(wrapper: Any) -> None:
    # A terminated connection is released at once; any error here concerns a replica
    # connection this read no longer needs.
    try:
        await wrapper.__aexit__(None, None, None)
    except Exception:
        log.debug("releasing a replica connection raised", exc_info=True)

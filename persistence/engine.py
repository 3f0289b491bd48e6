"""Tortoise's asyncpg engine and transaction classes, with what a shared game server needs.

The layer runs on Tortoise's own connection machinery: its clients, its pool, its
``TransactionWrapper`` and its connection context variable. So ``layer.transaction()`` and
Tortoise's ``in_transaction()`` are one transaction system, whichever is outer. This module
adds to Tortoise's classes, by subclassing, what they lack:

* **Events after the outermost COMMIT.** A transaction keeps the events of the calls made
  inside it and publishes them only when it commits; a rollback, or a savepoint rolled back
  inside it, drops them (:class:`MudTransaction`).
* **A COMMIT that cannot lie.** When a statement failed inside a transaction, PostgreSQL
  answers COMMIT with a rollback and asyncpg does not raise. Such a transaction is probed
  before COMMIT, and leaving it raises :class:`~persistence.errors.TransactionAbortedError`.
* **One call at a time per transaction.** Each repository call inside a transaction holds the
  transaction's statement lock for its whole duration and works in its own savepoint (see
  :mod:`persistence.db`); COMMIT and ROLLBACK wait for a call in flight, and a call that
  starts or ends after the block was left is refused.
* **Two leaks fixed** in ``TransactionContextPooled``: a pooled connection was never released
  when BEGIN failed, and a failing release left the dead transaction in the task's context.
  See ``docs/decisions/0003-tortoise-native-engine.md``.
* **Bounded pool waits** (:class:`BoundedWaitPool`; Tortoise acquires without a timeout) and
  a cheaper connection reset for the pool the layer owns.

A game's own Tortoise client gets the same transaction context when the layer attaches to it
(:func:`attach`); transactions opened on a client the layer never saw are adopted on first
use (:meth:`MudTransaction.adopt`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Final, cast

import asyncpg
from asyncpg.pool import Pool, PoolAcquireContext, PoolConnectionProxy
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    ConnectionWrapper,
    NestedTransactionContext,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError

from persistence.errors import PoolExhaustedError, TransactionAbortedError

if TYPE_CHECKING:
    from persistence.events import Event, EventBus

__all__ = [
    "BoundedWaitPool",
    "MudAsyncpgClient",
    "MudTransaction",
    "RootTransactionContext",
    "attach",
    "client_class",
    "CallScope",
    "call_scope",
    "current_scope",
    "detached_context",
    "note_committed",
    "publish",
]

log = logging.getLogger(__name__)

POOL_RESETS: Final = ("transaction", "full")
"""``transaction``: returning a connection rolls back an open transaction only (the layer sets
no session state); ``full``: asyncpg's default reset query as well (``RESET ALL``, ...)."""


async def _stage_events(connection: Any, events: list[Event]) -> None:
    from persistence.outbox import stage_events  # the outbox imports this module's users

    await stage_events(connection, events)


class CallScope:
    """What one public call shares across its statements, retries and connections.

    Attributes:
        wait_left: Seconds the call may still wait for pool connections, in all.
        committed: Whether some write of the call has committed: a later failure of the
            same call must not tell the caller that nothing was applied. Set with
            :func:`note_committed` by the calls that commit more than once (a write that
            returns what it wrote reads it back inside its own transaction instead).
    """

    __slots__ = ("committed", "wait_left")

    def __init__(self, wait: float) -> None:
        self.wait_left = wait
        self.committed = False


_scope: contextvars.ContextVar[CallScope | None] = contextvars.ContextVar(
    "mud_call_scope", default=None
)


@contextmanager
def call_scope(wait: float, *, unit: bool = False) -> Iterator[CallScope]:
    """One public call: every pool wait inside draws on one budget of ``wait`` seconds.

    A call may need a connection more than once (a statement, then its checked twin, a
    read-back, a retry): without a shared budget each wait could take the whole acquire
    timeout, and the call would wait a multiple of the documented bound. Scopes nest: an
    inner one is the outer one, unless it is a ``unit`` of a call that works through many
    independent units, each in a transaction of its own (``remove_decayed_containers``):
    each unit gets the whole budget, as it would as a call of its own.
    """
    outer = _scope.get()
    if outer is not None and not unit:
        yield outer
        return
    scope = CallScope(wait)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def current_scope() -> CallScope | None:
    """The public call the current code runs in, or ``None`` outside any."""
    return _scope.get()


def detached_context() -> contextvars.Context:
    """A copy of the current context outside any call, for code that is not the call's own.

    A game's event handler runs while the call that published the event finishes, and a
    task it (or the layer's background work) starts there copies the context: without this,
    the game's later calls would count as nested in a call that ended, and wait on what is
    left of its budget.
    """
    context = contextvars.copy_context()
    context.run(_scope.set, None)
    return context


def note_committed() -> None:
    """A write of the current call has committed (see :class:`CallScope`)."""
    scope = _scope.get()
    if scope is not None:
        scope.committed = True


def publish(
    pending: list[tuple[EventBus, Event]], committed: TransactionWrapper | None = None
) -> None:
    """Deliver committed events; a failing bus is logged, never raised into the caller.

    The handlers run outside the publishing call (:func:`detached_context`), and outside
    the transaction that just committed (``committed``): the block is still being left
    while they run, and a task a handler starts would otherwise keep the finished
    transaction as its connection, refusing every call (``TransactionClosedError``).
    """
    if not pending:
        return
    context = detached_context()
    if committed is not None:
        context.run(get_connections().set, committed.connection_name, committed._parent)
    for bus, event in pending:
        try:
            context.run(bus.publish, event)
        except Exception:
            log.exception("event bus failed to publish %r", event)


class BoundedWaitPool(Pool):  # type: ignore[misc]  # asyncpg ships no type hints
    """An asyncpg pool whose ``acquire()`` times out unless told otherwise."""

    def __init__(self, *args: Any, acquire_timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._default_acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        """Acquire a connection, waiting at most the configured time."""
        wait = timeout if timeout is not None else self._default_acquire_timeout
        return super().acquire(timeout=wait)

    async def _acquire(self, timeout: float | None) -> Any:  # noqa: ASYNC109 - asyncpg API
        if timeout is None:
            return await super()._acquire(None)
        scope = _scope.get()
        wait = timeout if scope is None else max(0.0, min(timeout, scope.wait_left))
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            # asyncio.timeout cancels this task at the deadline; asyncpg's own wait_for would
            # run the acquire in a task of its own, an event-loop turn on every call. With
            # nothing left of the call's budget, only a connection free at once is taken.
            async with asyncio.timeout(wait):
                proxy = await super()._acquire(None)
        except TimeoutError as exc:
            spent = "" if scope is None else " (its last wait, after others of the same call)"
            raise PoolExhaustedError(
                f"no database connection became free within {wait:.3g} s{spent}; a call waits "
                f"at most {timeout:g} s in all (MUD_POOL_ACQUIRE_TIMEOUT) with a pool of "
                f"{self._maxsize} (MUD_POOL_MAX_SIZE): raise either or shorten transactions"
            ) from exc
        finally:
            if scope is not None:
                scope.wait_left -= loop.time() - began
        proxy._holder._timeout = timeout  # what release() falls back to, as asyncpg records it
        return proxy

    async def release(
        self,
        connection: Any,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - asyncpg's API
    ) -> None:
        """Return a connection; inline when nothing has to be sent or waited for.

        asyncpg shields every release in a task of its own, an event-loop turn per call. With
        the layer's reset (nothing to reset), a connection outside a transaction and not being
        cancelled is released without suspending at all, so there is nothing to shield. When
        other callers wait, one turn of the loop lets the one it wakes take the connection
        before this task can ask for one again.
        """
        con = getattr(connection, "_con", None)
        holder = getattr(connection, "_holder", None)
        if (
            self._reset is _keep_session
            and con is not None
            and holder is not None
            and holder._pool is self
            and type(connection) is PoolConnectionProxy
            and not con.is_closed()
            and not con._protocol.is_in_transaction()
            and not con._protocol._is_cancelling()
            and con._top_xact is None
            and con._protocol.queries_count < holder._max_queries
            and holder._generation == self._generation
        ):
            self._check_init()
            waiting = bool(self._queue._getters)
            con._on_release()
            await holder.release(timeout if timeout is not None else holder._timeout)
            if waiting:
                # The caller this release woke takes the connection before this task can ask
                # for one again (asyncpg's shielded release gave it that turn, too).
                await asyncio.sleep(0)
            return
        await super().release(connection, timeout=timeout)


async def _keep_session(connection: Any) -> None:
    """Pool reset for connections that carry no session state.

    asyncpg rolls back an open transaction before calling this; the default reset would send
    ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every release as well,
    a second round trip per call that the layer's own statements never need.
    """


class MudAsyncpgClient(AsyncpgDBClient):
    """Tortoise's asyncpg client for the pool the layer owns.

    Credentials ``acquire_timeout`` and ``pool_reset`` (see :data:`POOL_RESETS`) are read here;
    transactions use :class:`RootTransactionContext`.
    """

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        """Build the pool with a bounded acquire and the configured reset."""
        acquire_timeout = kwargs.pop("acquire_timeout", None)
        reset = kwargs.pop("pool_reset", "transaction")
        hosts = kwargs.pop("mud_hosts", None)
        if hosts:  # failover: asyncpg tries them in order (target_session_attrs decides)
            kwargs["host"] = [h for h, _ in hosts]
            kwargs["port"] = [p for _, p in hosts]
        kwargs.setdefault("max_queries", 50000)
        kwargs.setdefault("max_inactive_connection_lifetime", 300.0)
        kwargs.setdefault("record_class", asyncpg.Record)
        if reset == "transaction":
            kwargs.setdefault("reset", _keep_session)
        pool = BoundedWaitPool(
            None,
            acquire_timeout=None if acquire_timeout is None else float(acquire_timeout),
            **kwargs,
        )
        await pool
        return pool

    def _in_transaction(self) -> TransactionContext:
        return RootTransactionContext(self)


def attach(client: AsyncpgDBClient) -> AsyncpgDBClient:
    """Give a game's Tortoise client the layer's transaction context (idempotent).

    Only ``in_transaction()`` changes, on this client object: its transactions become
    :class:`MudTransaction` (events after commit, a COMMIT that cannot lie) opened by
    :class:`RootTransactionContext` (no leak when BEGIN fails). The pool, its settings and
    everything else stay the game's.
    """
    if not isinstance(client, MudAsyncpgClient) and "_in_transaction" not in vars(client):
        client._in_transaction = partial(RootTransactionContext, client)  # type: ignore[method-assign]
    return client


class _WatchedConnection(ConnectionWrapper[asyncpg.Connection]):
    """Tortoise's per-statement lock, noting a failed statement on its transaction."""

    __slots__ = ()

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if exc_type is not None:
            cast(MudTransaction, self.client)._mud_suspect = True
        self._lock.release()


class MudTransaction(TransactionWrapper):
    """Tortoise's asyncpg transaction client, keeping events until the outermost COMMIT.

    A root instance is one PostgreSQL transaction; a child (``_parent`` is a transaction) is a
    savepoint in it. Events of calls made inside wait in ``_mud_events``; a child hands them to
    its parent when released, the root publishes them after COMMIT. A ``closing`` root or
    child refuses new calls (see :mod:`persistence.db`).
    """

    _mud_events: list[tuple[EventBus, Event]]
    _mud_marks: list[int]
    _mud_suspect: bool
    _mud_closing: bool

    def __init__(self, connection: AsyncpgDBClient) -> None:
        super().__init__(connection)
        self._mud_init()

    def _mud_init(self) -> None:
        self._mud_events = []
        self._mud_marks = []
        self._mud_suspect = False
        self._mud_closing = False

    @classmethod
    def adopt(cls, wrapper: TransactionWrapper) -> MudTransaction:
        """This transaction as a :class:`MudTransaction` (a plain Tortoise one is converted).

        A transaction opened on a client the layer had not attached yet (e.g. the game's
        ``in_transaction()`` around a first repository call) gets the layer's bookkeeping from
        here on; it only adds attributes and behaviour to Tortoise's class.
        """
        if isinstance(wrapper, MudTransaction):
            return wrapper
        if type(wrapper) is not TransactionWrapper:
            raise TypeError(f"unsupported transaction client {type(wrapper).__name__}")
        wrapper.__class__ = cls
        adopted = cast(MudTransaction, wrapper)
        adopted._mud_init()
        return adopted

    @property
    def is_root(self) -> bool:
        """Whether this is the transaction itself rather than a savepoint in it."""
        return not isinstance(self._parent, TransactionWrapper)

    @property
    def parent_transaction(self) -> MudTransaction | None:
        """The enclosing transaction level of a savepoint; ``None`` for the root."""
        parent = self._parent
        return MudTransaction.adopt(parent) if isinstance(parent, TransactionWrapper) else None

    def is_closed(self) -> bool:
        """Whether this level (or one enclosing it) is committing, rolling back, or done."""
        level: MudTransaction | None = self
        while level is not None:
            if level._mud_closing or level._finalized:
                return True
            level = level.parent_transaction
        return False

    def collect(self, pending: list[tuple[EventBus, Event]]) -> None:
        """Keep events until this transaction commits."""
        self._mud_events.extend(pending)

    def acquire_connection(self) -> ConnectionWrapper[asyncpg.Connection]:
        """The transaction's connection under its statement lock, noting failed statements."""
        return _WatchedConnection(self._lock, self)

    def _in_transaction(self) -> TransactionContext:
        # Tortoise's own nested block (in_transaction() inside this one).
        return _TortoiseSavepoint(MudTransaction(self))

    async def commit(self) -> None:
        """COMMIT (root) or RELEASE SAVEPOINT (child), after any call in flight ends."""
        self._mud_closing = True
        async with self._lock:
            if self.is_root and self._mud_suspect:
                await self._probe()
            if self.is_root:
                # Events for other processes are stored in this transaction: they exist
                # if and only if it commits (persistence.outbox).
                stored = [e for bus, e in self._mud_events if getattr(bus, "transactional", False)]
                if stored:
                    await _stage_events(self._connection, stored)
            await super().commit()
        pending, self._mud_events = self._mud_events, []
        parent = self.parent_transaction
        if parent is None:
            publish(pending, self)
        else:
            parent._mud_events.extend(pending)
            parent._mud_suspect = parent._mud_suspect or self._mud_suspect

    async def rollback(self) -> None:
        """ROLLBACK (root) or ROLLBACK TO SAVEPOINT (child); the events are dropped."""
        self._mud_closing = True
        self._mud_events = []
        async with self._lock:
            await super().rollback()

    async def _probe(self) -> None:
        """Raise TransactionAbortedError, after ROLLBACK, if PostgreSQL aborted the transaction."""
        try:
            await self._connection.fetchval("SELECT 1")
        except asyncpg.InFailedSQLTransactionError as exc:
            self._mud_events = []
            try:
                await super().rollback()
            except Exception:
                log.debug("rollback of an aborted transaction failed", exc_info=True)
            raise TransactionAbortedError(
                "a statement failed inside this transaction, so PostgreSQL rolled all of it "
                "back; nothing was committed (catching a database error inside a transaction "
                "does not undo the abort: use a nested transaction block around it)"
            ) from exc


class _TortoiseSavepoint(NestedTransactionContext):
    """Tortoise's nested block, dropping the events of calls made inside when it rolls back.

    Tortoise keeps the enclosing transaction current inside a nested block, so calls made there
    hand their events to it; the block marks where they start and cuts them off on rollback.
    """

    __slots__ = ("_mark",)

    async def __aenter__(self) -> MudTransaction:
        client = cast(MudTransaction, await super().__aenter__())
        parent = client.parent_transaction
        if parent is not None:
            self._mark = len(parent._mud_events)
            parent._mud_marks.append(self._mark)
        return client

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        parent = cast(MudTransaction, self.client).parent_transaction
        kept = False
        try:
            await super().__aexit__(exc_type, exc_val, exc_tb)
            kept = exc_type is None
        finally:
            if parent is not None and parent._mud_marks:
                mark = parent._mud_marks.pop()
                if not kept:
                    del parent._mud_events[mark:]


class RootTransactionContext(TransactionContextPooled):
    """Tortoise's pooled transaction context, without its two leaks.

    * BEGIN failing (e.g. on a connection the server killed) released nothing and left the
      transaction current in the task: here the connection goes back and the context is reset.
    * A failing release (a broken connection) skipped resetting the context, so every later
      ``in_transaction()`` of the task became a savepoint in a dead transaction: here the
      context is always reset and a release error never replaces the block's outcome.
    """

    __slots__ = ()

    def __init__(self, client: AsyncpgDBClient) -> None:
        super().__init__(MudTransaction(client), client._pool_init_lock)

    async def __aenter__(self) -> MudTransaction:
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        self.token = get_connections().set(self.connection_name, self.client)
        try:
            await self.client.begin()
        except BaseException:
            get_connections().reset(self.token)
            await _release_quietly(pool, self.client._connection)
            raise
        return cast(MudTransaction, self.client)

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            if not self.client._finalized:
                if exc_type is None:
                    await self.client.commit()
                elif exc_type is not TransactionManagementError:
                    await self.client.rollback()
        finally:
            try:
                await _release_quietly(self.client._parent._pool, self.client._connection)
            finally:
                get_connections().reset(self.token)


async def _release_quietly(pool: Any, connection: Any) -> None:
    # asyncpg terminates a broken connection and returns its slot even when release()
    # raises; the block's own outcome must not be replaced by that error.
    if pool is None or connection is None:
        return
    try:
        await pool.release(connection)
    except Exception:
        log.debug("releasing a broken connection raised", exc_info=True)


client_class = MudAsyncpgClient
"""The engine module protocol: Tortoise builds this client for ``"engine": __name__``."""

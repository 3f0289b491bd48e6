"""The database a layer works on: Tortoise's context and connection, calls and transactions.

Everything runs through Tortoise: a :class:`Database` is a connection name in a
``TortoiseContext``, either one the layer initialised itself (the embedded server or
``MUD_DATABASE_URL``, optionally with the game's own apps) or one the game initialised
(``Tortoise.init``, ``RegisterTortoise``, Tortoise's test helpers) that the layer attaches to.
Statements run on the client Tortoise gives for that name at call time, so inside
``in_transaction()`` or ``layer.transaction()`` they run on the transaction's connection.

One repository call is one :meth:`Database.call`:

* outside a transaction, a single statement runs on the pool (autocommit) and a call of
  several statements opens its own transaction;
* inside a transaction, the call takes the transaction's statement lock for its whole
  duration and works in its own savepoint: a failing call is rolled back alone (so the caller
  may catch its error and carry on), and concurrent calls in one transaction run one after
  another instead of interleaving savepoints.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext, get_current_context, set_global_context
from tortoise.context import _current_context as _tortoise_current_context

from persistence.config import APP_LABEL, DEFAULT_CONNECTION, replica_connection, tortoise_config
from persistence.embedded import EmbeddedPostgres, start_embedded_postgres
from persistence.engine import (
    MudTransaction,
    RootTransactionContext,
    attach,
    publish,
)
from persistence.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    PersistenceError,
    TransactionClosedError,
    guard,
    translate,
)
from persistence.metrics import PoolStats
from persistence.replicas import WRITTEN_SQL, ReplicaSet, is_reading, lsn
from persistence.settings import PersistenceSettings

if TYPE_CHECKING:
    from persistence.events import Event, EventBus

__all__ = ["Database", "Row"]

Row = Mapping[str, Any]
"""A result row: an asyncpg ``Record`` or a dict; index by column name, or ``**row``."""

log = logging.getLogger(__name__)


def _not_applied(exc: BaseException) -> PersistenceError:
    """Translate an error raised before any statement was sent: certainly not applied."""
    error = translate(exc)
    error.not_applied = error.not_applied or error.transient
    return error


def _closed() -> TransactionClosedError:
    return TransactionClosedError(
        "the transaction this call would run in was already committed or rolled back "
        "(a task started inside a transaction block outlived the block); nothing was applied"
    )


class Database:
    """One Tortoise connection name in one Tortoise context, and the calls made on it.

    Args:
        settings: The layer's settings (URL, pool, timeouts).
        connection: Attach to this connection of a Tortoise the game initialised, instead of
            initialising Tortoise here.
        apps: The game's own Tortoise apps, registered on the layer's connection when the
            layer initialises Tortoise itself.
        current: Resolve Tortoise's current context at every call instead of holding one: for
            repositories built on their own (``HealthRepository(event_bus=bus)``) while
            Tortoise is initialised by a layer or by the game.
    """

    def __init__(
        self,
        settings: PersistenceSettings,
        *,
        connection: str | None = None,
        apps: Mapping[str, Mapping[str, Any]] | None = None,
        current: bool = False,
    ) -> None:
        self.settings = settings
        self.connection = connection or DEFAULT_CONNECTION
        self.attached = connection is not None
        self._follow_current = current
        self._apps = {label: dict(app) for label, app in (apps or {}).items()}
        if self._apps and self.attached:
            raise ConfigurationError(
                "apps= registers the game's apps on a Tortoise the layer initialises; with "
                "connection=, put them in the game's own Tortoise config"
            )
        self._context: TortoiseContext | None = None
        self._embedded: EmbeddedPostgres | None = None
        self._url: str | None = settings.database_url
        self._made_current = False
        self.replicas: ReplicaSet | None = None
        """The read replicas (``MUD_REPLICA_URLS``), once started."""
        if settings.replica_urls and self.attached:
            raise ConfigurationError(
                "MUD_REPLICA_URLS needs the layer to run Tortoise itself; attached to the "
                "game's connection, route reads with the game's own Tortoise routers"
            )

    @classmethod
    def following_current(
        cls, settings: PersistenceSettings, connection: str = DEFAULT_CONNECTION
    ) -> Database:
        """A database for repositories built without a layer (see ``current``)."""
        return cls(settings, connection=connection, current=True)

    # -- lifecycle -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL in use (the embedded server's once started)."""
        if self._url is None:
            raise ConfigurationError("the database is not started")
        return self._url

    def listen_url(self) -> str | None:
        """A URL for a session of its own (LISTEN), or ``None`` when none can be had.

        ``MUD_LISTEN_DATABASE_URL``; through a pooler (LISTEN needs a session) the migration
        URL's server and database, logged in as the layer's own role (the user and password
        of ``MUD_DATABASE_URL``, never the owner's); else the layer's URL, or, attached, the
        game's connection's credentials.
        """
        chosen = self.settings.listen_database_url
        if chosen:
            return chosen
        own = self._own_login_url()
        if self.settings.pooler != "none":
            direct = self.settings.migration_database_url
            return None if direct is None or own is None else _with_login_of(direct, own)
        return own

    def _own_login_url(self) -> str | None:
        """A URL with the layer's own login: its URL, or, attached, the game's connection's."""
        if not self.attached:
            return self.url
        client = self._require_context().connections.get(self.connection)
        while isinstance(client, TransactionWrapper):
            client = client._parent
        user, password = getattr(client, "user", None), getattr(client, "password", None)
        host, port = getattr(client, "host", None), getattr(client, "port", None)
        database = getattr(client, "database", None)
        if not (user and host and database) or callable(password):
            return None
        auth = quote(str(user), safe="") + (f":{quote(str(password), safe='')}" if password else "")
        if str(host).startswith("/"):
            return f"postgres://{auth}@/{database}?host={host}&port={port}"
        return f"postgres://{auth}@{host}:{port}/{database}"

    @property
    def direct_url(self) -> str:
        """The URL for migrations and DDL: ``MUD_MIGRATION_DATABASE_URL``, else :attr:`url`."""
        return self.settings.migration_database_url or self.url

    @property
    def started(self) -> bool:
        """Whether :meth:`start` ran and :meth:`close` did not."""
        return self._context is not None

    @property
    def context(self) -> TortoiseContext:
        """The Tortoise context the calls run in."""
        return self._require_context()

    async def start(self) -> None:
        """Attach to the game's Tortoise, or initialise Tortoise (and its pool) here."""
        if self._context is not None or self._follow_current:
            return
        if self.attached:
            self._context = self._attach()
            return
        if self._url is None:
            self._embedded = await asyncio.to_thread(
                start_embedded_postgres, self.settings.embedded_data_dir
            )
            self._url = self._embedded.url
        context = TortoiseContext()
        token = _tortoise_current_context.set(context)
        try:
            async with guard():
                await context.init(
                    config=tortoise_config(self.settings, self._url, apps=self._apps)
                )
                client = context.connections.get(self.connection)
                async with client.acquire_connection():
                    pass  # open the pool now: fail at start, not at the first call
        except BaseException:
            try:
                await context.close_connections()
            finally:
                await self._stop_embedded()
            raise
        finally:
            _tortoise_current_context.reset(token)
        self._context = context
        if self.settings.replica_urls:
            self.replicas = ReplicaSet(
                [replica_connection(n) for n in range(len(self.settings.replica_urls))],
                context.connections.get,
                wait=self.settings.replica_wait,
                poll=self.settings.replica_poll_interval,
            )
            await self.replicas.start()
        # Like Tortoise.init: the caller's task (and, when nobody else claimed it, every task)
        # sees this Tortoise, so the game's own models and in_transaction() work on it.
        if _tortoise_current_context.get() is None:
            _tortoise_current_context.set(context)
            self._made_current = True
        from tortoise import context as tortoise_context

        if tortoise_context._global_context is None:
            set_global_context(context)

    def _attach(self) -> TortoiseContext:
        context = get_current_context()
        if context is None or not context.inited:
            raise ConfigurationError(
                "connection= attaches the layer to a Tortoise the game initialised, but "
                "Tortoise is not initialised in this task: call Tortoise.init (or "
                f"RegisterTortoise) first, with persistence.tortoise_app() under {APP_LABEL!r}"
            )
        if self.connection not in context.connections.db_config:
            raise ConfigurationError(
                f"Tortoise has no connection named {self.connection!r} "
                f"(it has {sorted(context.connections.db_config)})"
            )
        self._check_models_registered(context)
        client = context.connections.get(self.connection)
        if isinstance(client, TransactionWrapper):
            client = client._parent
        if not isinstance(client, AsyncpgDBClient):
            raise ConfigurationError(
                f"connection {self.connection!r} uses {type(client).__name__}; the layer needs "
                "Tortoise's asyncpg engine (a postgres:// URL or tortoise.backends.asyncpg)"
            )
        attach(client)
        return context

    def _check_models_registered(self, context: TortoiseContext) -> None:
        from persistence.models.player import Player

        apps = context.apps
        registered = apps is not None and APP_LABEL in apps.apps
        if not registered or Player._meta.app != APP_LABEL:
            raise ConfigurationError(
                f"the package's models are not registered in this Tortoise: add "
                f"{APP_LABEL!r}: persistence.tortoise_app({self.connection!r}) to its 'apps'"
            )
        if Player._meta.default_connection != self.connection:
            raise ConfigurationError(
                f"the package's models use connection {Player._meta.default_connection!r}, "
                f"not {self.connection!r}: pass tortoise_app({self.connection!r})"
            )

    async def close(self) -> None:
        """Close what :meth:`start` opened; attached, Tortoise is left as it is."""
        if self.replicas is not None:
            await self.replicas.stop()
            self.replicas = None
        context, self._context = self._context, None
        if context is None or self.attached:
            return
        try:
            token = _tortoise_current_context.set(context)
            try:
                await context.close_connections()
            finally:
                _tortoise_current_context.reset(token)
            if self._made_current and _tortoise_current_context.get() is context:
                _tortoise_current_context.set(None)
        finally:
            self._made_current = False
            await self._stop_embedded()

    async def _stop_embedded(self) -> None:
        embedded, self._embedded = self._embedded, None
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
            if self.settings.database_url is None:
                self._url = None

    def _require_context(self) -> TortoiseContext:
        if self._follow_current:
            context = get_current_context()
            if context is None or not context.inited:
                raise ConfigurationError(
                    "Tortoise is not initialised: start an AsyncPersistenceLayer, or call "
                    f"Tortoise.init with persistence.tortoise_app() under {APP_LABEL!r}"
                )
            return context
        if self._context is None:
            raise ConfigurationError("the persistence layer is not started: await layer.start()")
        return self._context

    # -- the current client ----------------------------------------------------------

    @contextmanager
    def activate(self) -> Iterator[TortoiseContext]:
        """Make this database's Tortoise context current for the block (model queries need it)."""
        context = self._require_context()
        if _tortoise_current_context.get() is context:
            yield context
            return
        token = _tortoise_current_context.set(context)
        try:
            yield context
        finally:
            _tortoise_current_context.reset(token)

    def client(self) -> BaseDBAsyncClient:
        """The client Tortoise uses for this connection now: a transaction's, or the pool's."""
        client = self._require_context().connections.get(self.connection)
        if isinstance(client, TransactionWrapper):
            return MudTransaction.adopt(client)
        if isinstance(client, AsyncpgDBClient):
            attach(client)
        return client

    def pool_stats(self) -> PoolStats:
        """The pool of this connection now (``None`` fields where asyncpg does not tell)."""
        try:
            client = self._require_context().connections.get(self.connection)
        except ConfigurationError:
            return PoolStats()
        while isinstance(client, TransactionWrapper):
            client = client._parent
        pool = getattr(client, "_pool", None)
        if pool is None:
            return PoolStats(max_size=getattr(client, "pool_maxsize", None))
        size, idle = pool.get_size(), pool.get_idle_size()
        queue = getattr(pool, "_queue", None)
        getters = getattr(queue, "_getters", None)  # asyncio.Queue's waiters
        return PoolStats(
            size=size,
            in_use=size - idle,
            idle=idle,
            max_size=pool.get_max_size(),
            waiting=None if getters is None else len(getters),
        )

    def describe(self) -> str:
        """Where this database is, for logs: host, port and name, never a password."""
        try:
            client = self._require_context().connections.get(self.connection)
        except ConfigurationError:
            return "(not started)"
        while isinstance(client, TransactionWrapper):
            client = client._parent
        host = getattr(client, "host", "?")
        port = getattr(client, "port", "?")
        return f"{host}:{port}/{getattr(client, 'database', '?')}"

    async def read_target(self, current: BaseDBAsyncClient) -> BaseDBAsyncClient:
        """Where a statement of the current call runs: a replica for a read, else ``current``.

        A read-only call outside a transaction goes to a replica that has replayed this
        layer's latest write (``persistence.replicas``); anything else stays on ``current``.
        """
        replicas = self.replicas
        if replicas is None or not is_reading() or isinstance(current, TransactionWrapper):
            return current
        return await replicas.pick() or current

    def replica_failed(self, client: BaseDBAsyncClient) -> None:
        """A statement on ``client`` could not reach it: if a replica, skip it for now."""
        name = getattr(client, "connection_name", None)
        if self.replicas is not None and name and name != self.connection:
            self.replicas.mark_down(name)

    async def note_write(self) -> None:
        """Remember how far the primary's WAL is after a write (read-your-writes)."""
        if self.replicas is None or self.in_transaction:
            return
        started = time.monotonic()
        try:  # the write has committed: whatever happens here, it must not look failed
            async with guard():
                client = self.client()
                async with client.acquire_connection() as conn:
                    position = await conn.fetchval(WRITTEN_SQL)
        except PersistenceError as exc:
            log.warning(
                "could not read the primary's WAL position after a write (%s): reads go to "
                "the primary until it is known again",
                exc,
            )
            self.replicas.note_unknown(started)
            return
        self.replicas.note(lsn(position), started)

    @property
    def in_transaction(self) -> bool:
        """Whether the current task is inside a transaction on this connection."""
        return isinstance(self.client(), TransactionWrapper)

    def emit(self, bus: EventBus, events: Sequence[Event]) -> None:
        """Publish events now, or when the enclosing transaction commits."""
        if not events:
            return
        pending = [(bus, event) for event in events]
        try:
            current = self.client()
        except ConfigurationError:
            current = None
        if isinstance(current, MudTransaction):
            current.collect(pending)
        else:
            publish(pending)

    # -- calls and transactions ------------------------------------------------------

    @asynccontextmanager
    async def call(self, *, atomic: bool = False) -> AsyncIterator[BaseDBAsyncClient]:
        """One repository call; yields the client its statements and model queries use.

        Inside a transaction: a savepoint, with the transaction's statement lock held for the
        whole call. Outside: its own transaction when ``atomic`` (several statements that
        must apply together), else the pool (one autocommit statement).
        """
        with self.activate():
            current = self.client()
            if isinstance(current, MudTransaction):
                async with self._savepoint(current) as child:
                    yield child
            elif atomic:
                async with self._root(current) as root:
                    yield root
            else:
                target = await self.read_target(current)
                try:
                    yield target
                except DatabaseUnavailableError:
                    self.replica_failed(target)
                    raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[BaseDBAsyncClient]:
        """A transaction block for the caller: a savepoint when one is open already."""
        root = not self.in_transaction
        async with self.call(atomic=True) as client:
            yield client
        if root:
            await self.note_write()

    @asynccontextmanager
    async def _root(self, client: BaseDBAsyncClient) -> AsyncIterator[BaseDBAsyncClient]:
        if not isinstance(client, AsyncpgDBClient):
            raise ConfigurationError(f"cannot open a transaction on {type(client).__name__}")
        context = RootTransactionContext(client)
        try:
            transaction = await context.__aenter__()
        except PersistenceError:
            raise
        except Exception as exc:
            raise _not_applied(exc) from exc
        try:
            yield transaction
        except BaseException as exc:
            try:
                await context.__aexit__(type(exc), exc, exc.__traceback__)
            except Exception:
                log.debug("rollback after %r failed", exc, exc_info=True)
            raise
        try:
            await context.__aexit__(None, None, None)
        except PersistenceError:
            raise
        except Exception as exc:
            raise translate(exc) from exc

    @asynccontextmanager
    async def _savepoint(self, parent: MudTransaction) -> AsyncIterator[MudTransaction]:
        # The parent's statement lock: other calls and the game's own statements on this
        # transaction wait, so nothing runs between this savepoint's start and its end.
        async with parent._lock:
            if parent.is_closed():
                raise _closed()
            child = MudTransaction(parent)
            try:
                await child.savepoint()
            except Exception as exc:
                raise translate(exc) from exc
            handler = self._require_context().connections
            token = handler.set(self.connection, child)
            try:
                yield child
            except BaseException as exc:
                handler.reset(token)
                await _quietly(child.savepoint_rollback(), exc)
                raise
            handler.reset(token)
            if parent.is_closed():
                # The block this call runs in ended while it ran: do not report a success
                # for work the block's COMMIT or ROLLBACK no longer covers.
                await _quietly(child.savepoint_rollback(), None)
                raise _closed()
            try:
                await child.release_savepoint()
            except Exception as exc:
                raise translate(exc) from exc

    async def fetch(self, client: BaseDBAsyncClient, sql: str, args: Sequence[Any]) -> list[Any]:
        """Run one hand-written statement on ``client`` and return its rows (RETURNING too).

        It goes through Tortoise's ``acquire_connection()``: the pool's connection, or the
        transaction's under its statement lock. Errors are translated here, the one place
        hand-written statements run; an error before the statement was sent is marked
        ``not_applied``.
        """
        wrapper = client.acquire_connection()
        try:
            connection = await wrapper.__aenter__()
        except PersistenceError:
            raise
        except Exception as exc:
            raise _not_applied(exc) from exc
        try:
            rows: list[Any] = await connection.fetch(sql, *args)
        except BaseException as exc:
            await _exit_quietly(wrapper, exc)
            if isinstance(exc, Exception):
                error = translate(exc)
                if isinstance(error, DatabaseUnavailableError):
                    self.replica_failed(client)
                raise error from exc
            raise
        await _exit_quietly(wrapper, None)
        return rows


def _with_login_of(address: str, login: str) -> str:
    """``address`` (a URL) with the user and password of ``login`` (another URL) instead."""
    target, source = urlsplit(address), urlsplit(login)
    userinfo = source.netloc.rpartition("@")[0]
    hosts = target.netloc.rpartition("@")[2]
    netloc = f"{userinfo}@{hosts}" if userinfo else hosts
    return target._replace(netloc=netloc).geturl()


async def _quietly(step: Any, cause: BaseException | None) -> None:
    try:
        await step
    except Exception:
        log.debug("savepoint rollback after %r failed", cause, exc_info=True)


async def _exit_quietly(wrapper: Any, exc: BaseException | None) -> None:
    # Returning a connection the server killed raises; the statement's own outcome (its rows,
    # or its error) must not be replaced by that.
    try:
        if exc is None:
            await wrapper.__aexit__(None, None, None)
        else:
            await wrapper.__aexit__(type(exc), exc, exc.__traceback__)
    except Exception:
        log.debug("releasing a connection raised", exc_info=True)

"""The database a layer talks to: start, stop, migrations, and which Tortoise context is live.

Tortoise 1.x keeps its state in a ``TortoiseContext`` found through a context variable. A
layer owns one private context (and with it Tortoise's asyncpg pool) and makes it current
only where Tortoise needs it; statements run on the pool directly (:meth:`Database.fetch`).
So several layers can live in one process (e.g. two servers sharing a database in a test),
and calls work from any task, including tasks created before ``start()`` (FastAPI handlers).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Final

from tortoise.context import TortoiseContext
from tortoise.context import _current_context as _tortoise_current_context

from persistence.config import tortoise_config
from persistence.embedded import EmbeddedPostgres, start_embedded_postgres
from persistence.errors import ConfigurationError, PersistenceError, guard, translate
from persistence.settings import PersistenceSettings

__all__ = ["Database", "Row", "TransactionConnection", "migrations_location", "run_migrations"]

Row = Mapping[str, Any]
"""A result row: an asyncpg ``Record`` or a dict; index by column name, or ``**row``."""

log = logging.getLogger(__name__)

MIGRATIONS_APP: Final = "models"


def migrations_location() -> Path:
    """The folder holding aerich's ``models/`` migrations, in a checkout or an installed wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "migrations", here.parent / "migrations"):
        if (candidate / MIGRATIONS_APP).is_dir():
            return candidate
    raise ConfigurationError(f"aerich migrations not found next to {here}")


async def run_migrations(url: str, settings: PersistenceSettings | None = None) -> list[str]:
    """Apply every pending aerich migration to the database at ``url``.

    aerich initialises Tortoise globally and closes its connections when done, so it runs in
    a task with an empty context: the caller's Tortoise state is not touched.

    Returns:
        The names of the migration files applied (empty when the schema was current).
    """
    from aerich import Command

    config = tortoise_config(settings or PersistenceSettings(), url)
    config["connections"]["default"]["credentials"]["minsize"] = 1
    config["connections"]["default"]["credentials"]["maxsize"] = 2

    async def _upgrade() -> list[str]:
        os.environ.setdefault("AERICH_NO_TORTOISE_V1_WARNING", "1")
        async with Command(
            tortoise_config=config, app=MIGRATIONS_APP, location=str(migrations_location())
        ) as command:
            applied: list[str] = await command.upgrade(run_in_transaction=True)
            return applied

    task = asyncio.get_running_loop().create_task(_upgrade(), context=contextvars.Context())
    async with guard():
        return await task


class Database:
    """One Tortoise context on one database, plus the embedded server when no URL is set."""

    def __init__(self, settings: PersistenceSettings) -> None:
        self.settings = settings
        self._context: TortoiseContext | None = None
        self._pool: Any = None
        self._embedded: EmbeddedPostgres | None = None
        self._url: str | None = settings.database_url
        self._tx: contextvars.ContextVar[TransactionConnection | None] = contextvars.ContextVar(
            f"mud_tx_{id(self)}", default=None
        )

    @property
    def in_transaction(self) -> bool:
        """Whether the current task is inside :meth:`transaction` of this database."""
        return self._tx.get() is not None

    @property
    def url(self) -> str:
        """The database URL in use (the embedded server's once started)."""
        if self._url is None:
            raise ConfigurationError("the database is not started")
        return self._url

    @property
    def started(self) -> bool:
        """Whether :meth:`start` ran and :meth:`close` did not."""
        return self._context is not None

    async def start(self) -> None:
        """Start the embedded server if needed, open the Tortoise context and its pool.

        The pool is opened here, so an unreachable database fails at start, not later.
        """
        if self._context is not None:
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
                await context.init(config=tortoise_config(self.settings, self._url))
                client = context.db()
                async with client.acquire_connection():
                    pass  # open the pool now: fail at start, not at the first call
                self._pool = getattr(client, "_pool", None)
        except BaseException:
            await self._stop_embedded()
            raise
        finally:
            _tortoise_current_context.reset(token)
        self._context = context

    async def close(self) -> None:
        """Close the pool and stop an embedded server; safe to call twice."""
        context, self._context = self._context, None
        self._pool = None
        try:
            if context is not None:
                token = _tortoise_current_context.set(context)
                try:
                    await context.close_connections()
                finally:
                    _tortoise_current_context.reset(token)
        finally:
            await self._stop_embedded()

    async def _stop_embedded(self) -> None:
        embedded, self._embedded = self._embedded, None
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
            if self.settings.database_url is None:
                self._url = None

    @contextmanager
    def activate(self) -> Iterator[None]:
        """Make this database's Tortoise context current for the block."""
        context = self._context
        if context is None:
            raise ConfigurationError("the persistence layer is not started: await layer.start()")
        if _tortoise_current_context.get() is context:
            yield
            return
        token = _tortoise_current_context.set(context)
        try:
            yield
        finally:
            _tortoise_current_context.reset(token)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[TransactionConnection]:
        """One PostgreSQL transaction for the block; nested blocks become savepoints.

        The transaction runs on one asyncpg connection taken from Tortoise's pool; every
        :meth:`fetch` of this task inside the block uses it. Errors from BEGIN and COMMIT are
        translated; an error raised by the block rolls back and propagates unchanged. The
        connection always goes back to the pool, even when the server killed it.

        Tortoise ORM querysets run inside the block do not join this transaction; use the
        repositories (or ``fetch``) for work that must be atomic.
        """
        current = self._tx.get()
        if current is not None:
            async with current.savepoint():
                yield current
            return
        pool = self._require_pool()
        try:
            connection = await pool.acquire()
        except PersistenceError:
            raise
        except Exception as exc:
            raise _not_applied(exc) from exc
        tx = TransactionConnection(connection)
        token = self._tx.set(tx)
        try:
            try:
                await tx.begin()
            except Exception as exc:
                raise _not_applied(exc) from exc
            try:
                yield tx
            except BaseException as exc:
                await tx.rollback_quietly(exc)
                raise
            try:
                await tx.commit()
            except Exception as exc:
                raise translate(exc) from exc
        finally:
            self._tx.reset(token)
            await _release(pool, connection)

    def _require_pool(self) -> Any:
        if self._context is None or self._pool is None:
            raise ConfigurationError("the persistence layer is not started: await layer.start()")
        return self._pool

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Row]:
        """Run one parameterised statement and return its rows (RETURNING rows included).

        Inside :meth:`transaction` the statement runs on the transaction's connection;
        otherwise straight on Tortoise's own asyncpg pool: the same connections, settings and
        acquire timeout, without the per-call layers of the ORM client. Rows are asyncpg
        records. Errors are translated here, the one place statements run.
        """
        tx = self._tx.get()
        if tx is not None:
            return await tx.fetch(sql, args)
        pool = self._require_pool()
        try:
            connection = await pool.acquire()
        except PersistenceError:
            raise
        except Exception as exc:
            raise _not_applied(exc) from exc
        try:
            records: list[Row] = await connection.fetch(sql, *args)
            return records
        except Exception as exc:
            raise translate(exc) from exc
        finally:
            await _release(pool, connection)


class TransactionConnection:
    """The connection of one open transaction, shared by the calls of the task inside it."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._transaction: Any = None
        self._lock = asyncio.Lock()  # asyncpg runs one operation per connection at a time

    async def begin(self) -> None:
        """Send BEGIN."""
        self._transaction = self._connection.transaction()
        await self._transaction.start()

    async def commit(self) -> None:
        """Send COMMIT."""
        async with self._lock:
            await self._transaction.commit()

    async def rollback_quietly(self, cause: BaseException) -> None:
        """Roll back; a connection already dead is rolled back by the server anyway."""
        try:
            async with self._lock:
                await self._transaction.rollback()
        except Exception:
            log.debug("rollback after %r failed", cause, exc_info=True)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested block: a savepoint, released on success, rolled back on error."""
        async with self._lock:
            nested = self._connection.transaction()
            try:
                await nested.start()
            except Exception as exc:
                raise translate(exc) from exc
        try:
            yield
        except BaseException:
            try:
                async with self._lock:
                    await nested.rollback()
            except Exception:
                log.debug("savepoint rollback failed", exc_info=True)
            raise
        try:
            async with self._lock:
                await nested.commit()
        except Exception as exc:
            raise translate(exc) from exc

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Row]:
        """Run one statement in the transaction, errors translated."""
        try:
            async with self._lock:
                records: list[Row] = await self._connection.fetch(sql, *args)
                return records
        except Exception as exc:
            raise translate(exc) from exc


def _not_applied(exc: BaseException) -> PersistenceError:
    """Translate an error raised before any statement was sent: certainly not applied."""
    error = translate(exc)
    error.not_applied = error.not_applied or error.transient
    return error


async def _release(pool: Any, connection: Any) -> None:
    # asyncpg terminates a broken connection and returns its slot even when release()
    # raises; the statement's own outcome must not be replaced by that error.
    try:
        await pool.release(connection)
    except Exception:
        log.debug("releasing a broken connection raised", exc_info=True)

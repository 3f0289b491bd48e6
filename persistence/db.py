"""The database a layer talks to: start, stop, migrations, and which Tortoise context is live.

Tortoise 1.x keeps its state in a ``TortoiseContext`` found through a context variable. A
layer owns one private context and makes it current around each of its calls, so several
layers can live in one process (e.g. two servers sharing a database in a test), and calls
work from any task, including tasks created before ``start()`` (FastAPI request handlers).
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

from tortoise.backends.asyncpg.client import TransactionWrapper
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext
from tortoise.context import _current_context as _tortoise_current_context
from tortoise.transactions import in_transaction

from persistence.config import tortoise_config
from persistence.embedded import EmbeddedPostgres, start_embedded_postgres
from persistence.errors import ConfigurationError, PersistenceError, guard, translate
from persistence.settings import PersistenceSettings

__all__ = ["Database", "Row", "migrations_location", "run_migrations"]

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
        self._in_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"mud_in_tx_{id(self)}", default=False
        )

    @property
    def in_transaction(self) -> bool:
        """Whether the current task is inside :meth:`transaction` of this database."""
        return self._in_transaction.get()

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
        """Start the embedded server if needed and open the Tortoise context (pool is lazy)."""
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

    def connection(self) -> BaseDBAsyncClient:
        """The client to run a statement on: the open transaction's, or the pool's.

        Call inside :meth:`activate`.
        """
        context = self._context
        if context is None:
            raise ConfigurationError("the persistence layer is not started: await layer.start()")
        return context.db()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[BaseDBAsyncClient]:
        """One PostgreSQL transaction for the block; nested blocks become savepoints.

        Errors from BEGIN/COMMIT are translated; errors raised by the block roll back and
        propagate unchanged.
        """
        with self.activate():
            flag = self._in_transaction.set(True)
            try:
                async with self._transaction() as client:
                    yield client
            finally:
                self._in_transaction.reset(flag)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[BaseDBAsyncClient]:
        manager = in_transaction()
        try:
            client = await manager.__aenter__()
        except Exception as exc:
            # Tortoise acquires a connection and registers it before sending BEGIN; when
            # BEGIN fails (the connection died) it releases neither. Do it here, or every such
            # failure would leak a pool connection.
            if getattr(manager, "token", None) is not None:
                try:
                    await manager.__aexit__(type(exc), exc, exc.__traceback__)
                except Exception:
                    log.debug("cleanup after a failed BEGIN raised", exc_info=True)
            raise translate(exc) from exc
        try:
            yield client
        except BaseException as exc:
            try:
                await manager.__aexit__(type(exc), exc, exc.__traceback__)
            except Exception:
                log.warning("rollback failed after %r", exc, exc_info=True)
            raise
        try:
            await manager.__aexit__(None, None, None)
        except Exception as exc:
            raise translate(exc) from exc

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Row]:
        """Run one parameterised statement and return its rows (RETURNING rows included).

        Outside a transaction the statement runs straight on Tortoise's own asyncpg pool: the
        same connections, settings and acquire timeout, without the per-call layers of the ORM
        client. Inside ``transaction()`` it runs on the transaction's connection. Errors are
        translated here, the one place for statements.
        """
        context = self._context
        if context is None:
            raise ConfigurationError("the persistence layer is not started: await layer.start()")
        try:
            pool = self._pool
            if pool is None or self._in_transaction.get():
                client = context.db()
                if isinstance(client, TransactionWrapper) or getattr(client, "_pool", None) is None:
                    with self.activate():
                        return list(await client.execute_query_dict(sql, list(args)))
                pool = client._pool
            async with pool.acquire() as connection:
                records: list[Row] = await connection.fetch(sql, *args)
                return records
        except PersistenceError:
            raise
        except Exception as exc:
            raise translate(exc) from exc

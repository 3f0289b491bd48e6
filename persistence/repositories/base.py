"""What every repository shares: the database, the event outbox, the retry policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from persistence.db import Database, Row, TransactionConnection
from persistence.errors import PersistenceError
from persistence.events import EventOutbox
from persistence.retry import RetryPolicy
from persistence.settings import PersistenceSettings
from persistence.validation import as_uuid, check_text

__all__ = ["BaseRepository", "as_uuid", "check_text", "run_in"]

T = TypeVar("T")


async def run_in(conn: TransactionConnection, sql: str, args: list[Any]) -> list[Row]:
    """Run a statement on a transaction's connection (errors are translated there)."""
    return await conn.fetch(sql, args)


class BaseRepository:
    """Holds the collaborators a repository needs; all are injected, none global."""

    def __init__(
        self,
        db: Database,
        *,
        outbox: EventOutbox,
        retry: RetryPolicy,
        settings: PersistenceSettings,
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._retry = retry
        self._settings = settings

    async def _fetch(self, sql: str, args: list[Any]) -> list[Row]:
        """Run a read; retried on transient errors outside a transaction."""
        return await self._write(sql, args, idempotent=True)

    async def _write(self, sql: str, args: list[Any], *, idempotent: bool = False) -> list[Row]:
        """Run a write; retried only if idempotent or certainly not applied."""
        try:
            return await self._db.fetch(sql, args)
        except PersistenceError as exc:
            if self._db.in_transaction:
                raise
            return await self._retry.retry_after(
                exc, lambda: self._db.fetch(sql, args), idempotent=idempotent
            )

    async def _retrying(self, operation: Callable[[], Awaitable[T]], *, idempotent: bool) -> T:
        # Inside a transaction a failed statement aborts the whole transaction: retrying the
        # statement alone cannot help, so the caller's unit of work decides.
        if self._db.in_transaction:
            return await operation()
        return await self._retry.run(operation, idempotent=idempotent)

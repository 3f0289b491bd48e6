"""What every repository shares: the database, the event outbox, the retry policy."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient

from persistence.db import Database
from persistence.errors import ValidationError, describe, guard
from persistence.events import EventOutbox
from persistence.retry import RetryPolicy
from persistence.settings import PersistenceSettings

__all__ = ["BaseRepository", "as_uuid", "run_in"]

T = TypeVar("T")


def as_uuid(value: object, what: str = "id") -> uuid.UUID:
    """Accept a UUID or its text; anything else is a :class:`ValidationError` before SQL."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValidationError(f"{what} must be a UUID, got {describe(value)}")


async def run_in(conn: BaseDBAsyncClient, sql: str, args: list[Any]) -> list[dict[str, Any]]:
    """Run a statement on a transaction's connection, with errors translated."""
    async with guard():
        rows: list[dict[str, Any]] = await conn.execute_query_dict(sql, args)
        return rows


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

    async def _fetch(self, sql: str, args: list[Any]) -> list[dict[str, Any]]:
        """Run a read; retried on transient errors outside a transaction."""
        return await self._retrying(lambda: self._db.execute_query_dict(sql, args), idempotent=True)

    async def _write(
        self, sql: str, args: list[Any], *, idempotent: bool = False
    ) -> list[dict[str, Any]]:
        """Run a write; retried only if idempotent or certainly not applied."""
        return await self._retrying(
            lambda: self._db.execute_query_dict(sql, args), idempotent=idempotent
        )

    async def _retrying(self, operation: Callable[[], Awaitable[T]], *, idempotent: bool) -> T:
        # Inside a transaction a failed statement aborts the whole transaction: retrying the
        # statement alone cannot help, so the caller's unit of work decides.
        if self._db.in_transaction:
            return await operation()
        return await self._retry.run(operation, idempotent=idempotent)

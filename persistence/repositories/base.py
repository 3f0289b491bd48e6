"""What every repository shares: the database, the event bus, the settings, the retry policy.

Each collaborator is an optional keyword argument with the layer's default, so the design's
constructors run as written (``HealthRepository(event_bus=bus)``) once Tortoise is initialised,
by a layer or by the game: a repository built without a layer uses Tortoise's current context
and the ``"default"`` connection (or ``connection=``). A layer passes its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from tortoise.backends.asyncpg.client import TransactionWrapper
from tortoise.backends.base.client import BaseDBAsyncClient

from persistence.config import DEFAULT_CONNECTION
from persistence.db import Database
from persistence.errors import PersistenceError, guard
from persistence.events import Event, EventBus, NullEventBus
from persistence.metrics import LayerMetrics, instrument
from persistence.retry import RetryPolicy
from persistence.settings import PersistenceSettings
from persistence.validation import as_uuid, check_text

__all__ = ["BaseRepository", "Client", "as_uuid", "check_text"]

T = TypeVar("T")

Client = BaseDBAsyncClient
"""The Tortoise client a call runs on: the pool's, a transaction's, or a savepoint's."""


class BaseRepository:
    """Holds the collaborators a repository needs; all are injected, none global.

    Args:
        event_bus: Receives the repository's events after their writes commit; dropped when
            ``None``.
        settings: Bounds, level curve, retry policy...; read from ``MUD_*`` variables when
            ``None``.
        retry_policy: Overrides the policy the settings describe.
        connection: The Tortoise connection name, for a repository built without a layer.
        db: The layer's database (layers pass it; a repository built alone follows
            Tortoise's current context).
        metrics: Where calls, errors and retries are counted (the layer's; a new one when
            ``None``).
    """

    def __init_subclass__(cls, metrics_name: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if metrics_name is not None:
            instrument(cls, metrics_name)

    def __init__(
        self,
        *,
        event_bus: EventBus | None = None,
        settings: PersistenceSettings | None = None,
        retry_policy: RetryPolicy | None = None,
        connection: str | None = None,
        db: Database | None = None,
        metrics: LayerMetrics | None = None,
    ) -> None:
        if settings is None:
            settings = db.settings if db is not None else PersistenceSettings()
        self._settings = settings
        self._db = db or Database.following_current(settings, connection or DEFAULT_CONNECTION)
        self._bus: EventBus = event_bus if event_bus is not None else NullEventBus()
        self._listening = not isinstance(self._bus, NullEventBus)
        self._metrics = metrics if metrics is not None else LayerMetrics()
        self._retry = (retry_policy or RetryPolicy.from_settings(settings)).observed(
            self._metrics.retried
        )

    def _emit(self, *events: Event) -> None:
        """Publish now, or when the enclosing transaction commits."""
        if self._listening:
            self._db.emit(self._bus, events)

    async def _statement(
        self, sql: str, args: Sequence[Any], *, idempotent: bool = True
    ) -> list[Any]:
        """One hand-written statement as one call; retried outside a transaction.

        ``idempotent``: repeating it is harmless (reads, upserts of the same values), so it is
        retried on any transient error; otherwise only when it certainly was not applied.
        """
        db = self._db
        client = db.client()
        if db.replicas is not None:
            client = await db.read_target(client)
        if isinstance(client, TransactionWrapper):
            # In the caller's transaction (its own savepoint): the unit of work decides.
            async with db.call() as savepoint:
                return await db.fetch(savepoint, sql, args)
        try:  # one autocommit statement on the pool: no context manager on the hot path
            return await db.fetch(client, sql, args)
        except PersistenceError as exc:
            failure = exc
        # Retry outside the call's scope: each attempt resolves its own client.
        return await self._retry.retry_after(
            failure, lambda: self._statement_once(sql, args), idempotent=idempotent
        )

    async def _statement_once(self, sql: str, args: Sequence[Any]) -> list[Any]:
        async with self._db.call() as client:
            return await self._db.fetch(client, sql, args)

    async def _atomic(
        self, work: Callable[[Client], Awaitable[T]], *, idempotent: bool, atomic: bool = True
    ) -> T:
        """Run ``work`` as one call: its own transaction, or a savepoint in the caller's.

        Retried as a whole outside a transaction (inside one, the caller's unit of work
        decides). ``work`` gets the client for its statements and model queries
        (``Model.filter(...).using_db(client)``).
        """

        async def attempt() -> T:
            async with self._db.call(atomic=atomic) as client, guard():
                return await work(client)

        if self._db.in_transaction:
            return await attempt()
        return await self._retry.run(attempt, idempotent=idempotent)

    async def _fetch(self, client: Client, sql: str, args: Sequence[Any]) -> list[Any]:
        """A hand-written statement inside :meth:`_atomic` work."""
        return await self._db.fetch(client, sql, args)

"""Counters a game server can export: calls and errors per operation, retries, the pool.

Every public method of a repository is counted (the outermost call only: ``save_player``
delegating to ``save_players`` counts once, as ``players.save_player``). ``layer.metrics()``
returns a plain snapshot to hand to Prometheus, StatsD or a log line.
"""

from __future__ import annotations

import functools
import inspect
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from persistence.engine import call_scope, current_scope
from persistence.errors import PersistenceError
from persistence.replicas import is_reading, reading

__all__ = ["LayerMetrics", "MetricsSnapshot", "PoolStats", "instrument", "is_read_call"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PoolStats:
    """The connection pool at one moment (``None`` where the pool does not tell).

    Attributes:
        size: Connections open.
        in_use: Connections handed out.
        idle: Connections open and free.
        max_size: The pool's limit.
        waiting: Calls waiting for a free connection right now.
    """

    size: int | None = None
    in_use: int | None = None
    idle: int | None = None
    max_size: int | None = None
    waiting: int | None = None


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """What ``layer.metrics()`` returns.

    Attributes:
        calls: Completed and failed calls per operation (``"players.get_player_by_id"``).
        errors: Calls that raised, per operation.
        retries: Attempts repeated after a transient error, in all.
        pool: The connection pool now.
        rooms_cached: Rooms in the room cache.
    """

    calls: dict[str, int]
    errors: dict[str, int]
    retries: int
    pool: PoolStats
    rooms_cached: int


@dataclass
class LayerMetrics:
    """The running counters of one layer (or of repositories built alone)."""

    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    retries: int = 0

    def retried(self, error: BaseException, attempt: int) -> None:
        """A retry policy is about to try again."""
        self.retries += 1

    def snapshot(self, pool: PoolStats, rooms_cached: int) -> MetricsSnapshot:
        """A copy of the counters, with the pool and cache as they are now."""
        return MetricsSnapshot(
            calls=dict(self.calls),
            errors=dict(self.errors),
            retries=self.retries,
            pool=pool,
            rooms_cached=rooms_cached,
        )


_READS: Final = ("get_", "require_", "list_", "read_", "item_instance_exists")
"""Calls that only read: never made a transaction of their own for the outbox."""


_WRITES: Final = ("get_or_create_",)
"""Calls named like reads that may write: they run on the primary."""


def is_read_call(method_name: str) -> bool:
    """Whether a public method only reads (and may run on a replica), by its name."""
    return method_name.startswith(_READS) and not method_name.startswith(_WRITES)


def _counted(name: str, method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    reads = is_read_call(name.rpartition(".")[2])

    @functools.wraps(method)
    async def counted(self: Any, *args: Any, **kwargs: Any) -> T:
        async def run(nested: bool) -> T:
            db = self._db
            # A read-only call may run on a replica; a read inside a write stays on the
            # primary (the write decides on what it reads, e.g. get_or_create_player).
            with reading(reads and (is_reading() or not nested)):
                # With the PostgreSQL event bus a writing call is one transaction, so its
                # events are stored with its changes (a nested call too: its caller read).
                outbox = not reads and getattr(self._bus, "transactional", False)
                if outbox and not db.in_transaction:
                    result = await _in_own_transaction(self, method, args, kwargs)
                else:
                    result = await method(self, *args, **kwargs)
            if not reads and db.replicas is not None:
                await db.note_write()  # the reads after it wait for a replica to have it
            return result

        if current_scope() is not None:  # inside another public call
            return await run(nested=True)
        metrics: LayerMetrics = self._metrics
        metrics.calls[name] += 1
        try:
            # MUD_POOL_ACQUIRE_TIMEOUT is the whole time one call may wait for connections.
            with call_scope(self._settings.pool_acquire_timeout) as scope:
                try:
                    return await run(nested=False)
                except PersistenceError as exc:
                    if scope.committed:  # part of the call is in the database
                        exc.not_applied = False
                    raise
        except Exception:
            metrics.errors[name] += 1
            raise

    return counted


async def _in_own_transaction(
    repository: Any, method: Callable[..., Awaitable[T]], args: Any, kwargs: Any
) -> T:
    """One call as one transaction, so its events are stored with its changes (the outbox).

    Retried as a whole only when the failure proves nothing was applied.
    """

    async def attempt() -> T:
        async with repository._db.transaction():
            return await method(repository, *args, **kwargs)

    result: T = await repository._retry.run(attempt, idempotent=False)
    return result


def instrument(cls: type, prefix: str) -> None:
    """Count every public coroutine method defined on ``cls`` as ``prefix.method``."""
    for attr, value in list(vars(cls).items()):
        if attr.startswith("_") or not inspect.iscoroutinefunction(value):
            continue
        setattr(cls, attr, _counted(f"{prefix}.{attr}", value))

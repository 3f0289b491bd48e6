"""Retry with exponential backoff and jitter, for the failures where trying again helps.

The upstream system wrapped errors before its retry decorator looked at them, so its retries
never fired. Here the decision looks through the whole exception chain (:func:`translate`
does) and is made on the package's own error attributes:

* ``transient``: connection lost, pool wait timed out, serialization failure, deadlock;
* ``not_applied``: the database certainly did not apply the call.

An operation that is safe to repeat (reads, idempotent upserts) is retried on any transient
error. Any other operation is retried only when the error says it was not applied.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, ParamSpec, TypeVar, overload

from persistence.errors import ConfigurationError, PoolExhaustedError, from_database, translate
from persistence.settings import PersistenceSettings

__all__ = ["RetryPolicy", "retry_with_backoff"]

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    Attributes:
        max_attempts: Attempts in all; 1 disables retrying.
        base_delay: Cap of the first backoff, in seconds; doubles each attempt.
        max_delay: Cap of any backoff, in seconds.
    """

    max_attempts: int = 3
    base_delay: float = 0.05
    max_delay: float = 1.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)
    on_retry: Callable[[BaseException, int], None] | None = field(
        default=None, repr=False, compare=False
    )
    """Called before each retry with the error and the attempt that failed (metrics)."""

    def __post_init__(self) -> None:
        numbers = (self.base_delay, self.max_delay)
        if type(self.max_attempts) is not int or self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be an int >= 1, got {self.max_attempts!r}")
        if any(isinstance(n, bool) or not isinstance(n, (int, float)) or n < 0 for n in numbers):
            raise ConfigurationError("base_delay and max_delay must be numbers >= 0")

    def observed(self, on_retry: Callable[[BaseException, int], None]) -> RetryPolicy:
        """This policy, also reporting each retry to ``on_retry``.

        A policy that already reports keeps its own observer.
        """
        return self if self.on_retry is not None else replace(self, on_retry=on_retry)

    @classmethod
    def from_settings(cls, settings: PersistenceSettings) -> RetryPolicy:
        """The policy the settings describe."""
        return cls(
            max_attempts=settings.retry_max_attempts,
            base_delay=settings.retry_base_delay,
            max_delay=settings.retry_max_delay,
        )

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based): full jitter below the cap."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(0, cap)

    def should_retry(self, exc: BaseException, *, idempotent: bool) -> bool:
        """Whether ``exc`` (or an error in its chain) makes another attempt worthwhile.

        A wait for a pool connection is never retried: ``MUD_POOL_ACQUIRE_TIMEOUT`` is the
        whole time a call waits for one, as documented, not a wait per attempt.
        """
        error = translate(exc)
        if not error.transient or isinstance(error, PoolExhaustedError):
            return False
        return idempotent or error.not_applied

    async def run(self, operation: Callable[[], Awaitable[T]], *, idempotent: bool) -> T:
        """Await ``operation()``, retrying it as the policy allows; re-raise the last error."""
        try:
            return await operation()
        except Exception as exc:
            return await self.retry_after(exc, operation, idempotent=idempotent)

    async def retry_after(
        self, failure: Exception, operation: Callable[[], Awaitable[T]], *, idempotent: bool
    ) -> T:
        """Continue after a first attempt failed with ``failure``; re-raise when not allowed.

        Hot paths make the first attempt inline and come here only after an error.
        """
        attempt = 1
        error = failure
        while True:
            if attempt >= self.max_attempts or not self.should_retry(error, idempotent=idempotent):
                raise error
            delay = self.backoff(attempt)
            log.warning(
                "transient database error (attempt %d of %d), retrying in %.3f s: %s: %s",
                attempt,
                self.max_attempts,
                delay,
                type(error).__name__,
                error,
            )
            if self.on_retry is not None:
                self.on_retry(error, attempt)
            await self.sleep(delay)
            attempt += 1
            try:
                return await operation()
            except Exception as exc:
                error = exc


AsyncFunction = Callable[P, Coroutine[Any, Any, T]]


@overload
def retry_with_backoff(function: Callable[P, Coroutine[Any, Any, T]], /) -> AsyncFunction[P, T]: ...


@overload
def retry_with_backoff(
    function: None = None,
    /,
    *,
    policy: RetryPolicy | None = None,
    settings: PersistenceSettings | None = None,
) -> Callable[[Callable[P, Coroutine[Any, Any, T]]], AsyncFunction[P, T]]: ...


def retry_with_backoff(
    function: Callable[P, Coroutine[Any, Any, T]] | None = None,
    /,
    *,
    policy: RetryPolicy | None = None,
    settings: PersistenceSettings | None = None,
) -> AsyncFunction[P, T] | Callable[[Callable[P, Coroutine[Any, Any, T]]], AsyncFunction[P, T]]:
    """Retry a game's own async function the way the layer retries its calls.

    Another attempt is made only for a transient database failure (connection lost, server
    shutting down, serialization failure, deadlock), decided from the exception chain and
    the SQLSTATE, never from message text; a pool wait is not retried. Between attempts the
    backoff is exponential with full jitter; each retry is logged at WARNING. The last
    error is re-raised unchanged.

    Use it only for work the caller knows is idempotent: a failure can come after the
    database applied the work (the connection died before the reply), and the function then
    runs again. Reads and upserts of the same values are; "add 10 gold" is not (give it an
    op_id, or use the layer's atomic calls, which do).

    Use as ``@retry_with_backoff`` or ``@retry_with_backoff(policy=RetryPolicy(...))``;
    without a policy the ``MUD_RETRY_*`` settings (or ``settings``) give it.

    Raises:
        ConfigurationError: The decorated object is not an ``async def`` function.
    """
    chosen = policy

    def decorate(fn: Callable[P, Coroutine[Any, Any, T]]) -> AsyncFunction[P, T]:
        if not inspect.iscoroutinefunction(fn):
            raise ConfigurationError(f"retry_with_backoff decorates async functions, not {fn!r}")
        rules = chosen or RetryPolicy.from_settings(settings or PersistenceSettings())

        @functools.wraps(fn)
        async def retried(*args: P.args, **kwargs: P.kwargs) -> T:
            if _in_transaction():
                # Inside a transaction a retry would repeat work its savepoints kept, or run
                # in a transaction the failure aborted: the whole unit of work must go again.
                return await fn(*args, **kwargs)
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:
                if not from_database(exc):
                    raise  # the game's own failure (a file, a socket): not ours to repeat
                failure = exc
            try:
                return await rules.retry_after(
                    failure, lambda: _database_only(fn(*args, **kwargs)), idempotent=True
                )
            except _NotFromDatabase as wrapped:
                raise wrapped.error from None

        return retried

    return decorate if function is None else decorate(function)


class _NotFromDatabase(Exception):
    """Carries a later attempt's non-database failure past the retry loop, unchanged."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


async def _database_only(attempt: Awaitable[T]) -> T:
    try:
        return await attempt
    except Exception as exc:
        if from_database(exc):
            raise
        raise _NotFromDatabase(exc) from None


def _in_transaction() -> bool:
    """Whether the current task is inside a Tortoise transaction, on any connection."""
    from tortoise.backends.asyncpg.client import TransactionWrapper
    from tortoise.connection import get_connections

    try:
        handler = get_connections()
        names = list(handler.db_config)
    except Exception:  # no Tortoise context: no transaction either
        return False
    for name in names:
        try:
            client = handler.get(name)
        except Exception:  # noqa: S112 - a connection not initialised holds no transaction
            continue
        if isinstance(client, TransactionWrapper):
            return True
    return False

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
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from persistence.errors import PoolExhaustedError, translate
from persistence.settings import PersistenceSettings

__all__ = ["RetryPolicy"]

log = logging.getLogger(__name__)

T = TypeVar("T")


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

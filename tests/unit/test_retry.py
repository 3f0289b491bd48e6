"""The retry policy: what is retried, how often, how long it waits."""

from __future__ import annotations

import random

import asyncpg
import pytest

from persistence.errors import (
    DatabaseUnavailableError,
    DuplicateError,
    PoolExhaustedError,
    TransientConflictError,
)
from persistence.retry import RetryPolicy


class Flaky:
    """Fails with the given errors, then returns 'ok'."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def policy(attempts: int = 3) -> tuple[RetryPolicy, list[float]]:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    return RetryPolicy(attempts, 0.1, 0.25, sleep=sleep, rng=random.Random(7)), delays


def _wrapped(inner: BaseException) -> RuntimeError:
    outer = RuntimeError("repository failed")
    outer.__cause__ = inner
    return outer


async def test_reads_are_retried_on_transient_errors_seen_through_wrapping() -> None:
    retry, delays = policy()
    op = Flaky(
        _wrapped(asyncpg.ConnectionDoesNotExistError("closed")), DatabaseUnavailableError("x")
    )
    assert await retry.run(op, idempotent=True) == "ok"
    assert op.calls == 3
    assert len(delays) == 2


async def test_a_pool_wait_is_never_retried() -> None:
    """MUD_POOL_ACQUIRE_TIMEOUT is the whole wait of a call, not a wait per attempt."""
    retry, delays = policy()
    op = Flaky(PoolExhaustedError("busy"))
    with pytest.raises(PoolExhaustedError):
        await retry.run(op, idempotent=True)
    assert (op.calls, delays) == (1, [])


async def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    retry, _ = policy(attempts=2)
    last = DatabaseUnavailableError("second")
    op = Flaky(DatabaseUnavailableError("first"), last, DatabaseUnavailableError("third"))
    with pytest.raises(DatabaseUnavailableError) as info:
        await retry.run(op, idempotent=True)
    assert info.value is last
    assert op.calls == 2


async def test_non_idempotent_calls_retry_only_what_was_not_applied() -> None:
    retry, _ = policy()
    lost = Flaky(asyncpg.ConnectionDoesNotExistError("closed mid-statement"))
    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        await retry.run(lost, idempotent=False)
    assert lost.calls == 1
    rolled_back = Flaky(
        TransientConflictError("40001"), DatabaseUnavailableError("refused", not_applied=True)
    )
    assert await retry.run(rolled_back, idempotent=False) == "ok"
    assert rolled_back.calls == 3


async def test_permanent_errors_are_not_retried() -> None:
    retry, delays = policy()
    op = Flaky(DuplicateError("dup"))
    with pytest.raises(DuplicateError):
        await retry.run(op, idempotent=True)
    assert (op.calls, delays) == (1, [])


def test_backoff_grows_exponentially_with_jitter_under_the_cap() -> None:
    retry = RetryPolicy(10, 0.1, 1.0, rng=random.Random(1))
    for attempt in range(1, 10):
        cap = min(1.0, 0.1 * 2 ** (attempt - 1))
        samples = [retry.backoff(attempt) for _ in range(200)]
        assert all(0 <= s <= cap for s in samples)
        assert max(samples) > cap * 0.8  # jitter spreads over the whole range
    assert len({round(retry.backoff(3), 6) for _ in range(20)}) > 1

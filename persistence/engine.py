"""Tortoise's asyncpg engine with a bounded pool wait.

Tortoise acquires pool connections with no timeout, so with every connection busy a call
waits forever. This engine gives the asyncpg pool a default acquire timeout taken from
settings; the Tortoise config names this module as its ``engine``.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from asyncpg.pool import Pool, PoolAcquireContext
from tortoise.backends.asyncpg.client import AsyncpgDBClient

from persistence.errors import PoolExhaustedError

__all__ = ["BoundedWaitPool", "MudAsyncpgClient", "client_class"]


class BoundedWaitPool(Pool):  # type: ignore[misc]  # asyncpg ships no type hints
    """An asyncpg pool whose ``acquire()`` times out unless told otherwise."""

    def __init__(self, *args: Any, acquire_timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._default_acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        """Acquire a connection, waiting at most the configured time."""
        wait = timeout if timeout is not None else self._default_acquire_timeout
        return super().acquire(timeout=wait)

    async def _acquire(self, timeout: float | None) -> Any:  # noqa: ASYNC109 - asyncpg API
        try:
            return await super()._acquire(timeout)
        except TimeoutError as exc:
            raise PoolExhaustedError(
                f"no database connection became free within {timeout} s "
                f"(pool max size {self._maxsize}); raise MUD_POOL_MAX_SIZE or shorten transactions"
            ) from exc


class MudAsyncpgClient(AsyncpgDBClient):
    """Tortoise's asyncpg client, building a :class:`BoundedWaitPool`."""

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        """Build the pool; ``acquire_timeout`` comes from the connection credentials."""
        acquire_timeout = kwargs.pop("acquire_timeout", None)
        kwargs.setdefault("max_queries", 50000)
        kwargs.setdefault("max_inactive_connection_lifetime", 300.0)
        kwargs.setdefault("record_class", asyncpg.Record)
        pool = BoundedWaitPool(
            None,
            acquire_timeout=None if acquire_timeout is None else float(acquire_timeout),
            **kwargs,
        )
        await pool
        return pool


client_class = MudAsyncpgClient

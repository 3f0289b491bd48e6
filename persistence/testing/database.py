"""Throwaway test databases on a real PostgreSQL server."""

from __future__ import annotations

import os
import re
import uuid
from typing import Any, Final

import asyncpg

from persistence.config import connect_arguments, database_credentials
from persistence.settings import PersistenceSettings

__all__ = [
    "TABLES",
    "connect",
    "create_database",
    "drop_database",
    "make_settings",
    "pooled_url",
    "truncate",
    "with_database",
]

_NAME: Final = re.compile(r"[a-z0-9_]{1,63}")

TABLES = (
    "players",
    "professions",
    "rooms",
    "containers",
    "item_instances",
    "item_prototypes",
    "applied_operations",
    "item_movements",
    "event_deliveries",
    "event_consumers",
    "event_outbox",
)


def with_database(url: str, database: str) -> str:
    """The same server URL naming another database."""
    base, _, query = url.partition("?")
    return base.rsplit("/", 1)[0] + f"/{database}" + (f"?{query}" if query else "")


async def connect(url: str) -> Any:
    """A raw asyncpg connection, for checks that must bypass the layer."""
    return await asyncpg.connect(**connect_arguments(url))


def _database_name(name: str) -> str:
    # CREATE/DROP DATABASE take no bind parameters: the name is formatted in, so only
    # names of this form are accepted.
    if not _NAME.fullmatch(name):
        raise ValueError(f"unsafe database name {name!r}")
    return name


async def create_database(server_url: str, prefix: str = "mud_test") -> str:
    """Create an empty database on the server and return its URL."""
    name = _database_name(f"{prefix}_{uuid.uuid4().hex[:10]}")
    conn = await connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')  # safe-sql: name checked above
    finally:
        await conn.close()
    return with_database(server_url, name)


async def drop_database(server_url: str, url: str) -> None:
    """Drop a database made by :func:`create_database`, even with sessions still open."""
    name = _database_name(database_credentials(url)["database"])
    conn = await connect(server_url)
    try:
        await conn.execute(
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )  # safe-sql: name checked
    finally:
        await conn.close()


async def truncate(conn: Any) -> None:
    """Empty every table of the layer."""
    await conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")


POOLER_URL_VARIABLE: Final = "MUD_TEST_POOLER_URL"
"""Run the test layers through a pooler: its URL (``postgres://...@host:6432/any``)."""


def pooled_url(url: str) -> str | None:
    """``url``'s database through the pooler of ``MUD_TEST_POOLER_URL``, if one is set."""
    pooler = os.environ.get(POOLER_URL_VARIABLE)
    if not pooler:
        return None
    return with_database(pooler, database_credentials(url)["database"])


def make_settings(
    url: str, *, through_pooler: bool = True, **overrides: Any
) -> PersistenceSettings:
    """Settings for a test layer on ``url``: small pool, fast retries.

    With ``MUD_TEST_POOLER_URL`` set (and ``through_pooler``) the layer goes through that
    pooler in transaction pooling mode (``MUD_POOLER=pgbouncer-transaction``), and ``url`` is
    its direct URL, for migrations. A layer on a server of a test's own (a private cluster)
    passes ``through_pooler=False``.
    """
    values: dict[str, Any] = {
        "database_url": url,
        "pool_min_size": 1,
        "pool_max_size": 8,
        "retry_base_delay": 0.01,
        "retry_max_delay": 0.05,
    }
    pooled = pooled_url(url) if through_pooler else None
    if pooled is not None:
        values.update(
            database_url=pooled, migration_database_url=url, pooler="pgbouncer-transaction"
        )
    values.update(overrides)
    if not through_pooler:
        values.setdefault("pooler", "none")
    return PersistenceSettings(**values)

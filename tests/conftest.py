"""Test fixtures: one throwaway database per run on a real PostgreSQL.

The server comes from ``MUD_TEST_DATABASE_URL`` (CI sets it to the machine's server, e.g.
``postgres://postgres@127.0.0.1:5432/postgres``; the database named there is only used to
create and drop ours). Without it an embedded PostgreSQL is started. Either way the run
creates ``mud_test_<random>``, migrates it with the project's aerich migrations, and drops it
at the end. Tables are truncated before every test that uses the database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from persistence.config import database_credentials
from persistence.db import run_migrations
from persistence.embedded import EmbeddedPostgres, start_embedded_postgres
from persistence.events import Event, InProcessEventBus
from persistence.facade import AsyncPersistenceLayer
from persistence.settings import PersistenceSettings

TABLES = (
    "players",
    "professions",
    "rooms",
    "containers",
    "item_instances",
    "applied_operations",
    "item_movements",
)


def _with_database(url: str, database: str) -> str:
    base, _, query = url.partition("?")
    return base.rsplit("/", 1)[0] + f"/{database}" + (f"?{query}" if query else "")


async def connect(url: str) -> asyncpg.Connection:
    """A raw asyncpg connection (for checks that must bypass the layer)."""
    creds = database_credentials(url)
    return await asyncpg.connect(**creds)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a maintenance database on the PostgreSQL server the tests use."""
    url = os.environ.get("MUD_TEST_DATABASE_URL")
    if url:
        yield url
        return
    embedded: EmbeddedPostgres = start_embedded_postgres()
    try:
        yield _with_database(embedded.url, "postgres")
    finally:
        embedded.stop()


async def create_database(server_url: str, prefix: str = "mud_test") -> str:
    """Create an empty database on the test server and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(server_url, name)


async def drop_database(server_url: str, url: str) -> None:
    """Drop a database made by :func:`create_database`, even with sessions still open."""
    name = database_credentials(url)["database"]
    conn = await connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database_url(pg_server: str) -> AsyncIterator[str]:
    """A migrated throwaway database for the whole run."""
    url = await create_database(pg_server)
    try:
        await run_migrations(url)
        yield url
    finally:
        await drop_database(pg_server, url)


@pytest.fixture(scope="session")
async def admin_conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection to the test database, outside the layer."""
    conn = await connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def clean_db(admin_conn: asyncpg.Connection) -> asyncpg.Connection:
    """Empty every table before the test; returns the raw connection."""
    await admin_conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    return admin_conn


def make_settings(url: str, **overrides: Any) -> PersistenceSettings:
    """Settings for a test layer on ``url``."""
    values: dict[str, Any] = {
        "database_url": url,
        "pool_min_size": 1,
        "pool_max_size": 8,
        "retry_base_delay": 0.01,
        "retry_max_delay": 0.05,
    }
    values.update(overrides)
    return PersistenceSettings(**values)


class RecordingBus(InProcessEventBus):
    """An in-process bus that also keeps every event published, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[Event] = []

    def publish(self, event: Event) -> None:
        self.published.append(event)
        super().publish(event)

    def of(self, event_type: type[Any]) -> list[Any]:
        return [e for e in self.published if isinstance(e, event_type)]


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()


@pytest.fixture
async def layer(
    clean_db: asyncpg.Connection, database_url: str, bus: RecordingBus
) -> AsyncIterator[AsyncPersistenceLayer]:
    """A started layer on an empty database (no rooms: the room cache is empty)."""
    async with AsyncPersistenceLayer(make_settings(database_url), event_bus=bus) as started:
        yield started


@pytest.fixture
async def world_layer(layer: AsyncPersistenceLayer) -> AsyncPersistenceLayer:
    """The layer with the sample world seeded and the room cache loaded."""
    await layer.seed_world()
    return layer

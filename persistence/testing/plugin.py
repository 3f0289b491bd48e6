"""pytest plugin ``mud_persistence``: a real, migrated, throwaway database and a started layer.

Registered through the ``pytest11`` entry point, so installing the package is enough. The
server comes from ``MUD_TEST_DATABASE_URL`` (its named database is only used to create and
drop ours), or an embedded PostgreSQL is started. Each test session creates one database
``mud_test_<random>``, migrates it, and drops it at the end; ``mud_layer`` empties the
tables before each test. Async fixtures run on the session event loop: set
``asyncio_default_test_loop_scope = "session"`` (see ``docs/testing.md``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from persistence.embedded import start_embedded_postgres
from persistence.facade import AsyncPersistenceLayer
from persistence.schema import run_migrations
from persistence.settings import PersistenceSettings
from persistence.testing.database import (
    connect,
    create_database,
    drop_database,
    make_settings,
    truncate,
    with_database,
)
from persistence.testing.factories import RecordingEventBus
from persistence.testing.memory import InMemoryPersistence
from persistence.urls import describe_url


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which PostgreSQL the run uses, first thing (never a password)."""
    url = os.environ.get("MUD_TEST_DATABASE_URL")
    if not url:
        return [
            "mud-persistence: an embedded PostgreSQL (pgserver), started for the session; "
            "set MUD_TEST_DATABASE_URL=postgres://... to use a server"
        ]
    return [
        f"mud-persistence: PostgreSQL {_server_version(url)} at {describe_url(url)}"
        " (MUD_TEST_DATABASE_URL)"
    ]


def _server_version(url: str) -> str:
    async def ask() -> str:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            version: str = await conn.fetchval("SHOW server_version")
            return version
        finally:
            await conn.close()

    try:
        return asyncio.run(ask())
    except (OSError, asyncpg.PostgresError, TimeoutError, RuntimeError) as exc:
        return f"(unreachable: {type(exc).__name__})"


@pytest.fixture(scope="session")
def mud_server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a maintenance database on the PostgreSQL server the tests use."""
    url = os.environ.get("MUD_TEST_DATABASE_URL")
    if url:
        yield url
        return
    embedded = start_embedded_postgres()
    try:
        server = with_database(embedded.url, "postgres")
        plugins = request.config.pluginmanager
        reporter, capture = (
            plugins.get_plugin("terminalreporter"),
            plugins.get_plugin("capturemanager"),
        )
        if reporter is not None and capture is not None:
            line = f"mud-persistence: embedded PostgreSQL {_server_version(server)} started"
            with capture.global_and_fixture_disabled():
                reporter.write_line(line)
        yield server
    finally:
        embedded.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def mud_database_url(mud_server_url: str) -> AsyncIterator[str]:
    """A migrated throwaway database for the whole session (dropped at the end)."""
    url = await create_database(mud_server_url)
    try:
        await run_migrations(url, make_settings(url))
        yield url
    finally:
        await drop_database(mud_server_url, url)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def mud_admin_connection(mud_database_url: str) -> AsyncIterator[Any]:
    """A raw asyncpg connection to the test database, outside the layer."""
    conn = await connect(mud_database_url)
    yield conn
    await conn.close()


@pytest_asyncio.fixture(loop_scope="session")
async def mud_clean_database(mud_admin_connection: Any) -> Any:
    """Empty every table before the test; returns the raw connection."""
    await truncate(mud_admin_connection)
    return mud_admin_connection


@pytest.fixture
def mud_event_bus() -> RecordingEventBus:
    """An event bus that records what it publishes."""
    return RecordingEventBus()


@pytest.fixture
def mud_settings(mud_database_url: str) -> PersistenceSettings:
    """Settings for a layer on the test database."""
    return make_settings(mud_database_url)


@pytest_asyncio.fixture(loop_scope="session")
async def mud_layer(
    mud_clean_database: Any, mud_settings: PersistenceSettings, mud_event_bus: RecordingEventBus
) -> AsyncIterator[AsyncPersistenceLayer]:
    """A started layer on an empty database, publishing to ``mud_event_bus``."""
    async with AsyncPersistenceLayer(mud_settings, event_bus=mud_event_bus) as layer:
        yield layer


@pytest_asyncio.fixture(loop_scope="session")
async def mud_memory(mud_event_bus: RecordingEventBus) -> AsyncIterator[InMemoryPersistence]:
    """The in-memory twins, started, publishing to ``mud_event_bus``."""
    async with InMemoryPersistence(event_bus=mud_event_bus) as memory:
        yield memory

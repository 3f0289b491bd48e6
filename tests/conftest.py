"""The package's tests run on its own test kit (``persistence.testing``).

The ``mud_persistence`` pytest plugin (registered by the package's entry point) provides the
throwaway migrated database and the started layer; the short names below are what the tests
were written with. ``MUD_TEST_DATABASE_URL`` selects the server (CI sets the machine's);
without it an embedded PostgreSQL is started.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio

from persistence.facade import AsyncPersistenceLayer
from persistence.testing.database import (
    TABLES,
    connect,
    create_database,
    drop_database,
    make_settings,
)
from persistence.testing.factories import RecordingEventBus as RecordingBus
from tests.factories import TEST_PROTOTYPES

__all__ = [
    "TABLES",
    "RecordingBus",
    "connect",
    "create_database",
    "drop_database",
    "make_settings",
]


@pytest.fixture(scope="session")
def pg_server(mud_server_url: str) -> str:
    return mud_server_url


@pytest.fixture(scope="session")
def database_url(mud_database_url: str) -> str:
    return mud_database_url


@pytest.fixture(scope="session")
def admin_conn(mud_admin_connection: Any) -> Any:
    return mud_admin_connection


@pytest.fixture
def clean_db(mud_clean_database: Any) -> Any:
    return mud_clean_database


@pytest.fixture
def bus(mud_event_bus: RecordingBus) -> RecordingBus:
    return mud_event_bus


@pytest_asyncio.fixture(loop_scope="session")
async def layer(mud_layer: AsyncPersistenceLayer) -> AsyncPersistenceLayer:
    """The plugin's layer, with the item prototypes the tests make items of."""
    await mud_layer.items.save_prototypes(
        [{"prototype_id": p, "name": p, "weight": 0} for p in TEST_PROTOTYPES]
    )
    return mud_layer


@pytest_asyncio.fixture(loop_scope="session")
async def world_layer(layer: AsyncPersistenceLayer) -> AsyncPersistenceLayer:
    """The layer with the sample world seeded and the room cache loaded."""
    await layer.seed_world()
    return layer

"""A test kit for game servers built on mud-persistence.

* :class:`InMemoryPersistence`: in-memory twins of every repository, for fast unit tests
  of game logic (same protocols, same validation, same errors, same events).
* :mod:`persistence.testing.factories`: builders for players, containers and items.
* :mod:`persistence.testing.plugin`: pytest fixtures (a fresh migrated database, a started
  layer), registered as the ``mud_persistence`` pytest plugin when the package is installed.

See ``docs/testing.md``.
"""

from persistence.testing.factories import (
    RecordingEventBus,
    create_container,
    create_item,
    create_player,
    ensure_prototypes,
    make_player,
)
from persistence.testing.memory import InMemoryPersistence

__all__ = [
    "InMemoryPersistence",
    "RecordingEventBus",
    "create_container",
    "create_item",
    "create_player",
    "ensure_prototypes",
    "make_player",
]

"""mud-persistence: the async persistence layer of a MUD game server.

Start here::

    from persistence import AsyncPersistenceLayer

    async with AsyncPersistenceLayer() as layer:
        player = await layer.players.get_player_by_name("Armitage")
"""

from persistence.application import ApplicationContainer
from persistence.events import Event, EventBus, InProcessEventBus, NullEventBus
from persistence.facade import AsyncPersistenceLayer
from persistence.retry import RetryPolicy
from persistence.settings import PersistenceSettings

__all__ = [
    "ApplicationContainer",
    "AsyncPersistenceLayer",
    "Event",
    "EventBus",
    "InProcessEventBus",
    "NullEventBus",
    "PersistenceSettings",
    "RetryPolicy",
]

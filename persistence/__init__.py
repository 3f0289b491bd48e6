"""mud-persistence: the async persistence layer of a MUD game server.

Start here::

    from persistence import AsyncPersistenceLayer

    async with AsyncPersistenceLayer() as layer:
        player = await layer.players.get_player_by_name("Armitage")

A game that runs Tortoise itself puts :func:`tortoise_app` in its config under
:data:`APP_LABEL` and attaches a layer to that connection:
``AsyncPersistenceLayer(settings, connection="default")``.
"""

from persistence.application import ApplicationContainer
from persistence.config import APP_LABEL, tortoise_app
from persistence.events import Event, EventBus, InProcessEventBus, NullEventBus
from persistence.facade import AsyncPersistenceLayer
from persistence.retry import RetryPolicy, retry_with_backoff
from persistence.settings import PersistenceSettings

__all__ = [
    "APP_LABEL",
    "ApplicationContainer",
    "AsyncPersistenceLayer",
    "Event",
    "EventBus",
    "InProcessEventBus",
    "NullEventBus",
    "PersistenceSettings",
    "RetryPolicy",
    "retry_with_backoff",
    "tortoise_app",
]

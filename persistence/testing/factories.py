"""Builders for test data: unique names and ids, sensible defaults, any field overridable.

The ``create_*`` helpers work with the real layer and with :class:`InMemoryPersistence`
alike (anything satisfying :class:`~persistence.protocols.PersistenceProtocol`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from persistence.events import Event, InProcessEventBus
from persistence.models.container import Container
from persistence.models.item import ItemInstance
from persistence.models.player import Player
from persistence.models.stats import PlayerStats
from persistence.protocols import PersistenceProtocol
from persistence.settings import DEFAULT_FALLBACK_ROOM_ID

__all__ = [
    "ensure_prototypes",
    "DEFAULT_ROOM",
    "RecordingEventBus",
    "create_container",
    "create_item",
    "create_player",
    "make_player",
]

DEFAULT_ROOM = DEFAULT_FALLBACK_ROOM_ID


def make_player(name: str | None = None, **fields: Any) -> Player:
    """An unsaved player with a unique name, in the default room, with default stats."""
    values: dict[str, Any] = {
        "player_id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "name": name if name is not None else f"player_{uuid.uuid4().hex[:12]}",
        "current_room_id": DEFAULT_ROOM,
        "stats": PlayerStats(),
    }
    stats = fields.pop("stats", None)
    values.update(fields)
    if isinstance(stats, dict):
        values["stats"] = PlayerStats.model_validate({**PlayerStats().model_dump(), **stats})
    elif stats is not None:
        values["stats"] = stats
    return Player(**values)


async def create_player(
    persistence: PersistenceProtocol, name: str | None = None, **fields: Any
) -> Player:
    """Save a new player and return it as loaded (ready for dirty-field saves)."""
    player = make_player(name, **fields)
    await persistence.players.save_player(player)
    return await persistence.players.require_player(player.player_id)


async def create_item(
    persistence: PersistenceProtocol,
    owner: tuple[str, Any] = ("room", DEFAULT_ROOM),
    *,
    prototype_id: str = "test.item",
    item_instance_id: str | None = None,
    **fields: Any,
) -> ItemInstance:
    """Create an item held by ``owner`` (a room by default).

    Its prototype is created first (weight 0) when the database has none of that id.
    """
    await ensure_prototypes(persistence, prototype_id)
    owner_type, owner_id = owner
    return await persistence.items.create_item_instance(
        item_instance_id or f"item-{uuid.uuid4().hex[:16]}",
        prototype_id,
        owner_type=owner_type,
        owner_id=str(owner_id),
        **fields,
    )


async def create_container(
    persistence: PersistenceProtocol,
    source_type: str = "environment",
    *,
    items: int | Sequence[dict[str, Any]] = 0,
    **options: Any,
) -> Container:
    """Create a container (in the default room unless told otherwise) with new items.

    ``items`` is a number of generated items or a list of item field dicts.
    """
    if source_type in ("environment", "corpse"):
        options.setdefault("room_id", DEFAULT_ROOM)
    if source_type == "equipment":
        options.setdefault("entity_id", uuid.uuid4())
    specs = (
        [
            {"item_instance_id": f"item-{uuid.uuid4().hex[:16]}", "prototype_id": "test.item"}
            for _ in range(items)
        ]
        if isinstance(items, int)
        else list(items)
    )
    await ensure_prototypes(persistence, *(str(spec["prototype_id"]) for spec in specs))
    return await persistence.containers.create_container(source_type, items=specs, **options)


async def ensure_prototypes(
    persistence: PersistenceProtocol, *prototype_ids: str, weight: int = 0
) -> None:
    """Create the item prototypes of these ids that do not exist yet (test data only)."""
    missing = []
    for prototype_id in dict.fromkeys(prototype_ids):
        if await persistence.items.get_prototype(prototype_id) is None:
            missing.append({"prototype_id": prototype_id, "name": prototype_id, "weight": weight})
    if missing:
        await persistence.items.save_prototypes(missing)


class RecordingEventBus(InProcessEventBus):
    """An in-process bus that also keeps every published event, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[Event] = []

    def publish(self, event: Event) -> None:
        """Record, then deliver to subscribers."""
        self.published.append(event)
        super().publish(event)

    def of(self, event_type: type[Any]) -> list[Any]:
        """The published events of one type (and its subclasses), in order."""
        return [e for e in self.published if isinstance(e, event_type)]

"""Which public calls may run on a read replica: only those that never write."""

from __future__ import annotations

import inspect

import pytest

from persistence.facade import AsyncPersistenceLayer
from persistence.metrics import is_read_call
from persistence.repositories import (
    ContainerRepository,
    ExperienceRepository,
    HealthRepository,
    ItemRepository,
    PlayerRepository,
    ProfessionRepository,
    RoomRepository,
)

WRITES_NAMED_LIKE_READS = {"get_or_create_player"}


@pytest.mark.parametrize("name", sorted(WRITES_NAMED_LIKE_READS))
def test_a_call_that_may_write_is_never_routed_as_a_read(name: str) -> None:
    assert not is_read_call(name)


def test_every_read_named_call_is_a_read_unless_listed() -> None:
    classes = (
        AsyncPersistenceLayer,
        ContainerRepository,
        ExperienceRepository,
        HealthRepository,
        ItemRepository,
        PlayerRepository,
        ProfessionRepository,
        RoomRepository,
    )
    names = {
        attr
        for cls in classes
        for attr, value in vars(cls).items()
        if not attr.startswith("_") and inspect.iscoroutinefunction(value)
    }
    assert "get_player_by_id" in names
    assert "get_or_create_player" in names
    for name in names:
        if name.startswith(("get_", "require_", "list_", "read_")):
            assert is_read_call(name) == (name not in WRITES_NAMED_LIKE_READS), name

"""Hostile input, property-based: 10,000 generated calls across the public methods.

Every call either succeeds (and hostile strings are then stored verbatim, never executed)
or raises one of the package's specific errors: never a raw driver error, never the bare
``PersistenceError`` base. A refused call leaves every table exactly as it was.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persistence.errors import PersistenceError
from persistence.facade import AsyncPersistenceLayer
from persistence.models.stats import NUMERIC_STATS, STAT_REGISTRY
from persistence.repositories.player import normalize_name
from tests.factories import FOYER, new_player

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INJECTIONS = [
    "'; DROP TABLE players; --",
    '" OR 1=1 --',
    "Robert'); DROP TABLE students;--",
    "current_health}', '999'); --",
    "{current_health}",
    "current_health,max_health",
    "' UNION SELECT * FROM players --",
    "$1",
    "%s",
    "\\",
    "strength\x00",
    "\ud800",
    "\uff53\uff54\uff52\uff45\uff4e\uff47\uff54\uff48",  # full-width "strength"
    "STRENGTH",
    " strength",
    "__class__",
    "",
    "x" * 300,
]
FINGERPRINT = """
SELECT md5(
    coalesce((SELECT string_agg(t::text, '|' ORDER BY t::text) FROM players t), '') ||
    coalesce((SELECT string_agg(t::text, '|' ORDER BY t::text) FROM containers t), '') ||
    coalesce((SELECT string_agg(t::text, '|' ORDER BY t::text) FROM item_instances t), '') ||
    coalesce((SELECT string_agg(t::text, '|' ORDER BY t::text) FROM applied_operations t), '') ||
    coalesce((SELECT string_agg(t::text, '|' ORDER BY t::text) FROM item_movements t), ''))
"""

texts = st.one_of(st.text(max_size=80), st.sampled_from(INJECTIONS))
anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
    st.binary(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.uuids(),
)
amounts = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=-5, max_value=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=5),
    st.none(),
    st.decimals(allow_nan=True),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=8,
)
op_ids = st.one_of(st.none(), st.none(), texts, st.integers())

SETTINGS = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def _fingerprint(conn: asyncpg.Connection) -> str:
    return str(await conn.fetchval(FINGERPRINT))


async def _refused_cleanly(conn: asyncpg.Connection, before: str, call: Any) -> tuple[bool, Any]:
    """Run ``call``; on an error check it is specific and that nothing changed."""
    try:
        return True, await call
    except PersistenceError as exc:
        error = exc
    assert type(error) is not PersistenceError, f"vague error: {error!r}"
    assert await _fingerprint(conn) == before, f"refused call changed data: {error!r}"
    return False, error


@pytest.fixture
async def world(world_layer: AsyncPersistenceLayer) -> dict[str, Any]:
    layer = world_layer  # items and containers need their room to exist
    player = new_player("Target")
    await layer.players.save_player(player)
    box = await layer.containers.create_container(
        "environment",
        room_id=FOYER,
        capacity_slots=3,
        items=[{"item_instance_id": "box-item", "prototype_id": "gem"}],
    )
    await layer.items.create_item_instance(
        "held-item", "coin", owner_type="player", owner_id=str(player.player_id)
    )
    return {"player": player, "box": box.container_id}


@settings(SETTINGS, max_examples=2000)
@given(
    field=st.one_of(texts, st.sampled_from(sorted(STAT_REGISTRY)), anything),
    delta=amounts,
    op_id=op_ids,
)
async def test_stat_field_updates(
    layer: AsyncPersistenceLayer,
    clean_db: asyncpg.Connection,
    world: dict[str, Any],
    field: Any,
    delta: Any,
    op_id: Any,
) -> None:
    pid = world["player"].player_id
    before = await _fingerprint(clean_db)
    ok, value = await _refused_cleanly(
        clean_db,
        before,
        layer.experience.update_player_stat_field(pid, field, delta, op_id=op_id),
    )
    valid = (
        isinstance(field, str)
        and field in NUMERIC_STATS
        and type(delta) is int
        and abs(delta) <= 10**9
    )
    if ok:
        assert valid
        stored = json.loads(await clean_db.fetchval("SELECT stats::text FROM players"))
        assert stored[field] == value or op_id is not None  # a replay returns the first value
        spec = STAT_REGISTRY[field]
        assert spec.minimum is None or value >= spec.minimum
        assert not isinstance(spec.maximum, int) or value <= spec.maximum
        assert stored["current_health"] <= stored["max_health"]


@settings(SETTINGS, max_examples=1500)
@given(
    player_id=st.one_of(st.uuids(), anything, st.just("TARGET")),
    delta=amounts,
    op_id=op_ids,
)
async def test_health_updates(
    layer: AsyncPersistenceLayer,
    clean_db: asyncpg.Connection,
    world: dict[str, Any],
    player_id: Any,
    delta: Any,
    op_id: Any,
) -> None:
    if player_id == "TARGET":
        player_id = str(world["player"].player_id)
    before = await _fingerprint(clean_db)
    ok, value = await _refused_cleanly(
        clean_db, before, layer.health.update_player_health(player_id, delta, op_id=op_id)
    )
    if ok:
        assert type(delta) is int
        assert 0 <= value <= 100


@settings(SETTINGS, max_examples=1500)
@given(name=texts, lookup=texts)
async def test_names_are_stored_verbatim_or_refused(
    layer: AsyncPersistenceLayer,
    clean_db: asyncpg.Connection,
    world: dict[str, Any],
    name: str,
    lookup: str,
) -> None:
    before = await _fingerprint(clean_db)
    ok, found = await _refused_cleanly(clean_db, before, layer.players.get_player_by_name(lookup))
    if ok:
        folded = normalize_name(lookup)
        assert found is None or (folded is not None and found.name.lower() == folded.lower())
    player = new_player()
    player.name = name
    before = await _fingerprint(clean_db)
    ok, _ = await _refused_cleanly(clean_db, before, layer.players.save_player(player))
    if ok:
        stored = await clean_db.fetchval(
            "SELECT name FROM players WHERE player_id = $1", player.player_id
        )
        assert stored == normalize_name(name)  # stored as written, NFKC-normalised
        again = await layer.players.get_player_by_name(name)
        assert again is not None
        assert again.player_id == player.player_id
        await clean_db.execute("DELETE FROM players WHERE player_id = $1", player.player_id)


@settings(SETTINGS, max_examples=1500)
@given(
    item_id=texts,
    prototype=texts,
    owner=st.one_of(
        st.tuples(st.sampled_from(["room", "player", "container", "bank", ""]), anything),
        st.tuples(st.just("room"), texts),
        st.just(("container", "BOX")),
    ),
    metadata=st.one_of(st.dictionaries(texts, json_values, max_size=4), anything),
    quantity=amounts,
)
async def test_item_creation(
    layer: AsyncPersistenceLayer,
    clean_db: asyncpg.Connection,
    world: dict[str, Any],
    item_id: Any,
    prototype: Any,
    owner: Any,
    metadata: Any,
    quantity: Any,
) -> None:
    if owner == ("container", "BOX"):
        owner = ("container", str(world["box"]))
    before = await _fingerprint(clean_db)
    ok, item = await _refused_cleanly(
        clean_db,
        before,
        layer.items.create_item_instance(
            item_id,
            prototype,
            owner_type=owner[0],
            owner_id=owner[1],
            metadata=metadata,
            quantity=quantity,
        ),
    )
    if ok:
        row = await clean_db.fetchrow(
            "SELECT prototype_id, metadata::text AS m, quantity FROM item_instances"
            " WHERE item_instance_id = $1",
            item_id,
        )
        assert row["prototype_id"] == prototype
        assert json.loads(row["m"]) == metadata
        assert row["quantity"] == quantity
        assert item.item_instance_id == item_id
        await clean_db.execute("DELETE FROM item_instances WHERE item_instance_id = $1", item_id)


def _no_nan(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isnan(value) and not math.isinf(value)
    if isinstance(value, dict):
        return all(_no_nan(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nan(v) for v in value)
    return True


@settings(SETTINGS, max_examples=1000)
@given(
    item=st.one_of(st.sampled_from(["held-item", "box-item"]), texts, anything),
    source=st.one_of(st.sampled_from(["PLAYER", "BOX"]), st.tuples(texts, anything), anything),
    target=st.one_of(
        st.sampled_from(["PLAYER", "BOX", "ROOM"]), st.tuples(texts, anything), anything
    ),
    position=st.one_of(st.none(), amounts),
    op_id=op_ids,
)
async def test_transfers(
    layer: AsyncPersistenceLayer,
    clean_db: asyncpg.Connection,
    world: dict[str, Any],
    item: Any,
    source: Any,
    target: Any,
    position: Any,
    op_id: Any,
) -> None:
    named = {
        "PLAYER": ("player", str(world["player"].player_id)),
        "BOX": ("container", str(world["box"])),
        "ROOM": ("room", FOYER),
    }
    source = named.get(source, source) if isinstance(source, str) else source
    target = named.get(target, target) if isinstance(target, str) else target
    before_owners = await clean_db.fetch(
        "SELECT item_instance_id, owner_type, owner_id FROM item_instances"
    )
    before = await _fingerprint(clean_db)
    ok, result = await _refused_cleanly(
        clean_db,
        before,
        layer.items.transfer_item(
            item, from_owner=source, to_owner=target, position=position, op_id=op_id
        ),
    )
    rows = await clean_db.fetch("SELECT item_instance_id, quantity FROM item_instances")
    assert sorted(r["item_instance_id"] for r in rows) == sorted(
        r["item_instance_id"] for r in before_owners
    )
    if ok and not result.replayed:
        # Put it back, so every example starts from the same world.
        await layer.items.transfer_item(
            item, from_owner=result.to_owner, to_owner=result.from_owner
        )


@settings(SETTINGS, max_examples=1000)
@given(
    source_type=st.one_of(st.sampled_from(["environment", "equipment", "corpse"]), texts, anything),
    room_id=st.one_of(st.none(), texts),
    lock_state=st.one_of(st.sampled_from(["unlocked", "locked", "sealed"]), texts, anything),
    capacity=st.one_of(st.integers(min_value=-3, max_value=25), amounts),
    metadata=st.one_of(st.none(), st.dictionaries(texts, json_values, max_size=3), anything),
)
async def test_container_creation(
    layer: AsyncPersistenceLayer,
    clean_db: asyncpg.Connection,
    world: dict[str, Any],
    source_type: Any,
    room_id: Any,
    lock_state: Any,
    capacity: Any,
    metadata: Any,
) -> None:
    before = await _fingerprint(clean_db)
    ok, box = await _refused_cleanly(
        clean_db,
        before,
        layer.containers.create_container(
            source_type,
            room_id=room_id,
            entity_id=uuid.uuid4() if source_type == "equipment" else None,
            lock_state=lock_state,
            capacity_slots=capacity,
            metadata=metadata,
        ),
    )
    if ok:
        stored = await clean_db.fetchrow(
            "SELECT room_id, metadata::text AS m, capacity_slots FROM containers"
            " WHERE container_id = $1",
            box.container_id,
        )
        assert stored["room_id"] == room_id
        assert json.loads(stored["m"]) == (metadata or {})
        assert stored["capacity_slots"] == capacity
        assert _no_nan(metadata or {})
        await clean_db.execute("DELETE FROM containers WHERE container_id = $1", box.container_id)


@settings(SETTINGS, max_examples=1000)
@given(
    deltas=st.one_of(
        st.dictionaries(
            st.one_of(
                st.just("TARGET"), st.uuids(), texts, st.integers(), st.none(), st.booleans()
            ),
            amounts,
            max_size=4,
        ),
        anything,
    ),
    field=st.one_of(st.sampled_from(sorted(NUMERIC_STATS)), texts),
    op_id=op_ids,
)
async def test_batches(
    layer: AsyncPersistenceLayer,
    clean_db: asyncpg.Connection,
    world: dict[str, Any],
    deltas: Any,
    field: Any,
    op_id: Any,
) -> None:
    if isinstance(deltas, dict) and "TARGET" in deltas:
        deltas[world["player"].player_id] = deltas.pop("TARGET")
    for call in (
        layer.health.apply_health_deltas(deltas, op_id=op_id),
        layer.experience.apply_stat_deltas(field, deltas, op_id=op_id),
        layer.experience.apply_xp_deltas(deltas, op_id=op_id),
    ):
        before = await _fingerprint(clean_db)
        await _refused_cleanly(clean_db, before, call)


@settings(SETTINGS, max_examples=500)
@given(stats=st.one_of(anything, st.dictionaries(texts, json_values, max_size=5), json_values))
async def test_non_object_or_bad_stats_are_refused(
    layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, world: dict[str, Any], stats: Any
) -> None:
    player = await layer.players.require_player(world["player"].player_id)
    object.__setattr__(player, "stats", stats)
    before = await _fingerprint(clean_db)
    ok, _ = await _refused_cleanly(clean_db, before, layer.players.save_player(player))
    if ok:
        stored = json.loads(await clean_db.fetchval("SELECT stats::text FROM players"))
        assert isinstance(stored, dict)
        assert stored["current_health"] <= stored["max_health"]


def _nested(depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {}
    level = document
    for _ in range(depth):
        level["a"] = {}
        level = level["a"]
    return document


odd_json = st.one_of(
    st.integers(min_value=0, max_value=6000).map(_nested),
    st.sampled_from(
        [object(), {1, 2}, float("nan"), float("inf"), b"bytes", {1: "x"}, {"k": "\x00"}]
    ).map(lambda v: {"v": v}),
    # Integers past what JSON text carries here (Python writes at most 4,300 digits).
    st.integers(min_value=900, max_value=6000).map(lambda digits: {"v": -(10**digits)}),
    json_values,
)
durations = st.one_of(
    st.timedeltas(),
    st.sampled_from([timedelta.max, timedelta.min, timedelta(days=10**6), timedelta(0)]),
    anything,
)


@settings(SETTINGS, max_examples=300)
@given(metadata=odd_json, decay=durations, grace=durations)
async def test_odd_documents_and_durations_are_refused_or_stored(
    layer: AsyncPersistenceLayer,
    clean_db: asyncpg.Connection,
    world: dict[str, Any],
    metadata: Any,
    decay: Any,
    grace: Any,
) -> None:
    """Nesting 6,000 deep, values that are not JSON, extreme timedeltas: typed errors only."""
    player = world["player"]
    calls = [
        layer.containers.create_container("environment", room_id=FOYER, metadata=metadata),
        layer.items.create_item_instance(
            f"odd-{uuid.uuid4().hex[:8]}",
            "gem",
            owner_type="room",
            owner_id=FOYER,
            metadata=metadata,
        ),
        layer.containers.update_container(world["box"], metadata=metadata),
        layer.containers.create_corpse(
            player.player_id, FOYER, decay_after=decay, grace_period=grace
        ),
    ]
    for call in calls:
        before = await _fingerprint(clean_db)
        await _refused_cleanly(clean_db, before, call)
    loaded = await layer.players.require_player(player.player_id)
    loaded.stats.custom = metadata  # type: ignore[attr-defined]  # a game's own stats key
    before = await _fingerprint(clean_db)
    await _refused_cleanly(clean_db, before, layer.players.save_player(loaded))


@settings(SETTINGS, max_examples=100)
@given(gains=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=6))
async def test_experience_never_overflows(
    layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, gains: list[int]
) -> None:
    player = new_player()
    await layer.players.save_player(player)
    for gain in gains:
        await layer.experience.update_player_xp(player.player_id, gain)
    stored = await clean_db.fetchval(
        "SELECT experience_points FROM players WHERE player_id = $1", player.player_id
    )
    assert stored == sum(gains)
    await clean_db.execute("DELETE FROM players WHERE player_id = $1", player.player_id)


zones = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
moments = st.one_of(
    st.datetimes(timezones=st.none() | zones),
    st.sampled_from([datetime.max, datetime.min]).flatmap(
        lambda edge: zones.map(lambda zone: edge.replace(tzinfo=zone))
    ),
    anything,
)


@settings(SETTINGS, max_examples=200)
@given(moment=moments)
async def test_any_date_is_stored_or_refused_with_a_typed_error(
    layer: AsyncPersistenceLayer,
    clean_db: asyncpg.Connection,
    world: dict[str, Any],
    moment: Any,
) -> None:
    """Dates at the calendar's edges in any zone, and things that are not dates."""
    player = world["player"]
    calls = [
        layer.containers.create_container("environment", room_id=FOYER, decay_at=moment),
        layer.containers.get_decayed_containers(moment),
        layer.players.update_player_last_active(player.player_id, moment),
    ]
    for call in calls:
        before = await _fingerprint(clean_db)
        await _refused_cleanly(clean_db, before, call)
    await clean_db.execute("DELETE FROM containers WHERE container_id <> $1", world["box"])


@settings(SETTINGS, max_examples=100)
@given(thing=anything)
async def test_what_is_not_a_player_is_refused_where_a_player_is_taken(
    layer: AsyncPersistenceLayer, clean_db: asyncpg.Connection, world: dict[str, Any], thing: Any
) -> None:
    calls = [
        layer.apply_fear(thing, 1),
        layer.apply_lucidity_loss(thing, 1),
        layer.apply_corruption(thing, 1),
        layer.gain_occult_knowledge(thing, 1),
        layer.validate_and_fix_player_room(thing),
        layer.health.damage_player(thing, 1),
        layer.experience.gain_experience(thing, 1),
        layer.players.save_player(thing),
        layer.move_player(thing, "north"),
    ]
    for call in calls:
        before = await _fingerprint(clean_db)
        ok, _ = await _refused_cleanly(clean_db, before, call)
        assert not ok

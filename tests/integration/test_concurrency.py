"""Many coroutines change the same players at once over several pool connections; none is lost.

How exactness is checked where clamping makes the result order-dependent: every atomic update
reports (old, new) read under its row lock. Each reported step must be the correct clamp of
its own delta, and the steps of one player must chain into a single walk (an Eulerian trail)
from the starting value to the value the database holds at the end. A lost update breaks
the chain; a double-applied or misclamped one breaks a step. XP has no clamp, so its final
value must equal the start plus the sum of all awards, exactly.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from typing import Any

import asyncpg
import pytest

from persistence.demo import steps_form_one_walk
from persistence.errors import StaleDataError
from persistence.events import PlayerHPUpdated, PlayerStatUpdated
from persistence.facade import AsyncPersistenceLayer
from tests.conftest import RecordingBus, make_settings
from tests.factories import new_player
from tests.pgbouncer import client_count

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKERS = 50
OPS_PER_WORKER = 200
ROOMS = [f"earth_arkhamcity_sanitarium_room_{name}" for name in ("foyer_001", "hallway_001")]


def assert_single_walk(steps: list[tuple[int, int]], start: int, final: int) -> None:
    """``steps`` (old -> new) can be ordered into one walk from ``start`` to ``final``."""
    assert steps_form_one_walk(steps, start, final), (start, final, sorted(steps)[:20])


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


async def run_workers(
    layer: AsyncPersistenceLayer, player_ids: list[uuid.UUID], *, with_saves: bool, seed: int
) -> dict[uuid.UUID, int]:
    """50 workers x 200 random operations; returns the XP awarded per player."""
    xp_awarded: dict[uuid.UUID, int] = defaultdict(int)

    async def worker(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        for _ in range(OPS_PER_WORKER):
            pid = rng.choice(player_ids)
            roll = rng.random()
            if roll < 0.35:
                await layer.health.update_player_health(pid, rng.randint(-25, 25), "combat")
            elif roll < 0.45:
                batch = {
                    p: rng.randint(-15, 15) for p in rng.sample(player_ids, min(5, len(player_ids)))
                }
                await layer.health.apply_health_deltas(batch, "area")
            elif roll < 0.65:
                amount = rng.randint(0, 60)
                await layer.experience.update_player_xp(pid, amount, "kill")
                xp_awarded[pid] += amount
            elif roll < 0.85 or not with_saves:
                await layer.experience.update_player_stat_field(pid, "fear", rng.randint(-12, 12))
            else:
                # Load, change fields no atomic update touches, save. Two savers of the same
                # column may conflict; the loser reloads, as a game would.
                for _attempt in range(20):
                    player = await layer.players.require_player(pid)
                    player.current_room_id = rng.choice(ROOMS)
                    player.stats.strength = rng.randint(1, 100)
                    try:
                        await layer.players.save_player(player)
                        break
                    except StaleDataError:
                        continue

    await asyncio.gather(*(worker(n) for n in range(WORKERS)))
    return xp_awarded


async def check_final_state(
    conn: asyncpg.Connection,
    bus: RecordingBus,
    player_ids: list[uuid.UUID],
    xp_awarded: dict[uuid.UUID, int],
) -> None:
    rows = {
        r["player_id"]: r
        for r in await conn.fetch(
            """SELECT player_id, experience_points, level,
                      (stats->>'current_health')::int AS hp, (stats->>'max_health')::int AS max_hp,
                      (stats->>'fear')::int AS fear
                 FROM players"""
        )
    }
    hp_steps: dict[uuid.UUID, list[tuple[int, int]]] = defaultdict(list)
    for event in bus.of(PlayerHPUpdated):
        assert event.new_hp == clamp(event.old_hp + event.delta, 0, event.max_hp)
        hp_steps[event.player_id].append((event.old_hp, event.new_hp))
    fear_steps: dict[uuid.UUID, list[tuple[int, int]]] = defaultdict(list)
    for stat_event in bus.of(PlayerStatUpdated):
        fear_steps[stat_event.player_id].append((stat_event.old_value, stat_event.new_value))
        assert 0 <= stat_event.new_value <= 100
    for pid in player_ids:
        row = rows[pid]
        assert_single_walk(hp_steps[pid], 100, row["hp"])
        assert_single_walk(fear_steps[pid], 0, row["fear"])
        assert row["experience_points"] == xp_awarded[pid]
        assert row["level"] == xp_awarded[pid] // 100 + 1
        assert 0 <= row["hp"] <= row["max_hp"] == 100


@pytest.fixture
async def busy_layer(clean_db: asyncpg.Connection, database_url: str, bus: RecordingBus) -> Any:
    app = f"concurrency-{uuid.uuid4().hex[:8]}"
    settings = make_settings(database_url, pool_min_size=4, pool_max_size=10, application_name=app)
    async with AsyncPersistenceLayer(settings, event_bus=bus) as layer:
        yield layer


async def _pool_size(conn: asyncpg.Connection, app: str) -> int:
    return await client_count(conn, app)  # through PgBouncer too: its clients, not backends


@pytest.mark.parametrize(
    ("players", "with_saves"),
    [(1, False), (100, False), (1, True), (100, True)],
    ids=["hot-player", "spread-100", "hot-player+saves", "spread-100+saves"],
)
async def test_concurrent_deltas_are_exact(
    busy_layer: AsyncPersistenceLayer,
    clean_db: asyncpg.Connection,
    bus: RecordingBus,
    players: int,
    with_saves: bool,
) -> None:
    roster = [new_player() for _ in range(players)]
    await busy_layer.players.save_players(roster)
    ids = [p.player_id for p in roster]
    xp = await run_workers(busy_layer, ids, with_saves=with_saves, seed=players)
    await check_final_state(clean_db, bus, ids, xp)
    assert await _pool_size(clean_db, busy_layer.settings.application_name) >= 2

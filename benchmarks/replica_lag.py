"""``python -m benchmarks.replica_lag [--writes N]``: how long a write takes to reach a replica.

On a private primary and streaming standby (``tests.cluster``), N atomic HP deltas are made
through the layer; after each, a connection to the standby polls until it shows the new
value. Prints the median, 99th percentile and maximum delay, and how often a read made at
once on the standby would have been stale. The figures go into docs/scaling.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import asyncpg

from persistence.facade import AsyncPersistenceLayer
from persistence.schema import run_migrations
from persistence.settings import PersistenceSettings
from persistence.testing.factories import make_player
from tests import cluster


async def measure(writes: int) -> dict[str, float]:
    pair = await asyncio.to_thread(cluster.Pair().start)
    try:
        admin = await asyncpg.connect(pair.primary.url())
        await admin.execute("CREATE DATABASE mud")
        await admin.close()
        settings = PersistenceSettings(
            database_url=pair.primary.url("mud"), room_notifications=False
        )
        await run_migrations(pair.primary.url("mud"), settings)
        async with AsyncPersistenceLayer(settings) as layer:
            await layer.seed_world()
            player = make_player("Lagged")
            player.stats.max_health = 1_000_000
            player.stats.current_health = 500_000
            await layer.save_player(player)
            await asyncio.sleep(0.5)
            standby = await asyncpg.connect(pair.replica.url("mud"))
            query = "SELECT (stats->>'current_health')::int FROM players WHERE player_id = $1"
            delays: list[float] = []
            stale = 0
            for n in range(writes):
                hp = await layer.update_player_health(player.player_id, -1 if n % 2 else 1)
                done = time.perf_counter()
                first = True
                while await standby.fetchval(query, player.player_id) != hp:
                    stale += first
                    first = False
                delays.append(time.perf_counter() - done)
            await standby.close()
    finally:
        await asyncio.to_thread(pair.stop)
    ordered = sorted(delays)
    return {
        "writes": writes,
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "stale_at_once_pct": round(100 * stale / writes, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=1000)
    print(json.dumps(asyncio.run(measure(parser.parse_args().writes)), indent=2))

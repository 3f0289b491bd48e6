"""``python -m benchmarks.scaling [--seconds S] [--json PATH]``: many game-server processes.

For 1 and 10 OS processes, each a layer with a pool of 5 and 10 tasks playing (70% atomic
HP deltas on random players, 30% reads by id) for a few seconds, directly and through a
private PgBouncer in transaction pooling mode: total operations per second, and the server
connections used. The figures go into docs/scaling.md. Needs ``MUD_DATABASE_URL`` (a
server where a throwaway database can be created) and the pgbouncer binary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from persistence.config import connect_arguments
from persistence.facade import AsyncPersistenceLayer
from persistence.schema import run_migrations
from persistence.settings import PersistenceSettings
from persistence.testing.database import with_database
from persistence.testing.factories import make_player

ROOT = Path(__file__).resolve().parents[1]
PLAYERS = 1000

WORKER = textwrap.dedent(
    """
    import asyncio, json, random, sys, time, uuid
    from persistence.facade import AsyncPersistenceLayer
    from persistence.settings import PersistenceSettings

    async def main():
        settings = PersistenceSettings.model_validate_json(sys.argv[1])
        ids = [uuid.UUID(i) for i in json.loads(sys.argv[2])]
        seconds, start_at = float(sys.argv[3]), float(sys.argv[4])
        done = 0
        async with AsyncPersistenceLayer(settings) as layer:
            await asyncio.sleep(max(0.0, start_at - time.time()))
            until = time.monotonic() + seconds
            async def task(seed):
                nonlocal done
                rng = random.Random(seed)
                while time.monotonic() < until:
                    pid = rng.choice(ids)
                    if rng.random() < 0.7:
                        await layer.update_player_health(pid, rng.choice((-1, 1)))
                    else:
                        await layer.get_player_by_id(pid)
                    done += 1
            await asyncio.gather(*(task(n) for n in range(10)))
        print(json.dumps({"ops": done}), flush=True)

    asyncio.run(main())
    """
)


async def _prepare(server: str) -> tuple[str, list[str]]:
    name = f"mud_scaling_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(**connect_arguments(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')  # safe-sql: a generated name
    finally:
        await admin.close()
    url = with_database(server, name)
    await run_migrations(url, PersistenceSettings(database_url=url))
    async with AsyncPersistenceLayer(
        PersistenceSettings(database_url=url, room_notifications=False)
    ) as layer:
        await layer.seed_world()
        players = [make_player(f"scale_{n:04d}") for n in range(PLAYERS)]
        for player in players:
            player.stats.max_health = 1_000_000
            player.stats.current_health = 500_000
        await layer.save_players(players)
    return url, [str(p.player_id) for p in players]


async def _connections(server_url: str, database: str) -> int:
    admin = await asyncpg.connect(**connect_arguments(server_url))
    try:
        count: int = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database
        )
        return count
    finally:
        await admin.close()


async def _run(
    settings: PersistenceSettings, ids: list[str], processes: int, seconds: float, direct: str
) -> dict[str, Any]:
    script = Path(tempfile.mkdtemp()) / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start_at = time.time() + 3 + processes * 0.3  # every worker started and connected
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            settings.model_dump_json(),
            json.dumps(ids),
            str(seconds),
            str(start_at),
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    await asyncio.sleep(max(0.0, start_at - time.time()) + seconds / 2)
    database = direct.rsplit("/", 1)[1].split("?")[0]
    connections = await _connections(direct, database)
    outputs = await asyncio.gather(*(w.communicate() for w in workers))
    shutil.rmtree(script.parent, ignore_errors=True)
    ops = sum(json.loads(out)["ops"] for out, _ in outputs)
    return {
        "processes": processes,
        "ops_per_s": round(ops / seconds),
        "server_connections": connections,
    }


async def main(seconds: float) -> dict[str, Any]:
    from tests.pgbouncer import start_pgbouncer

    server = os.environ.get("MUD_DATABASE_URL")
    if not server:
        raise SystemExit("set MUD_DATABASE_URL to a server where a database can be created")
    url, ids = await _prepare(server)
    folder = Path(tempfile.mkdtemp(prefix="mud-scaling-pgbouncer-"))
    bouncer = start_pgbouncer(folder, server, pool_size=20)
    results: dict[str, Any] = {"direct": [], "pgbouncer": []}
    try:
        database = url.rsplit("/", 1)[1]
        pooled = PersistenceSettings(
            database_url=bouncer.url(database),
            migration_database_url=url,
            pooler="pgbouncer-transaction",
            pool_max_size=5,
            room_notifications=False,
        )
        await run_migrations(url, pooled)  # sets the database's statement timeout
        direct = PersistenceSettings(database_url=url, pool_max_size=5, room_notifications=False)
        for processes in (1, 10):
            results["direct"].append(await _run(direct, ids, processes, seconds, url))
            results["pgbouncer"].append(await _run(pooled, ids, processes, seconds, url))
            print(json.dumps(results), file=sys.stderr, flush=True)
    finally:
        bouncer.stop()
        shutil.rmtree(folder, ignore_errors=True)
        admin = await asyncpg.connect(**connect_arguments(server))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # safe-sql
        finally:
            await admin.close()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    figures = asyncio.run(main(args.seconds))
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)

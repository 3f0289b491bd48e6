"""``python -m benchmarks [--quick] [--json PATH]``: the layer against raw asyncpg.

Runs on a throwaway database created on the server of ``MUD_DATABASE_URL`` (dropped at the
end), or on the embedded PostgreSQL when the variable is unset. Prints a Markdown table:
throughput of the layer and of equivalent hand-written asyncpg code, interleaved in rounds
in the same run, and the ratio of their median times. Exit status is 0 whatever the numbers
(``--check`` makes a missed target an error).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.cases import ROOM, Bench
from benchmarks.harness import Result, measure, table
from persistence.config import database_credentials, tortoise_config
from persistence.embedded import start_embedded_postgres
from persistence.facade import AsyncPersistenceLayer
from persistence.schema import run_migrations
from persistence.settings import PersistenceSettings


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(**database_credentials(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _server_version(url: str) -> str:
    conn = await asyncpg.connect(**database_credentials(url))
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def run(quick: bool, rounds: int) -> dict[str, Any]:
    configured = os.environ.get("MUD_DATABASE_URL")
    embedded = None
    if configured:
        server_url = configured
    else:
        embedded = await asyncio.to_thread(start_embedded_postgres)
        server_url = embedded.url
    name = f"mud_bench_{uuid.uuid4().hex[:8]}"
    url = _with_database(server_url, name)
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        await run_migrations(url)
        settings = PersistenceSettings(database_url=url, pool_min_size=10, pool_max_size=10)
        layer = AsyncPersistenceLayer(settings)
        # The asyncpg side gets the same connection settings as the layer's pool (statement
        # timeout on the server and in the driver, application name), so only the code differs.
        creds = tortoise_config(settings, url)["connections"]["default"]["credentials"]
        pool = await asyncpg.create_pool(
            **database_credentials(url),
            min_size=10,
            max_size=10,
            command_timeout=creds["command_timeout"],
            server_settings=creds["server_settings"],
        )
        try:
            await layer.start()
            bench = Bench(layer, pool, quick)
            await bench.setup()
            results: list[Result] = []
            for case in bench.cases():
                results.append(await measure(case, rounds=rounds, warmup=max(1, case.n // 10)))
                print(f"  measured {case.name}", file=sys.stderr, flush=True)
            cache_calls = await _count_cache_queries(layer)
            version = await _server_version(url)
        finally:
            await layer.close()
            await pool.close()
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    by_name = {r.name: r for r in results}
    sequential = by_name["update_player_health (sequential)"].repo_ops_per_s
    batch = by_name["apply_health_deltas (1,000)"].repo_ops_per_s * 1000
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "server": f"PostgreSQL {version}" + (" (embedded)" if embedded else ""),
        "quick": quick,
        "rounds": rounds,
        "results": [r.as_json() for r in results],
        "batch_speedup": {
            "players_per_s_batch": batch,
            "players_per_s_sequential": sequential,
            "speedup": batch / sequential,
            "target": 10.0,
        },
        "cache_database_calls": cache_calls,
        "table": table(results),
    }


async def _count_cache_queries(layer: AsyncPersistenceLayer) -> int:
    """Statements sent while reading the room cache 10,000 times (must be 0)."""
    calls = 0
    original = layer.db.fetch

    async def spy(sql: str, args: list[Any]) -> list[dict[str, Any]]:
        nonlocal calls
        calls += 1
        return await original(sql, args)

    layer.db.fetch = spy  # type: ignore[method-assign]
    try:
        for _ in range(10_000):
            assert layer.rooms.get_room_by_id(ROOM) is not None
            layer.rooms.list_rooms()
    finally:
        layer.db.fetch = original  # type: ignore[method-assign]
    return calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small N and 3 rounds (for CI)")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--rounds", type=int, help="rounds per operation (default 7, quick 3)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 7)
    report = asyncio.run(run(args.quick, rounds))
    print(f"\n{report['machine']}; {report['server']}; {rounds} rounds, medians\n")
    print(report["table"])
    speed = report["batch_speedup"]
    print(
        f"\napply_health_deltas(1,000): {speed['players_per_s_batch']:,.0f} player updates/s vs "
        f"{speed['players_per_s_sequential']:,.0f}/s for sequential update_player_health: "
        f"{speed['speedup']:.1f}x (target >= 10x)"
    )
    print(f"database calls during 10,000 room cache reads: {report['cache_database_calls']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    missed = [r["name"] for r in report["results"] if r["meets_target"] is False]
    if speed["speedup"] < speed["target"]:
        missed.append("apply_health_deltas speedup")
    if report["cache_database_calls"]:
        missed.append("room cache")
    if missed:
        print(f"\ntargets missed: {', '.join(missed)}")
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())

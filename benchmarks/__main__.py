"""``python -m benchmarks [--quick] [--json PATH]``: the layer against four baselines.

Runs on a throwaway database created on the server of ``MUD_DATABASE_URL`` (dropped at the
end), or on the embedded PostgreSQL when the variable is unset. Every operation runs five
ways, interleaved in rounds in the same run: the layer, hand-written asyncpg on a pool, plain
Tortoise ORM, SQLAlchemy 2 async (skipped when not installed: the ``bench`` extra) and the
asyncpg statements on one bare connection (the floor). Prints a Markdown table of the
throughput of each side and the ratios layer / side of the median round times, with the
spread of the rounds. Exit status is 0 whatever the numbers (``--check`` makes a missed
target an error).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import asyncpg
from asyncpg.prepared_stmt import PreparedStatement

from benchmarks.cases import ROOM, Bench
from benchmarks.harness import LAYER, SIDES, Case, Result, measure, statements_table, table
from benchmarks.tortoise_side import TortoiseSide
from persistence.config import connect_arguments, connect_options
from persistence.embedded import start_embedded_postgres
from persistence.facade import AsyncPersistenceLayer
from persistence.models.player import Player
from persistence.schema import run_migrations
from persistence.settings import PersistenceSettings


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(**connect_arguments(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _server_version(url: str) -> str:
    conn = await asyncpg.connect(**connect_arguments(url))
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def keep_session(connection: asyncpg.Connection) -> None:
    """A pool reset that sends nothing: the layer's own (``persistence.engine``), for baselines.

    asyncpg rolls back an open transaction before calling it. Its default reset sends
    ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every release; through
    a transaction pooler that runs on whichever server connection the release reached, on
    another client's session state. The benchmarks set no session state to reset.
    """


def pooler_safe_pool_options(settings: PersistenceSettings) -> dict[str, Any]:
    """Extra ``asyncpg.create_pool`` options for the baselines' pools under ``MUD_POOLER``.

    Direct, nothing (asyncpg's defaults, as a user of asyncpg or Tortoise would have);
    through a transaction pooler, the reset that sends nothing (:func:`keep_session`).
    Named prepared statements are off through :func:`persistence.config.connect_options`.
    """
    if settings.pooler == "none":
        return {}
    return {"reset": keep_session}


def load_sqlalchemy_side() -> tuple[Any, str | None]:
    """The SQLAlchemy side's module, or ``None`` and why (the ``bench`` extra is optional)."""
    try:
        module = importlib.import_module("benchmarks.sqlalchemy_side")
    except ImportError as exc:
        return None, f"{exc}; install the bench extra: pip install -e '.[bench]'"
    return module, None


async def run(quick: bool, rounds: int, only: str | None = None) -> dict[str, Any]:
    configured = os.environ.get("MUD_DATABASE_URL")
    embedded = None
    if configured:
        server_url = configured
    else:
        embedded = await asyncio.to_thread(start_embedded_postgres)
        server_url = embedded.url
    # CREATE DATABASE and migrations go direct; everything measured goes through
    # MUD_DATABASE_URL (a pooler too, with MUD_POOLER).
    admin_url = os.environ.get("MUD_MIGRATION_DATABASE_URL") or server_url
    name = f"mud_bench_{uuid.uuid4().hex[:8]}"
    url = _with_database(server_url, name)
    direct = _with_database(admin_url, name)
    sa_module, sa_skipped = load_sqlalchemy_side()
    if sa_skipped:
        print(f"sqlalchemy column skipped: {sa_skipped}", file=sys.stderr, flush=True)
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        settings = PersistenceSettings(
            database_url=url, migration_database_url=direct, pool_min_size=10, pool_max_size=10
        )
        await run_migrations(direct, settings)
        # The asyncpg side, the floor and SQLAlchemy get the same connection settings as the
        # layer's pool (statement timeout on the server and in the driver, application name;
        # no statement cache through a pooler), so only the code differs. Plain Tortoise runs
        # with Tortoise's own defaults. Through a pooler both pools also return connections
        # without asyncpg's reset query (see pooler_safe_pool_options).
        same_settings = connect_options(settings)
        pool_options = pooler_safe_pool_options(settings)
        async with AsyncExitStack() as stack:
            layer = AsyncPersistenceLayer(settings)
            stack.push_async_callback(layer.close)
            await layer.start()
            pool = await asyncpg.create_pool(
                **connect_arguments(url),
                min_size=10,
                max_size=10,
                **same_settings,
                **pool_options,
            )
            stack.push_async_callback(pool.close)
            floor = await asyncpg.connect(**connect_arguments(url), **same_settings)
            stack.push_async_callback(floor.close)
            tortoise = await TortoiseSide.start(
                url,
                pool_size=10,
                extra={"statement_cache_size": 0, **pool_options} if pool_options else None,
            )
            stack.push_async_callback(tortoise.close)
            sa = None
            if sa_module is not None:
                sa = await sa_module.SqlAlchemySide.start(
                    url, pool_size=10, connect_args=same_settings
                )
                stack.push_async_callback(sa.close)
            bench = Bench(layer, pool, floor, tortoise, sa, quick)
            await bench.setup()
            results: list[Result] = []
            for case in bench.cases():
                if only is not None and only not in case.name:
                    continue
                started = time.perf_counter()
                result = await measure(case, rounds=rounds, warmup=max(1, case.n // 10))
                result.statements = await _statements_per_op(case)
                results.append(result)
                took = time.perf_counter() - started
                print(f"  measured {case.name} ({took:.0f} s)", file=sys.stderr, flush=True)
            probe = await _probe_statement_counter(bench)
            cache_calls = _count_cache_queries(layer)
            version = await _server_version(direct)
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    by_name = {r.name: r for r in results}
    missed = [_missed(r) for r in results if r.meets_target is False]
    speedup: dict[str, float] | None = None
    if {"update_player_health (sequential)", "apply_health_deltas (1,000)"} <= set(by_name):
        sequential = by_name["update_player_health (sequential)"].ops_per_s(LAYER)
        batch = by_name["apply_health_deltas (1,000)"].ops_per_s(LAYER)
        assert sequential is not None
        assert batch is not None
        batch *= 1000
        speedup = {
            "players_per_s_batch": batch,
            "players_per_s_sequential": sequential,
            "speedup": batch / sequential,
            "target": 10.0,
        }
        if batch / sequential < 10.0:
            missed.append(f"apply_health_deltas speedup {batch / sequential:.1f}x vs >= 10x")
    if cache_calls:
        missed.append(f"room cache: {cache_calls} database calls vs 0")
    if not all(probe.values()):
        missed.append("room cache: the statement counter saw no statement of a real query")
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "server": f"PostgreSQL {version}" + (" (embedded)" if embedded else ""),
        "quick": quick,
        "rounds": rounds,
        "sides": list(SIDES),
        "skipped": {"sqlalchemy": sa_skipped} if sa_skipped else {},
        "results": [r.as_json() for r in results],
        "batch_speedup": speedup,
        "statement_counter_probe": probe,
        "cache_database_calls": cache_calls,
        "missed": missed,
        "table": table(results),
        "statements_table": statements_table(results),
    }


def _missed(result: Result) -> str:
    misses = ", ".join(f"layer/{c.target.side} {c.ratio:.3f} vs {c.target}" for c in result.missed)
    return f"{result.name}: {misses}"


STATEMENT_METHODS: Final = {
    asyncpg.Connection: ("fetch", "fetchrow", "fetchval", "execute", "executemany"),
    # SQLAlchemy's driver runs statements it prepared once through these instead.
    PreparedStatement: ("fetch", "fetchrow", "fetchval", "executemany"),
}


@contextmanager
def counting_statements() -> Iterator[list[int]]:
    """Count the statements every asyncpg connection sends while the block runs.

    The statement methods are replaced on the classes, so every client is seen: pools, bare
    connections, Tortoise's clients and querysets, SQLAlchemy. ``calls[0]`` is the count.
    """
    calls = [0]

    def counted(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            return await original(self, *args, **kwargs)

        return spy

    originals = [
        (cls, name, cls.__dict__[name])
        for cls, names in STATEMENT_METHODS.items()
        for name in names
    ]
    try:
        for cls, name, original in originals:
            setattr(cls, name, counted(original))
        yield calls
    finally:
        for cls, name, original in originals:
            setattr(cls, name, original)


async def _statements_per_op(case: Case) -> dict[str, list[int]]:
    """The statements each side sends for each of two operations (after the measured rounds)."""
    counts: dict[str, list[int]] = {}
    for side, work in case.sides.items():
        counts[side] = []
        for _ in range(2):
            with counting_statements() as calls:
                await work(1)
            counts[side].append(calls[0])
    return counts


async def _probe_statement_counter(bench: Bench) -> dict[str, int]:
    """Statements counted for one layer read and one plain-Tortoise read (each must be > 0)."""
    pid = bench.players[0].player_id
    with counting_statements() as layer_calls:
        await bench.layer.players.get_player_by_id(pid)
    with counting_statements() as tortoise_calls, bench.tortoise.ctx:
        await Player.get_or_none(player_id=pid)
    return {"layer get_player_by_id": layer_calls[0], "tortoise get_or_none": tortoise_calls[0]}


def _count_cache_queries(layer: AsyncPersistenceLayer) -> int:
    """Statements sent while reading the room cache 10,000 times (must be 0)."""
    with counting_statements() as calls:
        for _ in range(10_000):
            assert layer.rooms.get_room_by_id(ROOM) is not None
            layer.rooms.list_rooms()
    return calls[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small N and 3 rounds (for CI)")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--rounds", type=int, help="rounds per operation (default 7, quick 3)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--only", metavar="TEXT", help="measure only the operations whose name contains TEXT"
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 7)
    report = asyncio.run(run(args.quick, rounds, args.only))
    print(f"\n{report['machine']}; {report['server']}; {rounds} rounds, medians\n")
    for side, why in report["skipped"].items():
        print(f"{side} column skipped: {why}\n")
    print(report["table"])
    speed = report["batch_speedup"]
    if speed is not None:
        print(
            f"\napply_health_deltas(1,000): {speed['players_per_s_batch']:,.0f} player updates/s "
            f"vs {speed['players_per_s_sequential']:,.0f}/s for sequential update_player_health: "
            f"{speed['speedup']:.1f}x (target >= 10x)"
        )
    print(
        "\nStatements sent for one operation (pool resets, BEGIN and COMMIT included; 7/8: the "
        "two directions of a transfer; the room cache row's baselines: per query, which stands "
        "for 100 reads):\n"
    )
    print(report["statements_table"])
    print(f"\ndatabase calls during 10,000 room cache reads: {report['cache_database_calls']}")
    probe = report["statement_counter_probe"]
    print(
        "statement counter check: "
        + ", ".join(f"{what} counted {count}" for what, count in probe.items())
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    missed = report["missed"]
    if missed:
        print("\ntargets missed:\n" + "\n".join(f"- {m}" for m in missed))
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())

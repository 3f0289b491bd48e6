"""The benchmarks through PgBouncer in transaction pooling (issue 15, point 1).

``MUD_POOLER=pgbouncer-transaction`` promises that every connection the package opens, the
benchmarks' included, is safe there: no named prepared statements (a server connection
serves many clients: a name prepared for one is missing, or taken, for the next) and no
session state (asyncpg's pool reset, ``RESET ALL`` and the rest, would run on whichever
server connection the release reached). This runs ``python -m benchmarks --quick`` (one
round) through a private PgBouncer in front of a private cluster that logs every statement,
then reads that log: PgBouncer reaches the cluster over its Unix socket (``[local]`` in the
log), the benchmark's direct connections (CREATE DATABASE, migrations) over TCP, so what came
through the pooler is known line by line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from tests import cluster
from tests.pgbouncer import REQUIRE_VARIABLE, pgbouncer_binary, start_pgbouncer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not cluster.available(), reason="PostgreSQL 15 binaries not found"),
]

ROOT = Path(__file__).resolve().parents[2]
PREFIX = re.compile(r"^\d{4}-\d\d-\d\d [\d:.]+ \w+ \[\d+\] (?P<origin>\S+) (?P<app>\S*): ")
"""``log_line_prefix = '%m [%p] %r %a: '``: time, pid, client address, application."""
LOGGED = re.compile(r"^LOG:\s+(?:statement|execute (?P<name>[^:]+)):")
"""A statement as ``log_statement`` logs it: simple protocol, or extended with its name."""
TRACKED: Final = (
    r"(?:client_encoding|datestyle|timezone|standard_conforming_strings|application_name)"
)
"""The parameters PgBouncer itself keeps per client: it SETs them on the server connection a
client is given (its own bookkeeping, not a session state left by the client)."""
SESSION_STATE = re.compile(
    r"RESET ALL|UNLISTEN|pg_advisory_unlock_all|CLOSE ALL|DISCARD|"
    rf"(?:statement|execute [^:]+): (?:.*;\s*)?SET (?!LOCAL\b|{TRACKED}\s*=)",
    re.IGNORECASE | re.DOTALL,
)


@pytest.fixture(scope="module")
def logged_server() -> Iterator[cluster.Cluster]:
    """A private cluster logging every statement, reachable over TCP and a Unix socket."""
    folder = Path(tempfile.mkdtemp(prefix="mud-bench-pooler-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres")
    server = cluster.Cluster(folder / "data", cluster._free_port())
    cluster._run(
        str(cluster.BIN / "initdb"),
        "-D",
        str(server.data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "--no-sync",
    )
    server.configure(
        port=str(server.port),
        listen_addresses="127.0.0.1",
        unix_socket_directories=str(folder),
        fsync="off",
        log_statement="all",
        log_line_prefix="%m [%p] %r %a: ",
        max_connections="100",
    )
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop("immediate")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _entries(log: str) -> list[tuple[str, str]]:
    """The log's entries as (client address, text), continuation lines joined."""
    entries: list[tuple[str, str]] = []
    for line in log.splitlines():
        match = PREFIX.match(line)
        if match:
            entries.append((match["origin"], line[match.end() :]))
        elif entries:
            origin, text = entries[-1]
            entries[-1] = (origin, f"{text}\n{line}")
    return entries


def test_the_quick_benchmark_sends_no_named_statement_and_no_reset_through_pgbouncer(
    logged_server: cluster.Cluster, tmp_path: Path
) -> None:
    if pgbouncer_binary() is None:
        if os.environ.get(REQUIRE_VARIABLE):
            pytest.fail("pgbouncer is required here (MUD_REQUIRE_PGBOUNCER) but not installed")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    socket_dir = logged_server.data.parent
    bouncer_dir = Path(tempfile.mkdtemp(prefix="mud-bench-bouncer-"))
    bouncer = start_pgbouncer(
        bouncer_dir,
        f"postgres://postgres@/postgres?host={socket_dir}&port={logged_server.port}",
        pool_size=4,
    )
    report = tmp_path / "bench.json"
    try:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "MUD_DATABASE_URL": bouncer.url("postgres"),
            "MUD_MIGRATION_DATABASE_URL": logged_server.url(),
            "MUD_POOLER": "pgbouncer-transaction",
        }
        done = subprocess.run(  # noqa: S603 - our own module
            [sys.executable, "-m", "benchmarks", "--quick", "--rounds", "1", "--json", str(report)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        bouncer.stop()
        shutil.rmtree(bouncer_dir, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(report.read_text())
    assert results["skipped"] == {}, "every side ran through the pooler"
    measured = {side for r in results["results"] for side, s in r["sides"].items() if s}
    assert measured == {"layer", "asyncpg", "tortoise", "sqlalchemy", "floor"}

    entries = _entries((logged_server.data / "log").read_text(errors="replace"))
    pooled = [text for origin, text in entries if origin == "[local]"]
    direct = [text for origin, text in entries if origin.startswith("127.0.0.1")]
    assert direct, "CREATE DATABASE and the migrations went direct, over TCP"
    statements = [m for t in pooled if (m := LOGGED.match(t))]
    assert len(statements) > 1000, "the measured work went through PgBouncer"
    named = sorted({m["name"] for m in statements if m["name"] not in (None, "<unnamed>")})
    assert named == [], f"named prepared statements through the pooler: {named[:10]}"
    state = [t[:200] for t in pooled if SESSION_STATE.search(t)]
    assert state == [], f"session state through the pooler: {state[:5]}"

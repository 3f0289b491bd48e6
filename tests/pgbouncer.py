"""A private PgBouncer in transaction pooling mode, for tests and CI.

``python -m tests.pgbouncer start DIR SERVER_URL [PORT]`` starts one in the background and
prints its URL; ``python -m tests.pgbouncer stop DIR`` stops it. Tests use
:func:`start_pgbouncer`. It runs as the ``postgres`` OS user when started as root (PgBouncer
refuses to run as root).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from persistence.config import database_credentials
from persistence.testing.database import POOLER_URL_VARIABLE

REQUIRE_VARIABLE = "MUD_REQUIRE_PGBOUNCER"
"""Set (CI does) to make a missing pgbouncer binary an error instead of a skip."""


def pgbouncer_binary() -> str | None:
    """The pgbouncer executable (Debian installs it in /usr/sbin)."""
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PgBouncer:
    """A running PgBouncer: ``url`` reaches ``database`` through it; ``admin_url`` its console."""

    folder: Path
    port: int

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def admin_url(self) -> str:
        return self.url("pgbouncer")

    def stop(self) -> None:
        pidfile = self.folder / "pgbouncer.pid"
        if not pidfile.exists():
            return
        pid = int(pidfile.read_text().strip())
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def start_pgbouncer(
    folder: Path, server_url: str, *, port: int | None = None, pool_size: int = 10
) -> PgBouncer:
    """Start PgBouncer (transaction pooling, trust auth) in front of ``server_url``'s server."""
    binary = pgbouncer_binary()
    if binary is None:
        raise FileNotFoundError("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    credentials = database_credentials(server_url)
    host, server_port = credentials["host"], credentials["port"]
    folder.mkdir(parents=True, exist_ok=True)
    chosen = port or free_port()
    (folder / "userlist.txt").write_text(f'"{credentials["user"]}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={host} port={server_port}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {chosen}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {folder / 'userlist.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\n"
        "max_client_conn = 1000\n"
        f"admin_users = {credentials['user']}\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
        f"pidfile = {folder / 'pgbouncer.pid'}\n"
    )
    command = [binary, "-d", str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres")
        for child in folder.iterdir():
            shutil.chown(child, user="postgres")
        command = ["runuser", "-u", "postgres", "--", *command]
    started = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603 - fixed argv
    if started.returncode != 0:
        raise RuntimeError(f"pgbouncer did not start: {started.stderr or started.stdout}")
    bouncer = PgBouncer(folder, chosen)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", chosen)) == 0:
                return bouncer
        time.sleep(0.05)
    bouncer.stop()
    raise RuntimeError(f"pgbouncer did not listen on {chosen}: see {folder / 'pgbouncer.log'}")


def admin_url_of(pooler_url: str) -> str:
    """PgBouncer's admin console (the ``pgbouncer`` database) on the pooler of ``pooler_url``."""
    return pooler_url.split("?")[0].rsplit("/", 1)[0] + "/pgbouncer"


async def show(admin_url: str, what: str) -> list[dict[str, str]]:
    """The rows of ``SHOW <what>`` on PgBouncer's admin console, as text.

    Through ``psql``: the console speaks only the simple query protocol, and asyncpg's
    fetch uses the extended one (``extended query protocol not supported by admin console``).
    """
    if what not in ("CLIENTS", "SERVERS", "POOLS"):
        raise ValueError(f"not a console listing: {what!r}")
    process = await asyncio.create_subprocess_exec(
        "psql", admin_url, "--csv", "-c", f"SHOW {what}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"SHOW {what} failed: {err.decode(errors='replace')}")
    return list(csv.DictReader(io.StringIO(out.decode())))


async def backend_pids(admin: Any, application_name: str) -> list[int]:
    """The PostgreSQL backends that serve the connections named ``application_name``.

    Direct, ``pg_stat_activity`` names them. Through the pooler of ``MUD_TEST_POOLER_URL`` the
    backends belong to PgBouncer, which hands them from client to client: its console's
    ``SHOW SERVERS`` gives each server connection's backend (``remote_pid``) and the name of
    the client it serves now or served last. ``admin`` is a direct connection.
    """
    pooler = os.environ.get(POOLER_URL_VARIABLE)
    if not pooler:
        rows = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", application_name
        )
        return [int(r["pid"]) for r in rows]
    servers = await show(admin_url_of(pooler), "SERVERS")
    return [
        int(r["remote_pid"])
        for r in servers
        if r["application_name"] == application_name and r["remote_pid"] not in ("", "0")
    ]


async def client_count(admin: Any, application_name: str) -> int:
    """How many connections the clients named ``application_name`` hold open (see above)."""
    pooler = os.environ.get(POOLER_URL_VARIABLE)
    if not pooler:
        return int(
            await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                application_name,
            )
        )
    clients = await show(admin_url_of(pooler), "CLIENTS")
    return sum(1 for r in clients if r["application_name"] == application_name)


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"] and len(argv) in (3, 4):
        port = int(argv[3]) if len(argv) == 4 else None
        bouncer = start_pgbouncer(Path(argv[1]), argv[2], port=port)
        print(bouncer.url("postgres"))
        return 0
    if argv[:1] == ["stop"] and len(argv) == 2:
        PgBouncer(Path(argv[1]), 0).stop()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

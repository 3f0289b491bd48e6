"""Private PostgreSQL 15 clusters for replica and failover tests: a primary and its standby.

Built with the machine's binaries (``/usr/lib/postgresql/15/bin``: initdb, pg_ctl,
pg_basebackup), run as the ``postgres`` OS user on free ports under a temporary folder, and
stopped at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(os.environ.get("MUD_PG_BIN", "/usr/lib/postgresql/15/bin"))


def available() -> bool:
    """Whether the binaries are there."""
    return all((BIN / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(*command: str, timeout: float = 120) -> str:
    argv = [str(c) for c in command]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603 - our own binaries
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr or done.stdout}")
    return done.stdout


@dataclass
class Cluster:
    """One running cluster: ``url(db)`` reaches it over TCP on 127.0.0.1."""

    data: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        _run(BIN / "pg_ctl", "-D", str(self.data), "-l", str(self.data / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` (sessions ended, WAL sent to standbys first) or ``immediate`` (a crash)."""
        _run(BIN / "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def promote(self) -> None:
        _run(BIN / "pg_ctl", "-D", str(self.data), "-w", "promote")

    def configure(self, **settings: str) -> None:
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            for key, value in settings.items():
                conf.write(f"{key} = '{value}'\n")

    def reload(self) -> None:
        _run(BIN / "pg_ctl", "-D", str(self.data), "reload")

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the postmaster and every backend (SIGSTOP: a frozen host)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(  # noqa: S603 - fixed argv
            ["pgrep", "-P", str(postmaster)],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.split()
        for pid in [postmaster, *map(int, children)]:
            with contextlib.suppress(ProcessLookupError):  # a backend that just ended
                os.kill(pid, sig)


class Pair:
    """A primary and a streaming standby (synchronous when ``sync``), in one temporary folder."""

    def __init__(self, *, sync: bool = False) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="mud-pair-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="postgres")
        self.sync = sync
        self.primary = Cluster(self.folder / "primary", _free_port())
        self.replica = Cluster(self.folder / "replica", _free_port())

    def start(self) -> Pair:
        primary, replica = self.primary, self.replica
        _run(BIN / "initdb", "-D", str(primary.data), "-U", "postgres", "-A", "trust", "--no-sync")
        primary.configure(
            port=str(primary.port),
            listen_addresses="127.0.0.1",
            unix_socket_directories=str(self.folder),
            wal_level="replica",
            max_wal_senders="5",
            wal_keep_size="256MB",
            hot_standby="on",
            fsync="off",
            synchronous_standby_names="mud_replica" if self.sync else "",
        )
        primary.start()
        _run(
            BIN / "pg_basebackup",
            "-h", "127.0.0.1",
            "-p", str(primary.port),
            "-U", "postgres",
            "-D", str(replica.data),
            "-R",
            "-X", "stream",
            "--no-sync",
        )  # fmt: skip
        auto = replica.data / "postgresql.auto.conf"
        text = auto.read_text().replace(
            "primary_conninfo = '", "primary_conninfo = 'application_name=mud_replica ", 1
        )
        auto.write_text(text)
        # Once promoted it has no standby of its own: it must not wait for one.
        replica.configure(port=str(replica.port), synchronous_standby_names="")
        replica.start()
        self.wait_streaming()
        return self

    def wait_streaming(self, timeout: float = 30) -> None:
        """Until the primary sees the standby streaming."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = _run(
                BIN / "psql",
                "-h", "127.0.0.1",
                "-p", str(self.primary.port),
                "-U", "postgres",
                "-Atc", "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
            )  # fmt: skip
            if out.strip() == "1":
                return
            time.sleep(0.1)
        raise RuntimeError("the standby is not streaming")

    def stop(self) -> None:
        for cluster in (self.replica, self.primary):
            with contextlib.suppress(RuntimeError):  # not running
                cluster.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

"""A throwaway local PostgreSQL, so a new user needs nothing but Python.

When no ``MUD_DATABASE_URL`` is configured the layer starts a private PostgreSQL cluster from
the binaries the ``pgserver`` wheel ships (PostgreSQL 16; CPython 3.10-3.12 on Linux x86_64,
macOS and Windows x86_64; tested here on Linux x86_64).
The cluster listens on a Unix socket only, lives in a temporary folder (or
``MUD_EMBEDDED_DATA_DIR``) and is stopped, and its temporary folder deleted, on close.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from persistence.errors import EmbeddedDatabaseUnavailableError

__all__ = ["EmbeddedPostgres", "start_embedded_postgres"]

DATABASE_NAME = "mud"
_EXISTS_SQL = "SELECT 1 FROM pg_database WHERE datname = 'mud';"
_CREATE_SQL = "CREATE DATABASE mud;"


@dataclass
class EmbeddedPostgres:
    """A running embedded cluster and the URL of its ``mud`` database."""

    url: str
    data_dir: Path
    _server: Any = field(repr=False)
    _throwaway: bool = field(repr=False, default=True)

    def server_url(self, database: str = "postgres") -> str:
        """URL of another database on the same cluster."""
        return self.url.rsplit("/", 1)[0].split("?")[0] + f"/{database}?" + self.url.split("?")[1]

    def stop(self) -> None:
        """Stop the cluster; a temporary data folder is deleted with it."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
                self._server.cleanup()
        finally:
            if self._throwaway:
                shutil.rmtree(self.data_dir, ignore_errors=True)


def _mud_url(server_uri: str) -> str:
    """The URL of the ``mud`` database from pgserver's URI (a Unix socket, or TCP on Windows)."""
    parts = urlsplit(server_uri)
    socket = parse_qs(parts.query).get("host")
    if socket:
        return f"postgres://postgres@/{DATABASE_NAME}?host={quote(socket[0])}"
    return f"postgres://postgres@{parts.hostname}:{parts.port or 5432}/{DATABASE_NAME}"


class _Demote(logging.Filter):
    """pgserver logs initdb's and pg_ctl's output at INFO; for a user of the layer that is DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _quiet_pgserver() -> None:
    logger = logging.getLogger("pgserver")
    if not any(isinstance(f, _Demote) for f in logger.filters):
        logger.addFilter(_Demote())


def start_embedded_postgres(data_dir: Path | None = None) -> EmbeddedPostgres:
    """Start (or join) an embedded cluster and make sure its ``mud`` database exists.

    Args:
        data_dir: Keep the cluster here across runs; ``None`` makes a throwaway folder.

    Raises:
        EmbeddedDatabaseUnavailableError: pgserver is not installed for this Python or platform,
            or the server failed to start. The message says to set ``MUD_DATABASE_URL`` instead.
    """
    _quiet_pgserver()
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError as exc:
        raise EmbeddedDatabaseUnavailableError(
            "No MUD_DATABASE_URL is set and the embedded PostgreSQL is not available: the "
            f"'pgserver' wheel is not installed for Python {sys.version_info[0]}."
            f"{sys.version_info[1]} on {sys.platform} (it ships for CPython 3.10-3.12 on Linux "
            "x86_64, macOS and Windows x86_64). "
            "Set MUD_DATABASE_URL=postgres://user:password@host:5432/database."
        ) from exc
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore")
        return _start(pgserver, data_dir)


def _start(pgserver: Any, data_dir: Path | None) -> EmbeddedPostgres:
    throwaway = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="mud-pg-")) if data_dir is None else data_dir
    folder.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(folder, cleanup_mode="stop")
        # psql takes no bind parameters; DATABASE_NAME is a module constant.
        exists = server.psql(_EXISTS_SQL)
        if "(1 row)" not in exists:
            server.psql(_CREATE_SQL)
        url = _mud_url(server.get_uri())
    except Exception as exc:
        if throwaway:
            shutil.rmtree(folder, ignore_errors=True)
        raise EmbeddedDatabaseUnavailableError(
            f"The embedded PostgreSQL failed to start in {folder}: {exc}. "
            "Set MUD_DATABASE_URL to use an existing server instead."
        ) from exc
    return EmbeddedPostgres(url=url, data_dir=folder, _server=server, _throwaway=throwaway)

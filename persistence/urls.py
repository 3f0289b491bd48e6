"""PostgreSQL URLs: split for asyncpg and Tortoise, checked, and described without secrets.

Apart from :mod:`persistence.config` so that the settings can check their URLs when they
are built, before anything connects. No message raised or returned here quotes a URL: it
may hold a password.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["connect_arguments", "database_credentials", "describe_url"]

_SCHEMES: Final = ("postgres", "postgresql", "postgresql+asyncpg")
_ENCODE_HINT: Final = (
    "percent-encode any '/', ':', '@', '?' or '#' in the user name or password, e.g. '/' as %2F"
)


def database_credentials(url: str) -> dict[str, Any]:
    """Split a PostgreSQL URL into the credentials dict Tortoise's asyncpg engine takes.

    Unlike Tortoise's own URL parser this accepts a Unix socket given as ``?host=/dir``, which
    is how the embedded server is reached, and several hosts for failover
    (``postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write``): the first is
    ``host``/``port``, all of them ``mud_hosts``, which :func:`connect_arguments` and the
    layer's engine hand to asyncpg, which tries them in order.

    Raises:
        ValueError: The URL is not a PostgreSQL URL, names no database, has a port that is
            not a number, or has an ``@`` after its host part: both are what a password with
            an unencoded ``/``, ``?`` or ``#`` looks like. The message never quotes the URL.
    """
    if not isinstance(url, str):
        raise ValueError("a database URL must be a string")
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES or not url[len(parts.scheme) + 1 :].startswith("//"):
        raise ValueError("not a PostgreSQL URL: use postgres://user:password@host:port/database")
    if "@" in url[len(parts.scheme) + 3 + len(parts.netloc) :]:
        # The user info ends at the last "@" before the first "/", "?" or "#". An "@" after
        # those means one of them was in the password: what came before it would be read as
        # a host and port, and the password's rest as the database name (or the query).
        raise ValueError(f"the database URL's user name or password is not encoded: {_ENCODE_HINT}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ValueError("the database URL names no database (postgres://host:port/<database>)")
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    hosts = [_host_port(item) for item in hostlist.split(",") if item]
    host, port = hosts[0] if hosts else (None, None)
    credentials: dict[str, Any] = {
        "host": query.pop("host", None) or host or "127.0.0.1",
        "port": port or _port(query.pop("port", "5432")),
        "user": unquote(user) if user else "postgres",
        "password": unquote(password) if password else None,
        "database": database,
    }
    if len(hosts) > 1:
        credentials["mud_hosts"] = [(h, p or 5432) for h, p in hosts]
    if "target_session_attrs" in query:
        credentials["target_session_attrs"] = query["target_session_attrs"]
    return credentials


def _host_port(item: str) -> tuple[str, int | None]:
    if item.startswith("["):  # [IPv6]:port
        address, _, rest = item[1:].partition("]")
        return address, _port(rest[1:]) if rest.startswith(":") else None
    host, _, port = item.rpartition(":") if item.count(":") == 1 else (item, "", "")
    return unquote(host or item), _port(port) if port else None


def _port(text: str) -> int:
    # Not quoted: with an unencoded "/" in the password, the "port" is the password's start.
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(
            f"the database URL's port is not a number from 1 to 65535 ({_ENCODE_HINT})"
        )
    return int(text)


def connect_arguments(url: str) -> dict[str, Any]:
    """Keyword arguments for ``asyncpg.connect`` to ``url`` (several hosts as asyncpg lists)."""
    credentials = database_credentials(url)
    hosts = credentials.pop("mud_hosts", None)
    if hosts:
        credentials["host"] = [h for h, _ in hosts]
        credentials["port"] = [p for _, p in hosts]
    return credentials


def describe_url(url: str) -> str:
    """A database URL for logs and messages: user, host, port and name, never the password."""
    try:
        found = database_credentials(url)
    except ValueError:
        return "(not a PostgreSQL URL)"
    return f"{found['user']}@{found['host']}:{found['port']}/{found['database']}"

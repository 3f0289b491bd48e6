"""Build the Tortoise ORM configuration from settings.

``TORTOISE_ORM`` is the module-level dict aerich loads (``aerich.ini`` names it). It is built
from the environment at import time without connecting to anything; with no
``MUD_DATABASE_URL`` it points at a local server, so run aerich with the variable set.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

from persistence.settings import PersistenceSettings

__all__ = ["MODEL_MODULES", "TORTOISE_ORM", "database_credentials", "tortoise_config"]

MODEL_MODULES: Final = ("models", "aerich.models")
LOCAL_DEFAULT_URL: Final = "postgres://postgres@127.0.0.1:5432/mud"

_SCHEMES: Final = ("postgres", "postgresql", "postgresql+asyncpg")


def database_credentials(url: str) -> dict[str, Any]:
    """Split a PostgreSQL URL into the credentials dict Tortoise's asyncpg engine takes.

    Unlike Tortoise's own URL parser this accepts a Unix socket given as ``?host=/dir``, which
    is how the embedded server is reached.

    Raises:
        ValueError: The URL is not a PostgreSQL URL or names no database.
    """
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(f"not a PostgreSQL URL (scheme {parts.scheme!r}): use postgres://...")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ValueError("the database URL names no database (postgres://host:port/<database>)")
    return {
        "host": query.pop("host", None) or parts.hostname or "127.0.0.1",
        "port": parts.port or int(query.pop("port", "5432")),
        "user": unquote(parts.username) if parts.username else "postgres",
        "password": unquote(parts.password) if parts.password else None,
        "database": database,
    }


def tortoise_config(settings: PersistenceSettings, url: str | None = None) -> dict[str, Any]:
    """The Tortoise config dict for ``url`` (or ``settings.database_url``).

    Pool sizes, the acquire timeout and the statement timeout (server side and in the
    driver) all come from ``settings``.
    """
    target = url or settings.database_url or LOCAL_DEFAULT_URL
    credentials = database_credentials(target)
    statement_ms = int(settings.statement_timeout * 1000)
    credentials.update(
        {
            "minsize": settings.pool_min_size,
            "maxsize": settings.pool_max_size,
            "acquire_timeout": settings.pool_acquire_timeout,
            # Opening a connection (at start, or reconnecting after a failure) is bounded too.
            "timeout": settings.pool_acquire_timeout,
            # The driver gives up a little after the server would, so the server's error wins.
            "command_timeout": settings.statement_timeout + 1.0,
            "server_settings": {
                "statement_timeout": str(statement_ms),
                "application_name": settings.application_name,
            },
        }
    )
    return {
        "connections": {"default": {"engine": "persistence.engine", "credentials": credentials}},
        "apps": {"models": {"models": list(MODEL_MODULES), "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


TORTOISE_ORM: Final[dict[str, Any]] = tortoise_config(PersistenceSettings())

"""Tortoise configuration: the package's app for a game's own config, and the layer's own.

A game that already runs Tortoise puts :func:`tortoise_app` next to its own apps (under
:data:`APP_LABEL`) and attaches a layer to that connection. A layer that runs Tortoise itself
builds its config with :func:`tortoise_config`, adding the game's apps when given.
``TORTOISE_ORM`` is the dict aerich loads (``aerich.ini`` names it): it is built from the
environment when read, without connecting to anything; with no ``MUD_DATABASE_URL`` it
points at a local server, so run aerich with the variable set (``MUD_MIGRATION_DATABASE_URL``
wins when set: aerich runs DDL, so it takes the direct URL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from persistence.errors import ConfigurationError
from persistence.models.app import APP_LABEL, MODELS_MODULE
from persistence.settings import PersistenceSettings
from persistence.urls import connect_arguments, database_credentials

__all__ = [
    "connect_arguments",
    "APP_LABEL",
    "DEFAULT_CONNECTION",
    "MODEL_MODULES",
    "TORTOISE_ORM",  # noqa: F822 - built on first read, see __getattr__
    "database_credentials",
    "tortoise_app",
    "tortoise_config",
    "tortoise_connection",
]

DEFAULT_CONNECTION: Final = "default"
"""Connection name of a layer that runs Tortoise itself (and of :func:`tortoise_app`)."""

MODEL_MODULES: Final = (MODELS_MODULE, "aerich.models")
LOCAL_DEFAULT_URL: Final = "postgres://postgres@127.0.0.1:5432/mud"


def tortoise_app(connection: str = DEFAULT_CONNECTION) -> dict[str, Any]:
    """The app entry to put in a game's Tortoise config under :data:`APP_LABEL`.

    It lists the package's model modules and aerich's (so aerich can record the package's
    migrations); leave ``"aerich.models"`` out of the game's own apps. Example::

        config = {
            "connections": {"default": "postgres://..."},
            "apps": {
                "game": {"models": ["game.models"], "default_connection": "default"},
                APP_LABEL: tortoise_app(),
            },
        }

    Args:
        connection: The connection name the package's models use.
    """
    return {"models": list(MODEL_MODULES), "default_connection": connection}


def _game_apps(apps: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """The game's own apps, on the layer's connection unless they name one."""
    out: dict[str, dict[str, Any]] = {}
    for label, app in (apps or {}).items():
        if label == APP_LABEL:
            raise ConfigurationError(f"the app label {APP_LABEL!r} is the package's own")
        if not isinstance(app, Mapping) or "models" not in app:
            raise ConfigurationError(f"app {label!r} must be a mapping with a 'models' list")
        out[label] = {"default_connection": DEFAULT_CONNECTION, **app}
    return out


def replica_connection(number: int) -> str:
    """The Tortoise connection name of replica ``number`` (``MUD_REPLICA_URLS`` order)."""
    return f"replica_{number}"


def connect_options(settings: PersistenceSettings) -> dict[str, Any]:
    """Options of every asyncpg connection the package opens to ``database_url``.

    Direct: the statement timeout is sent at connect, as a session setting. Through PgBouncer
    in transaction pooling nothing is (session state would stay on whichever server
    connection it reached, and 1.18 refuses unknown startup parameters), and asyncpg's
    statement cache is off (named prepared statements do not survive a change of server
    connection): the timeout is the database's own setting then, see
    :func:`persistence.schema.apply_statement_timeout`. The driver gives up a little after
    the server would, so the server's error wins.
    """
    options: dict[str, Any] = {"command_timeout": settings.statement_timeout + 1.0}
    server_settings = {"application_name": settings.application_name}
    if settings.pooler == "pgbouncer-transaction":
        options["statement_cache_size"] = 0
    else:
        server_settings["statement_timeout"] = str(statement_timeout_ms(settings))
    options["server_settings"] = server_settings
    return options


def statement_timeout_ms(settings: PersistenceSettings) -> int:
    """``MUD_STATEMENT_TIMEOUT`` in milliseconds, as PostgreSQL takes it."""
    return int(settings.statement_timeout * 1000)


def tortoise_connection(
    settings: PersistenceSettings | None = None, url: str | None = None
) -> dict[str, Any]:
    """A connection entry for a game's Tortoise config, with the package's engine and settings.

    Optional: any ``postgres://`` connection of Tortoise's asyncpg engine works for the layer.
    This one adds what ``MUD_*`` settings describe: bounded pool waits
    (``MUD_POOL_ACQUIRE_TIMEOUT``; Tortoise's own pool waits forever), the statement timeout,
    pool sizes, the cheaper pool reset, and Unix-socket URLs (``?host=/dir``).
    """
    chosen = settings or PersistenceSettings()
    return dict(tortoise_config(chosen, url)["connections"][DEFAULT_CONNECTION])


def tortoise_config(
    settings: PersistenceSettings,
    url: str | None = None,
    *,
    apps: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The Tortoise config of a layer that runs Tortoise itself, for ``url``.

    Pool sizes, the acquire timeout, the pool reset and the statement timeout (server side
    and in the driver) all come from ``settings``; ``apps`` are the game's own apps, which
    share the connection (and so the pool and the transactions).
    """
    target = url or settings.database_url or LOCAL_DEFAULT_URL
    pool: dict[str, Any] = {
        "minsize": settings.pool_min_size,
        "maxsize": settings.pool_max_size,
        "acquire_timeout": settings.pool_acquire_timeout,
        "pool_reset": settings.pool_reset,
        # Opening a connection (at start, or reconnecting after a failure) is bounded too.
        "timeout": settings.pool_acquire_timeout,
        **connect_options(settings),
    }
    connections: dict[str, Any] = {
        DEFAULT_CONNECTION: {
            "engine": "persistence.engine",
            "credentials": {**database_credentials(target), **pool},
        }
    }
    for number, replica in enumerate(settings.replica_urls):
        # A replica's address is its own URL's alone: never the primary's host list or its
        # target_session_attrs=read-write (which would send the "replica" to the primary).
        connections[replica_connection(number)] = {
            "engine": "persistence.engine",
            "credentials": {**database_credentials(replica), **pool},
        }
    return {
        "connections": connections,
        "apps": {APP_LABEL: tortoise_app(), **_game_apps(apps)},
        "use_tz": True,
        "timezone": "UTC",
    }


def __getattr__(name: str) -> Any:
    """``TORTOISE_ORM``, built when read (aerich's config names it), not at import.

    So a bad ``MUD_*`` variable fails where the config is used, with a typed error, and never
    makes ``import persistence`` fail.
    """
    if name == "TORTOISE_ORM":
        settings = PersistenceSettings()  # InvalidSettingsError names a bad MUD_* field
        return tortoise_config(settings, settings.direct_url)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

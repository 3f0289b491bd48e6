"""One settings object for the whole layer, read from ``MUD_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from persistence.errors import InvalidSettingsError
from persistence.urls import database_credentials

__all__ = ["DEFAULT_FALLBACK_ROOM_ID", "ENV_PREFIX", "PersistenceSettings"]

ENV_PREFIX = "MUD_"
DEFAULT_FALLBACK_ROOM_ID = "earth_arkhamcity_sanitarium_room_foyer_001"


def _problem(error: Any) -> str:
    """One field's problem, as pydantic words it but without the value given."""
    where = ".".join(str(part) for part in error["loc"]) or "settings"
    return f"{where}: {str(error['msg']).removeprefix('Value error, ')}"


class PersistenceSettings(BaseSettings):
    """Configuration of the persistence layer.

    Every field can be set from the environment with the ``MUD_`` prefix, e.g.
    ``MUD_DATABASE_URL=postgres://user@host:5432/mud`` or ``MUD_HEALTH_FLOOR=-10``.
    Building the object never touches a database; a value that cannot work raises
    :class:`~persistence.errors.InvalidSettingsError` (a ``ValueError``) naming the field,
    never quoting the value (a URL may hold a password). An empty variable means unset.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, env_ignore_empty=True
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except PydanticValidationError as exc:
            # Pydantic's message quotes every input value; ours names the fields only.
            problems = "; ".join(
                _problem(error) for error in exc.errors(include_url=False, include_input=False)
            )
            raise InvalidSettingsError(f"invalid settings ({ENV_PREFIX}*): {problems}") from None
        except PydanticSettingsError as exc:  # a MUD_* list that is not JSON
            raise InvalidSettingsError(f"invalid settings ({ENV_PREFIX}*): {exc}") from None

    database_url: str | None = Field(default=None, repr=False)
    """``postgres://user:password@host:port/database``. ``None`` starts an embedded,
    throwaway PostgreSQL (see :mod:`persistence.embedded`)."""
    migration_database_url: str | None = Field(default=None, repr=False)
    """A direct URL (not through a pooler) for migrations, ``CREATE DATABASE`` and the
    package's own DDL, e.g. as the tables' owner; ``None``: ``database_url``."""
    pooler: Literal["none", "pgbouncer-transaction"] = "none"
    """``pgbouncer-transaction``: ``database_url`` goes through PgBouncer in transaction
    pooling. Every connection the package opens then uses no named prepared statements and
    sets no session state at connect; the statement timeout is the database's own setting
    (``python -m persistence migrate`` sets it), which ``start()`` verifies."""
    replica_urls: tuple[str, ...] = Field(default=(), repr=False)
    """Streaming replicas for reads (JSON list in the environment); see persistence.replicas."""
    replica_wait: float = Field(default=0.05, ge=0)
    """Seconds a read waits for a replica to replay this layer's latest write before it
    goes to the primary instead."""
    replica_poll_interval: float = Field(default=0.2, gt=0)
    """Seconds between looks at the replicas' replay positions and health."""
    listen_database_url: str | None = Field(default=None, repr=False)
    """A direct URL for the LISTEN connection of room cache notifications; ``None``: the
    migration URL through a pooler, else the database URL."""
    room_notifications: bool = True
    """Room writes and reloads in one process reach every other layer's room cache on the
    database (LISTEN/NOTIFY on a dedicated connection)."""
    embedded_data_dir: Path | None = None
    """Keep the embedded cluster's files here across runs; ``None`` means a temporary folder
    deleted when the layer closes."""
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    pool_acquire_timeout: float = Field(default=5.0, gt=0)
    """Seconds a call waits for a pool connection before raising ``DatabaseUnavailableError``."""
    statement_timeout: float = Field(default=30.0, ge=0.001, le=2_147_483.647)
    """Seconds one statement may run; enforced by the server and by the driver. PostgreSQL
    takes whole milliseconds up to 2**31 - 1, and 0 would turn its timeout off: a value
    below 0.001 s (which would round to 0) or beyond that range is refused."""
    application_name: str = "mud-persistence"
    pool_reset: Literal["transaction", "full"] = "transaction"
    """What returning a connection to the layer's own pool resets: ``transaction`` rolls back
    an open transaction only (the layer sets no session state, and this saves a round trip
    per call); ``full`` also runs asyncpg's reset query (``RESET ALL``, ``UNLISTEN *``...),
    for games whose own code on the shared pool leaves session state behind."""
    health_floor: int = Field(default=0, le=0, ge=-(2**31 - 1))
    """Lowest current_health; set e.g. -10 for a "mortally wounded" state below zero."""
    fallback_room_id: str = Field(default=DEFAULT_FALLBACK_ROOM_ID, min_length=1)
    """Where validate_and_fix_player_room moves a player whose room does not exist."""
    instance_room_prefixes: tuple[str, ...] = ("instance_",)
    """Room ids starting with one of these are instances made at run time (JSON list in the
    environment, e.g. ``MUD_INSTANCE_ROOM_PREFIXES='["instance_", "tutorial_"]'``): a player
    standing in one is never "fixed" although the room is not in the room cache."""
    validate_rooms_on_read: bool = False
    """Run ``validate_and_fix_player_room`` on every player a read returns, as the upstream
    system did (off: a game calls it where it wants it, e.g. at login)."""
    xp_per_level: int = Field(default=100, ge=1)
    """Level curve: ``level = experience_points // xp_per_level + 1``."""
    level_thresholds: tuple[int, ...] = ()
    """Alternative curve: XP at which levels 2, 3, ... start (JSON list in the environment,
    e.g. ``MUD_LEVEL_THRESHOLDS='[100, 300, 600]'``); overrides ``xp_per_level``."""
    check_schema: bool = True
    """Refuse to start unless the database holds exactly the package's migrations (aerich's
    history). Turn off only for a schema made another way (``generate_schemas()`` in a test)."""
    retry_max_attempts: int = Field(default=3, ge=1)
    """Attempts in all (1 = no retry) for operations that are safe to repeat."""
    retry_base_delay: float = Field(default=0.05, ge=0)
    retry_max_delay: float = Field(default=1.0, ge=0)

    @field_validator(
        "database_url",
        "migration_database_url",
        "listen_database_url",
        "embedded_data_dir",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `MUD_DATABASE_URL=` in a shell or an .env file means "not configured".
        return None if value == "" else value

    @field_validator("database_url", "migration_database_url", "listen_database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None:
            database_credentials(value)  # raises ValueError without quoting the URL
        return value

    @field_validator("replica_urls")
    @classmethod
    def _replica_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            database_credentials(url)
        if len(set(value)) != len(value):
            raise ValueError("the same replica URL is listed twice")
        return value

    @model_validator(mode="after")
    def _check_ranges(self) -> Self:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("pool_min_size must not exceed pool_max_size")
        if list(self.level_thresholds) != sorted(self.level_thresholds) or any(
            t < 0 for t in self.level_thresholds
        ):
            raise ValueError("level_thresholds must be non-negative and ascending")
        if self.pooler != "none" and self.pool_reset == "full":
            raise ValueError(
                "pool_reset 'full' resets session state, which a transaction pooler does not "
                "keep per client: use 'transaction' with MUD_POOLER"
            )
        if any(not prefix for prefix in self.instance_room_prefixes):
            raise ValueError("instance_room_prefixes must not contain an empty prefix")
        if self.retry_base_delay > self.retry_max_delay:
            raise ValueError("retry_base_delay must not exceed retry_max_delay")
        return self

    @property
    def direct_url(self) -> str | None:
        """The URL for migrations and DDL: ``migration_database_url``, else ``database_url``."""
        return self.migration_database_url or self.database_url

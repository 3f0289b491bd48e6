"""The package's schema: its aerich migrations, applying them, and their recorded history.

aerich records every applied migration in its ``aerich`` table under the app's label. The
package's app is :data:`~persistence.config.APP_LABEL`; releases before 0.2 used ``"models"``
(Tortoise's documented label for a project's own app, which collided with games' apps), so
the first upgrade relabels that history instead of applying everything again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import os
import re
from pathlib import Path
from typing import Any, Final

import asyncpg
from tortoise.context import TortoiseContext, _current_context

from persistence.config import (
    APP_LABEL,
    DEFAULT_CONNECTION,
    connect_arguments,
    statement_timeout_ms,
    tortoise_config,
)
from persistence.errors import ConfigurationError, ValidationError, describe, guard
from persistence.models.schema import HEALTH_FLOOR_CHECK, stats_checks
from persistence.settings import PersistenceSettings

__all__ = [
    "APP_TABLES",
    "app_role_grants",
    "grant_app_role",
    "AERICH_EXISTS_SQL",
    "APPLIED_SQL",
    "FLOOR_CONSTRAINT_SQL",
    "schema_problem",
    "HEALTH_FLOOR_CHECK",
    "LEGACY_APP_LABEL",
    "apply_health_floor",
    "floor_in",
    "health_floor_of",
    "MIGRATIONS_APP",
    "migration_files",
    "migrations_location",
    "relabel_legacy_history",
    "relabel_state",
    "run_migrations",
]

MIGRATIONS_APP: Final = APP_LABEL
LEGACY_APP_LABEL: Final = "models"

_MODEL_REF: Final = re.compile(r"^models\.([A-Z]\w*)$")


def migrations_location() -> Path:
    """The folder holding aerich's migrations, in a checkout or an installed wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "migrations", here.parent / "migrations"):
        if (candidate / MIGRATIONS_APP).is_dir():
            return candidate
    raise ConfigurationError(f"aerich migrations not found next to {here}")


def migration_files() -> list[str]:
    """The package's migration file names, in the order aerich applies them."""
    folder = migrations_location() / MIGRATIONS_APP
    names = [p.name for p in folder.glob("*.py") if p.name[0].isdigit()]
    return sorted(names, key=lambda name: int(name.split("_", 1)[0]))


def relabel_state(value: Any, old: str = LEGACY_APP_LABEL, new: str = APP_LABEL) -> Any:
    """Aerich's model state with the app label ``old`` replaced by ``new``.

    The state names models ``"<label>.<Model>"`` (as keys, names and relation targets) and
    records ``"app": "<label>"``; Python paths such as ``"models.stats.PlayerStats"`` stay.
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "app" and item == old:
                out[key] = new
            else:
                out[relabel_state(key, old, new)] = relabel_state(item, old, new)
        return out
    if isinstance(value, list):
        return [relabel_state(item, old, new) for item in value]
    if isinstance(value, str) and old == LEGACY_APP_LABEL:
        match = _MODEL_REF.match(value)
        if match:
            return f"{new}.{match.group(1)}"
    return value


async def relabel_legacy_history(url: str) -> int:
    """Move the package's migration records from the legacy label to :data:`APP_LABEL`.

    Only rows naming one of the package's own migration files move, so a game's own app that
    happens to be called ``"models"`` keeps its history. Returns the number of rows moved.
    """
    files = migration_files()
    conn = await asyncpg.connect(**connect_arguments(url))
    try:
        if await conn.fetchval("SELECT to_regclass('aerich') IS NULL"):
            return 0
        async with conn.transaction():
            rows = await conn.fetch(
                "SELECT id, content::text AS content FROM aerich"
                " WHERE app = $1 AND version = ANY($2::text[])",
                LEGACY_APP_LABEL,
                files,
            )
            for row in rows:
                content = relabel_state(json.loads(row["content"]))
                await conn.execute(
                    "UPDATE aerich SET app = $2, content = $3::jsonb WHERE id = $1",
                    row["id"],
                    APP_LABEL,
                    json.dumps(content),
                )
        return len(rows)
    finally:
        await conn.close()


FLOOR_CONSTRAINT_SQL: Final = (
    "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE conname = $1 AND conrelid = to_regclass('players')"
)


# How PostgreSQL prints the floor in that CHECK: ">= (0)::numeric", ">= ('-10'::integer)::numeric".
_FLOOR_IN_DEFINITION: Final = (
    re.compile(r'\$\."?current_health"? >= (-?\d+)'),  # the jsonpath form (migration 4)
    re.compile(r">= \('?(-?\d+)'?(?:::integer)?\)::numeric"),  # the SQL form (migration 3)
)


def floor_in(definition: str) -> int | None:
    """The health floor a stored ``players_stats_current_health_valid`` CHECK enforces."""
    for pattern in _FLOOR_IN_DEFINITION:
        match = pattern.search(definition)
        if match:
            return int(match.group(1))
    return None


async def health_floor_of(conn: asyncpg.Connection) -> int | None:
    """The health floor the database enforces (``None``: no floor CHECK, an older schema)."""
    stored = await conn.fetchval(FLOOR_CONSTRAINT_SQL, HEALTH_FLOOR_CHECK)
    return None if stored is None else floor_in(stored)


async def apply_health_floor(url: str, floor: int) -> bool:
    """Make the database's current_health CHECK use ``floor``; returns whether it changed.

    The CHECK is replaced NOT VALID, then validated; when existing rows are below a raised
    floor it stays NOT VALID (it checks every new write) and the audit lists them.
    """
    conn = await asyncpg.connect(**connect_arguments(url))
    try:
        current = await health_floor_of(conn)
        if current is None or current == floor:
            return False
        condition = stats_checks(floor)[HEALTH_FLOOR_CHECK][1]
        async with conn.transaction():
            # Registry-generated condition and an int: no caller text reaches this DDL.
            drop = (
                f'ALTER TABLE players DROP CONSTRAINT "{HEALTH_FLOOR_CHECK}"'  # safe-sql: constant
            )
            await conn.execute(drop)
            add = (  # safe-sql: a constant name, a condition built from the registry and an int
                f'ALTER TABLE players ADD CONSTRAINT "{HEALTH_FLOOR_CHECK}"'
                f" CHECK ({condition}) NOT VALID"
            )
            await conn.execute(add)
        validate = (
            f'ALTER TABLE players VALIDATE CONSTRAINT "{HEALTH_FLOOR_CHECK}"'  # safe-sql: constant
        )
        with contextlib.suppress(asyncpg.CheckViolationError):
            # Old rows below a raised floor: kept; the constraint checks new writes.
            await conn.execute(validate)
        return True
    finally:
        await conn.close()


APPLIED_SQL: Final = "SELECT version, app FROM aerich WHERE app = ANY($1::text[])"
"""The package's migration history (only run after checking the aerich table exists)."""

AERICH_EXISTS_SQL: Final = "SELECT to_regclass('aerich') IS NOT NULL AS present"


def schema_problem(where: str, applied: list[tuple[str, str]]) -> str | None:
    """What is wrong with the package's schema in the database, or ``None``.

    Rows under the legacy label count only when they name one of the package's own files:
    ``models`` is also the label Tortoise's docs give a game's own app, whose aerich history
    (``0_<ts>_init.py``...) is the game's, not ours (``migrate`` leaves it there too).

    Args:
        where: The database, for the message (host:port/name).
        applied: ``(version, app)`` rows of the aerich table for the package's labels.
    """
    expected = migration_files()
    mine = [version for version, app in applied if app == APP_LABEL]
    legacy = [
        version for version, app in applied if app == LEGACY_APP_LABEL and version in expected
    ]
    migrate = (
        "run `python -m persistence migrate` with MUD_DATABASE_URL pointing at it "
        "(or aerich with the config `python -m persistence aerich-config` writes)"
    )
    unknown = sorted(set(mine) - set(expected))
    if unknown:
        return (
            f"the database {where} has mud-persistence migrations this package does not know: "
            f"{', '.join(unknown)} (a newer mud-persistence migrated it; this one expects up to "
            f"{expected[-1]}): install that version of mud-persistence or newer"
        )
    done = set(mine) | set(legacy)
    missing = [version for version in expected if version not in done]
    if not done:
        return (
            f"the database {where} has no mud-persistence schema (none of its {len(expected)} "
            f"migrations is applied; expected up to {expected[-1]}): {migrate}"
        )
    if missing or legacy:
        last = max(done, key=lambda name: int(name.split("_", 1)[0]))
        return (
            f"the database {where} is at mud-persistence migration {last} "
            f"({len(done)} of {len(expected)} applied); this package expects {expected[-1]}: "
            f"{migrate}"
        )
    return None


async def apply_statement_timeout(url: str, settings: PersistenceSettings) -> None:
    """Make ``MUD_STATEMENT_TIMEOUT`` the database's own default (for pooler mode).

    Through a transaction pooler no session setting can be sent at connect, so the server
    enforces the timeout from the database's default instead; the pooler's server
    connections opened from now on get it, and ``start()`` checks it.
    """
    conn = await asyncpg.connect(**connect_arguments(url))
    try:
        name = await conn.fetchval("SELECT quote_ident(current_database())")
        ms = statement_timeout_ms(settings)
        # The database's own name, quoted by the server, and an int: no caller text.
        await conn.execute(
            f"ALTER DATABASE {name} SET statement_timeout = {ms}"
        )  # safe-sql: quoted name, int
    finally:
        await conn.close()


APP_TABLES: Final = (
    "players",
    "professions",
    "rooms",
    "containers",
    "item_prototypes",
    "item_instances",
    "item_movements",
    "applied_operations",
    "event_outbox",
    "event_consumers",
    "event_deliveries",
)
"""The tables a running layer reads and writes (``aerich`` it only reads, at start)."""

_ROLE: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_NOT_A_ROLE: Final = frozenset({"public", "current_user", "current_role", "session_user", "none"})
"""Names GRANT reads as every role or as whoever runs it, not as one role."""


def app_role_grants(role: str) -> list[str]:
    """The statements that let ``role`` run the layer and nothing more (least privilege).

    Read and write on the package's tables, read on aerich's history (the schema check at
    start), the sequences the tables use, and the same on tables later migrations add
    (default privileges of the role that runs them). No DDL, no ownership.

    Raises:
        ValidationError: ``role`` is not a plain lower-case identifier, or is a name that
            stands for more than one role (``public``) or for the caller (``current_user``),
            or a built-in ``pg_`` role.
    """
    if not isinstance(role, str) or not _ROLE.fullmatch(role):
        raise ValidationError(f"role must be a lower-case identifier, got {describe(role)}")
    if role in _NOT_A_ROLE or role.startswith("pg_"):
        raise ValidationError(
            f"{role!r} is not one game-server role: name the role the game server logs in as"
        )
    tables = ", ".join(APP_TABLES)
    # The role is checked above (and quoted: a role may be named like a keyword, "user");
    # the table names are constants.
    who = f'"{role}"'
    access = "SELECT, INSERT, UPDATE, DELETE"
    defaults = "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT"
    return [
        f"GRANT USAGE ON SCHEMA public TO {who}",  # safe-sql: checked role
        f"GRANT {access} ON {tables} TO {who}",  # safe-sql: constants, checked role
        f"GRANT SELECT ON aerich TO {who}",  # safe-sql: checked role
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}",  # safe-sql: role
        f"{defaults} {access} ON TABLES TO {who}",  # safe-sql: constants, checked role
        f"{defaults} USAGE, SELECT ON SEQUENCES TO {who}",  # safe-sql: checked role
    ]


async def grant_app_role(url: str, role: str) -> None:
    """Run :func:`app_role_grants` on the database at ``url`` (as the tables' owner).

    Raises:
        ValidationError: See :func:`app_role_grants`; nothing is sent.
        ConfigurationError: The role does not exist (create it first).
        DatabaseUnavailableError: The database cannot be reached.
        PersistenceError: The grants failed (e.g. not run as the tables' owner); none applied.
    """
    statements = app_role_grants(role)
    async with guard():
        conn = await asyncpg.connect(**connect_arguments(url), timeout=10)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                raise ConfigurationError(  # safe-sql: a message, never run
                    f"role {role!r} does not exist: create it first "
                    f"(CREATE ROLE \"{role}\" LOGIN PASSWORD '...'), then grant"
                )
            async with conn.transaction():
                for statement in statements:
                    await conn.execute(statement)  # safe-sql: a checked identifier, constants
        finally:
            await conn.close()


STATEMENT_TIMEOUT_SQL: Final = (
    "SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout'"
)
"""The statement timeout a connection runs with, in milliseconds (0: none)."""


async def run_migrations(url: str, settings: PersistenceSettings | None = None) -> list[str]:
    """Apply every pending aerich migration of the package to the database at ``url``.

    aerich initialises Tortoise and closes its connections when done, so it runs in a task
    with a Tortoise context of its own: the caller's Tortoise state is not touched.

    Then the health floor CHECK is set to ``settings.health_floor`` (``MUD_HEALTH_FLOOR``).

    Returns:
        The names of the migration files applied (empty when the schema was current).

    Raises:
        ConfigurationError: ``url`` is ``settings.database_url``, which ``settings.pooler``
            says goes through a transaction pooler, and no ``MUD_MIGRATION_DATABASE_URL`` is
            set: migrations need a direct connection (their session settings and asyncpg's
            statement cache do not survive a transaction pooler); nothing is run.
    """
    from aerich import Command

    chosen = settings or PersistenceSettings()
    if chosen.pooler != "none" and not chosen.migration_database_url and url == chosen.database_url:
        raise ConfigurationError(
            f"MUD_POOLER={chosen.pooler}: the migrations would run through MUD_DATABASE_URL, "
            "which goes through the transaction pooler; they need a direct connection: set "
            "MUD_MIGRATION_DATABASE_URL to the database's direct URL (nothing was migrated)"
        )
    config = tortoise_config(chosen, url)
    config["connections"][DEFAULT_CONNECTION]["credentials"].update(minsize=1, maxsize=2)
    location = migrations_location()

    async def _upgrade() -> list[str]:
        os.environ.setdefault("AERICH_NO_TORTOISE_V1_WARNING", "1")
        # aerich initialises and closes "the current" Tortoise: give it one of its own, or
        # Tortoise's global fallback (a layer's, or the game's) is what it would close.
        own = TortoiseContext()
        _current_context.set(own)
        try:
            await relabel_legacy_history(url)
            async with Command(
                tortoise_config=config, app=MIGRATIONS_APP, location=str(location)
            ) as command:
                applied: list[str] = await command.upgrade(run_in_transaction=True)
        finally:
            await own.close_connections()
        await apply_health_floor(url, chosen.health_floor)
        if chosen.pooler != "none":
            await apply_statement_timeout(url, chosen)
        return applied

    task = asyncio.get_running_loop().create_task(_upgrade(), context=contextvars.Context())
    async with guard():
        return await task

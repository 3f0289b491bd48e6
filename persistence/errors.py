"""The package's one error hierarchy, and the one place driver errors are translated.

Every error a repository raises is a :class:`PersistenceError`. Errors from asyncpg and
Tortoise are translated by :func:`translate` (by SQLSTATE, looking through the exception chain,
because Tortoise wraps asyncpg errors) and always chained with ``raise ... from exc``, so the
original stays visible in tracebacks. Input that is wrong before any SQL runs raises a
:class:`ValidationError`, which is also a :class:`ValueError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, Final

import asyncpg
from tortoise import exceptions as tortoise_exc

__all__ = [
    "PersistenceError",
    "ConfigurationError",
    "InvalidSettingsError",
    "EmbeddedDatabaseUnavailableError",
    "SchemaMismatchError",
    "ValidationError",
    "InvalidFieldError",
    "InvalidAmountError",
    "NoExitError",
    "NotFoundError",
    "PlayerDeletedError",
    "PlayerSoftDeletedError",
    "CorruptRowError",
    "IntegrityError",
    "DuplicateError",
    "ForeignKeyError",
    "ConstraintViolationError",
    "ConflictError",
    "StaleDataError",
    "TransientConflictError",
    "ItemNotOwnedError",
    "ContainerFullError",
    "ContainerLockedError",
    "ContainerOverweightError",
    "RoomInUseError",
    "OperationReusedError",
    "DatabaseUnavailableError",
    "PoolExhaustedError",
    "OperationTimeoutError",
    "DataError",
    "TransactionAbortedError",
    "TransactionClosedError",
    "from_database",
    "guard",
    "translate",
]


class PersistenceError(Exception):
    """Raised for every failure of the persistence layer; catch this to catch them all.

    Attributes:
        transient: Trying the same operation again may succeed (connection lost, deadlock).
        not_applied: The database certainly did not apply the operation (it never reached the
            server, or the server rolled it back), so even a non-idempotent call may be retried.
    """

    transient: bool = False
    not_applied: bool = False


class ConfigurationError(PersistenceError):
    """Raised when settings or the world data cannot work (e.g. the fallback room is missing)."""


class InvalidSettingsError(ConfigurationError, ValueError):
    """Raised when ``PersistenceSettings`` (or a ``MUD_*`` variable) holds a value that cannot work.

    The message names each field and what is wrong with it, never the value given: a
    database URL may hold a password.
    """


class EmbeddedDatabaseUnavailableError(ConfigurationError):
    """Raised when no database URL is set and the embedded PostgreSQL cannot run here."""


class SchemaMismatchError(ConfigurationError):
    """Raised by ``start()`` when the database's schema is not the package's migrations.

    Missing, older or newer: the message says what is there, what is expected, and the
    command to run.
    """


class ValidationError(PersistenceError, ValueError):
    """Raised for bad input, before any SQL runs; the database is left as it was."""

    not_applied = True


class InvalidFieldError(ValidationError):
    """Raised when a stat field name is not in the whitelist derived from the registry."""


class InvalidAmountError(ValidationError):
    """Raised when an amount is negative, not an integer, or out of range."""


class NoExitError(ValidationError):
    """Raised when a move names an exit the player's room does not have; nothing moved.

    Attributes:
        room_id: The room the player stands in.
        direction: The exit asked for.
        exits: The exits the room has (empty if the room is not in the room cache).
    """

    def __init__(self, room_id: str, direction: str, exits: tuple[str, ...]) -> None:
        where = f"exits: {', '.join(exits)}" if exits else "no known exits"
        super().__init__(f"room {room_id!r} has no exit {direction!r} ({where})")
        self.room_id = room_id
        self.direction = direction
        self.exits = exits


class NotFoundError(PersistenceError, LookupError):
    """Raised when a ``require_*`` lookup or an update names a row that does not exist.

    Attributes:
        entity: What was looked for (``"player"``, ``"container"``...).
        key: The id that was not found.
    """

    def __init__(self, entity: str, key: object) -> None:
        super().__init__(f"{entity} {key} not found")
        self.entity = entity
        self.key = key


class PlayerDeletedError(NotFoundError):
    """Raised when saving a player whose row was deleted since it was loaded; nothing written.

    A save never brings a deleted player back: ``PlayerRepository.recreate_player`` does, on
    purpose.
    """

    def __init__(self, player_id: object) -> None:
        super().__init__("player", player_id)
        self.args = (
            f"player {player_id} was deleted after this copy was loaded; nothing was written "
            "(recreate_player() brings it back on purpose)",
        )


class PlayerSoftDeletedError(NotFoundError):
    """Raised by a delta, save or move of a soft-deleted character; nothing was written.

    The row is still there (``is_deleted``): ``restore_player`` brings the character back.
    """

    def __init__(self, player_id: object) -> None:
        super().__init__("player", player_id)
        self.args = (
            f"player {player_id} is soft-deleted; nothing was written "
            "(restore_player() brings it back)",
        )


class CorruptRowError(PersistenceError):
    """Raised when a stored row breaks the schema (e.g. a stats document a tool wrote by hand).

    Single-row reads raise it; multi-row reads skip such rows and report each one (a warning
    log line and a ``PlayerRowCorrupt`` event), so one bad row never hides the good ones.

    Attributes:
        entity: The kind of row (``"player"``).
        key: Its id.
        fields: The offending fields (``"strength"``, or ``"stats"`` for the whole document).
    """

    def __init__(self, entity: str, key: object, fields: tuple[str, ...], detail: str) -> None:
        super().__init__(
            f"{entity} {key} is stored corrupt ({', '.join(fields)}): {detail}; "
            "fix the row (python -m persistence audit lists every such row)"
        )
        self.entity = entity
        self.key = key
        self.fields = fields


class IntegrityError(PersistenceError):
    """Raised when the database refuses a write that breaks one of its constraints.

    Attributes:
        constraint: The constraint's name as PostgreSQL reports it, when known.
    """

    not_applied = True

    def __init__(self, message: str, *, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class DuplicateError(IntegrityError):
    """Raised on a unique violation, e.g. a second player whose name differs only in case."""


class ForeignKeyError(IntegrityError):
    """Raised when a row refers to a missing row, or a row still referred to is deleted."""


class ConstraintViolationError(IntegrityError):
    """Raised when a CHECK or NOT NULL constraint refuses a value."""


class ConflictError(PersistenceError):
    """Raised when a write lost a race with another writer; nothing was written."""

    not_applied = True


class StaleDataError(ConflictError):
    """Raised by a save when a field the caller changed was changed in the DB meanwhile.

    Attributes:
        fields: The conflicting columns and stat keys (``"stats.current_health"``).
    """

    def __init__(self, message: str, *, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fields = fields


class ItemNotOwnedError(ConflictError):
    """Raised when an item to move is no longer owned by the expected owner; nothing moved.

    Attributes:
        item_instance_id: The item.
        actual_owner: ``(owner_type, owner_id)`` it has now.
    """

    def __init__(self, item_instance_id: str, actual_owner: tuple[str, str]) -> None:
        super().__init__(
            f"item {item_instance_id} is owned by {actual_owner[0]} {actual_owner[1]}, "
            "not by the expected owner"
        )
        self.item_instance_id = item_instance_id
        self.actual_owner = actual_owner


class ContainerFullError(ConflictError):
    """Raised when a container has no free slot for the items; nothing moved."""


class ContainerOverweightError(ConflictError):
    """Raised when items would take a container past its ``weight_limit``; nothing moved.

    Weights are the items' prototypes' ``weight`` times their ``quantity``.

    Attributes:
        container_id: The container.
        weight_limit: Its limit.
        weight: What it holds now.
        incoming: What would have been added.
    """

    def __init__(self, container_id: object, weight_limit: int, weight: int, incoming: int) -> None:
        super().__init__(
            f"container {container_id} holds weight {weight} of {weight_limit}; "
            f"{incoming} more does not fit"
        )
        self.container_id = container_id
        self.weight_limit = weight_limit
        self.weight = weight
        self.incoming = incoming


class RoomInUseError(ConflictError):
    """Raised by ``delete_room`` while something is in the room or leads to it; nothing deleted.

    Attributes:
        room_id: The room.
        holders: What keeps it: ``"3 players"``, ``"1 containers"``, ``"2 items"``, and the
            rooms whose exits lead to it (``"exit of room_x"``).
    """

    def __init__(self, room_id: str, holders: tuple[str, ...]) -> None:
        super().__init__(f"room {room_id} is in use ({', '.join(holders)}); nothing was deleted")
        self.room_id = room_id
        self.holders = holders


class ContainerLockedError(ConflictError):
    """Raised when items would enter or leave a locked or sealed container; nothing moved."""


class OperationReusedError(ConflictError):
    """Raised when an op_id already recorded for a different request is used again."""


class TransientConflictError(ConflictError):
    """Raised on a serialization failure (40001) or deadlock (40P01); safe to retry."""

    transient = True


class DatabaseUnavailableError(PersistenceError, ConnectionError):
    """Raised when the database cannot be reached or the connection died mid-call.

    ``not_applied`` is true only when the call certainly never reached the server.
    """

    transient = True

    def __init__(self, message: str, *, not_applied: bool = False) -> None:
        super().__init__(message)
        self.not_applied = not_applied


class PoolExhaustedError(DatabaseUnavailableError, TimeoutError):
    """Raised when no pool connection became free within ``pool_acquire_timeout``."""

    def __init__(self, message: str) -> None:
        super().__init__(message, not_applied=True)


class OperationTimeoutError(PersistenceError, TimeoutError):
    """Raised when a statement ran past ``statement_timeout`` and was cancelled."""

    not_applied = True


class DataError(PersistenceError, ValueError):
    """Raised when the database refuses a value's form (bad text for a uuid, overflow...)."""

    not_applied = True


class TransactionAbortedError(PersistenceError):
    """Raised when leaving a transaction in which a statement failed: nothing was committed.

    PostgreSQL rolls back a whole transaction once a statement fails in it (a repository call
    runs in its own savepoint, so only a failure of other code does this). Leaving such a
    block would otherwise look like a commit.
    """

    not_applied = True


class TransactionClosedError(PersistenceError):
    """Raised when a call runs in a transaction that was already committed or rolled back.

    A task started inside a transaction block inherits it; when the block ends first, the
    task's later calls are refused before any SQL (and a call still in flight when the block
    ends is rolled back and refused), so nothing runs on a connection the block gave back.
    """

    not_applied = True


_CONNECTION_ERRORS: Final = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    tortoise_exc.DBConnectionError,
    ConnectionError,
    OSError,
)

# SQLSTATE classes and codes: https://www.postgresql.org/docs/15/errcodes-appendix.html
_UNAVAILABLE_STATES: Final = {"57P01", "57P02", "57P03", "53300"}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if current.__cause__ is not None:
            todo.append(current.__cause__)
        elif current.__context__ is not None and not current.__suppress_context__:
            todo.append(current.__context__)  # ``raise ... from None`` cuts the chain
        todo.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))


def from_database(exc: BaseException) -> bool:
    """Whether ``exc`` (or its chain) is a database driver's or ORM's error, or the package's.

    A game's own ``OSError`` (a file, a socket to a client) or ``TimeoutError`` is not one:
    :func:`translate` would read it as a lost connection, since the layer only sees such
    errors from its driver.
    """
    kinds = (
        PersistenceError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        tortoise_exc.BaseORMException,
    )
    return any(isinstance(item, kinds) for item in _chain(exc))


def _sqlstate_error(exc: BaseException) -> asyncpg.PostgresError | None:
    for item in _chain(exc):
        if isinstance(item, asyncpg.PostgresError) and getattr(item, "sqlstate", None):
            return item
    return None


def translate(exc: BaseException) -> PersistenceError:
    """Map a driver or ORM exception to the package's error (the caller chains it).

    The exception chain is searched, so a Tortoise error wrapping an asyncpg error is mapped by
    the asyncpg error's SQLSTATE. A :class:`PersistenceError` is returned as it is.
    """
    for item in _chain(exc):
        if isinstance(item, PersistenceError):
            return item
    pg = _sqlstate_error(exc)
    if pg is not None:
        return _from_sqlstate(pg)
    for item in _chain(exc):
        if isinstance(item, tortoise_exc.DoesNotExist):
            return NotFoundError("row", str(item))
        if isinstance(item, _CONNECTION_ERRORS):
            return DatabaseUnavailableError(
                f"database connection failed: {type(item).__name__}: {item}",
                not_applied=isinstance(item, ConnectionRefusedError),
            )
        if isinstance(item, (TimeoutError, asyncio.TimeoutError)):
            return OperationTimeoutError(f"database call timed out: {item}")
    return PersistenceError(f"unexpected database error: {type(exc).__name__}: {exc}")


def _from_sqlstate(pg: asyncpg.PostgresError) -> PersistenceError:
    state: str = pg.sqlstate
    constraint = getattr(pg, "constraint_name", None)
    detail = getattr(pg, "detail", None)
    message = f"{pg.__class__.__name__} [{state}]: {pg}" + (f" ({detail})" if detail else "")
    if state == "23505":
        return DuplicateError(message, constraint=constraint)
    if state == "23503":
        return ForeignKeyError(message, constraint=constraint)
    if state in {"23514", "23502"}:
        return ConstraintViolationError(message, constraint=constraint)
    if state.startswith("23"):
        return IntegrityError(message, constraint=constraint)
    if state in {"40001", "40P01"}:
        return TransientConflictError(message)
    if state == "25P02":
        return TransactionAbortedError(message)
    if state == "57014":
        return OperationTimeoutError(message)
    if state.startswith("08") or state in _UNAVAILABLE_STATES:
        return DatabaseUnavailableError(message)
    if state.startswith("28") or state == "3D000":  # no such role, wrong password, no database
        return ConfigurationError(
            f"cannot log in to the database as configured ({message}): check the URL's user, "
            "password and database name"
        )
    if state.startswith("22"):
        return DataError(message)
    return PersistenceError(message)


@asynccontextmanager
async def guard() -> AsyncIterator[None]:
    """Translate anything raised inside into a :class:`PersistenceError`, chained.

    Repositories run every database call inside this block, so no raw asyncpg or Tortoise
    exception escapes them.
    """
    try:
        yield
    except PersistenceError:
        raise
    except (asyncio.CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except Exception as exc:
        raise translate(exc) from exc


def describe(value: Any) -> str:
    """A short, safe rendering of a value for error messages (long strings are cut)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

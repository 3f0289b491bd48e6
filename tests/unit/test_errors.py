"""Driver and ORM errors map to the package's errors by SQLSTATE, through wrapping."""

from __future__ import annotations

import asyncpg
import pytest
from tortoise import exceptions as tortoise_exc

from persistence import errors
from persistence.errors import guard, translate


def _pg(cls: type[asyncpg.PostgresError], **attrs: str) -> asyncpg.PostgresError:
    exc = cls("boom")
    for key, value in attrs.items():
        setattr(exc, key, value)
    return exc


@pytest.mark.parametrize(
    ("driver_error", "expected"),
    [
        (asyncpg.UniqueViolationError, errors.DuplicateError),
        (asyncpg.ForeignKeyViolationError, errors.ForeignKeyError),
        (asyncpg.CheckViolationError, errors.ConstraintViolationError),
        (asyncpg.NotNullViolationError, errors.ConstraintViolationError),
        (asyncpg.SerializationError, errors.TransientConflictError),
        (asyncpg.DeadlockDetectedError, errors.TransientConflictError),
        (asyncpg.QueryCanceledError, errors.OperationTimeoutError),
        (asyncpg.AdminShutdownError, errors.DatabaseUnavailableError),
        (asyncpg.CannotConnectNowError, errors.DatabaseUnavailableError),
        (asyncpg.InvalidTextRepresentationError, errors.DataError),
        (asyncpg.NumericValueOutOfRangeError, errors.DataError),
        (asyncpg.UndefinedTableError, errors.PersistenceError),
        # Logging in cannot work until the configuration changes: never retried.
        (asyncpg.InvalidPasswordError, errors.ConfigurationError),
        (asyncpg.InvalidAuthorizationSpecificationError, errors.ConfigurationError),
        (asyncpg.InvalidCatalogNameError, errors.ConfigurationError),
    ],
)
def test_sqlstate_mapping(
    driver_error: type[asyncpg.PostgresError], expected: type[Exception]
) -> None:
    error = translate(_pg(driver_error))
    assert type(error) is expected


def test_tortoise_wrapping_is_seen_through() -> None:
    driver = _pg(asyncpg.UniqueViolationError, constraint_name="players_name_lower_key")
    try:
        try:
            raise driver
        except asyncpg.UniqueViolationError as exc:
            raise tortoise_exc.IntegrityError(exc) from None
    except tortoise_exc.IntegrityError as wrapped:
        error = translate(wrapped)
    assert isinstance(error, errors.DuplicateError)
    assert error.constraint == "players_name_lower_key"


@pytest.mark.parametrize(
    "driver_error",
    [
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        tortoise_exc.DBConnectionError("down"),
        ConnectionResetError("reset"),
    ],
)
def test_connection_errors_are_unavailable_and_transient(driver_error: Exception) -> None:
    error = translate(driver_error)
    assert isinstance(error, errors.DatabaseUnavailableError)
    assert error.transient


def test_refused_connection_was_certainly_not_applied() -> None:
    assert translate(ConnectionRefusedError()).not_applied
    assert not translate(asyncpg.ConnectionDoesNotExistError("x")).not_applied


def test_package_errors_pass_through_unchanged() -> None:
    original = errors.NotFoundError("player", "x")
    assert translate(RuntimeError("outer")) is not original
    wrapped = RuntimeError("outer")
    wrapped.__cause__ = original
    assert translate(wrapped) is original


async def test_guard_chains_the_original() -> None:
    driver = _pg(asyncpg.ForeignKeyViolationError)
    with pytest.raises(errors.ForeignKeyError) as info:
        async with guard():
            raise driver
    assert info.value.__cause__ is driver


async def test_guard_leaves_cancellation_alone() -> None:
    import asyncio

    with pytest.raises(asyncio.CancelledError):
        async with guard():
            raise asyncio.CancelledError


def test_validation_errors_are_value_errors() -> None:
    assert issubclass(errors.ValidationError, ValueError)
    assert issubclass(errors.InvalidFieldError, ValueError)
    assert issubclass(errors.InvalidAmountError, ValueError)
    assert issubclass(errors.StaleDataError, errors.ConflictError)
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type):
            assert issubclass(value, errors.PersistenceError), name

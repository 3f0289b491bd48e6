"""Checks of caller input that run before any SQL, shared by every repository."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from persistence.errors import ValidationError, describe

__all__ = ["as_uuid", "check_mapping", "check_sequence", "check_text"]


def check_text(value: object, what: str, *, max_length: int, allow_empty: bool = False) -> str:
    """Accept a string the database can store: not empty, not too long, UTF-8, no NUL.

    Raises:
        ValidationError: Before any SQL, for anything else (including lone surrogates and
            NUL characters, which PostgreSQL text cannot hold).
    """
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a string, got {describe(value)}")
    if (not value and not allow_empty) or len(value) > max_length:
        raise ValidationError(f"{what} must be 1-{max_length} characters, got {describe(value)}")
    if "\x00" in value:
        raise ValidationError(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{what} is not valid Unicode text: {exc.reason}") from exc
    return value


def as_uuid(value: object, what: str = "id") -> uuid.UUID:
    """Accept a UUID or its text; anything else is a :class:`ValidationError` before SQL."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValidationError(f"{what} must be a UUID, got {describe(value)}")


def check_mapping(value: object, what: str) -> Mapping[Any, Any]:
    """A ``{key: value}`` argument must be a mapping."""
    if not isinstance(value, Mapping):
        raise ValidationError(f"{what} must be a mapping, got {describe(value)}")
    return value


def check_sequence(value: object, what: str) -> Sequence[Any]:
    """A list argument must be a list or tuple (a string is not a list of ids)."""
    if not isinstance(value, (list, tuple)):
        raise ValidationError(f"{what} must be a list or tuple, got {describe(value)}")
    return value

"""Checks of caller input that run before any SQL, shared by every repository."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from persistence.errors import ValidationError, describe

__all__ = [
    "MAX_JSON_DEPTH",
    "as_uuid",
    "check_json",
    "check_mapping",
    "check_sequence",
    "check_text",
]

MAX_JSON_DEPTH = 32
"""Deepest nesting accepted in a JSON document a caller stores (metadata, stats values).

Deeper documents are refused before they reach ``json.dumps`` (which recurses), pydantic or
PostgreSQL; no game data needs more."""


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


MAX_REASON_LENGTH: Final = 1000
"""Longest reason, source or damage type an event and an op_id record carry."""


def check_reason(value: object, what: str = "reason") -> str:
    """A reason, source or damage type: text the database can store, empty allowed."""
    return check_text(value, what, max_length=MAX_REASON_LENGTH, allow_empty=True)


def check_json(value: object, what: str, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Accept only what PostgreSQL's ``jsonb`` stores as the JSON it was given.

    That is dicts with text keys, lists, text, finite numbers, booleans and ``None``, nested at
    most ``max_depth`` deep. The value is walked without recursion, so a hostile document
    cannot exhaust the stack.

    Raises:
        ValidationError: Before any SQL, naming the path of the first bad value.
    """
    pending: list[tuple[object, int, str]] = [(value, 0, what)]
    while pending:
        item, depth, path = pending.pop()
        if depth > max_depth:
            raise ValidationError(f"{what} is nested deeper than {max_depth} levels")
        if item is None or isinstance(item, (bool, int)):
            continue
        if isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise ValidationError(f"{path} is not a finite number: {item!r}")
            continue
        if isinstance(item, str):
            _storable(item, path)
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise ValidationError(f"{path} has a key that is not text: {describe(key)}")
                _storable(key, path)
                pending.append((child, depth + 1, f"{path}.{key}"))
        elif isinstance(item, (list, tuple)):
            pending.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(item))
        else:
            raise ValidationError(f"{path} is not JSON: {describe(item)}")


def _storable(text: str, path: str) -> None:
    if "\x00" in text:
        raise ValidationError(f"{path} contains a NUL character (jsonb cannot store it)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{path} is not valid Unicode text: {exc.reason}") from exc


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

"""Checks of caller input that run before any SQL, shared by every repository."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from persistence.errors import ValidationError, describe
from persistence.models.player import Player

__all__ = [
    "MAX_JSON_DEPTH",
    "as_uuid",
    "check_datetime",
    "check_json",
    "check_mapping",
    "check_sequence",
    "check_text",
    "player_id_of",
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


MAX_JSON_INT_BITS: Final = 3321
"""Largest integer a JSON document may hold, in bits (about 1,000 decimal digits): Python
refuses to write an int of more than 4,300 digits as text, and no game value needs more."""


def check_datetime(value: object, what: str) -> datetime:
    """A point in time the database can store: a datetime (naive means UTC), as UTC.

    Raises:
        ValidationError: Not a datetime, or one whose UTC time falls outside years 1-9999
            (``datetime.max`` in a zone west of UTC), before any SQL.
    """
    if not isinstance(value, datetime):
        raise ValidationError(f"{what} must be a datetime, got {describe(value)}")
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValidationError(f"{what} is beyond the calendar in UTC: {value!r}") from exc


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
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, int):
            if item.bit_length() > MAX_JSON_INT_BITS:
                raise ValidationError(f"{path} is an integer of more than about 1,000 digits")
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


def player_id_of(player: object) -> uuid.UUID:
    """The id of the Player a call was given; anything else is a :class:`ValidationError`."""
    if not isinstance(player, Player):
        raise ValidationError(f"expected a Player, got {describe(player)}")
    return as_uuid(player.player_id, "player_id")


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

"""Idempotency keys: an operation with an ``op_id`` takes effect at most once.

The key is claimed (``INSERT ... ON CONFLICT DO NOTHING``) as the first statement of the
operation's transaction and its outcome recorded in the same transaction. A repeat finds the
key and gets the recorded outcome back without applying anything. A concurrent repeat waits
on the key's unique index entry until the first transaction ends, so the two never both
apply. This is what makes retrying after an unknown outcome safe (the connection died after
the statement was sent): the retry either replays the committed outcome or, if the first
attempt rolled back, applies the operation now.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Final

from persistence.db import TransactionConnection
from persistence.errors import OperationReusedError, ValidationError
from persistence.validation import check_text

__all__ = ["check_op_id", "claim", "record"]

_CLAIM: Final = """
INSERT INTO applied_operations (op_id, kind, request) VALUES ($1, $2, $3::jsonb)
ON CONFLICT (op_id) DO NOTHING RETURNING op_id
"""
_RECORDED: Final = "SELECT kind, request, result FROM applied_operations WHERE op_id = $1"
_RECORD: Final = "UPDATE applied_operations SET result = $2::jsonb WHERE op_id = $1"
PURGE_SQL: Final = (
    "DELETE FROM applied_operations WHERE created_at < now() - $1::interval RETURNING op_id"
)


def check_op_id(value: object) -> str | None:
    """An op_id is ``None`` or a string of 1-128 characters."""
    if value is None:
        return None
    return check_text(value, "op_id", max_length=128)


async def claim(
    conn: TransactionConnection, op_id: str, kind: str, request: dict[str, Any]
) -> dict[str, Any] | None:
    """Take ``op_id`` inside the caller's transaction, or return its recorded outcome.

    Raises:
        OperationReusedError: The op_id was recorded for a different operation or request.
    """
    claimed = await conn.fetch(_CLAIM, [op_id, kind, json.dumps(request, default=str)])
    if claimed:
        return None
    recorded = (await conn.fetch(_RECORDED, [op_id]))[0]
    stored = _json(recorded["request"])
    if recorded["kind"] != kind or stored != json.loads(json.dumps(request, default=str)):
        raise OperationReusedError(
            f"op_id {op_id!r} was already used for a different {recorded['kind']}"
        )
    result: dict[str, Any] = _json(recorded["result"])
    return result


async def record(conn: TransactionConnection, op_id: str, result: dict[str, Any]) -> None:
    """Store the outcome of ``op_id`` in the caller's transaction."""
    await conn.fetch(_RECORD, [op_id, json.dumps(result, default=str)])


def retention(older_than: timedelta) -> timedelta:
    """Check a purge age."""
    if not isinstance(older_than, timedelta) or older_than < timedelta(0):
        raise ValidationError("older_than must be a non-negative timedelta")
    return older_than


def _json(value: object) -> Any:
    return json.loads(value) if isinstance(value, str) else value

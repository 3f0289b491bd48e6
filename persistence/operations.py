"""Idempotency keys: an operation with an ``op_id`` takes effect at most once.

The key is claimed as the first statement of the operation's transaction and its outcome
recorded in the same transaction. A repeat finds the key and gets the recorded outcome back
without applying anything. A concurrent repeat waits on the key's unique index entry until
the first transaction ends, so the two never both apply. This is what makes retrying after
an unknown outcome safe (the connection died after the statement was sent): the retry either
replays the committed outcome or, if the first attempt rolled back, applies the operation now.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from persistence.errors import OperationReusedError, ValidationError
from persistence.models.operation import AppliedOperation
from persistence.validation import check_text

if TYPE_CHECKING:
    from persistence.db import Database
    from persistence.repositories.base import Client

__all__ = ["check_op_id", "claim", "purge", "record"]

# Hand-written: the claim must insert the key or learn it exists in one statement, waiting on
# a concurrent claim's index entry; get_or_create needs three round trips and a savepoint.
_CLAIM: Final = """
INSERT INTO applied_operations (op_id, kind, request) VALUES ($1, $2, $3::jsonb)
ON CONFLICT (op_id) DO NOTHING RETURNING op_id
"""


def check_op_id(value: object) -> str | None:
    """An op_id is ``None`` or a string of 1-128 characters."""
    if value is None:
        return None
    return check_text(value, "op_id", max_length=128)


def _canonical(request: dict[str, Any]) -> Any:
    return json.loads(json.dumps(request, default=str))


async def claim(
    db: Database, client: Client, op_id: str, kind: str, request: dict[str, Any]
) -> dict[str, Any] | None:
    """Take ``op_id`` inside the caller's transaction, or return its recorded outcome.

    Raises:
        OperationReusedError: The op_id was recorded for a different operation or request.
    """
    claimed = await db.fetch(client, _CLAIM, [op_id, kind, json.dumps(request, default=str)])
    if claimed:
        return None
    recorded = await AppliedOperation.get(op_id=op_id, using_db=client)
    if recorded.kind != kind or recorded.request != _canonical(request):
        raise OperationReusedError(
            f"op_id {op_id!r} was already used for a different {recorded.kind}"
        )
    return recorded.result


async def record(client: Client, op_id: str, result: dict[str, Any]) -> None:
    """Store the outcome of ``op_id`` in the caller's transaction."""
    await AppliedOperation.filter(op_id=op_id).using_db(client).update(result=_canonical(result))


def retention(older_than: timedelta) -> timedelta:
    """Check a purge age."""
    if not isinstance(older_than, timedelta) or older_than < timedelta(0):
        raise ValidationError("older_than must be a non-negative timedelta")
    return older_than


def purge_cutoff(older_than: timedelta) -> datetime | None:
    """The time before which rows are purged; ``None``: before any representable time."""
    try:
        return datetime.now(UTC) - retention(older_than)
    except OverflowError:
        return None


async def purge(client: Client, older_than: timedelta) -> int:
    """Delete op_id records older than ``older_than``; returns how many."""
    cutoff = purge_cutoff(older_than)
    if cutoff is None:
        return 0  # older than any representable time: nothing is
    deleted: int = await AppliedOperation.filter(created_at__lt=cutoff).using_db(client).delete()
    return deleted

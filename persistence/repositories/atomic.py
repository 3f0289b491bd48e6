"""The shared engine of Health and Experience: atomic, clamped, batched stat deltas."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from models.stats import NUMERIC_STATS
from persistence.db import Row
from persistence.errors import NotFoundError, ValidationError
from persistence.events import Event, PlayerHPUpdated, PlayerStatUpdated
from persistence.operations import check_op_id, claim, record
from persistence.repositories.base import BaseRepository, Client, as_uuid
from persistence.stats import (
    APPLY_STAT_DELTA_PLAIN_SQL,
    APPLY_STAT_DELTA_SQL,
    APPLY_STAT_DELTAS_PLAIN_SQL,
    APPLY_STAT_DELTAS_SQL,
    MAX_DELTA,
    check_delta,
    field_bounds,
    missing_ids,
    whitelisted_field,
)
from persistence.validation import check_mapping

__all__ = ["AtomicStatsRepository", "StatChange"]


@dataclass(frozen=True, slots=True)
class StatChange:
    """What one atomic delta did to one player's stat, as the database reported it.

    Attributes:
        player_id: The player.
        field: The stat key.
        old_value: The value before, read in the same statement under the row lock.
        new_value: The value written, after clamping.
        delta: The delta the caller asked for.
        max_health: The player's max_health after the statement.
        current_health: The player's current_health after the statement (it follows a drop
            of max_health).
    """

    player_id: uuid.UUID
    field: str
    old_value: int
    new_value: int
    delta: int
    max_health: int
    current_health: int


class AtomicStatsRepository(BaseRepository):
    """Applies whitelisted stat deltas in one statement per call, for one or many players."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        floor = self._settings.health_floor
        self._bounds = {name: field_bounds(name, health_floor=floor) for name in NUMERIC_STATS}

    async def _apply_field_deltas(
        self,
        field_name: str,
        deltas: Mapping[uuid.UUID | str, int],
        reason: str,
        *,
        op_id: str | None = None,
    ) -> dict[uuid.UUID, StatChange]:
        """Apply ``deltas`` to ``field_name`` for every player, all or nothing.

        Validation (field whitelist, delta types, ids, op_id) happens before any SQL. With
        an ``op_id`` the deltas take effect at most once: a repeat returns the first outcome.

        Raises:
            InvalidFieldError: The field is not whitelisted.
            InvalidAmountError: A delta is not an int in range.
            NotFoundError: A player does not exist; no delta was applied.
            OperationReusedError: The op_id was used for a different operation.
        """
        whitelisted_field(field_name)
        if not isinstance(reason, str):
            raise ValidationError("reason must be a string")
        key = check_op_id(op_id)
        ids, values = _checked_deltas(deltas)
        if not ids:
            return {}
        sql, args = self._delta_statement(field_name, ids, values)
        if key is None:
            # Not idempotent: retried only when the statement certainly was not applied.
            changes = _changes(field_name, ids, await self._statement(sql, args, idempotent=False))
        else:
            request = {"field": field_name, "deltas": dict(zip(map(str, ids), values, strict=True))}

            async def attempt(client: Client) -> tuple[dict[uuid.UUID, StatChange], bool]:
                replay = await claim(self._db, client, key, "stat_delta", request)
                if replay is not None:
                    return _changes_from_json(replay), True
                found = _changes(field_name, ids, await self._fetch(client, sql, args))
                await record(client, key, _changes_to_json(found))
                return found, False

            changes, replayed = await self._atomic(attempt, idempotent=True)
            if replayed:
                return changes
        if self._listening:
            self._emit(*(_event(change, reason) for change in changes.values()))
        return changes

    async def _new_values(
        self, field_name: str, deltas: Mapping[uuid.UUID | str, int], reason: str
    ) -> dict[uuid.UUID, int]:
        """The lean path of a batch with no op_id and nobody listening: only new values.

        Same checks, statement and errors as :meth:`_apply_field_deltas`, without building a
        ``StatChange`` per row (a combat tick of 1,000 players is a hot path).
        """
        if self._listening:
            changes = await self._apply_field_deltas(field_name, deltas, reason)
            return {pid: change.new_value for pid, change in changes.items()}
        whitelisted_field(field_name)
        if not isinstance(reason, str):
            raise ValidationError("reason must be a string")
        ids, values = _checked_deltas(deltas)
        if not ids:
            return {}
        sql, args = self._delta_statement(field_name, ids, values)
        rows = await self._statement(sql, args, idempotent=False)
        if not rows or not rows[0]["applied"]:
            missing = missing_ids(ids, [r["player_id"] for r in rows])
            raise NotFoundError("player", ", ".join(str(m) for m in missing))
        return {r["player_id"]: r["new_value"] for r in rows}

    def _delta_statement(
        self, field_name: str, ids: list[uuid.UUID], values: list[int]
    ) -> tuple[str, list[Any]]:
        """The delta statement and its arguments for one field and these players."""
        bounds = self._bounds[field_name]
        limits: list[object] = [
            bounds.field,
            bounds.default,
            bounds.minimum,
            bounds.maximum,
            bounds.cap_key,
        ]
        single = len(ids) == 1
        if bounds.dependent is None:  # every field but max_health: the plain statement
            sql = APPLY_STAT_DELTA_PLAIN_SQL if single else APPLY_STAT_DELTAS_PLAIN_SQL
        else:
            sql = APPLY_STAT_DELTA_SQL if single else APPLY_STAT_DELTAS_SQL
            limits.append(bounds.dependent)
        args = [ids[0], values[0], *limits] if single else [ids, values, *limits]
        return sql, args


def _checked_deltas(deltas: object) -> tuple[list[uuid.UUID], list[int]]:
    """Ids and deltas of a ``{player_id: delta}`` mapping, checked before any SQL."""
    ids: list[uuid.UUID] = []
    values: list[int] = []
    all_uuids = True
    for player_id, delta in check_mapping(deltas, "deltas").items():
        if type(player_id) is uuid.UUID:
            ids.append(player_id)
        else:
            ids.append(as_uuid(player_id, "player_id"))
            all_uuids = False
        if type(delta) is int and -MAX_DELTA <= delta <= MAX_DELTA:
            values.append(delta)
        else:
            values.append(check_delta(delta))  # raises with the precise reason
    # Keys of a mapping are distinct; only mixing text and UUIDs can name a player twice.
    if not all_uuids and len(set(ids)) != len(ids):
        raise ValidationError("the same player appears twice (as a UUID and as text)")
    return ids, values


def _changes(field_name: str, ids: list[uuid.UUID], rows: list[Row]) -> dict[uuid.UUID, StatChange]:
    if not rows or not rows[0]["applied"]:
        missing = missing_ids(ids, [r["player_id"] for r in rows])
        raise NotFoundError("player", ", ".join(str(m) for m in missing))
    # Positional reads of the statements' fixed column order (player_id, old_value, new_value,
    # delta, max_health, current_health, applied): a batch of 1,000 rows is on the hot path.
    return {
        r[0]: StatChange(r[0], field_name, r[1], r[2], r[3], r[4], r[5])
        for r in (tuple(row.values()) for row in rows)
    }


def _changes_to_json(changes: dict[uuid.UUID, StatChange]) -> dict[str, Any]:
    return {"changes": [{**asdict(c), "player_id": str(c.player_id)} for c in changes.values()]}


def _changes_from_json(data: dict[str, Any]) -> dict[uuid.UUID, StatChange]:
    out: dict[uuid.UUID, StatChange] = {}
    for item in data["changes"]:
        change = StatChange(**{**item, "player_id": uuid.UUID(item["player_id"])})
        out[change.player_id] = change
    return out


def _event(change: StatChange, reason: str) -> Event:
    if change.field == "current_health":
        return PlayerHPUpdated(
            player_id=change.player_id,
            old_hp=change.old_value,
            new_hp=change.new_value,
            max_hp=change.max_health,
            delta=change.delta,
            reason=reason,
        )
    return PlayerStatUpdated(
        player_id=change.player_id,
        field=change.field,
        old_value=change.old_value,
        new_value=change.new_value,
        reason=reason,
    )

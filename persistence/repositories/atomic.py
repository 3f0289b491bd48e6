"""The shared engine of Health and Experience: atomic, clamped, batched stat deltas."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final, TypeVar

from persistence.db import Row
from persistence.errors import (
    ConstraintViolationError,
    CorruptRowError,
    DataError,
    NotFoundError,
    PersistenceError,
    PlayerSoftDeletedError,
    ValidationError,
)
from persistence.events import Event, PlayerHPUpdated, PlayerStatUpdated
from persistence.models.stats import NUMERIC_STATS, STAT_REGISTRY
from persistence.operations import check_op_id, claim, record
from persistence.repositories.base import BaseRepository, Client, as_uuid
from persistence.repositories.player import stats_problem
from persistence.stats import (
    MAX_DELTA,
    check_delta,
    field_bounds,
    missing_ids,
    whitelisted_field,
)
from persistence.validation import check_mapping, check_reason

__all__ = ["AtomicStatsRepository", "StatChange"]

T = TypeVar("T")


# The delta statements are hand-written: each locks the rows (FOR UPDATE, in player-id
# order so concurrent batches cannot deadlock), clamps, writes with jsonb_set and returns the
# old and new values in one round trip; Tortoise's update() returns only a row count. Under
# READ COMMITTED a concurrent writer waits for the lock and then works on the committed
# value, so no delta is lost. The JSON key is a bound text parameter ($3), never SQL text.


def _valid_int(key: str) -> str:
    """SQL: the stats key is absent, or a JSON integer (written as one) that fits a bigint."""
    return (
        f"CASE WHEN NOT p.stats ? {key} THEN true"
        f" WHEN jsonb_typeof(p.stats -> {key}) <> 'number' THEN false"
        f" ELSE (p.stats ->> {key}) ~ '^-?[0-9]{{1,18}}$' END"
    )


def _int_at(doc: str, key: str, default: str) -> str:
    """SQL: the stats key as a bigint; ``default`` when absent; an error for anything else.

    ``->>`` alone reads JSON null as SQL NULL (which LEAST and COALESCE then skip: a null
    max_health would cap nothing) and the string "50" as 50. A present value that is not a
    JSON number goes through the jsonb cast instead, which fails (22023) for null, strings,
    booleans and containers, as a number's text that is not an integer fails the bigint cast
    (22P02): the statement applies nothing and its checked twin names the row.
    """
    return (
        f"CASE WHEN jsonb_typeof({doc} -> {key}) = 'number' THEN ({doc} ->> {key})::bigint"
        f" WHEN {doc} ? {key} THEN ({doc} -> {key})::bigint ELSE {default} END"
    )


_OLD: Final = _int_at("p.stats", "$3::text", "$4::bigint")
_CAP: Final = _int_at("p.stats", "$7::text", "$8::bigint")
_DEPENDENT: Final = _int_at("p.stats", "$9::text", "$10::bigint")

# The health pair every statement returns, a missing key as its default (constants).
_HEALTH_AFTER: Final = (
    f"COALESCE((p.stats->>'max_health')::bigint, {STAT_REGISTRY['max_health'].default})"
    " AS max_health, "
    f"COALESCE((p.stats->>'current_health')::bigint, {STAT_REGISTRY['current_health'].default})"
    " AS current_health"
)


# Which keys of a row make the delta impossible (a document an external tool wrote by hand):
# the row is named in a CorruptRowError and nothing is applied. Only constant key names and
# the bound parameter $3 are formatted in.
_BAD_KEYS: Final = (
    "CROSS JOIN LATERAL (SELECT array_remove(ARRAY["
    "CASE WHEN jsonb_typeof(p.stats) <> 'object' THEN 'stats' END, "
    f"CASE WHEN NOT ({_valid_int('$3::text')}) THEN $3::text END, "  # safe-sql: constants
    f"CASE WHEN NOT ({_valid_int(repr('current_health'))}) THEN 'current_health' END, "
    f"CASE WHEN NOT ({_valid_int(repr('max_health'))}) THEN 'max_health' END"
    "], NULL) AS bad) v"
)

_DELTA_SQL: Final = (
    """
WITH d AS (
    SELECT * FROM {source}
),
old AS (
    SELECT p.player_id, d.delta, v.bad, p.is_deleted AS deleted,
           CASE WHEN cardinality(v.bad) = 0 THEN {old} END AS old_value,
           CASE WHEN cardinality(v.bad) = 0
                THEN LEAST(GREATEST({old} + d.delta, $5::bigint), $6::bigint, {cap})
           END AS new_value
      FROM players p JOIN d ON d.player_id = p.player_id
      {bad_keys}
     ORDER BY p.player_id
       FOR UPDATE OF p
),
upd AS (
    UPDATE players p
       SET stats = CASE
           WHEN $9::text IS NULL THEN jsonb_set(p.stats, ARRAY[$3::text], to_jsonb(c.new_value))
           ELSE jsonb_set(
               jsonb_set(p.stats, ARRAY[$3::text], to_jsonb(c.new_value)),
               ARRAY[$9::text],
               to_jsonb(LEAST({dependent}, c.new_value)))
       END
      FROM old c
     WHERE p.player_id = c.player_id
       AND (SELECT count(*) FROM old WHERE cardinality(bad) = 0 AND NOT deleted) = {expected}
    RETURNING p.player_id, c.old_value, c.new_value, c.delta, {health_after}
)
SELECT player_id, old_value, new_value, delta, max_health, current_health, true AS applied,
       NULL::text[] AS bad, false AS deleted
  FROM upd
UNION ALL
SELECT player_id, NULL, NULL, NULL, NULL, NULL, false, bad, deleted FROM old
 WHERE NOT EXISTS (SELECT 1 FROM upd)
"""
    # Only the constant SQL fragments above are formatted in: no name, no value.
    .replace("{old}", _OLD)
    .replace("{cap}", _CAP)
    .replace("{dependent}", _DEPENDENT)
    .replace("{health_after}", _HEALTH_AFTER)
)

# The statements run without the per-row check of _BAD_KEYS first (it costs a third of the
# statement's server time, held under the row lock): a sound row is applied as is, and a
# corrupt one makes the cast or jsonb_set fail, or breaks a CHECK. Only then the checked
# statement runs, and names the corrupt row (see _with_diagnosis).
_NO_CHECK: Final = "CROSS JOIN LATERAL (SELECT ARRAY[]::text[] AS bad) v"

# $1 uuid[] ids, $2 bigint[] deltas, $3 field, $4 default, $5 minimum, $6 maximum,
# $7 cap_key, $8 the cap key's default, $9 dependent, $10 its default. Applies only if every
# id exists, is not soft-deleted and every row is sound (all or nothing); otherwise the rows
# found come back unapplied, each with its bad keys and whether it is soft-deleted.
_MANY: Final = {
    "source": "unnest($1::uuid[], $2::bigint[]) AS d(player_id, delta)",
    "expected": "cardinality($1::uuid[])",
}
# One player: a cheaper plan, no unnest. $1 uuid id, $2 bigint delta.
_ONE: Final = {"source": "(VALUES ($1::uuid, $2::bigint)) AS d(player_id, delta)", "expected": "1"}

APPLY_STAT_DELTAS_SQL: Final = _DELTA_SQL.format(bad_keys=_NO_CHECK, **_MANY)
APPLY_STAT_DELTA_SQL: Final = _DELTA_SQL.format(bad_keys=_NO_CHECK, **_ONE)
CHECKED_STAT_DELTAS_SQL: Final = _DELTA_SQL.format(bad_keys=_BAD_KEYS, **_MANY)
""":data:`APPLY_STAT_DELTAS_SQL` that also reports each row's corrupt keys."""
CHECKED_STAT_DELTA_SQL: Final = _DELTA_SQL.format(bad_keys=_BAD_KEYS, **_ONE)


def _without_dependent(sql: str) -> str:
    """The same statement for a field nothing depends on (all but max_health): no CASE."""
    start = sql.index("SET stats = CASE")
    end = sql.index("\n       END\n", start) + len("\n       END")  # the outer CASE's END
    return (
        sql[:start]
        + "SET stats = jsonb_set(p.stats, ARRAY[$3::text], to_jsonb(c.new_value))"
        + sql[end:]
    )


# The fast statements of every field but max_health (nothing depends on them): the lock, the
# clamp, jsonb_set and the values in one statement, with no diagnosis of a failure. They
# return a row per applied player, and nothing at all when anything is wrong (a missing or
# soft-deleted player; for a batch, any of them: all or nothing); the checked statement then
# says why (see _with_diagnosis). Same parameters as the statements above ($9 unused).
_LEAN_SQL: Final = """
WITH old AS (
    SELECT p.player_id, p.stats, {delta} AS delta, {old} AS old_value
      FROM {rows}
     WHERE {match}NOT p.is_deleted
     ORDER BY p.player_id
       FOR UPDATE OF p
)
UPDATE players p
   SET stats = jsonb_set(p.stats, ARRAY[$3::text], to_jsonb(
           LEAST(GREATEST(o.old_value + o.delta, $5::bigint), $6::bigint, {cap})))
  FROM old o
 WHERE p.player_id = o.player_id{all_found}
RETURNING p.player_id, o.old_value, (p.stats->>$3::text)::bigint AS new_value, o.delta,
          {health_after}, true AS applied
"""
APPLY_STAT_DELTAS_PLAIN_SQL: Final = _LEAN_SQL.format(
    old=_OLD,
    cap=_CAP.replace("p.stats", "o.stats"),
    health_after=_HEALTH_AFTER,
    delta="d.delta",
    rows="players p JOIN unnest($1::uuid[], $2::bigint[]) AS d(player_id, delta) "
    "ON d.player_id = p.player_id",
    match="",
    all_found="\n   AND (SELECT count(*) FROM old) = cardinality($1::uuid[])",
)
""":data:`APPLY_STAT_DELTAS_SQL` for a field without a dependent key ($8 is unused)."""
APPLY_STAT_DELTA_PLAIN_SQL: Final = _LEAN_SQL.format(
    old=_OLD,
    cap=_CAP.replace("p.stats", "o.stats"),
    health_after=_HEALTH_AFTER,
    delta="$2::bigint",
    rows="players p",
    match="p.player_id = $1 AND ",
    all_found="",
)
""":data:`APPLY_STAT_DELTA_SQL` for a field without a dependent key ($8 is unused)."""
CHECKED_STAT_DELTAS_PLAIN_SQL: Final = _without_dependent(CHECKED_STAT_DELTAS_SQL)
CHECKED_STAT_DELTA_PLAIN_SQL: Final = _without_dependent(CHECKED_STAT_DELTA_SQL)

STATS_OF_SQL: Final = (
    "SELECT player_id, stats::text AS stats FROM players WHERE player_id = ANY($1)"
)
"""The stats documents of a failed delta's players, to name a corrupt one (see _diagnose)."""

_CHECKED: Final = {
    APPLY_STAT_DELTAS_SQL: CHECKED_STAT_DELTAS_SQL,
    APPLY_STAT_DELTA_SQL: CHECKED_STAT_DELTA_SQL,
    APPLY_STAT_DELTAS_PLAIN_SQL: CHECKED_STAT_DELTAS_PLAIN_SQL,
    APPLY_STAT_DELTA_PLAIN_SQL: CHECKED_STAT_DELTA_PLAIN_SQL,
}
"""Each fast statement's checked twin."""


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
        operation: str = "apply_stat_deltas",
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
        check_reason(reason)
        key = check_op_id(op_id)
        ids, values = _checked_deltas(deltas)
        if not ids:
            return {}
        sql, args = self._delta_statement(field_name, ids, values)
        if key is None:
            # Not idempotent: retried only when the statement certainly was not applied.

            async def once(statement: str) -> list[Row]:
                found = await self._statement(statement, args, idempotent=False)
                _require_applied(statement, ids, found)
                return found

            changes = _changes(
                field_name, ids, await _with_diagnosis(once, sql, self._diagnose(ids))
            )
        else:
            # Everything that changes the outcome or its events: a repeat must match it all.
            request = {
                "operation": operation,
                "field": field_name,
                "deltas": dict(zip(map(str, ids), values, strict=True)),
                "reason": reason,
            }

            async def attempt(
                client: Client, statement: str
            ) -> tuple[dict[uuid.UUID, StatChange], bool]:
                replay = await claim(self._db, client, key, "stat_delta", request)
                if replay is not None:
                    return _changes_from_json(replay), True
                rows = await self._fetch(client, statement, args)
                _require_applied(statement, ids, rows)
                found = _changes(field_name, ids, rows)
                await record(client, key, _changes_to_json(found))
                return found, False

            changes, replayed = await _with_diagnosis(
                lambda statement: self._atomic(
                    functools.partial(attempt, statement=statement), idempotent=True
                ),
                sql,
                self._diagnose(ids),
            )
            if replayed:
                return changes
        if self._listening:
            floor = self._settings.health_floor
            self._emit(*(_event(change, reason, floor) for change in changes.values()))
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
        check_reason(reason)
        ids, values = _checked_deltas(deltas)
        if not ids:
            return {}
        sql, args = self._delta_statement(field_name, ids, values)

        async def once(statement: str) -> list[Row]:
            found = await self._statement(statement, args, idempotent=False)
            _require_applied(statement, ids, found)
            return found

        rows = await _with_diagnosis(once, sql, self._diagnose(ids))
        return {r["player_id"]: r["new_value"] for r in rows}

    def _diagnose(self, ids: list[uuid.UUID]) -> Callable[[], Awaitable[CorruptRowError | None]]:
        """Why a checked delta statement still failed: a row the database's CHECKs refuse.

        A row written before the stats CHECKs existed (added ``NOT VALID``) may be corrupt in
        a key the delta does not read; the delta's write then breaks a CHECK. The rows are
        read and validated as a read would, to name the first corrupt one.
        """

        async def diagnose() -> CorruptRowError | None:
            rows = await self._statement(STATS_OF_SQL, [ids])
            for row in rows:
                problem = stats_problem(row["player_id"], row["stats"])
                if problem is not None:
                    return problem
            return None

        return diagnose

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
            bounds.cap_default,
        ]
        single = len(ids) == 1
        if bounds.dependent is None:  # every field but max_health: the plain statement
            sql = APPLY_STAT_DELTA_PLAIN_SQL if single else APPLY_STAT_DELTAS_PLAIN_SQL
        else:
            sql = APPLY_STAT_DELTA_SQL if single else APPLY_STAT_DELTAS_SQL
            limits.extend((bounds.dependent, bounds.dependent_default))
        args = [ids[0], values[0], *limits] if single else [ids, values, *limits]
        return sql, args


class _NothingApplied(PersistenceError):
    """A fast delta statement applied nothing; its checked twin says why."""


def _require_applied(sql: str, ids: list[uuid.UUID], rows: list[Row]) -> None:
    """Raise unless ``rows`` are the applied rows of the delta statement ``sql``."""
    if rows and rows[0]["applied"]:
        return
    if not rows and sql in _CHECKED:
        raise _NothingApplied(sql)
    raise _not_applied(ids, rows)


async def _with_diagnosis(
    run: Callable[[str], Awaitable[T]],
    sql: str,
    diagnose: Callable[[], Awaitable[CorruptRowError | None]],
) -> T:
    """Run the fast delta statement; if it failed or applied nothing, run its checked twin.

    A corrupt stats document (written outside the layer) makes the fast statement fail with
    a DataError or a CHECK violation, and nothing was applied; a missing or soft-deleted
    player makes it apply nothing (``run`` raises :class:`_NothingApplied`, see
    :func:`_require_applied`). The checked statement then names the corrupt row
    (``CorruptRowError``) or the soft-deleted or missing players, nothing applied, or
    applies the delta when the cause is gone by then, or fails the same way again; when it
    fails on a CHECK or a cast again, ``diagnose`` names the corrupt row if it finds one.
    """
    try:
        return await run(sql)
    except (DataError, ConstraintViolationError, _NothingApplied):
        pass
    try:
        return await run(_CHECKED[sql])
    except (DataError, ConstraintViolationError) as exc:
        corrupt = await diagnose()
        if corrupt is None:
            raise
        raise corrupt from exc


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


def _not_applied(ids: list[uuid.UUID], rows: list[Row]) -> PersistenceError:
    """Why a delta statement applied nothing: a soft-deleted or corrupt row, or missing ones."""
    for row in rows:
        if row["deleted"]:
            return PlayerSoftDeletedError(row["player_id"])
    for row in rows:
        if row["bad"]:
            return CorruptRowError(
                "player",
                row["player_id"],
                tuple(row["bad"]),
                "a stats value the delta needs is not an integer (written outside the layer)",
            )
    missing = missing_ids(ids, [r["player_id"] for r in rows])
    return NotFoundError("player", ", ".join(str(m) for m in missing))


def _changes(field_name: str, ids: list[uuid.UUID], rows: list[Row]) -> dict[uuid.UUID, StatChange]:
    """The changes of applied rows (see :func:`_require_applied`)."""
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


def _event(change: StatChange, reason: str, floor: int) -> Event:
    if change.field == "current_health":
        return PlayerHPUpdated(
            died=change.old_value > floor >= change.new_value,
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

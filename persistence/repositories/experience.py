"""ExperienceRepository: atomic XP with level-ups, and atomic deltas of whitelisted stats."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from persistence.db import Row
from persistence.errors import NotFoundError, PlayerSoftDeletedError, ValidationError
from persistence.events import Event, PlayerLeveledUp, PlayerXPAwarded
from persistence.models.player import Player
from persistence.operations import check_op_id, claim, record
from persistence.repositories.atomic import AtomicStatsRepository
from persistence.repositories.base import Client, as_uuid
from persistence.stats import (
    LevelCurve,
    check_amount,
    check_delta,
    missing_ids,
    whitelisted_field,
)
from persistence.validation import check_mapping, check_reason, player_id_of

__all__ = ["ExperienceChange", "ExperienceRepository", "xp_events"]


# Hand-written: XP and level change in one statement that locks the row and returns the old
# and new values (Tortoise's update() returns a row count); the level curve is SQL too.

# $1 uuid[] ids, $2 bigint[] deltas, $3 xp_per_level, $4 bigint[] thresholds.
APPLY_XP_DELTAS_SQL: Final = """
WITH d AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS d(player_id, delta)
),
old AS (
    SELECT p.player_id, p.experience_points, p.level, d.delta, p.is_deleted AS deleted
      FROM players p JOIN d ON d.player_id = p.player_id
     ORDER BY p.player_id
       FOR UPDATE OF p
),
upd AS (
    UPDATE players p
       SET experience_points = o.experience_points + o.delta,
           level = CASE
               WHEN cardinality($4::bigint[]) = 0
                   THEN LEAST((o.experience_points + o.delta) / $3::bigint + 1, 2147483647)
               ELSE 1 + (SELECT count(*) FROM unnest($4::bigint[]) t
                          WHERE t <= o.experience_points + o.delta)
           END
      FROM old o
     WHERE p.player_id = o.player_id
       AND (SELECT count(*) FROM old WHERE NOT deleted) = cardinality($1::uuid[])
    RETURNING p.player_id, o.delta, o.experience_points AS old_xp,
              p.experience_points AS new_xp, o.level AS old_level, p.level AS new_level
)
SELECT player_id, delta, old_xp, new_xp, old_level, new_level, true AS applied,
       false AS deleted
  FROM upd
UNION ALL
SELECT player_id, NULL, NULL, NULL, NULL, NULL, false, deleted FROM old
 WHERE NOT EXISTS (SELECT 1 FROM upd)
"""


# One player: $1 uuid id, $2 bigint delta, $3 xp_per_level, $4 bigint[] thresholds.
APPLY_XP_DELTA_SQL: Final = """
WITH old AS (
    SELECT player_id, experience_points, level, is_deleted FROM players
     WHERE player_id = $1 FOR UPDATE
),
upd AS (
UPDATE players p
   SET experience_points = o.experience_points + $2::bigint,
       level = CASE
           WHEN cardinality($4::bigint[]) = 0
               THEN LEAST((o.experience_points + $2::bigint) / $3::bigint + 1, 2147483647)
           ELSE 1 + (SELECT count(*) FROM unnest($4::bigint[]) t
                      WHERE t <= o.experience_points + $2::bigint)
       END
  FROM old o
 WHERE p.player_id = o.player_id AND NOT o.is_deleted
RETURNING p.player_id, $2::bigint AS delta, o.experience_points AS old_xp,
          p.experience_points AS new_xp, o.level AS old_level, p.level AS new_level
)
SELECT player_id, delta, old_xp, new_xp, old_level, new_level, true AS applied,
       false AS deleted
  FROM upd
UNION ALL
SELECT player_id, NULL, NULL, NULL, NULL, NULL, false, true FROM old WHERE is_deleted
"""


def _linear_levels(sql: str) -> str:
    """The XP statement for the linear curve (no thresholds array)."""
    start = sql.index("level = CASE")
    end = sql.index("END", start) + len("END")
    return (
        sql[:start]
        + "level = LEAST((o.experience_points + {delta}) / $3::bigint + 1, 2147483647)"
        + sql[end:]
    )


APPLY_XP_DELTAS_LINEAR_SQL: Final = _linear_levels(APPLY_XP_DELTAS_SQL).replace(
    "{delta}", "o.delta"
)
""":data:`APPLY_XP_DELTAS_SQL` for the linear curve ($4 is unused)."""
APPLY_XP_DELTA_LINEAR_SQL: Final = _linear_levels(APPLY_XP_DELTA_SQL).replace(
    "{delta}", "$2::bigint"
)
""":data:`APPLY_XP_DELTA_SQL` for the linear curve ($4 is unused)."""


@dataclass(frozen=True, slots=True)
class ExperienceChange:
    """An XP award as the database applied it (old values from the same statement)."""

    player_id: uuid.UUID
    xp_amount: int
    old_xp: int
    new_xp: int
    old_level: int
    new_level: int

    @property
    def leveled_up(self) -> bool:
        """Whether the award raised the level."""
        return self.new_level > self.old_level


class ExperienceRepository(AtomicStatsRepository, metrics_name="experience"):
    """Experience, levels and the other numeric stats; one SQL statement per call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.level_curve = LevelCurve(
            self._settings.xp_per_level, tuple(self._settings.level_thresholds)
        )
        self._thresholds = list(self.level_curve.thresholds)

    async def update_player_xp(
        self, player_id: uuid.UUID | str, delta: int, reason: str = "", *, op_id: str | None = None
    ) -> ExperienceChange:
        """Add ``delta`` XP and recompute the level in the same statement.

        Raises:
            InvalidAmountError: ``delta`` is negative or not an int, before any SQL.
            NotFoundError: No such player.
        """
        pid = as_uuid(player_id, "player_id")
        changes = await self._xp({pid: check_amount(delta)}, reason, op_id, "update_player_xp")
        return next(iter(changes.values()))

    async def gain_experience(
        self, player: Player, amount: int, source: str = "unknown", *, op_id: str | None = None
    ) -> ExperienceChange:
        """Award XP to ``player`` atomically; refresh its XP and level from the database."""
        pid = player_id_of(player)
        changes = await self._xp({pid: check_amount(amount)}, source, op_id, "gain_experience")
        change = next(iter(changes.values()))
        player.accept_columns(experience_points=change.new_xp, level=change.new_level)
        return change

    async def apply_xp_deltas(
        self,
        deltas: Mapping[uuid.UUID | str, int],
        source: str = "",
        *,
        op_id: str | None = None,
    ) -> dict[uuid.UUID, ExperienceChange]:
        """Award XP to many players in one statement, all or nothing (at most once per op_id)."""
        return await self._xp(deltas, source, op_id, "apply_xp_deltas")

    async def _xp(
        self,
        deltas: Mapping[uuid.UUID | str, int],
        source: str,
        op_id: str | None,
        operation: str,
    ) -> dict[uuid.UUID, ExperienceChange]:
        check_reason(source, "source")
        deltas = check_mapping(deltas, "deltas")
        ids = [as_uuid(pid, "player_id") for pid in deltas]
        values = [check_amount(v) for v in deltas.values()]
        if len(set(ids)) != len(ids):
            raise ValidationError("the same player appears twice (as a UUID and as text)")
        if not ids:
            return {}
        key = check_op_id(op_id)
        curve = self.level_curve
        single = len(ids) == 1
        args: list[object] = [ids[0] if single else ids, values[0] if single else values]
        args.append(curve.xp_per_level)
        if curve.thresholds:
            sql = APPLY_XP_DELTA_SQL if single else APPLY_XP_DELTAS_SQL
            args.append(self._thresholds)
        else:  # the linear curve: no thresholds array in the statement
            sql = APPLY_XP_DELTA_LINEAR_SQL if single else APPLY_XP_DELTAS_LINEAR_SQL
        if key is None:
            changes = _xp_changes(ids, await self._statement(sql, args, idempotent=False))
        else:
            request = {  # everything that changes the outcome or its events
                "operation": operation,
                "deltas": dict(zip(map(str, ids), values, strict=True)),
                "source": source,
            }

            async def attempt(client: Client) -> tuple[dict[uuid.UUID, ExperienceChange], bool]:
                replay = await claim(self._db, client, key, "xp", request)
                if replay is not None:
                    return _xp_from_json(replay), True
                found = _xp_changes(ids, await self._fetch(client, sql, args))
                await record(client, key, _xp_to_json(found))
                return found, False

            changes, replayed = await self._atomic(attempt, idempotent=True)
            if replayed:
                return changes
        if self._listening:
            self._emit(*xp_events(changes.values(), source))
        return changes

    async def update_player_stat_field(
        self,
        player_id: uuid.UUID | str,
        field_name: str,
        delta: int,
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> int:
        """Add ``delta`` to a whitelisted stat, clamped to its registry bounds; return it.

        ``field_name`` must be a numeric key of the stat registry; it is checked before any
        SQL and reaches the database only as a bound parameter.

        Raises:
            InvalidFieldError: ``field_name`` is not whitelisted (also a ``ValueError``).
            InvalidAmountError: ``delta`` is not an int.
            NotFoundError: No such player.
        """
        field = whitelisted_field(field_name)
        pid = as_uuid(player_id, "player_id")
        changes = await self._apply_field_deltas(
            field,
            {pid: check_delta(delta)},
            reason,
            op_id=op_id,
            operation="update_player_stat_field",
        )
        return next(iter(changes.values())).new_value

    async def apply_stat_deltas(
        self,
        field_name: str,
        deltas: Mapping[uuid.UUID | str, int],
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> dict[uuid.UUID, int]:
        """Apply deltas of one whitelisted stat to many players in one statement."""
        field = whitelisted_field(field_name)
        if op_id is None:
            return await self._new_values(field, deltas, reason)
        changes = await self._apply_field_deltas(field, deltas, reason, op_id=op_id)
        return {pid: change.new_value for pid, change in changes.items()}


def _xp_changes(ids: list[uuid.UUID], rows: list[Row]) -> dict[uuid.UUID, ExperienceChange]:
    if not rows or not rows[0]["applied"]:
        for row in rows:
            if row["deleted"]:
                raise PlayerSoftDeletedError(row["player_id"])
        missing = missing_ids(ids, [r["player_id"] for r in rows])
        raise NotFoundError("player", ", ".join(str(m) for m in missing))
    return {
        row["player_id"]: ExperienceChange(
            player_id=row["player_id"],
            xp_amount=row["delta"],
            old_xp=row["old_xp"],
            new_xp=row["new_xp"],
            old_level=row["old_level"],
            new_level=row["new_level"],
        )
        for row in rows
    }


def _xp_to_json(changes: dict[uuid.UUID, ExperienceChange]) -> dict[str, Any]:
    return {"changes": [{**asdict(c), "player_id": str(c.player_id)} for c in changes.values()]}


def _xp_from_json(data: dict[str, Any]) -> dict[uuid.UUID, ExperienceChange]:
    out: dict[uuid.UUID, ExperienceChange] = {}
    for item in data["changes"]:
        change = ExperienceChange(**{**item, "player_id": uuid.UUID(item["player_id"])})
        out[change.player_id] = change
    return out


def xp_events(changes: Iterable[ExperienceChange], source: str) -> list[Event]:
    """The events of XP awards: one PlayerXPAwarded each, then PlayerLeveledUp if it rose."""
    events: list[Event] = []
    for change in changes:
        events.append(
            PlayerXPAwarded(
                player_id=change.player_id,
                xp_amount=change.xp_amount,
                old_xp=change.old_xp,
                new_xp=change.new_xp,
                old_level=change.old_level,
                new_level=change.new_level,
                source=source,
            )
        )
        if change.leveled_up:
            events.append(
                PlayerLeveledUp(
                    player_id=change.player_id,
                    old_level=change.old_level,
                    new_level=change.new_level,
                )
            )
    return events

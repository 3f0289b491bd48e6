"""Atomic stat arithmetic in SQL: the whitelist, the bounds, the level curve, the statements.

Everything here is derived from :data:`models.stats.STAT_REGISTRY`. Field names never reach
SQL text: the statements are constants, and the JSON key travels as a bound ``text``
parameter (``stats->>$3``, ``ARRAY[$3]``), accepted only after the whitelist check.

Each statement locks the affected rows (``FOR UPDATE``, in player-id order so concurrent
batches cannot deadlock), computes the new value from the locked row, clamps it, writes it,
and returns the old and new values, all in one round trip. Under READ COMMITTED a concurrent
writer waits for the lock and then works on the committed value, so no delta is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from models.stats import NUMERIC_STATS, STAT_REGISTRY
from persistence.errors import InvalidAmountError, InvalidFieldError, ValidationError, describe

__all__ = [
    "MAX_DELTA",
    "APPLY_STAT_DELTAS_PLAIN_SQL",
    "APPLY_STAT_DELTAS_SQL",
    "APPLY_STAT_DELTA_PLAIN_SQL",
    "APPLY_STAT_DELTA_SQL",
    "APPLY_XP_DELTAS_LINEAR_SQL",
    "APPLY_XP_DELTAS_SQL",
    "APPLY_XP_DELTA_LINEAR_SQL",
    "APPLY_XP_DELTA_SQL",
    "FieldBounds",
    "LevelCurve",
    "check_amount",
    "check_delta",
    "field_bounds",
    "whitelisted_field",
]

MAX_DELTA: Final = 1_000_000_000
"""Largest absolute delta accepted in one call; anything larger is a caller bug."""


@dataclass(frozen=True, slots=True)
class FieldBounds:
    """How one stat is clamped, as bound parameters of the delta statement.

    Attributes:
        field: The stat key.
        default: Value assumed when the key is missing from a document.
        minimum: Lower bound, or ``None``.
        maximum: Upper bound, or ``None``.
        cap_key: Another stat whose current value caps this one (``max_health``), or ``None``.
        dependent: A stat capped by this one, re-clamped when this one drops, or ``None``.
    """

    field: str
    default: int
    minimum: int | None
    maximum: int | None
    cap_key: str | None
    dependent: str | None


def whitelisted_field(field_name: object) -> str:
    """Return ``field_name`` if atomic updates may change it.

    Raises:
        InvalidFieldError: Not a numeric key of the stat registry (also a ``ValueError``).
    """
    if not isinstance(field_name, str) or field_name not in NUMERIC_STATS:
        allowed = ", ".join(sorted(NUMERIC_STATS))
        raise InvalidFieldError(f"invalid stat field {describe(field_name)}; allowed: {allowed}")
    return field_name


def field_bounds(field_name: str, *, health_floor: int) -> FieldBounds:
    """The clamp of a whitelisted field; ``current_health`` bottoms out at the health floor."""
    spec = STAT_REGISTRY[whitelisted_field(field_name)]
    assert isinstance(spec.default, int)  # noqa: S101 - numeric by the whitelist
    minimum = health_floor if field_name == "current_health" else spec.minimum
    dependents = [s.name for s in STAT_REGISTRY.values() if s.maximum == field_name]
    return FieldBounds(
        field=field_name,
        default=spec.default,
        minimum=minimum,
        maximum=spec.maximum if isinstance(spec.maximum, int) else None,
        cap_key=spec.maximum if isinstance(spec.maximum, str) else None,
        dependent=dependents[0] if dependents else None,
    )


def check_delta(delta: object) -> int:
    """A delta must be a plain int (not bool, not float) within ``MAX_DELTA``."""
    if not isinstance(delta, int) or isinstance(delta, bool):
        raise InvalidAmountError(f"delta must be an int, got {describe(delta)}")
    if abs(delta) > MAX_DELTA:
        raise InvalidAmountError(f"delta {delta} is beyond +/-{MAX_DELTA}")
    return delta


def check_amount(amount: object) -> int:
    """An amount (damage, healing, XP) must be a non-negative int within ``MAX_DELTA``."""
    value = check_delta(amount)
    if value < 0:
        raise InvalidAmountError(f"amount must not be negative, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class LevelCurve:
    """Level as a function of experience points.

    With no thresholds: ``level = xp // xp_per_level + 1``. With thresholds (the XP at which
    levels 2, 3, ... start, ascending): ``level = 1 + number of thresholds <= xp``.
    """

    xp_per_level: int = 100
    thresholds: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.xp_per_level < 1:
            raise ValidationError("xp_per_level must be >= 1")
        if list(self.thresholds) != sorted(self.thresholds) or any(t < 0 for t in self.thresholds):
            raise ValidationError("level thresholds must be non-negative and ascending")

    def level_for(self, xp: int) -> int:
        """The level for ``xp`` experience points (the same rule the SQL applies)."""
        if self.thresholds:
            return 1 + sum(1 for t in self.thresholds if t <= xp)
        return xp // self.xp_per_level + 1


# $1 uuid[] ids, $2 bigint[] deltas, $3 field, $4 default, $5 minimum, $6 maximum,
# $7 cap_key, $8 dependent. Applies only if every id exists (all or nothing); rows of
# `missing` name the ids found when it did not.
APPLY_STAT_DELTAS_SQL: Final = """
WITH d AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS d(player_id, delta)
),
old AS (
    SELECT p.player_id, d.delta,
           COALESCE((p.stats->>$3::text)::bigint, $4::bigint) AS old_value,
           LEAST(GREATEST(COALESCE((p.stats->>$3::text)::bigint, $4::bigint) + d.delta,
                          $5::bigint),
                 $6::bigint, (p.stats->>$7::text)::bigint) AS new_value
      FROM players p JOIN d ON d.player_id = p.player_id
     ORDER BY p.player_id
       FOR UPDATE OF p
),
upd AS (
    UPDATE players p
       SET stats = CASE
           WHEN $8::text IS NULL THEN jsonb_set(p.stats, ARRAY[$3::text], to_jsonb(c.new_value))
           ELSE jsonb_set(
               jsonb_set(p.stats, ARRAY[$3::text], to_jsonb(c.new_value)),
               ARRAY[$8::text],
               to_jsonb(LEAST((p.stats->>$8::text)::bigint, c.new_value)))
       END
      FROM old c
     WHERE p.player_id = c.player_id
       AND (SELECT count(*) FROM old) = cardinality($1::uuid[])
    RETURNING p.player_id, c.old_value, c.new_value, c.delta,
              (p.stats->>'max_health')::bigint AS max_health,
              (p.stats->>'current_health')::bigint AS current_health
)
SELECT player_id, old_value, new_value, delta, max_health, current_health, true AS applied
  FROM upd
UNION ALL
SELECT player_id, NULL, NULL, NULL, NULL, NULL, false FROM old
 WHERE NOT EXISTS (SELECT 1 FROM upd)
"""

# The same for one player, without the batch machinery (a cheaper plan for the common case).
# $1 uuid id, $2 bigint delta, then $3..$8 as above. No row when the player does not exist.
APPLY_STAT_DELTA_SQL: Final = """
WITH old AS (
    SELECT p.player_id,
           COALESCE((p.stats->>$3::text)::bigint, $4::bigint) AS old_value,
           LEAST(GREATEST(COALESCE((p.stats->>$3::text)::bigint, $4::bigint) + $2::bigint,
                          $5::bigint),
                 $6::bigint, (p.stats->>$7::text)::bigint) AS new_value
      FROM players p
     WHERE p.player_id = $1
       FOR UPDATE
)
UPDATE players p
   SET stats = CASE
       WHEN $8::text IS NULL THEN jsonb_set(p.stats, ARRAY[$3::text], to_jsonb(c.new_value))
       ELSE jsonb_set(
           jsonb_set(p.stats, ARRAY[$3::text], to_jsonb(c.new_value)),
           ARRAY[$8::text],
           to_jsonb(LEAST((p.stats->>$8::text)::bigint, c.new_value)))
   END
  FROM old c
 WHERE p.player_id = c.player_id
RETURNING p.player_id, c.old_value, c.new_value, $2::bigint AS delta,
          (p.stats->>'max_health')::bigint AS max_health,
          (p.stats->>'current_health')::bigint AS current_health, true AS applied
"""

# $1 uuid[] ids, $2 bigint[] deltas, $3 xp_per_level, $4 bigint[] thresholds.
APPLY_XP_DELTAS_SQL: Final = """
WITH d AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS d(player_id, delta)
),
old AS (
    SELECT p.player_id, p.experience_points, p.level, d.delta
      FROM players p JOIN d ON d.player_id = p.player_id
     ORDER BY p.player_id
       FOR UPDATE OF p
),
upd AS (
    UPDATE players p
       SET experience_points = o.experience_points + o.delta,
           level = CASE
               WHEN cardinality($4::bigint[]) = 0
                   THEN (o.experience_points + o.delta) / $3::bigint + 1
               ELSE 1 + (SELECT count(*) FROM unnest($4::bigint[]) t
                          WHERE t <= o.experience_points + o.delta)
           END
      FROM old o
     WHERE p.player_id = o.player_id
       AND (SELECT count(*) FROM old) = cardinality($1::uuid[])
    RETURNING p.player_id, o.delta, o.experience_points AS old_xp,
              p.experience_points AS new_xp, o.level AS old_level, p.level AS new_level
)
SELECT player_id, delta, old_xp, new_xp, old_level, new_level, true AS applied FROM upd
UNION ALL
SELECT player_id, NULL, NULL, NULL, NULL, NULL, false FROM old
 WHERE NOT EXISTS (SELECT 1 FROM upd)
"""


def missing_ids(requested: Sequence[object], found: Sequence[object]) -> list[object]:
    """The requested ids that were not found, in request order."""
    seen = set(found)
    return [i for i in requested if i not in seen]


# One player: $1 uuid id, $2 bigint delta, $3 xp_per_level, $4 bigint[] thresholds.
APPLY_XP_DELTA_SQL: Final = """
WITH old AS (
    SELECT player_id, experience_points, level FROM players WHERE player_id = $1 FOR UPDATE
)
UPDATE players p
   SET experience_points = o.experience_points + $2::bigint,
       level = CASE
           WHEN cardinality($4::bigint[]) = 0
               THEN (o.experience_points + $2::bigint) / $3::bigint + 1
           ELSE 1 + (SELECT count(*) FROM unnest($4::bigint[]) t
                      WHERE t <= o.experience_points + $2::bigint)
       END
  FROM old o
 WHERE p.player_id = o.player_id
RETURNING p.player_id, $2::bigint AS delta, o.experience_points AS old_xp,
          p.experience_points AS new_xp, o.level AS old_level, p.level AS new_level,
          true AS applied
"""


def _without_dependent(sql: str) -> str:
    """The same statement for a field nothing depends on (all but max_health): no CASE."""
    start = sql.index("SET stats = CASE")
    end = sql.index("END", start) + len("END")
    return (
        sql[:start]
        + "SET stats = jsonb_set(p.stats, ARRAY[$3::text], to_jsonb(c.new_value))"
        + sql[end:]
    )


APPLY_STAT_DELTAS_PLAIN_SQL: Final = _without_dependent(APPLY_STAT_DELTAS_SQL)
""":data:`APPLY_STAT_DELTAS_SQL` for a field without a dependent key ($8 is unused)."""
APPLY_STAT_DELTA_PLAIN_SQL: Final = _without_dependent(APPLY_STAT_DELTA_SQL)
""":data:`APPLY_STAT_DELTA_SQL` for a field without a dependent key ($8 is unused)."""


def _linear_levels(sql: str) -> str:
    """The XP statement for the linear curve (no thresholds array)."""
    start = sql.index("level = CASE")
    end = sql.index("END", start) + len("END")
    return sql[:start] + "level = (o.experience_points + {delta}) / $3::bigint + 1" + sql[end:]


APPLY_XP_DELTAS_LINEAR_SQL: Final = _linear_levels(APPLY_XP_DELTAS_SQL).replace(
    "{delta}", "o.delta"
)
""":data:`APPLY_XP_DELTAS_SQL` for the linear curve ($4 is unused)."""
APPLY_XP_DELTA_LINEAR_SQL: Final = _linear_levels(APPLY_XP_DELTA_SQL).replace(
    "{delta}", "$2::bigint"
)
""":data:`APPLY_XP_DELTA_SQL` for the linear curve ($4 is unused)."""

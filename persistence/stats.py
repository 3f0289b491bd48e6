"""Atomic stat arithmetic: the whitelist, the bounds, the level curve, the argument checks.

Everything here is derived from :data:`models.stats.STAT_REGISTRY`. The statements that
apply deltas live with the repositories that run them (``repositories/atomic.py`` for stat
fields, ``repositories/experience.py`` for XP); field names never reach their SQL text: the
JSON key travels as a bound ``text`` parameter, accepted only after the whitelist check here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from persistence.errors import InvalidAmountError, InvalidFieldError, ValidationError, describe
from persistence.models.stats import NUMERIC_STATS, STAT_REGISTRY, STAT_VALUE_LIMIT

__all__ = [
    "MAX_DELTA",
    "FieldBounds",
    "LevelCurve",
    "check_amount",
    "check_delta",
    "field_bounds",
    "missing_ids",
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
        cap_default: The cap key's default, the cap when a document lacks that key.
        dependent: A stat capped by this one, re-clamped when this one drops, or ``None``.
        dependent_default: The dependent's default, its value when a document lacks it.
    """

    field: str
    default: int
    minimum: int | None
    maximum: int | None
    cap_key: str | None
    cap_default: int | None
    dependent: str | None
    dependent_default: int | None


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
    cap_key = spec.maximum if isinstance(spec.maximum, str) else None
    cap_default = STAT_REGISTRY[cap_key].default if cap_key is not None else None
    dependent_default = STAT_REGISTRY[dependents[0]].default if dependents else None
    return FieldBounds(
        field=field_name,
        default=spec.default,
        minimum=minimum,
        # Every stat is a 32-bit value (the schema and the CHECKs say so): an open maximum
        # clamps at that, so a large delta clamps instead of breaking a CHECK.
        maximum=spec.maximum if isinstance(spec.maximum, int) else STAT_VALUE_LIMIT,
        cap_key=cap_key,
        cap_default=cap_default if isinstance(cap_default, int) else None,
        dependent=dependents[0] if dependents else None,
        dependent_default=dependent_default if isinstance(dependent_default, int) else None,
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
        return min(xp // self.xp_per_level + 1, 2**31 - 1)  # the level column is an int


def missing_ids(requested: Sequence[object], found: Sequence[object]) -> list[object]:
    """The requested ids that were not found, in request order."""
    seen = set(found)
    return [i for i in requested if i not in seen]

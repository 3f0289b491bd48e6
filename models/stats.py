"""The player stat registry and the typed ``players.stats`` document.

Every stat key is declared once, in :data:`STAT_REGISTRY`, with its default and its bounds.
Everything else is derived from it: the pydantic :class:`PlayerStats` schema, the database
default of ``players.stats`` (the upstream system had the ORM and the DDL disagree), and the
whitelist of fields that atomic updates may touch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "HEALTH_FLOOR_DEFAULT",
    "STAT_VALUE_LIMIT",
    "NUMERIC_STATS",
    "STAT_REGISTRY",
    "PlayerStats",
    "StatSpec",
    "default_stats_document",
    "default_stats_json",
    "stats_from_json",
]

HEALTH_FLOOR_DEFAULT: Final = 0
"""Lowest current_health when settings say nothing; games with a dying state lower it."""

STAT_VALUE_LIMIT: Final = 2**31 - 1
"""Bound of every numeric stat the registry leaves open (``max_health``, and ``current_health``
below its floor setting): a stats value is a 32-bit integer, checked by the schema and the
database alike."""


@dataclass(frozen=True, slots=True)
class StatSpec:
    """One stat key: its default and the range every write is clamped to.

    Attributes:
        name: The key inside ``players.stats``.
        default: Value of a new player.
        minimum: Lowest allowed value; ``None`` for the health floor, which comes from settings.
        maximum: Highest allowed value: a number, the name of another stat that caps this one
            (``current_health`` is capped by ``max_health``), or ``None`` for no cap.
    """

    name: str
    default: int | str
    minimum: int | None
    maximum: int | str | None

    @property
    def numeric(self) -> bool:
        """Whether atomic deltas may apply to this key (only integer stats)."""
        return isinstance(self.default, int)


_CORE = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")
_OCCULT = ("occult_knowledge", "fear", "corruption", "cult_affiliation")

STAT_REGISTRY: Final[MappingProxyType[str, StatSpec]] = MappingProxyType(
    {
        **{name: StatSpec(name, 50, 1, 100) for name in _CORE},
        "lucidity": StatSpec("lucidity", 100, 0, 100),
        **{name: StatSpec(name, 0, 0, 100) for name in _OCCULT},
        "max_health": StatSpec("max_health", 100, 1, None),
        "current_health": StatSpec("current_health", 100, None, "max_health"),
        "position": StatSpec("position", "standing", None, None),
    }
)
"""Every stat key, in document order. Add a key here (and a migration for the DB default)."""

NUMERIC_STATS: Final[frozenset[str]] = frozenset(
    name for name, spec in STAT_REGISTRY.items() if spec.numeric
)
"""Keys atomic updates may change; derived from the registry, never written by hand."""


def _field(name: str) -> Any:
    spec = STAT_REGISTRY[name]
    default: Any = spec.default
    if not spec.numeric:
        return Field(default=default)
    lower = spec.minimum if spec.minimum is not None else -STAT_VALUE_LIMIT
    upper = spec.maximum if isinstance(spec.maximum, int) else STAT_VALUE_LIMIT
    return Field(default=default, ge=lower, le=upper)


class PlayerStats(BaseModel):
    """The typed ``players.stats`` JSONB document.

    Bounds come from :data:`STAT_REGISTRY`. The health floor is a setting, so the schema only
    checks ``current_health <= max_health``; the repositories enforce the floor on writes.
    Unknown keys are kept (``extra="allow"``) so a game's own keys survive a load and a save.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    strength: int = _field("strength")
    dexterity: int = _field("dexterity")
    constitution: int = _field("constitution")
    intelligence: int = _field("intelligence")
    wisdom: int = _field("wisdom")
    charisma: int = _field("charisma")
    lucidity: int = _field("lucidity")
    occult_knowledge: int = _field("occult_knowledge")
    fear: int = _field("fear")
    corruption: int = _field("corruption")
    cult_affiliation: int = _field("cult_affiliation")
    max_health: int = _field("max_health")
    current_health: int = _field("current_health")
    position: Literal["standing", "sitting", "lying"] | str = _field("position")

    @model_validator(mode="after")
    def _health_within_max(self) -> PlayerStats:
        if self.current_health > self.max_health:
            raise ValueError(
                f"current_health {self.current_health} exceeds max_health {self.max_health}"
            )
        return self


def stats_from_json(document: str | bytes) -> PlayerStats:
    """The stats of a stored document (JSON text), as every read of the layer takes them.

    Strict: a stat is a JSON integer written as one (``50``). ``true`` and ``"50"``, which a
    lax read would take as 1 and 50, and ``50.0``, are corrupt. The database's jsonpath
    CHECKs refuse the first two and compare numbers, so they accept ``50.0``: the layer
    never writes it, and reads and the audit report it.

    Raises:
        pydantic.ValidationError: The document breaks the schema.
    """
    return PlayerStats.model_validate_json(document, strict=True)


def _check_registry_matches_schema() -> None:
    declared = [name for name in PlayerStats.model_fields]
    if declared != list(STAT_REGISTRY):
        raise RuntimeError(f"PlayerStats fields {declared} differ from STAT_REGISTRY")


_check_registry_matches_schema()


def default_stats_document() -> dict[str, int | str]:
    """A new player's stats, as the plain document stored in ``players.stats``."""
    return {name: spec.default for name, spec in STAT_REGISTRY.items()}


def default_stats_json() -> str:
    """The same document as compact JSON, for the column's database default."""
    return json.dumps(default_stats_document(), separators=(",", ":"))

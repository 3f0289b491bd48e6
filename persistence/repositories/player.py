"""PlayerRepository: reads, dirty-field saves, batch upserts and the room auto-fix.

Reads of players are hand-written statements run through Tortoise's connection client: the
plain queryset (``Player.filter(...).first()``) is 1.7x the driver on the hot single-row read
(target 1.3x; see the "plain Tortoise" column of ``docs/performance.md``), its cost being the
query built per call. Rows become :class:`Player` instances through Tortoise's own
``_init_from_db``. Saves write only what the caller changed since the object was loaded, and
only if the database still holds the values the object was loaded with (compare-and-set per
field); see ``docs/decisions/0002-save-player-dirty-fields.md``. Updates of single columns and
the delete are model queries.
"""

from __future__ import annotations

import functools
import json
import logging
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import ValidationError as PydanticValidationError
from pypika_tortoise.terms import Term, ValueWrapper
from tortoise.expressions import Expression, ResolveContext, ResolveResult

from persistence.db import Row
from persistence.errors import (
    ConfigurationError,
    ConflictError,
    CorruptRowError,
    DuplicateError,
    NoExitError,
    NotFoundError,
    PlayerDeletedError,
    PlayerSoftDeletedError,
    StaleDataError,
    ValidationError,
    describe,
)
from persistence.events import (
    Event,
    PlayerCreated,
    PlayerDeleted,
    PlayerMoved,
    PlayerRestored,
    PlayerRoomFixed,
    PlayerRowCorrupt,
    PlayerSaved,
    PlayerSoftDeleted,
)
from persistence.models.container import Container
from persistence.models.player import READ_COLUMNS, TRACKED_COLUMNS, Player
from persistence.models.room import Room
from persistence.models.stats import STAT_REGISTRY, PlayerStats, stats_from_json
from persistence.repositories.base import BaseRepository, Client, as_uuid, check_text
from persistence.repositories.cache import RoomCache
from persistence.validation import check_datetime, check_json, check_sequence, player_id_of

__all__ = [
    "PlayerRepository",
    "StatsHealthHolds",
    "StatsKeysHold",
    "StatsPatch",
    "name_key",
    "name_problem",
    "normalize_name",
    "validate_player",
]

log = logging.getLogger(__name__)

# Column -> SQL type of every tracked column except stats (handled as a JSONB patch).
# These names are the only identifiers formatted into SQL in this module.
_COLUMN_TYPES: Final[dict[str, str]] = {
    "user_id": "uuid",
    "name": "text",
    "current_room_id": "text",
    "respawn_room_id": "text",
    "profession_id": "int",
    "experience_points": "bigint",
    "level": "int",
    "is_admin": "bool",
    "created_at": "timestamptz",
    "last_active": "timestamptz",
}
assert set(_COLUMN_TYPES) | {"stats"} == set(TRACKED_COLUMNS)  # noqa: S101 - import-time guard

PLAYER_COLUMNS: Final = "player_id, " + ", ".join(READ_COLUMNS)
NAME_KEY_SQL: Final = "lower(translate(name, '\u03c2', '\u03c3'))"
"""What names are unique by (the partial unique index's expression): case ignored, Greek
final sigma as sigma (PostgreSQL's ``lower()`` keeps them apart)."""


_NAME_KEY_OF_PARAMETER: Final = NAME_KEY_SQL.replace("name", "$1")


def name_key(name: str) -> str:
    """:data:`NAME_KEY_SQL` in Python, for the in-memory twin.

    Per-character lower case, as PostgreSQL's C.UTF-8 ``lower()`` does it, and final sigma as
    sigma.
    """
    return "".join(ch.lower()[:1] for ch in name).replace("\u03c2", "\u03c3")


_SELECT: Final = f"SELECT {PLAYER_COLUMNS} FROM players"  # noqa: S608 - constant identifiers


def _set_clause(column: str, sql_type: str) -> str:
    return (
        f"{column} = CASE WHEN i.patch ? '{column}' "
        f"THEN (i.patch->>'{column}')::{sql_type} ELSE p.{column} END"
    )


def _expect_clause(column: str, sql_type: str) -> str:
    # The loaded value still there, or already the value being written (a repeat of a save
    # that was applied before its connection died): either way writing it is correct.
    return (
        f"(NOT i.expected ? '{column}'"
        f" OR p.{column} IS NOT DISTINCT FROM (i.expected->>'{column}')::{sql_type}"
        f" OR p.{column} IS NOT DISTINCT FROM (i.patch->>'{column}')::{sql_type})"
    )


def _health_within_bounds(document: str, floor: str) -> str:
    """SQL: the document's current_health lies in [floor, its max_health] (missing: defaults)."""
    current, maximum = STAT_REGISTRY["current_health"], STAT_REGISTRY["max_health"]
    return (
        f"CASE WHEN COALESCE(jsonb_typeof({document}->'current_health'), 'number') = 'number'"
        f" AND COALESCE(jsonb_typeof({document}->'max_health'), 'number') = 'number'"
        f" THEN COALESCE(({document}->>'current_health')::numeric, {current.default})"
        f" BETWEEN {floor} AND COALESCE(({document}->>'max_health')::numeric, {maximum.default})"
        " ELSE false END"
    )


_MERGED: Final = "((p.stats - ARRAY(SELECT jsonb_array_elements_text(i.removed))) || i.stats_patch)"

# Hand-written: one statement saves any number of players (unnest), each described by one
# JSON document, with per-player outcomes; querysets would be one UPDATE per player:
#   p: changed columns, s: changed stat keys, r: stat keys removed,
#   e: the loaded values of exactly those fields (compare-and-set; absent with overwrite),
#   f: the full row, only for a player never loaded (then the row is replaced or inserted).
# A loaded player updates only its changed fields, only if every expected value still
# matches, and only if the health it leaves lies in [$3 floor, max_health] against the values
# the database holds. A loaded player whose row is gone comes back "missing", a soft-deleted one
# "soft_deleted", and then nothing at all is written (a save never brings a deleted player back).
_SAVE_SQL: Final = f"""
WITH input AS (
    SELECT d.player_id, d.doc->'p' AS patch, d.doc->'s' AS stats_patch, d.doc->'r' AS removed,
           d.doc->'e' AS expected, d.doc->'f' AS full_row
      FROM unnest($1::uuid[], $2::jsonb[]) AS d(player_id, doc)
),
missing AS (
    SELECT i.player_id FROM input i
     WHERE i.full_row IS NULL
       AND NOT EXISTS (SELECT 1 FROM players x WHERE x.player_id = i.player_id)
),
soft_deleted AS (
    SELECT i.player_id FROM input i JOIN players x ON x.player_id = i.player_id
     WHERE x.is_deleted
),
updated AS (
    UPDATE players p SET
        {", ".join(_set_clause(c, t) for c, t in _COLUMN_TYPES.items())},
        stats = CASE
            WHEN i.full_row IS NOT NULL THEN i.stats_patch
            WHEN i.stats_patch IS NULL THEN p.stats
            ELSE {_MERGED}
        END
    FROM input i
    WHERE p.player_id = i.player_id
      AND NOT EXISTS (SELECT 1 FROM missing)
      AND NOT EXISTS (SELECT 1 FROM soft_deleted)
      AND (i.expected IS NULL OR (
          {" AND ".join(_expect_clause(c, t) for c, t in _COLUMN_TYPES.items())}
          AND NOT EXISTS (
              SELECT 1 FROM jsonb_each(COALESCE(i.expected->'stats', '{{}}'::jsonb)) e
              WHERE p.stats->e.key IS DISTINCT FROM e.value
                AND p.stats->e.key IS DISTINCT FROM i.stats_patch->e.key)))
      AND (i.full_row IS NOT NULL OR i.stats_patch IS NULL
           OR NOT i.stats_patch ?| ARRAY['current_health', 'max_health']
           OR {_health_within_bounds(_MERGED, "$3::int")})
    RETURNING p.player_id
),
inserted AS (
    INSERT INTO players (player_id, {", ".join(_COLUMN_TYPES)}, stats)
    SELECT i.player_id,
           {", ".join(f"(i.full_row->>'{c}')::{t}" for c, t in _COLUMN_TYPES.items())},
           i.full_row->'stats'
      FROM input i
     WHERE i.full_row IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM missing)
       AND NOT EXISTS (SELECT 1 FROM soft_deleted)
       AND NOT EXISTS (SELECT 1 FROM players x WHERE x.player_id = i.player_id)
    ON CONFLICT (player_id) DO NOTHING
    RETURNING player_id
)
SELECT player_id, 'inserted' AS outcome FROM inserted
UNION ALL
SELECT player_id, 'updated' FROM updated
UNION ALL
SELECT player_id, 'missing' FROM missing
UNION ALL
SELECT player_id, 'soft_deleted' FROM soft_deleted
"""  # noqa: S608 - identifiers come from _COLUMN_TYPES only; every value is a bound parameter


# Hand-written: the move also takes a key-share lock on the room entered, so a concurrent
# delete_room either sees the player there (and refuses) or commits first (and the move finds
# no room); a queryset update cannot lock another table's row.
_MOVE_SQL: Final = """
UPDATE players SET current_room_id = $3
 WHERE player_id = $1 AND current_room_id = $2 AND NOT is_deleted
   AND EXISTS (SELECT 1 FROM rooms r WHERE r.room_id = $3 FOR KEY SHARE)
RETURNING player_id
"""


class _Sql(Term):
    """A SQL fragment around other terms; values inside are bound parameters (``$n``)."""

    def __init__(self, template: str, *parts: Term) -> None:
        super().__init__()
        self._template = template
        self._parts = parts

    def get_sql(self, ctx: Any) -> str:
        return self._template.format(*(part.get_sql(ctx) for part in self._parts))


class StatsPatch(Expression):
    """``stats`` with some keys removed and others set, for ``QuerySet.update(stats=...)``.

    Tortoise hands a plain value (even a ``RawSQL``) given to ``update()`` of a JSONField to the
    field's JSON encoder; an :class:`~tortoise.expressions.Expression` is resolved into SQL
    instead. The removed keys and the patch travel as bound parameters.
    """

    def __init__(self, patch: dict[str, Any], removed: Sequence[str]) -> None:
        self._patch = _dumps(patch)
        self._removed = list(removed)

    def resolve(self, resolve_context: ResolveContext) -> ResolveResult:
        """``(stats - $removed::text[]) || $patch::jsonb``."""
        column = resolve_context.table["stats"]
        term = _Sql(
            "(({} - CAST({} AS TEXT[])) || CAST({} AS JSONB))",
            column,
            ValueWrapper(self._removed),
            ValueWrapper(self._patch),
        )
        return ResolveResult(term=term)


class StatsKeysHold(Expression):
    """True while every given stats key holds its expected value or the value being written.

    The compare-and-set of a save, as a boolean to filter an update on (annotate, then filter
    on the annotation): Tortoise has no lookup comparing single JSONB keys by JSON value.
    """

    def __init__(self, expected: dict[str, Any], new: dict[str, Any]) -> None:
        self._expected = _dumps(expected)
        self._new = _dumps(new)

    def resolve(self, resolve_context: ResolveContext) -> ResolveResult:
        """``NOT EXISTS`` a key whose stored value is neither the expected nor the new one."""
        column = resolve_context.table["stats"]
        term = _Sql(
            "(NOT EXISTS (SELECT 1 FROM jsonb_each(CAST({} AS JSONB)) e"
            " WHERE {}->e.key IS DISTINCT FROM e.value"
            " AND {}->e.key IS DISTINCT FROM CAST({} AS JSONB)->e.key))",
            ValueWrapper(self._expected),
            column,
            column,
            ValueWrapper(self._new),
        )
        return ResolveResult(term=term)


class StatsHealthHolds(Expression):
    """True when ``stats`` patched (keys removed, others set) keeps its health in bounds.

    current_health in [floor, max_health], against the values the database holds: a save of a
    stale copy never leaves the row outside the bounds an atomic update keeps.
    """

    def __init__(self, patch: dict[str, Any], removed: Sequence[str], floor: int) -> None:
        self._patch = _dumps(patch)
        self._removed = list(removed)
        self._floor = floor

    def resolve(self, resolve_context: ResolveContext) -> ResolveResult:
        """The bounds check of ``_SAVE_SQL`` on the patched document."""
        column = resolve_context.table["stats"]
        # Constant SQL around numbered slots; the slots become the column and bound parameters.
        merged = "(({0} - CAST({1} AS TEXT[])) || CAST({2} AS JSONB))"
        template = "(" + _health_within_bounds(merged, "CAST({3} AS INT)") + ")"
        term = _Sql(
            template,
            column,
            ValueWrapper(self._removed),
            ValueWrapper(self._patch),
            ValueWrapper(self._floor),
        )
        return ResolveResult(term=term)


def _native(value: object) -> object:
    """A column value for asyncpg: timestamps without a zone are taken as UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _json_default(value: object) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _dumps(value: object) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def players_from_rows(rows: Iterable[Row]) -> list[Player]:
    """Build Player models from rows of ``SELECT PLAYER_COLUMNS``; a corrupt row raises.

    Raises:
        CorruptRowError: A row's stats document breaks the schema (the first such row).
    """
    players, corrupt = split_rows(rows)
    if corrupt:
        raise corrupt[0]
    return players


def split_rows(rows: Iterable[Row]) -> tuple[list[Player], list[CorruptRowError]]:
    """The players the rows hold, and an error for each row whose stats break the schema."""
    players: list[Player] = []
    corrupt: list[CorruptRowError] = []
    for row in rows:
        try:
            players.append(Player._init_from_db(**row))
        except PydanticValidationError as exc:
            corrupt.append(_corrupt(row["player_id"], exc))
    return players, corrupt


def report_corrupt(corrupt: Sequence[CorruptRowError], emit: Callable[..., None]) -> None:
    """Log each corrupt row a multi-row read skipped, and emit a PlayerRowCorrupt for it."""
    for error in corrupt:
        log.warning("skipping a corrupt player row: %s", error)
    if corrupt:
        emit(
            *(
                PlayerRowCorrupt(player_id=e.key, fields=e.fields, error=str(e))
                for e in corrupt
                if isinstance(e.key, uuid.UUID)
            )
        )


def stats_problem(player_id: object, document: str) -> CorruptRowError | None:
    """The error a read would raise for this stats document (JSON text), or ``None``."""
    try:
        stats_from_json(document)
    except PydanticValidationError as exc:
        return _corrupt(player_id, exc)
    return None


def _corrupt(player_id: object, exc: PydanticValidationError) -> CorruptRowError:
    fields = tuple(
        dict.fromkeys(str(e["loc"][0]) if e["loc"] else "stats" for e in exc.errors())
    ) or ("stats",)
    first = exc.errors()[0]["msg"] if exc.errors() else str(exc)
    return CorruptRowError("player", player_id, fields, first)


def _plain(value: object) -> object:
    """A column value as JSON can carry it (the SQL casts it back to the column type)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return value


class _SaveRow:
    """What one player contributes to a save: one compact JSON document, and what it writes.

    The values written are taken here, before any await: a change the game makes while the
    save runs is not part of this save, and the object must not pretend it was written.
    """

    __slots__ = ("columns", "doc", "fields", "full", "player", "removed", "stats")

    def __init__(self, player: Player, stats: dict[str, Any], *, overwrite: bool) -> None:
        self.player = player
        snapshot = player.persisted_values()
        self.full = snapshot is None
        if snapshot is None:
            self.doc: dict[str, Any] | None = _full_doc(player, stats)
            self.fields: tuple[str, ...] = (*_COLUMN_TYPES, "stats")
            self.columns: dict[str, Any] = {n: getattr(player, n) for n in _COLUMN_TYPES}
            self.stats: dict[str, Any] = stats
            self.removed: list[str] = []
            return
        patch = {}
        for name in _COLUMN_TYPES:
            value = getattr(player, name)
            if value != snapshot[name]:
                patch[name] = value
        old_stats: dict[str, Any] = snapshot["stats"]
        changed = {k: v for k, v in stats.items() if old_stats.get(k, _MISSING) != v}
        removed = [k for k in old_stats if k not in stats]
        self.columns, self.stats, self.removed = patch, changed, removed
        self.fields = (*patch, *(f"stats.{k}" for k in (*changed, *removed)))
        if not self.fields:
            self.doc = None
            return
        doc: dict[str, Any] = {"p": {k: _plain(v) for k, v in patch.items()}}
        if changed or removed:
            doc["s"] = changed
        if removed:
            doc["r"] = removed
        if not overwrite:
            expected: dict[str, Any] = {k: _plain(snapshot[k]) for k in patch}
            if changed or removed:
                expected["stats"] = {k: old_stats.get(k) for k in (*changed, *removed)}
            doc["e"] = expected
        self.doc = doc

    @property
    def touches_health(self) -> bool:
        """Whether the save writes current_health or max_health (the bounded pair)."""
        return not self.full and bool({"current_health", "max_health"} & set(self.stats))

    def written(self) -> None:
        """The save committed: the object now remembers exactly what it wrote."""
        self.player.mark_written(self.columns, self.stats, self.removed, full=self.full)


def _full_doc(player: Player, stats: dict[str, Any]) -> dict[str, Any]:
    columns = {name: _plain(getattr(player, name)) for name in _COLUMN_TYPES}
    return {"p": columns, "s": stats, "f": {**columns, "stats": stats}}


_MISSING: Final = object()
_NAME_LENGTH: Final = 50


# Scripts that one name may mix: Japanese writes Han, Hiragana and Katakana together (and
# the prolonged sound mark U+30FC is named for both kana).
_SCRIPT_FAMILIES: Final = {
    "CJK": "HAN",
    "HIRAGANA": "HAN",
    "KATAKANA": "HAN",
    "KATAKANA-HIRAGANA": "HAN",
    "IDEOGRAPHIC": "HAN",
}

# Letters that belong to no script of their own: modifier letters such as the Hawaiian
# okina (U+02BB) or the apostrophe U+02BC are written inside names of many scripts.
_SCRIPTLESS: Final = frozenset({"MODIFIER"})


def _script(char: str) -> str:
    script = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
    return _SCRIPT_FAMILIES.get(script, script)


def _scripts(name: str) -> set[str]:
    """The scripts of the letters in ``name`` (by the first word of each letter's Unicode name)."""
    found: set[str] = set()
    for char in name:
        if unicodedata.category(char).startswith("L"):
            found.add(_script(char))
    return found - _SCRIPTLESS


# Characters no name shows: controls, format characters (zero-width space and joiners, soft
# hyphen, bidirectional overrides), private use, surrogates, unassigned code points, line and
# paragraph separators. A name carrying one looks like the name without it.
_INVISIBLE: Final = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})

# Letters that exist for phonetics, not for writing names (Unicode's identifier profile
# calls them technical): IPA and phonetic extensions, with their small capitals. Each looks
# like a common letter (U+0251 like "a", U+1D00 like "A").
_TECHNICAL_BLOCKS: Final = (
    (0x0250, 0x02AF),  # IPA Extensions
    (0x1D00, 0x1DBF),  # Phonetic Extensions and their Supplement
)

_JOINERS: Final = frozenset({"\u200c", "\u200d"})
"""Zero-width non-joiner and joiner: invisible, yet part of the spelling of Persian and
Indic names (and of emoji sequences). Allowed only where they change how the characters
around them join (see :func:`_joins`), never beside a Latin letter."""

_JOINING_SCRIPTS: Final = frozenset({"ARABIC", "SYRIAC", "NKO", "MONGOLIAN", "MANDAIC"})


def _joins(name: str, at: int) -> bool:
    """Whether the joiner at ``at`` sits where it changes the rendering (as IDNA's rules)."""
    if not 0 < at < len(name) - 1:
        return False
    before, after = name[at - 1], name[at + 1]
    if unicodedata.combining(before) == 9:  # after a virama: Indic conjuncts
        return True
    if unicodedata.category(before) == "So" and unicodedata.category(after) == "So":
        return True  # an emoji sequence
    letters = unicodedata.category(before)[0] == "L" and unicodedata.category(after)[0] == "L"
    return letters and _script(before) == _script(after) and _script(before) in _JOINING_SCRIPTS


def name_problem(name: str) -> str | None:
    """Why ``name`` (as :func:`normalize_name` folded it) cannot be a player name, or ``None``."""
    for at, char in enumerate(name):
        if char in _JOINERS and _joins(name, at):
            continue
        if unicodedata.category(char) in _INVISIBLE:
            return f"contains an invisible or control character (U+{ord(char):04X})"
        if any(low <= ord(char) <= high for low, high in _TECHNICAL_BLOCKS):
            return f"contains a phonetic or technical letter (U+{ord(char):04X})"
    if len(_scripts(name)) > 1:
        return "mixes letters of different scripts (e.g. Latin with Cyrillic look-alikes)"
    return None


def _folded(name: str) -> str:
    # NFKC, then whitespace as one plain space between words ("Armitage " is "Armitage").
    return " ".join(unicodedata.normalize("NFKC", name).split())


def normalize_name(name: str) -> str | None:
    """A player name as stored; ``None`` if it cannot be one (see :func:`name_problem`).

    NFKC folds compatibility forms (``Armitage`` in full-width letters is ``Armitage``) and
    whitespace is trimmed and collapsed, so the case-insensitive unique index sees such
    variants as one name. A name that differs from another only by what cannot be seen
    (zero-width characters, bidirectional controls), by phonetic look-alike letters, or by
    mixing scripts (Latin letters with Cyrillic look-alikes) is refused: that is how
    impersonations are made, and no real name needs it. A name in one other script (Greek,
    Cyrillic, Japanese) is a name of its own.
    """
    folded = _folded(name)
    return None if name_problem(folded) is not None else folded


def validate_player(player: Player, *, health_floor: int) -> dict[str, Any]:
    """Check a player before any SQL; return its stats as a plain document.

    Raises:
        ValidationError: Anything the database would refuse, or the schema forbids.
    """
    if not isinstance(player, Player):
        raise ValidationError(f"expected a Player, got {describe(player)}")
    stats = player.stats
    if not isinstance(stats, (PlayerStats, dict)):
        raise ValidationError(f"stats must be an object, got {describe(stats)}")
    if not isinstance(stats, PlayerStats) or stats.current_health > stats.max_health:
        # Already-typed stats were validated on every assignment; anything else is checked.
        try:
            stats = PlayerStats.model_validate(
                stats.model_dump() if isinstance(stats, PlayerStats) else stats
            )
        except ValueError as exc:
            raise ValidationError(f"invalid stats for player {player.player_id}: {exc}") from exc
    floor = health_floor
    if stats.current_health < floor:
        raise ValidationError(f"current_health {stats.current_health} is below {floor}")
    check_text(player.name, "player name", max_length=_NAME_LENGTH)
    loaded = player.persisted_values()
    if loaded is not None and loaded.get("name") == player.name:
        # Unchanged since loaded: a name stored before today's rules stays as it is (a save
        # must not rename it behind the caller's back, nor refuse to save its other fields).
        name = player.name
    else:
        name = _folded(player.name)
        problem = name_problem(name)
        if problem is not None or not name:
            raise ValidationError(f"player name {describe(player.name)} {problem or 'is blank'}")
    if not name.strip() or len(name) > _NAME_LENGTH:
        raise ValidationError(f"player name must be 1-{_NAME_LENGTH} characters, not blank")
    if name != player.name:
        player.name = name  # stored NFKC-normalised; the object shows what is stored
    check_text(player.current_room_id, "current_room_id", max_length=255)
    if player.respawn_room_id is not None:
        check_text(player.respawn_room_id, "respawn_room_id", max_length=255)
    xp, level = player.experience_points, player.level
    if not isinstance(xp, int) or isinstance(xp, bool) or not 0 <= xp < 2**63:
        raise ValidationError(f"experience_points must be an int in 0..2**63-1, got {describe(xp)}")
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level < 2**31:
        raise ValidationError(f"level must be an int in 1..2**31-1, got {describe(level)}")
    as_uuid(player.player_id, "player_id")
    as_uuid(player.user_id, "user_id")
    now = datetime.now(UTC)
    # A new Player(...) has no timestamps until Tortoise would save it; we save it instead.
    for column in ("created_at", "last_active"):
        if getattr(player, column, None) is None:
            object.__setattr__(player, column, now)
        else:
            check_datetime(getattr(player, column), column)
    document = stats.model_dump()
    check_json(document, "stats")  # a game's own keys too: JSON only, bounded depth
    return document


@functools.lru_cache(maxsize=256)
def _save_one_sql(columns: tuple[str, ...], *, compare: bool, stats: bool, health: bool) -> str:
    """The update of one loaded player's changed fields, built once per shape.

    Hand-written: the same update as a queryset (``filter(Q(col=loaded) | Q(col=new))``,
    ``annotate(StatsKeysHold)``, ``update(stats=StatsPatch)``) costs about 100 µs of query
    building per call, which put ``save_player`` at 1.1-1.3x plain Tortoise in the benchmark
    (target 1.0). Only the column names of ``_COLUMN_TYPES`` are formatted in; $1 is the id,
    then the new values, the loaded values (compare), the removed keys and the stats patch,
    the loaded stats (compare), the health floor.
    """
    n = 1
    sets: list[str] = []
    where = ["p.player_id = $1", "NOT p.is_deleted"]
    new_at: dict[str, int] = {}
    for column in columns:
        n += 1
        new_at[column] = n
        sets.append(f"{column} = ${n}::{_COLUMN_TYPES[column]}")
    if compare:
        for column in columns:
            n += 1
            kind = _COLUMN_TYPES[column]
            where.append(
                f"(p.{column} IS NOT DISTINCT FROM ${n}::{kind}"
                f" OR p.{column} IS NOT DISTINCT FROM ${new_at[column]}::{kind})"
            )
    if stats:
        removed, patch = n + 1, n + 2
        n += 2
        merged = f"((p.stats - ${removed}::text[]) || ${patch}::jsonb)"
        sets.append(f"stats = {merged}")
        if compare:
            n += 1
            where.append(
                f"NOT EXISTS (SELECT 1 FROM jsonb_each(${n}::jsonb) e"  # noqa: S608 - parameter numbers only
                " WHERE p.stats -> e.key IS DISTINCT FROM e.value"
                f" AND p.stats -> e.key IS DISTINCT FROM ${patch}::jsonb -> e.key)"
            )
        if health:
            n += 1
            where.append(_health_within_bounds(merged, f"${n}::int"))
    return (
        f"UPDATE players p SET {', '.join(sets)} WHERE {' AND '.join(where)}"  # noqa: S608 - _COLUMN_TYPES names, parameter numbers
        " RETURNING p.player_id"
    )


class PlayerRepository(BaseRepository, metrics_name="players"):
    """Player CRUD and queries. ``get_*`` returns ``None`` when absent, ``require_*`` raises."""

    def __init__(self, room_cache: Mapping[str, Room] | None = None, **options: Any) -> None:
        """See :class:`BaseRepository` for ``options``.

        Args:
            room_cache: The rooms known to exist, for :meth:`validate_and_fix_player_room`:
                the layer's ``_room_cache``, or any mapping of room id to room. Without one
                (or while it is empty and not loaded) rooms are never "fixed".
            **options: ``event_bus``, ``settings``, ``retry_policy``, ``connection``, ``db``.
        """
        super().__init__(**options)
        self._room_cache: Mapping[str, Room] = room_cache if room_cache is not None else RoomCache()

    async def get_player_by_id(self, player_id: uuid.UUID | str) -> Player | None:
        """The player with this id, or ``None``; a soft-deleted one too (``is_deleted``)."""
        pid = as_uuid(player_id, "player_id")
        rows = await self._statement(f"{_SELECT} WHERE player_id = $1", [pid])
        return (await self._checked(players_from_rows(rows)))[0] if rows else None

    async def require_player(self, player_id: uuid.UUID | str) -> Player:
        """The player with this id.

        Raises:
            NotFoundError: No such player.
        """
        player = await self.get_player_by_id(player_id)
        if player is None:
            raise NotFoundError("player", player_id)
        return player

    async def get_player_by_name(self, name: str) -> Player | None:
        """The active player whose name equals ``name`` ignoring case, or ``None``."""
        check_text(name, "name", max_length=10_000, allow_empty=True)
        folded = normalize_name(name)
        keys = [folded] if folded is not None and 0 < len(folded) <= _NAME_LENGTH else []
        legacy = unicodedata.normalize("NFKC", name)
        if legacy != folded and 0 < len(legacy) <= _NAME_LENGTH:
            keys.append(legacy)  # a name stored before whitespace folding, as it was written
        for key in keys:  # the stored form first; the second only for a name it misses
            rows = await self._statement(
                f"{_SELECT} WHERE {NAME_KEY_SQL} = {_NAME_KEY_OF_PARAMETER} AND NOT is_deleted",
                [key],
            )
            if rows:
                return (await self._checked(players_from_rows(rows)))[0]
        return None

    async def get_player_by_user_id(self, user_id: uuid.UUID | str) -> Player | None:
        """The oldest active player of this account, or ``None`` (an account may have several)."""
        uid = as_uuid(user_id, "user_id")
        rows = await self._statement(
            f"{_SELECT} WHERE user_id = $1 AND NOT is_deleted"
            " ORDER BY created_at, player_id LIMIT 1",
            [uid],
        )
        return (await self._checked(players_from_rows(rows)))[0] if rows else None

    async def get_players_by_user_id(self, user_id: uuid.UUID | str) -> list[Player]:
        """Every character of this account, oldest first; soft-deleted ones too (``is_deleted``)."""
        uid = as_uuid(user_id, "user_id")
        rows = await self._statement(
            f"{_SELECT} WHERE user_id = $1 ORDER BY created_at, player_id", [uid]
        )
        return await self._checked(self._good_rows(rows))

    async def get_active_players_by_user_id(self, user_id: uuid.UUID | str) -> list[Player]:
        """The account's characters that are not soft-deleted, oldest first."""
        uid = as_uuid(user_id, "user_id")
        rows = await self._statement(
            f"{_SELECT} WHERE user_id = $1 AND NOT is_deleted ORDER BY created_at, player_id",
            [uid],
        )
        return await self._checked(self._good_rows(rows))

    async def list_players(
        self, *, limit: int | None = None, offset: int = 0, include_deleted: bool = False
    ) -> list[Player]:
        """Players ordered by name; ``limit``/``offset`` page through them.

        Soft-deleted characters are left out unless ``include_deleted``.
        """
        if limit is not None and (type(limit) is not int or not 0 <= limit < 2**63):
            raise ValidationError(f"limit must be an int in 0..2**63-1, got {describe(limit)}")
        if type(offset) is not int or not 0 <= offset < 2**63:
            raise ValidationError(f"offset must be an int in 0..2**63-1, got {describe(offset)}")
        if not isinstance(include_deleted, bool):
            raise ValidationError(
                f"include_deleted must be a bool, got {describe(include_deleted)}"
            )
        rows = await self._statement(
            f"{_SELECT} WHERE $3 OR NOT is_deleted"
            " ORDER BY lower(name), player_id LIMIT $1 OFFSET $2",
            [limit, offset, include_deleted],
        )
        return await self._checked(self._good_rows(rows))

    async def get_players_in_room(self, room_id: str) -> list[Player]:
        """Active players whose current room is ``room_id``, ordered by name."""
        check_text(room_id, "room_id", max_length=255)
        rows = await self._statement(
            f"{_SELECT} WHERE current_room_id = $1 AND NOT is_deleted ORDER BY lower(name)",
            [room_id],
        )
        players = await self._checked(self._good_rows(rows))
        # With the room fix on read, those it just moved away are no longer in this room.
        return [p for p in players if p.current_room_id == room_id]

    async def get_players_batch(self, player_ids: Sequence[uuid.UUID | str]) -> list[Player]:
        """The active players with these ids in one query, in the order asked.

        Missing and soft-deleted ids are skipped. An empty list returns at once, no query.
        """
        ids = [as_uuid(pid, "player_id") for pid in check_sequence(player_ids, "player_ids")]
        if not ids:
            return []
        rows = await self._statement(
            f"{_SELECT} WHERE player_id = ANY($1::uuid[]) AND NOT is_deleted", [ids]
        )
        by_id = {p.player_id: p for p in await self._checked(self._good_rows(rows))}
        return [by_id[pid] for pid in dict.fromkeys(ids) if pid in by_id]

    async def _checked(self, players: list[Player]) -> list[Player]:
        """With ``MUD_VALIDATE_ROOMS_ON_READ``: the room fix on every player read."""
        if self._settings.validate_rooms_on_read:
            for player in players:
                if self._misplaced(player):
                    await self.validate_and_fix_player_room(player)
        return players

    def _misplaced(self, player: Player) -> bool:
        """Whether the room fix would move this player (a room known to be missing)."""
        return not player.is_deleted and self._missing_room(player.current_room_id)

    def _missing_room(self, room: str) -> bool:
        """Whether ``room`` is known not to exist.

        Not cached and not an instance made at run time, while the cache is loaded and not
        empty (else nothing is known).
        """
        rooms = self._room_cache
        if not len(rooms) or not getattr(rooms, "loaded", True):
            return False
        return room not in rooms and not room.startswith(self._settings.instance_room_prefixes)

    def _good_rows(self, rows: list[Row]) -> list[Player]:
        """The players of a multi-row read; each corrupt row is logged, reported and skipped.

        One bad row (a stats document an external tool wrote) must not hide the others: the
        read returns every good player; each bad one gets a warning and a PlayerRowCorrupt
        event, and ``layer.audit()`` lists it.
        """
        players, corrupt = split_rows(rows)
        report_corrupt(corrupt, self._emit)
        return players

    async def save_player(self, player: Player, *, overwrite: bool = False) -> None:
        """Insert or update one player, writing only what changed since it was loaded.

        Args:
            player: A player loaded through this layer, or a new ``Player(...)``.
            overwrite: Write the changed fields even if the database changed them meanwhile.

        Raises:
            StaleDataError: A field the caller changed was also changed in the database since
                the player was loaded; nothing was written.
            DuplicateError: Another player already has this name (ignoring case).
            ValidationError: The player's values are invalid; nothing was sent.
        """
        await self.save_players([player], overwrite=overwrite)

    async def save_players(self, players: Sequence[Player], *, overwrite: bool = False) -> None:
        """Insert or update many players in one statement, all or nothing.

        Same rules as :meth:`save_player`. Players with nothing changed are skipped; when
        none changed, no query runs.
        """
        rows = [
            _SaveRow(p, self._validated(p), overwrite=overwrite)
            for p in check_sequence(players, "players")
        ]
        rows = [r for r in rows if r.doc is not None]
        if not rows:
            return
        ids = [r.player.player_id for r in rows]
        if len(set(ids)) != len(ids):
            raise ValidationError("save_players got the same player twice")
        if len(rows) == 1:
            # The common case, one loaded player: a statement shaped to its changed fields.
            single = await self._save_one(rows[0])
            if single is not None:
                self._emit(*self._after_save(rows, single))
                return
        docs = [_dumps(r.doc) for r in rows]
        compare = any("e" in r.doc for r in rows if r.doc is not None)
        # Saves are idempotent: repeating one writes the same values, and a field already
        # holding the value being written passes the compare. So a save whose connection died
        # after it was sent is retried like a read.
        # A batch with compare-and-set rows must not half-apply: one transaction (or savepoint).
        atomic = compare and len(rows) > 1

        async def save(client: Client) -> dict[uuid.UUID, str]:
            return await self._save(client, rows, ids, docs)

        result = await self._atomic(save, idempotent=True, atomic=atomic)
        self._emit(*self._after_save(rows, result))

    async def _save_one(self, row: _SaveRow) -> dict[uuid.UUID, str] | None:
        """Update one loaded player with a statement shaped to its changed fields.

        Same rules as the general statement (compare-and-set per changed field; a field
        already holding the new value passes). Returns ``None`` when the row did not match or
        does not exist, or the player was never loaded: the general path then decides
        (conflict, re-insert) and writes, as nothing was written here.
        """
        doc = row.doc
        snapshot = row.player.persisted_values()
        if doc is None or "f" in doc or snapshot is None:
            return None
        player = row.player
        columns = tuple(c for c in _COLUMN_TYPES if c in doc["p"])
        compare = "e" in doc
        stats = "s" in doc
        health = row.touches_health
        args: list[Any] = [player.player_id]
        args.extend(_native(getattr(player, c)) for c in columns)
        if compare:
            args.extend(_native(snapshot[c]) for c in columns)
        if stats:
            args.extend((list(doc.get("r", [])), _dumps(doc["s"])))
            if compare:
                args.append(_dumps(doc["e"].get("stats", {})))
        if health:
            args.append(self._settings.health_floor)
        sql = _save_one_sql(columns, compare=compare, stats=stats, health=health)

        async def update(client: Client) -> list[Row]:
            rows: list[Row] = await self._fetch(client, sql, args)
            return rows

        found = await self._atomic(update, idempotent=True, atomic=False)
        return {player.player_id: "updated"} if found else None

    async def _save(
        self, client: Client, rows: list[_SaveRow], ids: list[uuid.UUID], docs: list[str]
    ) -> dict[uuid.UUID, str]:
        """Run the save statement; a loaded player whose row was deleted raises, nothing written."""
        floor = self._settings.health_floor
        result = {
            r["player_id"]: r["outcome"]
            for r in await self._fetch(client, _SAVE_SQL, [ids, docs, floor])
        }
        gone = [pid for pid, outcome in result.items() if outcome == "missing"]
        if gone:
            raise PlayerDeletedError(gone[0])
        hidden = [pid for pid, outcome in result.items() if outcome == "soft_deleted"]
        if hidden:
            raise PlayerSoftDeletedError(hidden[0])
        self._check_saved(rows, result)
        return result

    def _validated(self, player: Player) -> dict[str, Any]:
        return validate_player(player, health_floor=self._settings.health_floor)

    def _check_saved(self, rows: list[_SaveRow], result: dict[uuid.UUID, str]) -> None:
        stale = [r for r in rows if r.player.player_id not in result]
        if stale:
            names = ", ".join(f"{r.player.player_id} ({', '.join(r.fields)})" for r in stale[:5])
            more = f" and {len(stale) - 5} more" if len(stale) > 5 else ""
            raise StaleDataError(
                f"{len(stale)} player(s) changed in the database since they were loaded: "
                f"{names}{more}; nothing was written (a written field changed meanwhile, or "
                "the health written would break current_health <= max_health against the "
                "values stored). Reload them, or save with overwrite=True",
                fields=tuple(f for r in stale for f in r.fields),
            )

    @staticmethod
    def _after_save(rows: list[_SaveRow], result: dict[uuid.UUID, str]) -> list[Event]:
        inserted = {pid for pid, outcome in result.items() if outcome == "inserted"}
        events: list[Event] = []
        for row in rows:
            row.written()
            object.__setattr__(row.player, "_saved_in_db", True)
            pid = row.player.player_id
            if pid in inserted:
                events.append(PlayerCreated(player_id=pid, name=row.player.name))
            else:
                events.append(PlayerSaved(player_id=pid, fields=row.fields))
        return events

    async def recreate_player(self, player: Player) -> Player:
        """Insert a player again from a copy, after ``delete_player``: on purpose, not by a save.

        A save of a copy loaded before the delete raises :class:`PlayerDeletedError`; this is
        the explicit call that brings the player back, with the copy's values (its items went
        with the delete).

        Raises:
            DuplicateError: The player (or another one with this name) exists.
            ValidationError: The copy's values are invalid; nothing was sent.
        """
        return await self._insert(player, self._validated(player))

    async def get_or_create_player(
        self,
        name: str,
        *,
        user_id: uuid.UUID | str | None = None,
        room_id: str | None = None,
        profession_id: int | None = None,
    ) -> tuple[Player, bool]:
        """The player with this name (ignoring case), created first if there is none.

        Safe under concurrency: of many callers racing on one new name, exactly one creates
        the player and all get the same one. ``created`` says whether this call made it.

        Args:
            name: The character's name (stored NFKC-normalised, unique ignoring case).
            user_id: The account. ``None`` (the default) makes a new account id (a random
                UUID) for a new player, and accepts an existing player of any account. Given,
                an existing player of another account is refused.
            room_id: Where a new player starts; default ``MUD_FALLBACK_ROOM_ID``.
            profession_id: A new player's profession; default none.

        Returns:
            ``(player, created)``.

        Raises:
            DuplicateError: The name belongs to another account's player.
            NotFoundError: A new player's room is known not to exist (not in the loaded room
                cache and not an instance room); nothing was written.
            ValidationError: A bad name, id or room; before any SQL.
        """
        check_text(name, "name", max_length=10_000)
        uid = None if user_id is None else as_uuid(user_id, "user_id")
        room = check_text(
            room_id if room_id is not None else self._settings.fallback_room_id,
            "room_id",
            max_length=255,
        )
        if profession_id is not None and (
            type(profession_id) is not int or not 0 <= profession_id < 2**31
        ):
            raise ValidationError(f"profession_id must be an int, got {describe(profession_id)}")
        candidate = Player(
            player_id=uuid.uuid4(),
            user_id=uid or uuid.uuid4(),
            name=name,
            current_room_id=room,
            profession_id=profession_id,
            stats=PlayerStats(),
        )
        stats = self._validated(candidate)  # checks and normalises the name, before SQL
        for _ in range(3):
            existing = await self.get_player_by_name(candidate.name)
            if existing is not None:
                if uid is not None and existing.user_id != uid:
                    raise DuplicateError(
                        f"the name {existing.name!r} belongs to another account's player",
                        constraint="players_name_lower_key",
                    )
                return existing, False
            if self._missing_room(room):
                raise NotFoundError("room", room)
            try:
                return await self._insert(candidate, stats), True
            except DuplicateError as exc:
                if exc.constraint not in (None, "players_name_lower_key"):
                    raise
                continue  # created meanwhile by another caller: read theirs
        raise ConflictError(f"the player {candidate.name!r} kept being created and deleted")

    async def _insert(self, player: Player, stats: dict[str, Any]) -> Player:
        """Insert a new row from ``player`` (a model query), and record it as written.

        Returns the row as stored, read back in the same transaction: once the insert has
        committed, nothing of the call is left to fail.
        """
        values = {column: getattr(player, column) for column in _COLUMN_TYPES}

        async def insert(client: Client) -> Player:
            await Player.create(
                using_db=client,
                player_id=player.player_id,
                stats=PlayerStats.model_validate(stats),
                **values,
            )
            rows = await self._fetch(client, f"{_SELECT} WHERE player_id = $1", [player.player_id])
            return players_from_rows(rows)[0]

        stored = await self._atomic(insert, idempotent=False)
        player.mark_written(values, stats, [], full=True)
        object.__setattr__(player, "_saved_in_db", True)
        self._emit(PlayerCreated(player_id=player.player_id, name=player.name))
        return stored

    async def move_player(self, player: Player, direction: str) -> Room:
        """Walk ``player`` through the exit ``direction`` of its room; return the room entered.

        The exit is checked against the room cache (no query); the move is one conditional
        update that succeeds only if the player is still in the room it walks from, so two
        concurrent moves of one player cannot both apply. ``player`` is updated.

        Raises:
            NoExitError: The room has no such exit, or is not in the room cache.
            NotFoundError: The exit leads to a room the cache does not know or that was
                deleted; or the player does not exist (``PlayerDeletedError``) or is
                soft-deleted (``PlayerSoftDeletedError``).
            StaleDataError: The player is no longer in that room (moved meanwhile); the
                object now holds the room the database has.
        """
        if not isinstance(player, Player):
            raise ValidationError(f"expected a Player, got {describe(player)}")
        check_text(direction, "direction", max_length=64)
        origin = player.current_room_id
        room = self._room_cache.get(origin)
        exits: Mapping[str, Any] = room.exits if room is not None else {}
        target = exits.get(direction)
        if room is None or not isinstance(target, str):
            raise NoExitError(origin, direction, tuple(exits))
        destination = self._room_cache.get(target)
        if destination is None:
            raise NotFoundError("room", target)

        async def move(client: Client) -> list[Row]:
            moved: list[Row] = await self._fetch(
                client, _MOVE_SQL, [player.player_id, origin, target]
            )
            return moved

        applied = bool(await self._atomic(move, idempotent=True, atomic=False))
        if not applied:
            fresh = await self.get_player_by_id(player.player_id)
            if fresh is None:
                raise PlayerDeletedError(player.player_id)
            if fresh.is_deleted:
                raise PlayerSoftDeletedError(player.player_id)
            if fresh.current_room_id == origin:  # the room was deleted meanwhile
                raise NotFoundError("room", target)
            if fresh.current_room_id != target:  # a repeat of an applied move is fine
                player.accept_columns(current_room_id=fresh.current_room_id)
                raise StaleDataError(
                    f"player {player.player_id} is no longer in {origin!r} but in "
                    f"{fresh.current_room_id!r}; nothing was moved",
                    fields=("current_room_id",),
                )
        player.accept_columns(current_room_id=target)
        if applied:  # a move another call (or an earlier attempt) made is not announced twice
            self._emit(
                PlayerMoved(
                    player_id=player.player_id,
                    from_room_id=origin,
                    to_room_id=target,
                    direction=direction,
                )
            )
        return destination

    async def delete_player(self, player_id: uuid.UUID | str) -> bool:
        """Delete a player with what only they own, in one transaction; ``False`` if none.

        Their equipment containers (``entity_id`` = the player) go, and with them, by the
        database's foreign keys in the same statements, every item the player or those
        containers hold: nothing is ever left owned by an owner that does not exist, even
        while transfers into the inventory race the delete (they wait for it, then find no
        owner). Corpses they left in rooms stay: they belong to the world.
        """
        pid = as_uuid(player_id, "player_id")

        async def delete(client: Client) -> bool:
            await Container.filter(entity_id=pid, source_type="equipment").using_db(client).delete()
            return bool(await Player.filter(player_id=pid).using_db(client).delete())

        deleted = await self._atomic(delete, idempotent=True)
        if deleted:
            self._emit(PlayerDeleted(player_id=pid))
        return deleted

    async def soft_delete_player(self, player_id: uuid.UUID | str) -> bool:
        """Mark a character deleted, keeping its row and its items where they are.

        It leaves name lookups, room listings, batch reads and ``list_players`` (unless
        ``include_deleted``), and its name is free for another character; deltas, saves and
        moves of it raise :class:`PlayerSoftDeletedError`. ``delete_player`` is the hard delete.

        Returns:
            ``False`` when there was no such active character.
        """
        pid = as_uuid(player_id, "player_id")
        when = datetime.now(UTC)

        async def mark(client: Client) -> int:
            marked: int = (
                await Player.filter(player_id=pid, is_deleted=False)
                .using_db(client)
                .update(is_deleted=True, deleted_at=when)
            )
            return marked

        done = bool(await self._atomic(mark, idempotent=True, atomic=False))
        if done:
            self._emit(PlayerSoftDeleted(player_id=pid))
        return done

    async def restore_player(self, player_id: uuid.UUID | str) -> Player:
        """Bring a soft-deleted character back; returns it (an active one is returned as is).

        Raises:
            NotFoundError: No such player.
            DuplicateError: Another active character took the name meanwhile (rename one).
            CorruptRowError: The row's stats document is corrupt; it stays soft-deleted.
        """
        pid = as_uuid(player_id, "player_id")

        async def unmark(client: Client) -> tuple[int, Player]:
            restored: int = (
                await Player.filter(player_id=pid, is_deleted=True)
                .using_db(client)
                .update(is_deleted=False, deleted_at=None)
            )
            # Read back in the same transaction: a row that cannot be read (a corrupt stats
            # document) raises here and rolls the restore back, instead of committing it
            # and failing after.
            rows = await self._fetch(client, f"{_SELECT} WHERE player_id = $1", [pid])
            if not rows:
                raise NotFoundError("player", pid)
            return restored, players_from_rows(rows)[0]

        try:
            restored, player = await self._atomic(unmark, idempotent=True)
        except DuplicateError as exc:
            raise DuplicateError(
                f"player {pid} cannot be restored: another active character has its name "
                "(ignoring case); rename one of them first",
                constraint=exc.constraint,
            ) from exc
        player = (await self._checked([player]))[0]
        if restored:
            self._emit(PlayerRestored(player_id=pid))
        return player

    async def update_player_last_active(
        self, player_id: uuid.UUID | str, timestamp: datetime | None = None
    ) -> datetime:
        """Set last_active (default now, UTC) and return the stored value.

        Raises:
            NotFoundError: No such player.
        """
        pid = as_uuid(player_id, "player_id")
        when = datetime.now(UTC) if timestamp is None else check_datetime(timestamp, "timestamp")

        async def touch(client: Client) -> int:
            updated: int = (
                await Player.filter(player_id=pid, is_deleted=False)
                .using_db(client)
                .update(last_active=when)
            )
            return updated

        if not await self._atomic(touch, idempotent=True, atomic=False):
            await self._raise_missing(pid)
        return when

    async def _raise_missing(self, pid: uuid.UUID) -> None:
        """Why an update of one player matched nothing: soft-deleted, or no such player."""
        if await Player.filter(player_id=pid).using_db(self._db.client()).exists():
            raise PlayerSoftDeletedError(pid)
        raise NotFoundError("player", pid)

    async def validate_and_fix_player_room(self, player: Player) -> bool:
        """Move a player standing in a room that does not exist to the fallback room.

        Does nothing, and returns ``False``, while the room cache is not loaded or is empty:
        then nothing is known about which rooms exist (the upstream system moved every
        player when its cache failed to load). The move is persisted, but only if the player
        is still in that room in the database, and the given object is updated.

        Returns:
            Whether the player was moved.
        """
        player_id_of(player)
        rooms = self._room_cache
        if not len(rooms) or not getattr(rooms, "loaded", True):
            return False
        old_room = player.current_room_id
        if old_room in rooms or old_room.startswith(self._settings.instance_room_prefixes):
            return False  # a known room, or an instance made at run time
        if player.is_deleted:
            return False
        fallback = self._settings.fallback_room_id
        if fallback not in rooms:
            raise ConfigurationError(f"fallback room {fallback!r} is not in the room cache")

        async def move(client: Client) -> int:
            moved: int = (
                await Player.filter(
                    player_id=player.player_id, current_room_id=old_room, is_deleted=False
                )
                .using_db(client)
                .update(current_room_id=fallback)
            )
            return moved

        applied = bool(await self._atomic(move, idempotent=True, atomic=False))
        if not applied:
            fresh = await self.get_player_by_id(player.player_id)
            if fresh is None:
                raise NotFoundError("player", player.player_id)
            player.accept_columns(current_room_id=fresh.current_room_id)
            return False
        player.accept_columns(current_room_id=fallback)
        self._emit(
            PlayerRoomFixed(player_id=player.player_id, old_room_id=old_room, new_room_id=fallback)
        )
        return True

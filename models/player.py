"""Players: identity, location, profession, stats and progression."""

from __future__ import annotations

import copy
import json
import operator
from typing import TYPE_CHECKING, Any, Final
from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from persistence.models.app import APP_LABEL
from persistence.models.stats import PlayerStats, stats_from_json

if TYPE_CHECKING:
    from persistence.models.profession import Profession

__all__ = ["READ_COLUMNS", "TRACKED_COLUMNS", "Player"]

TRACKED_COLUMNS: Final = (
    "user_id",
    "name",
    "current_room_id",
    "respawn_room_id",
    "profession_id",
    "stats",
    "experience_points",
    "level",
    "is_admin",
    "created_at",
    "last_active",
)
"""Columns a save compares against the loaded values; the primary key never changes."""

READ_COLUMNS: Final = (*TRACKED_COLUMNS, "is_deleted", "deleted_at")
"""Columns a read loads: the tracked ones and the soft-delete flag, which only
``soft_delete_player`` and ``restore_player`` write (a save never does)."""


class Player(Model):
    """A player character.

    ``stats`` is a JSONB document typed by :class:`~models.stats.PlayerStats`. Health, XP and
    stat deltas change it atomically in SQL; a save writes only what the caller changed since
    the object was loaded (see ``docs/decisions/0002-save-player-dirty-fields.md``). To make that
    possible every instance built from a database row remembers the values it was loaded with.
    """

    player_id = fields.UUIDField(primary_key=True, default=uuid4)
    user_id = fields.UUIDField(db_index=True)
    name = fields.CharField(max_length=50)
    current_room_id = fields.CharField(max_length=255, db_index=True)
    respawn_room_id = fields.CharField(max_length=255, null=True)
    profession: fields.ForeignKeyNullableRelation[Profession] = fields.ForeignKeyField(
        f"{APP_LABEL}.Profession",
        related_name="players",
        null=True,
        on_delete=fields.RESTRICT,
    )
    profession_id: int | None
    stats: fields.Field[PlayerStats] = fields.JSONField(field_type=PlayerStats, default=PlayerStats)
    experience_points = fields.BigIntField(default=0)
    level = fields.IntField(default=1)
    is_admin = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_active = fields.DatetimeField(auto_now_add=True)
    is_deleted = fields.BooleanField(default=False)
    """Soft-deleted: the row stays (and its items where they are); name lookups, room
    listings and batch reads leave it out, and its name is free for another character."""
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "players"

    @classmethod
    def _init_from_db(cls, **kwargs: Any) -> Player:
        """Build a player from a database row (Tortoise calls this for every row it reads).

        Tortoise's own builder, field by field in the same order, with two changes that
        halve the cost of a row: the stats JSON text is parsed and validated by pydantic in
        one pass (Tortoise's JSONField decodes it, then validates the dict), and attributes
        go straight into the instance dict. The values the player was loaded with are kept
        for a later save; the snapshot is only built as a dict when a save needs it.
        """
        meta = cls._meta
        self = cls.__new__(cls)
        values = self.__dict__
        try:
            for key, model_field, _field in meta.db_native_fields:
                values[model_field] = kwargs[key]
            for key, model_field, field in meta.db_default_fields:
                value = kwargs[key]
                values[model_field] = None if value is None else field.field_type(value)
            raw = kwargs["stats"]
            for key, model_field, field in meta.db_complex_fields:
                value = kwargs[key]
                if key == "stats" and isinstance(value, (str, bytes)):
                    values[model_field] = stats_from_json(value)
                else:
                    values[model_field] = field.to_python_value(value)
        except KeyError:  # a partial row (``.only(...)``): Tortoise's own path, no snapshot
            return super()._init_from_db(**kwargs)
        values["_partial"] = False
        values["_saved_in_db"] = True
        values["_custom_generated_pk"] = meta.db_pk_column not in meta.generated_db_fields
        values["_await_when_save"] = {}
        stats = raw if isinstance(raw, (str, bytes)) else _stats_dict(values["stats"])
        values["_persisted"] = _LazySnapshot(_scalars(values), stats)
        return self

    def mark_persisted(self) -> None:
        """Record the current values as what the database holds.

        Repositories call this after a load or a successful save; a later save compares against
        it to find the fields the caller changed.
        """
        snapshot = {name: getattr(self, name) for name in TRACKED_COLUMNS}
        snapshot["stats"] = _stats_dict(self.stats)
        object.__setattr__(self, "_persisted", snapshot)

    def mark_written(
        self,
        columns: dict[str, Any],
        stats: dict[str, Any],
        removed: list[str],
        *,
        full: bool,
    ) -> None:
        """Record what a save wrote as what the database holds.

        Only the values the save sent count, not the object's values when it returns: a field
        the game changed while the save was running is still a change for the next save.

        Args:
            columns: The column values written.
            stats: The stats keys written (the whole document when ``full``).
            removed: The stats keys removed.
            full: The whole row was written (an insert).
        """
        if full:
            snapshot = dict(columns)
            snapshot["stats"] = copy.deepcopy(stats)
        else:
            snapshot = dict(self.persisted_values() or {})
            snapshot.update(columns)
            document = dict(snapshot.get("stats", {}))
            document.update(copy.deepcopy(stats))
            for key in removed:
                document.pop(key, None)
            snapshot["stats"] = document
        object.__setattr__(self, "_persisted", snapshot)

    def persisted_values(self) -> dict[str, Any] | None:
        """Values as last loaded or saved, or ``None`` for an object never read from the DB."""
        snapshot: dict[str, Any] | _LazySnapshot | None = getattr(self, "_persisted", None)
        if isinstance(snapshot, _LazySnapshot):
            snapshot = snapshot.materialize()
            object.__setattr__(self, "_persisted", snapshot)
        return snapshot

    def accept_stats(self, values: dict[str, Any]) -> None:
        """Take stat values the database returned, in the object and in its snapshot.

        Used after an atomic update so the object shows the authoritative values and a later
        save does not see those keys as changed by the caller. ``current_health`` is always
        taken; another key is left alone if the caller changed it and has not saved yet.
        """
        snapshot = self.persisted_values()
        merged = _stats_dict(self.stats)
        taken: dict[str, Any] = {}
        for key, value in values.items():
            unsaved = snapshot is not None and merged.get(key) != snapshot["stats"].get(key)
            if key == "current_health" or not unsaved:
                taken[key] = value
        merged.update(taken)
        try:
            stats = PlayerStats.model_validate(merged)
        except ValueError:
            # The caller's unsaved max_health and the database's current_health disagree;
            # keep both as they are, a save will report it as a ValidationError.
            stats = PlayerStats.model_construct(**merged)
        object.__setattr__(self, "stats", stats)
        if snapshot is not None:
            snapshot["stats"] = {**snapshot["stats"], **copy.deepcopy(taken)}

    def accept_columns(self, **values: Any) -> None:
        """Take column values the database returned (XP, level), in the object and snapshot."""
        snapshot = self.persisted_values()
        for name, value in values.items():
            object.__setattr__(self, name, value)
            if snapshot is not None:
                snapshot[name] = value

    def get_stats(self) -> dict[str, Any]:
        """The stats as a plain dict, for code written against the design's examples."""
        return _stats_dict(self.stats)

    def __str__(self) -> str:
        return f"<Player {self.name} {self.player_id}>"


_SCALAR_COLUMNS: Final = tuple(name for name in TRACKED_COLUMNS if name != "stats")
_scalars: Final = operator.itemgetter(*_SCALAR_COLUMNS)


class _LazySnapshot:
    """The values a player was loaded with, kept as they came until a save needs them."""

    __slots__ = ("_raw_stats", "_values")

    def __init__(self, values: tuple[Any, ...], raw_stats: object) -> None:
        self._values = values
        self._raw_stats = raw_stats

    def materialize(self) -> dict[str, Any]:
        """The snapshot as a dict: columns by name, ``stats`` as a plain document."""
        snapshot = dict(zip(_SCALAR_COLUMNS, self._values, strict=True))
        raw = self._raw_stats
        snapshot["stats"] = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
        return snapshot


def _stats_dict(stats: PlayerStats | dict[str, Any]) -> dict[str, Any]:
    if isinstance(stats, PlayerStats):
        return stats.model_dump()
    return copy.deepcopy(dict(stats))

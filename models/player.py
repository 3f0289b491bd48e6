"""Players: identity, location, profession, stats and progression."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Final
from uuid import uuid4

from tortoise import fields
from tortoise.models import Model

from models.app import APP_LABEL
from models.stats import PlayerStats

if TYPE_CHECKING:
    from models.profession import Profession

__all__ = ["TRACKED_COLUMNS", "Player"]

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
    experience_points = fields.IntField(default=0)
    level = fields.IntField(default=1)
    is_admin = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_active = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "players"

    @classmethod
    def _init_from_db(cls, **kwargs: Any) -> Player:
        self = super()._init_from_db(**kwargs)
        self.mark_persisted()
        return self

    def mark_persisted(self) -> None:
        """Record the current values as what the database holds.

        Repositories call this after a load or a successful save; a later save compares against
        it to find the fields the caller changed.
        """
        snapshot = {name: getattr(self, name) for name in TRACKED_COLUMNS}
        snapshot["stats"] = _stats_dict(self.stats)
        object.__setattr__(self, "_persisted", snapshot)

    def persisted_values(self) -> dict[str, Any] | None:
        """Values as last loaded or saved, or ``None`` for an object never read from the DB."""
        snapshot: dict[str, Any] | None = getattr(self, "_persisted", None)
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


def _stats_dict(stats: PlayerStats | dict[str, Any]) -> dict[str, Any]:
    if isinstance(stats, PlayerStats):
        return stats.model_dump()
    return copy.deepcopy(dict(stats))

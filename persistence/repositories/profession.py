"""ProfessionRepository: the professions a player can choose."""

from __future__ import annotations

from models.profession import Profession
from persistence.errors import ValidationError, describe
from persistence.repositories.base import BaseRepository

__all__ = ["ProfessionRepository"]

_SELECT = (
    "SELECT id, name, description, flavor_text, stat_requirements, mechanical_effects, "
    "is_available FROM professions"
)


class ProfessionRepository(BaseRepository):
    """Profession queries; professions are world data, changed by the loader only."""

    async def get_all_professions(self, *, include_unavailable: bool = False) -> list[Profession]:
        """Available professions ordered by id; all of them with ``include_unavailable``."""
        where = "" if include_unavailable else " WHERE is_available"
        rows = await self._fetch(f"{_SELECT}{where} ORDER BY id", [])
        with self._db.activate():
            return [Profession._init_from_db(**row) for row in rows]

    async def get_profession_by_id(self, profession_id: int) -> Profession | None:
        """The profession with this id (available or not), or ``None``."""
        if not isinstance(profession_id, int) or isinstance(profession_id, bool):
            raise ValidationError(f"profession_id must be an int, got {describe(profession_id)}")
        if not -(2**31) <= profession_id < 2**31:
            return None
        rows = await self._fetch(f"{_SELECT} WHERE id = $1", [profession_id])
        with self._db.activate():
            return Profession._init_from_db(**rows[0]) if rows else None

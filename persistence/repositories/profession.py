"""ProfessionRepository: the professions a player can choose."""

from __future__ import annotations

from persistence.errors import ValidationError, describe
from persistence.models.profession import Profession
from persistence.repositories.base import BaseRepository, Client

__all__ = ["ProfessionRepository"]


class ProfessionRepository(BaseRepository, metrics_name="professions"):
    """Profession queries; professions are world data, changed by the loader only."""

    async def get_all_professions(self, *, include_unavailable: bool = False) -> list[Profession]:
        """Available professions ordered by id; all of them with ``include_unavailable``."""

        async def read(client: Client) -> list[Profession]:
            query = (
                Profession.all() if include_unavailable else Profession.filter(is_available=True)
            )
            return await query.order_by("id").using_db(client)

        return await self._atomic(read, idempotent=True, atomic=False)

    async def get_profession_by_id(self, profession_id: int) -> Profession | None:
        """The profession with this id (available or not), or ``None``."""
        if not isinstance(profession_id, int) or isinstance(profession_id, bool):
            raise ValidationError(f"profession_id must be an int, got {describe(profession_id)}")
        if not -(2**31) <= profession_id < 2**31:
            return None

        async def read(client: Client) -> Profession | None:
            return await Profession.get_or_none(id=profession_id, using_db=client)

        return await self._atomic(read, idempotent=True, atomic=False)

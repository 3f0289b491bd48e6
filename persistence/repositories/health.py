"""HealthRepository: atomic, clamped current_health changes, one player or a whole tick.

HP is clamped in SQL between the health floor (``MUD_HEALTH_FLOOR``; 0 by default, e.g. -10
for games with a "mortally wounded" state) and the player's own ``stats.max_health``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from persistence.errors import ValidationError, describe
from persistence.models.player import Player
from persistence.repositories.atomic import AtomicStatsRepository, StatChange
from persistence.stats import check_amount, check_delta
from persistence.validation import as_uuid

__all__ = ["HealthRepository"]


class HealthRepository(AtomicStatsRepository, metrics_name="health"):
    """Player health. Every method is one SQL statement; events follow the commit."""

    async def update_player_health(
        self, player_id: uuid.UUID | str, delta: int, reason: str = "", *, op_id: str | None = None
    ) -> int:
        """Add ``delta`` (negative for damage) to current_health, clamped; return the new value.

        Raises:
            NotFoundError: No such player (nothing is silently skipped).
            InvalidAmountError: ``delta`` is not an int (bools and floats included).

        With an ``op_id`` the delta is applied at most once: a repeat (e.g. a retry after the
        connection died) returns the first outcome. See ``docs/reliability.md``.
        """
        change = await self._update(
            player_id, check_delta(delta), reason, op_id, "update_player_health"
        )
        return change.new_value

    async def damage_player(
        self,
        player: Player,
        amount: int,
        damage_type: str = "physical",
        *,
        op_id: str | None = None,
    ) -> int:
        """Apply ``amount`` damage atomically and return the new current_health.

        ``player.stats`` is refreshed from the values the database returned.

        Raises:
            InvalidAmountError: ``amount`` is negative or not an int (also a ``ValueError``),
                before any SQL.
        """
        value = check_amount(amount)
        if not isinstance(damage_type, str):
            raise ValidationError(f"damage_type must be a string, got {describe(damage_type)}")
        change = await self._update(
            _player_id(player), -value, f"damage:{damage_type}", op_id, "damage_player"
        )
        _refresh(player, change)
        return change.new_value

    async def heal_player(self, player: Player, amount: int, *, op_id: str | None = None) -> int:
        """Heal ``amount`` atomically (up to max_health) and return the new current_health.

        Raises:
            InvalidAmountError: ``amount`` is negative or not an int, before any SQL.
        """
        value = check_amount(amount)
        change = await self._update(_player_id(player), value, "healing", op_id, "heal_player")
        _refresh(player, change)
        return change.new_value

    async def apply_health_deltas(
        self,
        deltas: Mapping[uuid.UUID | str, int],
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> dict[uuid.UUID, int]:
        """Apply many HP deltas in one statement (a combat tick); return the new values.

        All or nothing: if any player is missing, ``NotFoundError`` names them and no delta
        is applied. Rows are locked in player-id order, so concurrent batches never deadlock.
        """
        if op_id is None:
            return await self._new_values("current_health", deltas, reason)
        changes = await self._apply_field_deltas(
            "current_health", deltas, reason, op_id=op_id, operation="apply_health_deltas"
        )
        return {pid: change.new_value for pid, change in changes.items()}

    async def _update(
        self,
        player_id: uuid.UUID | str,
        delta: int,
        reason: str,
        op_id: str | None,
        operation: str,
    ) -> StatChange:
        pid = as_uuid(player_id, "player_id")
        changes = await self._apply_field_deltas(
            "current_health", {pid: delta}, reason, op_id=op_id, operation=operation
        )
        return next(iter(changes.values()))


def _player_id(player: Player) -> uuid.UUID:
    if not isinstance(player, Player):
        raise ValidationError(f"expected a Player, got {describe(player)}")
    return player.player_id


def _refresh(player: Player, change: StatChange) -> None:
    player.accept_stats({"current_health": change.current_health, "max_health": change.max_health})

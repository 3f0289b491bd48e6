"""HealthRepository: atomic, clamped current_health changes, one player or a whole tick.

HP is clamped in SQL between the health floor (``MUD_HEALTH_FLOOR``; 0 by default, e.g. -10
for games with a "mortally wounded" state) and the player's own ``stats.max_health``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from persistence.models.player import Player
from persistence.repositories.atomic import AtomicStatsRepository, StatChange
from persistence.stats import check_amount, check_delta
from persistence.validation import as_uuid, check_reason, player_id_of

__all__ = ["HealthChange", "HealthRepository", "health_change"]

# Namespace of the ids of changes made with an op_id: a repeat of the op (a retry, a replay)
# gets the same change_id, so a death handled once per change_id is handled once per op.
_CHANGE_NAMESPACE: Final = uuid.UUID("6f1c7d1e-4b7a-5f0e-9a39-5d1b8f0c2a11")


@dataclass(frozen=True, slots=True)
class HealthChange:
    """What one HP change did to one player, as the database reported it.

    ``old_hp`` and ``new_hp`` come from the same statement, read and written under the row
    lock, so ``died`` is decided there too: of two concurrent killing blows the second one
    starts from the first one's result, and exactly one of them sees ``died=True``.

    Attributes:
        player_id: The player.
        old_hp: current_health before the change.
        new_hp: current_health after it, clamped to [floor, max_hp].
        max_hp: The player's max_health.
        delta: What the caller asked for; ``new_hp - old_hp`` is what the clamp allowed.
        floor: The health floor the change was clamped to (``MUD_HEALTH_FLOOR``).
        died: This change took the player from above the floor to the floor or below.
        change_id: Identifies this change: derived from the op_id when there was one (a
            repeat of the op gets the same id), random otherwise. The death call uses it
            to make one corpse per death.
    """

    player_id: uuid.UUID
    old_hp: int
    new_hp: int
    max_hp: int
    delta: int
    floor: int
    died: bool
    change_id: uuid.UUID

    @property
    def applied(self) -> int:
        """The change the clamp allowed: ``new_hp - old_hp``."""
        return self.new_hp - self.old_hp


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
        check_reason(damage_type, "damage_type")
        change = await self._update(
            player_id_of(player), -value, f"damage:{damage_type}", op_id, "damage_player"
        )
        _refresh(player, change)
        return change.new_value

    async def heal_player(self, player: Player, amount: int, *, op_id: str | None = None) -> int:
        """Heal ``amount`` atomically (up to max_health) and return the new current_health.

        Raises:
            InvalidAmountError: ``amount`` is negative or not an int, before any SQL.
        """
        value = check_amount(amount)
        change = await self._update(player_id_of(player), value, "healing", op_id, "heal_player")
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

    async def change_health(
        self,
        player: Player | uuid.UUID | str,
        delta: int,
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> HealthChange:
        """Add ``delta`` to current_health, clamped, and say what happened (``died`` included).

        Given a :class:`Player`, its stats are refreshed from the values the database
        returned. With an ``op_id`` the delta is applied at most once and a repeat returns
        the first outcome, ``died`` and ``change_id`` included.

        Raises:
            NotFoundError: No such player.
            InvalidAmountError: ``delta`` is not an int in range, before any SQL.
        """
        pid = player_id_of(player) if isinstance(player, Player) else as_uuid(player, "player_id")
        value = check_delta(delta)
        changes = await self._apply_field_deltas(
            "current_health", {pid: value}, reason, op_id=op_id, operation="change_health"
        )
        change = next(iter(changes.values()))
        if isinstance(player, Player):
            _refresh(player, change)
        return self._health_change(change, op_id)

    async def change_health_batch(
        self,
        deltas: Mapping[uuid.UUID | str, int],
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> dict[uuid.UUID, HealthChange]:
        """:meth:`apply_health_deltas` that says per player what happened (``died`` included).

        One statement, all or nothing, rows locked in player-id order.
        """
        changes = await self._apply_field_deltas(
            "current_health", deltas, reason, op_id=op_id, operation="change_health_batch"
        )
        return {pid: self._health_change(change, op_id) for pid, change in changes.items()}

    def _health_change(self, change: StatChange, op_id: str | None) -> HealthChange:
        return health_change(change, self._settings.health_floor, op_id)

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


def health_change(change: StatChange, floor: int, op_id: str | None) -> HealthChange:
    """The HealthChange of a current_health StatChange (shared with the in-memory twin)."""
    change_id = (
        uuid.uuid4()
        if op_id is None
        else uuid.uuid5(_CHANGE_NAMESPACE, f"{op_id}\x00{change.player_id}")
    )
    return HealthChange(
        player_id=change.player_id,
        old_hp=change.old_value,
        new_hp=change.new_value,
        max_hp=change.max_health,
        delta=change.delta,
        floor=floor,
        died=change.old_value > floor >= change.new_value,
        change_id=change_id,
    )


def _refresh(player: Player, change: StatChange) -> None:
    player.accept_stats({"current_health": change.current_health, "max_health": change.max_health})

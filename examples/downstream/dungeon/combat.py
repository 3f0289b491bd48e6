"""Combat: an attack that may kill, and a death that leaves exactly one corpse.

Written against the package's protocols, so the same class runs on the real layer and on
the in-memory twins.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from persistence.models.container import Container
from persistence.protocols import PersistenceProtocol
from persistence.repositories.health import HealthChange

KILL_XP = 50


@dataclass(frozen=True)
class AttackOutcome:
    """What one attack did: the HP change, and the corpse if it killed."""

    change: HealthChange
    corpse: Container | None


class Combat:
    """Attacks between players."""

    def __init__(self, world: PersistenceProtocol) -> None:
        self.world = world

    async def attack(
        self,
        attacker_id: uuid.UUID,
        target_id: uuid.UUID,
        damage: int,
        *,
        op_id: str | None = None,
    ) -> AttackOutcome:
        """Hit the target; on the killing blow, make the corpse and reward the attacker.

        ``died`` is decided by the database, so of two attackers striking a dying target at
        once exactly one gets the kill; the corpse is made once per death even if this is
        retried with the same ``op_id``.
        """
        change = await self.world.health.change_health(
            target_id, -damage, f"attack:{attacker_id}", op_id=op_id
        )
        if not change.died:
            return AttackOutcome(change, None)
        corpse = await self.world.containers.create_corpse_for(change)
        await self.world.experience.update_player_xp(
            attacker_id, KILL_XP, "kill", op_id=f"kill-xp:{change.change_id}"
        )
        return AttackOutcome(change, corpse)

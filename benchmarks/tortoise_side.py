"""The plain-Tortoise side: the same work as the layer, written as a Tortoise user would.

Same model classes as the layer (``persistence.models``), but none of the package's code: querysets,
``select_for_update()`` inside ``in_transaction()``, ``save(update_fields=...)``,
``bulk_update``, ``get_or_none``. It runs on a Tortoise context of its own with Tortoise's
stock engine (``tortoise.backends.asyncpg``: its own pool, Tortoise's defaults), which every
work function makes current for its body (``with self.ctx:``); no global context is set.
"""

from __future__ import annotations

import uuid
from typing import Any

from tortoise.context import TortoiseContext
from tortoise.expressions import RawSQL
from tortoise.functions import Count, Lower, Max
from tortoise.transactions import in_transaction

from benchmarks.harness import Work, concurrently
from persistence import APP_LABEL, tortoise_app
from persistence.config import database_credentials
from persistence.models.container import Container
from persistence.models.item import ItemInstance
from persistence.models.operation import ItemMovement
from persistence.models.player import Player
from persistence.models.room import Room
from persistence.repositories.player import NAME_KEY_SQL, name_key

HEALTH_FLOOR = 0
XP_PER_LEVEL = 100


class TortoiseSide:
    """Work functions for every case, on a Tortoise context of their own."""

    def __init__(self, ctx: TortoiseContext) -> None:
        self.ctx = ctx

    @classmethod
    async def start(
        cls, url: str, pool_size: int = 10, extra: dict[str, Any] | None = None
    ) -> TortoiseSide:
        """Initialise a context of its own on ``url`` with the stock asyncpg engine.

        ``extra``: driver options a pooler needs (``statement_cache_size=0``), nothing else.
        """
        ctx = TortoiseContext()
        config = {
            "connections": {
                "default": {
                    "engine": "tortoise.backends.asyncpg",
                    "credentials": {
                        **database_credentials(url),
                        "minsize": pool_size,
                        "maxsize": pool_size,
                        **(extra or {}),
                    },
                }
            },
            "apps": {APP_LABEL: tortoise_app()},
        }
        with ctx:
            await ctx.init(config=config)
        return cls(ctx)

    async def close(self) -> None:
        """Close the context's pool."""
        with self.ctx:
            await self.ctx.close_connections()

    async def load_players(self, ids: list[uuid.UUID]) -> list[Player]:
        """Objects of these players loaded through this context, in the order given."""
        with self.ctx:
            by_id = {p.player_id: p for p in await Player.filter(player_id__in=ids)}
        return [by_id[pid] for pid in ids]

    # -- reads -----------------------------------------------------------------------

    def by_id(self, ids: list[uuid.UUID]) -> Work:
        async def work(k: int) -> None:
            with self.ctx:
                for i in range(k):
                    found = await Player.get_or_none(player_id=ids[i % len(ids)])
                    assert found is not None

        return work

    def by_name(self, names: list[str]) -> Work:
        # Player.filter(name__iexact=...) compiles to UPPER(CAST(name AS VARCHAR)) = UPPER($1),
        # which no index serves; the unique index is on NAME_KEY_SQL of active players.
        async def work(k: int) -> None:
            with self.ctx:
                for i in range(k):
                    name = names[i % len(names)]
                    found = (
                        await Player.annotate(key=RawSQL(NAME_KEY_SQL))
                        .filter(key=name_key(name), is_deleted=False)
                        .first()
                    )
                    assert found is not None

        return work

    def in_room(self, room_id: str) -> Work:
        async def work(k: int) -> None:
            with self.ctx:
                for _ in range(k):
                    await (
                        Player.filter(current_room_id=room_id, is_deleted=False)
                        .annotate(lname=Lower("name"))
                        .order_by("lname")
                    )

        return work

    def batch(self, ids: list[uuid.UUID]) -> Work:
        async def work(k: int) -> None:
            with self.ctx:
                for _ in range(k):
                    by_id = {p.player_id: p for p in await Player.filter(player_id__in=ids)}
                    [by_id[pid] for pid in dict.fromkeys(ids) if pid in by_id]

        return work

    def container(self, container_id: uuid.UUID) -> Work:
        # No relation joins containers to their items (owner_id is text): two queries.
        async def work(k: int) -> None:
            with self.ctx:
                for _ in range(k):
                    box = await Container.get_or_none(container_id=container_id)
                    assert box is not None
                    items = await ItemInstance.filter(
                        owner_type="container", owner_id=str(container_id)
                    ).order_by("position", "created_at", "item_instance_id")
                    box.set_items(items)

        return work

    def room(self, room_id: str) -> Work:
        async def work(k: int) -> None:
            with self.ctx:
                for _ in range(max(1, k // 100)):
                    assert await Room.get_or_none(room_id=room_id) is not None

        return work

    # -- saves -----------------------------------------------------------------------

    def save_player(self, player: Player, rooms: list[str]) -> Work:
        """Compare-and-set of the one changed column, as a queryset update that must write."""

        async def work(k: int) -> None:
            with self.ctx:
                for i in range(k):
                    old = player.current_room_id
                    new = rooms[i % 2] if rooms[i % 2] != old else rooms[(i + 1) % 2]
                    written = await Player.filter(
                        player_id=player.player_id, current_room_id=old
                    ).update(current_room_id=new)
                    assert written == 1, "the Tortoise side must really write"
                    player.current_room_id = new

        return work

    def save_players(self, players: list[Player], rooms: tuple[str, str]) -> Work:
        """Two fields changed on each loaded player, one bulk_update in a transaction."""
        counter = {"i": 0}

        async def work(k: int) -> None:
            with self.ctx:
                for _ in range(k):
                    counter["i"] += 1
                    for p in players:
                        p.current_room_id = rooms[counter["i"] % 2]
                        p.stats.strength = 1 + counter["i"] % 100
                    async with in_transaction():
                        await Player.bulk_update(players, fields=["current_room_id", "stats"])

        return work

    # -- atomic deltas ---------------------------------------------------------------

    async def _health(self, player_id: uuid.UUID, delta: int) -> tuple[int, int]:
        async with in_transaction():
            player = await Player.select_for_update().get(player_id=player_id, is_deleted=False)
            old = player.stats.current_health
            new = min(max(old + delta, HEALTH_FLOOR), player.stats.max_health)
            player.stats.current_health = new
            await player.save(update_fields=["stats"])
        return old, new

    def health(self, ids: list[uuid.UUID]) -> Work:
        async def work(k: int) -> None:
            with self.ctx:
                for i in range(k):
                    await self._health(ids[i % len(ids)], -1 if i % 2 else 1)

        return work

    def hot_row(self, player_id: uuid.UUID) -> Work:
        async def work(k: int) -> None:
            with self.ctx:  # the workers' tasks copy the current context
                await concurrently(k, lambda i: self._health(player_id, -1 if i % 2 else 1))

        return work

    def health_batch(self, ids: list[uuid.UUID]) -> Work:
        """All or nothing: lock every row in id order, clamp in Python, one bulk_update."""

        async def work(k: int) -> None:
            with self.ctx:
                for i in range(k):
                    delta = -1 if i % 2 else 1
                    async with in_transaction():
                        players = (
                            await Player.filter(player_id__in=ids, is_deleted=False)
                            .order_by("player_id")
                            .select_for_update()
                        )
                        assert len(players) == len(ids), "all or nothing: a player is missing"
                        new_values = {}
                        for p in players:
                            new = min(
                                max(p.stats.current_health + delta, HEALTH_FLOOR),
                                p.stats.max_health,
                            )
                            p.stats.current_health = new
                            new_values[p.player_id] = new
                        await Player.bulk_update(players, fields=["stats"])

        return work

    async def _fear(self, player_id: uuid.UUID, delta: int) -> tuple[int, int]:
        async with in_transaction():
            p = await Player.select_for_update().get(player_id=player_id, is_deleted=False)
            old = p.stats.fear
            p.stats.fear = min(max(old + delta, 0), 100)
            await p.save(update_fields=["stats"])
        return old, p.stats.fear

    def stat(self, ids: list[uuid.UUID]) -> Work:
        async def work(k: int) -> None:
            with self.ctx:
                for i in range(k):
                    await self._fear(ids[i % len(ids)], 1 if i % 2 else -1)

        return work

    async def _xp(self, player: Player, amount: int) -> tuple[int, int, int, int]:
        async with in_transaction():
            p = await Player.select_for_update().get(player_id=player.player_id, is_deleted=False)
            old_xp, old_level = p.experience_points, p.level
            p.experience_points = old_xp + amount
            p.level = p.experience_points // XP_PER_LEVEL + 1
            await p.save(update_fields=["experience_points", "level"])
        player.experience_points, player.level = p.experience_points, p.level
        return old_xp, p.experience_points, old_level, p.level

    def xp(self, players: list[Player]) -> Work:
        """XP and level under the row lock; the caller's object gets the new values."""

        async def work(k: int) -> None:
            with self.ctx:
                for i in range(k):
                    await self._xp(players[i % len(players)], 3)

        return work

    # -- transfer --------------------------------------------------------------------

    async def _transfer(
        self, item_id: str, source: tuple[str, str], target: tuple[str, str]
    ) -> None:
        async with in_transaction():
            next_position = None
            for cid in sorted(o[1] for o in (source, target) if o[0] == "container"):
                box = await Container.select_for_update().get(container_id=cid)
                counts = (
                    await ItemInstance.filter(owner_type="container", owner_id=cid)
                    .annotate(used=Count("item_instance_id"), top=Max("position"))
                    .values("used", "top")
                )[0]
                assert box.lock_state == "unlocked"
                if target == ("container", cid):
                    assert counts["used"] < box.capacity_slots
                    next_position = 0 if counts["top"] is None else counts["top"] + 1
            if target[0] == "player":
                assert await Player.filter(player_id=target[1]).exists()
            item = await ItemInstance.select_for_update().get(item_instance_id=item_id)
            assert (item.owner_type, item.owner_id) == source
            item.owner_type, item.owner_id = target
            item.position = next_position
            await item.save(update_fields=["owner_type", "owner_id", "position", "updated_at"])
            await ItemMovement.create(
                item_instance_id=item_id,
                from_owner_type=source[0],
                from_owner_id=source[1],
                to_owner_type=target[0],
                to_owner_id=target[1],
                reason="transfer",
            )

    def transfer(
        self,
        item_id: str,
        where: dict[str, tuple[str, str]],
        a: tuple[str, str],
        b: tuple[str, str],
    ) -> Work:
        async def work(k: int) -> None:
            with self.ctx:
                for _ in range(k):
                    target = b if where["at"] == a else a
                    await self._transfer(item_id, where["at"], target)
                    where["at"] = target

        return work

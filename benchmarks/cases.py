"""The operations measured, each as the layer call and equivalent hand-written asyncpg code.

The asyncpg side runs on its own pool against the same database, with statements written the
way a careful developer would write them by hand for the same result: the same rows read and
decoded (JSON columns parsed), the same clamped atomic update with its old and new values, the
same locks and checks for a transfer.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from benchmarks.harness import Case
from models.player import Player
from persistence.facade import AsyncPersistenceLayer
from persistence.repositories.player import PLAYER_COLUMNS

ROOM = "earth_arkhamcity_sanitarium_room_foyer_001"
CROWDED = "earth_arkhamcity_sanitarium_room_ward_001"
ROOM_ROW = (
    "SELECT room_id, name, description, plane, zone, sub_zone, exits, attributes "
    "FROM rooms WHERE room_id = $1"
)

RAW_HEALTH = """
WITH old AS (SELECT player_id, stats FROM players WHERE player_id = $1 FOR UPDATE)
UPDATE players p
   SET stats = jsonb_set(p.stats, '{current_health}',
       to_jsonb(LEAST(GREATEST((old.stats->>'current_health')::int + $2, 0),
                      (old.stats->>'max_health')::int)))
  FROM old WHERE p.player_id = old.player_id
RETURNING (old.stats->>'current_health')::int AS old_hp,
          (p.stats->>'current_health')::int AS new_hp, (p.stats->>'max_health')::int AS max_hp
"""
RAW_HEALTH_BATCH = """
WITH d AS (SELECT * FROM unnest($1::uuid[], $2::int[]) AS d(player_id, delta)),
old AS (SELECT p.player_id, p.stats, d.delta FROM players p JOIN d USING (player_id)
         ORDER BY p.player_id FOR UPDATE OF p)
UPDATE players p
   SET stats = jsonb_set(p.stats, '{current_health}',
       to_jsonb(LEAST(GREATEST((old.stats->>'current_health')::int + old.delta, 0),
                      (old.stats->>'max_health')::int)))
  FROM old WHERE p.player_id = old.player_id
   AND (SELECT count(*) FROM old) = cardinality($1::uuid[])
RETURNING p.player_id, (old.stats->>'current_health')::int AS old_hp,
          (p.stats->>'current_health')::int AS new_hp
"""
# The count guard gives the hand-written batch the layer's documented semantics (all or
# nothing when a player is missing); without it the two would not do the same work.
RAW_FEAR = """
WITH old AS (SELECT player_id, stats FROM players WHERE player_id = $1 FOR UPDATE)
UPDATE players p
   SET stats = jsonb_set(p.stats, '{fear}',
       to_jsonb(LEAST(GREATEST(COALESCE((old.stats->>'fear')::int, 0) + $2, 0), 100)))
  FROM old WHERE p.player_id = old.player_id
RETURNING (old.stats->>'fear')::int AS old_value, (p.stats->>'fear')::int AS new_value
"""
RAW_XP = """
WITH old AS (SELECT player_id, experience_points, level FROM players
              WHERE player_id = $1 FOR UPDATE)
UPDATE players p
   SET experience_points = old.experience_points + $2,
       level = (old.experience_points + $2) / 100 + 1
  FROM old WHERE p.player_id = old.player_id
RETURNING old.experience_points AS old_xp, p.experience_points AS new_xp,
          old.level AS old_level, p.level AS new_level
"""
RAW_UPSERT = """
INSERT INTO players (player_id, user_id, name, current_room_id, respawn_room_id, profession_id,
                     stats, experience_points, level, is_admin, created_at, last_active)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12)
ON CONFLICT (player_id) DO UPDATE SET
    user_id = EXCLUDED.user_id, name = EXCLUDED.name,
    current_room_id = EXCLUDED.current_room_id, respawn_room_id = EXCLUDED.respawn_room_id,
    profession_id = EXCLUDED.profession_id, stats = EXCLUDED.stats,
    experience_points = EXCLUDED.experience_points, level = EXCLUDED.level,
    is_admin = EXCLUDED.is_admin, last_active = EXCLUDED.last_active
"""
RAW_CONTAINER = """
SELECT c.container_id, c.source_type, c.owner_id, c.room_id, c.entity_id, c.lock_state,
       c.capacity_slots, c.weight_limit, c.decay_at, c.allowed_roles, c.metadata,
       c.created_at, c.updated_at,
       i.item_instance_id AS i_item_instance_id, i.prototype_id AS i_prototype_id,
       i.owner_type AS i_owner_type, i.owner_id AS i_owner_id, i.position AS i_position,
       i.location_context AS i_location_context, i.quantity AS i_quantity,
       i.condition AS i_condition, i.flags_override AS i_flags_override,
       i.binding_state AS i_binding_state, i.attunement_state AS i_attunement_state,
       i.custom_name AS i_custom_name, i.metadata AS i_metadata,
       i.origin_source AS i_origin_source, i.origin_metadata AS i_origin_metadata,
       i.created_at AS i_created_at, i.updated_at AS i_updated_at
  FROM containers c LEFT JOIN item_instances i
    ON i.owner_type = 'container' AND i.owner_id = c.container_id::text
 WHERE c.container_id = $1
 ORDER BY i.position NULLS LAST, i.created_at, i.item_instance_id
"""
_ITEM_JSON = ("i_flags_override", "i_attunement_state", "i_metadata", "i_origin_metadata")


def new_player(name: str) -> Player:
    """An unsaved player for the benchmark data."""
    return Player(player_id=uuid.uuid4(), user_id=uuid.uuid4(), name=name, current_room_id=ROOM)


def _decode_player(row: asyncpg.Record) -> dict[str, Any]:
    data = dict(row)
    data["stats"] = json.loads(data["stats"])
    return data


def _decode_container(rows: list[asyncpg.Record]) -> dict[str, Any]:
    head = dict(rows[0])
    container = {k: v for k, v in head.items() if not k.startswith("i_")}
    container["allowed_roles"] = json.loads(container["allowed_roles"])
    container["metadata"] = json.loads(container["metadata"])
    items = []
    for row in rows:
        if row["i_item_instance_id"] is None:
            continue
        item = {k[2:]: v for k, v in dict(row).items() if k.startswith("i_")}
        for key in _ITEM_JSON:
            item[key[2:]] = json.loads(item[key[2:]])
        items.append(item)
    container["items"] = items
    return container


class Bench:
    """The data and both clients the cases share."""

    def __init__(self, layer: AsyncPersistenceLayer, pool: asyncpg.Pool, quick: bool) -> None:
        self.layer = layer
        self.pool = pool
        self.quick = quick
        self.players: list[Player] = []

    async def setup(self) -> None:
        """Seed the world, 1,200 players (50 in one room), a container of 20 items."""
        await self.layer.seed_world()
        players = [new_player(f"bench_{i:05d}") for i in range(2200)]
        for player in players[:50]:
            player.current_room_id = CROWDED
        await self.layer.players.save_players(players)
        self.players = await self.layer.players.get_players_batch([p.player_id for p in players])
        self.hot = self.players[0]
        self.mover = self.players[1]
        box = await self.layer.containers.create_container(
            "environment",
            room_id=ROOM,
            items=[
                {"item_instance_id": f"bench-box-{i}", "prototype_id": "loot", "metadata": {"i": i}}
                for i in range(20)
            ],
        )
        self.box = box.container_id
        self.chest = (
            await self.layer.containers.create_container("environment", room_id=ROOM)
        ).container_id
        self.item = "bench-moving-item"
        await self.layer.items.create_item_instance(
            self.item, "loot", owner_type="player", owner_id=str(self.mover.player_id)
        )

    def cases(self) -> list[Case]:
        """Every operation of the suite."""
        q = self.quick
        return [
            self._by_id(100 if q else 2000),
            self._by_name(100 if q else 2000),
            self._in_room(20 if q else 300),
            self._batch(20 if q else 300),
            self._save_player(50 if q else 1000),
            self._save_players(1 if q else 5),
            self._health(100 if q else 2000),
            self._hot_row(100 if q else 2000),
            self._health_batch(2 if q else 20),
            self._stat(100 if q else 2000),
            self._xp(100 if q else 2000),
            self._transfer(50 if q else 1000),
            self._container(50 if q else 1000),
            self._room_cache(1000 if q else 100_000),
        ]

    def _by_id(self, n: int) -> Case:
        ids = [p.player_id for p in self.players]
        sql = f"SELECT {PLAYER_COLUMNS} FROM players WHERE player_id = $1"  # noqa: S608

        async def repo(k: int) -> None:
            for i in range(k):
                await self.layer.players.get_player_by_id(ids[i % len(ids)])

        async def raw(k: int) -> None:
            for i in range(k):
                _decode_player(await self.pool.fetchrow(sql, ids[i % len(ids)]))

        return Case("get_player_by_id", repo, raw, n, 1.5)

    def _by_name(self, n: int) -> Case:
        names = [p.name.upper() for p in self.players]
        sql = f"SELECT {PLAYER_COLUMNS} FROM players WHERE lower(name) = lower($1)"  # noqa: S608

        async def repo(k: int) -> None:
            for i in range(k):
                await self.layer.players.get_player_by_name(names[i % len(names)])

        async def raw(k: int) -> None:
            for i in range(k):
                _decode_player(await self.pool.fetchrow(sql, names[i % len(names)]))

        return Case("get_player_by_name", repo, raw, n, 1.5)

    def _in_room(self, n: int) -> Case:
        sql = (
            f"SELECT {PLAYER_COLUMNS} FROM players WHERE current_room_id = $1"  # noqa: S608
            " ORDER BY lower(name)"
        )

        async def repo(k: int) -> None:
            for _ in range(k):
                await self.layer.players.get_players_in_room(CROWDED)

        async def raw(k: int) -> None:
            for _ in range(k):
                [_decode_player(r) for r in await self.pool.fetch(sql, CROWDED)]

        return Case("get_players_in_room (50)", repo, raw, n, note="50 players per call")

    def _batch(self, n: int) -> Case:
        ids = [p.player_id for p in self.players[100:200]]
        sql = f"SELECT {PLAYER_COLUMNS} FROM players WHERE player_id = ANY($1::uuid[])"  # noqa: S608

        async def repo(k: int) -> None:
            for _ in range(k):
                await self.layer.players.get_players_batch(ids)

        async def raw(k: int) -> None:
            for _ in range(k):
                [_decode_player(r) for r in await self.pool.fetch(sql, ids)]

        return Case("get_players_batch (100)", repo, raw, n, note="100 ids per call")

    def _save_player(self, n: int) -> Case:
        player = self.players[2]
        other = self.players[3].player_id  # the asyncpg side writes its own row
        rooms = [ROOM, CROWDED.replace("ward", "records")]
        sql = (
            "UPDATE players SET current_room_id = $2 "
            "WHERE player_id = $1 AND current_room_id = $3 RETURNING player_id"
        )
        state = {"room": self.players[3].current_room_id}  # what the row holds now

        async def repo(k: int) -> None:
            for i in range(k):
                new = rooms[i % 2]
                if new == player.current_room_id:
                    new = rooms[(i + 1) % 2]
                player.current_room_id = new  # always a change, so every save writes
                await self.layer.players.save_player(player)

        async def raw(k: int) -> None:
            for i in range(k):
                new = rooms[i % 2]
                if new == state["room"]:
                    new = rooms[(i + 1) % 2]
                written = await self.pool.fetchrow(sql, other, new, state["room"])
                assert written is not None, "the asyncpg side must really write"
                state["room"] = new

        return Case(
            "save_player (one changed column)",
            repo,
            raw,
            n,
            note="compare-and-set update of the changed field",
        )

    def _save_players(self, n: int) -> Case:
        batch = self.players[200:1200]
        raw_batch = self.players[1200:2200]  # its own rows: the layer's objects stay current
        counter = {"i": 0}

        async def repo(k: int) -> None:
            for _ in range(k):
                counter["i"] += 1
                for p in batch:
                    p.current_room_id = ROOM if counter["i"] % 2 else CROWDED
                    p.stats.strength = 1 + counter["i"] % 100
                await self.layer.players.save_players(batch)

        async def raw(k: int) -> None:
            for _ in range(k):
                counter["i"] += 1
                rows = []
                for p in raw_batch:
                    stats = p.get_stats()
                    stats["strength"] = 1 + counter["i"] % 100
                    rows.append(
                        (
                            p.player_id,
                            p.user_id,
                            p.name,
                            ROOM if counter["i"] % 2 else CROWDED,
                            p.respawn_room_id,
                            p.profession_id,
                            json.dumps(stats),
                            p.experience_points,
                            p.level,
                            p.is_admin,
                            p.created_at,
                            p.last_active,
                        )
                    )
                await self.pool.executemany(RAW_UPSERT, rows)

        return Case(
            "save_players (1,000)",
            repo,
            raw,
            n,
            1.5,
            note="1,000 loaded players, two fields changed each; vs executemany upsert",
        )

    def _health(self, n: int) -> Case:
        ids = [p.player_id for p in self.players[300:400]]

        async def repo(k: int) -> None:
            for i in range(k):
                await self.layer.health.update_player_health(ids[i % 100], -1 if i % 2 else 1)

        async def raw(k: int) -> None:
            for i in range(k):
                await self.pool.fetchrow(RAW_HEALTH, ids[i % 100], -1 if i % 2 else 1)

        return Case("update_player_health (sequential)", repo, raw, n, 1.15)

    def _hot_row(self, n: int) -> Case:
        pid = self.hot.player_id

        async def spread(k: int, one: Callable[[int], Awaitable[Any]]) -> None:
            per_worker = [k // 50 + (1 if w < k % 50 else 0) for w in range(50)]

            async def worker(count: int) -> None:
                for i in range(count):
                    await one(i)

            await asyncio.gather(*(worker(c) for c in per_worker))

        async def repo(k: int) -> None:
            await spread(
                k, lambda i: self.layer.health.update_player_health(pid, -1 if i % 2 else 1)
            )

        async def raw(k: int) -> None:
            await spread(k, lambda i: self.pool.fetchrow(RAW_HEALTH, pid, -1 if i % 2 else 1))

        return Case("update_player_health (1 hot row, 50 workers)", repo, raw, n, 1.15)

    def _health_batch(self, n: int) -> Case:
        ids = [p.player_id for p in self.players[200:1200]]

        async def repo(k: int) -> None:
            for i in range(k):
                await self.layer.health.apply_health_deltas(
                    {pid: -1 if i % 2 else 1 for pid in ids}
                )

        async def raw(k: int) -> None:
            for i in range(k):
                rows = await self.pool.fetch(RAW_HEALTH_BATCH, ids, [-1 if i % 2 else 1] * len(ids))
                assert len(rows) == len(ids), "all or nothing: a player is missing"

        return Case(
            "apply_health_deltas (1,000)",
            repo,
            raw,
            n,
            1.15,
            note="one statement for 1,000 players",
        )

    def _stat(self, n: int) -> Case:
        ids = [p.player_id for p in self.players[400:500]]

        async def repo(k: int) -> None:
            for i in range(k):
                await self.layer.experience.update_player_stat_field(
                    ids[i % 100], "fear", 1 if i % 2 else -1
                )

        async def raw(k: int) -> None:
            for i in range(k):
                await self.pool.fetchrow(RAW_FEAR, ids[i % 100], 1 if i % 2 else -1)

        return Case("update_player_stat_field", repo, raw, n, 1.15)

    def _xp(self, n: int) -> Case:
        players = self.players[500:600]

        async def repo(k: int) -> None:
            for i in range(k):
                await self.layer.experience.gain_experience(players[i % 100], 3, "bench")

        async def raw(k: int) -> None:
            for i in range(k):
                await self.pool.fetchrow(RAW_XP, players[i % 100].player_id, 3)

        return Case("gain_experience", repo, raw, n, 1.15)

    def _transfer(self, n: int) -> Case:
        player = ("player", str(self.mover.player_id))
        chest = ("container", str(self.chest))
        where = {"at": player}

        async def repo(k: int) -> None:
            for _ in range(k):
                target = chest if where["at"] == player else player
                await self.layer.items.transfer_item(
                    self.item, from_owner=where["at"], to_owner=target
                )
                where["at"] = target

        async def raw(k: int) -> None:
            for _ in range(k):
                target = chest if where["at"] == player else player
                await _raw_transfer(self.pool, self.item, where["at"], target)
                where["at"] = target

        return Case(
            "transfer_item (player <-> container)",
            repo,
            raw,
            n,
            note="same locks, checks and ledger row by hand",
        )

    def _container(self, n: int) -> Case:
        async def repo(k: int) -> None:
            for _ in range(k):
                await self.layer.containers.get_container(self.box)

        async def raw(k: int) -> None:
            for _ in range(k):
                _decode_container(await self.pool.fetch(RAW_CONTAINER, self.box))

        return Case("get_container (20 items)", repo, raw, n)

    def _room_cache(self, n: int) -> Case:
        async def repo(k: int) -> None:
            for _ in range(k):
                self.layer.rooms.get_room_by_id(ROOM)

        async def raw(k: int) -> None:
            for _ in range(max(1, k // 100)):
                await self.pool.fetchrow(ROOM_ROW, ROOM)

        return Case(
            "get_room_by_id (cache)",
            repo,
            raw,
            n,
            note="asyncpg side runs n/100 queries; the cache makes no query at all",
        )


async def _raw_transfer(
    pool: asyncpg.Pool, item: str, source: tuple[str, str], target: tuple[str, str]
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        containers = sorted(o[1] for o in (source, target) if o[0] == "container")
        for cid in containers:
            row = await conn.fetchrow(
                "SELECT lock_state, capacity_slots FROM containers"
                " WHERE container_id = $1 FOR UPDATE",
                uuid.UUID(cid),
            )
            counts = await conn.fetchrow(
                "SELECT count(*) AS used, COALESCE(max(position) + 1, 0) AS next"
                " FROM item_instances WHERE owner_type = 'container' AND owner_id = $1",
                cid,
            )
            assert row["lock_state"] == "unlocked"
            assert counts["used"] < row["capacity_slots"]
        if target[0] == "player":
            await conn.fetchval("SELECT 1 FROM players WHERE player_id = $1", uuid.UUID(target[1]))
        owner = await conn.fetchrow(
            "SELECT owner_type, owner_id FROM item_instances"
            " WHERE item_instance_id = ANY($1::text[]) ORDER BY item_instance_id FOR UPDATE",
            [item],
        )
        assert (owner["owner_type"], owner["owner_id"]) == source
        await conn.execute(
            "UPDATE item_instances SET owner_type = $2, owner_id = $3, position = NULL, "
            "updated_at = now() WHERE item_instance_id = $1",
            item,
            target[0],
            target[1],
        )
        await conn.execute(
            "INSERT INTO item_movements (item_instance_id, from_owner_type, from_owner_id, "
            "to_owner_type, to_owner_id, reason) VALUES ($1, $2, $3, $4, $5, 'transfer')",
            item,
            *source,
            *target,
        )

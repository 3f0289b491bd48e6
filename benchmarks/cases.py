"""The operations measured, each written five ways: the layer call and four baselines.

* ``asyncpg``: hand-written statements on an ``asyncpg.create_pool`` of its own (asyncpg's
  defaults, including its pool reset), written the way a careful developer would write them
  for the same result: the same rows read and decoded (JSON columns parsed), the same clamped
  atomic update with its old and new values, the same locks, checks and ledger row for a
  transfer.
* ``tortoise``: plain Tortoise ORM code on the same models (:mod:`benchmarks.tortoise_side`).
* ``sqlalchemy``: SQLAlchemy 2 async ORM code (:mod:`benchmarks.sqlalchemy_side`), optional.
* ``floor``: the asyncpg side's statements on one bare connection (no pool): what the
  statements cost with no client machinery at all. Not applicable to concurrent workloads.

Each side writes rows of its own where another side's writes would disturb it (a
compare-and-set save must find its row as it left it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import asyncpg

from benchmarks.harness import LAYER, SIDES, Case, Target, Work, concurrently
from benchmarks.tortoise_side import TortoiseSide
from persistence.facade import AsyncPersistenceLayer
from persistence.models.player import Player
from persistence.repositories.player import NAME_KEY_SQL, PLAYER_COLUMNS

if TYPE_CHECKING:
    from benchmarks.sqlalchemy_side import SqlAlchemySide

ROOM = "earth_arkhamcity_sanitarium_room_foyer_001"
CROWDED = "earth_arkhamcity_sanitarium_room_ward_001"
ROOM_ROW = (
    "SELECT room_id, name, description, plane, zone, sub_zone, exits, attributes "
    "FROM rooms WHERE room_id = $1"
)

RAW_HEALTH = """
WITH old AS (SELECT player_id, stats FROM players WHERE player_id = $1 AND NOT is_deleted
              FOR UPDATE)
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
         WHERE NOT p.is_deleted ORDER BY p.player_id FOR UPDATE OF p)
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
# nothing when a player is missing); without it the two would not do the same work. Every
# side skips soft-deleted players, as the layer must (they take no deltas and are not found
# by name or in a room), and finds a name by the expression its unique index is on.
RAW_FEAR = """
WITH old AS (SELECT player_id, stats FROM players WHERE player_id = $1 AND NOT is_deleted
              FOR UPDATE)
UPDATE players p
   SET stats = jsonb_set(p.stats, '{fear}',
       to_jsonb(LEAST(GREATEST(COALESCE((old.stats->>'fear')::int, 0) + $2, 0), 100)))
  FROM old WHERE p.player_id = old.player_id
RETURNING (old.stats->>'fear')::int AS old_value, (p.stats->>'fear')::int AS new_value
"""
RAW_XP = """
WITH old AS (SELECT player_id, experience_points, level FROM players
              WHERE player_id = $1 AND NOT is_deleted FOR UPDATE)
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


PLAYERS = 5200
"""Players seeded: 200 shared ones, then 1,000 of its own per side for the batch save."""
SAVE_ROW: Mapping[str, int] = {side: 50 + i for i, side in enumerate(SIDES)}
"""The player each side's save_player case writes (compare-and-set: one row per side)."""
BATCH_ROWS: Mapping[str, slice] = {
    side: slice(200 + 1000 * i, 1200 + 1000 * i) for i, side in enumerate(SIDES)
}
"""The 1,000 players each side's save_players case writes."""

ORMS = (Target("tortoise", 1.0), Target("sqlalchemy", 1.0, strict=True))
"""Every row: the layer at least as fast as plain Tortoise, and faster than SQLAlchemy."""
ATOMIC = (Target("asyncpg", 1.0), Target("floor", 1.3), *ORMS)
ONE_ROW = (Target("asyncpg", 1.3), *ORMS)
MANY_ROWS = (Target("asyncpg", 1.5), *ORMS)
BATCH_SAVE = (Target("asyncpg", 1.5), *ORMS)


class Executor(Protocol):
    """What the asyncpg side runs its statements on: the pool, or the floor's connection."""

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...
    async def fetchrow(self, query: str, *args: Any) -> Any: ...
    async def executemany(self, command: str, args: Any) -> None: ...


def new_player(name: str) -> Player:
    """An unsaved player for the benchmark data."""
    return Player(player_id=uuid.uuid4(), user_id=uuid.uuid4(), name=name, current_room_id=ROOM)


def _decode_player(row: asyncpg.Record) -> dict[str, Any]:
    data = dict(row)
    data["stats"] = json.loads(data["stats"])
    return data


def _decode_room(row: asyncpg.Record) -> dict[str, Any]:
    data = dict(row)
    data["exits"] = json.loads(data["exits"])
    data["attributes"] = json.loads(data["attributes"])
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
    """The data and every side's client the cases share.

    Args:
        layer: The started layer.
        pool: The asyncpg side's pool.
        floor: The floor's one bare connection.
        tortoise: The plain-Tortoise side (its own Tortoise context).
        sqlalchemy: The SQLAlchemy side, or ``None`` when SQLAlchemy is not installed.
        quick: Small N (CI).
    """

    def __init__(
        self,
        layer: AsyncPersistenceLayer,
        pool: asyncpg.Pool,
        floor: asyncpg.Connection,
        tortoise: TortoiseSide,
        sqlalchemy: SqlAlchemySide | None,
        quick: bool,
    ) -> None:
        self.layer = layer
        self.pool = pool
        self.floor = floor
        self.tortoise = tortoise
        self.sa = sqlalchemy
        self.quick = quick
        self.players: list[Player] = []

    async def setup(self) -> None:
        """Seed the world, 5,200 players (50 in one room), a container of 20 items."""
        await self.layer.seed_world()
        await self.layer.items.save_prototypes(
            [{"prototype_id": "loot", "name": "Loot", "weight": 1}]
        )
        players = [new_player(f"bench_{i:05d}") for i in range(PLAYERS)]
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
        # The ORM sides work on objects they loaded themselves, as their users would.
        self.tortoise_players = {
            "save": (await self.tortoise.load_players([self._id(SAVE_ROW["tortoise"])]))[0],
            "batch": await self.tortoise.load_players(self._ids(BATCH_ROWS["tortoise"])),
            "xp": await self.tortoise.load_players(self._ids(slice(500, 600))),
        }
        if self.sa is not None:
            self.sa_players = {
                "save": (await self.sa.load_players([self._id(SAVE_ROW["sqlalchemy"])]))[0],
                "batch": await self.sa.load_players(self._ids(BATCH_ROWS["sqlalchemy"])),
                "xp": await self.sa.load_players(self._ids(slice(500, 600))),
            }

    def _id(self, index: int) -> uuid.UUID:
        return self.players[index].player_id

    def _ids(self, rows: slice) -> list[uuid.UUID]:
        return [p.player_id for p in self.players[rows]]

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

    def _case(
        self,
        name: str,
        n: int,
        sides: Mapping[str, Work | None],
        targets: tuple[Target, ...],
        note: str = "",
    ) -> Case:
        """A case of the sides that apply (``None``: not applicable, or not installed)."""
        return Case(
            name,
            n,
            {side: work for side, work in sides.items() if work is not None},
            targets,
            note,
        )

    def _by_id(self, n: int) -> Case:
        ids = [p.player_id for p in self.players]
        sql = f"SELECT {PLAYER_COLUMNS} FROM players WHERE player_id = $1"  # noqa: S608

        async def layer(k: int) -> None:
            for i in range(k):
                await self.layer.players.get_player_by_id(ids[i % len(ids)])

        def raw(db: Executor) -> Work:
            async def work(k: int) -> None:
                for i in range(k):
                    _decode_player(await db.fetchrow(sql, ids[i % len(ids)]))

            return work

        sides = {
            LAYER: layer,
            "asyncpg": raw(self.pool),
            "tortoise": self.tortoise.by_id(ids),
            "sqlalchemy": self.sa and self.sa.by_id(ids),
            "floor": raw(self.floor),
        }
        return self._case("get_player_by_id", n, sides, ONE_ROW)

    def _by_name(self, n: int) -> Case:
        names = [p.name.upper() for p in self.players]
        sql = (
            f"SELECT {PLAYER_COLUMNS} FROM players"  # noqa: S608 - constants
            f" WHERE {NAME_KEY_SQL} = {NAME_KEY_SQL.replace('name', '$1')} AND NOT is_deleted"
        )

        async def layer(k: int) -> None:
            for i in range(k):
                await self.layer.players.get_player_by_name(names[i % len(names)])

        def raw(db: Executor) -> Work:
            async def work(k: int) -> None:
                for i in range(k):
                    _decode_player(await db.fetchrow(sql, names[i % len(names)]))

            return work

        sides = {
            LAYER: layer,
            "asyncpg": raw(self.pool),
            "tortoise": self.tortoise.by_name(names),
            "sqlalchemy": self.sa and self.sa.by_name(names),
            "floor": raw(self.floor),
        }
        return self._case("get_player_by_name", n, sides, ONE_ROW)

    def _in_room(self, n: int) -> Case:
        sql = (
            f"SELECT {PLAYER_COLUMNS} FROM players WHERE current_room_id = $1"  # noqa: S608
            " AND NOT is_deleted ORDER BY lower(name)"
        )

        async def layer(k: int) -> None:
            for _ in range(k):
                await self.layer.players.get_players_in_room(CROWDED)

        def raw(db: Executor) -> Work:
            async def work(k: int) -> None:
                for _ in range(k):
                    [_decode_player(r) for r in await db.fetch(sql, CROWDED)]

            return work

        sides = {
            LAYER: layer,
            "asyncpg": raw(self.pool),
            "tortoise": self.tortoise.in_room(CROWDED),
            "sqlalchemy": self.sa and self.sa.in_room(CROWDED),
            "floor": raw(self.floor),
        }
        return self._case(
            "get_players_in_room (50)", n, sides, MANY_ROWS, note="50 players per call"
        )

    def _batch(self, n: int) -> Case:
        ids = [p.player_id for p in self.players[100:200]]
        sql = f"SELECT {PLAYER_COLUMNS} FROM players WHERE player_id = ANY($1::uuid[])"  # noqa: S608

        async def layer(k: int) -> None:
            for _ in range(k):
                await self.layer.players.get_players_batch(ids)

        def raw(db: Executor) -> Work:
            async def work(k: int) -> None:
                for _ in range(k):
                    rows = [_decode_player(r) for r in await db.fetch(sql, ids)]
                    by_id = {r["player_id"]: r for r in rows}  # in the order asked, like the layer
                    [by_id[pid] for pid in dict.fromkeys(ids) if pid in by_id]

            return work

        sides = {
            LAYER: layer,
            "asyncpg": raw(self.pool),
            "tortoise": self.tortoise.batch(ids),
            "sqlalchemy": self.sa and self.sa.batch(ids),
            "floor": raw(self.floor),
        }
        return self._case(
            "get_players_batch (100)", n, sides, MANY_ROWS, note="100 ids per call, in order"
        )

    def _save_player(self, n: int) -> Case:
        player = self.players[SAVE_ROW[LAYER]]
        rooms = [ROOM, CROWDED.replace("ward", "records")]
        sql = (
            "UPDATE players SET current_room_id = $2 "
            "WHERE player_id = $1 AND current_room_id = $3 RETURNING player_id"
        )

        async def layer(k: int) -> None:
            for i in range(k):
                new = rooms[i % 2]
                if new == player.current_room_id:
                    new = rooms[(i + 1) % 2]
                player.current_room_id = new  # always a change, so every save writes
                await self.layer.players.save_player(player)

        def raw(db: Executor, side: str) -> Work:
            own = self.players[SAVE_ROW[side]]  # a row of its own
            state = {"room": own.current_room_id}  # what the row holds now

            async def work(k: int) -> None:
                for i in range(k):
                    new = rooms[i % 2]
                    if new == state["room"]:
                        new = rooms[(i + 1) % 2]
                    written = await db.fetchrow(sql, own.player_id, new, state["room"])
                    assert written is not None, f"the {side} side must really write"
                    state["room"] = new

            return work

        sides = {
            LAYER: layer,
            "asyncpg": raw(self.pool, "asyncpg"),
            "tortoise": self.tortoise.save_player(self.tortoise_players["save"], rooms),
            "sqlalchemy": self.sa and self.sa.save_player(self.sa_players["save"], rooms),
            "floor": raw(self.floor, "floor"),
        }
        return self._case(
            "save_player (one changed column)",
            n,
            sides,
            ORMS,
            note="compare-and-set update of the changed field",
        )

    def _save_players(self, n: int) -> Case:
        batch = self.players[BATCH_ROWS[LAYER]]
        rooms = (CROWDED, ROOM)
        counter = {"i": 0}

        async def layer(k: int) -> None:
            for _ in range(k):
                counter["i"] += 1
                for p in batch:
                    p.current_room_id = rooms[counter["i"] % 2]
                    p.stats.strength = 1 + counter["i"] % 100
                await self.layer.players.save_players(batch)

        def raw(db: Executor, side: str) -> Work:
            own = self.players[BATCH_ROWS[side]]  # rows of its own: the layer's stay current
            count = {"i": 0}

            async def work(k: int) -> None:
                for _ in range(k):
                    count["i"] += 1
                    rows = []
                    for p in own:
                        stats = p.get_stats()
                        stats["strength"] = 1 + count["i"] % 100
                        rows.append(
                            (
                                p.player_id,
                                p.user_id,
                                p.name,
                                rooms[count["i"] % 2],
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
                    await db.executemany(RAW_UPSERT, rows)

            return work

        sides = {
            LAYER: layer,
            "asyncpg": raw(self.pool, "asyncpg"),
            "tortoise": self.tortoise.save_players(self.tortoise_players["batch"], rooms),
            "sqlalchemy": self.sa and self.sa.save_players(self.sa_players["batch"], rooms),
            "floor": raw(self.floor, "floor"),
        }
        return self._case(
            "save_players (1,000)",
            n,
            sides,
            BATCH_SAVE,
            note="1,000 loaded players, two fields changed each; asyncpg: executemany upsert",
        )

    def _health(self, n: int) -> Case:
        ids = [p.player_id for p in self.players[300:400]]

        async def layer(k: int) -> None:
            for i in range(k):
                await self.layer.health.update_player_health(ids[i % 100], -1 if i % 2 else 1)

        def raw(db: Executor) -> Work:
            async def work(k: int) -> None:
                for i in range(k):
                    await db.fetchrow(RAW_HEALTH, ids[i % 100], -1 if i % 2 else 1)

            return work

        sides = {
            LAYER: layer,
            "asyncpg": raw(self.pool),
            "tortoise": self.tortoise.health(ids),
            "sqlalchemy": self.sa and self.sa.health(ids),
            "floor": raw(self.floor),
        }
        return self._case("update_player_health (sequential)", n, sides, ATOMIC)

    def _hot_row(self, n: int) -> Case:
        pid = self.hot.player_id

        async def layer(k: int) -> None:
            await concurrently(
                k, lambda i: self.layer.health.update_player_health(pid, -1 if i % 2 else 1)
            )

        async def raw(k: int) -> None:
            await concurrently(k, lambda i: self.pool.fetchrow(RAW_HEALTH, pid, -1 if i % 2 else 1))

        sides = {
            LAYER: layer,
            "asyncpg": raw,
            "tortoise": self.tortoise.hot_row(pid),
            "sqlalchemy": self.sa and self.sa.hot_row(pid),
            "floor": None,  # one connection cannot serve 50 concurrent workers
        }
        return self._case("update_player_health (1 hot row, 50 workers)", n, sides, ATOMIC)

    def _health_batch(self, n: int) -> Case:
        ids = [p.player_id for p in self.players[200:1200]]

        async def layer(k: int) -> None:
            for i in range(k):
                await self.layer.health.apply_health_deltas(
                    {pid: -1 if i % 2 else 1 for pid in ids}
                )

        def raw(db: Executor) -> Work:
            async def work(k: int) -> None:
                for i in range(k):
                    rows = await db.fetch(RAW_HEALTH_BATCH, ids, [-1 if i % 2 else 1] * len(ids))
                    assert len(rows) == len(ids), "all or nothing: a player is missing"

            return work

        sides = {
            LAYER: layer,
            "asyncpg": raw(self.pool),
            "tortoise": self.tortoise.health_batch(ids),
            "sqlalchemy": self.sa and self.sa.health_batch(ids),
            "floor": raw(self.floor),
        }
        return self._case(
            "apply_health_deltas (1,000)",
            n,
            sides,
            ATOMIC,
            note="one statement for 1,000 players; tortoise: locked read + bulk_update",
        )

    def _stat(self, n: int) -> Case:
        ids = [p.player_id for p in self.players[400:500]]

        async def layer(k: int) -> None:
            for i in range(k):
                await self.layer.experience.update_player_stat_field(
                    ids[i % 100], "fear", 1 if i % 2 else -1
                )

        def raw(db: Executor) -> Work:
            async def work(k: int) -> None:
                for i in range(k):
                    await db.fetchrow(RAW_FEAR, ids[i % 100], 1 if i % 2 else -1)

            return work

        sides = {
            LAYER: layer,
            "asyncpg": raw(self.pool),
            "tortoise": self.tortoise.stat(ids),
            "sqlalchemy": self.sa and self.sa.stat(ids),
            "floor": raw(self.floor),
        }
        return self._case("update_player_stat_field", n, sides, ATOMIC)

    def _xp(self, n: int) -> Case:
        players = self.players[500:600]

        async def layer(k: int) -> None:
            for i in range(k):
                await self.layer.experience.gain_experience(players[i % 100], 3, "bench")

        def raw(db: Executor) -> Work:
            async def work(k: int) -> None:
                for i in range(k):
                    await db.fetchrow(RAW_XP, players[i % 100].player_id, 3)

            return work

        sides = {
            LAYER: layer,
            "asyncpg": raw(self.pool),
            "tortoise": self.tortoise.xp(self.tortoise_players["xp"]),
            "sqlalchemy": self.sa and self.sa.xp(self.sa_players["xp"]),
            "floor": raw(self.floor),
        }
        return self._case("gain_experience", n, sides, ATOMIC)

    def _transfer(self, n: int) -> Case:
        player = ("player", str(self.mover.player_id))
        chest = ("container", str(self.chest))
        where = {"at": player}  # every side moves the same item on from where it is

        async def layer(k: int) -> None:
            for _ in range(k):
                target = chest if where["at"] == player else player
                await self.layer.items.transfer_item(
                    self.item, from_owner=where["at"], to_owner=target
                )
                where["at"] = target

        async def pooled(k: int) -> None:
            for _ in range(k):
                target = chest if where["at"] == player else player
                async with self.pool.acquire() as conn:
                    await _raw_transfer(conn, self.item, where["at"], target)
                where["at"] = target

        async def floor(k: int) -> None:
            for _ in range(k):
                target = chest if where["at"] == player else player
                await _raw_transfer(self.floor, self.item, where["at"], target)
                where["at"] = target

        sides = {
            LAYER: layer,
            "asyncpg": pooled,
            "tortoise": self.tortoise.transfer(self.item, where, player, chest),
            "sqlalchemy": self.sa and self.sa.transfer(self.item, where, player, chest),
            "floor": floor,
        }
        return self._case(
            "transfer_item (player <-> container)",
            n,
            sides,
            ORMS,
            note="same locks, checks and ledger row on every side",
        )

    def _container(self, n: int) -> Case:
        async def layer(k: int) -> None:
            for _ in range(k):
                await self.layer.containers.get_container(self.box)

        def raw(db: Executor) -> Work:
            async def work(k: int) -> None:
                for _ in range(k):
                    _decode_container(await db.fetch(RAW_CONTAINER, self.box))

            return work

        sides = {
            LAYER: layer,
            "asyncpg": raw(self.pool),
            "tortoise": self.tortoise.container(self.box),
            "sqlalchemy": self.sa and self.sa.container(self.box),
            "floor": raw(self.floor),
        }
        return self._case(
            "get_container (20 items)",
            n,
            sides,
            ORMS,
            note="tortoise: two queries (no relation joins items to containers)",
        )

    def _room_cache(self, n: int) -> Case:
        async def layer(k: int) -> None:
            for _ in range(k):
                self.layer.rooms.get_room_by_id(ROOM)

        def raw(db: Executor) -> Work:
            async def work(k: int) -> None:
                for _ in range(max(1, k // 100)):
                    _decode_room(await db.fetchrow(ROOM_ROW, ROOM))

            return work

        sides = {
            LAYER: layer,
            "asyncpg": raw(self.pool),
            "tortoise": self.tortoise.room(ROOM),
            "sqlalchemy": self.sa and self.sa.room(ROOM),
            "floor": raw(self.floor),
        }
        return self._case(
            "get_room_by_id (cache)",
            n,
            sides,
            ORMS,
            note="the other sides run n/100 queries; the cache makes no query at all",
        )


async def _raw_transfer(
    conn: asyncpg.Connection, item: str, source: tuple[str, str], target: tuple[str, str]
) -> None:
    async with conn.transaction():
        next_position = None
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
            if target == ("container", cid):
                assert counts["used"] < row["capacity_slots"]
                next_position = counts["next"]
        if target[0] == "player":
            found = await conn.fetchval(
                "SELECT 1 FROM players WHERE player_id = $1", uuid.UUID(target[1])
            )
            assert found is not None
        owner = await conn.fetchrow(
            "SELECT owner_type, owner_id FROM item_instances"
            " WHERE item_instance_id = ANY($1::text[]) ORDER BY item_instance_id FOR UPDATE",
            [item],
        )
        assert (owner["owner_type"], owner["owner_id"]) == source
        await conn.execute(
            "UPDATE item_instances SET owner_type = $2, owner_id = $3, position = $4, "
            "updated_at = now() WHERE item_instance_id = $1",
            item,
            target[0],
            target[1],
            next_position,
        )
        await conn.execute(
            "INSERT INTO item_movements (item_instance_id, from_owner_type, from_owner_id, "
            "to_owner_type, to_owner_id, reason) VALUES ($1, $2, $3, $4, $5, 'transfer')",
            item,
            *source,
            *target,
        )

"""In-memory twins of the repositories, for unit tests of game code without a database.

They satisfy the same protocols (:mod:`persistence.protocols`) and reuse the real
validation, clamps, save documents and events, so a call the real layer refuses is refused
here with the same error, and a call it accepts has the same result. What they do not model:
concurrency between processes, SQL-level failures, timeouts. ``tests/integration/
test_shared_scenario.py`` runs one scenario against both and compares the outcomes.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from persistence.errors import (
    ConfigurationError,
    ContainerFullError,
    ContainerLockedError,
    DuplicateError,
    ForeignKeyError,
    ItemNotOwnedError,
    NoExitError,
    NotFoundError,
    OperationReusedError,
    PlayerDeletedError,
    PlayerSoftDeletedError,
    RoomInUseError,
    StaleDataError,
    ValidationError,
    describe,
)
from persistence.events import (
    ContainerCreated,
    ContainerRemoved,
    ContainerUpdated,
    CorpseCreated,
    Event,
    EventBus,
    EventOutbox,
    ItemCreated,
    ItemsTransferred,
    NullEventBus,
    PlayerCreated,
    PlayerDeleted,
    PlayerMoved,
    PlayerRestored,
    PlayerRoomFixed,
    PlayerSaved,
    PlayerSoftDeleted,
    RoomDeleted,
    RoomsSaved,
)
from persistence.models.container import LOCK_STATES, MAX_CAPACITY_SLOTS, Container
from persistence.models.item import ItemInstance, ItemPrototype
from persistence.models.player import Player
from persistence.models.profession import Profession
from persistence.models.room import Room
from persistence.models.stats import PlayerStats
from persistence.operations import check_op_id
from persistence.repositories.atomic import StatChange, _event
from persistence.repositories.container import (
    ContainerSpec,
    aware_time,
    check_contents,
    check_duration,
    check_metadata,
    check_same_container,
    check_weight_limit,
    parse_container_options,
)
from persistence.repositories.experience import ExperienceChange, xp_events
from persistence.repositories.health import HealthChange, health_change
from persistence.repositories.item import (
    ItemSpec,
    Owner,
    PrototypeSpec,
    Reserved,
    TransferRequest,
    TransferResult,
    normalize_owner,
)
from persistence.repositories.player import (
    _COLUMN_TYPES,
    _SaveRow,
    name_key,
    normalize_name,
    validate_player,
)
from persistence.repositories.room import RoomScene, room_spec
from persistence.settings import DEFAULT_FALLBACK_ROOM_ID, PersistenceSettings
from persistence.stats import LevelCurve, check_amount, check_delta, field_bounds, whitelisted_field
from persistence.validation import as_uuid, check_mapping, check_reason, check_sequence, check_text
from persistence.world import RoomSpec, read_world, sample_world_path

__all__ = ["InMemoryPersistence"]


@dataclass
class _Store:
    players: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    rooms: dict[str, dict[str, Any]] = field(default_factory=dict)
    professions: dict[int, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    containers: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    prototypes: dict[str, dict[str, Any]] = field(default_factory=dict)
    operations: dict[str, tuple[str, Any, Any]] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    clock: int = 0

    def tick(self) -> datetime:
        """A strictly increasing timestamp (ordering ties the way the database would not)."""
        self.clock += 1
        return datetime.now(UTC) + timedelta(microseconds=self.clock)


def _plain_to_column(name: str, value: Any) -> Any:
    if value is None:
        return None
    kind = _COLUMN_TYPES.get(name)
    if kind == "uuid":
        return uuid.UUID(str(value))
    if kind == "timestamptz":
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    return value


class _Base:
    def __init__(self, owner: InMemoryPersistence) -> None:
        self._owner = owner

    @property
    def _s(self) -> _Store:
        return self._owner._store

    def _emit(self, *events: Event) -> None:
        self._owner.events.emit(*events)

    def _claim(self, op_id: str | None, kind: str, request: Any) -> Any:
        if op_id is None:
            return None
        found = self._s.operations.get(op_id)
        if found is None:
            return None
        if found[0] != kind or found[1] != request:
            raise OperationReusedError(
                f"op_id {op_id!r} was already used for a different {found[0]}"
            )
        return found[2]

    def _record(self, op_id: str | None, kind: str, request: Any, result: Any) -> None:
        if op_id is not None:
            self._s.operations[op_id] = (kind, request, result)


class InMemoryPlayerRepository(_Base):
    """Players in a dict, with the real save semantics (changed fields, compare-and-set)."""

    def _model(self, row: dict[str, Any]) -> Player:
        values = copy.deepcopy(row)
        values.setdefault("is_deleted", False)
        values.setdefault("deleted_at", None)
        values["stats"] = PlayerStats.model_validate(values["stats"])
        player = Player(**values)
        player.mark_persisted()
        return player

    async def _checked(self, players: list[Player]) -> list[Player]:
        """With ``MUD_VALIDATE_ROOMS_ON_READ``: the room fix on every read, as the real reads."""
        if self._owner.settings.validate_rooms_on_read:
            for player in players:
                await self.validate_and_fix_player_room(player)
        return players

    async def _read(self, rows: Sequence[dict[str, Any]]) -> list[Player]:
        return await self._checked([self._model(r) for r in rows])

    async def get_player_by_id(self, player_id: uuid.UUID | str) -> Player | None:
        row = self._s.players.get(as_uuid(player_id, "player_id"))
        return None if row is None else (await self._read([row]))[0]

    async def require_player(self, player_id: uuid.UUID | str) -> Player:
        player = await self.get_player_by_id(player_id)
        if player is None:
            raise NotFoundError("player", player_id)
        return player

    async def get_player_by_name(self, name: str) -> Player | None:
        check_text(name, "name", max_length=10_000, allow_empty=True)
        folded = normalize_name(name)
        if folded is None:
            return None
        for row in self._s.players.values():
            if name_key(row["name"]) == name_key(folded) and not row.get("is_deleted"):
                return (await self._read([row]))[0]
        return None

    async def get_player_by_user_id(self, user_id: uuid.UUID | str) -> Player | None:
        uid = as_uuid(user_id, "user_id")
        rows = self._by_user(uid, active=True)
        return (await self._read(rows[:1]))[0] if rows else None

    def _by_user(self, uid: uuid.UUID, *, active: bool) -> list[dict[str, Any]]:
        return sorted(
            (
                r
                for r in self._s.players.values()
                if r["user_id"] == uid and not (active and r.get("is_deleted"))
            ),
            key=lambda r: (r["created_at"], r["player_id"]),
        )

    async def get_players_by_user_id(self, user_id: uuid.UUID | str) -> list[Player]:
        return await self._read(self._by_user(as_uuid(user_id, "user_id"), active=False))

    async def get_active_players_by_user_id(self, user_id: uuid.UUID | str) -> list[Player]:
        return await self._read(self._by_user(as_uuid(user_id, "user_id"), active=True))

    async def soft_delete_player(self, player_id: uuid.UUID | str) -> bool:
        row = self._s.players.get(as_uuid(player_id, "player_id"))
        if row is None or row.get("is_deleted"):
            return False
        row.update(is_deleted=True, deleted_at=datetime.now(UTC))
        self._emit(PlayerSoftDeleted(player_id=row["player_id"]))
        return True

    async def restore_player(self, player_id: uuid.UUID | str) -> Player:
        pid = as_uuid(player_id, "player_id")
        row = self._s.players.get(pid)
        if row is None:
            raise NotFoundError("player", pid)
        restored = False
        if row.get("is_deleted"):
            taken = any(
                name_key(r["name"]) == name_key(row["name"]) and not r.get("is_deleted")
                for r in self._s.players.values()
            )
            if taken:
                raise DuplicateError(
                    f"player {pid} cannot be restored: another active character has its name",
                    constraint="players_name_lower_key",
                )
            row.update(is_deleted=False, deleted_at=None)
            restored = True
        player = (await self._read([row]))[0]  # as real: a room fix is announced first
        if restored:
            self._emit(PlayerRestored(player_id=pid))
        return player

    def _active(self, pid: uuid.UUID) -> dict[str, Any]:
        """The row of an active player, or the typed error a write of it raises."""
        row = self._s.players.get(pid)
        if row is None:
            raise NotFoundError("player", pid)
        if row.get("is_deleted"):
            raise PlayerSoftDeletedError(pid)
        return row

    async def list_players(
        self, *, limit: int | None = None, offset: int = 0, include_deleted: bool = False
    ) -> list[Player]:
        if limit is not None and (type(limit) is not int or not 0 <= limit < 2**63):
            raise ValidationError(f"limit must be an int in 0..2**63-1, got {describe(limit)}")
        if type(offset) is not int or not 0 <= offset < 2**63:
            raise ValidationError(f"offset must be an int in 0..2**63-1, got {describe(offset)}")
        if not isinstance(include_deleted, bool):
            raise ValidationError(
                f"include_deleted must be a bool, got {describe(include_deleted)}"
            )
        rows = sorted(
            (r for r in self._s.players.values() if include_deleted or not r.get("is_deleted")),
            key=lambda r: (r["name"].lower(), r["player_id"]),
        )
        end = None if limit is None else offset + limit
        return await self._read(rows[offset:end])

    async def get_players_in_room(self, room_id: str) -> list[Player]:
        check_text(room_id, "room_id", max_length=255)
        rows = [
            r
            for r in self._s.players.values()
            if r["current_room_id"] == room_id and not r.get("is_deleted")
        ]
        players = await self._read(sorted(rows, key=lambda r: r["name"].lower()))
        return [p for p in players if p.current_room_id == room_id]  # as the real one

    async def get_players_batch(self, player_ids: Sequence[uuid.UUID | str]) -> list[Player]:
        ids = [as_uuid(p, "player_id") for p in check_sequence(player_ids, "player_ids")]
        players = self._s.players
        return await self._read(
            [
                players[i]
                for i in dict.fromkeys(ids)
                if i in players and not players[i].get("is_deleted")
            ]
        )

    async def save_player(self, player: Player, *, overwrite: bool = False) -> None:
        await self.save_players([player], overwrite=overwrite)

    async def save_players(self, players: Sequence[Player], *, overwrite: bool = False) -> None:
        floor = self._owner.settings.health_floor
        rows = [
            _SaveRow(p, validate_player(p, health_floor=floor), overwrite=overwrite)
            for p in check_sequence(players, "players")
        ]
        rows = [r for r in rows if r.doc is not None]
        if len({r.player.player_id for r in rows}) != len(rows):
            raise ValidationError("save_players got the same player twice")
        staged = copy.deepcopy(self._s.players)
        events: list[Event] = []
        stale: list[_SaveRow] = []
        for row in rows:
            doc: dict[str, Any] = row.doc or {}
            pid = row.player.player_id
            current = staged.get(pid)
            if current is not None and current.get("is_deleted"):
                raise PlayerSoftDeletedError(pid)
            if current is None:
                if not row.full:  # loaded, then deleted: a save never brings it back
                    raise PlayerDeletedError(pid)
                staged[pid] = self._row_from_full(pid, doc["f"])
                events.append(PlayerCreated(player_id=pid, name=staged[pid]["name"]))
                continue
            if row.full:
                staged[pid] = self._row_from_full(pid, doc["f"])
                events.append(PlayerSaved(player_id=pid, fields=row.fields))
                continue
            if not self._matches(current, doc):
                stale.append(row)
                continue
            for name, value in doc.get("p", {}).items():
                current[name] = _plain_to_column(name, value)
            stats = {k: v for k, v in current["stats"].items() if k not in doc.get("r", [])}
            stats.update(doc.get("s") or {})
            if row.touches_health and not self._health_holds(stats):
                stale.append(row)
                continue
            current["stats"] = stats
            events.append(PlayerSaved(player_id=pid, fields=row.fields))
        if stale:
            raise StaleDataError(
                f"{len(stale)} player(s) changed since they were loaded; nothing was written",
                fields=tuple(f for r in stale for f in r.fields),
            )
        self._check_unique(staged)
        self._s.players = staged
        for row in rows:
            row.written()
        self._emit(*events)

    def _health_holds(self, stats: dict[str, Any]) -> bool:
        current, maximum = stats.get("current_health", 100), stats.get("max_health", 100)
        return bool(self._owner.settings.health_floor <= current <= maximum)

    async def recreate_player(self, player: Player) -> Player:
        stats = validate_player(player, health_floor=self._owner.settings.health_floor)
        if player.player_id in self._s.players:
            raise DuplicateError(f"player {player.player_id} exists", constraint="players_pkey")
        values = {name: getattr(player, name) for name in _COLUMN_TYPES}
        staged = copy.deepcopy(self._s.players)
        staged[player.player_id] = {
            **copy.deepcopy(values),
            "player_id": player.player_id,
            "stats": copy.deepcopy(stats),
            "is_deleted": False,
            "deleted_at": None,
        }
        self._check_unique(staged)
        self._s.players = staged
        player.mark_written(values, stats, [], full=True)
        self._emit(PlayerCreated(player_id=player.player_id, name=player.name))
        # As real: the row as stored, not read again (so without a read's room fix).
        return self._model(staged[player.player_id])

    async def get_or_create_player(
        self,
        name: str,
        *,
        user_id: uuid.UUID | str | None = None,
        room_id: str | None = None,
        profession_id: int | None = None,
    ) -> tuple[Player, bool]:
        check_text(name, "name", max_length=10_000)
        uid = None if user_id is None else as_uuid(user_id, "user_id")
        room = check_text(
            room_id if room_id is not None else self._owner.settings.fallback_room_id,
            "room_id",
            max_length=255,
        )
        if profession_id is not None and (
            type(profession_id) is not int or not 0 <= profession_id < 2**31
        ):
            raise ValidationError(f"profession_id must be an int, got {describe(profession_id)}")
        candidate = Player(
            player_id=uuid.uuid4(),
            user_id=uid or uuid.uuid4(),
            name=name,
            current_room_id=room,
            profession_id=profession_id,
            stats=PlayerStats(),
        )
        validate_player(candidate, health_floor=self._owner.settings.health_floor)
        existing = await self.get_player_by_name(candidate.name)
        if existing is not None:
            if uid is not None and existing.user_id != uid:
                raise DuplicateError(
                    f"the name {existing.name!r} belongs to another account's player",
                    constraint="players_name_lower_key",
                )
            return existing, False
        rooms = self._owner.rooms
        if (
            rooms.loaded
            and rooms.size
            and rooms.get_room_by_id(room) is None
            and not room.startswith(self._owner.settings.instance_room_prefixes)
        ):
            raise NotFoundError("room", room)  # as the real one: a room known not to exist
        return await self.recreate_player(candidate), True

    async def move_player(self, player: Player, direction: str) -> Room:
        if not isinstance(player, Player):
            raise ValidationError(f"expected a Player, got {describe(player)}")
        check_text(direction, "direction", max_length=64)
        rooms = self._owner.rooms
        origin = player.current_room_id
        room = rooms.get_room_by_id(origin)
        exits: Mapping[str, Any] = room.exits if room is not None else {}
        target = exits.get(direction)
        if room is None or not isinstance(target, str):
            raise NoExitError(origin, direction, tuple(exits))
        destination = rooms.get_room_by_id(target)
        if destination is None:
            raise NotFoundError("room", target)
        row = self._s.players.get(player.player_id)
        if row is None:
            raise PlayerDeletedError(player.player_id)
        if row.get("is_deleted"):
            raise PlayerSoftDeletedError(player.player_id)
        if row["current_room_id"] not in (origin, target):
            player.accept_columns(current_room_id=row["current_room_id"])
            raise StaleDataError(
                f"player {player.player_id} is no longer in {origin!r}; nothing was moved",
                fields=("current_room_id",),
            )
        applied = row["current_room_id"] == origin
        row["current_room_id"] = target
        player.accept_columns(current_room_id=target)
        if applied:
            self._emit(
                PlayerMoved(
                    player_id=player.player_id,
                    from_room_id=origin,
                    to_room_id=target,
                    direction=direction,
                )
            )
        return destination

    @staticmethod
    def _row_from_full(pid: uuid.UUID, full: dict[str, Any]) -> dict[str, Any]:
        row = {name: _plain_to_column(name, full[name]) for name in _COLUMN_TYPES}
        row.update(player_id=pid, is_deleted=False, deleted_at=None)
        row["stats"] = copy.deepcopy(full["stats"])
        return row

    @staticmethod
    def _matches(current: dict[str, Any], doc: dict[str, Any]) -> bool:
        expected = doc.get("e")
        if expected is None:
            return True
        patch = doc.get("p", {})
        for name, value in expected.items():
            if name == "stats":
                continue
            now = current[name]
            if now != _plain_to_column(name, value) and now != _plain_to_column(
                name, patch.get(name)
            ):
                return False
        new_stats = doc.get("s") or {}
        for key, value in (expected.get("stats") or {}).items():
            now = current["stats"].get(key)
            if now != value and now != new_stats.get(key):
                return False
        return True

    def _check_unique(self, staged: dict[uuid.UUID, dict[str, Any]]) -> None:
        names = [name_key(r["name"]) for r in staged.values() if not r.get("is_deleted")]
        if len(set(names)) != len(names):
            raise DuplicateError("duplicate player name", constraint="players_name_lower_key")
        for row in staged.values():
            if row["profession_id"] is not None and row["profession_id"] not in self._s.professions:
                raise ForeignKeyError("unknown profession", constraint="players_profession_id_fkey")

    async def delete_player(self, player_id: uuid.UUID | str) -> bool:
        pid = as_uuid(player_id, "player_id")
        if self._s.players.pop(pid, None) is None:
            return False
        gear = {
            str(cid)
            for cid, c in list(self._s.containers.items())
            if c["entity_id"] == pid and c["source_type"] == "equipment"
        }
        for cid in gear:
            self._s.containers.pop(uuid.UUID(cid))
        self._s.items = {
            k: v
            for k, v in self._s.items.items()
            if not (v["owner_type"] == "player" and v["owner_id"] == str(pid))
            and not (v["owner_type"] == "container" and v["owner_id"] in gear)
        }
        self._emit(PlayerDeleted(player_id=pid))
        return True

    async def update_player_last_active(
        self, player_id: uuid.UUID | str, timestamp: datetime | None = None
    ) -> datetime:
        pid = as_uuid(player_id, "player_id")
        if timestamp is not None and not isinstance(timestamp, datetime):
            raise ValidationError(f"timestamp must be a datetime, got {describe(timestamp)}")
        self._active(pid)
        when = timestamp or datetime.now(UTC)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        self._s.players[pid]["last_active"] = when
        return when

    async def validate_and_fix_player_room(self, player: Player) -> bool:
        rooms = self._owner.rooms
        if not rooms.loaded or rooms.size == 0 or rooms.get_room_by_id(player.current_room_id):
            return False
        if player.current_room_id.startswith(self._owner.settings.instance_room_prefixes):
            return False
        if player.is_deleted:
            return False
        fallback = self._owner.settings.fallback_room_id
        if rooms.get_room_by_id(fallback) is None:
            raise ConfigurationError(f"fallback room {fallback!r} is not in the room cache")
        row = self._s.players.get(player.player_id)
        if row is None:
            raise NotFoundError("player", player.player_id)
        old = player.current_room_id
        if row["current_room_id"] != old or row.get("is_deleted"):
            # The real update applies only to an active player still in that room; the
            # object (perhaps loaded before a soft delete) takes the stored room.
            player.accept_columns(current_room_id=row["current_room_id"])
            return False
        row["current_room_id"] = fallback
        player.accept_columns(current_room_id=fallback)
        self._emit(
            PlayerRoomFixed(player_id=player.player_id, old_room_id=old, new_room_id=fallback)
        )
        return True


class InMemoryRoomRepository(_Base):
    """Rooms from the twin's store; like the real cache, loaded on start and on reload."""

    def __init__(self, owner: InMemoryPersistence) -> None:
        super().__init__(owner)
        self._cache: dict[str, Room] = {}
        self._loaded = False

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def size(self) -> int:
        return len(self._cache)

    async def load(self) -> int:
        return self.size if self._loaded else await self.reload()

    async def reload(self) -> int:
        self._cache = {rid: Room(**copy.deepcopy(r)) for rid, r in sorted(self._s.rooms.items())}
        self._loaded = True
        return self.size

    def get_room_by_id(self, room_id: str) -> Room | None:
        return self._cache.get(room_id)

    def list_rooms(self) -> list[Room]:
        return list(self._cache.values())

    def _refresh(self) -> None:
        if self._loaded:
            self._cache = {
                rid: Room(**copy.deepcopy(r)) for rid, r in sorted(self._s.rooms.items())
            }

    async def save_room(self, room: Room | RoomSpec | dict[str, Any]) -> None:
        await self.save_rooms([room])

    async def save_rooms(self, rooms: Sequence[Room | RoomSpec | dict[str, Any]]) -> int:
        specs = [room_spec(r) for r in check_sequence(rooms, "rooms")]
        ids = [spec.room_id for spec in specs]
        if len(set(ids)) != len(ids):
            raise ValidationError("save_rooms got the same room_id twice")
        targets = sorted({t for spec in specs for t in spec.exits.values()} - set(ids))
        missing = [t for t in targets if t not in self._s.rooms]
        if missing:
            raise ValidationError(f"exits lead to rooms that do not exist: {', '.join(missing)}")
        for spec in specs:
            self._s.rooms[spec.room_id] = spec.model_dump()
        self._refresh()
        if specs:
            self._emit(RoomsSaved(room_ids=tuple(ids)))
        return len(specs)

    async def delete_room(self, room_id: str) -> bool:
        rid = check_text(room_id, "room_id", max_length=255)
        if rid == self._owner.settings.fallback_room_id:
            raise RoomInUseError(rid, ("the fallback room, MUD_FALLBACK_ROOM_ID",))
        if rid not in self._s.rooms:
            return False
        here = [r for r in self._s.players.values() if r["current_room_id"] == rid]
        counts = {
            "players": sum(not r.get("is_deleted") for r in here),
            "soft deleted players": sum(bool(r.get("is_deleted")) for r in here),
            "containers": sum(c["room_id"] == rid for c in self._s.containers.values()),
            "items": sum(
                (i["owner_type"], i["owner_id"]) == ("room", rid) for i in self._s.items.values()
            ),
        }
        holders = tuple(f"{n} {kind}" for kind, n in counts.items() if n) + tuple(
            f"an exit of {other}"
            for other, row in sorted(self._s.rooms.items())
            if other != rid and rid in row["exits"].values()
        )
        if holders:
            raise RoomInUseError(rid, holders)
        del self._s.rooms[rid]
        self._refresh()
        self._emit(RoomDeleted(room_id=rid))
        return True

    async def read_scene(self, room_id: str) -> RoomScene:
        check_text(room_id, "room_id", max_length=255)
        # With MUD_VALIDATE_ROOMS_ON_READ the read fixes them: those moved away are not here.
        players = [
            p
            for p in await self._owner.players.get_players_in_room(room_id)
            if p.current_room_id == room_id
        ]
        containers = await self._owner.containers.get_containers_by_room_id(room_id)
        floor = await self._owner.items.get_items_by_owner("room", room_id)
        return RoomScene(
            room_id=room_id,
            room=self._cache.get(room_id),
            players=players,
            containers=containers,
            items=floor,
        )


class InMemoryProfessionRepository(_Base):
    """Professions from the twin's store."""

    async def get_all_professions(self, *, include_unavailable: bool = False) -> list[Profession]:
        rows = [r for _, r in sorted(self._s.professions.items())]
        return [Profession(**r) for r in rows if include_unavailable or r["is_available"]]

    async def get_profession_by_id(self, profession_id: int) -> Profession | None:
        if not isinstance(profession_id, int) or isinstance(profession_id, bool):
            raise ValidationError(f"profession_id must be an int, got {describe(profession_id)}")
        row = self._s.professions.get(profession_id)
        return None if row is None else Profession(**row)


class _InMemoryStats(_Base):
    def _apply(
        self,
        field_name: str,
        deltas: Mapping[uuid.UUID | str, int],
        reason: str,
        op_id: str | None,
        operation: str = "apply_stat_deltas",
    ) -> dict[uuid.UUID, StatChange]:
        bounds = field_bounds(
            whitelisted_field(field_name), health_floor=self._owner.settings.health_floor
        )
        check_reason(reason)
        key = check_op_id(op_id)
        pairs = [
            (as_uuid(pid, "player_id"), check_delta(d))
            for pid, d in check_mapping(deltas, "deltas").items()
        ]
        if not pairs:
            return {}
        if len({p for p, _ in pairs}) != len(pairs):
            raise ValidationError("the same player appears twice (as a UUID and as text)")
        request = {
            "operation": operation,
            "field": field_name,
            "deltas": {str(p): d for p, d in pairs},
            "reason": reason,
        }
        recorded = self._claim(key, "stat_delta", request)
        if recorded is not None:
            return dict(recorded)
        for pid, _ in pairs:  # as the statement reports: a soft-deleted row first
            if self._s.players.get(pid, {}).get("is_deleted"):
                raise PlayerSoftDeletedError(pid)
        missing = [p for p, _ in pairs if p not in self._s.players]
        if missing:
            raise NotFoundError("player", ", ".join(str(m) for m in missing))
        changes: dict[uuid.UUID, StatChange] = {}
        for pid, delta in sorted(pairs, key=lambda pair: pair[0]):
            stats = self._s.players[pid]["stats"]
            old = stats.get(field_name, bounds.default)
            new = old + delta
            if bounds.minimum is not None:
                new = max(new, bounds.minimum)
            caps = [
                c
                for c in (bounds.maximum, stats.get(bounds.cap_key) if bounds.cap_key else None)
                if c is not None
            ]
            if caps:
                new = min(new, *caps)
            stats[field_name] = new
            if bounds.dependent is not None and bounds.dependent in stats:
                stats[bounds.dependent] = min(stats[bounds.dependent], new)
            changes[pid] = StatChange(
                player_id=pid,
                field=field_name,
                old_value=old,
                new_value=new,
                delta=delta,
                max_health=stats["max_health"],
                current_health=stats["current_health"],
            )
        self._record(key, "stat_delta", request, changes)
        floor = self._owner.settings.health_floor
        self._emit(*(_event(c, reason, floor) for c in changes.values()))
        return changes


class InMemoryHealthRepository(_InMemoryStats):
    """Health with the real clamps: the health floor and each player's own max_health."""

    async def update_player_health(
        self, player_id: uuid.UUID | str, delta: int, reason: str = "", *, op_id: str | None = None
    ) -> int:
        pid = as_uuid(player_id, "player_id")
        changes = self._apply(
            "current_health", {pid: check_delta(delta)}, reason, op_id, "update_player_health"
        )
        return changes[pid].new_value

    async def damage_player(
        self,
        player: Player,
        amount: int,
        damage_type: str = "physical",
        *,
        op_id: str | None = None,
    ) -> int:
        value = check_amount(amount)
        if not isinstance(player, Player):
            raise ValidationError(f"expected a Player, got {describe(player)}")
        check_reason(damage_type, "damage_type")
        change = self._apply(
            "current_health",
            {player.player_id: -value},
            f"damage:{damage_type}",
            op_id,
            "damage_player",
        )[player.player_id]
        player.accept_stats(
            {"current_health": change.current_health, "max_health": change.max_health}
        )
        return change.new_value

    async def heal_player(self, player: Player, amount: int, *, op_id: str | None = None) -> int:
        value = check_amount(amount)
        if not isinstance(player, Player):
            raise ValidationError(f"expected a Player, got {describe(player)}")
        change = self._apply(
            "current_health", {player.player_id: value}, "healing", op_id, "heal_player"
        )[player.player_id]
        player.accept_stats(
            {"current_health": change.current_health, "max_health": change.max_health}
        )
        return change.new_value

    async def apply_health_deltas(
        self, deltas: Mapping[uuid.UUID | str, int], reason: str = "", *, op_id: str | None = None
    ) -> dict[uuid.UUID, int]:
        changes = self._apply("current_health", deltas, reason, op_id, "apply_health_deltas")
        return {pid: c.new_value for pid, c in changes.items()}

    async def change_health(
        self,
        player: Player | uuid.UUID | str,
        delta: int,
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> HealthChange:
        pid = player.player_id if isinstance(player, Player) else as_uuid(player, "player_id")
        change = self._apply(
            "current_health", {pid: check_delta(delta)}, reason, op_id, "change_health"
        )[pid]
        if isinstance(player, Player):
            player.accept_stats(
                {"current_health": change.current_health, "max_health": change.max_health}
            )
        return health_change(change, self._owner.settings.health_floor, op_id)

    async def change_health_batch(
        self, deltas: Mapping[uuid.UUID | str, int], reason: str = "", *, op_id: str | None = None
    ) -> dict[uuid.UUID, HealthChange]:
        changes = self._apply("current_health", deltas, reason, op_id, "change_health_batch")
        floor = self._owner.settings.health_floor
        return {pid: health_change(c, floor, op_id) for pid, c in changes.items()}


class InMemoryExperienceRepository(_InMemoryStats):
    """XP with the configured level curve, and whitelisted stat deltas."""

    @property
    def level_curve(self) -> LevelCurve:
        settings = self._owner.settings
        return LevelCurve(settings.xp_per_level, tuple(settings.level_thresholds))

    async def update_player_xp(
        self, player_id: uuid.UUID | str, delta: int, reason: str = "", *, op_id: str | None = None
    ) -> ExperienceChange:
        pid = as_uuid(player_id, "player_id")
        return self._xp({pid: check_amount(delta)}, reason, op_id, "update_player_xp")[pid]

    async def gain_experience(
        self, player: Player, amount: int, source: str = "unknown", *, op_id: str | None = None
    ) -> ExperienceChange:
        if not isinstance(player, Player):
            raise ValidationError(f"expected a Player, got {describe(player)}")
        pid = as_uuid(player.player_id, "player_id")
        change = self._xp({pid: check_amount(amount)}, source, op_id, "gain_experience")[pid]
        player.accept_columns(experience_points=change.new_xp, level=change.new_level)
        return change

    async def apply_xp_deltas(
        self, deltas: Mapping[uuid.UUID | str, int], source: str = "", *, op_id: str | None = None
    ) -> dict[uuid.UUID, ExperienceChange]:
        return self._xp(deltas, source, op_id, "apply_xp_deltas")

    def _xp(
        self,
        deltas: Mapping[uuid.UUID | str, int],
        source: str,
        op_id: str | None,
        operation: str,
    ) -> dict[uuid.UUID, ExperienceChange]:
        check_reason(source, "source")
        pairs = [
            (as_uuid(pid, "player_id"), check_amount(d))
            for pid, d in check_mapping(deltas, "deltas").items()
        ]
        key = check_op_id(op_id)
        if not pairs:
            return {}
        request = {
            "operation": operation,
            "deltas": {str(p): d for p, d in pairs},
            "source": source,
        }
        recorded = self._claim(key, "xp", request)
        if recorded is not None:
            return dict(recorded)
        for pid, _ in pairs:  # as the statement reports: a soft-deleted row first
            if self._s.players.get(pid, {}).get("is_deleted"):
                raise PlayerSoftDeletedError(pid)
        missing = [p for p, _ in pairs if p not in self._s.players]
        if missing:
            raise NotFoundError("player", ", ".join(str(m) for m in missing))
        changes: dict[uuid.UUID, ExperienceChange] = {}
        for pid, amount in pairs:
            row = self._s.players[pid]
            old_xp, old_level = row["experience_points"], row["level"]
            row["experience_points"] = old_xp + amount
            row["level"] = self.level_curve.level_for(row["experience_points"])
            changes[pid] = ExperienceChange(
                pid, amount, old_xp, row["experience_points"], old_level, row["level"]
            )
        self._record(key, "xp", request, changes)
        self._emit(*xp_events(changes.values(), source))
        return changes

    async def update_player_stat_field(
        self,
        player_id: uuid.UUID | str,
        field_name: str,
        delta: int,
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> int:
        field_name = whitelisted_field(field_name)
        pid = as_uuid(player_id, "player_id")
        changes = self._apply(
            field_name, {pid: check_delta(delta)}, reason, op_id, "update_player_stat_field"
        )
        return changes[pid].new_value

    async def apply_stat_deltas(
        self,
        field_name: str,
        deltas: Mapping[uuid.UUID | str, int],
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> dict[uuid.UUID, int]:
        changes = self._apply(whitelisted_field(field_name), deltas, reason, op_id)
        return {pid: c.new_value for pid, c in changes.items()}


def _item_model(row: dict[str, Any]) -> ItemInstance:
    return ItemInstance(**copy.deepcopy(row))


def _container_model(row: dict[str, Any], items: list[ItemInstance]) -> Container:
    container = Container(**copy.deepcopy(row))
    container.set_items(items)
    return container


class InMemoryItemRepository(_Base):
    """Items with one owner each; moves with the real checks (ownership, lock, capacity)."""

    def _owned(self, owner: Owner) -> list[dict[str, Any]]:
        rows = [
            r
            for r in self._s.items.values()
            if (r["owner_type"], r["owner_id"]) == (owner.owner_type, owner.owner_id)
        ]
        return sorted(
            rows,
            key=lambda r: (
                r["position"] is None,
                r["position"] or 0,
                r["created_at"],
                r["item_instance_id"],
            ),
        )

    def _weight(self, prototype_id: str, quantity: int) -> int:
        proto = self._s.prototypes.get(prototype_id)
        return 0 if proto is None else int(proto["weight"]) * quantity

    def _reserve(self, owner: Owner, count: int, *, check_lock: bool) -> Reserved:
        cid = uuid.UUID(owner.owner_id)
        container = self._s.containers.get(cid)
        if container is None:
            raise NotFoundError("container", cid)
        if check_lock and container["lock_state"] != "unlocked":
            raise ContainerLockedError(f"container {cid} is {container['lock_state']}")
        held = self._owned(owner)
        if len(held) + count > container["capacity_slots"]:
            raise ContainerFullError(f"container {cid} has no room for {count} more")
        slot = max((r["position"] or 0 for r in held if r["position"] is not None), default=-1)
        weight = sum(self._weight(r["prototype_id"], r["quantity"]) for r in held)
        return Reserved(len(held), slot + 1, container["weight_limit"], weight)

    def _require_prototypes(self, specs: Sequence[ItemSpec]) -> None:
        missing = sorted({s.prototype_id for s in specs} - set(self._s.prototypes))
        if missing:
            raise NotFoundError("item prototype", ", ".join(missing))

    async def get_prototype(self, prototype_id: str) -> ItemPrototype | None:
        row = self._s.prototypes.get(check_text(prototype_id, "prototype_id", max_length=120))
        return None if row is None else ItemPrototype(**copy.deepcopy(row))

    async def require_prototype(self, prototype_id: str) -> ItemPrototype:
        found = await self.get_prototype(prototype_id)
        if found is None:
            raise NotFoundError("item prototype", prototype_id)
        return found

    async def list_prototypes(self) -> list[ItemPrototype]:
        return [ItemPrototype(**copy.deepcopy(r)) for _, r in sorted(self._s.prototypes.items())]

    async def save_prototypes(
        self, prototypes: Sequence[ItemPrototype | PrototypeSpec | dict[str, Any]]
    ) -> int:
        specs = [PrototypeSpec.parse(p) for p in check_sequence(prototypes, "prototypes")]
        if len({spec.prototype_id for spec in specs}) != len(specs):
            raise ValidationError("save_prototypes got the same prototype_id twice")
        for spec in specs:
            self._s.prototypes[spec.prototype_id] = spec.model_dump()
        return len(specs)

    async def create_item_instance(
        self,
        item_instance_id: str,
        prototype_id: str,
        *,
        owner_type: str = "room",
        owner_id: str | uuid.UUID | None = None,
        **fields: Any,
    ) -> ItemInstance:
        spec = ItemSpec.parse(
            {"item_instance_id": item_instance_id, "prototype_id": prototype_id, **fields}
        )
        owner = normalize_owner((owner_type, owner_id))
        return self._insert(spec, owner)

    def _owner_exists(self, owner: Owner) -> bool:
        """What the database's foreign keys check: the owner of an item exists."""
        if owner.owner_type == "room":
            return owner.owner_id in self._s.rooms
        if owner.owner_type == "player":
            return uuid.UUID(owner.owner_id) in self._s.players
        return uuid.UUID(owner.owner_id) in self._s.containers

    def _insert(self, spec: ItemSpec, owner: Owner) -> ItemInstance:
        """Create one item, refusing in the real layer's order.

        Into a container, the container is locked first (missing, full) and, with a weight
        limit, the prototypes weighed; then the INSERT refuses a taken id at once, and its
        foreign keys (the owner, then the prototype) at the end of the statement.
        """
        position = spec.position
        if owner.owner_type == "container":
            reserved = self._reserve(owner, 1, check_lock=False)
            if reserved.weight_limit is not None:
                self._require_prototypes([spec])
                weight = self._weight(spec.prototype_id, spec.quantity)
                reserved.check_weight(owner.owner_id, weight)
            position = reserved.next_position if position is None else position
        if spec.item_instance_id in self._s.items:
            raise DuplicateError(
                f"item {spec.item_instance_id} exists", constraint="item_instances_pkey"
            )
        if owner.owner_type != "container" and not self._owner_exists(owner):
            raise NotFoundError(owner.owner_type, owner.owner_id)
        self._require_prototypes([spec])
        now = self._s.tick()
        row = spec.row(owner, position)
        row.update(created_at=now, updated_at=now)
        self._s.items[spec.item_instance_id] = row
        self._emit(
            ItemCreated(
                item_instance_id=spec.item_instance_id,
                prototype_id=spec.prototype_id,
                owner=(owner.owner_type, owner.owner_id),
            )
        )
        return _item_model(row)

    async def ensure_item_instance(
        self,
        item_instance_id: str,
        prototype_id: str,
        *,
        owner_type: str = "room",
        owner_id: str | uuid.UUID | None = None,
        **fields: Any,
    ) -> ItemInstance:
        spec = ItemSpec.parse(
            {"item_instance_id": item_instance_id, "prototype_id": prototype_id, **fields}
        )
        owner = normalize_owner((owner_type, owner_id))
        existing = self._s.items.get(spec.item_instance_id)
        return _item_model(existing) if existing else self._insert(spec, owner)

    async def item_instance_exists(self, item_instance_id: str) -> bool:
        return check_text(item_instance_id, "item_instance_id", max_length=64) in self._s.items

    async def get_item_instance(self, item_instance_id: str) -> ItemInstance | None:
        row = self._s.items.get(check_text(item_instance_id, "item_instance_id", max_length=64))
        return None if row is None else _item_model(row)

    async def get_items_by_owner(
        self, owner_type: str, owner_id: str | uuid.UUID
    ) -> list[ItemInstance]:
        return [_item_model(r) for r in self._owned(normalize_owner((owner_type, owner_id)))]

    async def delete_item_instance(self, item_instance_id: str) -> bool:
        key = check_text(item_instance_id, "item_instance_id", max_length=64)
        return self._s.items.pop(key, None) is not None

    async def transfer_item(
        self,
        item_instance_id: str,
        *,
        from_owner: tuple[str, str | uuid.UUID],
        to_owner: tuple[str, str | uuid.UUID],
        position: int | None = None,
        op_id: str | None = None,
    ) -> TransferResult:
        return await self.transfer_items(
            [item_instance_id],
            from_owner=from_owner,
            to_owner=to_owner,
            position=position,
            op_id=op_id,
        )

    async def transfer_items(
        self,
        item_instance_ids: Sequence[str],
        *,
        from_owner: tuple[str, str | uuid.UUID],
        to_owner: tuple[str, str | uuid.UUID],
        position: int | None = None,
        op_id: str | None = None,
    ) -> TransferResult:
        move = TransferRequest.parse(item_instance_ids, from_owner, to_owner, position, op_id)
        ids, source, target, key = list(move.item_ids), move.source, move.target, move.op_id
        request = move.request()
        recorded = self._claim(key, "transfer", request)
        if recorded is not None:
            return TransferResult.from_json(recorded, key or "")
        slot: int | None = None
        destination: Reserved | None = None
        for container_id in sorted(
            {o.owner_id for o in (source, target) if o.owner_type == "container"}
        ):
            owner = Owner("container", container_id)
            incoming = len(ids) if owner == target and source != target else 0
            reserved = self._reserve(owner, incoming, check_lock=True)
            if owner == target:
                slot = reserved.next_position
                destination = reserved if source != target else None
        if target.owner_type != "container" and not self._owner_exists(target):
            raise NotFoundError(target.owner_type, target.owner_id)
        for item_id in sorted(ids):
            row = self._s.items.get(item_id)
            if row is None:
                raise NotFoundError("item", item_id)
            if (row["owner_type"], row["owner_id"]) != source:
                raise ItemNotOwnedError(item_id, (row["owner_type"], row["owner_id"]))
        if destination is not None:
            incoming_weight = sum(
                self._weight(self._s.items[i]["prototype_id"], self._s.items[i]["quantity"])
                for i in ids
            )
            destination.check_weight(target.owner_id, incoming_weight)
        first = position if position is not None else slot
        positions = [None if first is None else first + i for i in range(len(ids))]
        for item_id, pos in zip(ids, positions, strict=True):
            row = self._s.items[item_id]
            row.update(
                owner_type=target.owner_type,
                owner_id=target.owner_id,
                position=pos,
                updated_at=self._s.tick(),
            )
            self._s.ledger.append(
                {"item_instance_id": item_id, "from": source, "to": target, "op_id": key}
            )
        result = TransferResult(tuple(ids), source, target, tuple(positions), key)
        self._record(key, "transfer", request, result.to_json())
        self._emit(
            ItemsTransferred(
                item_instance_ids=tuple(ids),
                from_owner=(source.owner_type, source.owner_id),
                to_owner=(target.owner_type, target.owner_id),
                op_id=key,
            )
        )
        return result


class InMemoryContainerRepository(_Base):
    """Containers, corpses and decay, with the real rules."""

    def _view(self, cid: uuid.UUID) -> Container:
        items = self._owner.items._owned(Owner("container", str(cid)))
        return _container_model(self._s.containers[cid], [_item_model(r) for r in items])

    async def create_container(
        self,
        source_type: str,
        *,
        owner_id: uuid.UUID | str | None = None,
        room_id: str | None = None,
        entity_id: uuid.UUID | str | None = None,
        lock_state: str = "unlocked",
        capacity_slots: int = MAX_CAPACITY_SLOTS,
        weight_limit: int | None = None,
        decay_at: datetime | None = None,
        allowed_roles: Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
        items: Sequence[Any] | None = None,
    ) -> Container:
        spec = ContainerSpec.parse(
            source_type,
            owner_id=owner_id,
            room_id=room_id,
            entity_id=entity_id,
            lock_state=lock_state,
            capacity_slots=capacity_slots,
            weight_limit=weight_limit,
            decay_at=decay_at,
            allowed_roles=allowed_roles,
            metadata=metadata,
            items=items,
        )
        cid = uuid.uuid4()
        self._create(spec, cid)
        return self._view(cid)

    async def ensure_container(
        self, container_id: uuid.UUID | str, source_type: str, **options: Any
    ) -> tuple[Container, bool]:
        cid = as_uuid(container_id, "container_id")
        spec = parse_container_options(source_type, options)
        if cid in self._s.containers:
            existing = self._view(cid)
            check_same_container(existing, spec)
            return existing, False
        self._create(spec, cid)
        return self._view(cid), True

    def _create(self, spec: ContainerSpec, cid: uuid.UUID) -> None:
        # The real layer's order: with a weight limit the new items are weighed before any
        # write; then the container's row (its room's foreign key), then the items' INSERT
        # (a taken id at once, an unknown prototype at the end of the statement).
        specs = spec.items
        items = self._owner.items
        if specs and spec.weight_limit is not None:
            items._require_prototypes(specs)
            incoming = sum(items._weight(s.prototype_id, s.quantity) for s in specs)
            Reserved(0, 0, spec.weight_limit, 0).check_weight(cid, incoming)
        if spec.room_id is not None and spec.room_id not in self._s.rooms:
            raise NotFoundError("room", spec.room_id)
        if spec.source_type == "equipment" and spec.entity_id not in self._s.players:
            raise NotFoundError("player", spec.entity_id)  # its foreign key (migration 9)
        if any(s.item_instance_id in self._s.items for s in specs):
            raise DuplicateError("an item id exists", constraint="item_instances_pkey")
        items._require_prototypes(specs)
        self._s.containers[cid] = self._row(
            cid,
            spec.source_type,
            owner_id=spec.owner_id,
            room_id=spec.room_id,
            entity_id=spec.entity_id,
            lock_state=spec.lock_state,
            capacity_slots=spec.capacity_slots,
            weight_limit=spec.weight_limit,
            decay_at=spec.decay_at,
            allowed_roles=list(spec.allowed_roles),
            metadata=copy.deepcopy(spec.metadata),
        )
        target = Owner("container", str(cid))
        for n, item in enumerate(specs):
            row = item.row(target, item.position if item.position is not None else n)
            stamp = self._s.tick()
            row.update(created_at=stamp, updated_at=stamp)
            self._s.items[item.item_instance_id] = row
        self._emit(
            ContainerCreated(
                container_id=cid,
                source_type=spec.source_type,
                room_id=spec.room_id,
                entity_id=spec.entity_id,
                item_instance_ids=tuple(s.item_instance_id for s in specs),
            )
        )

    def _row(self, cid: uuid.UUID, source_type: str, **values: Any) -> dict[str, Any]:
        now = self._s.tick()
        return {
            "container_id": cid,
            "source_type": source_type,
            **values,
            "created_at": now,
            "updated_at": now,
        }

    async def get_container(self, container_id: uuid.UUID | str) -> Container | None:
        cid = as_uuid(container_id, "container_id")
        return self._view(cid) if cid in self._s.containers else None

    async def require_container(self, container_id: uuid.UUID | str) -> Container:
        found = await self.get_container(container_id)
        if found is None:
            raise NotFoundError("container", container_id)
        return found

    async def get_containers_by_room_id(self, room_id: str) -> list[Container]:
        check_text(room_id, "room_id", max_length=255)
        return [self._view(c) for c, row in self._ordered() if row["room_id"] == room_id]

    async def get_containers_by_entity_id(self, entity_id: uuid.UUID | str) -> list[Container]:
        eid = as_uuid(entity_id, "entity_id")
        return [self._view(c) for c, row in self._ordered() if row["entity_id"] == eid]

    def _ordered(self) -> list[tuple[uuid.UUID, dict[str, Any]]]:
        return sorted(self._s.containers.items(), key=lambda kv: (kv[1]["created_at"], kv[0]))

    async def update_container(
        self,
        container_id: uuid.UUID | str,
        *,
        lock_state: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Container:
        cid = as_uuid(container_id, "container_id")
        if lock_state is None and metadata is None:
            raise ValidationError("update_container needs lock_state and/or metadata")
        if lock_state is not None and lock_state not in LOCK_STATES:
            raise ValidationError(f"lock_state must be one of {LOCK_STATES}")
        if metadata is not None:
            check_metadata(metadata)
        row = self._s.containers.get(cid)
        if row is None:
            raise NotFoundError("container", cid)
        changed = []
        if lock_state is not None:
            row["lock_state"] = lock_state
            changed.append("lock_state")
        if metadata is not None:
            row["metadata"] = copy.deepcopy(metadata)
            changed.append("metadata")
        self._emit(ContainerUpdated(container_id=cid, fields=tuple(changed)))
        return self._view(cid)

    async def get_decayed_containers(self, current_time: datetime | None = None) -> list[Container]:
        now = aware_time(current_time, "current_time") or datetime.now(UTC)
        due = [
            (row["decay_at"], cid)
            for cid, row in self._s.containers.items()
            if row["decay_at"] is not None and row["decay_at"] <= now
        ]
        return [self._view(cid) for _, cid in sorted(due)]

    async def delete_container(
        self, container_id: uuid.UUID | str, *, contents: Any = "drop"
    ) -> bool:
        return self._remove(as_uuid(container_id, "container_id"), contents, decayed=False)

    async def remove_decayed_containers(
        self, current_time: datetime | None = None, *, contents: Any = "drop"
    ) -> list[uuid.UUID]:
        check_contents(contents)
        removed = []
        for container in await self.get_decayed_containers(current_time):
            try:
                if self._remove(container.container_id, contents, decayed=True):
                    removed.append(container.container_id)
            except ValidationError:
                continue
        return removed

    def _remove(self, cid: uuid.UUID, contents: Any, *, decayed: bool) -> bool:
        if contents not in ("drop", "delete"):
            raise ValidationError(f"contents must be 'drop' or 'delete', got {describe(contents)}")
        row = self._s.containers.get(cid)
        if row is None:
            return False
        held = self._owner.items._owned(Owner("container", str(cid)))
        ids = sorted(r["item_instance_id"] for r in held)
        if ids and contents == "drop" and row["room_id"] is None:
            raise ValidationError(f"container {cid} has no room to drop its items into")
        for item_id in ids:
            if contents == "drop":
                self._s.items[item_id].update(
                    owner_type="room", owner_id=row["room_id"], position=None
                )
            else:
                del self._s.items[item_id]
        del self._s.containers[cid]
        self._emit(
            ContainerRemoved(
                container_id=cid,
                source_type=row["source_type"],
                room_id=row["room_id"],
                item_instance_ids=tuple(ids),
                contents=contents,
                decayed=decayed,
            )
        )
        return True

    async def create_corpse_for(
        self,
        death: HealthChange,
        *,
        room_id: str | None = None,
        decay_after: timedelta = timedelta(hours=1),
        grace_period: timedelta = timedelta(seconds=300),
        weight_limit: int | None = None,
        op_id: str | None = None,
    ) -> Container:
        if not isinstance(death, HealthChange):
            raise ValidationError(f"expected a HealthChange, got {describe(death)}")
        if not death.died:
            raise ValidationError(f"player {death.player_id} did not die in this change")
        return await self.create_corpse(
            death.player_id,
            room_id,
            decay_after=decay_after,
            grace_period=grace_period,
            weight_limit=weight_limit,
            op_id=op_id if op_id is not None else f"death:{death.change_id}",
        )

    async def create_corpse(
        self,
        player_id: uuid.UUID | str,
        room_id: str | None = None,
        *,
        decay_after: timedelta = timedelta(hours=1),
        grace_period: timedelta = timedelta(seconds=300),
        weight_limit: int | None = None,
        op_id: str | None = None,
    ) -> Container:
        pid = as_uuid(player_id, "player_id")
        asked = None if room_id is None else check_text(room_id, "room_id", max_length=255)
        check_duration(decay_after, "decay_after")
        check_duration(grace_period, "grace_period")
        limit = check_weight_limit(weight_limit)
        key = check_op_id(op_id)
        request = {
            "operation": "create_corpse",
            "player_id": str(pid),
            "room_id": asked,
            "decay_after": decay_after.total_seconds(),
            "grace_period": grace_period.total_seconds(),
            "weight_limit": limit,
        }
        recorded = self._claim(key, "corpse", request)
        if recorded is not None:
            return await self.require_container(recorded)
        player = self._s.players.get(pid)
        if player is None:
            raise NotFoundError("player", pid)
        if player.get("is_deleted"):
            raise PlayerSoftDeletedError(pid)
        room: str = asked if asked is not None else player["current_room_id"]
        if room not in self._s.rooms:
            raise NotFoundError("room", room)
        now = datetime.now(UTC)
        cid = uuid.uuid4()
        self._s.containers[cid] = self._row(
            cid,
            "corpse",
            owner_id=pid,
            room_id=room,
            entity_id=None,
            lock_state="unlocked",
            capacity_slots=MAX_CAPACITY_SLOTS,
            weight_limit=limit,
            decay_at=now + decay_after,
            allowed_roles=[],
            metadata={
                "grace_period_seconds": int(grace_period.total_seconds()),
                "grace_period_start": now.isoformat(),
                "player_name": player["name"],
                "death_timestamp": now.isoformat(),
            },
        )
        inside: list[str] = []
        spilled: list[str] = []
        carried = 0
        for item in self._owner.items._owned(Owner("player", str(pid))):
            weight = self._owner.items._weight(item["prototype_id"], item["quantity"])
            if len(inside) < MAX_CAPACITY_SLOTS and (limit is None or carried + weight <= limit):
                inside.append(item["item_instance_id"])
                carried += weight
            else:
                spilled.append(item["item_instance_id"])
        for n, item_id in enumerate(inside):
            self._s.items[item_id].update(owner_type="container", owner_id=str(cid), position=n)
        for item_id in spilled:
            self._s.items[item_id].update(owner_type="room", owner_id=room, position=None)
        self._record(key, "corpse", request, cid)
        self._emit(
            CorpseCreated(
                container_id=cid,
                player_id=pid,
                room_id=room,
                item_instance_ids=tuple(inside),
                spilled_item_ids=tuple(spilled),
                decay_at=now + decay_after,
            )
        )
        return self._view(cid)


def _init_models_once() -> None:
    """Let model instances be built with no database and no Tortoise init (pure unit tests).

    Tortoise sets up relation attributes (such as ``Player.profession_id``) when it
    initialises the models app; this does that without any connection.
    """
    global _MODELS_READY
    if not _MODELS_READY:
        from tortoise import Tortoise
        from tortoise.context import TortoiseContext

        from persistence.models.app import APP_LABEL, MODELS_MODULE

        if not Player._meta._inited:
            # In a context of its own: a running layer's (or game's) Tortoise is not touched.
            with TortoiseContext():
                Tortoise.init_models([MODELS_MODULE], APP_LABEL)
        _MODELS_READY = True


_MODELS_READY = False


class InMemoryPersistence:
    """An in-memory stand-in for :class:`~persistence.AsyncPersistenceLayer`.

    Same repository attributes, same ``transaction()`` (all-or-nothing: the store is restored
    on an exception, and events wait for the end of the block), same events.

    Args:
        settings: Health floor, fallback room and level curve come from here.
        event_bus: Receives the events, as with the real layer.
    """

    def __init__(
        self, settings: PersistenceSettings | None = None, *, event_bus: EventBus | None = None
    ) -> None:
        _init_models_once()
        self.settings = settings or PersistenceSettings(fallback_room_id=DEFAULT_FALLBACK_ROOM_ID)
        self.event_bus: EventBus = event_bus if event_bus is not None else NullEventBus()
        self.events = EventOutbox(self.event_bus)
        self._store = _Store()
        self.rooms = InMemoryRoomRepository(self)
        self.players = InMemoryPlayerRepository(self)
        self.professions = InMemoryProfessionRepository(self)
        self.health = InMemoryHealthRepository(self)
        self.experience = InMemoryExperienceRepository(self)
        self.items = InMemoryItemRepository(self)
        self.containers = InMemoryContainerRepository(self)

    async def start(self) -> None:
        """Load the room cache, as the real layer does."""
        await self.rooms.load()

    async def close(self) -> None:
        """Nothing to release."""

    async def __aenter__(self) -> InMemoryPersistence:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """All or nothing: the store is restored if the block raises."""
        saved = copy.deepcopy(self._store)
        with self.events.collect() as events:
            try:
                yield
            except BaseException:
                self._store = saved
                self.rooms._refresh()  # the cache follows the store back
                raise
        self.events.release(events)

    async def seed_world(self, folder: Path | None = None) -> None:
        """Load a world folder (the sample world by default) with the real loader's checks."""
        rooms, professions, prototypes = read_world(folder or sample_world_path())
        for prototype in prototypes:
            self._store.prototypes[prototype.prototype_id] = prototype.model_dump()
        for room in rooms:
            self._store.rooms[room.room_id] = room.model_dump()
        for profession in professions:
            self._store.professions[profession.id] = profession.model_dump()
        await self.rooms.reload()

    def add_room(self, room_id: str, name: str = "", **fields: Any) -> None:
        """Put a room in the store (call ``await rooms.reload()`` to cache it)."""
        self._store.rooms[room_id] = {
            "room_id": room_id,
            "name": name or room_id,
            "description": fields.get("description", ""),
            "plane": fields.get("plane", "earth"),
            "zone": fields.get("zone", "test"),
            "sub_zone": fields.get("sub_zone", "test"),
            "exits": dict(fields.get("exits", {})),
            "attributes": dict(fields.get("attributes", {})),
        }

    def add_prototype(self, prototype_id: str, name: str = "", **fields: Any) -> None:
        """Put an item prototype in the store (weight 0 unless given)."""
        spec = PrototypeSpec.parse(
            {"prototype_id": prototype_id, "name": name or prototype_id, **fields}
        )
        self._store.prototypes[prototype_id] = spec.model_dump()

    def add_profession(self, profession_id: int, name: str, **fields: Any) -> None:
        """Put a profession in the store."""
        self._store.professions[profession_id] = {
            "id": profession_id,
            "name": name,
            "description": fields.get("description", ""),
            "flavor_text": fields.get("flavor_text", ""),
            "stat_requirements": dict(fields.get("stat_requirements", {})),
            "mechanical_effects": dict(fields.get("mechanical_effects", {})),
            "is_available": fields.get("is_available", True),
        }


if TYPE_CHECKING:
    from persistence.facade import AsyncPersistenceLayer
    from persistence.protocols import PersistenceProtocol

    def _both_satisfy_the_protocols(
        memory: InMemoryPersistence, layer: AsyncPersistenceLayer
    ) -> list[PersistenceProtocol]:
        """Checked by mypy (strict): the twins and the real layer are interchangeable."""
        return [memory, layer]

"""ContainerRepository: chests, equipment and corpses, with their items, native async.

A container's contents are the item rows owned by ``("container", container_id)``. Reads
return :class:`Container` models whose ``items`` are loaded by the same query, in slot
order. Creating a container with items, making a corpse, and removing a container each run
as one transaction: the container and its contents appear (or go) together or not at all.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from persistence.db import Row
from persistence.engine import call_scope, note_committed
from persistence.errors import (
    ConflictError,
    DuplicateError,
    ForeignKeyError,
    NotFoundError,
    PlayerSoftDeletedError,
    ValidationError,
    describe,
    translate,
)
from persistence.events import ContainerCreated, ContainerRemoved, ContainerUpdated, CorpseCreated
from persistence.models.container import LOCK_STATES, MAX_CAPACITY_SLOTS, SOURCE_TYPES, Container
from persistence.models.item import ItemInstance
from persistence.operations import check_op_id, claim, record
from persistence.repositories.base import BaseRepository, Client, as_uuid, check_text
from persistence.repositories.health import HealthChange
from persistence.repositories.item import (
    INSERT_ITEMS_SQL,
    ITEM_COLUMNS,
    PROTOTYPE_FKEY,
    ItemSpec,
    Owner,
    Reserved,
    items_from_rows,
    prototype_weights,
)
from persistence.validation import check_datetime, check_json, check_sequence

__all__ = [
    "CONTAINER_COLUMNS",
    "ContainerRepository",
    "ContainerSpec",
    "ContentsPolicy",
    "check_duration",
    "check_same_container",
    "parse_container_options",
    "aware_time",
    "check_contents",
    "check_weight_limit",
    "check_metadata",
]

log = logging.getLogger(__name__)

ContentsPolicy = Literal["drop", "delete"]
"""What removing a container does with its items: drop them on the room floor, or delete."""

CONTAINER_COLUMNS: Final = (
    "container_id",
    "source_type",
    "owner_id",
    "room_id",
    "entity_id",
    "lock_state",
    "capacity_slots",
    "weight_limit",
    "decay_at",
    "allowed_roles",
    "metadata",
    "created_at",
    "updated_at",
)
_ITEM_FIELDS: Final = tuple(c.strip() for c in ITEM_COLUMNS.split(","))

# Hand-written: one query returns containers and their items (container columns as they are,
# item columns prefixed with "i_"); items are not a Tortoise relation of containers (an owner
# is a type and an id), and prefetching would be a second round trip.
_SELECT_WITH_ITEMS: Final = (
    "SELECT "  # noqa: S608 - built from the constant column lists
    + ", ".join(f"c.{c}" for c in CONTAINER_COLUMNS)
    + ", "
    + ", ".join(f"i.{c} AS i_{c}" for c in _ITEM_FIELDS)
    + " FROM containers c LEFT JOIN item_instances i"
    " ON i.owner_type = 'container' AND i.owner_id = c.container_id::text"
)
_ORDER: Final = (
    " ORDER BY c.created_at, c.container_id, i.position NULLS LAST, i.created_at,"
    " i.item_instance_id"
)
# Hand-written, as in the item repository: one ledger row per item, one position per item.
_LEDGER: Final = """
INSERT INTO item_movements (item_instance_id, from_owner_type, from_owner_id,
                            to_owner_type, to_owner_id, reason)
SELECT item_id, $2, $3, $4, $5, $6 FROM unnest($1::text[]) AS item_id
"""
# A dead player's items, locked in id order (as transfers lock), with their weights.
_HELD: Final = """
SELECT i.item_instance_id, i.position, i.created_at,
       i.quantity::bigint * COALESCE(p.weight, 0) AS weight
  FROM item_instances i LEFT JOIN item_prototypes p ON p.prototype_id = i.prototype_id
 WHERE i.owner_type = 'player' AND i.owner_id = $1
 ORDER BY i.item_instance_id
   FOR UPDATE OF i
"""
_MOVE_WITH_POSITIONS: Final = """
UPDATE item_instances i
   SET owner_type = $2, owner_id = $3, position = m.position, updated_at = now()
  FROM unnest($1::text[], $4::int[]) AS m(item_instance_id, position)
 WHERE i.item_instance_id = m.item_instance_id
"""


def containers_from_rows(rows: Sequence[Row]) -> list[Container]:
    """Group joined rows into Container models carrying their items, in query order."""
    containers: dict[uuid.UUID, Container] = {}
    contents: dict[uuid.UUID, list[ItemInstance]] = {}
    for row in rows:
        cid = row["container_id"]
        if cid not in containers:
            containers[cid] = Container._init_from_db(**{c: row[c] for c in CONTAINER_COLUMNS})
            contents[cid] = []
        if row["i_item_instance_id"] is not None:
            fields = {c: row[f"i_{c}"] for c in _ITEM_FIELDS}
            contents[cid].extend(items_from_rows([fields]))
    for cid, container in containers.items():
        container.set_items(contents[cid])
    return list(containers.values())


_CONTAINER_OPTIONS: Final = frozenset(
    {
        "owner_id",
        "room_id",
        "entity_id",
        "lock_state",
        "capacity_slots",
        "weight_limit",
        "decay_at",
        "allowed_roles",
        "metadata",
        "items",
    }
)


def parse_container_options(source_type: object, options: dict[str, Any]) -> ContainerSpec:
    """``ContainerSpec.parse`` for keyword options a caller passed through (typed errors)."""
    unknown = sorted(set(options) - _CONTAINER_OPTIONS)
    if unknown:
        raise ValidationError(f"unknown container options: {', '.join(unknown)}")
    return ContainerSpec.parse(source_type, **options)


def check_same_container(existing: Container, spec: ContainerSpec) -> None:
    """An existing container must be what ``ensure_container`` was asked for."""
    wanted = (spec.source_type, spec.room_id, spec.entity_id)
    found = (existing.source_type, existing.room_id, existing.entity_id)
    if wanted != found:
        raise DuplicateError(
            f"container {existing.container_id} exists as {found[0]} (room {found[1]}, "
            f"entity {found[2]}), not as {wanted[0]} (room {wanted[1]}, entity {wanted[2]})",
            constraint="containers_pkey",
        )


def aware_time(value: object, what: str) -> datetime | None:
    """A datetime for a query: ``None`` stays, a naive one is taken as UTC (shared with twins)."""
    return _aware(value, what)


def check_contents(value: object) -> ContentsPolicy:
    """``"drop"`` or ``"delete"`` (shared with twins)."""
    return _contents(value)


def _aware(value: object, what: str) -> datetime | None:
    return None if value is None else check_datetime(value, what)


def _json_object(value: object, what: str) -> str:
    if not isinstance(value, dict):
        raise ValidationError(f"{what} must be a dict, got {describe(value)}")
    check_json(value, what)
    return json.dumps(value)


MAX_DURATION: Final = timedelta(days=365 * 100)
"""Longest decay or grace period accepted: a century (longer ones cannot be dated)."""


def check_duration(value: object, what: str) -> timedelta:
    """A decay or grace period: a timedelta from 0 to :data:`MAX_DURATION` (shared with twins)."""
    if not isinstance(value, timedelta) or not timedelta(0) <= value <= MAX_DURATION:
        raise ValidationError(
            f"{what} must be a timedelta between 0 and {MAX_DURATION.days} days, "
            f"got {describe(value)}"
        )
    return value


def check_weight_limit(value: object) -> int | None:
    """A weight limit: ``None`` or a positive int (shared with twins)."""
    if value is None:
        return None
    if type(value) is not int or not 0 < value < 2**31:
        raise ValidationError(f"weight_limit must be a positive int or None, got {describe(value)}")
    return value


def check_metadata(value: object, what: str = "metadata") -> dict[str, Any]:
    """A metadata document: a dict of JSON (shared with twins)."""
    _json_object(value, what)
    return dict(value) if isinstance(value, dict) else {}


def _check_enum(value: object, allowed: tuple[str, ...], what: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(f"{what} must be one of {allowed}, got {describe(value)}")
    return value


def _room(value: object, what: str = "room_id") -> str:
    return check_text(value, what, max_length=255)


def _contents(value: object) -> ContentsPolicy:
    if value == "drop":
        return "drop"
    if value == "delete":
        return "delete"
    raise ValidationError(f"contents must be 'drop' or 'delete', got {describe(value)}")


@dataclass(frozen=True)
class ContainerSpec:
    """A new container's arguments, checked and normalised before any SQL.

    The in-memory twins use the same checks, so both refuse the same input the same way.
    """

    source_type: str
    owner_id: uuid.UUID | None
    room_id: str | None
    entity_id: uuid.UUID | None
    lock_state: str
    capacity_slots: int
    weight_limit: int | None
    decay_at: datetime | None
    allowed_roles: tuple[str, ...]
    metadata: dict[str, Any]
    items: tuple[ItemSpec, ...]

    @classmethod
    def parse(
        cls,
        source_type: object,
        *,
        owner_id: object = None,
        room_id: object = None,
        entity_id: object = None,
        lock_state: object = "unlocked",
        capacity_slots: object = MAX_CAPACITY_SLOTS,
        weight_limit: object = None,
        decay_at: object = None,
        allowed_roles: object = None,
        metadata: object = None,
        items: object = None,
    ) -> ContainerSpec:
        """Check everything; raise ``ValidationError`` for the first problem found."""
        kind = _check_enum(source_type, SOURCE_TYPES, "source_type")
        lock = _check_enum(lock_state, LOCK_STATES, "lock_state")
        if (
            not isinstance(capacity_slots, int)
            or isinstance(capacity_slots, bool)
            or not (1 <= capacity_slots <= MAX_CAPACITY_SLOTS)
        ):
            raise ValidationError(
                f"capacity_slots must be an int in 1..{MAX_CAPACITY_SLOTS}, "
                f"got {describe(capacity_slots)}"
            )
        limit = check_weight_limit(weight_limit)
        room = None if room_id is None else _room(room_id)
        entity = None if entity_id is None else as_uuid(entity_id, "entity_id")
        owner = None if owner_id is None else as_uuid(owner_id, "owner_id")
        if kind in ("environment", "corpse") and room is None:
            raise ValidationError(f"a {kind} container needs a room_id")
        if kind == "equipment" and entity is None:
            raise ValidationError("an equipment container needs an entity_id")
        roles = tuple(check_sequence(allowed_roles or [], "allowed_roles"))
        if not all(isinstance(r, str) for r in roles):
            raise ValidationError("allowed_roles must be strings")
        meta = {} if metadata is None else metadata
        if not isinstance(meta, dict):
            raise ValidationError(f"metadata must be a dict, got {describe(meta)}")
        _json_object(meta, "metadata")  # serialisable as JSON
        specs = tuple(ItemSpec.parse(item) for item in check_sequence(items or [], "items"))
        if len(specs) > capacity_slots:
            raise ValidationError(f"{len(specs)} items do not fit in {capacity_slots} slots")
        if len({s.item_instance_id for s in specs}) != len(specs):
            raise ValidationError("an item id appears twice")
        return cls(
            source_type=kind,
            owner_id=owner,
            room_id=room,
            entity_id=entity,
            lock_state=lock,
            capacity_slots=capacity_slots,
            weight_limit=limit,
            decay_at=_aware(decay_at, "decay_at"),
            allowed_roles=roles,
            metadata=dict(meta),
            items=specs,
        )


EQUIPMENT_PLAYER_FKEY: Final = "containers_equipment_player_fkey"
"""An equipment container's player must exist (migration 9)."""


class ContainerRepository(BaseRepository, metrics_name="containers"):
    """Containers and their contents; reads are typed ``Container`` models with ``items``."""

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
        items: Sequence[ItemSpec | dict[str, Any]] | None = None,
    ) -> Container:
        """Create a container, and new items inside it, in one transaction.

        ``items`` are new item instances (``ItemSpec`` or dicts of its fields), placed in the
        given order. To put existing items in, move them with ``ItemRepository.transfer_items``.

        Raises:
            ValidationError: Bad enum values, capacity outside 1..20, more items than slots,
                a missing room_id (environment, corpse) or entity_id (equipment); before SQL.
            DuplicateError: An item id already exists; nothing was created.
            NotFoundError: The room, an item's prototype, or an equipment container's
                player does not exist (the database checks: a player being deleted at the
                same moment takes the new container with it, or makes this call fail).
        """
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
        return await self._create(spec, uuid.uuid4())

    async def ensure_container(
        self,
        container_id: uuid.UUID | str,
        source_type: str,
        **options: Any,
    ) -> tuple[Container, bool]:
        """The container with this id, created (with ``options``' items) only if missing.

        For the world's fixed containers (a chest a builder placed in a room): call it at
        every start; an existing container is returned as it is, never reset, its contents
        and lock state as play left them. Safe under concurrency: of many callers exactly
        one creates it.

        Args:
            container_id: The container's fixed id.
            source_type: What it must be; an existing container of another type, room or
                entity is refused.
            **options: As :meth:`create_container` (used only when creating).

        Returns:
            ``(container, created)``.

        Raises:
            DuplicateError: A container with this id exists as something else (another
                source type, room or entity), or a new item's id exists.
            ValidationError: Bad arguments, before any SQL.
        """
        cid = as_uuid(container_id, "container_id")
        spec = parse_container_options(source_type, options)
        for _ in range(3):
            existing = await self.get_container(cid)
            if existing is not None:
                check_same_container(existing, spec)
                return existing, False
            try:
                return await self._create(spec, cid), True
            except DuplicateError as exc:
                if exc.constraint != "containers_pkey":
                    raise
                continue  # created meanwhile by another caller: read theirs
        raise ConflictError(f"container {cid} kept being created and removed")

    async def _create(self, spec: ContainerSpec, container_id: uuid.UUID) -> Container:
        """Insert the container and its new items in one transaction; publish the event.

        The container is read back in the same transaction: once the insert has committed,
        nothing of this call is left to fail.
        """
        kind, room, entity, specs = spec.source_type, spec.room_id, spec.entity_id, spec.items
        row = {
            "container_id": container_id,
            "source_type": kind,
            "owner_id": spec.owner_id,
            "room_id": room,
            "entity_id": entity,
            "lock_state": spec.lock_state,
            "capacity_slots": spec.capacity_slots,
            "weight_limit": spec.weight_limit,
            "decay_at": spec.decay_at,
            "allowed_roles": list(spec.allowed_roles),
            "metadata": spec.metadata,
        }
        target = Owner("container", str(container_id))
        payload = json.dumps(
            [
                s.row(target, s.position if s.position is not None else i)
                for i, s in enumerate(specs)
            ]
        )

        async def attempt(conn: Client) -> Container:
            if specs and spec.weight_limit is not None:
                weights = await prototype_weights(self._db, conn, specs)
                incoming = sum(weights[s.prototype_id] * s.quantity for s in specs)
                Reserved(0, 0, spec.weight_limit, 0).check_weight(container_id, incoming)
            await Container.create(using_db=conn, **row)
            if specs:
                await self._fetch(conn, INSERT_ITEMS_SQL, [payload])
            return await self._read_in(conn, container_id)

        try:
            created = await self._atomic(attempt, idempotent=False)
        except ForeignKeyError as exc:  # the room, the player or a prototype does not exist
            if exc.constraint == PROTOTYPE_FKEY:
                await prototype_weights(self._db, self._db.client(), specs)  # names it
            if exc.constraint == EQUIPMENT_PLAYER_FKEY:
                raise NotFoundError("player", entity) from exc
            raise NotFoundError("room", room) from exc
        self._emit(
            ContainerCreated(
                container_id=container_id,
                source_type=kind,
                room_id=room,
                entity_id=entity,
                item_instance_ids=tuple(s.item_instance_id for s in specs),
            )
        )
        return created

    async def _read_in(self, conn: Client, container_id: uuid.UUID) -> Container:
        """The container with its items, read on ``conn`` (inside the write's transaction)."""
        rows = await self._fetch(
            conn, f"{_SELECT_WITH_ITEMS} WHERE c.container_id = $1{_ORDER}", [container_id]
        )
        found = containers_from_rows(rows)
        if not found:
            raise NotFoundError("container", container_id)
        return found[0]

    async def get_container(self, container_id: uuid.UUID | str) -> Container | None:
        """The container with its items, or ``None``; one query."""
        cid = as_uuid(container_id, "container_id")
        rows = await self._statement(
            f"{_SELECT_WITH_ITEMS} WHERE c.container_id = $1{_ORDER}", [cid]
        )
        found = containers_from_rows(rows)
        return found[0] if found else None

    async def require_container(self, container_id: uuid.UUID | str) -> Container:
        """The container with its items. Raises ``NotFoundError``."""
        container = await self.get_container(container_id)
        if container is None:
            raise NotFoundError("container", container_id)
        return container

    async def get_containers_by_room_id(self, room_id: str) -> list[Container]:
        """Containers standing in a room (chests, corpses), each with its items; one query."""
        rows = await self._statement(
            f"{_SELECT_WITH_ITEMS} WHERE c.room_id = $1{_ORDER}", [_room(room_id)]
        )
        return containers_from_rows(rows)

    async def get_containers_by_entity_id(self, entity_id: uuid.UUID | str) -> list[Container]:
        """Containers an entity wears or carries, each with its items; one query."""
        eid = as_uuid(entity_id, "entity_id")
        rows = await self._statement(f"{_SELECT_WITH_ITEMS} WHERE c.entity_id = $1{_ORDER}", [eid])
        return containers_from_rows(rows)

    async def update_container(
        self,
        container_id: uuid.UUID | str,
        *,
        lock_state: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Container:
        """Change the lock state and/or replace the metadata; returns the updated container.

        Contents never change here: items move only through transfers.

        Raises:
            NotFoundError: No such container.
            ValidationError: Nothing to change, or a bad value; before SQL.
        """
        cid = as_uuid(container_id, "container_id")
        if lock_state is None and metadata is None:
            raise ValidationError("update_container needs lock_state and/or metadata")
        lock = None if lock_state is None else _check_enum(lock_state, LOCK_STATES, "lock_state")
        meta = None if metadata is None else _json_object(metadata, "metadata")
        changes: dict[str, Any] = {"updated_at": datetime.now(UTC)}
        if lock is not None:
            changes["lock_state"] = lock
        if metadata is not None:
            changes["metadata"] = metadata

        async def update(conn: Client) -> Container:
            if not await Container.filter(container_id=cid).using_db(conn).update(**changes):
                raise NotFoundError("container", cid)
            return await self._read_in(conn, cid)  # in the same transaction (see _create)

        updated = await self._atomic(update, idempotent=True)
        changed = tuple(n for n, v in (("lock_state", lock), ("metadata", meta)) if v is not None)
        self._emit(ContainerUpdated(container_id=cid, fields=changed))
        return updated

    async def get_decayed_containers(self, current_time: datetime | None = None) -> list[Container]:
        """Containers whose ``decay_at`` has passed (default: now), oldest first, with items."""
        now = _aware(current_time, "current_time") or datetime.now(UTC)
        rows = await self._statement(
            f"{_SELECT_WITH_ITEMS} WHERE c.decay_at IS NOT NULL AND c.decay_at <= $1"
            " ORDER BY c.decay_at, c.container_id, i.position NULLS LAST, i.created_at,"
            " i.item_instance_id",
            [now],
        )
        return containers_from_rows(rows)

    async def delete_container(
        self, container_id: uuid.UUID | str, *, contents: ContentsPolicy = "drop"
    ) -> bool:
        """Delete a container and, in the same transaction, drop or delete its items.

        Args:
            container_id: The container.
            contents: ``"drop"`` puts the items on the floor of the container's room;
                ``"delete"`` deletes them. A container without a room (equipment) holding
                items needs ``"delete"``, or its items moved out first.

        Returns:
            ``False`` when there was no such container.
        """
        cid = as_uuid(container_id, "container_id")
        policy = _contents(contents)
        return await self._remove(cid, policy, decayed_before=None) is not None

    async def remove_decayed_containers(
        self, current_time: datetime | None = None, *, contents: ContentsPolicy = "drop"
    ) -> list[uuid.UUID]:
        """Remove every container past its decay time; each in its own transaction.

        A container whose decay time was moved later meanwhile is kept. A decayed container
        that has no room and holds items is skipped (logged) under ``"drop"``.

        Returns:
            The ids removed.
        """
        now = _aware(current_time, "current_time") or datetime.now(UTC)
        policy = _contents(contents)

        async def due(conn: Client) -> list[uuid.UUID]:
            ids = (
                await Container.filter(decay_at__lte=now)
                .order_by("decay_at")
                .using_db(conn)
                .values_list("container_id", flat=True)
            )
            return [uuid.UUID(str(cid)) for cid in ids]

        removed: list[uuid.UUID] = []
        for cid in await self._atomic(due, idempotent=True, atomic=False):
            try:
                # Each container is a unit of its own, with the whole wait budget: a sweep of
                # many would otherwise spend one call's budget on queueing (see call_scope).
                with call_scope(self._settings.pool_acquire_timeout, unit=True):
                    done = await self._remove(cid, policy, decayed_before=now)
                if done:
                    removed.append(cid)
                    note_committed()  # a later failure of this call is not "nothing applied"
            except ValidationError as exc:
                log.warning("decayed container %s kept: %s", cid, exc)
        return removed

    async def _remove(
        self, cid: uuid.UUID, policy: ContentsPolicy, *, decayed_before: datetime | None
    ) -> ContainerRemoved | None:
        async def attempt(conn: Client) -> ContainerRemoved | None:
            return await self._remove_in(conn, cid, policy, decayed_before)

        event = await self._atomic(attempt, idempotent=False)
        if event is not None:
            self._emit(event)
        return event

    async def _remove_in(
        self,
        conn: Client,
        cid: uuid.UUID,
        policy: ContentsPolicy,
        decayed_before: datetime | None,
    ) -> ContainerRemoved | None:
        # Lock the container first: every move into or out of it locks it too, so from here
        # on its contents cannot change under us, and the next statement sees them all.
        # (Locking steps are hand-written, as for moves: FOR UPDATE, items in id order.)
        locked = await self._fetch(
            conn,
            "SELECT source_type, room_id, decay_at FROM containers"
            " WHERE container_id = $1 FOR UPDATE",
            [cid],
        )
        if not locked:
            return None
        head = locked[0]
        if decayed_before is not None and (
            head["decay_at"] is None or head["decay_at"] > decayed_before
        ):
            return None
        owner_id = str(cid)
        items = await self._fetch(
            conn,
            "SELECT item_instance_id FROM item_instances WHERE owner_type = 'container' "
            "AND owner_id = $1 ORDER BY item_instance_id FOR UPDATE",
            [owner_id],
        )
        ids = [r["item_instance_id"] for r in items]
        if ids and policy == "drop":
            if head["room_id"] is None:
                raise ValidationError(
                    f"container {cid} has no room to drop its {len(ids)} items into; "
                    "use contents='delete' or move them first"
                )
            await self._fetch(
                conn,
                _MOVE_WITH_POSITIONS,
                [ids, "room", head["room_id"], [None] * len(ids)],
            )
            reason = "decay" if decayed_before is not None else "container_removed"
            await self._fetch(
                conn, _LEDGER, [ids, "container", owner_id, "room", head["room_id"], reason]
            )
        elif ids:
            await ItemInstance.filter(item_instance_id__in=ids).using_db(conn).delete()
        await Container.filter(container_id=cid).using_db(conn).delete()
        return ContainerRemoved(
            container_id=cid,
            source_type=head["source_type"],
            room_id=head["room_id"],
            item_instance_ids=tuple(ids),
            contents=policy,
            decayed=decayed_before is not None,
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
        """A player died: make a corpse in the room holding their inventory, in one transaction.

        The corpse (``source_type="corpse"``, ``owner_id`` = the player) decays after
        ``decay_after``; ``metadata`` records the grace period during which only the owner
        should loot it (``grace_period_seconds``, ``grace_period_start``), ``player_name``
        and ``death_timestamp``. Items beyond the 20 slots a container has lie on the room
        floor (listed in the event's ``spilled_item_ids``). An item moved out of the
        inventory concurrently is either in the corpse or where it was moved, never both.

        Args:
            player_id: Who died.
            room_id: Where the corpse lies; by default the room the database has the player
                in (read under the player's row lock).
            decay_after: How long until the corpse decays.
            grace_period: How long only its owner should loot it.
            weight_limit: The corpse's weight limit: items fill it in slot order while they
                fit (by slots and by weight); the rest lies on the floor.
            op_id: Idempotency key: a repeat makes no second corpse and returns the first.

        Raises:
            NotFoundError: No such player or room; or, for a repeat, the corpse the op made
                was removed since. ``PlayerSoftDeletedError`` for a soft-deleted player.
            OperationReusedError: ``op_id`` was used for another request.
        """
        pid = as_uuid(player_id, "player_id")
        room = None if room_id is None else _room(room_id)
        check_duration(decay_after, "decay_after")
        check_duration(grace_period, "grace_period")
        limit = check_weight_limit(weight_limit)
        key = check_op_id(op_id)
        request = {
            "operation": "create_corpse",
            "player_id": str(pid),
            "room_id": room,
            "decay_after": decay_after.total_seconds(),
            "grace_period": grace_period.total_seconds(),
            "weight_limit": limit,
        }

        async def attempt(conn: Client) -> tuple[CorpseCreated | None, Container]:
            if key is not None:
                replay = await claim(self._db, conn, key, "corpse", request)
                if replay is not None:  # a repeat: the corpse the first call made
                    return None, await self._read_in(conn, uuid.UUID(replay["container_id"]))
            made = await self._corpse_in(conn, pid, room, decay_after, grace_period, limit)
            if key is not None:
                await record(conn, key, {"container_id": str(made.container_id)})
            return made, await self._read_in(conn, made.container_id)  # see _create

        try:
            event, corpse = await self._atomic(attempt, idempotent=key is not None)
        except ForeignKeyError as exc:  # the room does not exist (the database checks)
            raise NotFoundError("room", room) from exc
        if event is not None:
            self._emit(event)
        return corpse

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
        """Handle a death a health change reported: the player's items go into a new corpse.

        Exactly once per death: the op_id defaults to one derived from the change's
        ``change_id``, so calling this twice for the same change (a retry, two handlers of
        one event) makes one corpse and returns it both times.

        Args:
            death: A :class:`HealthChange` with ``died=True``.
            room_id: Where the corpse lies; by default the player's room in the database.
            decay_after: How long until the corpse decays.
            grace_period: How long only its owner should loot it.
            weight_limit: The corpse's weight limit (see :meth:`create_corpse`).
            op_id: Overrides the derived idempotency key.

        Raises:
            ValidationError: ``death`` is not a HealthChange that killed the player.
        """
        if not isinstance(death, HealthChange):
            raise ValidationError(f"expected a HealthChange, got {describe(death)}")
        if not death.died:
            raise ValidationError(
                f"player {death.player_id} did not die in this change "
                f"({death.old_hp} -> {death.new_hp}, floor {death.floor})"
            )
        return await self.create_corpse(
            death.player_id,
            room_id,
            decay_after=decay_after,
            grace_period=grace_period,
            weight_limit=weight_limit,
            op_id=op_id if op_id is not None else f"death:{death.change_id}",
        )

    async def _corpse_in(
        self,
        conn: Client,
        pid: uuid.UUID,
        room_id: str | None,
        decay_after: timedelta,
        grace_period: timedelta,
        weight_limit: int | None = None,
    ) -> CorpseCreated:
        player = await self._fetch(
            conn,
            "SELECT name, current_room_id, is_deleted FROM players WHERE player_id = $1 FOR UPDATE",
            [pid],
        )
        if not player:
            raise NotFoundError("player", pid)
        if player[0]["is_deleted"]:
            raise PlayerSoftDeletedError(pid)
        room: str = room_id if room_id is not None else player[0]["current_room_id"]
        owner_id = str(pid)
        # Lock in id order (as transfers do, so the two cannot deadlock), place by slot order.
        held = await self._fetch(conn, _HELD, [owner_id])
        held.sort(
            key=lambda r: (
                r["position"] is None,
                r["position"] or 0,
                r["created_at"],
                r["item_instance_id"],
            )
        )
        inside: list[str] = []
        spilled: list[str] = []
        carried = 0
        for item in held:  # slot order: what fits (by slots and by weight) goes in
            weight = int(item["weight"])
            fits = weight_limit is None or carried + weight <= weight_limit
            if len(inside) < MAX_CAPACITY_SLOTS and fits:
                inside.append(item["item_instance_id"])
                carried += weight
            else:
                spilled.append(item["item_instance_id"])
        now = datetime.now(UTC)
        corpse_id = uuid.uuid4()
        decay_at = now + decay_after
        metadata = {
            "grace_period_seconds": int(grace_period.total_seconds()),
            "grace_period_start": now.isoformat(),
            "player_name": player[0]["name"],
            "death_timestamp": now.isoformat(),
        }
        try:
            await Container.create(
                using_db=conn,
                container_id=corpse_id,
                source_type="corpse",
                owner_id=pid,
                room_id=room,
                weight_limit=weight_limit,
                decay_at=decay_at,
                metadata=metadata,
            )
        except Exception as exc:  # the room (perhaps the player's instance) is not stored
            if isinstance(translate(exc), ForeignKeyError):
                raise NotFoundError("room", room) from exc
            raise
        if inside:
            await self._fetch(
                conn,
                _MOVE_WITH_POSITIONS,
                [inside, "container", str(corpse_id), list(range(len(inside)))],
            )
            await self._fetch(
                conn, _LEDGER, [inside, "player", owner_id, "container", str(corpse_id), "corpse"]
            )
        if spilled:
            await self._fetch(
                conn, _MOVE_WITH_POSITIONS, [spilled, "room", room, [None] * len(spilled)]
            )
            await self._fetch(
                conn, _LEDGER, [spilled, "player", owner_id, "room", room, "corpse_spill"]
            )
        return CorpseCreated(
            container_id=corpse_id,
            player_id=pid,
            room_id=room,
            item_instance_ids=tuple(inside),
            spilled_item_ids=tuple(spilled),
            decay_at=decay_at,
        )

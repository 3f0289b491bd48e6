"""ItemRepository: item instances, each in exactly one place, and moves that cannot duplicate.

An item's location is ``(owner_type, owner_id)`` on its own row and nowhere else. A move is
a compare-and-set of that pair inside one transaction that first locks the containers
involved (in id order, so two movers cannot deadlock), checks their lock state and capacity,
then locks the items (in id order), checks each is still owned by ``from_owner``, moves them,
and appends one ``item_movements`` ledger row per item. Either every item moves or none.
An item's first ledger row is its creation, written by the statement that inserts it.
See ``docs/items.md``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    field_validator,
)
from pydantic import ValidationError as PydanticValidationError

from persistence.db import Row
from persistence.errors import (
    ContainerFullError,
    ContainerLockedError,
    ContainerOverweightError,
    ForeignKeyError,
    ItemNotOwnedError,
    NotFoundError,
    ValidationError,
    describe,
    guard,
)
from persistence.events import ItemCreated, ItemsTransferred
from persistence.models.item import OWNER_TYPES, ItemInstance, ItemPrototype
from persistence.models.player import Player
from persistence.operations import check_op_id, claim, record
from persistence.repositories.base import BaseRepository, Client, as_uuid, check_text
from persistence.validation import check_json, check_sequence

__all__ = [
    "CREATED_REASON",
    "ENSURE_ITEMS_SQL",
    "INSERT_ITEMS_SQL",
    "ITEM_COLUMNS",
    "PROTOTYPE_FKEY",
    "PROTOTYPE_ID_MAX_LENGTH",
    "PROTOTYPE_WEIGHTS_SQL",
    "PrototypeId",
    "ItemRepository",
    "ItemSpec",
    "Owner",
    "PrototypeSpec",
    "Reserved",
    "TransferRequest",
    "TransferResult",
    "items_from_rows",
    "normalize_owner",
]

CREATED_REASON: Final = "created"
"""The ledger's ``reason`` of an item's first row: its creation, with no from-owner."""

ITEM_COLUMNS: Final = (
    "item_instance_id, prototype_id, owner_type, owner_id, position, location_context, "
    "quantity, condition, flags_override, binding_state, attunement_state, custom_name, "
    "metadata, origin_source, origin_metadata, created_at, updated_at"
)
_SELECT: Final = f"SELECT {ITEM_COLUMNS} FROM item_instances"  # noqa: S608 - constant

# Hand-written: any number of items in one INSERT that returns the stored rows (and, for
# ensure, skips ids that exist), and appends each new item's creation row (no from-owner, its
# first owner) to the ledger in the same statement, so an item never exists without it;
# bulk_create returns nothing, save() is a row per item, and neither can chain the ledger.
# Containers' creation with items uses this statement too (repositories/container.py).
_INSERT_FROM_JSON: Final = f"""
WITH created AS (
INSERT INTO item_instances (item_instance_id, prototype_id, owner_type, owner_id, position,
    location_context, quantity, condition, flags_override, binding_state, attunement_state,
    custom_name, metadata, origin_source, origin_metadata)
SELECT item_instance_id, prototype_id, owner_type, owner_id, position, location_context,
       quantity, condition, flags_override, binding_state, attunement_state, custom_name,
       metadata, origin_source, origin_metadata
  FROM jsonb_to_recordset($1::jsonb) AS x(
       item_instance_id varchar, prototype_id varchar, owner_type varchar, owner_id varchar,
       position int, location_context varchar, quantity int, condition int,
       flags_override jsonb, binding_state varchar, attunement_state jsonb, custom_name varchar,
       metadata jsonb, origin_source varchar, origin_metadata jsonb)
{{conflict}}
RETURNING {ITEM_COLUMNS}
), ledger AS (
INSERT INTO item_movements (item_instance_id, to_owner_type, to_owner_id, reason)
SELECT item_instance_id, owner_type, owner_id, '{CREATED_REASON}' FROM created
)
SELECT {ITEM_COLUMNS} FROM created
"""  # noqa: S608 - constant column list and reason; {conflict} is one of two constant clauses
INSERT_ITEMS_SQL: Final = _INSERT_FROM_JSON.format(conflict="")
ENSURE_ITEMS_SQL: Final = _INSERT_FROM_JSON.format(
    conflict="ON CONFLICT (item_instance_id) DO NOTHING"
)

# The locking steps of a move are hand-written: the rows are locked in id order in one
# statement each (select_for_update has no ORDER BY guarantee across values() and models).
_LOCK_CONTAINERS: Final = """
SELECT container_id, lock_state, capacity_slots, weight_limit, room_id FROM containers
 WHERE container_id = ANY($1::uuid[])
 ORDER BY container_id
   FOR UPDATE
"""
# Counted in a statement of its own, after the lock is granted: in READ COMMITTED a new
# statement sees every move into the container that committed while we waited for the lock.
# The weight joins the prototypes only for a container with a weight limit ($2).
_COUNT: Final = """
SELECT count(*) AS used, COALESCE(max(i.position) + 1, 0) AS next_position,
       CASE WHEN $2::bool THEN
           (SELECT COALESCE(sum(w.quantity::bigint * p.weight), 0)
              FROM item_instances w JOIN item_prototypes p ON p.prototype_id = w.prototype_id
             WHERE w.owner_type = 'container' AND w.owner_id = $1)
       END AS weight
  FROM item_instances i WHERE i.owner_type = 'container' AND i.owner_id = $1
"""
_LOCK_ITEMS: Final = """
SELECT i.item_instance_id, i.owner_type, i.owner_id,
       i.quantity::bigint * COALESCE(p.weight, 0) AS weight
  FROM item_instances i LEFT JOIN item_prototypes p ON p.prototype_id = i.prototype_id
 WHERE i.item_instance_id = ANY($1::text[])
 ORDER BY i.item_instance_id
   FOR UPDATE OF i
"""
# The weights of prototypes, for items about to be created (a missing one is not returned).
PROTOTYPE_WEIGHTS_SQL: Final = """
SELECT prototype_id, weight FROM item_prototypes WHERE prototype_id = ANY($1::text[])
"""
# Hand-written: every item gets its own position in one UPDATE (unnest), returning the rows.
_MOVE: Final = f"""
UPDATE item_instances i
   SET owner_type = $2, owner_id = $3, position = m.position, updated_at = now()
  FROM unnest($1::text[], $4::int[]) AS m(item_instance_id, position)
 WHERE i.item_instance_id = m.item_instance_id
RETURNING {", ".join("i." + c.strip() for c in ITEM_COLUMNS.split(","))}
"""  # noqa: S608 - constant column list
# Hand-written: one ledger row per moved item in one INSERT ... SELECT FROM unnest.
_LEDGER: Final = """
INSERT INTO item_movements (item_instance_id, from_owner_type, from_owner_id,
                            to_owner_type, to_owner_id, reason, op_id)
SELECT item_id, $2, $3, $4, $5, $6, $7 FROM unnest($1::text[]) AS item_id
"""


class Owner(NamedTuple):
    """Where an item is: ``("room", room_id)``, ``("player", uuid)``, ``("container", uuid)``."""

    owner_type: str
    owner_id: str


def normalize_owner(value: object, what: str = "owner") -> Owner:
    """Check an owner pair and put its id in canonical form (uuids as lowercase text).

    Raises:
        ValidationError: Not a pair, unknown owner type, or an id of the wrong form.
    """
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValidationError(f"{what} must be (owner_type, owner_id), got {describe(value)}")
    owner_type, owner_id = value
    if owner_type not in OWNER_TYPES:
        raise ValidationError(
            f"{what} type must be one of {OWNER_TYPES}, got {describe(owner_type)}"
        )
    if owner_type in ("player", "container"):
        return Owner(owner_type, str(as_uuid(owner_id, f"{what} id")))
    return Owner(owner_type, check_text(owner_id, f"{what} room id", max_length=255))


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _storable_prototype_id(value: str) -> str:
    if "\x00" in value or not _encodes(value):
        raise ValueError("a prototype id must be valid Unicode without NUL characters")
    return value


PROTOTYPE_ID_MAX_LENGTH: Final = 120
"""The longest prototype id (the ``prototype_id`` columns are ``varchar(120)``)."""

PrototypeId = Annotated[
    StrictStr,
    Field(min_length=1, max_length=PROTOTYPE_ID_MAX_LENGTH),
    AfterValidator(_storable_prototype_id),
]
"""The one rule for a prototype id, wherever one is given: an item, a prototype, a world file.

Any text of 1-120 characters the database can store. Items have always been accepted with
any such id, and migration 5 made a placeholder prototype for every id existing items named:
a narrower rule for prototypes would leave placeholders no world file could replace.
"""

_JSON_FIELDS: Final = ("flags_override", "attunement_state", "metadata", "origin_metadata")


class ItemSpec(BaseModel):
    """The fields of a new item instance, checked before any SQL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item_instance_id: StrictStr = Field(min_length=1, max_length=64)
    prototype_id: PrototypeId
    position: StrictInt | None = Field(default=None, ge=0, lt=2**31)
    location_context: StrictStr | None = Field(default=None, max_length=255)
    quantity: StrictInt = Field(default=1, ge=1, lt=2**31)
    condition: StrictInt | None = Field(default=None, ge=-(2**31), lt=2**31)
    flags_override: list[StrictStr] = Field(default_factory=list)
    binding_state: StrictStr | None = Field(default=None, max_length=32)
    attunement_state: dict[str, Any] = Field(default_factory=dict)
    custom_name: StrictStr | None = Field(default=None, max_length=255)
    metadata: dict[str, Any] = Field(default_factory=dict)
    origin_source: StrictStr | None = Field(default=None, max_length=64)
    origin_metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator(
        "item_instance_id",
        "location_context",
        "binding_state",
        "custom_name",
        "origin_source",
    )
    @classmethod
    def _storable_text(cls, value: str | None) -> str | None:
        if value is not None and ("\x00" in value or not _encodes(value)):
            raise ValueError("text must be valid Unicode without NUL characters")
        return value

    @classmethod
    def parse(cls, value: object) -> ItemSpec:
        """An ``ItemSpec`` from itself or a mapping; ``ValidationError`` if malformed."""
        if isinstance(value, ItemSpec):
            return value
        if isinstance(value, dict):
            # JSON fields first: a hostile document must fail before pydantic walks it.
            for name in _JSON_FIELDS:
                if name in value:
                    check_json(value[name], f"item {name}")
        try:
            return cls.model_validate(value)
        except PydanticValidationError as exc:
            raise ValidationError(f"invalid item: {exc}") from exc

    def row(self, owner: Owner, position: int | None) -> dict[str, Any]:
        """The JSON row for the insert statement."""
        data = self.model_dump()
        data.update(owner_type=owner.owner_type, owner_id=owner.owner_id, position=position)
        return data


PROTOTYPE_FKEY: Final = "item_instances_prototype_fkey"
"""The foreign key from an item to its prototype (its violation names a missing prototype)."""


class PrototypeSpec(BaseModel):
    """One item prototype, as ``item_prototypes.json`` or ``save_prototypes`` gives it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prototype_id: PrototypeId
    name: StrictStr = Field(min_length=1, max_length=255)
    weight: StrictInt = Field(default=0, ge=0, lt=2**31)
    stackable: bool = False
    max_stack: StrictInt = Field(default=1, ge=1, lt=2**31)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _storable_name(cls, value: str) -> str:
        if "\x00" in value or not _encodes(value) or not value.strip():
            raise ValueError("the name must be non-blank valid Unicode without NUL characters")
        return value

    @classmethod
    def parse(cls, value: object) -> PrototypeSpec:
        """A ``PrototypeSpec`` from itself, an ``ItemPrototype`` or a mapping."""
        if isinstance(value, PrototypeSpec):
            return value
        if isinstance(value, ItemPrototype):
            value = {name: getattr(value, name) for name in cls.model_fields}
        if isinstance(value, dict) and "metadata" in value:
            check_json(value["metadata"], "prototype metadata")
        try:
            spec = cls.model_validate(value)
        except PydanticValidationError as exc:
            raise ValidationError(f"invalid item prototype: {exc}") from exc
        if spec.max_stack > 1 and not spec.stackable:
            raise ValidationError(
                f"prototype {spec.prototype_id}: max_stack {spec.max_stack} needs stackable"
            )
        return spec


class Reserved(NamedTuple):
    """A container locked for a change of its contents: what it holds and may hold."""

    used: int
    next_position: int
    weight_limit: int | None
    weight: int

    def check_weight(self, container_id: object, incoming: int) -> None:
        """Raise ``ContainerOverweightError`` when ``incoming`` more would pass the limit."""
        limit = self.weight_limit
        if limit is not None and incoming and self.weight + incoming > limit:
            raise ContainerOverweightError(container_id, limit, self.weight, incoming)


@dataclass(frozen=True, slots=True)
class TransferResult:
    """The outcome of a move.

    Attributes:
        item_instance_ids: The items moved, in the order given.
        from_owner: Where they were.
        to_owner: Where they are now.
        positions: Their positions at the destination (slot order in a container).
        op_id: The idempotency key, if one was given.
        replayed: True when the op_id had already been applied and nothing moved this time.
    """

    item_instance_ids: tuple[str, ...]
    from_owner: Owner
    to_owner: Owner
    positions: tuple[int | None, ...]
    op_id: str | None
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        """The form recorded for the op_id."""
        return {
            "item_instance_ids": list(self.item_instance_ids),
            "from_owner": list(self.from_owner),
            "to_owner": list(self.to_owner),
            "positions": list(self.positions),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], op_id: str) -> TransferResult:
        """The recorded outcome of ``op_id``, marked as a replay."""
        return cls(
            item_instance_ids=tuple(data["item_instance_ids"]),
            from_owner=Owner(*data["from_owner"]),
            to_owner=Owner(*data["to_owner"]),
            positions=tuple(data["positions"]),
            op_id=op_id,
            replayed=True,
        )


def items_from_rows(rows: Iterable[Row]) -> list[ItemInstance]:
    """Build ItemInstance models from rows of ``SELECT ITEM_COLUMNS``."""
    return [ItemInstance._init_from_db(**row) for row in rows]


def _item_id(value: object) -> str:
    return check_text(value, "item_instance_id", max_length=64)


@dataclass(frozen=True)
class TransferRequest:
    """A move's arguments, checked and normalised before any SQL (shared with the twins)."""

    item_ids: tuple[str, ...]
    source: Owner
    target: Owner
    position: int | None
    op_id: str | None

    @classmethod
    def parse(
        cls,
        item_instance_ids: object,
        from_owner: object,
        to_owner: object,
        position: object = None,
        op_id: object = None,
    ) -> TransferRequest:
        """Check everything; raise ``ValidationError`` for the first problem found."""
        ids = tuple(_item_id(i) for i in check_sequence(item_instance_ids, "item_instance_ids"))
        if not ids or len(set(ids)) != len(ids):
            raise ValidationError("transfer needs at least one item, each given once")
        source = normalize_owner(from_owner, "from_owner")
        target = normalize_owner(to_owner, "to_owner")
        if position is not None and (
            type(position) is not int or not 0 <= position <= 2**31 - len(ids)
        ):
            raise ValidationError(
                f"position must be an int from 0 with room for {len(ids)} slots below 2**31, "
                f"got {describe(position)}"
            )
        return cls(ids, source, target, position, check_op_id(op_id))

    def request(self) -> dict[str, Any]:
        """What an op_id records, to recognise a repeat of the same move."""
        return {
            "operation": "transfer_items",
            "items": list(self.item_ids),
            "from": list(self.source),
            "to": list(self.target),
            "position": self.position,
        }


async def upsert_prototypes(db: Any, specs: Sequence[PrototypeSpec]) -> None:
    """Upsert prototypes in one statement (``bulk_create(on_conflict=...)``), one transaction."""
    fields = [f for f in PrototypeSpec.model_fields if f != "prototype_id"]
    async with db.transaction() as client, guard():
        await ItemPrototype.bulk_create(
            [ItemPrototype(**spec.model_dump()) for spec in specs],
            on_conflict=["prototype_id"],
            update_fields=fields,
            using_db=client,
        )


async def prototype_weights(db: Any, conn: Client, specs: Sequence[ItemSpec]) -> dict[str, int]:
    """The weight of each prototype the new items name; ``NotFoundError`` for a missing one."""
    wanted = sorted({s.prototype_id for s in specs})
    rows = await db.fetch(conn, PROTOTYPE_WEIGHTS_SQL, [wanted])
    weights = {r["prototype_id"]: int(r["weight"]) for r in rows}
    missing = [p for p in wanted if p not in weights]
    if missing:
        raise NotFoundError("item prototype", ", ".join(missing))
    return weights


class ItemRepository(BaseRepository, metrics_name="items"):
    """Item instances: create, ensure, read, move."""

    async def create_item_instance(
        self,
        item_instance_id: str,
        prototype_id: str,
        *,
        owner_type: str = "room",
        owner_id: str | uuid.UUID | None = None,
        **fields: Any,
    ) -> ItemInstance:
        """Create a new item at ``(owner_type, owner_id)``.

        Other keyword fields: position, location_context, quantity, condition,
        flags_override, binding_state, attunement_state, custom_name, metadata,
        origin_source, origin_metadata. Creating into a container checks it exists and has a
        free slot (the item takes the next slot unless a position is given).

        Raises:
            DuplicateError: An item with this id exists (use ensure_item_instance to accept it).
            ContainerFullError: The container has no free slot.
            NotFoundError: The container does not exist.
            ValidationError: A field is malformed, before any SQL.
        """
        spec = ItemSpec.parse(
            {"item_instance_id": item_instance_id, "prototype_id": prototype_id, **fields}
        )
        owner = normalize_owner((owner_type, owner_id))
        return (await self._insert([spec], owner, ensure=False))[0]

    async def ensure_item_instance(
        self,
        item_instance_id: str,
        prototype_id: str,
        *,
        owner_type: str = "room",
        owner_id: str | uuid.UUID | None = None,
        **fields: Any,
    ) -> ItemInstance:
        """Create the item if it does not exist; return the stored item either way.

        An existing item is returned as it is: none of its fields (owner, custom_name,
        condition, binding...) is reset by the values given here.
        """
        spec = ItemSpec.parse(
            {"item_instance_id": item_instance_id, "prototype_id": prototype_id, **fields}
        )
        owner = normalize_owner((owner_type, owner_id))
        existing = await self.get_item_instance(spec.item_instance_id)
        if existing is not None:
            return existing
        created = await self._insert([spec], owner, ensure=True)
        if created:
            return created[0]
        found = await self.get_item_instance(spec.item_instance_id)  # created concurrently
        if found is None:
            raise NotFoundError("item", spec.item_instance_id)
        return found

    async def _insert(
        self, specs: list[ItemSpec], owner: Owner, *, ensure: bool
    ) -> list[ItemInstance]:
        sql = ENSURE_ITEMS_SQL if ensure else INSERT_ITEMS_SQL
        if owner.owner_type != "container":
            payload = json.dumps([s.row(owner, s.position) for s in specs])
            try:
                rows = await self._statement(sql, [payload], idempotent=False)
            except ForeignKeyError as exc:  # the owner or a prototype does not exist
                raise await self._missing(exc, specs, owner) from exc
        else:

            async def insert(conn: Client) -> list[Row]:
                reserved = await self._reserve(conn, owner, len(specs), check_lock=False)
                if reserved.weight_limit is not None:
                    weights = await prototype_weights(self._db, conn, specs)
                    incoming = sum(weights[s.prototype_id] * s.quantity for s in specs)
                    reserved.check_weight(owner.owner_id, incoming)
                first = reserved.next_position
                payload = json.dumps(
                    [
                        s.row(owner, s.position if s.position is not None else first + i)
                        for i, s in enumerate(specs)
                    ]
                )
                return await self._fetch(conn, sql, [payload])

            try:
                rows = await self._atomic(insert, idempotent=False)
            except ForeignKeyError as exc:
                raise await self._missing(exc, specs, owner) from exc
        items = items_from_rows(rows)
        self._emit(
            *(
                ItemCreated(
                    item_instance_id=item.item_instance_id,
                    prototype_id=item.prototype_id,
                    owner=(item.owner_type, item.owner_id),
                )
                for item in items
            )
        )
        return items

    async def _missing(
        self, exc: ForeignKeyError, specs: Sequence[ItemSpec], owner: Owner
    ) -> NotFoundError:
        """What a refused insert named that does not exist: a prototype, or the owner."""
        if exc.constraint != PROTOTYPE_FKEY:
            return NotFoundError(owner.owner_type, owner.owner_id)
        wanted = sorted({s.prototype_id for s in specs})
        known: set[str] = {
            str(found)
            for found in await ItemPrototype.filter(prototype_id__in=wanted)
            .using_db(self._db.client())
            .values_list("prototype_id", flat=True)
        }
        return NotFoundError("item prototype", ", ".join(p for p in wanted if p not in known))

    async def _reserve(
        self, conn: Client, owner: Owner, count: int, *, check_lock: bool
    ) -> Reserved:
        """Lock a container and check it can take ``count`` more items.

        Returns what it holds now (count, next free slot, and its weight when it has a
        limit), counted after the lock was granted.
        """
        cid = uuid.UUID(owner.owner_id)
        locked = await self._fetch(conn, _LOCK_CONTAINERS, [[cid]])
        if not locked:
            raise NotFoundError("container", cid)
        row = locked[0]
        if check_lock and row["lock_state"] != "unlocked":
            raise ContainerLockedError(f"container {cid} is {row['lock_state']}")
        limit = row["weight_limit"]
        counts = (await self._fetch(conn, _COUNT, [owner.owner_id, limit is not None]))[0]
        used, next_position = int(counts["used"]), int(counts["next_position"])
        if used + count > row["capacity_slots"]:
            raise ContainerFullError(
                f"container {cid} holds {used} of {row['capacity_slots']} items; "
                f"{count} more do not fit"
            )
        return Reserved(used, next_position, limit, int(counts["weight"] or 0))

    async def get_prototype(self, prototype_id: str) -> ItemPrototype | None:
        """The item prototype, or ``None``."""
        pid = check_text(prototype_id, "prototype_id", max_length=PROTOTYPE_ID_MAX_LENGTH)

        async def read(conn: Client) -> ItemPrototype | None:
            found: ItemPrototype | None = await ItemPrototype.get_or_none(
                prototype_id=pid, using_db=conn
            )
            return found

        return await self._atomic(read, idempotent=True, atomic=False)

    async def require_prototype(self, prototype_id: str) -> ItemPrototype:
        """The item prototype. Raises ``NotFoundError``."""
        found = await self.get_prototype(prototype_id)
        if found is None:
            raise NotFoundError("item prototype", prototype_id)
        return found

    async def list_prototypes(self) -> list[ItemPrototype]:
        """Every item prototype, ordered by id."""

        async def read(conn: Client) -> list[ItemPrototype]:
            found: list[ItemPrototype] = (
                await ItemPrototype.all().order_by("prototype_id").using_db(conn)
            )
            return found

        return await self._atomic(read, idempotent=True, atomic=False)

    async def save_prototypes(
        self, prototypes: Sequence[ItemPrototype | PrototypeSpec | dict[str, Any]]
    ) -> int:
        """Insert or update item prototypes in one statement (an upsert); returns how many.

        A changed weight applies to the items of that prototype from now on: containers
        already holding them are not re-checked.

        Raises:
            ValidationError: A malformed prototype or an id given twice; nothing written.
        """
        specs = [PrototypeSpec.parse(p) for p in check_sequence(prototypes, "prototypes")]
        if len({s.prototype_id for s in specs}) != len(specs):
            raise ValidationError("save_prototypes got the same prototype_id twice")
        if not specs:
            return 0
        await upsert_prototypes(self._db, specs)
        return len(specs)

    async def item_instance_exists(self, item_instance_id: str) -> bool:
        """Whether an item with this id exists."""
        item_id = _item_id(item_instance_id)

        async def exists(conn: Client) -> bool:
            found: bool = (
                await ItemInstance.filter(item_instance_id=item_id).using_db(conn).exists()
            )
            return found

        return await self._atomic(exists, idempotent=True, atomic=False)

    async def get_item_instance(self, item_instance_id: str) -> ItemInstance | None:
        """The item, or ``None``."""
        item_id = _item_id(item_instance_id)

        async def read(conn: Client) -> ItemInstance | None:
            return await ItemInstance.get_or_none(item_instance_id=item_id, using_db=conn)

        return await self._atomic(read, idempotent=True, atomic=False)

    async def get_items_by_owner(
        self, owner_type: str, owner_id: str | uuid.UUID
    ) -> list[ItemInstance]:
        """Everything one owner holds, in slot order (a player's inventory is this query)."""
        owner = normalize_owner((owner_type, owner_id))

        async def read(conn: Client) -> list[ItemInstance]:
            # PostgreSQL sorts NULL positions last in ascending order: unplaced items at the end.
            return await (
                ItemInstance.filter(owner_type=owner.owner_type, owner_id=owner.owner_id)
                .order_by("position", "created_at", "item_instance_id")
                .using_db(conn)
            )

        return await self._atomic(read, idempotent=True, atomic=False)

    async def delete_item_instance(self, item_instance_id: str) -> bool:
        """Delete an item (consumed, destroyed); ``False`` if there was none."""
        item_id = _item_id(item_instance_id)

        async def delete(conn: Client) -> bool:
            return bool(await ItemInstance.filter(item_instance_id=item_id).using_db(conn).delete())

        return await self._atomic(delete, idempotent=True, atomic=False)

    async def transfer_item(
        self,
        item_instance_id: str,
        *,
        from_owner: tuple[str, str | uuid.UUID],
        to_owner: tuple[str, str | uuid.UUID],
        position: int | None = None,
        op_id: str | None = None,
    ) -> TransferResult:
        """Move one item, only if ``from_owner`` still holds it. See :meth:`transfer_items`."""
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
        """Move items from one owner to another, all or nothing, in one transaction.

        Args:
            item_instance_ids: The items, each at most once.
            from_owner: ``(owner_type, owner_id)`` that must hold every item right now.
            to_owner: Where they go. A container must exist, be unlocked and have room.
            position: First slot to use; by default the next free slot of a container.
            op_id: Idempotency key. A repeat with the same key returns the first outcome
                (``replayed=True``) and moves nothing.

        Raises:
            ItemNotOwnedError: An item is not held by ``from_owner`` any more.
            NotFoundError: An item, the destination container or player does not exist.
            ContainerLockedError: A container involved is locked or sealed.
            ContainerFullError: The destination container lacks free slots.
            OperationReusedError: ``op_id`` was used before for a different move.
            ValidationError: Malformed arguments, before any SQL.
        """
        move = TransferRequest.parse(item_instance_ids, from_owner, to_owner, position, op_id)
        ids, source, target, key = list(move.item_ids), move.source, move.target, move.op_id
        request = move.request()

        async def attempt(conn: Client) -> TransferResult:
            if key is not None:
                replay = await claim(self._db, conn, key, "transfer", request)
                if replay is not None:
                    return TransferResult.from_json(replay, key)
            moved = await self._move(conn, ids, source, target, position, key, "transfer")
            if key is not None:
                await record(conn, key, moved.to_json())
            return moved

        # A transaction that certainly rolled back (deadlock, pool timeout) is safe to retry;
        # with an op_id any transient failure is, as the key makes a repeat replay the outcome.
        try:
            result = await self._atomic(attempt, idempotent=key is not None)
        except ForeignKeyError as exc:  # the destination does not exist (the database checks)
            raise NotFoundError(target.owner_type, target.owner_id) from exc
        if not result.replayed:
            self._emit(
                ItemsTransferred(
                    item_instance_ids=result.item_instance_ids,
                    from_owner=(result.from_owner.owner_type, result.from_owner.owner_id),
                    to_owner=(result.to_owner.owner_type, result.to_owner.owner_id),
                    op_id=key,
                )
            )
        return result

    async def _move(
        self,
        conn: Client,
        ids: list[str],
        source: Owner,
        target: Owner,
        position: int | None,
        op_id: str | None,
        reason: str,
    ) -> TransferResult:
        """The move itself, inside the caller's transaction (containers, then items, locked)."""
        containers = sorted({o.owner_id for o in (source, target) if o.owner_type == "container"})
        next_position: int | None = None
        destination: Reserved | None = None
        for container_id in containers:
            owner = Owner("container", container_id)
            incoming = len(ids) if owner == target and source != target else 0
            reserved = await self._reserve(conn, owner, incoming, check_lock=True)
            if owner == target:
                next_position = reserved.next_position
                destination = reserved if source != target else None
        if target.owner_type == "player":
            exists = await Player.filter(player_id=target.owner_id).using_db(conn).exists()
            if not exists:
                raise NotFoundError("player", target.owner_id)
        locked = {r["item_instance_id"]: r for r in await self._fetch(conn, _LOCK_ITEMS, [ids])}
        for item_id in ids:
            row = locked.get(item_id)
            if row is None:
                raise NotFoundError("item", item_id)
            if (row["owner_type"], row["owner_id"]) != source:
                raise ItemNotOwnedError(item_id, (row["owner_type"], row["owner_id"]))
        if destination is not None:  # the items are locked: their weight cannot change now
            incoming = sum(int(r["weight"]) for r in locked.values())
            destination.check_weight(target.owner_id, incoming)
        first = position if position is not None else next_position
        positions = [None if first is None else first + i for i in range(len(ids))]
        await self._fetch(conn, _MOVE, [ids, target.owner_type, target.owner_id, positions])
        await self._fetch(
            conn,
            _LEDGER,
            [ids, *source, *target, reason, op_id],
        )
        return TransferResult(
            item_instance_ids=tuple(ids),
            from_owner=source,
            to_owner=target,
            positions=tuple(positions),
            op_id=op_id,
        )

"""Load world data (rooms, professions, item prototypes) from JSON files into the database.

A world folder holds ``rooms.json``, ``professions.json`` and ``item_prototypes.json``, each
a JSON list (a missing file is an empty list). Loading is an
upsert (``bulk_create(on_conflict=...)``) in one transaction: running it twice changes
nothing, and a bad file changes nothing.
A small sample world ships with the package (:func:`sample_world_path`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator
from pydantic import ValidationError as PydanticValidationError

from persistence.db import Database
from persistence.errors import ValidationError, guard
from persistence.models.profession import Profession
from persistence.models.room import Room
from persistence.repositories.item import PrototypeSpec, upsert_prototypes

__all__ = [
    "ProfessionSpec",
    "PrototypeSpec",
    "RoomSpec",
    "WorldLoadResult",
    "load_world",
    "read_world",
    "sample_world_path",
]


def _storable(value: Any) -> Any:
    """Reject text PostgreSQL cannot store (NUL, lone surrogates), anywhere in the value."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("text must be valid Unicode (no lone surrogates)") from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    elif isinstance(value, list):
        for item in value:
            _storable(item)
    return value


class RoomSpec(BaseModel):
    """One room as written in ``rooms.json``."""

    model_config = ConfigDict(extra="forbid")

    room_id: str = Field(min_length=1, max_length=255, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=255)
    description: str = ""
    plane: str = Field(min_length=1, max_length=64)
    zone: str = Field(min_length=1, max_length=64)
    sub_zone: str = Field(min_length=1, max_length=64)
    exits: dict[str, str] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)

    _text = field_validator(
        "name", "description", "plane", "zone", "sub_zone", "exits", "attributes"
    )(_storable)


class ProfessionSpec(BaseModel):
    """One profession as written in ``professions.json``."""

    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=0, lt=2**31)
    name: str = Field(min_length=1, max_length=50)
    description: str = ""
    flavor_text: str = ""
    stat_requirements: dict[str, int] = Field(default_factory=dict)
    mechanical_effects: dict[str, Any] = Field(default_factory=dict)
    is_available: bool = True

    _text = field_validator(
        "name", "description", "flavor_text", "stat_requirements", "mechanical_effects"
    )(_storable)


@dataclass(frozen=True)
class WorldLoadResult:
    """How many rows the loader wrote."""

    rooms: int
    professions: int
    prototypes: int = 0


_ROOMS: Final = TypeAdapter(list[RoomSpec])
_PROFESSIONS: Final = TypeAdapter(list[ProfessionSpec])
_PROTOTYPES: Final = TypeAdapter(list[PrototypeSpec])


def sample_world_path() -> Path:
    """The sample world shipped with the package (an Arkham sanitarium, 8 rooms)."""
    return Path(__file__).resolve().parent / "sample_world"


def _read(path: Path, adapter: TypeAdapter[Any]) -> Any:
    if not path.exists():
        return []
    try:
        return adapter.validate_json(path.read_bytes())
    except PydanticValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from exc


def read_world(
    folder: Path,
) -> tuple[list[RoomSpec], list[ProfessionSpec], list[PrototypeSpec]]:
    """Parse and check a world folder without touching the database.

    Raises:
        ValidationError: A file is malformed, an id repeats, or an exit leads nowhere.
    """
    if not folder.is_dir():
        raise ValidationError(f"world folder {folder} does not exist")
    rooms: list[RoomSpec] = _read(folder / "rooms.json", _ROOMS)
    professions: list[ProfessionSpec] = _read(folder / "professions.json", _PROFESSIONS)
    raw_prototypes: list[PrototypeSpec] = _read(folder / "item_prototypes.json", _PROTOTYPES)
    prototypes = [PrototypeSpec.parse(p) for p in raw_prototypes]  # the cross-field rules
    if len({p.prototype_id for p in prototypes}) != len(prototypes):
        raise ValidationError(f"{folder}/item_prototypes.json repeats a prototype_id")
    room_ids = [r.room_id for r in rooms]
    if len(set(room_ids)) != len(room_ids):
        raise ValidationError(f"{folder}/rooms.json repeats a room_id")
    if len({p.id for p in professions}) != len(professions):
        raise ValidationError(f"{folder}/professions.json repeats an id")
    known = set(room_ids)
    for room in rooms:
        for direction, target in room.exits.items():
            if target not in known:
                raise ValidationError(
                    f"room {room.room_id}: exit {direction!r} leads to unknown room {target!r}"
                )
    return rooms, professions, prototypes


async def load_world(db: Database, folder: Path | None = None) -> WorldLoadResult:
    """Upsert a world folder's rooms, professions and item prototypes in one transaction.

    Args:
        db: A started database.
        folder: The world folder; the sample world when ``None``.
    """
    rooms, professions, prototypes = read_world(folder or sample_world_path())
    room_fields = [f for f in RoomSpec.model_fields if f != "room_id"]
    profession_fields = [f for f in ProfessionSpec.model_fields if f != "id"]
    async with db.transaction() as client, guard():
        if rooms:
            await Room.bulk_create(
                [Room(**room.model_dump()) for room in rooms],
                on_conflict=["room_id"],
                update_fields=room_fields,
                using_db=client,
            )
        if professions:
            await Profession.bulk_create(
                [Profession(**profession.model_dump()) for profession in professions],
                on_conflict=["id"],
                update_fields=profession_fields,
                using_db=client,
            )
        if prototypes:
            await upsert_prototypes(db, prototypes)  # a savepoint in this transaction
    return WorldLoadResult(
        rooms=len(rooms), professions=len(professions), prototypes=len(prototypes)
    )

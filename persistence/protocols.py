"""The repositories' public contracts, as Protocols.

Game code that depends on these (not on the concrete classes) can run against the real
repositories or against the in-memory twins of :mod:`persistence.testing` unchanged.
``tests/unit/test_protocols.py`` checks that both implementations satisfy every protocol.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from persistence.models.container import Container
from persistence.models.item import ItemInstance, ItemPrototype
from persistence.models.player import Player
from persistence.models.profession import Profession
from persistence.models.room import Room
from persistence.repositories.experience import ExperienceChange
from persistence.repositories.health import HealthChange
from persistence.repositories.item import PrototypeSpec, TransferResult
from persistence.repositories.room import RoomScene
from persistence.world import RoomSpec

__all__ = [
    "ContainerRepositoryProtocol",
    "ExperienceRepositoryProtocol",
    "HealthRepositoryProtocol",
    "ItemRepositoryProtocol",
    "PersistenceProtocol",
    "PlayerRepositoryProtocol",
    "ProfessionRepositoryProtocol",
    "RoomRepositoryProtocol",
]

PlayerId = uuid.UUID | str


class PlayerRepositoryProtocol(Protocol):
    """Players: reads, dirty-field saves, the room fix."""

    async def get_player_by_id(self, player_id: PlayerId) -> Player | None: ...
    async def require_player(self, player_id: PlayerId) -> Player: ...
    async def get_player_by_name(self, name: str) -> Player | None: ...
    async def get_player_by_user_id(self, user_id: PlayerId) -> Player | None: ...
    async def list_players(
        self, *, limit: int | None = None, offset: int = 0, include_deleted: bool = False
    ) -> list[Player]: ...
    async def get_players_by_user_id(self, user_id: PlayerId) -> list[Player]: ...
    async def get_active_players_by_user_id(self, user_id: PlayerId) -> list[Player]: ...
    async def soft_delete_player(self, player_id: PlayerId) -> bool: ...
    async def restore_player(self, player_id: PlayerId) -> Player: ...
    async def get_players_in_room(self, room_id: str) -> list[Player]: ...
    async def get_players_batch(self, player_ids: Sequence[PlayerId]) -> list[Player]: ...
    async def save_player(self, player: Player, *, overwrite: bool = False) -> None: ...
    async def save_players(self, players: Sequence[Player], *, overwrite: bool = False) -> None: ...
    async def delete_player(self, player_id: PlayerId) -> bool: ...
    async def update_player_last_active(
        self, player_id: PlayerId, timestamp: datetime | None = None
    ) -> datetime: ...
    async def validate_and_fix_player_room(self, player: Player) -> bool: ...
    async def recreate_player(self, player: Player) -> Player: ...
    async def get_or_create_player(
        self,
        name: str,
        *,
        user_id: PlayerId | None = None,
        room_id: str | None = None,
        profession_id: int | None = None,
    ) -> tuple[Player, bool]: ...
    async def move_player(self, player: Player, direction: str) -> Room: ...


class RoomRepositoryProtocol(Protocol):
    """Rooms from memory."""

    @property
    def loaded(self) -> bool: ...
    @property
    def size(self) -> int: ...
    async def load(self) -> int: ...
    async def reload(self) -> int: ...
    def get_room_by_id(self, room_id: str) -> Room | None: ...
    def list_rooms(self) -> list[Room]: ...
    async def read_scene(self, room_id: str) -> RoomScene: ...
    async def save_room(self, room: Room | RoomSpec | dict[str, Any]) -> None: ...
    async def save_rooms(self, rooms: Sequence[Room | RoomSpec | dict[str, Any]]) -> int: ...
    async def delete_room(self, room_id: str) -> bool: ...


class ProfessionRepositoryProtocol(Protocol):
    """Professions."""

    async def get_all_professions(
        self, *, include_unavailable: bool = False
    ) -> list[Profession]: ...
    async def get_profession_by_id(self, profession_id: int) -> Profession | None: ...


class HealthRepositoryProtocol(Protocol):
    """Atomic health changes."""

    async def update_player_health(
        self, player_id: PlayerId, delta: int, reason: str = "", *, op_id: str | None = None
    ) -> int: ...
    async def damage_player(
        self,
        player: Player,
        amount: int,
        damage_type: str = "physical",
        *,
        op_id: str | None = None,
    ) -> int: ...
    async def heal_player(
        self, player: Player, amount: int, *, op_id: str | None = None
    ) -> int: ...
    async def apply_health_deltas(
        self, deltas: Mapping[PlayerId, int], reason: str = "", *, op_id: str | None = None
    ) -> dict[uuid.UUID, int]: ...
    async def change_health(
        self,
        player: Player | PlayerId,
        delta: int,
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> HealthChange: ...
    async def change_health_batch(
        self, deltas: Mapping[PlayerId, int], reason: str = "", *, op_id: str | None = None
    ) -> dict[uuid.UUID, HealthChange]: ...


class ExperienceRepositoryProtocol(Protocol):
    """Atomic XP, levels and stat deltas."""

    async def update_player_xp(
        self, player_id: PlayerId, delta: int, reason: str = "", *, op_id: str | None = None
    ) -> ExperienceChange: ...
    async def gain_experience(
        self, player: Player, amount: int, source: str = "unknown", *, op_id: str | None = None
    ) -> ExperienceChange: ...
    async def apply_xp_deltas(
        self, deltas: Mapping[PlayerId, int], source: str = "", *, op_id: str | None = None
    ) -> dict[uuid.UUID, ExperienceChange]: ...
    async def update_player_stat_field(
        self,
        player_id: PlayerId,
        field_name: str,
        delta: int,
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> int: ...
    async def apply_stat_deltas(
        self,
        field_name: str,
        deltas: Mapping[PlayerId, int],
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> dict[uuid.UUID, int]: ...


class ItemRepositoryProtocol(Protocol):
    """Item instances and dupe-proof moves."""

    async def create_item_instance(
        self,
        item_instance_id: str,
        prototype_id: str,
        *,
        owner_type: str = "room",
        owner_id: str | uuid.UUID | None = None,
        **fields: Any,
    ) -> ItemInstance: ...
    async def ensure_item_instance(
        self,
        item_instance_id: str,
        prototype_id: str,
        *,
        owner_type: str = "room",
        owner_id: str | uuid.UUID | None = None,
        **fields: Any,
    ) -> ItemInstance: ...
    async def item_instance_exists(self, item_instance_id: str) -> bool: ...
    async def get_prototype(self, prototype_id: str) -> ItemPrototype | None: ...
    async def require_prototype(self, prototype_id: str) -> ItemPrototype: ...
    async def list_prototypes(self) -> list[ItemPrototype]: ...
    async def save_prototypes(
        self, prototypes: Sequence[ItemPrototype | PrototypeSpec | dict[str, Any]]
    ) -> int: ...
    async def get_item_instance(self, item_instance_id: str) -> ItemInstance | None: ...
    async def get_items_by_owner(
        self, owner_type: str, owner_id: str | uuid.UUID
    ) -> list[ItemInstance]: ...
    async def delete_item_instance(self, item_instance_id: str) -> bool: ...
    async def transfer_item(
        self,
        item_instance_id: str,
        *,
        from_owner: tuple[str, str | uuid.UUID],
        to_owner: tuple[str, str | uuid.UUID],
        position: int | None = None,
        op_id: str | None = None,
    ) -> TransferResult: ...
    async def transfer_items(
        self,
        item_instance_ids: Sequence[str],
        *,
        from_owner: tuple[str, str | uuid.UUID],
        to_owner: tuple[str, str | uuid.UUID],
        position: int | None = None,
        op_id: str | None = None,
    ) -> TransferResult: ...


class ContainerRepositoryProtocol(Protocol):
    """Containers with their items, corpses and decay."""

    async def create_container(
        self,
        source_type: str,
        *,
        owner_id: uuid.UUID | str | None = None,
        room_id: str | None = None,
        entity_id: uuid.UUID | str | None = None,
        lock_state: str = "unlocked",
        capacity_slots: int = 20,
        weight_limit: int | None = None,
        decay_at: datetime | None = None,
        allowed_roles: Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
        items: Sequence[Any] | None = None,
    ) -> Container: ...
    async def get_container(self, container_id: uuid.UUID | str) -> Container | None: ...
    async def require_container(self, container_id: uuid.UUID | str) -> Container: ...
    async def get_containers_by_room_id(self, room_id: str) -> list[Container]: ...
    async def get_containers_by_entity_id(self, entity_id: uuid.UUID | str) -> list[Container]: ...
    async def update_container(
        self,
        container_id: uuid.UUID | str,
        *,
        lock_state: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Container: ...
    async def get_decayed_containers(
        self, current_time: datetime | None = None
    ) -> list[Container]: ...
    async def delete_container(
        self, container_id: uuid.UUID | str, *, contents: Any = "drop"
    ) -> bool: ...
    async def remove_decayed_containers(
        self, current_time: datetime | None = None, *, contents: Any = "drop"
    ) -> list[uuid.UUID]: ...
    async def create_corpse(
        self,
        player_id: PlayerId,
        room_id: str | None = None,
        *,
        decay_after: timedelta = ...,
        grace_period: timedelta = ...,
        weight_limit: int | None = None,
        op_id: str | None = None,
    ) -> Container: ...
    async def create_corpse_for(
        self,
        death: HealthChange,
        *,
        room_id: str | None = None,
        decay_after: timedelta = ...,
        grace_period: timedelta = ...,
        weight_limit: int | None = None,
        op_id: str | None = None,
    ) -> Container: ...
    async def ensure_container(
        self, container_id: uuid.UUID | str, source_type: str, **options: Any
    ) -> tuple[Container, bool]: ...


class PersistenceProtocol(Protocol):
    """What a game server holds: the repositories and a unit of work."""

    @property
    def players(self) -> PlayerRepositoryProtocol: ...
    @property
    def rooms(self) -> RoomRepositoryProtocol: ...
    @property
    def professions(self) -> ProfessionRepositoryProtocol: ...
    @property
    def health(self) -> HealthRepositoryProtocol: ...
    @property
    def experience(self) -> ExperienceRepositoryProtocol: ...
    @property
    def items(self) -> ItemRepositoryProtocol: ...
    @property
    def containers(self) -> ContainerRepositoryProtocol: ...
    def transaction(self) -> AbstractAsyncContextManager[None]: ...

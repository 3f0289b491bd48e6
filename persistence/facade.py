"""AsyncPersistenceLayer: the one object a game server holds.

It composes the repositories over one Tortoise connection, owns their lifecycle
(``start``/``close``/``async with``) and offers ``transaction()``, which is Tortoise's own
transaction system (``in_transaction()`` inside or around it is the same transaction). The
layer either runs Tortoise itself (the embedded default, or ``MUD_DATABASE_URL``; the game's
apps can be registered on it) or attaches to a Tortoise the game initialised
(``connection="default"``). The design's delegating calls (``layer.get_player_by_id(...)``)
are one-line forwards, so code written against the design runs unchanged; new code can use
the repositories directly (``layer.players``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from persistence.audit import AuditReport, run_audit
from persistence.config import APP_LABEL, statement_timeout_ms
from persistence.db import Database
from persistence.errors import ConfigurationError, SchemaMismatchError, guard
from persistence.events import EventBus, NullEventBus
from persistence.metrics import LayerMetrics, MetricsSnapshot
from persistence.models.container import Container
from persistence.models.item import ItemInstance, ItemPrototype
from persistence.models.outbox import OutboxEvent
from persistence.models.player import Player
from persistence.models.profession import Profession
from persistence.models.room import Room
from persistence.notify import ROOMS_CHANNEL, Listener
from persistence.operations import purge, purge_cutoff, retention
from persistence.repositories.cache import RoomCache
from persistence.repositories.container import ContainerRepository, ContentsPolicy
from persistence.repositories.experience import ExperienceChange, ExperienceRepository
from persistence.repositories.health import HealthChange, HealthRepository
from persistence.repositories.item import ItemRepository, TransferResult
from persistence.repositories.player import PlayerRepository
from persistence.repositories.profession import ProfessionRepository
from persistence.repositories.room import RoomRepository, RoomScene
from persistence.retry import RetryPolicy
from persistence.schema import (
    AERICH_EXISTS_SQL,
    APPLIED_SQL,
    FLOOR_CONSTRAINT_SQL,
    HEALTH_FLOOR_CHECK,
    LEGACY_APP_LABEL,
    STATEMENT_TIMEOUT_SQL,
    floor_in,
    migration_files,
    run_migrations,
    schema_problem,
)
from persistence.settings import PersistenceSettings
from persistence.stats import check_amount
from persistence.validation import player_id_of
from persistence.world import WorldLoadResult, load_world

__all__ = ["AsyncPersistenceLayer"]

log = logging.getLogger(__name__)


class AsyncPersistenceLayer:
    """The persistence layer: repositories, lifecycle, transactions and events.

    Args:
        settings: Configuration; read from ``MUD_*`` environment variables when ``None``.
        connection: Attach to this connection of a Tortoise the game initialised (with
            :func:`persistence.tortoise_app` in its config): the layer opens no pool and
            neither initialises nor closes Tortoise. ``None``: the layer runs Tortoise itself.
        apps: The game's own Tortoise apps (``{"game": {"models": ["game.models"]}}``),
            registered on the layer's connection when it runs Tortoise itself, so one pool and
            one transaction system serve both.
        event_bus: Receives events after their writes commit; events are dropped when ``None``.
        retry_policy: Overrides the retry policy the settings describe.
        migrate: Apply pending migrations in :meth:`start`. Defaults to true for the embedded
            throwaway database (which starts empty) and false otherwise.
    """

    def __init__(
        self,
        settings: PersistenceSettings | None = None,
        *,
        connection: str | None = None,
        apps: Mapping[str, Mapping[str, Any]] | None = None,
        event_bus: EventBus | None = None,
        retry_policy: RetryPolicy | None = None,
        migrate: bool | None = None,
    ) -> None:
        self.settings = settings or PersistenceSettings()
        self.event_bus: EventBus = event_bus if event_bus is not None else NullEventBus()
        self.db = Database(self.settings, connection=connection, apps=apps)
        if migrate and connection is not None:
            raise ConfigurationError(
                "migrate=True needs the layer to run Tortoise itself; attached to the game's "
                "connection, run `python -m persistence migrate` (or aerich) before starting"
            )
        self._migrate = migrate
        self._metrics = LayerMetrics()
        retry = (retry_policy or RetryPolicy.from_settings(self.settings)).observed(
            self._metrics.retried
        )
        self._listener: Listener | None = None
        self._room_cache = RoomCache()
        """The room cache the repositories share (the design's ``layer._room_cache``)."""
        common: dict[str, Any] = {
            "db": self.db,
            "event_bus": self.event_bus,
            "settings": self.settings,
            "retry_policy": retry,
            "metrics": self._metrics,
        }
        self.rooms = RoomRepository(self._room_cache, **common)
        self.players = PlayerRepository(self._room_cache, **common)
        self.professions = ProfessionRepository(**common)
        self.health = HealthRepository(**common)
        self.experience = ExperienceRepository(**common)
        self.items = ItemRepository(**common)
        self.containers = ContainerRepository(**common)

    async def start(self) -> None:
        """Connect, check the schema, load the room cache; log what was found at INFO.

        Without a URL the embedded server starts first.

        Raises:
            SchemaMismatchError: The database has no schema, an older or a newer one.
            ConfigurationError: Rooms exist but the fallback room is not one of them.
            DatabaseUnavailableError: The database cannot be reached.
        """
        migrate = self._migrate
        direct = self.settings.migration_database_url
        if migrate and direct:
            # Before the pool exists: connections a pooler opens from now on get the
            # database's settings that the migration step sets (the statement timeout).
            self._log_applied(await run_migrations(direct, self.settings))
        await self.db.start()
        try:
            if migrate is None:
                migrate = not self.db.attached and not self.settings.database_url
            if migrate and not direct:
                self._log_applied(await run_migrations(self.db.direct_url, self.settings))
            history = await self._check_schema()
            if self.settings.pooler != "none":
                await self._check_statement_timeout()
            loading = time.perf_counter()
            rooms = await self.rooms.load()
            loaded_ms = (time.perf_counter() - loading) * 1000
            self._check_fallback_room()
            if self.settings.room_notifications:
                await self._listen_for_rooms()
        except BaseException:
            if self._listener is not None:
                await self._listener.stop()
                self._listener = None
            await self.db.close()
            raise
        pool = self.db.pool_stats()
        log.info(
            "mud-persistence started on %s (%s): pool of %s (max %s), %d migrations applied "
            "(up to %s), %d rooms cached in %.1f ms",
            self.db.describe(),
            "attached to the game's Tortoise" if self.db.attached else "own Tortoise",
            pool.size,
            pool.max_size,
            len(history),
            max(history, key=lambda name: int(name.split("_", 1)[0])) if history else "none",
            rooms,
            loaded_ms,
        )

    async def audit(self) -> AuditReport:
        """Check the invariants the layer keeps, on the database as it is (read-only).

        Every item exists once and its owner exists, the ledger replays to every item's
        owner, no container is over capacity, every stats document is within its bounds and
        none is corrupt. ``report.ok``, or each ``report.findings``.
        """
        return await run_audit(self.db, health_floor=self.settings.health_floor)

    def metrics(self) -> MetricsSnapshot:
        """Counters to export: calls and errors per operation, retries, the pool, the cache."""
        return self._metrics.snapshot(self.db.pool_stats(), self.rooms.size)

    async def _check_schema(self) -> list[str]:
        """Refuse to start on a schema that cannot hold this layer's writes.

        Returns:
            The package's migrations applied in the database.

        Raises:
            SchemaMismatchError: No schema, an older one, or a newer one: the message says
                what is there, what is expected, and the command to run.
            ConfigurationError: The database's health floor is not ``MUD_HEALTH_FLOOR``.
        """
        where = self.db.describe()
        async with self.db.call() as client:
            present = (await self.db.fetch(client, AERICH_EXISTS_SQL, []))[0]["present"]
            history = (
                await self.db.fetch(client, APPLIED_SQL, [[APP_LABEL, LEGACY_APP_LABEL]])
                if present
                else []
            )
            rows = await self.db.fetch(client, FLOOR_CONSTRAINT_SQL, [HEALTH_FLOOR_CHECK])
        applied = [(r["version"], r["app"]) for r in history]
        if self.settings.check_schema:
            problem = schema_problem(where, applied)
            if problem is not None:
                raise SchemaMismatchError(problem)
        stored = floor_in(rows[0][0]) if rows else None
        floor = self.settings.health_floor
        if stored is not None and stored != floor:
            raise ConfigurationError(
                f"the database keeps current_health >= {stored}, but MUD_HEALTH_FLOOR is {floor}: "
                f"run `MUD_HEALTH_FLOOR={floor} python -m persistence migrate` (it sets the "
                "database's floor), or use the floor the database has"
            )
        # A game's own aerich app may be labelled like the legacy one: its rows are not ours.
        ours = set(migration_files())
        return [v for v, app in applied if app == APP_LABEL or v in ours]

    @staticmethod
    def _log_applied(applied: list[str]) -> None:
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))

    async def _check_statement_timeout(self) -> None:
        """Through a pooler the server must enforce the timeout by itself; check it does.

        Raises:
            ConfigurationError: The server's statement_timeout is off or longer than
                ``MUD_STATEMENT_TIMEOUT``, with the command that sets it.
        """
        async with self.db.call() as client:
            rows = await self.db.fetch(client, STATEMENT_TIMEOUT_SQL, [])
        enforced, wanted = int(rows[0][0]), statement_timeout_ms(self.settings)
        if enforced == 0 or enforced > wanted:
            raise ConfigurationError(  # safe-sql: a message naming a command, never sent
                f"through the pooler the server's statement_timeout is {enforced} ms, but "
                f"MUD_STATEMENT_TIMEOUT is {wanted} ms and no session setting can be sent: "
                "run `python -m persistence migrate` (it sets the database's default) and "
                "reconnect the pooler's server connections (PgBouncer: RECONNECT), or "
                f"ALTER ROLE <role> SET statement_timeout = {wanted}"
            )

    def _check_fallback_room(self) -> None:
        fallback = self.settings.fallback_room_id
        if self.rooms.size and self.rooms.get_room_by_id(fallback) is None:
            raise ConfigurationError(
                f"the fallback room {fallback!r} (MUD_FALLBACK_ROOM_ID) is not among the "
                f"{self.rooms.size} rooms in the database"
            )

    async def _listen_for_rooms(self) -> None:
        """Start the room cache listener (``MUD_ROOM_NOTIFICATIONS``)."""
        url = self.db.listen_url()
        if url is None:
            log.warning(
                "room notifications off: no direct URL for LISTEN (through a pooler set "
                "MUD_LISTEN_DATABASE_URL or MUD_MIGRATION_DATABASE_URL)"
            )
            return
        self._listener = Listener(
            url,
            ROOMS_CHANNEL,
            self.rooms.apply_notification,
            self.rooms.reload,
            application_name=f"{self.settings.application_name}-listener",
        )
        await self._listener.start(wait=self.settings.pool_acquire_timeout)

    async def close(self) -> None:
        """Release the pool and stop an embedded server; attached, Tortoise stays as it is."""
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        await self.db.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """The database URL in use (the embedded server's when none was configured)."""
        return self.db.url

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run everything in the block as one PostgreSQL transaction: Tortoise's own.

        Repository calls, Tortoise querysets and the game's own model queries inside the block
        commit or roll back together; a Tortoise ``in_transaction()`` around or inside it is
        the same transaction. An exception rolls everything back and propagates. Events are
        published after the outermost COMMIT, never after a rollback. Blocks nest as
        savepoints. Each repository call inside runs in its own savepoint, so a caller may
        catch a call's error and carry on (see ``docs/repositories.md``).
        """
        async with self.db.transaction():
            yield

    async def purge_operations(self, *, older_than: timedelta = timedelta(days=1)) -> int:
        """Forget op_id records older than ``older_than``; returns how many were deleted.

        Keep them longer than any caller may retry an operation: a repeat of a purged op_id
        applies again.
        """
        age = retention(older_than)
        async with self.db.call() as client, guard():
            return await purge(client, age)

    async def purge_events(self, *, older_than: timedelta = timedelta(days=7)) -> int:
        """Delete outbox events (``PostgresEventBus``) older than ``older_than``; how many.

        Their deliveries go with them. A subscriber away for longer misses them.
        """
        cutoff = purge_cutoff(older_than)
        if cutoff is None:
            return 0  # older than any representable time: nothing is
        async with self.db.call() as client, guard():
            deleted: int = await OutboxEvent.filter(created_at__lt=cutoff).using_db(client).delete()
        return deleted

    async def reload_rooms(self) -> int:
        """Re-read the room cache (after reseeding); returns the number of rooms.

        The other processes' layers on the database reload theirs too (a notification).
        """
        size = await self.rooms.reload()
        self._check_fallback_room()
        if self.settings.room_notifications:
            await self.rooms.announce_reload()
        return size

    async def seed_world(self, folder: Path | None = None) -> WorldLoadResult:
        """Load a world folder (the sample world by default) and refresh the room cache."""
        result = await load_world(self.db, folder)
        await self.reload_rooms()
        return result

    # The design's delegating calls. Thin by intent: the repositories hold the behaviour.

    async def get_player_by_id(self, player_id: uuid.UUID | str) -> Player | None:
        """See :meth:`PlayerRepository.get_player_by_id`."""
        return await self.players.get_player_by_id(player_id)

    async def get_player_by_name(self, name: str) -> Player | None:
        """See :meth:`PlayerRepository.get_player_by_name`."""
        return await self.players.get_player_by_name(name)

    async def get_player_by_user_id(self, user_id: uuid.UUID | str) -> Player | None:
        """See :meth:`PlayerRepository.get_player_by_user_id`."""
        return await self.players.get_player_by_user_id(user_id)

    async def save_player(self, player: Player, *, overwrite: bool = False) -> None:
        """See :meth:`PlayerRepository.save_player`."""
        await self.players.save_player(player, overwrite=overwrite)

    async def save_players(self, players: Sequence[Player], *, overwrite: bool = False) -> None:
        """See :meth:`PlayerRepository.save_players`."""
        await self.players.save_players(players, overwrite=overwrite)

    async def delete_player(self, player_id: uuid.UUID | str) -> bool:
        """See :meth:`PlayerRepository.delete_player`."""
        return await self.players.delete_player(player_id)

    async def list_players(self, *, include_deleted: bool = False) -> list[Player]:
        """See :meth:`PlayerRepository.list_players`."""
        return await self.players.list_players(include_deleted=include_deleted)

    async def get_players_by_user_id(self, user_id: uuid.UUID | str) -> list[Player]:
        """See :meth:`PlayerRepository.get_players_by_user_id`."""
        return await self.players.get_players_by_user_id(user_id)

    async def get_active_players_by_user_id(self, user_id: uuid.UUID | str) -> list[Player]:
        """See :meth:`PlayerRepository.get_active_players_by_user_id`."""
        return await self.players.get_active_players_by_user_id(user_id)

    async def soft_delete_player(self, player_id: uuid.UUID | str) -> bool:
        """See :meth:`PlayerRepository.soft_delete_player`."""
        return await self.players.soft_delete_player(player_id)

    async def restore_player(self, player_id: uuid.UUID | str) -> Player:
        """See :meth:`PlayerRepository.restore_player`."""
        return await self.players.restore_player(player_id)

    async def get_players_in_room(self, room_id: str) -> list[Player]:
        """See :meth:`PlayerRepository.get_players_in_room`."""
        return await self.players.get_players_in_room(room_id)

    async def get_players_batch(self, player_ids: Sequence[uuid.UUID | str]) -> list[Player]:
        """See :meth:`PlayerRepository.get_players_batch`."""
        return await self.players.get_players_batch(player_ids)

    async def update_player_last_active(
        self, player_id: uuid.UUID | str, timestamp: datetime | None = None
    ) -> datetime:
        """See :meth:`PlayerRepository.update_player_last_active`."""
        return await self.players.update_player_last_active(player_id, timestamp)

    async def validate_and_fix_player_room(self, player: Player) -> bool:
        """See :meth:`PlayerRepository.validate_and_fix_player_room`."""
        return await self.players.validate_and_fix_player_room(player)

    async def get_or_create_player(self, name: str, **options: Any) -> tuple[Player, bool]:
        """See :meth:`PlayerRepository.get_or_create_player`."""
        return await self.players.get_or_create_player(name, **options)

    async def move_player(self, player: Player, direction: str) -> Room:
        """See :meth:`PlayerRepository.move_player`."""
        return await self.players.move_player(player, direction)

    async def read_scene(self, room_id: str) -> RoomScene:
        """See :meth:`RoomRepository.read_scene`."""
        return await self.rooms.read_scene(room_id)

    async def save_room(self, room: Room | dict[str, Any]) -> None:
        """See :meth:`RoomRepository.save_room`."""
        await self.rooms.save_room(room)

    async def save_rooms(self, rooms: Sequence[Room | dict[str, Any]]) -> int:
        """See :meth:`RoomRepository.save_rooms`."""
        return await self.rooms.save_rooms(rooms)

    async def delete_room(self, room_id: str) -> bool:
        """See :meth:`RoomRepository.delete_room`."""
        return await self.rooms.delete_room(room_id)

    def get_room_by_id(self, room_id: str) -> Room | None:
        """See :meth:`RoomRepository.get_room_by_id` (memory only)."""
        return self.rooms.get_room_by_id(room_id)

    def list_rooms(self) -> list[Room]:
        """See :meth:`RoomRepository.list_rooms` (memory only)."""
        return self.rooms.list_rooms()

    async def get_professions(self) -> list[Profession]:
        """Available professions; see :meth:`ProfessionRepository.get_all_professions`."""
        return await self.professions.get_all_professions()

    async def get_all_professions(self, *, include_unavailable: bool = False) -> list[Profession]:
        """See :meth:`ProfessionRepository.get_all_professions`."""
        return await self.professions.get_all_professions(include_unavailable=include_unavailable)

    async def get_profession_by_id(self, profession_id: int) -> Profession | None:
        """See :meth:`ProfessionRepository.get_profession_by_id`."""
        return await self.professions.get_profession_by_id(profession_id)

    async def damage_player(
        self,
        player: Player,
        amount: int,
        damage_type: str = "physical",
        *,
        op_id: str | None = None,
    ) -> int:
        """See :meth:`HealthRepository.damage_player`."""
        return await self.health.damage_player(player, amount, damage_type, op_id=op_id)

    async def heal_player(self, player: Player, amount: int, *, op_id: str | None = None) -> int:
        """See :meth:`HealthRepository.heal_player`."""
        return await self.health.heal_player(player, amount, op_id=op_id)

    async def update_player_health(
        self, player_id: uuid.UUID | str, delta: int, reason: str = "", *, op_id: str | None = None
    ) -> int:
        """See :meth:`HealthRepository.update_player_health`."""
        return await self.health.update_player_health(player_id, delta, reason, op_id=op_id)

    async def change_health(
        self,
        player: Player | uuid.UUID | str,
        delta: int,
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> HealthChange:
        """See :meth:`HealthRepository.change_health`."""
        return await self.health.change_health(player, delta, reason, op_id=op_id)

    async def create_corpse_for(self, death: HealthChange, **options: Any) -> Container:
        """See :meth:`ContainerRepository.create_corpse_for`."""
        return await self.containers.create_corpse_for(death, **options)

    async def ensure_container(
        self, container_id: uuid.UUID | str, source_type: str, **options: Any
    ) -> tuple[Container, bool]:
        """See :meth:`ContainerRepository.ensure_container`."""
        return await self.containers.ensure_container(container_id, source_type, **options)

    async def gain_experience(
        self, player: Player, amount: int, source: str = "unknown", *, op_id: str | None = None
    ) -> ExperienceChange:
        """See :meth:`ExperienceRepository.gain_experience`."""
        return await self.experience.gain_experience(player, amount, source, op_id=op_id)

    async def update_player_xp(
        self, player_id: uuid.UUID | str, delta: int, reason: str = "", *, op_id: str | None = None
    ) -> ExperienceChange:
        """See :meth:`ExperienceRepository.update_player_xp`."""
        return await self.experience.update_player_xp(player_id, delta, reason, op_id=op_id)

    async def update_player_stat_field(
        self,
        player_id: uuid.UUID | str,
        field_name: str,
        delta: int,
        reason: str = "",
        *,
        op_id: str | None = None,
    ) -> int:
        """See :meth:`ExperienceRepository.update_player_stat_field`."""
        return await self.experience.update_player_stat_field(
            player_id, field_name, delta, reason, op_id=op_id
        )

    async def apply_lucidity_loss(
        self, player: Player, amount: int, source: str = "unknown"
    ) -> int:
        """Lower lucidity by ``amount`` (the upstream facade's helper)."""
        return await self.experience.update_player_stat_field(
            player_id_of(player), "lucidity", -check_amount(amount), f"{source}: lucidity loss"
        )

    async def apply_fear(self, player: Player, amount: int, source: str = "unknown") -> int:
        """Raise fear by ``amount``."""
        return await self.experience.update_player_stat_field(
            player_id_of(player), "fear", check_amount(amount), f"{source}: fear"
        )

    async def apply_corruption(self, player: Player, amount: int, source: str = "unknown") -> int:
        """Raise corruption by ``amount``."""
        return await self.experience.update_player_stat_field(
            player_id_of(player), "corruption", check_amount(amount), f"{source}: corruption"
        )

    async def gain_occult_knowledge(
        self, player: Player, amount: int, source: str = "unknown"
    ) -> int:
        """Raise occult_knowledge by ``amount``."""
        return await self.experience.update_player_stat_field(
            player_id_of(player), "occult_knowledge", check_amount(amount), f"{source}: occult"
        )

    async def create_container(self, source_type: str, **options: Any) -> Container:
        """See :meth:`ContainerRepository.create_container`."""
        return await self.containers.create_container(source_type, **options)

    async def get_container(self, container_id: uuid.UUID | str) -> Container | None:
        """See :meth:`ContainerRepository.get_container`."""
        return await self.containers.get_container(container_id)

    async def get_containers_by_room_id(self, room_id: str) -> list[Container]:
        """See :meth:`ContainerRepository.get_containers_by_room_id`."""
        return await self.containers.get_containers_by_room_id(room_id)

    async def get_containers_by_entity_id(self, entity_id: uuid.UUID | str) -> list[Container]:
        """See :meth:`ContainerRepository.get_containers_by_entity_id`."""
        return await self.containers.get_containers_by_entity_id(entity_id)

    async def update_container(
        self,
        container_id: uuid.UUID | str,
        *,
        lock_state: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Container:
        """See :meth:`ContainerRepository.update_container`."""
        return await self.containers.update_container(
            container_id, lock_state=lock_state, metadata=metadata
        )

    async def get_decayed_containers(self, current_time: datetime | None = None) -> list[Container]:
        """See :meth:`ContainerRepository.get_decayed_containers`."""
        return await self.containers.get_decayed_containers(current_time)

    async def delete_container(
        self, container_id: uuid.UUID | str, *, contents: ContentsPolicy = "drop"
    ) -> bool:
        """See :meth:`ContainerRepository.delete_container`."""
        return await self.containers.delete_container(container_id, contents=contents)

    async def create_item_instance(
        self, item_instance_id: str, prototype_id: str, **options: Any
    ) -> ItemInstance:
        """See :meth:`ItemRepository.create_item_instance`."""
        return await self.items.create_item_instance(item_instance_id, prototype_id, **options)

    async def ensure_item_instance(
        self, item_instance_id: str, prototype_id: str, **options: Any
    ) -> ItemInstance:
        """See :meth:`ItemRepository.ensure_item_instance`."""
        return await self.items.ensure_item_instance(item_instance_id, prototype_id, **options)

    async def get_prototype(self, prototype_id: str) -> ItemPrototype | None:
        """See :meth:`ItemRepository.get_prototype`."""
        return await self.items.get_prototype(prototype_id)

    async def list_prototypes(self) -> list[ItemPrototype]:
        """See :meth:`ItemRepository.list_prototypes`."""
        return await self.items.list_prototypes()

    async def item_instance_exists(self, item_instance_id: str) -> bool:
        """See :meth:`ItemRepository.item_instance_exists`."""
        return await self.items.item_instance_exists(item_instance_id)

    async def transfer_item(self, item_instance_id: str, **options: Any) -> TransferResult:
        """See :meth:`ItemRepository.transfer_item`."""
        return await self.items.transfer_item(item_instance_id, **options)

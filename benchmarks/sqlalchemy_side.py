"""The SQLAlchemy side: the same work as the layer on SQLAlchemy 2 async, the design's origin.

``create_async_engine("postgresql+asyncpg://...")`` with a pool of 10, an
``async_sessionmaker(expire_on_commit=False)`` and one session per operation, on ORM classes
declared here for the existing tables. Atomic stat deltas are ``text()`` statements with the
same ``jsonb_set`` SQL as the asyncpg side (what the original system did); everything else
is ORM code. Needs the ``bench`` extra (``pip install -e ".[bench]"``): importing this module
raises ``ImportError`` without SQLAlchemy, and the benchmark then skips the column.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import greenlet  # noqa: F401 - SQLAlchemy's asyncio support needs it: fail at import
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    String,
    Text,
    TextClause,
    Uuid,
    and_,
    cast,
    func,
    literal_column,
    not_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    foreign,
    joinedload,
    mapped_column,
    relationship,
)
from sqlalchemy.orm.attributes import set_committed_value

from benchmarks.cases import RAW_FEAR, RAW_HEALTH, RAW_HEALTH_BATCH, RAW_XP
from benchmarks.harness import Work, concurrently
from persistence.config import database_credentials
from persistence.repositories.player import name_key

# -- the ORM classes, mapping the tables the migrations create --------------------------


# Inlined, not bound: the unique index is on NAME_KEY_SQL, final sigma translated by these
# two constants, and only the same expression uses it.
_FINAL_SIGMA = literal_column("'\u03c2'")
_SIGMA = literal_column("'\u03c3'")


class Base(DeclarativeBase):
    pass


class SAPlayer(Base):
    __tablename__ = "players"

    player_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(50))
    current_room_id: Mapped[str] = mapped_column(String(255))
    respawn_room_id: Mapped[str | None] = mapped_column(String(255))
    profession_id: Mapped[int | None] = mapped_column(Integer)  # FK to professions.id
    stats: Mapped[dict[str, Any]] = mapped_column(JSONB)
    experience_points: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    is_admin: Mapped[bool] = mapped_column(Boolean)
    is_deleted: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_active: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SARoom(Base):
    __tablename__ = "rooms"

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    plane: Mapped[str] = mapped_column(String(64))
    zone: Mapped[str] = mapped_column(String(64))
    sub_zone: Mapped[str] = mapped_column(String(64))
    exits: Mapped[dict[str, str]] = mapped_column(JSONB)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB)


class SAItem(Base):
    __tablename__ = "item_instances"

    item_instance_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    prototype_id: Mapped[str] = mapped_column(String(120))
    owner_type: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str] = mapped_column(String(255))
    position: Mapped[int | None] = mapped_column(Integer)
    location_context: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer)
    condition: Mapped[int | None] = mapped_column(Integer)
    flags_override: Mapped[list[str]] = mapped_column(JSONB)
    binding_state: Mapped[str | None] = mapped_column(String(32))
    attunement_state: Mapped[dict[str, Any]] = mapped_column(JSONB)
    custom_name: Mapped[str | None] = mapped_column(String(255))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    origin_source: Mapped[str | None] = mapped_column(String(64))
    origin_metadata: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SAContainer(Base):
    __tablename__ = "containers"

    container_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    source_type: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    room_id: Mapped[str | None] = mapped_column(String(255))
    entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    lock_state: Mapped[str] = mapped_column(String(16))
    capacity_slots: Mapped[int] = mapped_column(Integer)
    weight_limit: Mapped[int | None] = mapped_column(Integer)
    decay_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    allowed_roles: Mapped[list[str]] = mapped_column(JSONB)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    # Items name their container as ("container", container_id as text): no foreign key, so
    # a read-only relationship with the join spelled out, in slot order (NULL slots last).
    items: Mapped[list[SAItem]] = relationship(
        SAItem,
        primaryjoin=lambda: and_(
            SAItem.owner_type == "container",
            foreign(SAItem.owner_id) == cast(SAContainer.container_id, Text),
        ),
        order_by=lambda: (
            SAItem.position.asc().nulls_last(),
            SAItem.created_at,
            SAItem.item_instance_id,
        ),
        viewonly=True,
        lazy="raise",
    )


class SAMovement(Base):
    __tablename__ = "item_movements"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    item_instance_id: Mapped[str] = mapped_column(String(64))
    from_owner_type: Mapped[str] = mapped_column(String(16))
    from_owner_id: Mapped[str] = mapped_column(String(255))
    to_owner_type: Mapped[str] = mapped_column(String(16))
    to_owner_id: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(32))
    op_id: Mapped[str | None] = mapped_column(String(128))
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# -- the asyncpg side's atomic statements, with SQLAlchemy's named binds ----------------


def named(sql: str, *names: str) -> TextClause:
    """``sql`` with ``$n`` as ``:name``, and ``$n::type`` as ``CAST(:name AS type)``.

    (``:name::type`` would not do: SQLAlchemy reads it as the bind ``:nam`` followed by text.)
    """

    def bind(match: re.Match[str]) -> str:
        name = names[int(match.group(1)) - 1]
        return f"CAST(:{name} AS {match.group(2)})" if match.group(2) else f":{name}"

    return text(re.sub(r"\$(\d+)(?:::(\w+(?:\[\])?))?", bind, sql))


SA_HEALTH = named(RAW_HEALTH, "player_id", "delta")
SA_HEALTH_BATCH = named(RAW_HEALTH_BATCH, "ids", "deltas")
SA_FEAR = named(RAW_FEAR, "player_id", "delta")
SA_XP = named(RAW_XP, "player_id", "amount")


def _unnamed() -> str:
    """PostgreSQL's unnamed prepared statement (see :meth:`SqlAlchemySide.start`)."""
    return ""


class SqlAlchemySide:
    """Work functions for every case, on an async engine and sessions of their own."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.session = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    async def start(
        cls, url: str, pool_size: int = 10, connect_args: dict[str, Any] | None = None
    ) -> SqlAlchemySide:
        """An engine on the database of ``url`` (the layer's URL forms are accepted)."""
        creds = database_credentials(url)
        engine_url = URL.create(
            "postgresql+asyncpg",
            username=creds["user"],
            password=creds["password"],
            host=creds["host"],
            port=creds["port"],
            database=creds["database"],
        )
        args = dict(connect_args or {})
        if args.get("statement_cache_size") == 0:
            # Through a transaction pooler: no named prepared statements. SQLAlchemy's asyncpg
            # dialect prepares every statement with Connection.prepare(name=...) and then
            # runs it; its documented PgBouncer recipe (unique names) still leaves a named
            # statement on whichever server connection it reached. An empty name is
            # PostgreSQL's unnamed statement, which the next statement replaces: safe here
            # because the dialect prepares and runs it inside the transaction it always
            # opens, on one server connection, and asyncpg re-prepares an unnamed statement
            # its type introspection displaced. Not cached, as it does not outlive the call.
            engine_url = engine_url.update_query_dict({"prepared_statement_cache_size": "0"})
            args["prepared_statement_name_func"] = _unnamed
        engine = create_async_engine(
            engine_url, pool_size=pool_size, max_overflow=0, connect_args=args
        )
        return cls(engine)

    async def close(self) -> None:
        """Close the engine's pool."""
        await self.engine.dispose()

    async def load_players(self, ids: list[uuid.UUID]) -> list[SAPlayer]:
        """Objects of these players (detached after the session), in the order given."""
        async with self.session() as session:
            rows = await session.scalars(select(SAPlayer).where(SAPlayer.player_id.in_(ids)))
            by_id = {p.player_id: p for p in rows}
        return [by_id[pid] for pid in ids]

    # -- reads -----------------------------------------------------------------------

    def by_id(self, ids: list[uuid.UUID]) -> Work:
        async def work(k: int) -> None:
            for i in range(k):
                async with self.session() as session:
                    found = await session.get(SAPlayer, ids[i % len(ids)])
                    assert found is not None

        return work

    def by_name(self, names: list[str]) -> Work:
        async def work(k: int) -> None:
            for i in range(k):
                async with self.session() as session:
                    query = select(SAPlayer).where(  # the unique index's expression
                        func.lower(func.translate(SAPlayer.name, _FINAL_SIGMA, _SIGMA))
                        == name_key(names[i % len(names)]),
                        not_(SAPlayer.is_deleted),
                    )
                    assert (await session.scalars(query)).first() is not None

        return work

    def in_room(self, room_id: str) -> Work:
        async def work(k: int) -> None:
            for _ in range(k):
                async with self.session() as session:
                    query = (
                        select(SAPlayer)
                        .where(SAPlayer.current_room_id == room_id, not_(SAPlayer.is_deleted))
                        .order_by(func.lower(SAPlayer.name))
                    )
                    (await session.scalars(query)).all()

        return work

    def batch(self, ids: list[uuid.UUID]) -> Work:
        async def work(k: int) -> None:
            for _ in range(k):
                async with self.session() as session:
                    rows = await session.scalars(
                        select(SAPlayer).where(SAPlayer.player_id.in_(ids))
                    )
                    by_id = {p.player_id: p for p in rows}
                [by_id[pid] for pid in dict.fromkeys(ids) if pid in by_id]

        return work

    def container(self, container_id: uuid.UUID) -> Work:
        async def work(k: int) -> None:
            for _ in range(k):
                async with self.session() as session:
                    query = (
                        select(SAContainer)
                        .options(joinedload(SAContainer.items))
                        .where(SAContainer.container_id == container_id)
                    )
                    box = (await session.scalars(query)).unique().one()
                    assert len(box.items) == 20

        return work

    def room(self, room_id: str) -> Work:
        async def work(k: int) -> None:
            for _ in range(max(1, k // 100)):
                async with self.session() as session:
                    assert await session.get(SARoom, room_id) is not None

        return work

    # -- saves -----------------------------------------------------------------------

    def save_player(self, player: SAPlayer, rooms: list[str]) -> Work:
        """Compare-and-set of the one changed column: an UPDATE ... WHERE that must write."""

        async def work(k: int) -> None:
            for i in range(k):
                old = player.current_room_id
                new = rooms[i % 2] if rooms[i % 2] != old else rooms[(i + 1) % 2]
                async with self.session() as session, session.begin():
                    result = await session.execute(
                        update(SAPlayer)
                        .where(SAPlayer.player_id == player.player_id)
                        .where(SAPlayer.current_room_id == old)
                        .values(current_room_id=new)
                    )
                    assert result.rowcount == 1, "the SQLAlchemy side must really write"
                set_committed_value(player, "current_room_id", new)

        return work

    def save_players(self, players: list[SAPlayer], rooms: tuple[str, str]) -> Work:
        """Two fields changed on each loaded (detached) player; the unit of work flushes them."""
        counter = {"i": 0}

        async def work(k: int) -> None:
            for _ in range(k):
                counter["i"] += 1
                for p in players:
                    p.current_room_id = rooms[counter["i"] % 2]
                    p.stats = {**p.stats, "strength": 1 + counter["i"] % 100}
                async with self.session() as session, session.begin():
                    session.add_all(players)

        return work

    # -- atomic deltas ---------------------------------------------------------------

    async def _health(self, player_id: uuid.UUID, delta: int) -> Any:
        async with self.session() as session, session.begin():
            result = await session.execute(SA_HEALTH, {"player_id": player_id, "delta": delta})
            return result.one()

    def health(self, ids: list[uuid.UUID]) -> Work:
        async def work(k: int) -> None:
            for i in range(k):
                await self._health(ids[i % len(ids)], -1 if i % 2 else 1)

        return work

    def hot_row(self, player_id: uuid.UUID) -> Work:
        async def work(k: int) -> None:
            await concurrently(k, lambda i: self._health(player_id, -1 if i % 2 else 1))

        return work

    def health_batch(self, ids: list[uuid.UUID]) -> Work:
        async def work(k: int) -> None:
            for i in range(k):
                deltas = [-1 if i % 2 else 1] * len(ids)
                async with self.session() as session, session.begin():
                    result = await session.execute(SA_HEALTH_BATCH, {"ids": ids, "deltas": deltas})
                    rows = result.all()
                assert len(rows) == len(ids), "all or nothing: a player is missing"

        return work

    def stat(self, ids: list[uuid.UUID]) -> Work:
        async def work(k: int) -> None:
            for i in range(k):
                params = {"player_id": ids[i % len(ids)], "delta": 1 if i % 2 else -1}
                async with self.session() as session, session.begin():
                    (await session.execute(SA_FEAR, params)).one()

        return work

    def xp(self, players: list[SAPlayer]) -> Work:
        """The XP statement; the caller's object gets the new values."""

        async def work(k: int) -> None:
            for i in range(k):
                player = players[i % len(players)]
                params = {"player_id": player.player_id, "amount": 3}
                async with self.session() as session, session.begin():
                    row = (await session.execute(SA_XP, params)).one()
                set_committed_value(player, "experience_points", row.new_xp)
                set_committed_value(player, "level", row.new_level)

        return work

    # -- transfer --------------------------------------------------------------------

    async def _transfer(
        self, item_id: str, source: tuple[str, str], target: tuple[str, str]
    ) -> None:
        async with self.session() as session, session.begin():
            next_position = None
            for cid in sorted(o[1] for o in (source, target) if o[0] == "container"):
                box = await session.get(SAContainer, uuid.UUID(cid), with_for_update=True)
                assert box is not None
                used, top = (
                    await session.execute(
                        select(func.count(), func.max(SAItem.position)).where(
                            SAItem.owner_type == "container", SAItem.owner_id == cid
                        )
                    )
                ).one()
                assert box.lock_state == "unlocked"
                if target == ("container", cid):
                    assert used < box.capacity_slots
                    next_position = 0 if top is None else top + 1
            if target[0] == "player":
                found = await session.scalar(
                    select(SAPlayer.player_id).where(SAPlayer.player_id == uuid.UUID(target[1]))
                )
                assert found is not None
            item = await session.get(SAItem, item_id, with_for_update=True)
            assert item is not None
            assert (item.owner_type, item.owner_id) == source
            item.owner_type, item.owner_id = target
            item.position = next_position
            item.updated_at = datetime.now(UTC)
            session.add(
                SAMovement(
                    item_instance_id=item_id,
                    from_owner_type=source[0],
                    from_owner_id=source[1],
                    to_owner_type=target[0],
                    to_owner_id=target[1],
                    reason="transfer",
                )
            )

    def transfer(
        self,
        item_id: str,
        where: dict[str, tuple[str, str]],
        a: tuple[str, str],
        b: tuple[str, str],
    ) -> Work:
        async def work(k: int) -> None:
            for _ in range(k):
                target = b if where["at"] == a else a
                await self._transfer(item_id, where["at"], target)
                where["at"] = target

        return work

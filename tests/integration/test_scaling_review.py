"""A hostile review of the scaling features (issue 15), on real PostgreSQL.

Each test failed on the code before its fix: the grant command and the other commands end
in a typed one-line error (no traceback, no password) and refuse names that are not one
role; the outbox subscriber starts once, delivers once per event when the caller also asks
for delivery, and reports an unreachable database with a typed error; purging events older
than any representable age is not an OverflowError.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from persistence.errors import DatabaseUnavailableError
from persistence.facade import AsyncPersistenceLayer
from persistence.outbox import DeliveredEvent, OutboxSubscriber, PostgresEventBus
from persistence.schema import app_role_grants, run_migrations
from persistence.settings import PersistenceSettings
from persistence.testing.database import with_database
from tests.conftest import connect, make_settings
from tests.factories import new_player

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cretpw-Qz"  # noqa: S105 - trust auth ignores it


async def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MUD_")},
        "PYTHONPATH": str(ROOT),
        **env,
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "persistence", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _players_acl(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        return str(
            await conn.fetchval("SELECT relacl::text FROM pg_class WHERE relname = 'players'")
        )
    finally:
        await conn.close()


async def test_grant_refuses_public_and_grants_nothing(
    clean_db: asyncpg.Connection, database_url: str
) -> None:
    before = await _players_acl(database_url)
    for role in ("public", "current_user"):
        done = await _cli("grant", role, MUD_DATABASE_URL=database_url)
        assert done.returncode == 1
        assert "not one game-server role" in done.stderr
        assert "Traceback" not in done.stderr
    assert await _players_acl(database_url) == before


async def test_grant_errors_are_one_line_without_a_traceback_or_password(
    clean_db: asyncpg.Connection, database_url: str
) -> None:
    missing = await _cli("grant", f"nobody_{uuid.uuid4().hex[:6]}", MUD_DATABASE_URL=database_url)
    closed = await _cli(
        "grant", "someone", MUD_DATABASE_URL=f"postgres://postgres:{SECRET}@127.0.0.1:1/db"
    )
    malformed = await _cli(
        "grant", "someone", MUD_DATABASE_URL=f"postgres://postgres:Xk9/{SECRET}@127.0.0.1/db"
    )
    for done, expected in (
        (missing, "does not exist"),
        (closed, "connection"),
        (malformed, "database_url"),
    ):
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("error: "), done.stderr
        assert expected in done.stderr
        assert "Traceback" not in done.stderr
        assert SECRET not in done.stdout + done.stderr
        assert "Xk9" not in done.stdout + done.stderr


async def test_a_role_named_like_a_keyword_is_granted(
    clean_db: asyncpg.Connection, database_url: str, admin_conn: asyncpg.Connection
) -> None:
    await admin_conn.execute('DROP ROLE IF EXISTS "user"')
    await admin_conn.execute('CREATE ROLE "user"')
    try:
        done = await _cli("grant", "user", MUD_DATABASE_URL=database_url)
        assert done.returncode == 0, done.stderr
        assert "user=arwd" in await _players_acl(database_url)
    finally:
        await clean_db.execute('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "user"')
        await clean_db.execute('REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "user"')
        await clean_db.execute('REVOKE ALL ON SCHEMA public FROM "user"')
        await clean_db.execute(
            'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM "user"'
        )
        await clean_db.execute(
            'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM "user"'
        )
        await admin_conn.execute('DROP ROLE "user"')


@pytest.mark.parametrize("command", ["audit", "migrate", "grant"])
async def test_a_bad_setting_is_one_line_for_every_command(command: str) -> None:
    args = [command, "someone"] if command == "grant" else [command]
    done = await _cli(*args, MUD_REPLICA_URLS=f'"postgres://postgres:{SECRET}@127.0.0.1:1/db"')
    assert done.returncode == 1
    assert done.stderr.startswith("error: invalid settings"), done.stderr
    assert "replica_urls" in done.stderr
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stdout + done.stderr


async def _subscriber_tasks() -> list[str]:
    return sorted(
        t.get_name()
        for t in asyncio.all_tasks()
        if t.get_name().startswith(("mud-outbox-", "mud-listen-mud_events"))
    )


async def test_a_subscriber_started_twice_runs_once_and_stops_completely(
    clean_db: asyncpg.Connection, database_url: str
) -> None:
    consumer = f"twice-{uuid.uuid4().hex[:6]}"
    seen: list[DeliveredEvent] = []
    subscriber = OutboxSubscriber(database_url, consumer, seen.append, poll_interval=0.05)
    await subscriber.start()
    await subscriber.start()
    await subscriber.stop()
    assert await _subscriber_tasks() == []
    open_connections = await clean_db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
        f"mud-outbox-{consumer}",
    )
    assert open_connections == 0
    settings = make_settings(database_url, through_pooler=False)
    async with AsyncPersistenceLayer(settings, event_bus=PostgresEventBus()) as layer:
        await layer.seed_world()
        player = new_player("AfterStop")
        await layer.save_player(player)
        await asyncio.sleep(0.3)
    assert seen == []  # stopped means stopped


async def test_delivery_asked_for_while_running_gives_each_event_once(
    clean_db: asyncpg.Connection, database_url: str
) -> None:
    seen: list[uuid.UUID] = []

    async def handle(event: DeliveredEvent) -> None:
        await asyncio.sleep(0.001)
        seen.append(event.event_id)

    settings = make_settings(database_url, through_pooler=False)
    async with AsyncPersistenceLayer(settings, event_bus=PostgresEventBus()) as layer:
        await layer.seed_world()
        player = new_player("Asked")
        await layer.save_player(player)
        subscriber = OutboxSubscriber(
            database_url, f"asked-{uuid.uuid4().hex[:6]}", handle, from_start=True
        )
        async with subscriber:
            for n in range(30):
                await layer.update_player_health(player.player_id, -1 if n % 2 else 1, "tick")
            await asyncio.gather(*(subscriber.deliver_pending() for _ in range(5)))
            await subscriber.deliver_pending()
    stored = await clean_db.fetchval("SELECT count(*) FROM event_outbox")
    assert len(seen) == stored
    assert len(set(seen)) == len(seen)


async def test_a_subscriber_of_an_unreachable_database_raises_a_typed_error() -> None:
    subscriber = OutboxSubscriber(
        f"postgres://postgres:{SECRET}@127.0.0.1:1/db", "nowhere", lambda _e: None
    )
    with pytest.raises(DatabaseUnavailableError) as info:
        await subscriber.start()
    assert SECRET not in str(info.value)
    with pytest.raises(DatabaseUnavailableError):
        await subscriber.deliver_pending()
    await subscriber.stop()
    assert await _subscriber_tasks() == []


async def test_purging_events_older_than_any_date_deletes_nothing(
    layer: AsyncPersistenceLayer,
) -> None:
    assert await layer.purge_events(older_than=timedelta(days=10**6)) == 0
    assert await layer.purge_operations(older_than=timedelta(days=10**6)) == 0


async def test_the_app_role_may_create_temp_tables_until_the_documented_revoke(
    pg_server: str,
) -> None:
    """docs/scaling.md: PUBLIC holds TEMPORARY on every database; revoking it is safe."""
    tag = uuid.uuid4().hex[:8]
    owner, app, db = f"mud_owner_{tag}", f"mud_app_{tag}", f"mud_temp_{tag}"
    admin = await connect(pg_server)
    try:
        await admin.execute(f"CREATE ROLE {owner} LOGIN")
        await admin.execute(f"CREATE ROLE {app} LOGIN")
        await admin.execute(f'CREATE DATABASE "{db}" OWNER {owner}')
        base = with_database(pg_server, db)
        owner_url = base.replace("postgres@", f"{owner}@", 1)
        app_url = base.replace("postgres@", f"{app}@", 1)
        superuser = await connect(base)
        try:  # PostgreSQL 15: only the owner may create in public; make the owner own it
            await superuser.execute(f"ALTER SCHEMA public OWNER TO {owner}")
        finally:
            await superuser.close()
        settings = PersistenceSettings(
            database_url=app_url, migration_database_url=owner_url, room_notifications=False
        )
        await run_migrations(owner_url, settings)
        owner_conn = await connect(owner_url)
        try:
            for statement in app_role_grants(app):
                await owner_conn.execute(statement)
        finally:
            await owner_conn.close()

        async def app_creates_a_temp_table() -> bool:
            conn = await connect(app_url)
            try:
                await conn.execute("CREATE TEMP TABLE scratch (n int)")
            except asyncpg.InsufficientPrivilegeError:
                return False
            finally:
                await conn.close()
            return True

        assert await app_creates_a_temp_table()  # granted to PUBLIC by default
        owner_conn = await connect(owner_url)
        try:  # the command docs/scaling.md gives, run as the database's owner
            await owner_conn.execute(f'REVOKE TEMPORARY ON DATABASE "{db}" FROM PUBLIC')
        finally:
            await owner_conn.close()
        assert not await app_creates_a_temp_table()
        async with AsyncPersistenceLayer(settings) as layer:  # the layer needs no temp table
            await layer.seed_world()
            player = new_player("NoTemp")
            await layer.save_player(player)
            assert await layer.update_player_health(player.player_id, -5) == 95
            found = await layer.get_player_by_id(player.player_id)
            assert found is not None
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.execute(f"DROP ROLE IF EXISTS {app}")
        await admin.execute(f"DROP ROLE IF EXISTS {owner}")
        await admin.close()

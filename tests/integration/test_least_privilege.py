"""The game server as a role that may only read and write the package's tables (issue 15.6).

The database belongs to an owner role that runs the migrations through
``MUD_MIGRATION_DATABASE_URL``; the layer connects as an application role granted by
``python -m persistence grant``: no DDL, not the owner, and every call works. No password
reaches a log line or an error message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from persistence.errors import PersistenceError
from persistence.facade import AsyncPersistenceLayer
from persistence.schema import run_migrations
from persistence.settings import PersistenceSettings
from persistence.testing.database import with_database
from tests.conftest import connect
from tests.factories import FOYER

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-Pa55word"  # noqa: S105 - a test password, trust auth ignores it


@pytest_asyncio.fixture(loop_scope="session")
async def roles(pg_server: str) -> AsyncIterator[tuple[str, str, str]]:
    """A database owned by ``owner``; ``app`` granted by the CLI. (owner URL, app URL, role)"""
    tag = uuid.uuid4().hex[:8]
    owner, app, db = f"mud_owner_{tag}", f"mud_app_{tag}", f"mud_lp_{tag}"
    admin = await connect(pg_server)
    try:
        await admin.execute(f"CREATE ROLE {owner} LOGIN PASSWORD '{SECRET}'")
        await admin.execute(f"CREATE ROLE {app} LOGIN PASSWORD '{SECRET}'")
        await admin.execute(f'CREATE DATABASE "{db}" OWNER {owner}')
        owner_conn = await connect(with_database(pg_server, db))
        try:  # PostgreSQL 15: only the owner may create in public; make the owner own it
            await owner_conn.execute(f"ALTER SCHEMA public OWNER TO {owner}")
        finally:
            await owner_conn.close()
        base = with_database(pg_server, db)
        owner_url = base.replace("postgres@", f"{owner}:{SECRET}@", 1)
        app_url = base.replace("postgres@", f"{app}:{SECRET}@", 1)
        yield owner_url, app_url, app
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.execute(f"DROP ROLE IF EXISTS {app}")
        await admin.execute(f"DROP ROLE IF EXISTS {owner}")
        await admin.close()


async def _grant(owner_url: str, app: str) -> None:
    """``python -m persistence grant app`` as the owner, as the docs say; no password shown."""
    env = {**os.environ, "MUD_MIGRATION_DATABASE_URL": owner_url, "PYTHONPATH": str(ROOT)}
    granted = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "persistence", "grant", app],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert granted.returncode == 0, granted.stderr
    assert SECRET not in granted.stdout + granted.stderr


async def test_the_app_role_runs_every_call_and_no_ddl(
    roles: tuple[str, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    owner_url, app_url, app = roles
    settings = PersistenceSettings(
        database_url=app_url,
        migration_database_url=owner_url,
        pool_min_size=1,
        pool_max_size=4,
        retry_base_delay=0.01,
        retry_max_delay=0.02,
    )
    await run_migrations(owner_url, settings)
    await _grant(owner_url, app)

    # The game server gets the app role's URL only: the owner's stays with the migration.
    server = settings.model_copy(update={"migration_database_url": None})
    with caplog.at_level(logging.DEBUG):
        async with AsyncPersistenceLayer(server) as layer:
            await layer.seed_world()
            player, _ = await layer.get_or_create_player("Least")
            await layer.change_health(player, -10, op_id="lp-1")
            await layer.experience.gain_experience(player, 150)
            await layer.items.save_prototypes([{"prototype_id": "lamp", "name": "Lamp"}])
            chest = await layer.create_container("environment", room_id=FOYER)
            await layer.create_item_instance(
                "lamp-1", "lamp", owner_type="player", owner_id=player.player_id
            )
            await layer.items.transfer_items(
                ["lamp-1"],
                from_owner=("player", player.player_id),
                to_owner=("container", chest.container_id),
                op_id="lp-2",
            )
            await layer.save_rooms(
                [{"room_id": "r_lp", "name": "LP", "plane": "p", "zone": "z", "sub_zone": "s"}]
            )
            assert await layer.delete_room("r_lp")
            dead = await layer.change_health(player, -1000)
            await layer.create_corpse_for(dead)
            await layer.soft_delete_player(player.player_id)
            await layer.restore_player(player.player_id)
            assert (await layer.read_scene(FOYER)).players
            assert (await layer.audit()).ok
            assert await layer.purge_operations(older_than=timedelta(0)) >= 2
            assert await layer.delete_player(player.player_id)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "mud-persistence started" in logged
    assert SECRET not in logged

    conn = await asyncpg.connect(app_url)
    try:
        for ddl in (
            "CREATE TABLE intruder (id int)",
            "ALTER TABLE players ADD COLUMN intruder int",
            "DROP TABLE rooms",
            "TRUNCATE players",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(ddl)
        owner_name = await conn.fetchval(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'players'"
        )
        assert owner_name != app
    finally:
        await conn.close()


async def test_no_password_in_settings_or_connection_errors() -> None:
    settings = PersistenceSettings(
        database_url=f"postgres://someone:{SECRET}@127.0.0.1:1/nowhere",
        pool_acquire_timeout=0.5,
        retry_max_attempts=1,
    )
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    with pytest.raises(PersistenceError) as info:
        await AsyncPersistenceLayer(settings).start()
    chain: BaseException | None = info.value
    while chain is not None:
        assert SECRET not in str(chain)
        chain = chain.__cause__ or chain.__context__


async def _listener_role(owner_url: str, application_name: str) -> list[str]:
    conn = await asyncpg.connect(owner_url)
    try:
        rows = await conn.fetch(
            "SELECT usename FROM pg_stat_activity WHERE application_name = $1",
            application_name,
        )
        return [r["usename"] for r in rows]
    finally:
        await conn.close()


async def test_through_a_pooler_the_listener_logs_in_as_the_app_role_too(
    roles: tuple[str, str, str],
) -> None:
    """LISTEN needs a direct session; it takes the migration URL's server, not its login."""
    owner_url, app_url, app = roles
    # In pooler mode migrate also sets the database's statement timeout (start checks it).
    await run_migrations(owner_url, PersistenceSettings(pooler="pgbouncer-transaction"))
    await _grant(owner_url, app)
    name = f"lp-{uuid.uuid4().hex[:8]}"
    # Pooler mode on a direct URL: the same connections PgBouncer would see. First with the
    # migration URL (the listener takes its server, not its login), then a server given no
    # owner URL at all (the listener's own direct URL, as the app role).
    for direct in ({"migration_database_url": owner_url}, {"listen_database_url": app_url}):
        settings = PersistenceSettings(
            database_url=app_url,
            pooler="pgbouncer-transaction",
            application_name=name,
            pool_min_size=1,
            pool_max_size=2,
            **direct,
        )
        async with AsyncPersistenceLayer(settings):
            assert await _listener_role(owner_url, f"{name}-listener") == [app]

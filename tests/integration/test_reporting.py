"""The layer checks the schema at start and reports on itself (issue 13, points 3 and 4)."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from persistence.errors import ConfigurationError, NotFoundError, SchemaMismatchError
from persistence.facade import AsyncPersistenceLayer
from persistence.schema import migration_files, run_migrations
from tests.conftest import connect, create_database, drop_database, make_settings
from tests.factories import new_player
from tests.integration.test_layer import SlowReads, _terminate_when_running
from tests.integration.test_migration_upgrade import PREVIOUS_HEAD, _migrate_to_previous_head

pytestmark = pytest.mark.integration


class TestSchemaCheckedAtStart:
    async def test_an_empty_database_is_refused_with_the_command_to_run(
        self, pg_server: str
    ) -> None:
        url = await create_database(pg_server, "mud_empty")
        try:
            layer = AsyncPersistenceLayer(make_settings(url), migrate=False)
            with pytest.raises(SchemaMismatchError) as info:
                await layer.start()
            message = str(info.value)
            assert "no mud-persistence schema" in message
            assert migration_files()[-1] in message
            assert "python -m persistence migrate" in message
            assert isinstance(info.value, ConfigurationError)
            assert not layer.db.started
        finally:
            await drop_database(pg_server, url)

    async def test_an_older_schema_is_refused(self, pg_server: str, tmp_path: Path) -> None:
        url = await create_database(pg_server, "mud_older")
        try:
            await _migrate_to_previous_head(url, tmp_path)
            with pytest.raises(SchemaMismatchError) as info:
                await AsyncPersistenceLayer(make_settings(url), migrate=False).start()
            message = str(info.value)
            assert migration_files()[PREVIOUS_HEAD - 1] in message  # what is there
            assert migration_files()[-1] in message  # what is expected
            assert f"{PREVIOUS_HEAD} of {len(migration_files())}" in message
            await run_migrations(url)
            async with AsyncPersistenceLayer(make_settings(url)) as layer:
                assert await layer.players.list_players() == []
        finally:
            await drop_database(pg_server, url)

    async def test_a_newer_schema_is_refused(
        self, database_url: str, admin_conn: asyncpg.Connection
    ) -> None:
        await admin_conn.execute(
            "INSERT INTO aerich (version, app, content) VALUES"
            " ('99_20991231000000_future.py', 'mud_persistence', '{}')"
        )
        try:
            with pytest.raises(SchemaMismatchError) as info:
                await AsyncPersistenceLayer(make_settings(database_url)).start()
            assert "99_20991231000000_future.py" in str(info.value)
            assert "newer mud-persistence" in str(info.value)
            # A schema made another way (a test's generate_schemas) can skip the check.
            settings = make_settings(database_url, check_schema=False)
            async with AsyncPersistenceLayer(settings) as layer:
                assert layer.db.started
        finally:
            await admin_conn.execute("DELETE FROM aerich WHERE version LIKE '99_%'")


class TestReports:
    async def test_start_logs_where_what_and_how_long_never_the_password(
        self, database_url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        with_password = database_url.replace("postgres@", "postgres:s3cr3t-pw@")
        settings = make_settings(with_password, pool_min_size=2, pool_max_size=5)
        with caplog.at_level(logging.INFO, logger="persistence"):
            async with AsyncPersistenceLayer(settings) as layer:
                await layer.seed_world()
        started = [r.getMessage() for r in caplog.records if "started on" in r.getMessage()]
        assert len(started) == 1
        line = started[0]
        database = database_url.rsplit("/", 1)[1].split("?")[0]
        assert database in line
        assert f"{len(migration_files())} migrations applied" in line
        assert "pool of" in line
        assert "(max 5)" in line
        assert "rooms cached in" in line
        assert "s3cr3t-pw" not in caplog.text

    async def test_metrics_count_calls_errors_retries_and_show_the_pool(
        self, world_layer: AsyncPersistenceLayer
    ) -> None:
        player = new_player("Counted")
        await world_layer.players.save_player(player)  # delegates to save_players: counted once
        await world_layer.players.get_player_by_id(player.player_id)
        with pytest.raises(NotFoundError):
            await world_layer.health.update_player_health(uuid.uuid4(), -1)
        metrics = world_layer.metrics()
        assert metrics.calls["players.save_player"] == 1
        assert "players.save_players" not in metrics.calls
        assert metrics.calls["players.get_player_by_id"] == 1
        assert metrics.calls["health.update_player_health"] == 1
        assert metrics.errors == {"health.update_player_health": 1}
        assert metrics.rooms_cached == 8
        assert metrics.pool.max_size == world_layer.settings.pool_max_size
        assert metrics.pool.size is not None
        assert metrics.pool.size >= 1
        assert metrics.pool.in_use == 0
        assert metrics.pool.waiting == 0
        assert metrics.retries == 0

    async def test_each_retry_is_logged_with_its_attempt_and_cause_and_counted(
        self, database_url: str, admin_conn: asyncpg.Connection, caplog: pytest.LogCaptureFixture
    ) -> None:
        app = f"retry-log-{uuid.uuid4().hex[:8]}"
        settings = make_settings(database_url, application_name=app, retry_max_attempts=3)
        async with AsyncPersistenceLayer(settings) as layer:
            repo = SlowReads(db=layer.db, metrics=layer._metrics)
            with caplog.at_level(logging.WARNING, logger="persistence"):
                read = asyncio.create_task(repo.slow())
                assert await _terminate_when_running(admin_conn, app) == 1
                assert await read == 42
            retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
            assert len(retries) == 1
            assert "attempt 1 of 3" in retries[0]
            assert "DatabaseUnavailableError" in retries[0]
            assert layer.metrics().retries == 1


@pytest.mark.slow
def test_the_embedded_server_is_quiet_at_info_and_without_xdg_runtime_dir(tmp_path: Path) -> None:
    script = (
        "import logging\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "from persistence.embedded import start_embedded_postgres\n"
        "server = start_embedded_postgres()\n"
        "server.stop()\n"
        "print('stopped')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-W", "error", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "stopped"
    assert "initdb" not in result.stderr
    assert "XDG_RUNTIME_DIR" not in result.stderr
    assert "Warning" not in result.stderr


async def test_a_database_at_head_with_data_is_not_touched_by_the_check(
    database_url: str,
) -> None:
    conn = await connect(database_url)
    try:
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM aerich")]
    finally:
        await conn.close()
    assert sorted(versions) == sorted(migration_files())

"""``python -m persistence``: each command works on the database the settings name, or refuses.

``audit`` of nothing (no URL: an empty throwaway server) refuses; ``migrate`` with only
``MUD_MIGRATION_DATABASE_URL`` migrates that database and starts no embedded server; through
a transaction pooler, migrations refuse to run without ``MUD_MIGRATION_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from persistence.errors import ConfigurationError
from persistence.facade import AsyncPersistenceLayer
from persistence.schema import migration_files, run_migrations
from persistence.settings import PersistenceSettings
from tests.conftest import connect, create_database, drop_database

pytestmark = pytest.mark.integration


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The command line with exactly these ``MUD_*`` variables (none from the test's run)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MUD_")}
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "persistence", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


async def _history(url: str) -> list[str]:
    conn = await connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass('aerich') IS NOT NULL"):
            return []
        return [r["version"] for r in await conn.fetch("SELECT version FROM aerich ORDER BY id")]
    finally:
        await conn.close()


async def test_audit_without_a_database_url_refuses_instead_of_auditing_nothing(
    tmp_path: Path,
) -> None:
    cli = await asyncio.to_thread(_cli, ["audit"], tmp_path)
    assert cli.returncode == 2, cli.stdout + cli.stderr
    assert "MUD_DATABASE_URL" in cli.stderr
    assert "embedded" not in cli.stdout  # no throwaway server was started to be audited


async def test_migrate_with_only_the_migration_url_migrates_it_and_starts_nothing_else(
    pg_server: str, tmp_path: Path
) -> None:
    url = await create_database(pg_server, "mud_cli_direct")
    try:
        cli = await asyncio.to_thread(_cli, ["migrate"], tmp_path, MUD_MIGRATION_DATABASE_URL=url)
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert "embedded" not in cli.stdout, cli.stdout
        assert "MUD_MIGRATION_DATABASE_URL" in cli.stdout
        assert await _history(url) == migration_files()
        # Seeding needs the layer's own URL: refused, not done on a throwaway server.
        seed = await asyncio.to_thread(_cli, ["setup"], tmp_path, MUD_MIGRATION_DATABASE_URL=url)
        assert seed.returncode == 1, seed.stdout + seed.stderr
        assert "MUD_DATABASE_URL" in seed.stderr
        assert "embedded" not in seed.stdout, seed.stdout
    finally:
        await drop_database(pg_server, url)


async def test_migrations_through_a_transaction_pooler_need_the_migration_url(
    pg_server: str, tmp_path: Path
) -> None:
    url = await create_database(pg_server, "mud_cli_pooler")
    pooled = {"MUD_DATABASE_URL": url, "MUD_POOLER": "pgbouncer-transaction"}
    try:
        for args in (["migrate"], ["setup"], ["demo", "--duration", "1", "--players", "2"]):
            cli = await asyncio.to_thread(_cli, args, tmp_path, **pooled)
            assert cli.returncode == 1, (args, cli.stdout + cli.stderr)
            assert "MUD_MIGRATION_DATABASE_URL" in cli.stderr, (args, cli.stderr)
        settings = PersistenceSettings(database_url=url, pooler="pgbouncer-transaction")
        with pytest.raises(ConfigurationError, match="MUD_MIGRATION_DATABASE_URL"):
            await run_migrations(url, settings)
        with pytest.raises(ConfigurationError, match="MUD_MIGRATION_DATABASE_URL"):
            await AsyncPersistenceLayer(settings, migrate=True).start()
        assert await _history(url) == []  # nothing ran through the "pooler"

        # With the direct URL the same settings migrate.
        direct = settings.model_copy(update={"migration_database_url": url})
        assert await run_migrations(url, direct) == migration_files()
    finally:
        await drop_database(pg_server, url)


async def test_audit_of_an_embedded_server_kept_across_runs_works(tmp_path: Path) -> None:
    """``MUD_EMBEDDED_DATA_DIR`` keeps the embedded server's data: there is something to audit."""
    kept = str(tmp_path / "pgdata")
    setup = await asyncio.to_thread(_cli, ["setup"], tmp_path, MUD_EMBEDDED_DATA_DIR=kept)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    audit = await asyncio.to_thread(_cli, ["audit"], tmp_path, MUD_EMBEDDED_DATA_DIR=kept)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "every invariant holds" in audit.stdout

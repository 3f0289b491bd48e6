"""The aerich migrations create exactly the schema the models declare."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise.context import TortoiseContext

from persistence.config import tortoise_config
from persistence.models.app import APP_LABEL
from persistence.models.schema import (
    CHECK_CONSTRAINTS,
    COLUMN_DEFAULTS,
    EXPRESSION_INDEXES,
    EXTRA_FOREIGN_KEYS,
    GENERATED_COLUMNS,
)
from persistence.settings import PersistenceSettings
from persistence.testing.database import TABLES
from tests.conftest import connect, create_database, drop_database

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _aerich(args: list[str], url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MUD_DATABASE_URL": url, "AERICH_NO_TORTOISE_V1_WARNING": "1"}
    aerich = Path(sys.executable).parent / "aerich"
    return subprocess.run(  # noqa: S603 - fixed argv
        [str(aerich), "-c", "aerich.ini", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _columns(conn: asyncpg.Connection) -> set[tuple[Any, ...]]:
    rows = await conn.fetch(
        """SELECT table_name, column_name, data_type, character_maximum_length, is_nullable
             FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = ANY($1::text[])""",
        list(TABLES),
    )
    return {tuple(r) for r in rows}


async def _indexes(conn: asyncpg.Connection) -> set[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT tablename, indexdef FROM pg_indexes WHERE tablename = ANY($1::text[])",
        list(TABLES),
    )
    return {(r["tablename"], r["indexdef"]) for r in rows}


async def _foreign_keys(conn: asyncpg.Connection) -> set[tuple[str, str]]:
    rows = await conn.fetch(
        """SELECT conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS d
             FROM pg_constraint WHERE contype = 'f'"""
    )
    return {(r["t"], r["d"]) for r in rows}


async def _checks(conn: asyncpg.Connection) -> dict[str, tuple[str, str]]:
    rows = await conn.fetch(
        """SELECT conname, conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS d
             FROM pg_constraint WHERE contype = 'c' AND conrelid <> 0"""
    )
    return {r["conname"]: (r["t"], r["d"]) for r in rows}


@pytest.fixture(scope="module")
async def upgraded_via_cli(pg_server: str) -> Any:
    """A database migrated by the real command line, ``aerich -c aerich.ini upgrade``."""
    url = await create_database(pg_server, "mud_mig")
    try:
        result = _aerich(["upgrade"], url, ROOT)
        assert result.returncode == 0, result.stdout + result.stderr
        yield url, result.stdout
    finally:
        await drop_database(pg_server, url)


@pytest.fixture(scope="module")
async def generated_from_models(pg_server: str) -> Any:
    """A database whose schema Tortoise generated straight from the models."""
    url = await create_database(pg_server, "mud_gen")
    context = TortoiseContext()
    try:
        with context:
            await context.init(config=tortoise_config(PersistenceSettings(), url))
            await context.generate_schemas()
            await context.close_connections()
        yield url
    finally:
        await drop_database(pg_server, url)


async def test_cli_upgrade_on_empty_database_applies_every_migration(upgraded_via_cli: Any) -> None:
    _, output = upgraded_via_cli
    files = sorted(p.name for p in (ROOT / "migrations" / APP_LABEL).glob("*.py"))
    assert files, "no migration files committed"
    for name in files:
        assert name in output


async def test_upgraded_schema_equals_what_the_models_declare(
    upgraded_via_cli: Any, generated_from_models: str
) -> None:
    migrated = await connect(upgraded_via_cli[0])
    generated = await connect(generated_from_models)
    try:
        generated_columns = {
            (table, column, kind, 255 if kind == "character varying" else None, "YES")
            for (table, column), (kind, _) in GENERATED_COLUMNS.items()
        }
        assert await _columns(migrated) == await _columns(generated) | generated_columns
        stored = {
            (r["table_name"], r["column_name"])
            for r in await migrated.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE is_generated = 'ALWAYS'"
            )
        }
        assert stored == set(GENERATED_COLUMNS)
        assert await _foreign_keys(migrated) == await _foreign_keys(generated) | set(
            EXTRA_FOREIGN_KEYS.values()
        )
        declared_extra = set()
        for name, (table, definition) in EXPRESSION_INDEXES.items():
            unique = definition.startswith("UNIQUE ")
            body = definition[7:] if unique else definition
            kind = "CREATE UNIQUE INDEX" if unique else "CREATE INDEX"
            declared_extra.add((table, f"{kind} {name} ON public.{table} USING btree {body}"))
        assert await _indexes(migrated) == await _indexes(generated) | declared_extra
    finally:
        await migrated.close()
        await generated.close()


async def test_database_rules_listed_in_models_schema_exist(upgraded_via_cli: Any) -> None:
    conn = await connect(upgraded_via_cli[0])
    try:
        checks = await _checks(conn)
        assert set(checks) == set(CHECK_CONSTRAINTS)
        for name, (table, condition) in CHECK_CONSTRAINTS.items():
            assert checks[name][0] == table, name
            # Let PostgreSQL normalise the declared condition, then compare exactly.
            tx = conn.transaction()
            await tx.start()
            try:
                await conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT probe CHECK ({condition})")
                declared = await conn.fetchval(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'probe'"
                )
            finally:
                await tx.rollback()
            assert declared == checks[name][1], (name, declared, checks[name][1])
        for (table, column), expected in COLUMN_DEFAULTS.items():
            default = await conn.fetchval(
                """SELECT column_default FROM information_schema.columns
                    WHERE table_name = $1 AND column_name = $2""",
                table,
                column,
            )
            assert default is not None, (table, column)
            value = await conn.fetchval(f"SELECT ({default})::text")
            if expected.startswith(("{", "[")):
                assert json.loads(value) == json.loads(expected), (table, column)
            else:
                assert value == expected, (table, column)
    finally:
        await conn.close()


async def test_models_without_a_matching_migration_are_detected(
    upgraded_via_cli: Any, tmp_path: Path
) -> None:
    """``aerich migrate`` finds nothing to add: the migrations match the models."""
    shutil.copytree(ROOT / "migrations", tmp_path / "migrations")
    shutil.copy(ROOT / "aerich.ini", tmp_path / "aerich.ini")
    for package in ("models", "persistence"):
        shutil.copytree(ROOT / package, tmp_path / package)
    result = _aerich(
        ["migrate", "--name", "drift_check", "--no-input"], upgraded_via_cli[0], tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout, result.stdout
    # Where aerich.ini sends aerich (copied here as a real folder, not a link): no new file.
    location = tomllib.loads((ROOT / "aerich.ini").read_text())["tool"]["aerich"]["location"]
    assert (tmp_path / location / APP_LABEL).is_dir()
    assert sorted(p.name for p in (tmp_path / location / APP_LABEL).glob("*.py")) == sorted(
        p.name for p in (ROOT / "migrations" / APP_LABEL).glob("*.py")
    )


GAME_MODELS_PACKAGE = """
from tortoise import fields
from tortoise.models import Model


class Guild(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "dungeon_guilds"
"""

GAME_SETTINGS_WITH_MODELS_LABEL = """
import os

from persistence.config import database_credentials

# Tortoise's documented layout: the game's app labelled "models", its package named models.
TORTOISE_ORM = {
    "connections": {
        "default": {
            "engine": "tortoise.backends.asyncpg",
            "credentials": database_credentials(os.environ["GAME_DATABASE_URL"]),
        }
    },
    "apps": {"models": {"models": ["models", "aerich.models"], "default_connection": "default"}},
}
"""


def test_a_game_history_is_not_the_package_history_of_a_legacy_label() -> None:
    """Only the package's own file names under the 0.1 label ``models`` are its history."""
    from persistence.schema import LEGACY_APP_LABEL, migration_files, schema_problem

    files = migration_files()
    ours = [(name, APP_LABEL) for name in files]
    game = [("0_20261204141128_init.py", LEGACY_APP_LABEL), ("1_x_guilds.py", LEGACY_APP_LABEL)]
    assert schema_problem("db", ours + game) is None
    assert schema_problem("db", [(name, LEGACY_APP_LABEL) for name in files]) is not None
    problem = schema_problem("db", game)
    assert problem is not None
    assert "no mud-persistence schema" in problem


async def test_a_game_app_labelled_models_migrated_by_aerich_does_not_stop_the_layer(
    pg_server: str, tmp_path: Path
) -> None:
    """The game uses Tortoise's documented label ``models`` for its own aerich app.

    ``aerich init-db`` records the game's migration as ``models | 0_..._init.py`` in the
    ``aerich`` table, the label 0.1 used for the package's history: a layer still starts, and
    ``migrate`` still finds nothing to do.
    """
    from persistence.facade import AsyncPersistenceLayer
    from tests.conftest import make_settings

    url = await create_database(pg_server, "mud_game_models")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text(GAME_MODELS_PACKAGE)
    (tmp_path / "gamesettings.py").write_text(GAME_SETTINGS_WITH_MODELS_LABEL)
    (tmp_path / "game-aerich.toml").write_text(
        '[tool.aerich]\ntortoise_orm = "gamesettings.TORTOISE_ORM"\n'
        'location = "./game_migrations"\nsrc_folder = "./."\n'
    )
    env = {
        **os.environ,
        "GAME_DATABASE_URL": url,
        "MUD_DATABASE_URL": url,
        "AERICH_NO_TORTOISE_V1_WARNING": "1",
        "PYTHONPATH": str(tmp_path),  # the game's `models` before the checkout's
    }

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - fixed argv
            args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False
        )

    aerich = str(Path(sys.executable).parent / "aerich")
    try:
        package = await asyncio.to_thread(run, [sys.executable, "-m", "persistence", "migrate"])
        assert package.returncode == 0, package.stdout + package.stderr
        game = await asyncio.to_thread(run, [aerich, "-c", "game-aerich.toml", "init-db"])
        assert game.returncode == 0, game.stdout + game.stderr
        conn = await connect(url)
        try:
            labelled_models = await conn.fetch("SELECT version FROM aerich WHERE app = 'models'")
            assert [r["version"].split("_", 2)[2] for r in labelled_models] == ["init.py"]
            assert await conn.fetchval("SELECT to_regclass('dungeon_guilds') IS NOT NULL")
        finally:
            await conn.close()

        async with AsyncPersistenceLayer(make_settings(url)) as layer:
            assert await layer.players.list_players() == []
        again = await asyncio.to_thread(run, [sys.executable, "-m", "persistence", "migrate"])
        assert again.returncode == 0, again.stdout + again.stderr
        assert "up to date" in again.stdout
    finally:
        await drop_database(pg_server, url)


def test_aerich_ini_names_the_folder_a_checkout_and_the_sdist_both_have() -> None:
    """The sdist has persistence/migrations only (no top-level migrations/): aerich.ini too."""
    location = tomllib.loads((ROOT / "aerich.ini").read_text())["tool"]["aerich"]["location"]
    assert Path(location) == Path("persistence/migrations")
    assert (ROOT / location / APP_LABEL).resolve() == (ROOT / "migrations" / APP_LABEL).resolve()
    sdist = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    sdist = sdist["targets"]["sdist"]
    assert sdist["force-include"]["migrations"] == "persistence/migrations"
    assert "/migrations" not in sdist["include"]  # it never ships as a top-level folder


async def test_aerich_alone_leaves_the_health_floor_to_python_m_persistence_migrate(
    pg_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What docs/getting-started.md says of ``MUD_HEALTH_FLOOR=-10 aerich ... upgrade``."""
    from persistence.errors import ConfigurationError
    from persistence.facade import AsyncPersistenceLayer
    from persistence.schema import floor_in
    from tests.conftest import make_settings

    url = await create_database(pg_server, "mud_aerich_floor")
    monkeypatch.setenv("MUD_HEALTH_FLOOR", "-10")  # what aerich's process sees
    try:
        result = await asyncio.to_thread(_aerich, ["upgrade"], url, ROOT)
        assert result.returncode == 0, result.stdout + result.stderr
        settings = make_settings(url, health_floor=-10)
        with pytest.raises(ConfigurationError, match="python -m persistence migrate"):
            await AsyncPersistenceLayer(settings).start()
        env = {**os.environ, "MUD_DATABASE_URL": url}
        migrate = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "persistence", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        assert "up to date" in migrate.stdout  # no migration twice; only the floor was set
        conn = await connect(url)
        try:
            definition = await conn.fetchval(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conname = 'players_stats_current_health_valid'"
            )
        finally:
            await conn.close()
        assert floor_in(definition) == -10
        async with AsyncPersistenceLayer(settings):
            pass
    finally:
        await drop_database(pg_server, url)

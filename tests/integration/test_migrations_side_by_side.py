"""A game's own aerich migrations next to the package's, on one database (two apps).

The flow docs/getting-started.md documents, run for real: the package's migrations with
``python -m persistence migrate``; the game's with its own aerich config holding only its app
(plus ``aerich.models``); both record their history in the one ``aerich`` table; at run time
one Tortoise config holds both apps and a layer attaches to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest
from tortoise.context import TortoiseContext

from persistence import APP_LABEL, AsyncPersistenceLayer, tortoise_app
from persistence.config import database_credentials
from persistence.schema import migration_files
from tests.conftest import connect, create_database, drop_database, make_settings

pytestmark = pytest.mark.integration

GAME_MODELS = """
from tortoise import fields
from tortoise.models import Model


class Guild(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=40, unique=True)
{extra}
    class Meta:
        table = "guilds"
"""

GAME_SETTINGS = """
import os

from persistence.config import database_credentials

CREDENTIALS = database_credentials(os.environ["GAME_DATABASE_URL"])
# What aerich migrates: the game's own app only (and aerich's table).
MIGRATIONS = {
    "connections": {"default": {"engine": "tortoise.backends.asyncpg", "credentials": CREDENTIALS}},
    "apps": {"game": {"models": ["game.models", "aerich.models"], "default_connection": "default"}},
}
"""

GAME_AERICH = """
[tool.aerich]
tortoise_orm = "game.settings.MIGRATIONS"
location = "./migrations"
src_folder = "./."
"""


def _run(args: list[str], cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GAME_DATABASE_URL": url,
        "MUD_DATABASE_URL": url,
        "AERICH_NO_TORTOISE_V1_WARNING": "1",
        "PYTHONPATH": str(cwd),
    }
    return subprocess.run(  # noqa: S603 - fixed argv
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )


async def test_game_and_package_migrate_side_by_side(pg_server: str, tmp_path: Path) -> None:
    url = await create_database(pg_server, "mud_side")
    game = tmp_path / "game"
    game.mkdir()
    (game / "__init__.py").write_text("")
    (game / "models.py").write_text(GAME_MODELS.format(extra=""))
    (game / "settings.py").write_text(textwrap.dedent(GAME_SETTINGS))
    (tmp_path / "aerich.toml").write_text(GAME_AERICH)
    aerich = str(Path(sys.executable).parent / "aerich")
    try:
        package = _run([sys.executable, "-m", "persistence", "migrate"], tmp_path, url)
        assert package.returncode == 0, package.stdout + package.stderr
        first = _run([aerich, "-c", "aerich.toml", "init-db"], tmp_path, url)
        assert first.returncode == 0, first.stdout + first.stderr
        generated = list((tmp_path / "migrations" / "game").glob("*.py"))
        assert len(generated) == 1
        assert "players" not in generated[0].read_text()  # the game's migration is its own

        (game / "models.py").write_text(
            GAME_MODELS.format(extra="    motto = fields.CharField(max_length=80, default='')\n")
        )
        step = _run([aerich, "-c", "aerich.toml", "migrate", "--name", "motto"], tmp_path, url)
        assert step.returncode == 0, step.stdout + step.stderr
        up = _run([aerich, "-c", "aerich.toml", "upgrade"], tmp_path, url)
        assert up.returncode == 0, up.stdout + up.stderr
        again = _run([sys.executable, "-m", "persistence", "migrate"], tmp_path, url)
        assert "up to date" in again.stdout, again.stdout + again.stderr

        conn = await connect(url)
        try:
            history = {
                (r["app"], r["version"])
                for r in await conn.fetch("SELECT app, version FROM aerich")
            }
            assert {v for a, v in history if a == APP_LABEL} == set(migration_files())
            assert len([v for a, v in history if a == "game"]) == 2
            columns = {
                r["column_name"]
                for r in await conn.fetch(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = 'guilds'"
                )
            }
            assert columns == {"id", "name", "motto"}
        finally:
            await conn.close()

        # At run time one Tortoise config holds both apps; the layer attaches to it.
        sys.path.insert(0, str(tmp_path))
        try:
            config = {
                "connections": {
                    "default": {
                        "engine": "tortoise.backends.asyncpg",
                        "credentials": database_credentials(url),
                    }
                },
                "apps": {"game": {"models": ["game.models"]}, APP_LABEL: tortoise_app()},
            }
            async with TortoiseContext() as context:
                await context.init(config=config)
                layer = AsyncPersistenceLayer(make_settings(url), connection="default")
                async with layer:
                    assert await layer.players.list_players() == []
                    guild = context.apps.get_model("game", "Guild")  # type: ignore[union-attr]
                    await guild.create(name="Miskatonic", motto="Ex libris")
                    assert await guild.all().count() == 1
        finally:
            sys.path.remove(str(tmp_path))
            for name in [m for m in sys.modules if m == "game" or m.startswith("game.")]:
                del sys.modules[name]
    finally:
        await drop_database(pg_server, url)


async def test_legacy_history_is_relabelled_not_reapplied(
    pg_server: str, admin_conn: asyncpg.Connection
) -> None:
    """A database migrated by 0.1 (history under the label "models") upgrades in place."""
    from persistence.schema import run_migrations

    url = await create_database(pg_server, "mud_legacy")
    try:
        await run_migrations(url)
        conn = await connect(url)
        try:
            await conn.execute("UPDATE aerich SET app = 'models'")  # what 0.1 recorded
            await conn.execute(
                "INSERT INTO aerich (version, app, content) VALUES ('0_x_init.py', 'models', '{}')"
            )  # a game's own app that is called "models": left alone
            await conn.execute(
                "INSERT INTO rooms (room_id, name, plane, zone, sub_zone)"
                " VALUES ('r1', 'kept', 'p', 'z', 's')"
            )
            assert await run_migrations(url) == []  # nothing applied twice
            rows = await conn.fetch("SELECT app, version FROM aerich ORDER BY id")
            assert [r["app"] for r in rows if r["version"] != "0_x_init.py"] == [APP_LABEL] * len(
                migration_files()
            )
            assert [r["app"] for r in rows if r["version"] == "0_x_init.py"] == ["models"]
            assert await conn.fetchval("SELECT name FROM rooms") == "kept"
        finally:
            await conn.close()
    finally:
        await drop_database(pg_server, url)

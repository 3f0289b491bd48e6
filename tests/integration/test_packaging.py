"""The package as a dependency: what the wheel holds, and a game's own ``models`` next to it.

CI also installs the built wheel into a fresh venv outside the checkout and migrates, runs
the demo and a downstream project's tests from there (``.ci/wheel-check``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from persistence.schema import migration_files
from tests.conftest import create_database, drop_database

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_the_migrations_and_no_top_level_models(tmp_path: Path) -> None:
    built = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("mud_persistence-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {
        "persistence",
        f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info",
    }
    for migration in migration_files():
        assert f"persistence/migrations/mud_persistence/{migration}" in names
    assert "persistence/models/player.py" in names
    assert "persistence/py.typed" in names
    assert "persistence/sample_world/rooms.json" in names


GAME_MODELS = '''
from tortoise import fields
from tortoise.models import Model


class Guild(Model):
    """The game's own model, in the game's own top-level `models` package."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=40)

    class Meta:
        table = "guilds"
'''

SCRIPT = """
import asyncio, os, sys

import models                                   # the game's own package
import persistence                              # ours, next to it
from persistence import APP_LABEL, AsyncPersistenceLayer, PersistenceSettings, tortoise_app
from persistence.config import database_credentials
from persistence.models import Player
from tortoise.context import TortoiseContext

assert models.__file__.startswith(os.getcwd()), models.__file__
assert Player.__module__ == "persistence.models.player"
assert not hasattr(models, "Player")


async def main() -> None:
    url = os.environ["MUD_DATABASE_URL"]
    credentials = database_credentials(url)
    config = {
        "connections": {"default": {"engine": "tortoise.backends.asyncpg",
                                    "credentials": credentials}},
        "apps": {"game": {"models": ["models"]}, APP_LABEL: tortoise_app()},
    }
    async with TortoiseContext() as context:
        await context.init(config=config)
        await context.db().execute_script(
            "CREATE TABLE guilds (id serial PRIMARY KEY, name varchar(40) NOT NULL)"
        )
        async with AsyncPersistenceLayer(PersistenceSettings(), connection="default") as layer:
            await models.Guild.create(name="Miskatonic")
            player = Player(user_id=__import__("uuid").uuid4(), name="Armitage",
                            current_room_id="earth_arkhamcity_sanitarium_room_foyer_001")
            await layer.players.save_player(player)
            assert (await layer.players.require_player(player.player_id)).name == "Armitage"
            assert await models.Guild.all().count() == 1
    print("both models packages work")


asyncio.run(main())
"""


async def test_a_games_own_models_package_lives_next_to_ours(
    pg_server: str, tmp_path: Path
) -> None:
    from persistence.schema import run_migrations

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text(textwrap.dedent(GAME_MODELS))
    (tmp_path / "game.py").write_text(SCRIPT)
    url = await create_database(pg_server, "mud_names")
    try:
        await run_migrations(url)
        env = {**os.environ, "MUD_DATABASE_URL": url}
        env.pop("PYTHONPATH", None)
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "game.py"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        await drop_database(pg_server, url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "both models packages work" in result.stdout


def test_importing_the_package_never_imports_a_top_level_models() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, persistence, persistence.testing, persistence.demo; "
            "print('models' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"

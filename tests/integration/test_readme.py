"""The README's usage example and docs/getting-started.md's "First query" run as written."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from persistence.schema import run_migrations
from tests.conftest import create_database, drop_database

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"


async def test_readme_example_runs(pg_server: str, tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert blocks, "the README has no python example"
    script = tmp_path / "example.py"
    script.write_text(blocks[0])
    url = await create_database(pg_server, "mud_readme")
    try:
        await run_migrations(url)
        env = {**os.environ, "MUD_DATABASE_URL": url}
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(script)],
            env=env,
            cwd=tmp_path,  # as a user's project: nothing of the checkout on the path
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        await drop_database(pg_server, url)
    assert result.returncode == 0, result.stderr
    assert "HP 100 -> 70 (damage:claw)" in result.stdout
    assert "HP 70 -> 0 (falling piano)" in result.stdout
    assert "Armitage 2 0 earth_arkhamcity_sanitarium_room_hallway_001" in result.stdout
    assert "['Armitage'] ['corpse']" in result.stdout


GETTING_STARTED = README.parent / "docs" / "getting-started.md"


def _first_query() -> str:
    """The python block of docs/getting-started.md's "First query" section."""
    section = GETTING_STARTED.read_text().split("## First query", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the First query section has one python example"
    return str(blocks[0])


async def _run_snippet(script: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MUD_")}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(script)],
        env={**clean, **env},
        cwd=script.parent,  # as a user's project: nothing of the checkout on the path
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


async def test_getting_started_first_query_runs_as_written(pg_server: str, tmp_path: Path) -> None:
    """On the embedded default (no MUD_* at all), and on a freshly migrated database."""
    script = tmp_path / "first_query.py"
    script.write_text(_first_query())
    embedded = await _run_snippet(script)
    assert embedded.returncode == 0, embedded.stderr
    assert embedded.stdout.splitlines() == ["Armitage True 100", "East Wing Hallway ['Armitage']"]

    url = await create_database(pg_server, "mud_first_query")
    try:
        await run_migrations(url)
        first = await _run_snippet(script, MUD_DATABASE_URL=url)
        again = await _run_snippet(script, MUD_DATABASE_URL=url)  # the player exists now
    finally:
        await drop_database(pg_server, url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == ["Armitage True 100", "East Wing Hallway ['Armitage']"]
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == "Armitage False 100"

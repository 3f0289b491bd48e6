"""The README's usage example runs as written."""

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

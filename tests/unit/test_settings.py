"""Settings come from MUD_* variables; importing the packages needs no database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from persistence.config import database_credentials, tortoise_config
from persistence.errors import InvalidSettingsError
from persistence.settings import PersistenceSettings


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUD_DATABASE_URL", "postgres://u:p@db.example:6543/world")
    monkeypatch.setenv("MUD_HEALTH_FLOOR", "-10")
    monkeypatch.setenv("MUD_POOL_MAX_SIZE", "20")
    monkeypatch.setenv("MUD_RETRY_MAX_ATTEMPTS", "5")
    settings = PersistenceSettings()
    assert settings.database_url == "postgres://u:p@db.example:6543/world"
    assert (settings.health_floor, settings.pool_max_size, settings.retry_max_attempts) == (
        -10,
        20,
        5,
    )


def test_defaults() -> None:
    settings = PersistenceSettings(_env_file=None)
    assert settings.health_floor == 0
    assert settings.fallback_room_id == "earth_arkhamcity_sanitarium_room_foyer_001"
    assert settings.pool_acquire_timeout > 0
    assert settings.statement_timeout > 0


@pytest.mark.parametrize(
    "bad",
    [
        {"health_floor": 1},
        {"pool_min_size": 5, "pool_max_size": 2},
        {"pool_acquire_timeout": 0},
        {"retry_max_attempts": 0},
    ],
)
def test_invalid_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidSettingsError):
        PersistenceSettings(**bad)


def test_credentials_from_urls() -> None:
    assert database_credentials("postgres://u:p%40ss@h:6543/db") == {
        "host": "h",
        "port": 6543,
        "user": "u",
        "password": "p@ss",
        "database": "db",
    }
    socket = database_credentials("postgres://postgres@/mud?host=/run/sock")
    assert (socket["host"], socket["database"]) == ("/run/sock", "mud")
    with pytest.raises(ValueError, match="PostgreSQL"):
        database_credentials("mysql://h/db")
    with pytest.raises(ValueError, match="no database"):
        database_credentials("postgres://h:5432/")


def test_tortoise_config_carries_pool_and_timeouts() -> None:
    settings = PersistenceSettings(pool_max_size=7, statement_timeout=2.5, pool_acquire_timeout=1.5)
    creds = tortoise_config(settings, "postgres://h/db")["connections"]["default"]["credentials"]
    assert creds["maxsize"] == 7
    assert creds["acquire_timeout"] == 1.5
    assert creds["server_settings"]["statement_timeout"] == "2500"


def test_importing_the_packages_needs_no_database() -> None:
    env = {**os.environ, "MUD_DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing"}
    code = "import persistence, models, persistence.config, persistence.__main__; print('ok')"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

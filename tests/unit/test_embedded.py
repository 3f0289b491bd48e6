"""Without pgserver (e.g. Python 3.13, no wheel) the error says what to do instead."""

from __future__ import annotations

import sys

import pytest

from persistence.embedded import start_embedded_postgres
from persistence.errors import ConfigurationError, EmbeddedDatabaseUnavailableError


def test_missing_pgserver_is_a_clear_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pgserver", None)  # import pgserver -> ImportError
    with pytest.raises(EmbeddedDatabaseUnavailableError) as info:
        start_embedded_postgres()
    assert isinstance(info.value, ConfigurationError)
    message = str(info.value)
    assert "MUD_DATABASE_URL" in message
    assert "3.10-3.12" in message
    assert info.value.__cause__ is not None


def test_pgserver_uris_become_mud_database_urls() -> None:
    from persistence.embedded import _mud_url

    assert _mud_url("postgresql://postgres:@/postgres?host=/tmp/pg data") == (
        "postgres://postgres@/mud?host=/tmp/pg%20data"
    )
    assert _mud_url("postgresql://postgres:@127.0.0.1:54321/postgres") == (
        "postgres://postgres@127.0.0.1:54321/mud"
    )

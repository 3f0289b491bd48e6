"""A hostile review of the scaling features (issue 15): settings, URLs, routing rules.

Each test failed on the code before its fix. Pure logic: settings, URL parsing, the grants'
text and the replica choice with a replica that never answers (a stand-in client, since the
point is the bound on the wait, not the database).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from persistence.config import database_credentials, replica_connection, tortoise_config
from persistence.errors import InvalidSettingsError, ValidationError
from persistence.outbox import OutboxSubscriber
from persistence.replicas import ReplicaSet
from persistence.schema import app_role_grants
from persistence.settings import PersistenceSettings

SECRET = "s3cretpw-Qz"  # noqa: S105 - never sent anywhere


def _chain_text(exc: BaseException) -> str:
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        parts.append(f"{current!s} {current!r}")
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return " ".join(parts)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MUD_REPLICA_URLS", f'"postgres://postgres:{SECRET}@127.0.0.1:1/db"'),
        ("MUD_REPLICA_URLS", f'["postgres://postgres:{SECRET}@127.0.0.1:1/db", 5]'),
        ("MUD_DATABASE_URL", f"postgres://postgres:Xk9/{SECRET}@127.0.0.1:5432/db"),
        ("MUD_MIGRATION_DATABASE_URL", f"http://postgres:{SECRET}@127.0.0.1/db"),
        ("MUD_LISTEN_DATABASE_URL", f"postgres:{SECRET}@127.0.0.1/db"),
        ("MUD_REPLICA_URLS", f"[postgres://postgres:{SECRET}@h/db"),
    ],
)
def test_a_bad_url_setting_is_a_typed_error_that_quotes_no_password(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidSettingsError) as info:
        PersistenceSettings()
    assert isinstance(info.value, ValueError)
    text = _chain_text(info.value)
    assert SECRET not in text
    assert "Xk9" not in text  # the part of the password before an unencoded "/"
    assert variable.removeprefix("MUD_").lower() in str(info.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MUD_POOLER", "bogus"), ("MUD_STATEMENT_TIMEOUT", "0"), ("MUD_REPLICA_WAIT", "-1")],
)
def test_a_bad_setting_names_its_field(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidSettingsError, match=variable.removeprefix("MUD_").lower()):
        PersistenceSettings()


def test_an_empty_replica_list_variable_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUD_REPLICA_URLS", "")
    assert PersistenceSettings().replica_urls == ()


def test_the_same_replica_twice_is_refused() -> None:
    url = "postgres://postgres@127.0.0.1:5433/mud"
    with pytest.raises(InvalidSettingsError, match="twice"):
        PersistenceSettings(replica_urls=(url, url))


def test_a_replica_never_inherits_the_primary_host_list() -> None:
    settings = PersistenceSettings(
        database_url=(
            "postgres://postgres@10.0.0.1:5432,10.0.0.2:5432/mud?target_session_attrs=read-write"
        ),
        replica_urls=("postgres://reader@10.0.0.2:5432/mud",),
    )
    connections = tortoise_config(settings)["connections"]
    replica = connections[replica_connection(0)]["credentials"]
    assert replica["host"] == "10.0.0.2"
    assert replica["user"] == "reader"
    assert "mud_hosts" not in replica
    assert "target_session_attrs" not in replica
    assert replica["maxsize"] == settings.pool_max_size  # the pool settings still apply
    primary = connections["default"]["credentials"]
    assert primary["target_session_attrs"] == "read-write"
    assert len(primary["mud_hosts"]) == 2


@pytest.mark.parametrize(
    "role", ["public", "current_user", "session_user", "current_role", "pg_read_all_data"]
)
def test_grant_refuses_names_that_are_not_one_role(role: str) -> None:
    with pytest.raises(ValidationError, match="not one game-server role"):
        app_role_grants(role)


def test_grant_quotes_a_role_named_like_a_keyword() -> None:
    assert all(statement.endswith('TO "user"') for statement in app_role_grants("user"))


def test_a_subscriber_with_a_bad_url_or_interval_is_refused_before_connecting() -> None:
    async def handler(_event: Any) -> None:
        return None

    for kwargs in (
        {"url": f"http://x:{SECRET}@h/db"},
        {"url": "postgres://h/db", "poll_interval": 0},
        {"url": "postgres://h/db", "batch": 0},
    ):
        with pytest.raises(ValidationError) as info:
            OutboxSubscriber(consumer="c", handler=handler, **kwargs)  # type: ignore[arg-type]
        assert SECRET not in str(info.value)


class _Stuck:
    """A replica's client whose pool never hands out a connection (a frozen standby)."""

    @contextlib.asynccontextmanager
    async def acquire_connection(self) -> AsyncIterator[Any]:
        await asyncio.Event().wait()
        yield None  # pragma: no cover - never reached


async def test_a_read_waits_for_a_frozen_replica_no_longer_than_the_replica_wait() -> None:
    replicas = ReplicaSet(["replica_0"], lambda _name: _Stuck(), wait=0.05, poll=60)
    replica = replicas._replicas[0]
    replica.healthy, replica.replayed = True, 10
    replicas.note(20, read_at=0.0)  # a write the replica has not replayed yet
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(3):
        assert await replicas.pick() is None  # the primary
    assert loop.time() - started < 1.0
    assert replicas.reads_on_primary == 1


async def test_a_write_whose_position_is_unknown_keeps_reads_on_the_primary() -> None:
    replicas = ReplicaSet(["replica_0"], lambda name: name, wait=0.05, poll=60)
    replica = replicas._replicas[0]
    replica.healthy, replica.replayed = True, 100
    assert await replicas.pick() == "replica_0"
    replicas.note_unknown(since=10.0)
    assert await replicas.pick() is None
    replicas.note(50, read_at=5.0)  # read before the unknown write: does not cover it
    assert await replicas.pick() is None
    replicas.note(60, read_at=11.0)  # read after it: covers it
    assert await replicas.pick() == "replica_0"


@pytest.mark.parametrize("seconds", ["0.0009", "0.0001", "1e-9"])
def test_a_statement_timeout_below_a_millisecond_is_refused(
    monkeypatch: pytest.MonkeyPatch, seconds: str
) -> None:
    # PostgreSQL counts statement_timeout in whole milliseconds and 0 turns it off: such a
    # value would silently disable the server's timeout instead of making it strict.
    monkeypatch.setenv("MUD_STATEMENT_TIMEOUT", seconds)
    with pytest.raises(InvalidSettingsError, match="statement_timeout"):
        PersistenceSettings()


def test_a_statement_timeout_beyond_what_postgresql_takes_is_refused() -> None:
    with pytest.raises(InvalidSettingsError, match="statement_timeout"):
        PersistenceSettings(statement_timeout=2_147_484.0)  # past INT_MAX milliseconds
    assert PersistenceSettings(statement_timeout=0.001).statement_timeout == 0.001
    assert PersistenceSettings(statement_timeout=2_147_483.0).statement_timeout == 2_147_483.0


@pytest.mark.parametrize(
    "url",
    [
        f"postgres://app:1234/{SECRET}@db.example/mud",  # parsed as host "app", port 1234
        f"postgres://app:Xk9/{SECRET}@db.example:5432/mud",
        f"postgres://app:Xk9?{SECRET}@db.example/mud",  # an unencoded "?" in the password
        f"postgres://app:Xk9#{SECRET}@db.example/mud",  # an unencoded "#"
    ],
)
def test_a_password_with_an_unencoded_delimiter_is_refused_with_the_encoding_hint(
    url: str,
) -> None:
    with pytest.raises(InvalidSettingsError, match="percent-encode") as info:
        PersistenceSettings(database_url=url)
    text = _chain_text(info.value)
    assert SECRET not in text
    assert "Xk9" not in text
    assert "database_url" in str(info.value)


def test_a_percent_encoded_password_and_an_at_sign_in_a_database_name_still_parse() -> None:
    settings = PersistenceSettings(
        database_url=f"postgres://app:1234%2F{SECRET}%40x@db.example/mud%40eu"
    )
    assert settings.database_url is not None
    credentials = database_credentials(settings.database_url)
    assert credentials["host"] == "db.example"
    assert credentials["password"] == f"1234/{SECRET}@x"
    assert credentials["database"] == "mud@eu"


class _Answering:
    """A client whose connections answer every statement with its name, at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.released = 0

    @contextlib.asynccontextmanager
    async def acquire_connection(self) -> AsyncIterator[Any]:
        client = self

        class Connection:
            async def fetch(self, sql: str, *args: Any) -> list[str]:
                if sql == "bad":
                    raise ZeroDivisionError("the statement's own error")
                return [client.name]

        try:
            yield Connection()
        finally:
            self.released += 1


async def test_a_read_a_busy_replica_cannot_take_runs_on_the_primary_and_keeps_the_replica() -> (
    None
):
    from persistence.replicas import _ReplicaRead

    primary = _Answering("primary")
    clients: dict[str, Any] = {"default": primary, "replica_0": _Stuck()}
    replicas = ReplicaSet(["replica_0"], clients.__getitem__, wait=0.05, poll=60, timeout=0.2)
    replica = replicas._replicas[0]
    replica.healthy = True
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(3), _ReplicaRead(replicas, replica, clients["replica_0"]) as conn:
        assert await conn.fetch("SELECT") == ["primary"]
    assert loop.time() - started < 1.0
    assert replicas.reads_moved == 1
    assert primary.released == 1
    assert replica.healthy  # a full pool is not a replica that is gone: the poller decides


async def test_a_statement_error_on_a_replica_is_the_callers_not_a_reason_to_move() -> None:
    from persistence.replicas import _ReplicaRead

    clients: dict[str, Any] = {"default": _Answering("primary"), "replica_0": _Answering("r0")}
    replicas = ReplicaSet(["replica_0"], clients.__getitem__, wait=0.05, poll=60)
    replica = replicas._replicas[0]
    replica.healthy = True
    async with _ReplicaRead(replicas, replica, clients["replica_0"]) as conn:
        assert await conn.fetch("SELECT") == ["r0"]
        with pytest.raises(ZeroDivisionError):
            await conn.fetch("bad")
    assert replica.healthy
    assert replicas.reads_moved == 0
    assert clients["replica_0"].released == 1

"""Through PgBouncer in transaction pooling mode (issue 15, point 1), on a private PgBouncer.

``MUD_POOLER=pgbouncer-transaction`` makes every connection the package opens safe there:
no named prepared statements, no session state at connect, the statement timeout enforced
by the server from the database's own setting (set by migrate, checked by start), and
migrations through the direct URL. Several OS processes share the pooler's few server
connections and the final state is exact.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from persistence.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    OperationTimeoutError,
    PersistenceError,
)
from persistence.facade import AsyncPersistenceLayer
from persistence.schema import run_migrations
from persistence.settings import PersistenceSettings
from persistence.testing.database import (
    POOLER_URL_VARIABLE,
    create_database,
    drop_database,
    with_database,
)
from tests.factories import new_player
from tests.pgbouncer import (
    REQUIRE_VARIABLE,
    PgBouncer,
    backend_pids,
    client_count,
    pgbouncer_binary,
    start_pgbouncer,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bouncer(pg_server: str) -> Iterator[PgBouncer]:
    if pgbouncer_binary() is None:
        if os.environ.get(REQUIRE_VARIABLE):
            pytest.fail("pgbouncer is required here (MUD_REQUIRE_PGBOUNCER) but not installed")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    # Under /tmp itself: the postgres OS user PgBouncer runs as must reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="mud-pgbouncer-"))
    running = start_pgbouncer(folder, pg_server, pool_size=4)
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest_asyncio.fixture(loop_scope="session")
async def pooled(pg_server: str, bouncer: PgBouncer) -> AsyncIterator[PersistenceSettings]:
    """A fresh database migrated directly, and settings that reach it through PgBouncer."""
    direct = await create_database(pg_server, "mud_pooled")
    name = direct.rsplit("/", 1)[1].split("?")[0]
    settings = PersistenceSettings(
        database_url=bouncer.url(name),
        migration_database_url=direct,
        pooler="pgbouncer-transaction",
        statement_timeout=1.0,
        pool_min_size=1,
        pool_max_size=8,
        retry_base_delay=0.01,
        retry_max_delay=0.05,
    )
    try:
        await run_migrations(direct, settings)
        await _reconnect(bouncer)  # server connections opened before take the new timeout
        yield settings
    finally:
        await drop_database(pg_server, direct)


async def _reconnect(bouncer: PgBouncer) -> None:
    admin = await asyncpg.connect(bouncer.admin_url, statement_cache_size=0)
    try:
        await admin.execute("RECONNECT")
    finally:
        await admin.close()


async def test_the_layer_works_through_transaction_pooling(
    pooled: PersistenceSettings,
) -> None:
    async with AsyncPersistenceLayer(pooled) as layer:
        await layer.seed_world()
        players = [new_player(f"Pooled{n}") for n in range(20)]
        await layer.save_players(players)
        ids = [p.player_id for p in players]
        # 40 tasks on a pool of 8 client connections and 4 server connections.
        await asyncio.gather(
            *(layer.update_player_health(ids[n % 20], -1) for n in range(200)),
            *(layer.experience.update_player_xp(ids[n % 20], 5) for n in range(200)),
        )
        async with layer.transaction():  # savepoints per call, events after COMMIT
            await layer.health.apply_health_deltas({pid: -1 for pid in ids})
            await layer.players.save_player(new_player("InTransaction"))
        with pytest.raises(RuntimeError):
            async with layer.transaction():
                await layer.update_player_health(ids[0], -50)
                raise RuntimeError("rolled back")
        loaded = await layer.get_players_batch(ids)
        assert {p.stats.current_health for p in loaded} == {89}
        assert {p.experience_points for p in loaded} == {50}
        assert await layer.get_player_by_name("intransaction") is not None
        assert (await layer.audit()).ok


async def test_the_statement_timeout_is_enforced_by_the_server_through_the_pooler(
    pooled: PersistenceSettings,
) -> None:
    async with AsyncPersistenceLayer(pooled) as layer:
        with pytest.raises(OperationTimeoutError) as info:
            async with layer.db.call() as client:
                await layer.db.fetch(client, "SELECT pg_sleep(3)", [])
        chain = info.value.__cause__
        while chain is not None and not isinstance(chain, asyncpg.QueryCanceledError):
            chain = chain.__cause__
        assert chain is not None, "the server cancelled it (57014), not the driver"


async def test_start_refuses_a_pooler_whose_server_does_not_enforce_the_timeout(
    pooled: PersistenceSettings, bouncer: PgBouncer
) -> None:
    assert pooled.migration_database_url is not None
    direct = await asyncpg.connect(pooled.migration_database_url)
    try:
        name = await direct.fetchval("SELECT quote_ident(current_database())")
        await direct.execute(f"ALTER DATABASE {name} RESET statement_timeout")
    finally:
        await direct.close()
    await _reconnect(bouncer)
    with pytest.raises(ConfigurationError, match="statement_timeout"):
        await AsyncPersistenceLayer(pooled).start()
    await run_migrations(pooled.migration_database_url, pooled)  # migrate sets it again
    await _reconnect(bouncer)
    async with AsyncPersistenceLayer(pooled):
        pass


async def test_without_pooler_mode_pgbouncer_refuses_the_session_settings(
    pooled: PersistenceSettings,
) -> None:
    """Why the setting exists: PgBouncer 1.18 refuses a startup statement_timeout."""
    plain = pooled.model_copy(update={"pooler": "none"})
    with pytest.raises((DatabaseUnavailableError, PersistenceError)) as info:
        await AsyncPersistenceLayer(plain).start()
    assert "statement_timeout" in str(info.value)


WORKER = textwrap.dedent(
    """
    import asyncio, json, sys, uuid
    from persistence.facade import AsyncPersistenceLayer
    from persistence.settings import PersistenceSettings

    async def main():
        settings = PersistenceSettings.model_validate_json(sys.argv[1])
        ids = [uuid.UUID(i) for i in json.loads(sys.argv[2])]
        worker = int(sys.argv[3])
        async with AsyncPersistenceLayer(settings) as layer:
            async def one(n):
                pid = ids[(worker + n) % len(ids)]
                await layer.update_player_health(pid, -1, op_id=f"w{worker}-{n}")
                await layer.experience.update_player_xp(pid, 1)
            await asyncio.gather(*(one(n) for n in range(150)))

    asyncio.run(main())
    """
)


async def test_several_processes_share_the_pooler_and_the_totals_are_exact(
    pooled: PersistenceSettings, tmp_path: Path
) -> None:
    async with AsyncPersistenceLayer(pooled) as layer:
        await layer.seed_world()
        players = [new_player(f"Shared{n}") for n in range(5)]
        for p in players:
            p.stats.max_health = 10_000
            p.stats.current_health = 10_000
        await layer.save_players(players)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    ids = json.dumps([str(p.player_id) for p in players])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # 150 tasks queue on 8 client connections: the last in line waits for about the whole
    # run (1.4 s of 1.5 s here), which a slow disk or a busy CI machine stretches past the
    # default 5 s acquire bound. This test is about exact totals through the pooler; the
    # acquire bound has tests of its own (test_nothing_lost).
    worker_settings = pooled.model_copy(update={"pool_acquire_timeout": 60.0})
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(script), worker_settings.model_dump_json(), ids, str(n), env=env
        )
        for n in range(3)
    ]
    codes = await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers)), 120)
    assert codes == [0, 0, 0]
    assert pooled.migration_database_url is not None
    conn = await asyncpg.connect(pooled.migration_database_url)
    try:
        rows = await conn.fetch(
            "SELECT (stats->>'current_health')::int AS hp, experience_points FROM players"
        )
        assert sum(10_000 - r["hp"] for r in rows) == 450
        assert sum(r["experience_points"] for r in rows) == 450
        assert await conn.fetchval("SELECT count(*) FROM applied_operations") == 450
    finally:
        await conn.close()


def test_pooler_mode_refuses_a_full_pool_reset() -> None:
    with pytest.raises(ValueError, match="pool_reset"):
        PersistenceSettings(pooler="pgbouncer-transaction", pool_reset="full")


async def test_the_pooler_url_in_tests_reaches_the_same_database(
    pg_server: str, bouncer: PgBouncer
) -> None:
    url = await create_database(pg_server, "mud_same")
    try:
        name = url.rsplit("/", 1)[1]
        conn = await asyncpg.connect(bouncer.url(name), statement_cache_size=0)
        try:
            assert await conn.fetchval("SELECT current_database()") == name
        finally:
            await conn.close()
        assert with_database(bouncer.url("x"), name) == bouncer.url(name)
    finally:
        await drop_database(pg_server, url)


async def test_backends_and_clients_are_found_through_the_pooler(
    pooled: PersistenceSettings, bouncer: PgBouncer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test kit's pooler-aware lookups: PgBouncer's console, not pg_stat_activity."""
    monkeypatch.setenv(POOLER_URL_VARIABLE, bouncer.url("postgres"))
    app = f"found-{os.getpid()}"
    assert pooled.migration_database_url is not None
    admin = await asyncpg.connect(pooled.migration_database_url)
    try:
        async with AsyncPersistenceLayer(
            pooled.model_copy(update={"application_name": app})
        ) as layer:
            held = asyncio.Event()
            release = asyncio.Event()

            async def hold() -> None:
                async with layer.db.call(atomic=True) as client:
                    await layer.db.fetch(client, "SELECT 1", [])  # takes a server connection
                    held.set()
                    await release.wait()

            holder = asyncio.create_task(hold())
            await asyncio.wait_for(held.wait(), 10)
            assert await client_count(admin, app) >= 1
            pids = await backend_pids(admin, app)
            assert pids
            live = await admin.fetch(
                "SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[])", pids
            )
            assert {r["pid"] for r in live} == set(pids)  # real backends of the server
            release.set()
            await asyncio.wait_for(holder, 10)
    finally:
        await admin.close()

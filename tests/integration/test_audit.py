"""``layer.audit()`` and ``python -m persistence audit``: every invariant, each finding typed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from persistence.audit import AuditReport
from persistence.facade import AsyncPersistenceLayer
from persistence.schema import run_migrations
from persistence.testing import ensure_prototypes
from tests.conftest import connect, create_database, drop_database, make_settings
from tests.factories import FOYER, new_player

pytestmark = pytest.mark.integration


async def test_a_consistent_world_audits_clean(world_layer: AsyncPersistenceLayer) -> None:
    player = new_player("Clean")
    await world_layer.players.save_player(player)
    chest = await world_layer.containers.create_container(
        "environment",
        room_id=FOYER,
        items=[{"item_instance_id": f"gem-{n}", "prototype_id": "gem"} for n in range(2)],
    )
    coin = await world_layer.items.create_item_instance(
        "coin", "coin", owner_type="player", owner_id=str(player.player_id)
    )
    await world_layer.items.transfer_item(
        coin.item_instance_id,
        from_owner=("player", player.player_id),
        to_owner=("container", chest.container_id),
    )
    report = await world_layer.audit()
    assert isinstance(report, AuditReport)
    assert report.ok, str(report)
    assert report.counts["items"] == 3
    assert report.counts["ledger_rows"] == 4  # three creations, one move
    assert "every invariant holds" in str(report)


async def test_the_ledger_replay_covers_items_that_never_moved(
    world_layer: AsyncPersistenceLayer, clean_db: Any
) -> None:
    """Every item's ledger is replayed from its creation, whether it moved or not."""
    owner, other = new_player("Owner"), new_player("Other")
    await world_layer.players.save_players([owner, other])
    kept = await world_layer.items.create_item_instance(
        "never-moved", "coin", owner_type="player", owner_id=str(owner.player_id)
    )
    chest = await world_layer.containers.create_container(
        "environment",
        room_id=FOYER,
        items=[{"item_instance_id": "boxed", "prototype_id": "gem"}],
    )
    await world_layer.items.create_item_instance(
        "moved-once", "coin", owner_type="player", owner_id=str(owner.player_id)
    )
    await world_layer.items.transfer_item(
        "moved-once", from_owner=("player", owner.player_id), to_owner=("room", FOYER)
    )
    assert (await world_layer.audit()).ok
    # Behind the layer's back: owners changed, a ledger row rewritten, an item without history.
    await clean_db.execute(
        "UPDATE item_instances SET owner_id = $1 WHERE item_instance_id = $2",
        str(other.player_id),
        kept.item_instance_id,
    )
    await clean_db.execute(
        "UPDATE item_instances SET owner_type = 'room', owner_id = $1, position = NULL"
        " WHERE item_instance_id = 'boxed'",
        FOYER,
    )
    await clean_db.execute(  # the move now starts where the item never was: the chain breaks
        "UPDATE item_movements SET from_owner_id = $1 WHERE item_instance_id = 'moved-once'"
        " AND reason = 'transfer'",
        str(other.player_id),
    )
    await clean_db.execute(
        "INSERT INTO item_instances (item_instance_id, prototype_id, owner_type, owner_id)"
        " VALUES ('unrecorded', 'coin', 'room', $1)",
        FOYER,
    )
    report = await world_layer.audit()
    found = {f.key: f.detail for f in report.of("ledger_mismatch")}
    assert set(found) == {"never-moved", "boxed", "moved-once", "unrecorded"}, str(report)
    assert str(other.player_id) in found["never-moved"]
    assert str(chest.container_id) in found["boxed"]
    assert "no creation" in found["unrecorded"]
    assert report.counts["ledger_rows"] == 4


@pytest_asyncio.fixture(loop_scope="session")
async def tampered(pg_server: str) -> AsyncIterator[tuple[str, Any]]:
    """A migrated database whose rules were dropped, as a careless tool could leave it."""
    url = await create_database(pg_server, "mud_audit")
    try:
        await run_migrations(url)
        conn = await connect(url)
        for row in await conn.fetch(
            "SELECT conrelid::regclass::text AS t, conname FROM pg_constraint"
            " WHERE contype IN ('c', 'f') AND conname LIKE ANY"
            " (ARRAY['players_stats%', 'item_instances_owner%'])"
        ):
            await conn.execute(f'ALTER TABLE {row["t"]} DROP CONSTRAINT "{row["conname"]}"')
        yield url, conn
        await conn.close()
    finally:
        await drop_database(pg_server, url)


async def test_every_broken_invariant_is_a_finding(tampered: tuple[str, Any]) -> None:
    url, conn = tampered
    async with AsyncPersistenceLayer(make_settings(url)) as layer:
        await layer.seed_world()
        await ensure_prototypes(layer, "gem", "coin")
        good, bad, odd = new_player("Good"), new_player("Bad"), new_player("Odd")
        await layer.players.save_players([good, bad, odd])
        chest = await layer.containers.create_container(
            "environment",
            room_id=FOYER,
            capacity_slots=1,
            items=[{"item_instance_id": "gem", "prototype_id": "gem"}],
        )
        moved = await layer.items.create_item_instance(
            "moved", "coin", owner_type="player", owner_id=str(good.player_id)
        )
        await layer.items.transfer_item(
            moved.item_instance_id,
            from_owner=("player", good.player_id),
            to_owner=("room", FOYER),
        )
        assert (await layer.audit()).ok
        # Behind the layer's back:
        ghost = str(uuid.uuid4())
        await conn.execute(
            "INSERT INTO item_instances (item_instance_id, prototype_id, owner_type, owner_id)"
            " VALUES ('orphan', 'coin', 'player', $1), ('extra', 'coin', 'container', $2)",
            ghost,
            str(chest.container_id),
        )
        await conn.execute(
            "UPDATE item_instances SET owner_type = 'player', owner_id = $1"
            " WHERE item_instance_id = 'moved'",
            str(good.player_id),
        )
        await conn.execute(
            "UPDATE players SET stats = stats || $1::jsonb WHERE player_id = $2",
            json.dumps({"current_health": 500}),
            bad.player_id,
        )
        await conn.execute(
            'UPDATE players SET stats = stats || \'{"fear": "abc"}\' WHERE player_id = $1',
            odd.player_id,
        )
        report = await layer.audit()
    assert not report.ok
    kinds = {f.kind: f for f in report.findings}
    assert kinds["orphan_item"].key == "orphan"
    assert ghost in kinds["orphan_item"].detail
    # "moved" ends elsewhere; the two rows inserted around the layer have no creation row.
    assert {f.key for f in report.of("ledger_mismatch")} == {"moved", "orphan", "extra"}
    assert kinds["container_over_capacity"].key == str(chest.container_id)
    assert {f.key for f in report.of("stats_out_of_bounds")} == {
        str(bad.player_id),
        str(odd.player_id),
    }
    assert {f.key for f in report.of("corrupt_row")} == {str(bad.player_id), str(odd.player_id)}
    assert "fear" in next(f.detail for f in report.of("corrupt_row") if f.key == str(odd.player_id))

    env = {**os.environ, "MUD_DATABASE_URL": url}
    cli = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "persistence", "audit"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "orphan_item: orphan" in cli.stdout
    assert "corrupt_row" in cli.stdout


def test_the_cli_audit_of_a_clean_database_exits_zero(database_url: str, clean_db: Any) -> None:
    env = {**os.environ, "MUD_DATABASE_URL": database_url}
    cli = subprocess.run(
        [sys.executable, "-m", "persistence", "audit"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "every invariant holds" in cli.stdout


def test_aerich_config_points_at_the_package_migrations(tmp_path: Any) -> None:
    out = tmp_path / "mud-aerich.toml"
    cli = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "persistence", "aerich-config", "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    text = out.read_text()
    assert 'tortoise_orm = "persistence.config.TORTOISE_ORM"' in text
    assert "migrations" in text

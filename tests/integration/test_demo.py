"""The demo runs against a real database and its audit catches a broken invariant."""

from __future__ import annotations

import asyncpg
import pytest

from persistence import demo
from persistence.demo import DemoReport, _audit, run_demo
from persistence.facade import AsyncPersistenceLayer
from tests.conftest import make_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_short_demo_holds_every_invariant_and_an_audit_catches_tampering(
    clean_db: asyncpg.Connection, database_url: str
) -> None:
    lines: list[str] = []
    settings = make_settings(database_url, pool_max_size=10)
    report = await run_demo(settings, duration=3, players=30, progress=lines.append)
    assert report.ok, report.table()
    assert len(report.invariants) == 6
    assert report.deaths > 0
    assert report.events["CorpseCreated"] == report.deaths
    assert report.operations["damage"] > 0
    assert report.events["PlayerHPUpdated"] > 0
    assert any("auditing" in line for line in lines)

    # Tamper with the data behind the layer's back: the audit must notice.
    await clean_db.execute(
        "DELETE FROM item_instances WHERE item_instance_id IN"
        " (SELECT item_instance_id FROM item_instances LIMIT 1)"
    )
    await clean_db.execute(
        "UPDATE players SET stats = jsonb_set(stats, '{current_health}', '1')"
        " WHERE player_id IN (SELECT player_id FROM players LIMIT 1)"
    )
    async with AsyncPersistenceLayer(settings) as layer:
        rows = await clean_db.fetch("SELECT item_instance_id, quantity FROM item_instances")
        quantities = {r["item_instance_id"]: r["quantity"] for r in rows}
        quantities["vanished-item"] = 1
        again = DemoReport()
        players = await clean_db.fetch("SELECT player_id FROM players")
        await _audit(layer, again, {r["player_id"]: [] for r in players}, quantities)
    assert not again.ok
    failed = [name for name, (ok, _) in again.invariants.items() if not ok]
    assert "every item exists exactly once, quantities conserved" in failed
    assert "HP equals the clamped result of the applied deltas" in failed


async def test_the_demo_runs_twice_on_one_database(
    clean_db: asyncpg.Connection, database_url: str
) -> None:
    settings = make_settings(database_url, pool_max_size=10)
    first = await run_demo(settings, duration=2, players=10, progress=lambda _: None)
    second = await run_demo(settings, duration=2, players=10, progress=lambda _: None)
    assert first.ok, first.table()
    assert second.ok, second.table()
    assert second.operations["damage"] > 0


async def test_the_demo_player_names_never_clash_with_names_already_taken(
    clean_db: asyncpg.Connection, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's names are unique for sure: a taken name makes the run draw another tag."""
    # Every name a run could give its first player with a 16-bit random suffix...
    await clean_db.execute(
        "INSERT INTO players (player_id, user_id, name, current_room_id)"
        " SELECT gen_random_uuid(), gen_random_uuid(),"
        " 'Investigator 000 ' || lpad(to_hex(g), 4, '0'), 'nowhere'"
        " FROM generate_series(0, 65535) g"
    )
    # ...and the names of a tag drawn again (what a clash of random tags would be).
    await clean_db.execute(
        "INSERT INTO players (player_id, user_id, name, current_room_id)"
        " VALUES (gen_random_uuid(), gen_random_uuid(), 'Investigator 001 taken', 'nowhere')"
    )
    tags = iter(["taken", "taken", "fresh"])
    monkeypatch.setattr(demo, "_run_tag", lambda: next(tags), raising=False)
    settings = make_settings(database_url, pool_max_size=10)
    report = await run_demo(settings, duration=1, players=4, progress=lambda _: None)
    assert report.ok, report.table()
    names = await clean_db.fetch(
        "SELECT name FROM players WHERE name LIKE 'Investigator%fresh' ORDER BY name"
    )
    assert [r["name"] for r in names] == [f"Investigator {n:03d} fresh" for n in range(4)]

"""examples/fastapi_app.py against a real PostgreSQL, through httpx."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from examples.fastapi_app import create_app
from tests.conftest import RecordingBus, make_settings

pytestmark = pytest.mark.integration


async def test_players_api(clean_db: asyncpg.Connection, database_url: str) -> None:
    await clean_db.execute(
        "INSERT INTO rooms (room_id, name, plane, zone, sub_zone) VALUES"
        " ('earth_arkhamcity_sanitarium_room_foyer_001', 'Foyer', 'earth', 'arkham', 'san')"
    )
    bus = RecordingBus()
    app = create_app(make_settings(database_url), event_bus=bus)
    async with app.router.lifespan_context(app):  # what uvicorn runs at startup/shutdown
        layer = app.state.layer
        assert layer.db.attached  # on the connection RegisterTortoise made
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mud") as client:
            created = await client.post("/players", json={"name": "Henry Armitage"})
            assert created.status_code == 201, created.text
            player_id = created.json()["player_id"]
            assert created.json()["current_room_id"] == layer.settings.fallback_room_id
            taken = await client.post("/players", json={"name": "HENRY ARMITAGE"})
            assert taken.status_code == 409

            found = await client.get(f"/players/{player_id}")
            assert found.status_code == 200
            body = found.json()
            assert (body["name"], body["stats"]["current_health"]) == ("Henry Armitage", 100)

            missing = await client.get(f"/players/{uuid.uuid4()}")
            assert (missing.status_code, missing.json()["detail"]) == (404, "Player not found")
            assert (await client.get("/players/not-a-uuid")).status_code == 422

            by_name = await client.get("/players", params={"name": "henry armitage"})
            assert by_name.json()["player_id"] == player_id

            hit = {"amount": 30, "damage_type": "claw", "op_id": "claw-1"}
            damaged = await client.post(f"/players/{player_id}/damage", json=hit)
            assert damaged.json()["stats"]["current_health"] == 70
            again = await client.post(f"/players/{player_id}/damage", json=hit)
            assert again.json()["stats"]["current_health"] == 70  # a client retry is safe
            gone = await client.post(f"/players/{uuid.uuid4()}/damage", json={"amount": 1})
            assert gone.status_code == 404
            negative = await client.post(f"/players/{player_id}/damage", json={"amount": -5})
            assert negative.status_code == 422

            room = await client.get("/rooms/earth_arkhamcity_sanitarium_room_foyer_001")
            assert room.json()["name"] == "Foyer"
            assert (await client.get("/rooms/nowhere")).status_code == 404
    hp = await clean_db.fetchval("SELECT (stats->>'current_health')::int FROM players")
    assert hp == 70
    assert [type(e).__name__ for e in bus.published] == ["PlayerCreated", "PlayerHPUpdated"]
    assert not layer.db.started

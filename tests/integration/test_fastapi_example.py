"""examples/fastapi_app.py against a real PostgreSQL, through httpx."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from examples.fastapi_app import create_app
from persistence import ApplicationContainer
from tests.conftest import make_settings
from tests.factories import new_player

pytestmark = pytest.mark.integration


async def test_players_api(clean_db: asyncpg.Connection, database_url: str) -> None:
    container = ApplicationContainer(make_settings(database_url))
    app = create_app(container)
    async with app.router.lifespan_context(app):  # what uvicorn runs at startup/shutdown
        player = new_player("Henry Armitage")
        await container.persistence.players.save_player(player)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mud") as client:
            found = await client.get(f"/players/{player.player_id}")
            assert found.status_code == 200
            body = found.json()
            assert (body["name"], body["stats"]["current_health"]) == ("Henry Armitage", 100)

            missing = await client.get(f"/players/{uuid.uuid4()}")
            assert (missing.status_code, missing.json()["detail"]) == (404, "Player not found")
            assert (await client.get("/players/not-a-uuid")).status_code == 422

            by_name = await client.get("/players", params={"name": "HENRY ARMITAGE"})
            assert by_name.json()["player_id"] == str(player.player_id)

            hit = {"amount": 30, "damage_type": "claw", "op_id": "claw-1"}
            damaged = await client.post(f"/players/{player.player_id}/damage", json=hit)
            assert damaged.json()["stats"]["current_health"] == 70
            again = await client.post(f"/players/{player.player_id}/damage", json=hit)
            assert again.json()["stats"]["current_health"] == 70  # a client retry is safe
            gone = await client.post(f"/players/{uuid.uuid4()}/damage", json={"amount": 1})
            assert gone.status_code == 404
            assert (
                await client.post(f"/players/{player.player_id}/damage", json={"amount": -5})
            ).status_code == 422
    hp = await clean_db.fetchval("SELECT (stats->>'current_health')::int FROM players")
    assert hp == 70
    assert not container.persistence.db.started  # the lifespan closed the layer

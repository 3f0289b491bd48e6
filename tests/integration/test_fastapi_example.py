"""examples/fastapi_app.py against a real PostgreSQL, through httpx."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from examples.fastapi_app import create_app
from tests.conftest import RecordingBus, make_settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FALLBACK = "earth_arkhamcity_sanitarium_room_foyer_001"


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
            assert room.json()["players"] == ["Henry Armitage"]
            assert (await client.get("/rooms/nowhere")).status_code == 404
            nowhere = await client.post(f"/players/{player_id}/move", json={"direction": "up"})
            assert (nowhere.status_code, nowhere.json()["error"]) == (422, "NoExitError")
    hp = await clean_db.fetchval("SELECT (stats->>'current_health')::int FROM players")
    assert hp == 70
    assert [type(e).__name__ for e in bus.published] == ["PlayerCreated", "PlayerHPUpdated"]
    assert not layer.db.started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
async def test_uvicorn_on_the_embedded_default_as_documented() -> None:
    """`uvicorn examples.fastapi_app:app` with no MUD_DATABASE_URL: every route works."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUD_")}
    server = subprocess.Popen(  # noqa: S603, ASYNC220 - our own server, for the whole test
        [sys.executable, "-m", "uvicorn", "examples.fastapi_app:app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    foyer, hallway = FALLBACK, "earth_arkhamcity_sanitarium_room_hallway_001"
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 90
            while True:  # the embedded server starts, migrates and seeds first
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                try:
                    if (await client.get(f"/rooms/{foyer}")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "uvicorn did not come up in 90 s"
                await asyncio.sleep(0.5)
            created = await client.post("/players", json={"name": "Armitage"})
            assert created.status_code == 201, created.text
            pid = created.json()["player_id"]
            found = await client.get("/players", params={"name": "armitage"})
            assert found.json()["player_id"] == pid
            hit = await client.post(f"/players/{pid}/damage", json={"amount": 30, "op_id": "h-1"})
            assert hit.json()["stats"]["current_health"] == 70
            moved = await client.post(f"/players/{pid}/move", json={"direction": "north"})
            assert moved.json()["current_room_id"] == hallway
            room = await client.get(f"/rooms/{hallway}")
            assert room.json()["players"] == ["Armitage"]
            assert (await client.get(f"/players/{pid}")).json()["current_room_id"] == hallway
    finally:
        server.terminate()
        try:
            await asyncio.to_thread(server.wait, 30)
        except subprocess.TimeoutExpired:
            server.kill()
            await asyncio.to_thread(server.wait, 10)

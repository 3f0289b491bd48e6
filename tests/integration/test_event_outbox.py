"""The PostgreSQL event bus across OS processes (issue 15, point 5).

A writer process changes the world with ``PostgresEventBus``: each committed change's events
are stored in its transaction, a rolled-back one's never. A subscriber process receives them
at least once, with their ids; it is killed in the middle and restarted, and in the end has
every committed event (repeats only around the kill) and none of the rolled-back ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import textwrap
import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from persistence.errors import NotFoundError
from persistence.events import PlayerHPUpdated
from persistence.facade import AsyncPersistenceLayer
from persistence.outbox import DeliveredEvent, OutboxSubscriber, PostgresEventBus
from tests.conftest import make_settings
from tests.factories import new_player

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import asyncio, json, sys
    from persistence.facade import AsyncPersistenceLayer
    from persistence.outbox import PostgresEventBus
    from persistence.settings import PersistenceSettings
    from persistence.testing.factories import make_player

    async def main():
        settings = PersistenceSettings.model_validate_json(sys.argv[1])
        committed = []
        bus = PostgresEventBus()
        from persistence.events import Event
        bus.subscribe(Event, lambda e: committed.append(str(e.event_id)))
        async with AsyncPersistenceLayer(settings, event_bus=bus) as layer:
            await layer.seed_world()
            player = make_player("Outboxed")
            await layer.save_player(player)
            for n in range(40):
                if n % 5 == 4:
                    try:
                        async with layer.transaction():
                            await layer.update_player_health(player.player_id, -1, "doomed")
                            raise RuntimeError("rolled back")
                    except RuntimeError:
                        pass
                else:
                    await layer.update_player_health(player.player_id, -1 if n % 2 else 1, "tick")
            await bus.drain()
        print(json.dumps(committed), flush=True)

    asyncio.run(main())
    """
)

SUBSCRIBER = textwrap.dedent(
    """
    import asyncio, os, sys
    from persistence.outbox import OutboxSubscriber

    async def main():
        url, out = sys.argv[1], sys.argv[2]
        async def handle(event):
            with open(out, "a") as f:
                f.write(f"{event.event_id} {event.event_type} {event.data.get('reason')}\\n")
                f.flush()
                os.fsync(f.fileno())
            await asyncio.sleep(0.02)  # slow enough to be killed in the middle
        async with OutboxSubscriber(url, "scribe", handle, from_start=True, poll_interval=0.2):
            await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.slow
async def test_committed_events_reach_a_restarted_subscriber_at_least_once(
    clean_db: asyncpg.Connection, database_url: str, tmp_path: Path
) -> None:
    writer_script, subscriber_script = tmp_path / "writer.py", tmp_path / "subscriber.py"
    writer_script.write_text(WRITER)
    subscriber_script.write_text(SUBSCRIBER)
    out = tmp_path / "delivered.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        str(writer_script),
        make_settings(database_url, through_pooler=False).model_dump_json(),
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(writer.communicate(), 120)
    assert writer.returncode == 0
    committed = set(json.loads(stdout))
    stored = {str(r["event_id"]) for r in await clean_db.fetch("SELECT event_id FROM event_outbox")}
    assert stored == committed  # stored if and only if committed
    reasons = await clean_db.fetch("SELECT payload->>'reason' AS reason FROM event_outbox")
    assert "doomed" not in {r["reason"] for r in reasons}

    def start() -> asyncio.Future[asyncio.subprocess.Process]:
        return asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                sys.executable, str(subscriber_script), database_url, str(out), env=env
            )
        )

    first = await start()
    deadline = time.monotonic() + 60
    while len(_lines(out)) < 10 and time.monotonic() < deadline:  # noqa: ASYNC110 - polling a file
        await asyncio.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    killed_at = len(_lines(out))
    assert 10 <= killed_at < len(committed)
    second = await start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if {line.split()[0] for line in _lines(out)} >= committed:
                break
            await asyncio.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    delivered = [line.split()[0] for line in _lines(out)]
    assert set(delivered) == committed
    assert len(delivered) - len(committed) <= 1  # a repeat only for the event being handled


async def test_a_subscriber_sees_changes_of_this_process_and_not_rolled_back_ones(
    clean_db: asyncpg.Connection, database_url: str
) -> None:
    bus = PostgresEventBus()
    local: list[PlayerHPUpdated] = []
    bus.subscribe(PlayerHPUpdated, local.append)
    received: list[DeliveredEvent] = []
    settings = make_settings(database_url, through_pooler=False)
    async with AsyncPersistenceLayer(settings, event_bus=bus) as layer:
        await layer.seed_world()
        player = new_player("Watched")
        await layer.save_player(player)
        async with OutboxSubscriber(database_url, f"watch-{uuid.uuid4().hex[:6]}", received.append):
            await layer.update_player_health(player.player_id, -5, "hit")
            with pytest.raises(RuntimeError):
                async with layer.transaction():
                    await layer.update_player_health(player.player_id, -50, "doomed")
                    raise RuntimeError("no")
            with pytest.raises(NotFoundError):  # a failed call stores nothing either
                await layer.update_player_health(uuid.uuid4(), -1, "nobody")
            deadline = time.monotonic() + 5
            while not received and time.monotonic() < deadline:  # noqa: ASYNC110 - polling
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)
    assert [(e.event_type, e.data["reason"], e.data["new_hp"]) for e in received] == [
        ("PlayerHPUpdated", "hit", 95)
    ]
    assert received[0].event_id == local[-1].event_id
    assert [e.reason for e in local] == ["hit"]

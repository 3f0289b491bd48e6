"""``python -m persistence demo``: a small MUD running on the layer, then an audit.

200 players in 20 rooms fight (concurrent damage, healing, XP awards and level-ups), die
(a corpse takes their items), loot corpses and floors (concurrent transfers racing for the
same items) and watch corpses decay, for about 20 seconds. Then the database is audited:

* every player's HP equals the clamped result of the deltas applied to it (each reported
  step is a correct clamp, and the steps chain from the start to the stored value);
* every item exists exactly once, quantities are conserved, and replaying the movement
  ledger from each item's creation arrives at its owner;
* no container holds more items than its slots.

The exit status is non-zero when an invariant fails.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from persistence.errors import (
    ContainerFullError,
    ContainerLockedError,
    DuplicateError,
    ItemNotOwnedError,
    NotFoundError,
    StaleDataError,
)
from persistence.events import Event, InProcessEventBus, PlayerHPUpdated
from persistence.facade import AsyncPersistenceLayer
from persistence.models.player import Player
from persistence.models.stats import PlayerStats
from persistence.repositories.health import HealthChange
from persistence.settings import PersistenceSettings

__all__ = ["DemoReport", "run_demo", "steps_form_one_walk"]

_ROOM_PREFIX = "earth_arkhamcity_demo_room_arena"
_EXPECTED = (
    ItemNotOwnedError,
    ContainerFullError,
    ContainerLockedError,
    NotFoundError,
    StaleDataError,
)
_ENROL_ATTEMPTS = 5


def _run_tag() -> str:
    """A new run's tag: its players' names and its op_ids carry it (48 random bits)."""
    return uuid.uuid4().hex[:12]


@dataclass
class DemoReport:
    """What the demo did and what the audit found."""

    seconds: float = 0.0
    operations: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    invariants: dict[str, tuple[bool, str]] = field(default_factory=dict)
    deaths: int = 0

    @property
    def ok(self) -> bool:
        """Whether every invariant held."""
        return all(ok for ok, _ in self.invariants.values())

    def table(self) -> str:
        """The summary as text tables."""
        lines = [
            f"Simulated {self.seconds:.1f} s.",
            "",
            "| operation | done | ops/s |",
            "|---|---:|---:|",
        ]
        for name, count in sorted(self.operations.items()):
            lines.append(f"| {name} | {count:,} | {count / self.seconds:,.0f} |")
        total = sum(self.operations.values())
        lines.append(f"| **all** | {total:,} | {total / self.seconds:,.0f} |")
        if self.refused:
            lines += ["", "Refused as the rules say (typed errors, nothing changed):"]
            lines += [f"  {name}: {count:,}" for name, count in sorted(self.refused.items())]
        lines += ["", "| event | seen |", "|---|---:|"]
        lines += [f"| {name} | {count:,} |" for name, count in sorted(self.events.items())]
        lines += ["", "| invariant (checked against the database) | result |", "|---|---|"]
        for name, (ok, detail) in self.invariants.items():
            lines.append(f"| {name} | {'OK' if ok else 'FAILED'}: {detail} |")
        return "\n".join(lines)


def _demo_world(folder: Path, rooms: int) -> None:
    ids = [f"{_ROOM_PREFIX}_{n:03d}" for n in range(1, rooms + 1)]
    data = []
    for n, room_id in enumerate(ids):
        exits = {"east": ids[(n + 1) % rooms], "west": ids[(n - 1) % rooms]}
        data.append(
            {
                "room_id": room_id,
                "name": f"Arena {n + 1}",
                "description": "Sand, blood and an audience that is not quite human.",
                "plane": "earth",
                "zone": "arkhamcity",
                "sub_zone": "demo",
                "exits": exits,
            }
        )
    (folder / "rooms.json").write_text(json.dumps(data))


class _Game:
    def __init__(
        self, layer: AsyncPersistenceLayer, rng: random.Random, report: DemoReport
    ) -> None:
        self.layer = layer
        self.rng = rng
        self.report = report
        self.players: list[Player] = []
        self.rooms: list[str] = []
        self.dead: set[uuid.UUID] = set()
        self.corpses: dict[str, list[uuid.UUID]] = defaultdict(list)
        self.op = 0
        # Unique per run: op_ids are remembered (until purged), and a second run on the same
        # database must not find the first run's keys. The players' names carry it too, so
        # the names' unique index proves it unused (see _enrol).
        self.run = _run_tag()

    def next_op(self) -> str:
        self.op += 1
        return f"demo-{self.run}-{self.op}"

    async def attempt(self, kind: str, call: Any) -> Any:
        try:
            result = await call
        except _EXPECTED as exc:
            self.report.refused[type(exc).__name__] += 1
            return None
        self.report.operations[kind] += 1
        return result

    async def fighter(self, player: Player, until: float) -> None:
        layer, rng = self.layer, self.rng
        pid = player.player_id
        while time.monotonic() < until:
            if pid in self.dead:
                await asyncio.sleep(0.05)
                continue
            room = player.current_room_id
            roll = rng.random()
            if roll < 0.45:
                target = rng.choice(self.players)
                change = await self.attempt(
                    "damage",
                    layer.health.change_health(
                        target.player_id, -rng.randint(5, 30), "combat", op_id=self.next_op()
                    ),
                )
                if change is not None and change.died:  # exactly one blow kills
                    await self.die(change)
                    await self.attempt(
                        "gain_experience",
                        layer.experience.gain_experience(player, 40, "kill", op_id=self.next_op()),
                    )
            elif roll < 0.6:
                await self.attempt("heal", layer.health.heal_player(player, rng.randint(5, 20)))
            elif roll < 0.7:
                await self.attempt(
                    "gain_experience",
                    layer.experience.gain_experience(player, rng.randint(1, 25), "exploration"),
                )
            elif roll < 0.85 and self.corpses[room]:
                await self.loot_corpse(player, rng.choice(self.corpses[room]))
            elif roll < 0.93:
                await self.pick_up(player)
            else:
                await self.attempt(
                    "move_player", layer.players.move_player(player, rng.choice(("east", "west")))
                )
            await asyncio.sleep(0)

    async def die(self, death: HealthChange) -> None:
        victim = death.player_id
        self.dead.add(victim)
        corpse = await self.attempt(
            "create_corpse",
            # The change's own id makes the corpse: a second handler of this death gets it too.
            self.layer.containers.create_corpse_for(death, decay_after=timedelta(seconds=4)),
        )
        if corpse is not None:
            self.corpses[corpse.room_id].append(corpse.container_id)
        await asyncio.sleep(0.3)  # a moment on the floor, then respawn at full health
        await self.attempt(
            "respawn (heal)",
            self.layer.health.update_player_health(victim, 10_000, "respawn", op_id=self.next_op()),
        )
        self.dead.discard(victim)

    async def loot_corpse(self, player: Player, corpse_id: uuid.UUID) -> None:
        corpse = await self.layer.containers.get_container(corpse_id)
        if corpse is None or not corpse.items:
            return
        item = self.rng.choice(corpse.items)
        await self.attempt(
            "loot (transfer_item)",
            self.layer.items.transfer_item(
                item.item_instance_id,
                from_owner=("container", str(corpse_id)),
                to_owner=("player", str(player.player_id)),
                op_id=self.next_op(),
            ),
        )

    async def pick_up(self, player: Player) -> None:
        floor = await self.layer.items.get_items_by_owner("room", player.current_room_id)
        if not floor:
            return
        item = self.rng.choice(floor)
        await self.attempt(
            "pick up (transfer_item)",
            self.layer.items.transfer_item(
                item.item_instance_id,
                from_owner=("room", player.current_room_id),
                to_owner=("player", str(player.player_id)),
            ),
        )

    async def decay(self, until: float) -> None:
        while time.monotonic() < until:
            await asyncio.sleep(0.5)
            removed = await self.layer.containers.remove_decayed_containers()
            self.report.operations["decay (remove_decayed_containers)"] += len(removed)
            for room, ids in self.corpses.items():
                self.corpses[room] = [c for c in ids if c not in removed]


async def _enrol(layer: AsyncPersistenceLayer, game: _Game, count: int) -> list[Player]:
    """Save the run's players under names nobody has, and return them as stored.

    Each name is ``Investigator <n> <run tag>``: unique within the run by ``n``, and across
    runs by the tag. The tag is random, so a clash is unlikely but possible; the database's
    unique name index decides, not chance: a batch that clashes writes nothing (one
    statement) and the run draws a new tag. A tag whose names are taken may also have been
    a previous run's op_id prefix, so it is never kept.

    Raises:
        DuplicateError: Every attempt clashed (a database full of such names).
    """

    async def save() -> list[Player]:
        roster = [
            Player(
                player_id=uuid.uuid4(),
                user_id=uuid.uuid4(),
                name=f"Investigator {n:03d} {game.run}",
                current_room_id=game.rooms[n % len(game.rooms)],
                stats=PlayerStats(),
            )
            for n in range(count)
        ]
        await layer.players.save_players(roster)
        return await layer.players.get_players_batch([p.player_id for p in roster])

    for _ in range(_ENROL_ATTEMPTS - 1):
        try:
            return await save()
        except DuplicateError:
            game.run = _run_tag()
    return await save()


async def run_demo(
    settings: PersistenceSettings,
    *,
    duration: float = 20.0,
    players: int = 200,
    rooms: int = 20,
    seed: int = 1890,
    progress: Any = print,
) -> DemoReport:
    """Run the simulation and the audit; returns the report (``report.ok`` is the verdict)."""
    report = DemoReport()
    bus = InProcessEventBus()
    hp_steps: dict[uuid.UUID, list[tuple[int, int, int, int]]] = {}

    def count(event: Event) -> None:
        report.events[type(event).__name__] += 1

    def hp(event: PlayerHPUpdated) -> None:
        steps = hp_steps.setdefault(event.player_id, [])
        steps.append((event.old_hp, event.new_hp, event.delta, event.max_hp))
        report.deaths += event.died

    bus.subscribe(Event, count)
    bus.subscribe(PlayerHPUpdated, hp)
    rng = random.Random(seed)  # noqa: S311 - a game simulation, not cryptography
    layer = AsyncPersistenceLayer(settings, event_bus=bus, migrate=True)
    async with layer:
        progress(
            f"database: {'MUD_DATABASE_URL' if settings.database_url else 'embedded PostgreSQL'}"
        )
        await layer.seed_world()  # the sample world (it holds the fallback room)
        with tempfile.TemporaryDirectory() as folder:
            _demo_world(Path(folder), rooms)
            await layer.seed_world(Path(folder))
        game = _Game(layer, rng, report)
        game.rooms = [f"{_ROOM_PREFIX}_{n:03d}" for n in range(1, rooms + 1)]
        game.players = await _enrol(layer, game, players)
        for player in game.players:
            hp_steps.setdefault(player.player_id, [])
        quantities = {}
        for player in game.players:
            for k in range(rng.randint(2, 5)):
                item = await layer.items.create_item_instance(
                    f"demo-{player.player_id.hex}-{k}",
                    rng.choice(["weapon.knife", "book.occult", "lamp.oil", "coin.silver"]),
                    owner_type="player",
                    owner_id=str(player.player_id),
                    quantity=rng.randint(1, 3),
                )
                quantities[item.item_instance_id] = item.quantity
        progress(f"seeded {rooms} rooms, {players} players, {len(quantities)} items; fighting...")

        started = time.monotonic()
        until = started + duration

        async def ticker() -> None:
            while time.monotonic() < until:
                await asyncio.sleep(2)
                done = sum(report.operations.values())
                elapsed = time.monotonic() - started
                progress(
                    f"  {elapsed:4.0f} s  {done:7,} operations  {done / elapsed:6,.0f} ops/s  "
                    f"deaths {report.operations['create_corpse']:4}  "
                    f"loot {report.operations['loot (transfer_item)']:4}  "
                    f"decayed {report.operations['decay (remove_decayed_containers)']:4}"
                )

        await asyncio.gather(
            ticker(), game.decay(until), *(game.fighter(p, until) for p in game.players)
        )
        await bus.drain()
        report.seconds = time.monotonic() - started
        progress("auditing the database...")
        await _audit(layer, report, hp_steps, quantities)
    return report


async def _audit(
    layer: AsyncPersistenceLayer,
    report: DemoReport,
    hp_steps: dict[uuid.UUID, list[tuple[int, int, int, int]]],
    quantities: dict[str, int],
) -> None:
    """The demo's checks: its own players and items, then ``layer.audit()`` of everything.

    The demo's own bookkeeping covers only its players and items: a second run on the same
    database shares it with the first.
    """
    floor = layer.settings.health_floor
    players = await layer.players.get_players_batch(list(hp_steps))
    wrong = 0
    for player in players:
        steps = hp_steps.get(player.player_id, [])
        clamps = all(new == max(floor, min(m, old + d)) for old, new, d, m in steps)
        if not clamps or not steps_form_one_walk(
            [(old, new) for old, new, _, _ in steps], 100, player.stats.current_health
        ):
            wrong += 1
    report.invariants["HP equals the clamped result of the applied deltas"] = (
        wrong == 0,
        f"{len(players)} players, {sum(len(s) for s in hp_steps.values()):,} HP changes, "
        f"{wrong} wrong",
    )
    corpses = report.events["CorpseCreated"]
    report.invariants["every death made exactly one corpse"] = (
        corpses == report.deaths,
        f"{report.deaths} blows reported died=True, {corpses} corpses made",
    )
    audit = await layer.audit()
    counts = audit.counts
    found = {}
    for item_id in quantities:
        item = await layer.items.get_item_instance(item_id)
        if item is not None:
            found[item_id] = item.quantity
    once = found == quantities and not audit.of("duplicate_item") and not audit.of("orphan_item")
    report.invariants["every item exists exactly once, quantities conserved"] = (
        once,
        f"{len(found)} items of {len(quantities)}, quantity {sum(found.values())} of "
        f"{sum(quantities.values())}",
    )
    report.invariants["the movement ledger replays to every item's owner"] = (
        not audit.of("ledger_mismatch"),
        f"{counts['ledger_rows']:,} ledger rows (creations and moves), "
        f"{len(audit.of('ledger_mismatch'))} mismatches",
    )
    over = audit.of("container_over_capacity")
    report.invariants["no container over capacity"] = (
        not over,
        f"{counts['containers']} containers, {len(over)} over",
    )
    report.invariants["the database audit finds nothing else"] = (
        audit.ok,
        "every invariant holds" if audit.ok else str(audit).splitlines()[0],
    )


def steps_form_one_walk(steps: list[tuple[int, int]], start: int, final: int) -> bool:
    """Whether (old, new) steps of one value chain into a single walk from start to final.

    Concurrent updates of one row are serialised by its lock, so the steps each reported
    (old, new) must be orderable into one walk (an Eulerian trail) that ends at the value
    stored. A lost update breaks the chain.
    """
    if not steps:
        return start == final
    balance: Counter[int] = Counter()
    neighbours: dict[int, set[int]] = defaultdict(set)
    for old, new in steps:
        balance[old] += 1
        balance[new] -= 1
        neighbours[old].add(new)
        neighbours[new].add(old)
    expected: Counter[int] = Counter({start: 1})
    expected[final] -= 1
    if {k: v for k, v in balance.items() if v} != {k: v for k, v in expected.items() if v}:
        return False
    seen, todo = {start}, [start]
    while todo:
        for nxt in neighbours[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen == set(neighbours)


def main_demo(duration: float, players: int, url: str | None) -> int:
    """Run from the command line; returns the exit status."""
    overrides: dict[str, Any] = {"pool_max_size": 10}
    if url:
        overrides["database_url"] = url
    settings = PersistenceSettings(**overrides)
    report = asyncio.run(run_demo(settings, duration=duration, players=players))
    print()
    print(report.table())
    print()
    print("All invariants hold." if report.ok else "INVARIANT FAILED: see the table above.")
    sys.stdout.flush()
    return 0 if report.ok else 1

"""Timing: warm every side up, then run them in rounds whose order rotates; report medians.

A :class:`Case` is one operation written up to five ways (:data:`SIDES`): the layer's call
and four baselines. Each round times ``n`` operations of every side, one side after the
other; the side that goes first moves on by one each round, so no side always runs right
after the same neighbour or always first. Ratios are ``layer / side`` of the median round
times: below 1.0 the layer is faster.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Work = Callable[[int], Awaitable[None]]

LAYER = "layer"
SIDES = (LAYER, "asyncpg", "tortoise", "sqlalchemy", "floor")
"""Every way an operation is measured, in the order of the table's columns."""
BASELINES = SIDES[1:]
"""What the layer is compared with."""


@dataclass(frozen=True)
class Target:
    """The highest acceptable ``layer / side`` time ratio against one baseline.

    ``strict``: the ratio must be below ``limit`` (``<``) instead of at most it (``<=``).
    """

    side: str
    limit: float
    strict: bool = False

    def __post_init__(self) -> None:
        if self.side not in BASELINES:
            raise ValueError(f"a target compares with a baseline {BASELINES}, not {self.side!r}")

    def holds(self, ratio: float) -> bool:
        """Whether ``ratio`` meets this target."""
        return ratio < self.limit if self.strict else ratio <= self.limit

    def __str__(self) -> str:
        return f"{self.side} {'<' if self.strict else '<='} {self.limit:.2f}"


@dataclass
class Case:
    """One operation measured several ways.

    ``sides[side](n)`` performs ``n`` operations. A side left out is "n/a" in the results
    (not applicable, such as the single connection for a concurrent workload, or skipped);
    its targets are not applicable either. The layer side is required.
    """

    name: str
    n: int
    sides: Mapping[str, Work]
    targets: tuple[Target, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.sides) - set(SIDES)
        if unknown:
            raise ValueError(f"unknown sides {sorted(unknown)}; known: {SIDES}")
        if LAYER not in self.sides:
            raise ValueError("every case needs the layer side")


@dataclass(frozen=True)
class Check:
    """One target evaluated: the ratio found (``None``: its side was not measured)."""

    target: Target
    ratio: float | None

    @property
    def applicable(self) -> bool:
        """Whether the target's side was measured."""
        return self.ratio is not None

    @property
    def holds(self) -> bool | None:
        """Whether the target is met (``None`` when not applicable)."""
        return None if self.ratio is None else self.target.holds(self.ratio)


@dataclass
class Result:
    """Every round time of every side measured, and what follows from their medians."""

    name: str
    n: int
    rounds: int
    rounds_s: dict[str, list[float]]
    targets: tuple[Target, ...] = ()
    note: str = ""
    order: list[list[str]] = field(default_factory=list)
    """The order the sides ran in, per round."""
    statements: dict[str, list[int]] = field(default_factory=dict)
    """Statements each side sent for each of two single operations, pool resets and
    BEGIN/COMMIT included (filled in by the caller, which can see the driver)."""

    def measured(self, side: str) -> bool:
        """Whether ``side`` was measured for this operation."""
        return bool(self.rounds_s.get(side))

    def median_s(self, side: str) -> float | None:
        """The median round time of ``side`` (``None`` if not measured)."""
        times = self.rounds_s.get(side)
        return statistics.median(times) if times else None

    def ops_per_s(self, side: str) -> float | None:
        """Operations per second in the median round of ``side``."""
        median = self.median_s(side)
        return None if median is None else self.n / median

    def ratio(self, side: str) -> float | None:
        """``layer / side`` of the median round times (``None`` if ``side`` was not measured)."""
        layer, other = self.median_s(LAYER), self.median_s(side)
        if layer is None or other is None:
            return None
        return layer / other

    def spread(self, side: str = LAYER) -> tuple[float, float] | None:
        """The fastest and slowest round of ``side`` relative to its median round."""
        times = self.rounds_s.get(side)
        if not times:
            return None
        median = statistics.median(times)
        return min(times) / median, max(times) / median

    @property
    def checks(self) -> list[Check]:
        """Every target with the ratio it is judged on."""
        return [Check(t, self.ratio(t.side)) for t in self.targets]

    @property
    def missed(self) -> list[Check]:
        """The applicable targets that do not hold."""
        return [c for c in self.checks if c.holds is False]

    @property
    def meets_target(self) -> bool | None:
        """Whether all applicable targets hold (``None`` when none is applicable)."""
        applicable = [c for c in self.checks if c.applicable]
        if not applicable:
            return None
        return all(c.holds for c in applicable)

    def as_json(self) -> dict[str, Any]:
        """Plain data for --json: every side's round times, medians, ratios and targets."""
        sides: dict[str, Any] = {}
        for side in SIDES:
            if not self.measured(side):
                sides[side] = None
                continue
            spread = self.spread(side)
            assert spread is not None
            sides[side] = {
                "rounds_s": list(self.rounds_s[side]),
                "median_s": self.median_s(side),
                "ops_per_s": self.ops_per_s(side),
                "spread_min": spread[0],
                "spread_max": spread[1],
            }
        return {
            "name": self.name,
            "n": self.n,
            "rounds": self.rounds,
            "note": self.note,
            "sides": sides,
            "ratios": {f"layer/{side}": self.ratio(side) for side in BASELINES},
            "targets": [
                {
                    "side": c.target.side,
                    "limit": c.target.limit,
                    "strict": c.target.strict,
                    "ratio": c.ratio,
                    "holds": c.holds,
                }
                for c in self.checks
            ],
            "meets_target": self.meets_target,
            "order": self.order,
            "statements_per_op": {side: list(c) for side, c in self.statements.items()},
        }


def rotation(sides: list[str], round_no: int) -> list[str]:
    """The order of ``sides`` in round ``round_no``: the first side moves on by one each round."""
    if not sides:
        return []
    k = round_no % len(sides)
    return sides[k:] + sides[:k]


async def concurrently(k: int, one: Callable[[int], Awaitable[Any]], workers: int = 50) -> None:
    """Run ``one(0)``, ``one(1)``, ... ``k`` calls in all, spread over ``workers`` coroutines."""
    per_worker = [k // workers + (1 if w < k % workers else 0) for w in range(workers)]

    async def worker(count: int) -> None:
        for i in range(count):
            await one(i)

    await asyncio.gather(*(worker(c) for c in per_worker if c))


async def _timed(work: Work, n: int) -> float:
    start = time.perf_counter()
    await work(n)
    return time.perf_counter() - start


async def measure(case: Case, rounds: int, warmup: int) -> Result:
    """Warm every side up (``warmup`` operations each, in column order), then time rounds."""
    if rounds < 1:
        raise ValueError("at least one round")
    present = [side for side in SIDES if side in case.sides]
    for side in present:
        await case.sides[side](warmup)
    times: dict[str, list[float]] = {side: [] for side in present}
    order: list[list[str]] = []
    for round_no in range(rounds):
        sequence = rotation(present, round_no)
        order.append(sequence)
        for side in sequence:
            times[side].append(await _timed(case.sides[side], case.n))
    return Result(
        name=case.name,
        n=case.n,
        rounds=rounds,
        rounds_s=times,
        targets=case.targets,
        note=case.note,
        order=order,
    )


def _ops(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _spread(value: tuple[float, float] | None) -> str:
    if value is None:
        return ""
    low, high = value
    return f"{(low - 1) * 100:+.1f}% / {(high - 1) * 100:+.1f}%"


def _ok(result: Result) -> str:
    if result.meets_target is None:
        return ""
    if result.meets_target:
        return "yes"
    return "NO (" + ", ".join(f"{c.target.side} {c.ratio:.3f}" for c in result.missed) + ")"


def table(results: list[Result]) -> str:
    """A Markdown table: ops/s of every side, ``layer / side`` ratios, targets, verdict.

    Under each operation a second line gives the spread of each side's rounds: the fastest
    and the slowest round relative to that side's median round.
    """
    header = (
        ["operation", "N/round"]
        + [f"{side} ops/s" for side in SIDES]
        + [f"layer/{side}" for side in BASELINES]
        + ["target", "ok"]
    )
    align = ["---", "---:"] + ["---:"] * (len(SIDES) + len(BASELINES)) + ["---", ":-:"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for r in results:
        cells = [r.name, str(r.n)]
        cells += [_ops(r.ops_per_s(side)) for side in SIDES]
        cells += [_ratio(r.ratio(side)) for side in BASELINES]
        cells += [", ".join(str(t) for t in r.targets), _ok(r)]
        lines.append("| " + " | ".join(cells) + " |")
        spread = ["↳ spread: fastest / slowest round vs median", ""]
        spread += [_spread(r.spread(side)) for side in SIDES]
        spread += [""] * len(BASELINES) + ["", ""]
        lines.append("| " + " | ".join(spread) + " |")
    return "\n".join(lines)


def _counts(counts: list[int] | None) -> str:
    if not counts:
        return "n/a"
    return "/".join(str(c) for c in sorted(set(counts)))


def statements_table(results: list[Result]) -> str:
    """A Markdown table of the statements each side sent for one operation.

    Two operations are counted; where they differ (a transfer there and back) both counts
    are shown, as ``7/8``.
    """
    lines = [
        "| operation | " + " | ".join(SIDES) + " |",
        "|---|" + "---:|" * len(SIDES),
    ]
    for r in results:
        cells = [_counts(r.statements.get(side)) for side in SIDES]
        lines.append(f"| {r.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

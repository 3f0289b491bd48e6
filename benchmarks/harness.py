"""Timing: warm up, then interleave the layer and raw asyncpg in rounds; report medians."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

Work = Callable[[int], Awaitable[None]]


@dataclass
class Case:
    """One operation measured both ways.

    ``repo(n)`` and ``raw(n)`` each perform ``n`` operations; ``target`` is the highest
    acceptable repo/raw time ratio (``None``: reported only).
    """

    name: str
    repo: Work
    raw: Work
    n: int
    target: float | None = None
    note: str = ""


@dataclass
class Result:
    """Median throughput of both sides and their time ratio."""

    name: str
    n: int
    rounds: int
    repo_ops_per_s: float
    raw_ops_per_s: float
    ratio: float
    target: float | None
    note: str
    repo_rounds_s: list[float] = field(default_factory=list)
    raw_rounds_s: list[float] = field(default_factory=list)

    @property
    def meets_target(self) -> bool | None:
        """Whether the ratio is within the target (``None`` without a target)."""
        return None if self.target is None else self.ratio <= self.target

    def as_json(self) -> dict[str, Any]:
        """Plain data for --json."""
        data = asdict(self)
        data["meets_target"] = self.meets_target
        return data


async def _timed(work: Work, n: int) -> float:
    start = time.perf_counter()
    await work(n)
    return time.perf_counter() - start


async def measure(case: Case, rounds: int, warmup: int) -> Result:
    """Warm both sides up, then alternate which goes first in each round."""
    await case.repo(warmup)
    await case.raw(warmup)
    repo_times: list[float] = []
    raw_times: list[float] = []
    for round_no in range(rounds):
        if round_no % 2 == 0:
            repo_times.append(await _timed(case.repo, case.n))
            raw_times.append(await _timed(case.raw, case.n))
        else:
            raw_times.append(await _timed(case.raw, case.n))
            repo_times.append(await _timed(case.repo, case.n))
    repo_median = statistics.median(repo_times)
    raw_median = statistics.median(raw_times)
    return Result(
        name=case.name,
        n=case.n,
        rounds=rounds,
        repo_ops_per_s=case.n / repo_median,
        raw_ops_per_s=case.n / raw_median,
        ratio=repo_median / raw_median,
        target=case.target,
        note=case.note,
        repo_rounds_s=repo_times,
        raw_rounds_s=raw_times,
    )


def table(results: list[Result]) -> str:
    """A Markdown table of the results."""
    lines = [
        "| operation | N/round | layer ops/s | asyncpg ops/s | ratio (time) | target | ok |",
        "|---|---:|---:|---:|---:|---:|:-:|",
    ]
    for r in results:
        target = "" if r.target is None else f"<= {r.target:.2f}"
        ok = {True: "yes", False: "NO", None: ""}[r.meets_target]
        lines.append(
            f"| {r.name} | {r.n} | {r.repo_ops_per_s:,.0f} | {r.raw_ops_per_s:,.0f} "
            f"| {r.ratio:.3f} | {target} | {ok} |"
        )
    return "\n".join(lines)

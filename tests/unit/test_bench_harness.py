"""The benchmark harness measures both sides in alternating order and reports medians."""

from __future__ import annotations

import asyncio

from benchmarks.harness import Case, measure, table


async def test_ratio_of_medians_and_interleaving() -> None:
    order: list[str] = []

    async def slow(n: int) -> None:
        order.append("repo")
        await asyncio.sleep(0.002 * n)

    async def fast(n: int) -> None:
        order.append("raw")
        await asyncio.sleep(0.001 * n)

    result = await measure(Case("op", slow, fast, n=5, target=1.5), rounds=4, warmup=1)
    assert order[:2] == ["repo", "raw"]  # warm-up
    assert order[2:] == ["repo", "raw", "raw", "repo", "repo", "raw", "raw", "repo"]
    assert 1.3 < result.ratio < 3.0
    assert result.meets_target is False
    assert len(result.repo_rounds_s) == len(result.raw_rounds_s) == 4
    assert "| op | 5 |" in table([result])

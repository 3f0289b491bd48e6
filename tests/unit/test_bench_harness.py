"""The benchmark harness: five sides in rotating rounds, medians, ratios and targets."""

from __future__ import annotations

import asyncio
import sys

import asyncpg
import pytest

from benchmarks import cases
from benchmarks.__main__ import counting_statements, load_sqlalchemy_side
from benchmarks.harness import (
    BASELINES,
    LAYER,
    SIDES,
    Case,
    Result,
    Target,
    Work,
    concurrently,
    measure,
    rotation,
    statements_table,
    table,
)


def _recording(order: list[tuple[str, int]], side: str, seconds_per_op: float = 0.0) -> Work:
    async def work(n: int) -> None:
        order.append((side, n))
        await asyncio.sleep(seconds_per_op * n)

    return work


def _result(rounds_s: dict[str, list[float]], *targets: Target, n: int = 10) -> Result:
    rounds = len(rounds_s[LAYER])
    return Result(name="op", n=n, rounds=rounds, rounds_s=rounds_s, targets=targets)


async def test_warm_up_in_column_order_then_rounds_in_rotating_order() -> None:
    order: list[tuple[str, int]] = []
    sides = {side: _recording(order, side) for side in reversed(SIDES)}  # order given is ignored
    result = await measure(Case("op", 5, sides), rounds=6, warmup=2)
    assert order[:5] == [(side, 2) for side in SIDES]  # deterministic warm-up
    timed = [side for side, n in order[5:]]
    assert all(n == 5 for _, n in order[5:])
    rounds = [timed[i : i + 5] for i in range(0, len(timed), 5)]
    assert len(rounds) == 6
    for round_no, sequence in enumerate(rounds):
        assert sequence == rotation(list(SIDES), round_no)
        assert sequence[0] == SIDES[round_no % 5]  # each side goes first in turn
    assert result.order == rounds
    assert all(len(result.rounds_s[side]) == 6 for side in SIDES)


def test_rotation() -> None:
    assert rotation(["a", "b", "c"], 0) == ["a", "b", "c"]
    assert rotation(["a", "b", "c"], 1) == ["b", "c", "a"]
    assert rotation(["a", "b", "c"], 5) == ["c", "a", "b"]
    assert rotation([], 3) == []


async def test_a_side_left_out_is_not_measured_and_not_rotated() -> None:
    order: list[tuple[str, int]] = []
    sides = {side: _recording(order, side) for side in SIDES if side != "floor"}
    result = await measure(Case("op", 3, sides, (Target("floor", 1.3),)), rounds=4, warmup=1)
    assert "floor" not in {side for side, _ in order}
    assert [s for s, _ in order[4:8]] == ["layer", "asyncpg", "tortoise", "sqlalchemy"]
    assert [s for s, _ in order[8:12]] == ["asyncpg", "tortoise", "sqlalchemy", "layer"]
    assert not result.measured("floor")
    assert result.ops_per_s("floor") is None
    assert result.ratio("floor") is None
    assert result.meets_target is None  # its only target is not applicable
    assert result.as_json()["sides"]["floor"] is None


async def test_ratios_of_median_times_with_real_sleeps() -> None:
    order: list[tuple[str, int]] = []
    case = Case(
        "op",
        5,
        {LAYER: _recording(order, LAYER, 0.004), "asyncpg": _recording(order, "asyncpg", 0.002)},
        (Target("asyncpg", 1.5),),
    )
    result = await measure(case, rounds=3, warmup=1)
    ratio = result.ratio("asyncpg")
    assert ratio is not None
    assert 1.4 < ratio < 3.0
    assert result.meets_target is False


def test_medians_ratios_and_spread() -> None:
    result = _result(
        {
            LAYER: [1.0, 3.0, 2.0],  # median 2.0
            "asyncpg": [2.0, 2.0, 10.0],  # median 2.0
            "tortoise": [4.0, 5.0, 3.0],  # median 4.0
            "sqlalchemy": [8.0, 8.0, 8.0],
            "floor": [1.0, 1.0, 2.0],  # median 1.0
        },
        n=10,
    )
    assert result.median_s(LAYER) == 2.0
    assert result.ops_per_s(LAYER) == 5.0
    assert result.ratio("asyncpg") == 1.0
    assert result.ratio("tortoise") == 0.5
    assert result.ratio("sqlalchemy") == 0.25
    assert result.ratio("floor") == 2.0
    assert result.spread() == (0.5, 1.5)
    assert result.spread("asyncpg") == (1.0, 5.0)
    assert result.spread("nowhere") is None


def test_targets_inclusive_and_strict() -> None:
    assert Target("asyncpg", 1.0).holds(1.0)
    assert not Target("asyncpg", 1.0).holds(1.0001)
    assert not Target("sqlalchemy", 1.0, strict=True).holds(1.0)
    assert Target("sqlalchemy", 1.0, strict=True).holds(0.999)
    assert str(Target("floor", 1.3)) == "floor <= 1.30"
    assert str(Target("sqlalchemy", 1.0, strict=True)) == "sqlalchemy < 1.00"
    with pytest.raises(ValueError, match="baseline"):
        Target(LAYER, 1.0)


def test_a_row_meets_only_if_every_applicable_target_holds() -> None:
    times = {LAYER: [1.0], "asyncpg": [1.0], "tortoise": [2.0], "sqlalchemy": [1.0]}
    targets = (
        Target("asyncpg", 1.0),  # 1.0: holds (inclusive)
        Target("tortoise", 1.0),  # 0.5: holds
        Target("floor", 1.3),  # not measured: not applicable
    )
    assert _result(times, *targets).meets_target is True
    strict = (*targets, Target("sqlalchemy", 1.0, strict=True))  # 1.0: misses (strict)
    result = _result(times, *strict)
    assert result.meets_target is False
    assert [c.target.side for c in result.missed] == ["sqlalchemy"]
    checks = {c.target.side: c for c in result.checks}
    assert checks["floor"].applicable is False
    assert checks["floor"].holds is None
    assert checks["asyncpg"].holds is True
    assert _result(times).meets_target is None  # no targets at all


def test_case_checks_its_sides() -> None:
    async def noop(n: int) -> None:
        return None

    with pytest.raises(ValueError, match="layer"):
        Case("op", 1, {"asyncpg": noop})
    with pytest.raises(ValueError, match="unknown"):
        Case("op", 1, {LAYER: noop, "django": noop})


def test_table_shows_every_column_the_verdict_and_a_spread_line() -> None:
    met = _result(
        {LAYER: [1.0, 1.1, 0.9], "asyncpg": [2.0, 2.0, 2.0], "floor": [1.0, 1.0, 1.0]},
        Target("asyncpg", 1.0),
        Target("floor", 1.3),
    )
    missed = Result(
        name="slow op",
        n=4,
        rounds=1,
        rounds_s={LAYER: [2.0], "asyncpg": [1.0], "tortoise": [4.0]},
        targets=(Target("asyncpg", 1.3), Target("tortoise", 1.0)),
    )
    text = table([met, missed])
    lines = text.splitlines()
    header = lines[0]
    for side in SIDES:
        assert f"{side} ops/s" in header
    for side in BASELINES:
        assert f"layer/{side}" in header
    assert "| target | ok |" in header
    assert len(lines) == 2 + 2 * 2  # header, rule, and two lines per operation
    assert all(line.count("|") == header.count("|") for line in lines)
    row, spread = lines[2], lines[3]
    assert row.startswith("| op | 10 | 10 | 5 | n/a | n/a | 10 |")
    assert "| 0.500 | n/a | n/a | 1.000 |" in row
    assert "asyncpg <= 1.00, floor <= 1.30 | yes |" in row
    assert "spread" in spread
    assert "-10.0% / +10.0%" in spread
    assert lines[4].endswith("| NO (asyncpg 2.000) |")


def test_json_has_every_round_of_every_side() -> None:
    result = _result(
        {LAYER: [1.0, 2.0, 3.0], "asyncpg": [1.0, 1.0, 1.0], "tortoise": [3.0, 3.0, 3.0]},
        Target("asyncpg", 1.5),
    )
    result.statements = {LAYER: [1, 1], "asyncpg": [3, 2]}
    data = result.as_json()
    assert data["sides"][LAYER]["rounds_s"] == [1.0, 2.0, 3.0]
    assert data["sides"]["asyncpg"]["median_s"] == 1.0
    assert data["sides"]["tortoise"]["ops_per_s"] == 10 / 3.0
    assert data["sides"]["sqlalchemy"] is None
    assert data["ratios"]["layer/asyncpg"] == 2.0
    assert data["ratios"]["layer/floor"] is None
    assert data["targets"] == [
        {"side": "asyncpg", "limit": 1.5, "strict": False, "ratio": 2.0, "holds": False}
    ]
    assert data["meets_target"] is False
    assert data["statements_per_op"] == {LAYER: [1, 1], "asyncpg": [3, 2]}
    assert "| op | 1 | 2/3 | n/a | n/a | n/a |" in statements_table([result])


async def test_concurrently_spreads_the_calls_over_workers() -> None:
    seen: list[int] = []
    running = 0
    peak = 0

    async def one(i: int) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        seen.append(i)
        await asyncio.sleep(0)
        running -= 1

    await concurrently(103, one, workers=50)
    assert len(seen) == 103
    assert peak == 50
    await concurrently(3, one, workers=50)
    assert len(seen) == 106


async def test_statement_counter_patches_the_driver_and_restores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fake_fetch(self: object, query: str, *args: object) -> list[object]:
        return []

    monkeypatch.setattr(asyncpg.Connection, "fetch", fake_fetch)
    with counting_statements() as calls:
        assert asyncpg.Connection.fetch is not fake_fetch
        await asyncpg.Connection.fetch(object(), "SELECT 1")  # type: ignore[arg-type]
        await asyncpg.Connection.fetch(object(), "SELECT 2")  # type: ignore[arg-type]
    assert calls[0] == 2
    assert asyncpg.Connection.fetch is fake_fetch
    with pytest.raises(RuntimeError), counting_statements():
        raise RuntimeError("restored even when the block fails")
    assert asyncpg.Connection.fetch is fake_fetch


def test_sqlalchemy_column_is_skipped_when_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "benchmarks.sqlalchemy_side", raising=False)
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # makes `import sqlalchemy` fail
    module, why = load_sqlalchemy_side()
    assert module is None
    assert why is not None
    assert "pip install -e '.[bench]'" in why


def test_sqlalchemy_binds_for_the_asyncpg_statements() -> None:
    side = pytest.importorskip("benchmarks.sqlalchemy_side")
    sql = str(side.named("SELECT $1::uuid[], $2 + 1, cardinality($1::uuid[])", "ids", "d"))
    assert sql == "SELECT CAST(:ids AS uuid[]), :d + 1, cardinality(CAST(:ids AS uuid[]))"
    assert set(side.SA_HEALTH_BATCH.compile().params) == {"ids", "deltas"}
    assert set(side.SA_HEALTH.compile().params) == {"player_id", "delta"}


def test_targets_the_suite_encodes() -> None:
    orms = {(t.side, t.limit, t.strict) for t in cases.ORMS}
    assert orms == {("tortoise", 1.0, False), ("sqlalchemy", 1.0, True)}
    assert {(t.side, t.limit) for t in cases.ATOMIC} >= {("asyncpg", 1.0), ("floor", 1.3)}
    assert ("asyncpg", 1.3) in {(t.side, t.limit) for t in cases.ONE_ROW}
    assert ("asyncpg", 1.5) in {(t.side, t.limit) for t in cases.MANY_ROWS}
    assert ("asyncpg", 1.5) in {(t.side, t.limit) for t in cases.BATCH_SAVE}
    for group in (cases.ATOMIC, cases.ONE_ROW, cases.MANY_ROWS, cases.BATCH_SAVE):
        assert set(cases.ORMS) <= set(group)
    # Each side's compare-and-set save has rows of its own.
    assert len(set(cases.SAVE_ROW.values())) == len(SIDES)
    covered = [i for rows in cases.BATCH_ROWS.values() for i in range(rows.start, rows.stop)]
    assert len(covered) == len(set(covered)) == 1000 * len(SIDES)
    assert max(covered) < cases.PLAYERS
    assert not set(cases.SAVE_ROW.values()) & set(covered)


def test_baseline_pools_send_no_reset_query_through_a_pooler() -> None:
    from benchmarks.__main__ import keep_session, pooler_safe_pool_options
    from persistence.settings import PersistenceSettings

    # Direct: asyncpg's own default, as a user of asyncpg or Tortoise has it.
    assert pooler_safe_pool_options(PersistenceSettings()) == {}
    pooled = PersistenceSettings(pooler="pgbouncer-transaction")
    assert pooler_safe_pool_options(pooled) == {"reset": keep_session}
    # tests/integration/test_bench_pooler.py checks what reaches the server.

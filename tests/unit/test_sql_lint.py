"""Lint gate: no SQL is built by formatting anything but whitelisted constants.

ruff's S608 (enabled in pyproject.toml, run by CI) flags SQL built with f-strings, % or
.format(). This test is the second line: it walks the source and fails on any f-string,
%-format or .format() whose text looks like SQL unless its line carries a reviewed
``noqa: S608 - <reason>`` or ``safe-sql: <reason>`` (the places that format constant or
checked identifiers).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WITH|ALTER|CREATE|DROP)\b")


def _sources() -> list[Path]:
    return sorted([*(ROOT / "persistence").rglob("*.py"), *(ROOT / "models").rglob("*.py")])


def _text_of(node: ast.AST) -> str:
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return ""


def _formatted_sql(tree: ast.AST) -> list[ast.AST]:
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        if (
            (isinstance(node, ast.JoinedStr) and SQL.search(_text_of(node)))
            or (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Mod)
                and SQL.search(_text_of(node.left))
            )
            or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "format"
                and SQL.search(_text_of(node.func.value))
            )
        ):
            found.append(node)
    return found


def test_no_formatted_sql_without_a_reviewed_reason() -> None:
    offenders: list[str] = []
    for path in _sources():
        source = path.read_text()
        lines = source.splitlines()
        for node in _formatted_sql(ast.parse(source)):
            start, end = node.lineno, getattr(node, "end_lineno", node.lineno) or node.lineno
            window = lines[start - 2 : end + 1]
            if not any("noqa: S608 -" in line or "safe-sql:" in line for line in window):
                offenders.append(f"{path.relative_to(ROOT)}:{start}")
    assert offenders == [], f"SQL built by formatting: {offenders}"


def test_the_gate_catches_an_example() -> None:
    bad = ast.parse('name = "x"\nsql = f"SELECT * FROM players WHERE name = \'{name}\'"\n')
    assert len(_formatted_sql(bad)) == 1
    percent = ast.parse('sql = "DELETE FROM t WHERE id = %s" % 3\n')
    assert len(_formatted_sql(percent)) == 1

"""The SQL each catalogue indicator compiles to, snapshot-tested: a change shows as a diff.

After an intended change, rewrite the snapshots with
``MOUACHIR_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/kpi/test_sql_snapshots.py``
and review the diff in git.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from pathlib import Path

import pytest

from kpi import catalogue
from kpi.cli import main

from .conftest import CATALOGUE

SNAPSHOTS = Path(__file__).with_name("snapshots")
CAT = catalogue.load(CATALOGUE)


def _explain(ind_id: str, capsys) -> str:
    assert main(["--catalogue", str(CATALOGUE), "--warehouse", "/nonexistent.duckdb", "explain", ind_id]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("ind_id", list(CAT.indicators))
def test_generated_sql_matches_snapshot(ind_id, capsys):
    text = _explain(ind_id, capsys)
    path = SNAPSHOTS / f"{ind_id}.sql"
    if os.environ.get("MOUACHIR_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot for {ind_id}: run with MOUACHIR_UPDATE_SNAPSHOTS=1"
    expected = path.read_text(encoding="utf-8")
    diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                        f"snapshots/{ind_id}.sql", "generated"))
    assert text == expected, f"generated SQL of {ind_id} changed:\n{diff}"


def test_no_stale_snapshots():
    assert sorted(p.stem for p in SNAPSHOTS.glob("*.sql")) == sorted(CAT.indicators)


@pytest.mark.parametrize("ind_id", [i for i, c in CAT.indicators.items() if c.ind.kind != "derived"])
def test_explained_sql_runs_as_printed(ind_id, capsys):
    """What explain prints is the query the engine runs: each block parses and the whole binds."""
    from kpi import testing
    from kpi.compiler import Compiler

    c = CAT.indicators[ind_id]
    con = testing.build(c.ind.tests[0])
    comp = Compiler(CAT)
    for g in CAT.grains(c):
        q = comp.compile(c, g)
        # binds against the warehouse tables (EXPLAIN plans without running)
        values = {"as_of": dt.datetime(2026, 6, 30), "since": dt.date(1900, 1, 1),
                  "cal_from": dt.date(2025, 1, 1)}
        con.execute("EXPLAIN " + q.sql(pretty=True),
                    {k: v for k, v in values.items() if f"${k}" in q.sql()}).fetchall()
    con.close()


def test_explain_of_a_derived_indicator_names_its_inputs(capsys):
    out = _explain("requests_per_10000", capsys)
    assert "request_volume / population * 10000" in out and "inputs: request_volume, population" in out


def test_values_are_parameters_not_text():
    """Runtime values (as-of time, since) never appear in the SQL: only $parameters."""
    from kpi.compiler import Compiler

    comp = Compiler(CAT)
    for c in CAT.indicators.values():
        if c.ind.kind == "derived" or c.source.static:
            continue
        sql = comp.compile(c, CAT.grains(c)[0]).sql()
        assert "$as_of" in sql or not c.source.bounded
        assert "2026" not in sql and "2025" not in sql

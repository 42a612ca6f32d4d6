"""Period ends, local (Algiers) periods, partial refreshes and parameters, found in review."""

from __future__ import annotations

import datetime as dt

import pytest

from kpi import catalogue, testing
from kpi.cli import _as_of
from kpi.engine import Engine
from kpi.model import FixtureTest

from .conftest import CATALOGUE

HEAD = """version: 1
indicators:
"""


def _ind(id_: str, body: str) -> str:
    return f"""  - id: {id_}
    label: {{fr: "{id_}", ar: "{id_}", en: "{id_}"}}
    description: {{fr: "d", ar: "d", en: "d"}}
    category: requests
    unit: days
    owner: "test"
{body}
    direction: neutral
"""


def _value(con, ind, level, territory, grain, period):
    rows = con.execute("SELECT value FROM kpi_result WHERE indicator = ? AND level = ? AND territory = ? "
                       "AND grain = ? AND period = ? AND split = ''",
                       [ind, level, territory, grain, period]).fetchall()
    return rows[0][0] if rows else None


def _fixture(rows: dict) -> FixtureTest:
    return FixtureTest(name="t", rows=rows, expect=[{"level": "nation", "grain": "year", "period": "2026",
                                                     "value": None}])


def test_period_end_of_a_flow_is_the_end_of_each_grain(tmp_path):
    text = HEAD + _ind("age", """    source: requests
    kind: average
    time: submitted_at
    expr: date_diff('day', CAST(submitted_at AS DATE), period_last_day)""")
    cat = catalogue.load(tmp_path / "i.yaml", text=text)
    assert not cat.issues, cat.issues
    con = testing.build(_fixture({"fact_request": [
        {"commune_code": "1601", "submitted_at": "2026-01-05 09:00:00"},
        {"commune_code": "1601", "submitted_at": "2026-05-05 09:00:00"}]}))
    Engine(con, cat).refresh(full=True, as_of=dt.datetime(2026, 12, 31, 22, 0))
    assert _value(con, "age", "commune", "1601", "month", dt.date(2026, 1, 1)) == 26     # to 31 Jan
    assert _value(con, "age", "commune", "1601", "quarter", dt.date(2026, 1, 1)) == 85   # to 31 Mar
    assert _value(con, "age", "commune", "1601", "year", dt.date(2026, 1, 1)) == (360 + 240) / 2


def test_period_end_is_substituted_as_a_whole(tmp_path):
    text = HEAD + _ind("lag", """    source: batches
    kind: average
    time: finished_at
    expr: epoch(finished_at - period_end) / 3600""")
    cat = catalogue.load(tmp_path / "i.yaml", text=text)
    assert not cat.issues, cat.issues
    con = testing.build(_fixture({"etl_batch": [{"finished_at": "2026-01-31 12:00:00", "rows_read": 1}]}))
    Engine(con, cat).refresh(full=True, as_of=dt.datetime(2026, 2, 28))
    # January ends at 23:00 UTC on the 31st (midnight in Algiers): 11 hours before
    assert _value(con, "lag", "nation", "DZ", "month", dt.date(2026, 1, 1)) == pytest.approx(-11)


def test_a_dollar_in_a_stewards_string_is_not_a_parameter(tmp_path):
    text = HEAD + _ind("odd", """    source: requests
    kind: count
    time: submitted_at
    filter: request_id <> 'R$cal_from' AND request_id <> '$as_of'""")
    cat = catalogue.load(tmp_path / "i.yaml", text=text)
    con = testing.build(_fixture({"fact_request": [
        {"commune_code": "1601", "submitted_at": "2026-01-05 09:00:00"}]}))
    report = Engine(con, cat).refresh(full=True)
    assert report.unavailable == {}
    assert _value(con, "odd", "nation", "DZ", "month", dt.date(2026, 1, 1)) == 1


def test_as_of_day_means_the_end_of_that_day_in_algiers():
    assert _as_of("2026-06-30") == dt.datetime(2026, 6, 30, 22, 59, 59, 999999)
    assert _as_of("2026-06-30T18:00") == dt.datetime(2026, 6, 30, 18, 0)
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="not a date"):
        _as_of("yesterday")


def test_cli_rejects_a_bad_period_before_refreshing(tmp_path, capsys):
    from kpi.cli import main

    with pytest.raises(SystemExit):
        main(["--warehouse", str(tmp_path / "w.duckdb"), "compute", "--period", "2026-13"])
    assert "is not a period" in capsys.readouterr().err


def test_refreshing_some_indicators_leaves_the_next_refresh_to_do_the_rest():
    cat = catalogue.load(CATALOGUE)
    con = testing.build(_fixture({"fact_request": [
        {"commune_code": "1601", "submitted_at": "2026-01-05 09:00:00"}]}))
    for t in testing.FACTS:
        con.execute(f"UPDATE {t} SET _batch_id = 'B0001'")
    con.execute("INSERT INTO etl_batch (batch_id, run_id, source, dataset, connector, started_at, finished_at, "
                "rows_read, rows_loaded, rows_merged, rows_rejected, status) VALUES ('B0001', 't', 't', "
                "'requests', 'sql', TIMESTAMP '2026-01-06', TIMESTAMP '2026-01-06', 1, 1, 0, 0, 'ok')")
    engine = Engine(con, cat)
    engine.refresh(as_of=dt.datetime(2026, 2, 28))
    con.execute("INSERT INTO fact_request (request_id, commune_code, service_code, channel, submitted_at, "
                "status, updated_at, _batch_id) VALUES ('R9', '1601', 'EC_S12', 'web', "
                "TIMESTAMP '2026-02-03 09:00:00', 'submitted', TIMESTAMP '2026-02-03 09:00:00', 'B0002')")
    con.execute("INSERT INTO etl_batch (batch_id, run_id, source, dataset, connector, started_at, finished_at, "
                "rows_read, rows_loaded, rows_merged, rows_rejected, status) VALUES ('B0002', 't', 't', "
                "'requests', 'sql', TIMESTAMP '2026-02-04', TIMESTAMP '2026-02-04', 1, 1, 0, 0, 'ok')")
    engine.refresh(only=["request_volume"], as_of=dt.datetime(2026, 2, 28))
    assert _value(con, "request_volume", "commune", "1601", "month", dt.date(2026, 2, 1)) == 1
    assert _value(con, "digital_uptake", "commune", "1601", "month", dt.date(2026, 2, 1)) is None
    nxt = engine.refresh(as_of=dt.datetime(2026, 2, 28))
    assert not nxt.skipped
    assert _value(con, "digital_uptake", "commune", "1601", "month", dt.date(2026, 2, 1)) == 100


def test_deeply_nested_expression_is_a_located_problem(tmp_path):
    deep = "(" * 80 + "status = 'closed'" + ")" * 80
    text = HEAD + _ind("deep", f"""    source: requests
    kind: count
    time: submitted_at
    filter: "{deep}\"""") + _ind("fine", """    source: requests
    kind: count
    time: submitted_at""")
    cat = catalogue.load(tmp_path / "i.yaml", text=text)
    assert "fine" in cat.indicators and "deep" in cat.broken
    assert "nested too deeply" in cat.broken["deep"].reason
    assert cat.broken["deep"].issues[0].line == text.splitlines().index(f'    filter: "{deep}"') + 1

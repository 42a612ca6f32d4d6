"""What the pages show, built from the URL state, checked against the materialised figures and
the reference on a real demo warehouse (tests/conftest.py: demo_site)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from dashboards import data, tables
from dashboards.i18n import Translator
from dashboards.state import State

FR = Translator("fr")


@pytest.fixture()
def con(demo_env):
    c = duckdb.connect(str(demo_env["warehouse"]), read_only=True)
    yield c
    c.close()


def _kpi(con, indicator, level, grain, period, split="", member="", territory=None):
    sql = ("SELECT territory, value FROM kpi_result WHERE indicator = ? AND level = ? AND grain = ? AND period = ? "
           "AND split = ? AND member = ?")
    params = [indicator, level, grain, period, split, member]
    if territory:
        sql += " AND territory = ?"
        params.append(territory)
    return dict(con.execute(sql, params).fetchall())


def test_default_period_is_the_latest_complete_one(demo_env):
    as_of = data.as_of()
    p = data.default_period("month")
    assert p is not None and data.period_end("month", p) <= (as_of + dt.timedelta(hours=1)).date() + dt.timedelta(days=1)
    assert p in data.periods("month")


@pytest.mark.parametrize("indicator,reverse", [("on_time_rate", True), ("delay_median", False)])
def test_ranking_is_every_wilaya_best_first_with_the_engine_figures(con, indicator, reverse):
    table = tables.ranking(FR, State(indicator=indicator))
    period = data.default_period("month")
    expected = _kpi(con, indicator, "wilaya", "month", period)
    assert len(table.rows) == 69
    shown = {r["code"]: r["value"] for r in table.rows}
    assert {k: v for k, v in shown.items() if v is not None} == {k: v for k, v in expected.items() if v is not None}
    values = [r["value"] for r in table.rows if r["value"] is not None]
    assert values == sorted(values, reverse=reverse)        # best first, whichever direction is better
    assert [r["position"] for r in table.rows if r["value"] is not None] == list(range(1, len(values) + 1))
    assert ("Indicateur", tables.indicators.label(FR, indicator)) in table.filters


def test_a_service_filter_reads_the_split_figures(con):
    service = con.execute("SELECT member FROM kpi_result WHERE indicator = 'on_time_rate' AND split = 'service' "
                          "AND level = 'wilaya' LIMIT 1").fetchall()[0][0]
    table = tables.ranking(FR, State(indicator="on_time_rate", service=service))
    expected = _kpi(con, "on_time_rate", "wilaya", "month", data.default_period("month"), "service", service)
    assert {r["code"]: r["value"] for r in table.rows if r["value"] is not None} == \
        {k: v for k, v in expected.items() if v is not None}
    assert any(label == "Service" for label, _ in table.filters)
    # an indicator with no split by service says so, and shows all services
    pop = tables.ranking(FR, State(indicator="population", service=service))
    assert any("ne se ventile pas par service" in n for n in pop.notes)


def test_a_grain_an_indicator_does_not_have_is_replaced_and_said(demo_env):
    table = tables.ranking(FR, State(indicator="budget_execution", grain="month"))
    assert any("affiché par trimestre" in n for n in table.notes)
    assert sum(r["value"] is not None for r in table.rows) > 60


def test_communes_of_a_wilaya_with_daira_and_links(con):
    table = tables.communes(FR, State(territory="16", indicator="on_time_rate"))
    codes = {r["code"] for r in table.rows}
    assert codes == {c for (c,) in con.execute("SELECT commune_code FROM dim_commune WHERE wilaya_code = '16'")
                     .fetchall()}
    assert all(r["href"].startswith(f"/commune/{r['code']}") for r in table.rows)
    assert all(r["daira"] for r in table.rows)
    # statuses are the engine's
    period = data.default_period("month")
    status = dict(con.execute("SELECT territory, status FROM kpi_result WHERE indicator = 'on_time_rate' "
                              "AND level = 'commune' AND wilaya = '16' AND grain = 'month' AND period = ? "
                              "AND split = ''", [period]).fetchall())
    assert {r["code"]: r["status"] for r in table.rows if r["code"] in status} == status


def test_worst_movers_only_worsened_worst_first(demo_env):
    for ind in ("on_time_rate", "delay_median"):
        movers = tables.movers(FR, State(territory="16", indicator=ind))
        assert len(movers.rows) <= 10
        better = [r["better"] for r in movers.rows]
        assert all(b < 0 for b in better) and better == sorted(better)
        if ind == "delay_median":     # lower is better: a worsening is a rise
            assert all(r["change"] > 0 for r in movers.rows)


def test_scorecard_has_every_indicator_with_budgets_at_their_own_grain(con):
    table = tables.scorecard(FR, State(territory="1601"))
    ids = {r["indicator"] for r in table.rows}
    assert ids == set(tables.indicators.ids())
    budget = next(r for r in table.rows if r["indicator"] == "budget_execution")
    assert budget["value"] is not None and budget["period_text"].startswith("T")    # a quarter
    otr = next(r for r in table.rows if r["indicator"] == "on_time_rate")
    period = data.default_period("month")
    assert otr["value"] == _kpi(con, "on_time_rate", "commune", "month", period, territory="1601")["1601"]
    assert otr["rank_text"].count("/") == 1 and len(otr["spark"]) >= 2


def test_children_drill_down_the_levels(con):
    assert len(tables.children(FR, State()).rows) == 69
    dairas = tables.children(FR, State(territory="16")).rows
    assert dairas and all("-" in r["code"] for r in dairas)
    d = dairas[0]["code"]
    communes = tables.children(FR, State(territory=d)).rows
    expect = {c for (c,) in con.execute("SELECT commune_code FROM dim_commune WHERE daira_code = ?", [d]).fetchall()}
    assert {r["code"] for r in communes} == expect
    assert tables.children(FR, State(territory=communes[0]["code"])).rows == []


def test_split_by_channel_and_its_limit_at_the_commune(con):
    sp = tables.split(FR, State(territory="16", indicator="on_time_rate", by="channel"))
    channels = {c for (c,) in con.execute("SELECT channel_code FROM dim_channel").fetchall()}
    assert {r["code"] for r in sp.rows} <= channels and len(sp.rows) >= 2
    at_commune = tables.split(FR, State(territory="1601", indicator="on_time_rate", by="channel"))
    assert at_commune.rows == [] and any("daïra" in n for n in at_commune.notes)


def test_projects_late_or_stalled_of_the_territory(con):
    rows = tables.projects(FR, State(territory="16")).rows
    assert rows and all(r["wilaya_code"] == "16" for r in rows)
    assert all(r["status"] != "cancelled" for r in rows)
    assert [r["delay_days"] for r in rows] == sorted((r["delay_days"] for r in rows), reverse=True)
    assert all(r["status"] == "stalled" or r["delay_days"] > 0 for r in rows)


def test_theme_tables_list_the_communes_of_a_wilaya(con):
    t = tables.budget(FR, State(territory="31"))
    n = con.execute("SELECT count(*) FROM dim_commune WHERE wilaya_code = '31'").fetchall()[0][0]
    assert len(t.rows) == n and {c.key for c in t.columns} >= {"budget_execution", "commitment_rate"}
    assert sum(r["budget_execution"] is not None for r in t.rows) > n // 2

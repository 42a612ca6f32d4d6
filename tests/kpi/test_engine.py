"""The engine on a few thousand generated requests, checked against plain hand-written SQL."""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pytest

from kpi import catalogue, testing
from kpi.engine import Engine
from kpi.model import FixtureTest

from .conftest import CATALOGUE

COMMUNES = {"1601": ("16-01", 120_000), "1602": ("16-01", 30_000), "1603": ("16-02", 8_000),
            "3101": ("31-01", 60_000)}
SERVICES = [("EC_S12", "etat_civil", 0.5), ("RESIDENCE", "affaires_generales", 2.0),
            ("PERMIS_CONSTRUIRE", "urbanisme", 20.0), ("RECLAMATION", "reclamation", 30.0)]
AS_OF = dt.datetime(2026, 6, 15, 12, 0, 0)


def _requests(rng: random.Random, n: int, start: dt.datetime, end: dt.datetime, prefix: str) -> list[dict]:
    rows = []
    span = (end - start).total_seconds()
    for k in range(n):
        sub = start + dt.timedelta(seconds=rng.random() * span)
        svc = rng.choice(SERVICES)
        r = {"request_id": f"{prefix}{k}", "commune_code": rng.choice(list(COMMUNES)),
             "service_code": svc[0], "channel": rng.choice(["desk", "desk", "web", "mobile", "phone"]),
             "submitted_at": sub}
        u = rng.random()
        closed = sub + dt.timedelta(days=rng.expovariate(1 / max(svc[2], 1.0)))
        if u < 0.08 or closed > AS_OF:
            r["status"], r["closed_at"], r["updated_at"] = "in_progress", None, sub
        elif u < 0.11:
            r["status"], r["closed_at"], r["updated_at"] = "cancelled", None, sub
        else:
            r["status"] = "rejected" if u < 0.15 else "closed"
            r["closed_at"] = closed
            r["updated_at"] = closed
        rows.append(r)
    return rows


def _fixture(n: int = 4000) -> FixtureTest:
    rng = random.Random(42)
    return FixtureTest(
        name="generated",
        communes={c: {"daira": d, "population": p} for c, (d, p) in COMMUNES.items()},
        rows={
            "dim_service": [{"service_code": s, "category": cat, "name_fr": s, "name_ar": s, "name_en": s,
                             "legal_delay_days": days} for s, cat, days in SERVICES],
            "fact_request": _requests(rng, n, dt.datetime(2025, 1, 1), AS_OF, "R"),
            "fact_satisfaction": [{"commune_code": rng.choice(list(COMMUNES)), "rating": rng.randint(1, 5),
                                   "answered_at": dt.datetime(2025, 1, 1) + dt.timedelta(hours=rng.randint(0, 12000))}
                                  for _ in range(800)],
            "etl_batch": [{"batch_id": "B0001", "finished_at": AS_OF, "rows_read": n, "rows_rejected": 7}],
        },
        expect=[{"level": "nation", "grain": "year", "period": "2026", "value": None}],
    )


@pytest.fixture(scope="module")
def cat() -> catalogue.Catalogue:
    return catalogue.load(CATALOGUE)


@pytest.fixture(scope="module")
def wh(cat):
    con = testing.build(_fixture())
    con.execute("UPDATE fact_request SET _batch_id = 'B0001'")
    report = Engine(con, cat).refresh(full=True, as_of=AS_OF)
    assert report.rows > 0
    yield con
    con.close()


def _result(con, ind, level, grain, col="value"):
    return {(r[0], r[1]): r[2] for r in con.execute(
        f"SELECT territory, period, {col} FROM kpi_result WHERE indicator = ? AND level = ? AND grain = ? "
        "AND split = ''", [ind, level, grain]).fetchall()}


KEYS = {"commune": "r.commune_code", "daira": "c.daira_code", "wilaya": "c.wilaya_code", "nation": "'DZ'"}


@pytest.mark.parametrize("level", list(KEYS))
@pytest.mark.parametrize("grain", ["month", "quarter", "year"])
def test_volume_on_time_and_median_match_hand_written_sql(wh, level, grain):
    key = KEYS[level]
    base = ("FROM fact_request r JOIN dim_commune c USING (commune_code) "
            "JOIN dim_service s USING (service_code)")
    volume = dict(((t, p), v) for t, p, v in wh.execute(
        f"SELECT {key}, CAST(date_trunc('{grain}', submitted_at + INTERVAL 1 HOUR) AS DATE), count(*) {base} "
        "GROUP BY 1, 2").fetchall())
    assert _result(wh, "request_volume", level, grain) == pytest.approx(volume)
    on_time = dict(((t, p), v) for t, p, v in wh.execute(
        f"""SELECT {key}, CAST(date_trunc('{grain}', closed_at + INTERVAL 1 HOUR) AS DATE),
                   100.0 * avg(CASE WHEN epoch(closed_at - submitted_at) <= s.legal_delay_days * 86400
                                    THEN 1 ELSE 0 END)
            {base} WHERE status IN ('closed', 'rejected') GROUP BY 1, 2""").fetchall())
    assert _result(wh, "on_time_rate", level, grain) == pytest.approx(on_time, rel=1e-9)
    median = dict(((t, p), v) for t, p, v in wh.execute(
        f"""SELECT {key}, CAST(date_trunc('{grain}', closed_at + INTERVAL 1 HOUR) AS DATE),
                   median(epoch(closed_at - submitted_at) / 86400.0)
            {base} WHERE status IN ('closed', 'rejected') GROUP BY 1, 2""").fetchall())
    assert _result(wh, "delay_median", level, grain) == pytest.approx(median, rel=1e-9)


@pytest.mark.parametrize("level", ["commune", "wilaya", "nation"])
def test_backlog_matches_open_requests_counted_at_each_month_end(wh, level):
    key = KEYS[level]
    rows = wh.execute(f"SELECT {key}, submitted_at, closed_at, status FROM fact_request r "
                      "JOIN dim_commune c USING (commune_code)").fetchall()
    got = _result(wh, "backlog", level, "month")
    months = sorted({p for _, p in got})
    assert months[0] == dt.date(2025, 1, 1) and months[-1] == dt.date(2026, 6, 1)
    for m in months:
        # the end of the month in Algiers (UTC+1), as a UTC time
        end = min(dt.datetime(m.year + (m.month == 12), m.month % 12 + 1, 1) - dt.timedelta(hours=1), AS_OF)
        expected: dict[str, int] = {}
        for t, sub, closed, status in rows:
            if status != "cancelled" and sub < end and (closed is None or closed >= end):
                expected[t] = expected.get(t, 0) + 1
        assert {t: v for (t, p), v in got.items() if p == m} == expected, m


def test_quarter_stock_is_its_last_month_and_the_open_quarter_is_the_as_of_month(wh):
    month = _result(wh, "backlog", "nation", "month")
    quarter = _result(wh, "backlog", "nation", "quarter")
    assert quarter[("DZ", dt.date(2025, 1, 1))] == month[("DZ", dt.date(2025, 3, 1))]
    assert quarter[("DZ", dt.date(2026, 4, 1))] == month[("DZ", dt.date(2026, 6, 1))]


def test_previous_period_last_year_and_year_to_date(wh):
    vals = _result(wh, "request_volume", "wilaya", "month")
    prev = _result(wh, "request_volume", "wilaya", "month", "prev_value")
    yoy = _result(wh, "request_volume", "wilaya", "month", "yoy_value")
    ytd = _result(wh, "request_volume", "wilaya", "month", "ytd_value")
    k = ("16", dt.date(2026, 3, 1))
    assert prev[k] == vals[("16", dt.date(2026, 2, 1))]
    assert yoy[k] == vals[("16", dt.date(2025, 3, 1))]
    assert ytd[k] == sum(vals[("16", dt.date(2026, m, 1))] for m in (1, 2, 3))
    assert prev[("16", dt.date(2025, 1, 1))] is None
    # ratio year to date: sum of numerators over sum of denominators since January
    num, den = wh.execute("""
        SELECT sum(num), sum(den) FROM kpi_result WHERE indicator = 'on_time_rate' AND level = 'wilaya'
          AND territory = '31' AND grain = 'month' AND split = '' AND period BETWEEN '2026-01-01' AND '2026-04-01'
    """).fetchall()[0]
    got = _result(wh, "on_time_rate", "wilaya", "month", "ytd_value")[("31", dt.date(2026, 4, 1))]
    assert got == pytest.approx(100.0 * num / den)


def test_percentile_year_to_date_is_known_for_the_current_period_only(wh):
    ytd = _result(wh, "delay_median", "nation", "month", "ytd_value")
    year = _result(wh, "delay_median", "nation", "year")
    assert ytd[("DZ", dt.date(2026, 6, 1))] == year[("DZ", dt.date(2026, 1, 1))]
    assert ytd[("DZ", dt.date(2025, 12, 1))] == year[("DZ", dt.date(2025, 1, 1))]
    assert ytd[("DZ", dt.date(2026, 3, 1))] is None


def test_ranks_within_wilaya_and_peer_groups(wh):
    rows = wh.execute("""
        SELECT territory, value, rank_parent, count_parent, peer_group, rank_peer FROM kpi_result
        WHERE indicator = 'on_time_rate' AND level = 'commune' AND grain = 'year'
          AND period = '2025-01-01' AND split = '' ORDER BY territory""").fetchall()
    in16 = sorted([r for r in rows if r[0].startswith("16")], key=lambda r: -r[1])
    assert [r[2] for r in in16] == [1, 2, 3] and all(r[3] == 3 for r in in16)
    r3101 = [r for r in rows if r[0] == "3101"][0]
    assert r3101[2] == 1 and r3101[3] == 1
    bands = {r[0]: r[4] for r in rows}
    assert bands["1603"] == "< 10 000" and bands["1601"] == "100 000 – 250 000"
    # lower is better: the shortest median ranks first
    med = wh.execute("""
        SELECT territory, value, rank_parent FROM kpi_result WHERE indicator = 'delay_median'
          AND level = 'wilaya' AND grain = 'year' AND period = '2025-01-01' AND split = ''""").fetchall()
    best = min(med, key=lambda r: r[1])
    assert best[2] == 1


def test_splits_add_up_to_the_total(wh):
    total, parts = wh.execute("""
        SELECT max(value) FILTER (WHERE split = ''), sum(value) FILTER (WHERE split = 'channel')
        FROM kpi_result WHERE indicator = 'request_volume' AND level = 'wilaya' AND territory = '16'
          AND grain = 'year' AND period = '2025-01-01'""").fetchall()[0]
    assert total == parts and total > 0
    assert wh.execute("SELECT count(*) FROM kpi_result WHERE split <> '' AND level = 'commune'").fetchall()[0][0] == 0


def test_status_uses_the_wilaya_override_and_the_trajectory(wh):
    rows = dict(((t, p), (v, tg, st)) for t, p, v, tg, st in wh.execute("""
        SELECT territory, period, value, target, status FROM kpi_result WHERE indicator = 'on_time_rate'
          AND level = 'wilaya' AND grain = 'month' AND split = ''""").fetchall())
    assert rows[("16", dt.date(2025, 5, 1))][1] == 85          # per-wilaya override
    assert rows[("31", dt.date(2025, 5, 1))][1] == 75          # national value
    assert rows[("31", dt.date(2026, 5, 1))][1] == 80          # trajectory step from 2026
    for v, tg, st in rows.values():
        expected = "green" if v >= tg else "amber" if v >= 0.9 * tg else "red"
        assert st == expected


def test_national_only_source_has_only_the_nation(wh):
    levels = {r[0] for r in wh.execute(
        "SELECT DISTINCT level FROM kpi_result WHERE indicator = 'quarantine_rate'").fetchall()}
    assert levels == {"nation"}
    v = _result(wh, "quarantine_rate", "nation", "month")[("DZ", dt.date(2026, 6, 1))]
    assert v == pytest.approx(100 * 7 / 4000)


def _snapshot(con) -> list[tuple]:
    return con.execute("SELECT * EXCLUDE (n) FROM kpi_result ORDER BY ALL").fetchall()


def test_incremental_refresh_gives_what_a_full_refresh_gives(cat):
    fx = _fixture(3000)
    con = testing.build(fx)
    for t in testing.FACTS:
        con.execute(f"UPDATE {t} SET _batch_id = 'B0001'")
    engine = Engine(con, cat)
    first = engine.refresh(as_of=dt.datetime(2026, 5, 31, 23, 0))
    assert first.mode == "full"
    # a new batch: requests of June, and the closing of some May requests
    con.execute("INSERT INTO etl_batch (batch_id, run_id, source, dataset, connector, started_at, finished_at, "
                "rows_read, rows_loaded, rows_merged, rows_rejected, status) VALUES "
                "('B0002', 't', 't', 'requests', 'sql', TIMESTAMP '2026-06-15 12:00:00', "
                "TIMESTAMP '2026-06-15 12:00:00', 60, 50, 10, 0, 'ok')")
    new = _requests(random.Random(7), 50, dt.datetime(2026, 6, 1), AS_OF, "N")
    for r in new:
        cols = list(r) + ["_batch_id"]
        con.execute(f"INSERT INTO fact_request ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                    [r[c] for c in r] + ["B0002"])
    con.execute("""UPDATE fact_request SET status = 'closed', closed_at = TIMESTAMP '2026-06-02 10:00:00',
                   updated_at = TIMESTAMP '2026-06-02 10:00:00', _batch_id = 'B0002'
                   WHERE status = 'in_progress' AND submitted_at >= TIMESTAMP '2026-05-20'""")
    inc = engine.refresh()
    # from the first month touched (May: mid-quarter, so Q2 is rolled up from the stored April
    # and the new May and June)
    assert inc.mode == "incremental" and inc.since == dt.date(2026, 5, 1)
    incremental = _snapshot(con)
    full = engine.refresh(full=True)
    assert full.mode == "full"
    assert incremental == _snapshot(con)
    again = engine.refresh()
    assert again.skipped
    # a late correction of a request of August 2025: the refresh goes back to August 2025
    con.execute("INSERT INTO etl_batch (batch_id, run_id, source, dataset, connector, started_at, finished_at, "
                "rows_read, rows_loaded, rows_merged, rows_rejected, status) VALUES "
                "('B0003', 't', 't', 'requests', 'sql', TIMESTAMP '2026-06-15 13:00:00', "
                "TIMESTAMP '2026-06-15 13:00:00', 1, 0, 1, 0, 'ok')")
    con.execute("""UPDATE fact_request SET service_code = 'RECLAMATION', _batch_id = 'B0003'
                   WHERE request_id = (SELECT min(request_id) FROM fact_request
                                       WHERE submitted_at >= TIMESTAMP '2025-08-10' AND submitted_at < TIMESTAMP '2025-08-20')""")
    late = engine.refresh()
    assert late.mode == "incremental" and late.since == dt.date(2025, 8, 1)
    incremental = _snapshot(con)
    engine.refresh(full=True)
    assert incremental == _snapshot(con)
    con.close()


def test_changing_the_catalogue_forces_a_full_refresh(cat, tmp_path):
    con = testing.build(_fixture(500))
    con.execute("UPDATE fact_request SET _batch_id = 'B0001'")
    Engine(con, cat).refresh(as_of=AS_OF)
    text = CATALOGUE.read_text(encoding="utf-8").replace("green: 1, amber: 3", "green: 2, amber: 4")
    other = catalogue.load(tmp_path / "i.yaml", text=text)
    assert other.fingerprint != cat.fingerprint
    report = Engine(con, other).refresh(as_of=AS_OF)
    assert report.mode == "full" and not report.skipped
    con.close()


def test_refresh_into_the_warehouse_file_is_atomic(tmp_path, cat):
    from kpi.errors import WarehouseError
    from kpi.store import updating

    path = tmp_path / "wh.duckdb"
    src = testing.build(_fixture(300))
    src.execute(f"ATTACH '{path}' AS f")
    src.execute("COPY FROM DATABASE memory TO f")
    src.close()
    with pytest.raises(RuntimeError):
        with updating(path) as con:
            Engine(con, cat).refresh(as_of=AS_OF)
            raise RuntimeError("killed half-way")
    ro = duckdb.connect(str(path), read_only=True)
    assert ro.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'kpi_result'").fetchall()[0][0] == 0
    ro.close()
    assert not (tmp_path / "wh.duckdb.next").exists()
    with updating(path) as con:
        Engine(con, cat).refresh(as_of=AS_OF)
    ro = duckdb.connect(str(path), read_only=True)
    assert ro.execute("SELECT count(*) FROM kpi_result").fetchall()[0][0] > 0
    ro.close()
    with pytest.raises(WarehouseError, match="does not exist yet"):
        with updating(tmp_path / "missing.duckdb"):
            pass

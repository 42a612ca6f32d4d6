"""KPI benchmark (not a test): full refresh, incremental refresh, generated SQL vs hand-written.

    .venv/bin/python bench/kpi.py --warehouse data/warehouse.duckdb          # the 2 M demo
    .venv/bin/python bench/kpi.py --warehouse data/bench/demo20m.duckdb      # 20 M requests

(build the 20 M warehouse first with
``python -m etl demo --requests 20000000 --out data/bench/demo20m --warehouse data/bench/demo20m.duckdb``).

1. **Full refresh** of the whole catalogue at every level and grain, on a copy of the warehouse,
   through the same path as ``python -m kpi compute --full`` (copy, compute, swap): end to end
   and the engine's own time.
2. **Incremental refresh after a one-day batch**: a day of new requests (the size of an average
   day of the data) is appended to the copy as a new ETL batch, then ``compute`` runs again.
3. **Generated vs hand-written**: for each indicator, its generated base query and a
   hand-written DuckDB query computing the same result rows (every level, the splits) are run in
   the same process, alternately, best of ``--repeat``; the two results are checked equal, and
   the ratio is printed.

Results are printed and appended to bench/results/kpi.jsonl (gitignored); copy them with the
command line into docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kpi import catalogue  # noqa: E402
from kpi.compiler import Compiler, base_grain  # noqa: E402
from kpi.engine import Engine, data_as_of  # noqa: E402
from kpi.store import updating  # noqa: E402

LEVEL = ("CASE WHEN GROUPING(commune) = 0 THEN 'commune' WHEN GROUPING(daira) = 0 THEN 'daira' "
         "WHEN GROUPING(wilaya) = 0 THEN 'wilaya' ELSE 'nation' END AS level, "
         "coalesce(commune, daira, wilaya, 'DZ') AS territory")


def sets(key: str, splits: list[str], daira_splits: bool = True) -> str:
    """GROUPING SETS of the four levels, unsplit and split (no commune-level splits; no daïra
    splits for percentiles)."""
    out = [f"({key}, commune, daira, wilaya)", f"({key}, daira, wilaya)", f"({key}, wilaya)", f"({key})"]
    for s in splits:
        out += ([f"({key}, {s}, daira, wilaya)"] if daira_splits else []) + [f"({key}, {s}, wilaya)", f"({key}, {s})"]
    return "GROUPING SETS (" + ", ".join(out) + ")"


def member(splits: list[str]) -> str:
    if not splits:
        return "'' AS split, '' AS member"
    case = " ".join(f"WHEN GROUPING({s}) = 0 THEN '{s}'" for s in splits)
    return f"CASE {case} ELSE '' END AS split, coalesce({', '.join(splits)}, '') AS member"


REQ = ("FROM fact_request r JOIN dim_commune c ON c.commune_code = r.commune_code "
       "LEFT JOIN dim_service s ON s.service_code = r.service_code")
TERR = "c.commune_code AS commune, c.daira_code AS daira, c.wilaya_code AS wilaya"
# months in Algiers (UTC+1): a month ends at 23:00 UTC on its last day
CAL = ("(SELECT CAST(m AS DATE) AS p, least(m + INTERVAL 1 MONTH - INTERVAL 1 HOUR, $as_of) AS pe "
       "FROM generate_series("
       "CAST(date_trunc('month', (SELECT min({start}) FROM {table}) + INTERVAL 1 HOUR) AS TIMESTAMP), "
       "CAST(date_trunc('month', $as_of + INTERVAL 1 HOUR) AS TIMESTAMP), INTERVAL 1 MONTH) AS g(m))")
SVC_CH = "coalesce(r.service_code, '(none)') AS service, coalesce(r.channel, '(none)') AS channel"


def flow_requests(t: str, where: str, cols: str, agg: str, splits: list[str],
                  table: str = "fact_request", extra_cols: str = SVC_CH, frm: str = REQ) -> str:
    return f"""
WITH x AS (
  SELECT {TERR}, CAST(date_trunc('month', {t} + INTERVAL 1 HOUR) AS DATE) AS period, {extra_cols}, {cols}
  {frm}
  WHERE {where} AND {t} IS NOT NULL AND {t} <= $as_of
)
SELECT {LEVEL}, wilaya, period, {member(splits)}, {agg}
FROM x GROUP BY {sets('period', splits, 'quantile' not in agg)}"""


def stock_requests(where: str, cols: str, agg: str, splits: list[str]) -> str:
    return f"""
WITH p AS {CAL.format(start='submitted_at', table='fact_request')},
x AS (
  SELECT {TERR}, p.p AS period, {SVC_CH}, {cols}
  {REQ} JOIN p ON r.submitted_at < p.pe AND coalesce(r.closed_at, TIMESTAMP 'infinity') >= p.pe
  WHERE {where}
)
SELECT {LEVEL}, wilaya, period, {member(splits)}, {agg}
FROM x GROUP BY {sets('period', splits)}"""


DEADLINE = "r.submitted_at + to_microseconds(CAST(round(s.legal_delay_days * 86400000000.0) AS BIGINT))"
DELAY = "epoch(r.closed_at - r.submitted_at) / 86400.0"
COUNT = "count(*)::DOUBLE AS value, count(*)::DOUBLE AS num, NULL::DOUBLE AS den, count(*) AS n"


def ratio_agg(num: str, den: str, scale: float) -> str:
    return (f"({num}) / nullif({den}, 0) * {scale} AS value, ({num})::DOUBLE AS num, "
            f"({den})::DOUBLE AS den, count(*) AS n")


def budget(where: str, num: str, den: str, splits: list[str]) -> str:
    ytd = lambda p: " + ".join(f"CASE WHEN q.q >= {k} THEN coalesce(b.{p}_t{k}, 0) ELSE 0 END" for k in range(1, 5))  # noqa: E731
    return f"""
WITH p AS (SELECT CAST(m AS DATE) AS p, least(m + INTERVAL 3 MONTH - INTERVAL 1 HOUR, $as_of) AS pe
        FROM generate_series(
        CAST(date_trunc('quarter', (SELECT min(make_date(fiscal_year, 3, 31)) FROM fact_budget)) AS TIMESTAMP),
        CAST(date_trunc('quarter', $as_of + INTERVAL 1 HOUR) AS TIMESTAMP), INTERVAL 3 MONTH) AS g(m)),
y AS (
  SELECT {TERR}, p.p AS period, coalesce(b.section, '(none)') AS section,
         {ytd('mandate')} AS mandate_ytd, {ytd('engage')} AS engage_ytd,
         b.prevu_bp + coalesce(b.prevu_bs, 0) AS prevu, b.origine,
         last_day(make_date(b.fiscal_year, q.q * 3, 1)) AS snap,
         bool_or(CASE q.q WHEN 1 THEN coalesce(b.mandate_t1, b.engage_t1) WHEN 2 THEN coalesce(b.mandate_t2, b.engage_t2)
                 WHEN 3 THEN coalesce(b.mandate_t3, b.engage_t3) ELSE coalesce(b.mandate_t4, b.engage_t4) END IS NOT NULL)
             OVER (PARTITION BY b.commune_code, b.fiscal_year, q.q) AS reported
  FROM fact_budget b JOIN dim_commune c ON c.commune_code = b.commune_code
  CROSS JOIN (VALUES (1), (2), (3), (4)) q(q)
  JOIN p ON last_day(make_date(b.fiscal_year, q.q * 3, 1)) >= p.p
        AND last_day(make_date(b.fiscal_year, q.q * 3, 1)) < p.pe
  WHERE {where}
), x AS (
  SELECT * FROM y WHERE reported QUALIFY snap = max(snap) OVER (PARTITION BY period, commune)
)
SELECT {LEVEL}, wilaya, period, {member(splits)}, {ratio_agg(num, den, 100.0) if den else
       f"coalesce(sum({num}), 0) AS value, sum({num}) AS num, NULL::DOUBLE AS den, count({num}) AS n"}
FROM x GROUP BY {sets('period', splits)}"""


PRJ = "FROM fact_project f JOIN dim_commune c ON c.commune_code = f.commune_code"
PRJ_SPLITS = "coalesce(f.programme, '(none)') AS programme, coalesce(f.sector, '(none)') AS sector"


def project_stock(where: str, to: bool, cols: str, agg: str, splits: list[str], extra: str) -> str:
    cond = "coalesce(f.actual_start, f.planned_start) < p.pe"
    if to:
        cond += " AND coalesce(CAST(f.actual_end AS TIMESTAMP), TIMESTAMP 'infinity') >= p.pe"
    return f"""
WITH p AS {CAL.format(start='coalesce(actual_start, planned_start)', table='fact_project')},
x AS (
  SELECT {TERR}, p.p AS period, {extra}, {cols}
  {PRJ} JOIN p ON {cond}
  WHERE {where}
)
SELECT {LEVEL}, wilaya, period, {member(splits)}, {agg}
FROM x GROUP BY {sets('period', splits)}"""


SAT = ("FROM fact_satisfaction r JOIN dim_commune c ON c.commune_code = r.commune_code")
HAND: dict[str, str] = {
    "request_volume": flow_requests(
        "r.submitted_at", "TRUE", "s.category AS service_category_", COUNT,
        ["service", "channel", "service_category"],
        extra_cols=SVC_CH + ", coalesce(s.category, '(none)') AS service_category"),
    "delay_median": flow_requests(
        "r.closed_at", "r.status IN ('closed', 'rejected')", f"{DELAY} AS d",
        "quantile_cont(d, 0.5) AS value, NULL::DOUBLE AS num, NULL::DOUBLE AS den, count(d) AS n",
        ["service", "channel"], frm="FROM fact_request r JOIN dim_commune c ON c.commune_code = r.commune_code"),
    "delay_p90": flow_requests(
        "r.closed_at", "r.status IN ('closed', 'rejected')", f"{DELAY} AS d",
        "quantile_cont(d, 0.9) AS value, NULL::DOUBLE AS num, NULL::DOUBLE AS den, count(d) AS n",
        ["service", "channel"], frm="FROM fact_request r JOIN dim_commune c ON c.commune_code = r.commune_code"),
    "on_time_rate": flow_requests(
        "r.closed_at", "r.status IN ('closed', 'rejected')", f"r.closed_at <= {DEADLINE} AS ok",
        ratio_agg("count(*) FILTER (WHERE coalesce(ok, FALSE))", "count(*)", 100.0), ["service", "channel"]),
    "backlog": stock_requests("r.status <> 'cancelled'", "1 AS one", COUNT, ["service", "channel"]),
    "overdue_backlog": stock_requests(f"r.status <> 'cancelled' AND {DEADLINE} < p.pe", "1 AS one", COUNT,
                                      ["service", "channel"]),
    "overdue_share": stock_requests(
        "r.status <> 'cancelled'", f"{DEADLINE} < p.pe AS late",
        ratio_agg("count(*) FILTER (WHERE coalesce(late, FALSE))", "count(*)", 100.0), ["service"]),
    "digital_uptake": flow_requests(
        "r.submitted_at", "TRUE", "ch.is_digital AS dig",
        ratio_agg("count(*) FILTER (WHERE coalesce(dig, FALSE))", "count(*)", 100.0),
        ["service", "service_category"],
        extra_cols="coalesce(r.service_code, '(none)') AS service, coalesce(s.category, '(none)') AS service_category",
        frm=REQ + " LEFT JOIN dim_channel ch ON ch.channel_code = r.channel"),
    "complaint_rate": flow_requests(
        "r.submitted_at", "TRUE", "s.category AS cat",
        ratio_agg("count(*) FILTER (WHERE coalesce(cat = 'reclamation', FALSE))",
                  "count(*) FILTER (WHERE coalesce(cat <> 'reclamation', FALSE))", 1000.0), []),
    "satisfaction_avg": flow_requests(
        "r.answered_at", "TRUE", "r.rating::DOUBLE AS x",
        "avg(x) AS value, sum(x) AS num, count(x)::DOUBLE AS den, count(x) AS n", ["service", "channel"],
        frm=SAT),
    "satisfied_share": flow_requests(
        "r.answered_at", "TRUE", "r.rating >= 4 AS ok",
        ratio_agg("count(*) FILTER (WHERE coalesce(ok, FALSE))", "count(*)", 100.0), ["service", "channel"],
        frm=SAT),
    "budget_execution": budget("b.nature = 'depense'", "sum(mandate_ytd)", "sum(prevu)", ["section"]),
    "commitment_rate": budget("b.nature = 'depense'", "sum(engage_ytd)", "sum(prevu)", ["section"]),
    "own_revenue_share": budget("b.nature = 'recette'",
                                "sum(mandate_ytd) FILTER (WHERE coalesce(origine = 'propres', FALSE))",
                                "sum(mandate_ytd)", []),
    "equipment_spending": budget("b.nature = 'depense' AND b.section = 'equipement'", "mandate_ytd", "", []),
    "projects_on_time": flow_requests(
        "f.actual_end", "f.status = 'completed'", "f.actual_end <= f.planned_end AS ok",
        ratio_agg("count(*) FILTER (WHERE coalesce(ok, FALSE))", "count(*)", 100.0), ["programme", "sector"],
        extra_cols=PRJ_SPLITS, frm=PRJ),
    "late_project_delay": flow_requests(
        "f.actual_end", "f.status = 'completed' AND f.actual_end > f.planned_end",
        "date_diff('day', f.planned_end, f.actual_end)::DOUBLE AS x",
        "avg(x) AS value, sum(x) AS num, count(x)::DOUBLE AS den, count(x) AS n", ["programme", "sector"],
        extra_cols=PRJ_SPLITS, frm=PRJ),
    "stalled_projects": project_stock("f.status = 'stalled'", True, "1 AS one", COUNT,
                                      ["programme", "sector"], PRJ_SPLITS),
    "programme_consumption": project_stock(
        "f.status <> 'cancelled'", False, "coalesce(f.consumed_amount, 0)::DOUBLE AS c, f.ap_amount::DOUBLE AS a",
        ratio_agg("coalesce(sum(c), 0)", "coalesce(sum(a), 0)", 100.0), ["programme"],
        "coalesce(f.programme, '(none)') AS programme"),
    "progress_gap": project_stock(
        "f.status IN ('in_progress', 'stalled')", True,
        "(f.physical_progress - 100.0 * f.consumed_amount / nullif(f.ap_amount, 0))::DOUBLE AS x",
        "avg(x) AS value, sum(x) AS num, count(x)::DOUBLE AS den, count(x) AS n", ["programme", "sector"],
        PRJ_SPLITS),
}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> tuple[float, list[tuple]]:
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    t0 = time.perf_counter()
    rows = con.execute(f"SELECT level, territory, period, split, member, value FROM ({sql}) ORDER BY ALL",
                       used).fetchall()
    return time.perf_counter() - t0, rows


def _same(a: list[tuple], b: list[tuple]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x[:5] != y[:5]:
            return False
        if (x[5] is None) != (y[5] is None) or (x[5] is not None and not math.isclose(x[5], y[5], rel_tol=1e-9, abs_tol=1e-9)):
            return False
    return True


def main() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, format="  %(name)s: %(message)s")
    logging.getLogger("kpi.engine").setLevel(logging.INFO)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", default="data/warehouse.duckdb")
    ap.add_argument("--catalogue", default="indicators.yaml")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip", nargs="*", default=[], choices=["full", "incremental", "compare"])
    args = ap.parse_args()
    src = Path(args.warehouse)
    cat = catalogue.load(args.catalogue)
    work = src.with_name(src.stem + ".kpibench.duckdb")
    results: dict = {"warehouse": str(src), "at": dt.datetime.now().isoformat(timespec="seconds")}
    shutil.copyfile(src, work)
    ro = duckdb.connect(str(work), read_only=True)
    n_req = ro.execute("SELECT count(*) FROM fact_request").fetchall()[0][0]
    as_of, _ = data_as_of(ro)
    ro.close()
    results["requests"] = n_req
    print(f"warehouse {src}: {n_req:,} requests, data as of {as_of:%Y-%m-%d %H:%M}")

    if "full" not in args.skip:
        t0 = time.perf_counter()
        with updating(work) as con:
            rep = Engine(con, cat).refresh(full=True)
        total = time.perf_counter() - t0
        results["full"] = {"seconds": total, "engine_seconds": rep.seconds, "rows": rep.rows,
                           "per_indicator": {k: v[1] for k, v in rep.per_indicator.items()}}
        print(f"full refresh: {total:.1f} s end to end (engine {rep.seconds:.1f} s), {rep.rows:,} result rows")
        for k, (n, s) in sorted(rep.per_indicator.items(), key=lambda kv: -kv[1][1]):
            print(f"  {k:36} {s:6.2f} s  {n:>10,} rows")

    if "incremental" not in args.skip:
        con = duckdb.connect(str(work))
        days = con.execute("SELECT count(DISTINCT CAST(submitted_at AS DATE)) FROM fact_request").fetchall()[0][0]
        per_day = n_req // max(days, 1)
        batch = "99991231T000000Z-bench-000001"
        next_day = as_of + dt.timedelta(days=1)
        con.execute("""
            INSERT INTO fact_request
            SELECT 'BENCH-' || request_id, commune_code, service_code, channel,
                   submitted_at + (CAST($d AS TIMESTAMP) - CAST(date_trunc('day', submitted_at) AS TIMESTAMP)),
                   NULL, 'submitted',
                   submitted_at + (CAST($d AS TIMESTAMP) - CAST(date_trunc('day', submitted_at) AS TIMESTAMP)),
                   $b, 'bench', 'bench', _row
            FROM fact_request USING SAMPLE reservoir(%d ROWS) REPEATABLE (42)""" % int(per_day),
                    {"d": dt.datetime(next_day.year, next_day.month, next_day.day), "b": batch})
        con.execute("INSERT INTO etl_batch (batch_id, run_id, source, dataset, connector, started_at, finished_at, "
                    "rows_read, rows_loaded, rows_merged, rows_rejected, status) VALUES "
                    "($b, 'bench', 'bench', 'requests', 'sql', now(), now(), $n, $n, 0, 0, 'ok')",
                    {"b": batch, "n": per_day})
        con.close()
        t0 = time.perf_counter()
        with updating(work) as con:
            rep = Engine(con, cat).refresh()
        total = time.perf_counter() - t0
        results["incremental"] = {"seconds": total, "engine_seconds": rep.seconds, "new_requests": per_day,
                                  "mode": rep.mode, "since": str(rep.since)}
        print(f"incremental refresh after a one-day batch ({per_day:,} requests): {total:.1f} s end to end "
              f"(engine {rep.seconds:.1f} s, {rep.mode} from {rep.since})")
        for k, (n, s) in sorted(rep.per_indicator.items(), key=lambda kv: -kv[1][1])[:8]:
            print(f"  {k:36} {s:6.2f} s  {n:>10,} rows")

    if "compare" not in args.skip:
        con = duckdb.connect(str(work), read_only=True)
        params = {"as_of": as_of, "since": dt.date(1900, 1, 1), "cal_from": dt.date(1900, 1, 1)}
        comp = Compiler(cat)
        rows = []
        print(f"{'indicator':36} {'generated':>10} {'hand':>8} {'ratio':>6}  same result")
        for i, sql in HAND.items():
            c = cat.indicators[i]
            gen = comp.compile(c, base_grain(cat, c)).sql(pretty=False)
            best_g = best_h = math.inf
            same = None
            for _ in range(args.repeat):
                tg, rg = _rows(con, gen, params)
                th, rh = _rows(con, sql, params)
                best_g, best_h = min(best_g, tg), min(best_h, th)
                same = _same(rg, rh) if same is None else same
            rows.append({"indicator": i, "generated": best_g, "hand": best_h, "ratio": best_g / best_h, "same": same})
            print(f"{i:36} {best_g:9.2f}s {best_h:7.2f}s {best_g / best_h:6.2f}  {'yes' if same else 'NO'}")
        results["compare"] = rows
        con.close()
    work.unlink(missing_ok=True)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "kpi.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(results, default=str) + "\n")


if __name__ == "__main__":
    main()

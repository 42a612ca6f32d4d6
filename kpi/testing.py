"""Golden tests written in the catalogue (``tests:`` of an indicator), run by ``python -m kpi test``.

Each test builds a small in-memory warehouse from its rows, computes the indicator (and its
inputs) with the real engine, and compares the figures with ``expect``. Omitted columns take the
defaults below, so a test only writes what matters to it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import duckdb

from .catalogue import Catalogue, Checked
from .engine import Engine, end_of_local_day
from .model import FixtureTest, period_start

# The warehouse tables the sources read, as the ETL writes them (etl/schema.py; a test keeps the
# two in agreement). Lineage columns are added to facts.
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "fact_request": (("request_id", "VARCHAR"), ("commune_code", "VARCHAR"), ("service_code", "VARCHAR"),
                     ("channel", "VARCHAR"), ("submitted_at", "TIMESTAMP"), ("closed_at", "TIMESTAMP"),
                     ("status", "VARCHAR"), ("updated_at", "TIMESTAMP")),
    "fact_satisfaction": (("response_id", "VARCHAR"), ("request_id", "VARCHAR"), ("commune_code", "VARCHAR"),
                          ("service_code", "VARCHAR"), ("channel", "VARCHAR"), ("rating", "INTEGER"),
                          ("answered_at", "TIMESTAMP")),
    "fact_budget": (("commune_code", "VARCHAR"), ("fiscal_year", "INTEGER"), ("section", "VARCHAR"),
                    ("nature", "VARCHAR"), ("chapitre", "VARCHAR"), ("article", "VARCHAR"),
                    ("libelle", "VARCHAR"), ("origine", "VARCHAR"), ("prevu_bp", "DECIMAL(18,2)"),
                    ("prevu_bs", "DECIMAL(18,2)"),
                    *((f"engage_t{q}", "DECIMAL(18,2)") for q in range(1, 5)),
                    *((f"mandate_t{q}", "DECIMAL(18,2)") for q in range(1, 5))),
    "fact_project": (("project_id", "VARCHAR"), ("commune_code", "VARCHAR"), ("programme", "VARCHAR"),
                     ("sector", "VARCHAR"), ("title", "VARCHAR"), ("ap_amount", "DECIMAL(18,2)"),
                     ("consumed_amount", "DECIMAL(18,2)"), ("physical_progress", "DOUBLE"),
                     ("planned_start", "DATE"), ("planned_end", "DATE"), ("actual_start", "DATE"),
                     ("actual_end", "DATE"), ("status", "VARCHAR")),
    "dim_commune": (("commune_code", "VARCHAR"), ("wilaya_code", "VARCHAR"), ("daira_code", "VARCHAR"),
                    ("name_fr", "VARCHAR"), ("name_ar", "VARCHAR"), ("name_en", "VARCHAR"),
                    ("postal_code", "VARCHAR"), ("population", "BIGINT"), ("population_source", "VARCHAR"),
                    ("code_source", "VARCHAR"), ("is_pilot", "BOOLEAN")),
    "dim_service": (("service_code", "VARCHAR"), ("category", "VARCHAR"), ("name_fr", "VARCHAR"),
                    ("name_ar", "VARCHAR"), ("name_en", "VARCHAR"), ("legal_delay_days", "DOUBLE")),
    "dim_channel": (("channel_code", "VARCHAR"), ("name_fr", "VARCHAR"), ("name_ar", "VARCHAR"),
                    ("name_en", "VARCHAR"), ("is_digital", "BOOLEAN")),
    "etl_batch": (("batch_id", "VARCHAR"), ("run_id", "VARCHAR"), ("source", "VARCHAR"), ("dataset", "VARCHAR"),
                  ("connector", "VARCHAR"), ("location", "VARCHAR"), ("started_at", "TIMESTAMP"),
                  ("finished_at", "TIMESTAMP"), ("rows_read", "BIGINT"), ("rows_loaded", "BIGINT"),
                  ("rows_merged", "BIGINT"), ("rows_rejected", "BIGINT"), ("checksum", "VARCHAR"),
                  ("watermark_from", "VARCHAR"), ("watermark_to", "VARCHAR"), ("status", "VARCHAR"),
                  ("error", "VARCHAR")),
}
FACTS = ("fact_request", "fact_satisfaction", "fact_budget", "fact_project")
LINEAGE = (("_batch_id", "VARCHAR"), ("_source", "VARCHAR"), ("_location", "VARCHAR"), ("_row", "BIGINT"))
CHANNELS = (("desk", "Guichet", "الشباك", "Desk", False), ("web", "Portail web", "البوابة", "Web portal", True),
            ("mobile", "Application mobile", "التطبيق", "Mobile app", True),
            ("phone", "Téléphone", "الهاتف", "Phone", False))


def _defaults(table: str, row: dict[str, Any], n: int) -> dict[str, Any]:
    r = dict(row)
    if table == "fact_request":
        r.setdefault("request_id", f"R{n}")
        r.setdefault("service_code", "EC_S12")
        r.setdefault("channel", "desk")
        r.setdefault("closed_at", None)
        r.setdefault("status", "closed" if r["closed_at"] else "submitted")
        r.setdefault("updated_at", r["closed_at"] or r.get("submitted_at"))
    elif table == "fact_satisfaction":
        r.setdefault("response_id", f"S{n}")
        r.setdefault("channel", "desk")
    elif table == "fact_project":
        r.setdefault("project_id", f"P{n}")
        r.setdefault("programme", "PCD")
        r.setdefault("sector", "Voirie")
        r.setdefault("title", f"Projet {n}")
    elif table == "fact_budget":
        r.setdefault("chapitre", "90")
        r.setdefault("article", f"A{n}")
        r.setdefault("libelle", f"Article {n}")
    elif table == "etl_batch":
        r.setdefault("batch_id", f"B{n:04d}")
        r.setdefault("run_id", "test")
        r.setdefault("source", "test")
        r.setdefault("dataset", "requests")
        r.setdefault("connector", "csv")
        r.setdefault("started_at", r.get("finished_at"))
        r.setdefault("status", "ok")
        for k in ("rows_loaded", "rows_merged", "rows_rejected"):
            r.setdefault(k, 0)
    return r


def build(test: FixtureTest) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse holding the test's rows."""
    con = duckdb.connect(":memory:")
    for table, cols in TABLES.items():
        extra = LINEAGE if table in FACTS else ()
        body = ", ".join(f"{n} {t}" for n, t in (*cols, *extra))
        con.execute(f"CREATE TABLE {table} ({body})").fetchall()
    communes: dict[str, dict[str, Any]] = {}
    services: set[str] = set()
    for table, rows in test.rows.items():
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r} in test rows (tables: {', '.join(TABLES)})")
        names = [n for n, _ in TABLES[table]]
        for k, row in enumerate(rows, 1):
            unknown = set(row) - set(names)
            if unknown:
                raise ValueError(f"table {table}: unknown column(s) {', '.join(sorted(unknown))}")
            r = _defaults(table, row, k)
            if table in FACTS:
                r["_batch_id"] = "test"
            if "commune_code" in r and table != "dim_commune":
                communes.setdefault(str(r["commune_code"]), {})
            if r.get("service_code") and table != "dim_service":
                services.add(r["service_code"])
            cols = [n for n in names if n in r] + (["_batch_id"] if table in FACTS else [])
            con.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                        [r[c] for c in cols]).fetchall()
    given = {r[0] for r in con.execute("SELECT commune_code FROM dim_commune").fetchall()}
    for code, extra in test.communes.items():
        communes[code] = extra
    for code, extra in communes.items():
        if code in given:
            continue
        unknown = set(extra) - {"daira", "population", "is_pilot"}
        if unknown:
            raise ValueError(f"commune {code}: unknown key(s) {', '.join(sorted(unknown))} "
                             "(daira, population, is_pilot)")
        w = code[:2]
        con.execute("INSERT INTO dim_commune VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 'test', 'test', ?)",
                    [code, w, str(extra.get("daira", f"{w}-01")), code, code, code,
                     int(extra.get("population", 10000)), bool(extra.get("is_pilot", False))]).fetchall()
    have = {r[0] for r in con.execute("SELECT service_code FROM dim_service").fetchall()}
    for s in sorted(services - have):
        con.execute("INSERT INTO dim_service VALUES (?, 'etat_civil', ?, ?, ?, 1.0)", [s, s, s, s]).fetchall()
    if not con.execute("SELECT count(*) FROM dim_channel").fetchall()[0][0]:
        con.executemany("INSERT INTO dim_channel VALUES (?, ?, ?, ?, ?)", list(CHANNELS))
    return con


@dataclass
class Outcome:
    indicator: str
    test: str
    ok: bool
    failures: list[str]


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def run_test(cat: Catalogue, c: Checked, test: FixtureTest) -> Outcome:
    try:
        con = build(test)
    except (ValueError, duckdb.Error) as e:
        return Outcome(c.id, test.name, False, [f"cannot build the test warehouse: {e}"])
    try:
        as_of = test.as_of
        if isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime):
            as_of = end_of_local_day(as_of)
        report = Engine(con, cat).refresh(full=True, as_of=as_of, only=[c.id])
        if c.id in report.unavailable:
            return Outcome(c.id, test.name, False, [report.unavailable[c.id]])
        failures = []
        for e in test.expect:
            territory = e.territory or "DZ"
            rows = con.execute(
                f"SELECT {e.field}, status FROM kpi_result WHERE indicator = ? AND level = ? "
                "AND territory = ? AND grain = ? AND period = ? AND split = ? AND member = ?",
                [c.id, e.level, territory, e.grain, period_start(e.period), e.split or "",
                 e.member or ""]).fetchall()
            where = f"{e.level} {territory} {e.period}" + (f" [{e.split}={e.member}]" if e.split else "")
            if "value" in e.model_fields_set:
                got = rows[0][0] if rows else None
                if not _close(got, e.value):
                    failures.append(f"{where} {e.field}: expected {e.value}, got {got}")
            if e.status is not None:
                st = rows[0][1] if rows else None
                if st != e.status:
                    failures.append(f"{where} status: expected {e.status}, got {st}")
        return Outcome(c.id, test.name, not failures, failures)
    except Exception as e:  # a broken engine must show as a failing test, with what happened
        return Outcome(c.id, test.name, False, [f"{type(e).__name__}: {e}"])
    finally:
        con.close()


def run_all(cat: Catalogue, only: list[str] | None = None) -> list[Outcome]:
    out = []
    for i, c in cat.indicators.items():
        if only and i not in only:
            continue
        for t in c.ind.tests:
            out.append(run_test(cat, c, t))
    return out

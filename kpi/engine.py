"""Compute the catalogue for every level and grain and materialise it in the warehouse.

``refresh`` reads the warehouse, runs each indicator's compiled query (``compiler``), rolls the
base grain up to coarser ones, adds previous period, same period last year, year to date, ranks
(within the parent territory and among communes of similar population), target and status, and
writes ``kpi_result``. The app reads that table; nothing is recomputed on a click.

Incremental: when only new batches arrived since the last refresh and the catalogue did not
change, only periods from the earliest moment those batches touch are recomputed.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
from sqlglot import exp

from .catalogue import Catalogue, Checked
from .compiler import UNIT_SCALE, Compiler, base_grain, mode, needs_scan, sibling_key
from .dialect import parse
from .errors import WarehouseError
from .model import GRAINS_ALL, period_start
from .sources import NATION_CODE, SOURCES

log = logging.getLogger(__name__)

RESULT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("indicator", "VARCHAR NOT NULL", "Indicator id (indicators.yaml)."),
    ("level", "VARCHAR NOT NULL", "commune, daira, wilaya or nation."),
    ("territory", "VARCHAR NOT NULL", "Commune, daïra or wilaya code; DZ for the nation."),
    ("wilaya", "VARCHAR", "Wilaya of the territory (NULL for the nation)."),
    ("grain", "VARCHAR NOT NULL", "month, quarter or year."),
    ("period", "DATE NOT NULL", "First day of the period."),
    ("split", "VARCHAR NOT NULL", "Dimension the figure is split by ('' for none)."),
    ("member", "VARCHAR NOT NULL", "Member of that dimension ('' for none)."),
    ("value", "DOUBLE", "The figure (NULL: not applicable, e.g. a zero denominator)."),
    ("num", "DOUBLE", "Numerator, sum or count behind the figure (additive kinds)."),
    ("den", "DOUBLE", "Denominator behind the figure (ratios, averages)."),
    ("n", "BIGINT", "Rows the figure is computed from."),
    ("prev_value", "DOUBLE", "Value of the previous period."),
    ("yoy_value", "DOUBLE", "Value of the same period a year earlier."),
    ("ytd_value", "DOUBLE", "Year to date: from 1 January to the end of the period."),
    ("target", "DOUBLE", "Target applying to the territory and period."),
    ("status", "VARCHAR", "green, amber or red against the thresholds; NULL without them."),
    ("rank_parent", "INTEGER", "Rank (1 = best) among the territories of the same level in the same wilaya (wilayas: in the nation)."),
    ("count_parent", "INTEGER", "How many were ranked there."),
    ("peer_group", "VARCHAR", "Communes: population band of the peer group."),
    ("rank_peer", "INTEGER", "Communes: rank among communes of the same population band in the nation."),
    ("count_peer", "INTEGER", "How many were ranked in that band."),
)
INDICATOR_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("indicator", "VARCHAR PRIMARY KEY", "Indicator id."),
    ("available", "BOOLEAN NOT NULL", "False when the definition is broken (see reason)."),
    ("reason", "VARCHAR", "Why it is unavailable, located in the catalogue."),
    ("label_fr", "VARCHAR", "Label, French."),
    ("label_ar", "VARCHAR", "Label, Arabic."),
    ("label_en", "VARCHAR", "Label, English."),
    ("unit", "VARCHAR", "Unit."),
    ("direction", "VARCHAR", "higher, lower or neutral."),
    ("rows", "BIGINT", "Result rows written by the last refresh."),
    ("seconds", "DOUBLE", "Time the last refresh of it took."),
    ("refreshed_at", "TIMESTAMP", "UTC."),
)
LOCAL_OFFSET = dt.timedelta(hours=1)   # Africa/Algiers, UTC+1 all year (see kpi/dialect.py)
PEER_BANDS = ((10_000, "< 10 000"), (25_000, "10 000 – 25 000"), (50_000, "25 000 – 50 000"),
              (100_000, "50 000 – 100 000"), (250_000, "100 000 – 250 000"))
_BASE_COLS = "indicator, level, territory, wilaya, grain, period, split, member, value, num, den, n"


@dataclass
class RefreshReport:
    mode: str                                   # full or incremental
    as_of: dt.datetime
    since: dt.date | None
    seconds: float = 0.0
    rows: int = 0
    per_indicator: dict[str, tuple[int, float]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    skipped: bool = False


def ddl() -> list[str]:
    res = ", ".join(f"{n} {t}" for n, t, _ in RESULT_COLUMNS)
    ind = ", ".join(f"{n} {t}" for n, t, _ in INDICATOR_COLUMNS)
    return [
        f"CREATE TABLE IF NOT EXISTS kpi_result ({res})",
        f"CREATE TABLE IF NOT EXISTS kpi_indicator ({ind})",
        "CREATE TABLE IF NOT EXISTS kpi_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
    ]


def _q(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[tuple]:
    """Run and fetch; named parameters the statement does not use are left out (DuckDB refuses
    extra ones)."""
    if isinstance(params, dict):
        used = set(re.findall(r"\$(\w+)", sql))
        params = {k: v for k, v in params.items() if k in used}
    cur = con.execute(sql, params) if params is not None else con.execute(sql)
    return cur.fetchall()


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(_q(con, "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name]))


def data_as_of(con: duckdb.DuckDBPyConnection) -> tuple[dt.datetime, dt.date]:
    """The data's as-of time (latest request update or survey answer) and the calendar start."""
    for t in ("fact_request", "dim_commune"):
        if not _table_exists(con, t):
            raise WarehouseError(f"the warehouse has no table {t}: build it first "
                                 "(python -m etl demo, or python -m etl load)")
    row = _q(con, "SELECT max(updated_at), min(submitted_at) FROM fact_request")[0]
    sat = _q(con, "SELECT max(answered_at) FROM fact_satisfaction")[0][0] if _table_exists(
        con, "fact_satisfaction") else None
    latest = max([x for x in (row[0], sat) if x is not None], default=None)
    if latest is None:
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        return now, dt.date(now.year, 1, 1)
    first = local_date(row[1] or latest)
    return latest, dt.date(first.year, first.month, 1)


def local_date(ts: dt.datetime | dt.date) -> dt.date:
    """The day in Algiers (UTC+1 all year) of a UTC time; a date is already a local day."""
    if isinstance(ts, dt.datetime):
        return (ts + LOCAL_OFFSET).date()
    return ts


def end_of_local_day(day: dt.date) -> dt.datetime:
    """The last UTC instant of a day in Algiers (what ``--as-of 2026-06-30`` means)."""
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(days=1) - LOCAL_OFFSET - dt.timedelta(microseconds=1)


class Engine:
    def __init__(self, con: duckdb.DuckDBPyConnection, cat: Catalogue):
        self.con = con
        self.cat = cat
        self.comp = Compiler(cat)

    # -- public ------------------------------------------------------------------------------
    def refresh(self, *, full: bool = False, as_of: dt.datetime | None = None,
                only: list[str] | None = None) -> RefreshReport:
        t0 = time.perf_counter()
        con = self.con
        for stmt in ddl():
            _q(con, stmt)
        found_as_of, cal_from = data_as_of(con)
        as_of = as_of or found_as_of
        meta = dict(_q(con, "SELECT key, value FROM kpi_meta"))
        last_batch = self._last_batch()
        since = None
        if not full and not only and meta.get("catalogue") == self.cat.fingerprint \
                and meta.get("as_of") and meta.get("last_batch") is not None:
            if meta["last_batch"] == (last_batch or "") and meta["as_of"] == as_of.isoformat():
                report = RefreshReport("incremental", as_of, None, skipped=True)
                report.seconds = time.perf_counter() - t0
                return report
            since = self._changed_since(meta["last_batch"])
            if since is not None:
                old_as_of = dt.datetime.fromisoformat(meta["as_of"])
                # from the first day of the earliest month touched; each grain is recomputed
                # from the start of its period holding that day (a quarter and a year are rolled
                # up from their stored months and the new ones)
                first = min(since, local_date(old_as_of))
                since = dt.date(first.year, first.month, 1)
        ids = [i for i in self.cat.indicators if not only or i in only]
        if only:
            # inputs of derived indicators asked for are computed too
            need: set[str] = set()
            def add(i: str) -> None:
                if i in need:
                    return
                need.add(i)
                for d in self.cat.indicators[i].inputs:
                    add(d)
            for i in ids:
                add(i)
            ids = [i for i in self.cat.indicators if i in need]
        report = RefreshReport("incremental" if since else "full", as_of, since)
        params = {"as_of": as_of, "cal_from": cal_from,
                  "since": since or dt.date(1900, 1, 1)}
        _q(con, f"CREATE OR REPLACE TEMP TABLE _kpi_new AS SELECT {_BASE_COLS} FROM kpi_result LIMIT 0")
        self._stored(since)
        self._defs(ids)
        self.failed: dict[str, str] = {}
        self._ids = list(ids)
        for i in ids:
            c = self.cat.indicators[i]
            t1 = time.perf_counter()
            if c.ind.kind == "derived" or i in self.failed:
                continue
            try:
                self._compute_base(c, params)
                self._fill_zeros(c)
            except duckdb.Error as e:
                # one indicator the warehouse cannot compute does not stop the others (its
                # percentile siblings, computed in the same pass, fail with it)
                for j in self._siblings(c) or [i]:
                    self._fail(j, e)
                continue
            report.per_indicator[i] = (0, time.perf_counter() - t1)
        ids = [i for i in ids if i not in self.failed]
        log.info("base figures computed in %.1f s", time.perf_counter() - t0)
        enriched = self._enrich([i for i in ids if self.cat.indicators[i].ind.kind != "derived"],
                                params)
        log.info("previous period, last year, year to date: %.1f s", time.perf_counter() - t0)
        for i in list(ids):
            c = self.cat.indicators[i]
            if c.ind.kind != "derived":
                continue
            t1 = time.perf_counter()
            lost = [d for d in c.inputs if d in self.failed]
            if lost:
                self.failed[i] = f"input {lost[0]} could not be computed"
                continue
            try:
                self._compute_derived(c)
                enriched += self._enrich([i], params)
            except duckdb.Error as e:
                self._fail(i, e)
                continue
            report.per_indicator[i] = (0, time.perf_counter() - t1)
        ids = [i for i in ids if i not in self.failed]
        log.info("derived indicators: %.1f s", time.perf_counter() - t0)
        self._finish(ids, params, since, enriched)
        log.info("targets, status, ranks: %.1f s", time.perf_counter() - t0)
        counts = dict(_q(con, "SELECT indicator, count(*) FROM _kpi_final GROUP BY 1"))
        for i in ids:
            n, s = report.per_indicator.get(i, (0, 0.0))
            report.per_indicator[i] = (counts.get(i, 0), s)
        self._write(ids + list(self.failed), since, report, as_of, last_batch, partial=bool(only))
        log.info("written: %.1f s", time.perf_counter() - t0)
        report.rows = sum(counts.values())
        report.unavailable = {k: b.reason for k, b in self.cat.broken.items()}
        report.unavailable.update(self.failed)
        report.seconds = time.perf_counter() - t0
        return report

    def _stored(self, since: dt.date | None) -> None:
        """The stored figures an incremental refresh builds on, read once: the months of the
        year before ``since`` (quarters and years are rolled up from them) and, unsplit, the
        year of periods before ``since`` (previous period, last year, year to date)."""
        if since is None:
            for t in ("_kpi_stored_base", "_kpi_stored_ctx"):
                _q(self.con, f"CREATE OR REPLACE TEMP TABLE {t} AS SELECT {_BASE_COLS} FROM kpi_result LIMIT 0")
            return
        ctx_from = dt.date(since.year - 1, since.month, 1)   # a year before, from its period start
        _q(self.con, f"""
            CREATE OR REPLACE TEMP TABLE _kpi_stored_base AS
            SELECT {_BASE_COLS} FROM kpi_result WHERE grain = 'month'
              AND period >= CAST(date_trunc('year', CAST($since AS TIMESTAMP)) AS DATE)
              AND period < CAST($since AS DATE)
            ORDER BY indicator""", {"since": since})   # read back one indicator at a time
        _q(self.con, f"""
            CREATE OR REPLACE TEMP TABLE _kpi_stored_ctx AS
            SELECT {_BASE_COLS} FROM kpi_result WHERE split = ''
              AND period >= CAST(date_trunc(grain, CAST($ctx_from AS TIMESTAMP)) AS DATE)
              AND period < CAST(date_trunc(grain, CAST($since AS TIMESTAMP)) AS DATE)""",
           {"ctx_from": ctx_from, "since": since})

    def _fail(self, ind_id: str, err: Exception) -> None:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        self.failed[ind_id] = f"could not be computed: {first}"
        log.error("indicator %s could not be computed: %s", ind_id, err)
        _q(self.con, "DELETE FROM _kpi_new WHERE indicator = ?", [ind_id])

    # -- steps -------------------------------------------------------------------------------
    def _last_batch(self) -> str | None:
        if not _table_exists(self.con, "etl_batch"):
            return None
        return _q(self.con, "SELECT max(batch_id) FROM etl_batch WHERE status = 'ok'")[0][0]

    def _changed_since(self, last_batch: str) -> dt.date | None:
        """Earliest day the batches after ``last_batch`` can affect, or None for a full refresh."""
        earliest: list[dt.date] = []
        for src in SOURCES.values():
            if not src.fact_table or not src.change_time or not _table_exists(self.con, src.fact_table):
                continue
            expr = parse(f"min({src.change_time})")
            sql = exp.select(expr).from_(exp.to_table(src.fact_table).as_("f")).where(
                parse("f._batch_id > $b")).sql("duckdb")
            v = _q(self.con, sql, {"b": last_batch})[0][0]
            if v is not None:
                earliest.append(local_date(v))
        batch_ok = _q(self.con, "SELECT count(*) FROM etl_batch WHERE batch_id > ? AND status = 'ok'",
                      [last_batch])[0][0]
        if not earliest:
            # new batches changed nothing in the facts (unchanged files): recompute the last month
            # anyway for the batch-based indicators
            return None if batch_ok == 0 else dt.date.today().replace(day=1)
        return min(earliest)

    def _defs(self, ids: list[str]) -> None:
        rows = []
        targets = []
        for i in ids:
            c = self.cat.indicators[i]
            ind = c.ind
            k = ind.kind
            m = mode(c)
            if m in ("stock", "snapshot", "static") or (k == "derived"):
                ytd = "value" if k != "derived" else "derived"
            elif k in ("count", "sum"):
                ytd = "sum"
            elif k == "average":
                ytd = "avg"
            elif k == "ratio":
                ytd = "ratio"
            else:
                ytd = "percentile"
            th = ind.thresholds
            rows.append((i, k, m, ytd, UNIT_SCALE.get(ind.unit, 1.0) if k == "ratio" else 1.0,
                         ind.direction, th.basis if th else None, th.green if th else None,
                         th.amber if th else None))
            if ind.target:
                t = ind.target
                if t.value is not None:
                    targets.append((i, None, dt.date(1, 1, 1), t.value))
                for step in t.trajectory:
                    targets.append((i, None, period_start(step.from_), step.value))
                for w, v in t.wilayas.items():
                    targets.append((i, w, dt.date(1, 1, 1), v))
        _q(self.con, "CREATE OR REPLACE TEMP TABLE _kpi_def (indicator VARCHAR, kind VARCHAR, mode VARCHAR, "
           "ytd VARCHAR, scale DOUBLE, direction VARCHAR, basis VARCHAR, green DOUBLE, amber DOUBLE)")
        if rows:
            self.con.executemany("INSERT INTO _kpi_def VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        _q(self.con, "CREATE OR REPLACE TEMP TABLE _kpi_target (indicator VARCHAR, wilaya VARCHAR, "
           "valid_from DATE, value DOUBLE)")
        if targets:
            self.con.executemany("INSERT INTO _kpi_target VALUES (?, ?, ?, ?)", targets)

    def _compute_base(self, c: Checked, params: dict) -> None:
        grains = self.cat.grains(c)
        base = base_grain(self.cat, c)
        if mode(c) == "static":
            # computed once, then the same figure for every period of every grain
            comp = self.comp.compile(c, grains[0])
            self._insert_query(c.id, "static", comp.sql(pretty=False), comp.params(params))
            for g in grains:
                step = "3 MONTH" if g == "quarter" else f"1 {g.upper()}"
                _q(self.con, f"""
                    INSERT INTO _kpi_new
                    SELECT indicator, level, territory, wilaya, $g, cal.period, split, member,
                           value, num, den, n
                    FROM _kpi_new, (
                        SELECT CAST(generate_series AS DATE) AS period FROM generate_series(
                            CAST(date_trunc('{g}', greatest(CAST($cal_from AS DATE), CAST($since AS DATE))) AS TIMESTAMP),
                            CAST(date_trunc('{g}', CAST($as_of AS TIMESTAMP) + INTERVAL 1 HOUR) AS TIMESTAMP),
                            INTERVAL {step})) AS cal
                    WHERE indicator = $id AND grain = 'static'""",
                    {**params, "g": g, "id": c.id})
            _q(self.con, "DELETE FROM _kpi_new WHERE indicator = ? AND grain = 'static'", [c.id])
            return
        siblings = self._siblings(c)
        if siblings and siblings[0] != c.id:
            return  # computed with its first sibling
        for g in grains:
            if needs_scan(self.cat, c, g) and len(siblings) > 1:
                ps = [float(self.cat.indicators[i].ind.p) for i in siblings]  # type: ignore[arg-type]
                comp = self.comp.compile(c, g, quantiles=ps)
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE _kpi_q AS {comp.sql(pretty=False)}",
                                 comp.params(params)).fetchall()
                for k, i in enumerate(siblings):
                    _q(self.con, "INSERT INTO _kpi_new SELECT $id, level, territory, wilaya, $g, period, split, "
                       f"member, value[{k + 1}], num, den, n FROM _kpi_q", {"id": i, "g": g})
                _q(self.con, "DROP TABLE _kpi_q")
            elif needs_scan(self.cat, c, g):
                comp = self.comp.compile(c, g)
                self._insert_query(c.id, g, comp.sql(pretty=False), comp.params(params))
            else:
                self._rollup(c, base, g, params)

    def _fill_zeros(self, c: Checked) -> None:
        """A count or a sum over no rows is 0, not "no figure": a commune with nothing open at
        the end of a month has a backlog of 0, a status and a rank. Fills every territory for
        every period the indicator has (unsplit figures)."""
        k = c.ind.kind if c.ind.kind != "stock" else (c.ind.aggregate or "count")
        if k not in ("count", "sum") or not self.cat.territorial(c) or mode(c) == "static":
            return
        _q(self.con, """
            INSERT INTO _kpi_new
            WITH periods AS (
                SELECT DISTINCT grain, period FROM _kpi_new WHERE indicator = $id AND split = ''
            ), territories AS (
                SELECT DISTINCT 'commune' AS level, commune_code AS territory, wilaya_code AS wilaya FROM dim_commune
                UNION ALL SELECT DISTINCT 'daira', daira_code, wilaya_code FROM dim_commune
                UNION ALL SELECT DISTINCT 'wilaya', wilaya_code, wilaya_code FROM dim_commune
                UNION ALL SELECT 'nation', 'DZ', NULL
            )
            SELECT $id, t.level, t.territory, t.wilaya, p.grain, p.period, '', '', 0, 0, NULL, 0
            FROM periods AS p CROSS JOIN territories AS t
            WHERE NOT EXISTS (SELECT 1 FROM _kpi_new AS r WHERE r.indicator = $id AND r.split = ''
                              AND r.grain = p.grain AND r.period = p.period AND r.level = t.level
                              AND r.territory = t.territory)""", {"id": c.id})

    def _siblings(self, c: Checked) -> list[str]:
        """Ids of the percentile indicators computed in the same pass as ``c`` (in catalogue
        order), among those being refreshed."""
        key = sibling_key(c)
        if key is None:
            return []
        return [i for i in self._ids if sibling_key(self.cat.indicators[i]) == key]

    def _insert_query(self, ind_id: str, grain: str, sql: str, params: dict) -> None:
        # params are exactly the query's placeholders: not filtered through _q's text scan,
        # which a '$' inside a steward's string would fool
        self.con.execute(
            f"INSERT INTO _kpi_new SELECT $_id, level, territory, wilaya, $_grain, period, split, member, "
            f"value, num, den, n FROM ({sql}) AS q", {**params, "_id": ind_id, "_grain": grain}).fetchall()

    def _rollup(self, c: Checked, base: str, grain: str, params: dict) -> None:
        m = mode(c)
        step = {"quarter": "3 MONTH", "year": "1 YEAR"}[grain]
        bstep = {"month": "1 MONTH", "quarter": "3 MONTH"}[base]
        # the base periods of the coarser periods being refreshed: the new ones, and (in an
        # incremental refresh) the stored ones before them in the same quarter or year
        _q(self.con, f"""
            CREATE OR REPLACE TEMP TABLE _kpi_base AS
            SELECT {_BASE_COLS} FROM _kpi_new WHERE indicator = $id AND grain = $base
            UNION ALL
            SELECT {_BASE_COLS} FROM _kpi_stored_base WHERE indicator = $id AND grain = $base
              AND period < CAST(date_trunc($base, CAST($since AS TIMESTAMP)) AS DATE)
              AND period >= CAST(date_trunc($grain, CAST($since AS TIMESTAMP)) AS DATE)""",
           {"id": c.id, "base": base, "grain": grain, "since": params["since"]})
        if m == "flow":
            value = self.comp.value_from_partials(c, parse("sum(num)"), parse("sum(den)")).sql("duckdb")
            sql = f"""
                INSERT INTO _kpi_new
                SELECT indicator, level, territory, wilaya, $grain,
                       CAST(date_trunc('{grain}', period) AS DATE), split, member,
                       CAST({value} AS DOUBLE), sum(num), sum(den), sum(n)
                FROM _kpi_base
                GROUP BY indicator, level, territory, wilaya, CAST(date_trunc('{grain}', period) AS DATE),
                         split, member"""
        else:
            # a stock: the value at the end of the coarser period is the value of its
            # last base period (or of the period holding the as-of time, if it is not over)
            sql = f"""
                INSERT INTO _kpi_new
                SELECT indicator, level, territory, wilaya, $grain,
                       CAST(date_trunc('{grain}', period) AS DATE), split, member, value, num, den, n
                FROM _kpi_base
                WHERE period = least(
                        CAST(CAST(date_trunc('{grain}', period) AS TIMESTAMP) + INTERVAL {step} - INTERVAL {bstep} AS DATE),
                        CAST(date_trunc('{base}', CAST($as_of AS TIMESTAMP) + INTERVAL 1 HOUR) AS DATE))"""
        _q(self.con, sql, {"grain": grain, "id": c.id, "base": base, "as_of": params["as_of"]})
        _q(self.con, "DROP TABLE _kpi_base")

    def _compute_derived(self, c: Checked) -> None:
        """value and ytd of a derived indicator from its inputs' enriched rows."""
        tree = c.exprs["formula"]
        inputs = list(c.inputs)

        def make(col: str) -> str:
            def cols(node: exp.Expression) -> exp.Expression:
                if isinstance(node, exp.Column) and node.name in inputs:
                    return exp.column(col, table=f"i{inputs.index(node.name)}")
                return node

            def safe_div(node: exp.Expression) -> exp.Expression:
                if isinstance(node, exp.Div):
                    node.set("expression", exp.func("nullif", node.expression, exp.Literal.number(0)))
                return node
            return tree.copy().transform(cols).transform(safe_div).sql("duckdb")

        joins = " ".join(
            f"JOIN _kpi_enriched AS i{k} ON i{k}.indicator = $in{k} AND i{k}.level = i0.level "
            f"AND i{k}.territory = i0.territory AND i{k}.grain = i0.grain AND i{k}.period = i0.period "
            f"AND i{k}.split = '' AND i{k}.member = ''"
            for k in range(1, len(inputs)))
        params = {f"in{k}": name for k, name in enumerate(inputs)}
        params["id"] = c.id
        grains = self.cat.grains(c)
        params.update({f"g{k}": g for k, g in enumerate(grains)})
        gl = ", ".join(f"$g{k}" for k in range(len(grains)))
        _q(self.con, f"""
            INSERT INTO _kpi_derived_src
            SELECT $id, i0.level, i0.territory, i0.wilaya, i0.grain, i0.period, '', '',
                   CAST({make('value')} AS DOUBLE), NULL, NULL, NULL,
                   CAST({make('ytd_value')} AS DOUBLE)
            FROM _kpi_enriched AS i0 {joins}
            WHERE i0.indicator = $in0 AND i0.split = '' AND i0.member = '' AND i0.grain IN ({gl})""",
                         params)
        _q(self.con, f"INSERT INTO _kpi_new SELECT {_BASE_COLS} FROM _kpi_derived_src WHERE indicator = $id",
                         {"id": c.id})

    def _enrich(self, ids: list[str], params: dict) -> int:
        """prev_value, yoy_value and ytd_value of the new rows of ``ids`` into _kpi_enriched."""
        con = self.con
        if not _table_exists(con, "_kpi_enriched"):
            _q(con, f"""CREATE TEMP TABLE _kpi_enriched AS SELECT {_BASE_COLS},
                        CAST(NULL AS DOUBLE) AS prev_value, CAST(NULL AS DOUBLE) AS yoy_value,
                        CAST(NULL AS DOUBLE) AS ytd_value FROM kpi_result LIMIT 0""")
            _q(con, f"CREATE TEMP TABLE _kpi_derived_src AS SELECT {_BASE_COLS}, "
                    "CAST(NULL AS DOUBLE) AS ytd_value FROM kpi_result LIMIT 0")
        if not ids:
            return 0
        id_list = ", ".join(f"$i{k}" for k in range(len(ids)))
        p = {f"i{k}": v for k, v in enumerate(ids)}
        # context: the new rows, plus the stored unsplit rows of the year before them (prev
        # needs the period before, yoy the same period a year before, ytd the months since
        # January: a year back from the first refreshed period covers all three; see _stored)
        _q(con, f"""
            CREATE OR REPLACE TEMP TABLE _kpi_ctx AS
            SELECT {_BASE_COLS}, TRUE AS is_new FROM _kpi_new WHERE indicator IN ({id_list})
            UNION ALL
            SELECT {_BASE_COLS}, FALSE FROM _kpi_stored_ctx
            WHERE indicator IN ({id_list})""", p)
        before = _q(con, "SELECT count(*) FROM _kpi_enriched")[0][0]
        # Split rows (by service, channel …) carry the figure only: comparisons, ranks and
        # status are for the unsplit figures a wali reads.
        _q(con, f"""INSERT INTO _kpi_enriched SELECT {_BASE_COLS}, NULL, NULL, NULL
                    FROM _kpi_ctx WHERE is_new AND split <> ''""")
        _q(con, """
            INSERT INTO _kpi_enriched
            WITH w AS (
                SELECT c.*, d.ytd AS rule, d.scale,
                       CASE c.grain WHEN 'month' THEN year(c.period) * 12 + month(c.period)
                                    WHEN 'quarter' THEN year(c.period) * 4 + quarter(c.period)
                                    ELSE year(c.period) END AS idx,
                       CASE c.grain WHEN 'month' THEN month(c.period)
                                    WHEN 'quarter' THEN quarter(c.period) ELSE 0 END AS pos
                FROM _kpi_ctx AS c JOIN _kpi_def AS d USING (indicator)
                WHERE c.split = ''
            ), x AS (
                SELECT w.*,
                       max(value) OVER (PARTITION BY indicator, level, territory, grain
                                        ORDER BY idx RANGE BETWEEN 1 PRECEDING AND 1 PRECEDING) AS prev_value,
                       max(value) OVER (PARTITION BY indicator, level, territory, grain, pos
                                        ORDER BY year(period) RANGE BETWEEN 1 PRECEDING AND 1 PRECEDING) AS yoy_value,
                       sum(num) OVER y AS cum_num, sum(den) OVER y AS cum_den,
                       max(CASE WHEN grain = 'year' THEN value END) OVER (
                           PARTITION BY indicator, level, territory, year(period)) AS year_value
                FROM w
                WINDOW y AS (PARTITION BY indicator, level, territory, grain, year(period)
                             ORDER BY period ROWS UNBOUNDED PRECEDING)
            )
            SELECT x.indicator, x.level, x.territory, x.wilaya, x.grain, x.period, x.split, x.member,
                   x.value, x.num, x.den, x.n, x.prev_value, x.yoy_value,
                   CASE x.rule
                     WHEN 'sum' THEN x.cum_num
                     WHEN 'avg' THEN x.cum_num / nullif(x.cum_den, 0)
                     WHEN 'ratio' THEN x.cum_num / nullif(x.cum_den, 0) * x.scale
                     WHEN 'value' THEN x.value
                     WHEN 'derived' THEN ds.ytd_value
                     -- a percentile's year to date is known at the year's last period and at
                     -- the period holding the as-of time (the year figure then covers 1 January
                     -- to that time); it cannot be rolled up from monthly figures
                     WHEN 'percentile' THEN CASE WHEN x.grain = 'year' OR x.pos = CASE x.grain
                          WHEN 'month' THEN 12 ELSE 4 END
                          OR CAST(date_trunc(x.grain, CAST($as_of AS TIMESTAMP) + INTERVAL 1 HOUR) AS DATE) = x.period
                          THEN x.year_value END
                   END AS ytd_value
            FROM x
            LEFT JOIN _kpi_derived_src AS ds ON x.rule = 'derived' AND ds.indicator = x.indicator
                 AND ds.level = x.level AND ds.territory = x.territory AND ds.grain = x.grain
                 AND ds.period = x.period
            WHERE x.is_new""", {"as_of": params["as_of"]})
        return _q(con, "SELECT count(*) FROM _kpi_enriched")[0][0] - before

    def _finish(self, ids: list[str], params: dict, since: dt.date | None, enriched: int) -> None:
        """Targets, status and ranks of the enriched rows, into _kpi_final."""
        bands = " ".join(f"WHEN c.population < {lim} THEN '{label}'" for lim, label in PEER_BANDS)
        _q(self.con, f"""
            CREATE OR REPLACE TEMP TABLE _kpi_final AS
            WITH t AS (
                SELECT e.*, d.direction, d.basis, d.green, d.amber,
                       coalesce(tw.value, tn.value) AS target,
                       CASE WHEN e.level = 'commune' THEN CASE {bands} ELSE '≥ 250 000' END END AS peer_group,
                       CASE d.direction WHEN 'lower' THEN -e.value ELSE e.value END AS key
                FROM _kpi_enriched AS e
                JOIN _kpi_def AS d USING (indicator)
                LEFT JOIN _kpi_target AS tw ON tw.indicator = e.indicator AND tw.wilaya = e.wilaya
                LEFT JOIN (
                    SELECT e2.indicator, e2.period, arg_max(tg.value, tg.valid_from) AS value
                    FROM (SELECT DISTINCT indicator, period FROM _kpi_enriched) AS e2
                    JOIN _kpi_target AS tg ON tg.indicator = e2.indicator AND tg.wilaya IS NULL
                         AND tg.valid_from <= e2.period
                    GROUP BY e2.indicator, e2.period
                ) AS tn ON tn.indicator = e.indicator AND tn.period = e.period
                LEFT JOIN dim_commune AS c ON e.level = 'commune' AND c.commune_code = e.territory
                WHERE e.split = ''
            ), b AS (
                SELECT t.*,
                       CASE WHEN basis = 'target' THEN target * green ELSE green END AS g_bound,
                       CASE WHEN basis = 'target' THEN target * amber ELSE amber END AS a_bound
                FROM t
            )
            SELECT indicator, level, territory, wilaya, grain, period, split, member, value, num, den, n,
                   prev_value, yoy_value, ytd_value, target,
                   CASE WHEN value IS NULL OR g_bound IS NULL OR direction = 'neutral' THEN NULL
                        WHEN direction = 'higher' THEN CASE WHEN value >= g_bound THEN 'green'
                             WHEN value >= a_bound THEN 'amber' ELSE 'red' END
                        ELSE CASE WHEN value <= g_bound THEN 'green'
                             WHEN value <= a_bound THEN 'amber' ELSE 'red' END END AS status,
                   CASE WHEN value IS NOT NULL AND level <> 'nation' THEN CAST(rank() OVER parent AS INTEGER) END AS rank_parent,
                   CASE WHEN value IS NOT NULL AND level <> 'nation' THEN CAST(count(value) OVER parent_all AS INTEGER) END AS count_parent,
                   peer_group,
                   CASE WHEN value IS NOT NULL AND level = 'commune' THEN CAST(rank() OVER peer AS INTEGER) END AS rank_peer,
                   CASE WHEN value IS NOT NULL AND level = 'commune' THEN CAST(count(value) OVER peer_all AS INTEGER) END AS count_peer
            FROM b
            WINDOW parent AS (PARTITION BY indicator, grain, period, split, member, level,
                              CASE WHEN level = 'wilaya' THEN '{NATION_CODE}' ELSE wilaya END, value IS NULL
                              ORDER BY key DESC),
                   parent_all AS (PARTITION BY indicator, grain, period, split, member, level,
                              CASE WHEN level = 'wilaya' THEN '{NATION_CODE}' ELSE wilaya END, value IS NULL),
                   peer AS (PARTITION BY indicator, grain, period, split, member, level, peer_group,
                            value IS NULL ORDER BY key DESC),
                   peer_all AS (PARTITION BY indicator, grain, period, split, member, level, peer_group,
                                value IS NULL)
            UNION ALL
            SELECT indicator, level, territory, wilaya, grain, period, split, member, value, num, den, n,
                   prev_value, yoy_value, ytd_value, NULL, NULL, NULL, NULL, NULL, NULL, NULL
            FROM _kpi_enriched WHERE split <> ''""")

    def _write(self, ids: list[str], since: dt.date | None, report: RefreshReport,
               as_of: dt.datetime, last_batch: str | None, partial: bool = False) -> None:
        con = self.con
        id_list = ", ".join(f"$i{k}" for k in range(len(ids)))
        p: dict[str, Any] = {f"i{k}": v for k, v in enumerate(ids)}
        if ids:
            if since is None:
                _q(con, f"DELETE FROM kpi_result WHERE indicator IN ({id_list})", p)
            else:
                _q(con, f"DELETE FROM kpi_result WHERE indicator IN ({id_list}) AND "
                            "period >= CAST(date_trunc(grain, CAST($since AS TIMESTAMP)) AS DATE)",
                            {**p, "since": since})
        # rows of indicators no longer in the catalogue go
        keep = list(self.cat.indicators)
        if keep:
            klist = ", ".join(f"$k{k}" for k in range(len(keep)))
            _q(con, f"DELETE FROM kpi_result WHERE indicator NOT IN ({klist})",
                        {f"k{k}": v for k, v in enumerate(keep)})
        else:
            _q(con, "DELETE FROM kpi_result")
        cols = ", ".join(n for n, _, _ in RESULT_COLUMNS)
        _q(con, f"INSERT INTO kpi_result ({cols}) SELECT {cols} FROM _kpi_final")
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        _q(con, "DELETE FROM kpi_indicator")
        rows = []
        for i, c in self.cat.indicators.items():
            n, s = report.per_indicator.get(i, (None, None))
            failed = self.failed.get(i)
            rows.append((i, failed is None, failed, c.ind.label.fr, c.ind.label.ar, c.ind.label.en,
                         c.ind.unit, c.ind.direction, n, s, now if i in ids else None))
        for b in self.cat.broken.values():
            lab = b.label or {}
            rows.append((b.id if b.id not in self.cat.indicators else f"{b.id}@{b.line}", False,
                         "; ".join(str(x) for x in b.issues), lab.get("fr"), lab.get("ar"),
                         lab.get("en"), None, None, None, None, None))
        seen = set()
        uniq = []
        for r in rows:
            if r[0] not in seen:
                seen.add(r[0])
                uniq.append(r)
        if uniq:
            con.executemany("INSERT INTO kpi_indicator VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", uniq)
        if not partial:
            # a refresh of some indicators only (--kpi) leaves the others as they were: it must
            # not make the next refresh believe everything is up to date
            for k, v in (("catalogue", self.cat.fingerprint), ("as_of", as_of.isoformat()),
                         ("last_batch", last_batch or ""), ("refreshed_at", now.isoformat())):
                _q(con, "INSERT OR REPLACE INTO kpi_meta VALUES (?, ?)", [k, v])
        for t in ("_kpi_new", "_kpi_ctx", "_kpi_enriched", "_kpi_derived_src", "_kpi_final",
                  "_kpi_stored_base", "_kpi_stored_ctx"):
            _q(con, f"DROP TABLE IF EXISTS {t}")


__all__ = ["Engine", "RefreshReport", "RESULT_COLUMNS", "INDICATOR_COLUMNS", "ddl", "GRAINS_ALL"]

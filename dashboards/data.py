"""Thin read-only query layer over the warehouse for the pages.

Each call opens its own read-only connection, so a worker always reads the current warehouse
file: a load swaps a new file in (see etl/warehouse.py) and the next request sees it, while a
request in flight keeps its snapshot. Nothing here writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from .i18n import t_fr

log = logging.getLogger(__name__)

# Labels in French, translated where shown (dashboards/i18n.py).
FACTS = {
    "fact_request": t_fr("Demandes des citoyens"),
    "fact_budget": t_fr("Lignes budgétaires communales"),
    "fact_project": t_fr("Projets d'investissement"),
    "fact_satisfaction": t_fr("Réponses aux enquêtes de satisfaction"),
}
DIMS = {
    "dim_wilaya": t_fr("Wilayas"),
    "dim_daira": t_fr("Daïras"),
    "dim_commune": t_fr("Communes"),
    "dim_service": t_fr("Services (procédures)"),
    "dim_channel": t_fr("Canaux"),
}


def warehouse_path() -> Path:
    return Path(os.environ.get("MOUACHIR_WAREHOUSE", "data/warehouse.duckdb"))


_LOCK = threading.Lock()
_OPEN: dict[str, tuple[tuple[str, int], duckdb.DuckDBPyConnection, int]] = {}


def _connection(p: Path) -> duckdb.DuckDBPyConnection:
    """One read-only connection per worker process and warehouse file, opened on first use
    (after gunicorn's fork) and replaced when a load or a refresh swaps a new file in."""
    stamp = _stamp(p)
    key = str(p)
    with _LOCK:
        held = _OPEN.get(key)
        if held is not None and held[0] == stamp and held[2] == os.getpid():
            return held[1]
        if held is not None and held[2] == os.getpid():
            with contextlib.suppress(duckdb.Error):
                held[1].close()
        con = duckdb.connect(str(p), read_only=True)
        _OPEN[key] = (stamp, con, os.getpid())
        return con


@contextlib.contextmanager
def reader(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the current warehouse file (each request its own cursor)."""
    cur = _connection(path or warehouse_path()).cursor()
    try:
        yield cur
    finally:
        cur.close()


def summary(path: Path | None = None) -> dict[str, Any]:
    """What the warehouse holds: row counts, period covered, recent batches, quarantine."""
    p = path or warehouse_path()
    if not p.exists():
        return {"exists": False, "path": str(p)}
    with reader(p) as con:
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in {**FACTS, **DIMS}}
        period = con.execute(
            "SELECT min(submitted_at), max(submitted_at), count(*) FILTER (closed_at IS NULL) "
            "FROM fact_request"
        ).fetchall()[0]
        by_wilaya = con.execute(
            "SELECT w.wilaya_code, w.name_fr, w.name_ar, count(r.request_id) AS n, w.name_en "
            "FROM dim_wilaya w LEFT JOIN dim_commune c USING (wilaya_code) "
            "LEFT JOIN fact_request r USING (commune_code) GROUP BY 1, 2, 3, 5 ORDER BY 1"
        ).fetchall()
        batches = con.execute(
            "SELECT source, location, status, rows_read, rows_loaded, rows_merged, rows_rejected, "
            "finished_at, error FROM etl_batch ORDER BY started_at DESC, batch_id DESC LIMIT 15"
        ).fetchall()
        quarantine = con.execute(
            "SELECT source, reason_code, count(*) FROM etl_quarantine GROUP BY 1, 2 ORDER BY 1, 3 DESC"
        ).fetchall()
    return {"exists": True, "path": str(p), "counts": counts, "period": period,
            "by_wilaya": by_wilaya, "batches": batches, "quarantine": quarantine}


def national_figures(path: Path | None = None) -> dict[str, Any]:
    """Each indicator's latest national figure, the refresh state and unavailable indicators."""
    from kpi import read

    p = path or warehouse_path()
    if not p.exists():
        return {"figures": {}, "state": {"refreshed": False}, "unavailable": {}}
    with reader(p) as con:
        return {"figures": read.latest_national(con), "state": read.refresh_state(con),
                "unavailable": read.unavailable(con)}


def wilaya_map_figures(indicator: str, path: Path | None = None) -> dict[str, Any]:
    """The wilayas' figures of one indicator for its latest month (for the map)."""
    from kpi import read

    p = path or warehouse_path()
    if not p.exists():
        return {"period": None, "figures": {}}
    with reader(p) as con:
        nat = read.latest_national(con).get(indicator)
        if not nat:
            return {"period": None, "figures": {}}
        figures = read.level_figures(con, indicator, level="wilaya", grain=nat["grain"], period=nat["period"])
        return {"period": nat["period"], "grain": nat["grain"], "figures": figures}


def geo_dir() -> Path:
    return Path(os.environ.get("MOUACHIR_GEO", "data/geo"))


# ---------------------------------------------------------------------------------------------
# The pages' reads. Every function opens its own read-only connection (after gunicorn's fork),
# passes values as parameters, and returns plain Python (dicts, lists) the builders turn into
# figures and grids. Nothing is computed from the fact tables that the KPI engine materialises.
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Ref:
    """Names of the territory and of the dimensions, in the three languages."""

    wilayas: dict[str, dict[str, Any]]
    dairas: dict[str, dict[str, Any]]
    communes: dict[str, dict[str, Any]]
    services: dict[str, dict[str, Any]]
    channels: dict[str, dict[str, Any]]

    def name(self, code: str, lang: str) -> str:
        if code in ("", "DZ"):
            # not "الجزائر" in Arabic: that is also the name of the wilaya of Algiers
            return {"fr": "Algérie", "ar": "المستوى الوطني", "en": "Algeria"}[lang]
        for table in (self.communes, self.dairas, self.wilayas) if len(code) > 2 else (self.wilayas,):
            if code in table:
                return table[code][f"name_{lang}"]
        return code

    def parent(self, code: str) -> str | None:
        """The territory above: commune → daïra → wilaya → DZ."""
        if code in self.communes:
            return self.communes[code]["daira_code"]
        if code in self.dairas:
            return self.dairas[code]["wilaya_code"]
        if code in self.wilayas:
            return "DZ"
        return None

    def wilaya_of(self, code: str) -> str | None:
        for table in (self.communes, self.dairas, self.wilayas):
            if code in table:
                return table[code]["wilaya_code"]
        return None

    def known(self, code: str) -> bool:
        return code == "DZ" or code in self.wilayas or code in self.dairas or code in self.communes


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params) if params is not None else con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _stamp(p: Path) -> tuple[str, int]:
    """Identifies one warehouse file: a load swaps in a new file, with a new modification time."""
    try:
        return str(p), p.stat().st_mtime_ns
    except FileNotFoundError:
        return str(p), 0


@functools.lru_cache(maxsize=4)
def _ref(stamp: tuple[str, int]) -> Ref:
    with reader(Path(stamp[0])) as con:
        def by(sql: str, key: str) -> dict[str, dict[str, Any]]:
            return {r[key]: r for r in _rows(con, sql)}
        return Ref(
            wilayas=by("SELECT wilaya_code, name_fr, name_ar, name_en, population FROM dim_wilaya", "wilaya_code"),
            dairas=by("SELECT daira_code, wilaya_code, name_fr, name_ar, name_en FROM dim_daira", "daira_code"),
            communes=by("SELECT commune_code, wilaya_code, daira_code, name_fr, name_ar, name_en, population "
                        "FROM dim_commune", "commune_code"),
            services=by("SELECT service_code, category, name_fr, name_ar, name_en, legal_delay_days "
                        "FROM dim_service ORDER BY service_code", "service_code"),
            channels=by("SELECT channel_code, name_fr, name_ar, name_en, is_digital FROM dim_channel "
                        "ORDER BY channel_code", "channel_code"),
        )


def ref(path: Path | None = None) -> Ref:
    """The territory and dimension names (cached until the warehouse file is swapped)."""
    p = path or warehouse_path()
    if not p.exists():
        return Ref({}, {}, {}, {}, {})
    return _ref(_stamp(p))


def available(path: Path | None = None) -> bool:
    """The warehouse exists and the figures have been computed."""
    p = path or warehouse_path()
    return p.exists() and _available(_stamp(p))


@functools.lru_cache(maxsize=4)
def _available(stamp: tuple[str, int]) -> bool:
    with reader(Path(stamp[0])) as con:
        return bool(con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = 'kpi_result'")
                    .fetchall())


@functools.lru_cache(maxsize=8)
def _periods(stamp: tuple[str, int], grain: str) -> tuple[dt.date, ...]:
    with reader(Path(stamp[0])) as con:
        return tuple(r[0] for r in con.execute(
            "SELECT DISTINCT period FROM kpi_result WHERE level = 'nation' AND grain = ? AND split = '' "
            "ORDER BY 1", [grain]).fetchall())


def periods(grain: str, path: Path | None = None) -> tuple[dt.date, ...]:
    """The periods of a grain that have figures, oldest first."""
    p = path or warehouse_path()
    if not available(p):
        return ()
    return _periods(_stamp(p), grain)


def period_end(grain: str, start: dt.date) -> dt.date:
    """The first day after the period."""
    months = {"year": 12, "quarter": 3}.get(grain, 1)
    m = start.month - 1 + months
    return dt.date(start.year + m // 12, m % 12 + 1, 1)


@functools.lru_cache(maxsize=4)
def _as_of(stamp: tuple[str, int]) -> dt.datetime | None:
    from kpi import read

    with reader(Path(stamp[0])) as con:
        state = read.refresh_state(con)
    return dt.datetime.fromisoformat(state["as_of"]) if state.get("as_of") else None


def as_of(path: Path | None = None) -> dt.datetime | None:
    """The data's as-of time (UTC) of the last refresh of the figures."""
    p = path or warehouse_path()
    return _as_of(_stamp(p)) if available(p) else None


def default_period(grain: str, path: Path | None = None) -> dt.date | None:
    """The latest period that is over by the data's as-of time (else the latest one)."""
    from kpi.engine import local_date

    ps = periods(grain, path)
    if not ps:
        return None
    when = as_of(path)
    if when is not None:
        today = local_date(when)
        done = [p for p in ps if period_end(grain, p) <= today + dt.timedelta(days=1)]
        if done:
            return done[-1]
    return ps[-1]


def resolve_period(grain: str, period: dt.date | None, path: Path | None = None) -> dt.date | None:
    """The period asked for when it has figures, else the default one."""
    ps = periods(grain, path)
    if period is not None and period in ps:
        return period
    return default_period(grain, path)


def values(indicator: str, *, level: str, grain: str, period: dt.date, split: str = "",
           member: str = "", wilaya: str | None = None, path: Path | None = None) -> dict[str, dict[str, Any]]:
    """One indicator's figures for every territory of a level (of one wilaya if given)."""
    sql = ("SELECT * FROM kpi_result WHERE indicator = $i AND level = $l AND grain = $g AND period = $p "
           "AND split = $s AND member = $m")
    params: dict[str, Any] = {"i": indicator, "l": level, "g": grain, "p": period, "s": split, "m": member}
    if wilaya is not None:
        sql += " AND wilaya = $w"
        params["w"] = wilaya
    with reader(path) as con:
        return {r["territory"]: r for r in _rows(con, sql, params)}


def series(indicator: str, *, level: str, territory: str, grain: str, split: str = "", member: str = "",
           path: Path | None = None) -> list[dict[str, Any]]:
    """One indicator over time for one territory, oldest first."""
    with reader(path) as con:
        return _rows(con, "SELECT * FROM kpi_result WHERE indicator = $i AND level = $l AND territory = $t "
                          "AND grain = $g AND split = $s AND member = $m ORDER BY period",
                     {"i": indicator, "l": level, "t": territory, "g": grain, "s": split, "m": member})


def members(indicator: str, *, level: str, territory: str, grain: str, period: dt.date, split: str,
            path: Path | None = None) -> list[dict[str, Any]]:
    """One indicator split by a dimension (service, channel…) for one territory and period."""
    with reader(path) as con:
        return _rows(con, "SELECT * FROM kpi_result WHERE indicator = $i AND level = $l AND territory = $t "
                          "AND grain = $g AND period = $p AND split = $s ORDER BY member",
                     {"i": indicator, "l": level, "t": territory, "g": grain, "p": period, "s": split})


def territory_figures(*, level: str, territory: str, grain: str, split: str = "", member: str = "",
                      since: dt.date | None = None, path: Path | None = None) -> list[dict[str, Any]]:
    """Every indicator of one territory over time (the scorecard and its sparklines)."""
    with reader(path) as con:
        return _rows(con, "SELECT * FROM kpi_result WHERE level = $l AND territory = $t AND grain = $g "
                          "AND split = $s AND member = $m AND period >= $since ORDER BY indicator, period",
                     {"l": level, "t": territory, "g": grain, "s": split, "m": member,
                      "since": since or dt.date(1900, 1, 1)})


STALE_STATUS = "red"   # data_freshness beyond its red threshold (indicators.yaml)


def stale_communes(path: Path | None = None) -> dict[str, float]:
    """Communes whose feed is stale (data freshness red in the latest month), with the days."""
    p = path or warehouse_path()
    if not available(p):
        return {}
    return dict(_stale(_stamp(p)))


@functools.lru_cache(maxsize=4)
def _stale(stamp: tuple[str, int]) -> tuple[tuple[str, float], ...]:
    with reader(Path(stamp[0])) as con:
        return tuple(con.execute(
            "SELECT territory, value FROM kpi_result WHERE indicator = 'data_freshness' AND level = 'commune' "
            "AND grain = 'month' AND split = '' AND status = $s AND period = (SELECT max(period) FROM kpi_result "
            "WHERE indicator = 'data_freshness' AND level = 'commune' AND grain = 'month' AND split = '') "
            "ORDER BY territory", {"s": STALE_STATUS}).fetchall())


def source_batches(path: Path | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The latest successful batch of each source (what a figure or an export was made from)."""
    with reader(path) as con:
        return _rows(con, "SELECT source, dataset, max(batch_id) AS batch_id, max(finished_at) AS finished_at, "
                          "sum(rows_loaded) AS rows_loaded FROM etl_batch WHERE status = 'ok' "
                          "GROUP BY source, dataset ORDER BY source LIMIT $n", {"n": limit})


def freshness(wilaya: str | None = None, path: Path | None = None) -> list[dict[str, Any]]:
    """Each commune's feed freshness in the latest month (days since its last update)."""
    sql = ("SELECT territory AS commune_code, wilaya, value AS days, status, period FROM kpi_result "
           "WHERE indicator = 'data_freshness' AND level = 'commune' AND grain = 'month' AND split = '' "
           "AND period = (SELECT max(period) FROM kpi_result WHERE indicator = 'data_freshness' "
           "AND level = 'commune' AND grain = 'month' AND split = '')")
    params: dict[str, Any] = {}
    if wilaya:
        sql += " AND wilaya = $w"
        params["w"] = wilaya
    with reader(path) as con:
        return _rows(con, sql + " ORDER BY value DESC NULLS FIRST, territory", params)


def batches(limit: int = 30, path: Path | None = None) -> list[dict[str, Any]]:
    with reader(path) as con:
        return _rows(con, "SELECT batch_id, source, dataset, connector, location, status, started_at, finished_at, "
                          "rows_read, rows_loaded, rows_merged, rows_rejected, error FROM etl_batch "
                          "ORDER BY started_at DESC, batch_id DESC LIMIT $n", {"n": limit})


def quarantine_counts(path: Path | None = None) -> list[dict[str, Any]]:
    with reader(path) as con:
        return _rows(con, "SELECT source, dataset, reason_code, count(*) AS n, min(reason) AS example_reason, "
                          "max(quarantined_at) AS last_at FROM etl_quarantine GROUP BY 1, 2, 3 ORDER BY n DESC")


def quarantine_samples(source: str, reason_code: str, limit: int = 10,
                       path: Path | None = None) -> list[dict[str, Any]]:
    with reader(path) as con:
        return _rows(con, "SELECT location, row_number, column_name, reason, candidates, raw FROM etl_quarantine "
                          "WHERE source = $s AND reason_code = $r ORDER BY quarantined_at DESC, row_number "
                          "LIMIT $n", {"s": source, "r": reason_code, "n": limit})


def projects(*, wilaya: str | None = None, commune: str | None = None, late_only: bool = False,
             limit: int = 500, path: Path | None = None) -> list[dict[str, Any]]:
    """Investment projects with their delay (days past the planned end, as of the data)."""
    sql = ("SELECT p.project_id, p.commune_code, c.wilaya_code, c.daira_code, p.programme, p.sector, p.title, "
           "p.ap_amount::DOUBLE AS ap_amount, p.consumed_amount::DOUBLE AS consumed_amount, "
           "p.physical_progress, p.planned_start, p.planned_end, p.actual_start, p.actual_end, p.status, "
           "CASE WHEN p.actual_end IS NOT NULL THEN date_diff('day', p.planned_end, p.actual_end) "
           "WHEN p.planned_end < $today THEN date_diff('day', p.planned_end, $today) ELSE 0 END AS delay_days "
           "FROM fact_project p JOIN dim_commune c USING (commune_code) WHERE 1 = 1")
    when = as_of(path)
    params: dict[str, Any] = {"today": (when or dt.datetime.now()).date(), "n": limit}
    if wilaya:
        sql += " AND c.wilaya_code = $w"
        params["w"] = wilaya
    if commune:
        sql += " AND p.commune_code = $c"
        params["c"] = commune
    if late_only:
        sql += " AND p.status <> 'cancelled' AND (p.status = 'stalled' OR (CASE WHEN p.actual_end IS NOT NULL THEN p.actual_end > p.planned_end " \
               "ELSE p.planned_end < $today END))"
    with reader(path) as con:
        return _rows(con, sql + " ORDER BY delay_days DESC, p.project_id LIMIT $n", params)


def project_statuses(*, wilaya: str | None = None, commune: str | None = None,
                     path: Path | None = None) -> list[dict[str, Any]]:
    sql = ("SELECT p.status, count(*) AS n, sum(p.ap_amount)::DOUBLE AS ap_amount FROM fact_project p "
           "JOIN dim_commune c USING (commune_code) WHERE 1 = 1")
    params: dict[str, Any] = {}
    if wilaya:
        sql += " AND c.wilaya_code = $w"
        params["w"] = wilaya
    if commune:
        sql += " AND p.commune_code = $c"
        params["c"] = commune
    with reader(path) as con:
        return _rows(con, sql + " GROUP BY 1 ORDER BY 2 DESC", params or None)


def unavailable(path: Path | None = None) -> dict[str, str]:
    """Indicators the last refresh could not compute, with the reason (cached per file)."""
    p = path or warehouse_path()
    return dict(_unavailable(_stamp(p))) if available(p) else {}


@functools.lru_cache(maxsize=4)
def _unavailable(stamp: tuple[str, int]) -> tuple[tuple[str, str], ...]:
    from kpi import read

    with reader(Path(stamp[0])) as con:
        return tuple(read.unavailable(con).items())


def stamp() -> tuple[str, int]:
    """What identifies the data a page was built from (the warehouse file's version)."""
    return _stamp(warehouse_path())

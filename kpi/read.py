"""Read the materialised figures (for the app): never computes, only reads kpi_* tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = ?",
                            [table]).fetchall())


def refresh_state(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """When the figures were refreshed, the data as-of time, and ETL batches not yet in them."""
    if not _has(con, "kpi_meta"):
        return {"refreshed": False, "pending_batches": None}
    meta = dict(con.execute("SELECT key, value FROM kpi_meta").fetchall())
    pending = None
    if _has(con, "etl_batch"):
        pending = con.execute("SELECT count(*) FROM etl_batch WHERE status = 'ok' AND batch_id > ?",
                              [meta.get("last_batch", "")]).fetchall()[0][0]
    return {"refreshed": True, "as_of": meta.get("as_of"), "refreshed_at": meta.get("refreshed_at"),
            "catalogue": meta.get("catalogue"), "pending_batches": pending}


def latest_period(con: duckdb.DuckDBPyConnection, grain: str) -> dt.date | None:
    if not _has(con, "kpi_result"):
        return None
    return con.execute("SELECT max(period) FROM kpi_result WHERE grain = ?", [grain]).fetchall()[0][0]


def scorecard(con: duckdb.DuckDBPyConnection, *, level: str, territory: str, grain: str,
              period: dt.date) -> dict[str, dict[str, Any]]:
    """Unsplit figures of one territory and period, by indicator id."""
    if not _has(con, "kpi_result"):
        return {}
    cur = con.execute(
        "SELECT * FROM kpi_result WHERE level = ? AND territory = ? AND grain = ? AND period = ? "
        "AND split = ''", [level, territory, grain, period])
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r)) for r in cur.fetchall()}


def unavailable(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Indicators the last refresh could not compute, with the reason."""
    if not _has(con, "kpi_indicator"):
        return {}
    return dict(con.execute("SELECT indicator, reason FROM kpi_indicator WHERE NOT available").fetchall())


def latest_national(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Each indicator's national figure for its latest period, at the finest grain it has."""
    if not _has(con, "kpi_result"):
        return {}
    cur = con.execute("""
        WITH g AS (
            SELECT indicator, grain, max(period) AS last FROM kpi_result
            WHERE level = 'nation' AND split = '' GROUP BY indicator, grain
        ), f AS (
            SELECT indicator, arg_min(grain, CASE grain WHEN 'month' THEN 1 WHEN 'quarter' THEN 2
                                                        ELSE 3 END) AS grain
            FROM g GROUP BY indicator
        )
        SELECT r.* FROM kpi_result AS r JOIN f USING (indicator, grain)
        JOIN g ON g.indicator = r.indicator AND g.grain = r.grain AND g.last = r.period
        WHERE r.level = 'nation' AND r.split = ''""")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r)) for r in cur.fetchall()}


def level_figures(con: duckdb.DuckDBPyConnection, indicator: str, *, level: str, grain: str,
                  period: dt.date) -> dict[str, dict[str, Any]]:
    """Unsplit figures of one indicator for every territory of a level, by territory code."""
    if not _has(con, "kpi_result"):
        return {}
    cur = con.execute("SELECT * FROM kpi_result WHERE indicator = ? AND level = ? AND grain = ? "
                      "AND period = ? AND split = ''", [indicator, level, grain, period])
    names = [d[0] for d in cur.description]
    return {r[2]: dict(zip(names, r)) for r in cur.fetchall()}


def figures(con: duckdb.DuckDBPyConnection, indicator: str, *, level: str | None = None,
            grain: str | None = None, period: dt.date | None = None) -> list[dict[str, Any]]:
    """Rows of kpi_result for one indicator (optionally one level, grain, period)."""
    sql = "SELECT * FROM kpi_result WHERE indicator = $i"
    p: dict[str, Any] = {"i": indicator}
    for key, val in (("level", level), ("grain", grain), ("period", period)):
        if val is not None:
            sql += f" AND {key} = ${key}"
            p[key] = val
    cur = con.execute(sql + " ORDER BY level, territory, grain, period, split, member", p)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]

"""Thin read-only query layer over the warehouse for the pages.

Each call opens its own read-only connection, so a worker always reads the current warehouse
file: a load swaps a new file in (see etl/warehouse.py) and the next request sees it, while a
request in flight keeps its snapshot. Nothing here writes.
"""

from __future__ import annotations

import contextlib
import logging
import os
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


@contextlib.contextmanager
def reader(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(path or warehouse_path()), read_only=True)
    try:
        yield con
    finally:
        con.close()


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

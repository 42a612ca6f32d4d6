"""Helpers for ETL tests: write a sources file, run a real load into a DuckDB file, read it back.

Everything is real: the sources file is YAML on disk, the load is :func:`etl.loader.load`, the
warehouse is a DuckDB file in ``tmp_path``, read back through a read-only connection that is
closed after every query.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from etl.loader import RunResult, load
from etl.sources import load_config

REQUEST_HEADER = ("num_demande", "code_commune", "code_service", "canal", "date_depot",
                  "date_cloture", "statut", "maj_le")
REQUEST_COLUMNS = {
    "request_id": "num_demande", "commune_code": "code_commune", "service_code": "code_service",
    "channel": "canal", "submitted_at": "date_depot", "closed_at": "date_cloture",
    "status": "statut", "updated_at": "maj_le",
}
PROJECT_HEADER = ("Code projet", "Commune", "Programme", "Secteur", "Intitulé", "Montant AP",
                  "Consommé", "Avancement physique", "Début prévu", "Fin prévue", "Début réel",
                  "Fin réelle", "Situation")
PROJECT_COLUMNS = dict(zip(
    ("project_id", "commune_code", "programme", "sector", "title", "ap_amount", "consumed_amount",
     "physical_progress", "planned_start", "planned_end", "actual_start", "actual_end", "status"),
    PROJECT_HEADER))
SURVEY_HEADER = ("id_reponse", "num_demande", "code_commune", "code_service", "canal", "note",
                 "date_reponse")
SURVEY_COLUMNS = {
    "response_id": "id_reponse", "request_id": "num_demande", "commune_code": "code_commune",
    "service_code": "code_service", "channel": "canal", "rating": "note",
    "answered_at": "date_reponse",
}


def services() -> list[str]:
    """Service codes of the catalogue (the ``code:`` keys of etl/reference/services.yaml)."""
    from etl.warehouse import SERVICES_FILE

    data = yaml.safe_load(SERVICES_FILE.read_text(encoding="utf-8"))
    return [s["code"] for s in data["services"]]


def request_row(rid: str, commune: str = "1601", service: str = "EC_S12", channel: str = "guichet",
                submitted: str = "2025-03-01 10:00:00", closed: str = "", status: str = "en cours",
                updated: str | None = None) -> list[str]:
    return [rid, commune, service, channel, submitted, closed, status,
            updated or closed or submitted]


def project_row(pid: str, commune: str = "1601", ap: str = "1000000,00", consumed: str = "",
                progress: str = "", start: str = "01/02/2024", end: str = "31/12/2025",
                actual_start: str = "", actual_end: str = "", status: str = "inscrit") -> list[str]:
    return [pid, commune, "PCD", "Voirie", f"Projet {pid}", ap, consumed, progress, start, end,
            actual_start, actual_end, status]


def survey_row(rid: str, rating: str = "4", commune: str = "1601",
               answered: str = "2025-03-02 09:30:00") -> list[str]:
    return [rid, "", commune, "EC_S12", "web", rating, answered]


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
              encoding: str = "utf-8", delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(header, rows, delimiter).encode(encoding))
    return path


def request_source(name: str = "req", path: str = "requests.csv", **extra: Any) -> dict[str, Any]:
    src = {"name": name, "dataset": "requests", "connector": "csv", "path": path,
           "columns": dict(REQUEST_COLUMNS)}
    src.update(extra)
    return src


def project_source(name: str = "proj", path: str = "projects.csv", **extra: Any) -> dict[str, Any]:
    src = {"name": name, "dataset": "projects", "connector": "csv", "path": path,
           "decimal": ",", "date_format": "%d/%m/%Y", "columns": dict(PROJECT_COLUMNS)}
    src.update(extra)
    return src


def survey_source(name: str = "survey", path: str = "surveys.csv", **extra: Any) -> dict[str, Any]:
    src = {"name": name, "dataset": "satisfaction", "connector": "csv", "path": path,
           "columns": dict(SURVEY_COLUMNS)}
    src.update(extra)
    return src


def write_sources(base: Path, sources: list[dict[str, Any]] | dict[str, Any],
                  name: str = "sources.yaml") -> Path:
    """Write a sources file (a list of sources, or a whole document) into ``base``."""
    doc = {"version": 1, "sources": sources} if isinstance(sources, list) else sources
    path = base / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def run_load(base: Path, sources: list[dict[str, Any]] | dict[str, Any],
             warehouse: Path | None = None, **kwargs: Any) -> RunResult:
    """Write ``sources`` as ``base/sources.yaml`` and load it into ``warehouse`` (default
    ``base/warehouse.duckdb``)."""
    cfg = write_sources(base, sources)
    return load(load_config(cfg), warehouse or base / "warehouse.duckdb", **kwargs)


def query(warehouse: Path, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
          ) -> list[tuple]:
    """Run one query on a read-only connection that is closed afterwards."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def dicts(warehouse: Path, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


def batches(warehouse: Path) -> list[dict[str, Any]]:
    return dicts(warehouse, "SELECT * FROM etl_batch ORDER BY started_at, batch_id")


def quarantine(warehouse: Path) -> list[dict[str, Any]]:
    return dicts(warehouse, "SELECT q.* FROM etl_quarantine q JOIN etl_batch b USING (batch_id) "
                            "ORDER BY b.started_at, q.batch_id, q.location, q.row_number")


def facts(warehouse: Path, table: str = "fact_request", lineage: bool = False) -> list[tuple]:
    """All rows of a fact table, sorted, without the lineage columns unless asked."""
    from etl.schema import DATASETS

    ds = next(d for d in DATASETS.values() if d.table == table)
    cols = list(ds.column_names) + (["_source", "_location", "_row"] if lineage else [])
    return query(warehouse, f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(ds.key)}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_balanced(warehouse: Path) -> list[dict[str, Any]]:
    """Every recorded batch balances and its quarantine holds exactly ``rows_rejected`` rows."""
    rows = query(
        warehouse,
        "SELECT b.batch_id, b.status, b.rows_read, b.rows_loaded, b.rows_merged, b.rows_rejected, "
        "(SELECT count(*) FROM etl_quarantine q WHERE q.batch_id = b.batch_id) "
        "FROM etl_batch b ORDER BY b.started_at, b.batch_id",
    )
    for batch_id, status, read, loaded, merged, rejected, in_q in rows:
        if status == "failed":
            assert (loaded, merged, rejected, in_q) == (0, 0, 0, 0), batch_id
        else:
            assert read == loaded + merged + rejected, (batch_id, read, loaded, merged, rejected)
            assert in_q == rejected, (batch_id, in_q, rejected)
    return batches(warehouse)


def raw_of(q_row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(q_row["raw"])


@pytest.fixture
def wh(tmp_path: Path) -> Path:
    """Path of the warehouse file of this test (created by the first load)."""
    return tmp_path / "warehouse.duckdb"

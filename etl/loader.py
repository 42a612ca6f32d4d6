"""Load every source of a sources file into the warehouse, one audited batch per file or table.

For each batch: read chunks → stage → validate → quarantine rejected rows → merge the others
on the dataset key (a changed row replaces its earlier version). Everything happens on a
private copy of the warehouse (see :mod:`etl.warehouse`). Chunks commit one at a time, keeping
the rows they replace in ``_undo``; a failure anywhere in the batch undoes it exactly and is
recorded in ``etl_batch`` with its error: nothing of it stays applied. After every
batch, rows read = loaded + merged + rejected is checked, and the table's row count must have
grown by exactly ``loaded``; a mismatch fails the batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from . import connectors
from .connectors import ROW, Chunk, Unit
from .errors import EtlError, IntegrityError
from .schema import DATASETS, LINEAGE_COLUMNS, Dataset
from .sources import Config, Source
from .territory import Resolver
from .validate import PARSED, STAGE, Validator, materialize, q
from .warehouse import updating

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    batch_id: str
    source: str
    dataset: str
    location: str
    status: str  # ok | unchanged | failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_merged: int = 0
    rows_rejected: int = 0
    error: str | None = None
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class RunResult:
    run_id: str
    batches: list[BatchResult]
    swapped: bool

    @property
    def failed(self) -> list[BatchResult]:
        return [b for b in self.batches if b.status == "failed"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_run_id() -> str:
    return _now().strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


ProgressFn = Callable[[str, int], None]


class Loader:
    def __init__(self, con: duckdb.DuckDBPyConnection, config: Config, run_id: str,
                 progress: ProgressFn | None = None) -> None:
        self.con = con
        self.config = config
        self.run_id = run_id
        self._resolver: Resolver | None = None
        self.progress = progress or (lambda _msg, _n: None)
        self._seq = 0
        self._in_chunk_tx = False
        self._validators: dict[str, Validator] = {}

    @property
    def resolver(self) -> Resolver:
        """Built on first use: a run where every source is unchanged never needs it."""
        if self._resolver is None:
            self._resolver = Resolver()
        return self._resolver

    # ------------------------------------------------------------------ state
    def _file_checksum(self, source: str, location: str) -> str | None:
        row = self.con.execute(
            "SELECT checksum FROM etl_file_state WHERE source = ? AND path = ?", [source, location]
        ).fetchall()
        return row[0][0] if row else None

    def _watermark(self, source: str, location: str) -> str | None:
        row = self.con.execute(
            "SELECT watermark FROM etl_watermark WHERE source = ? AND location = ?", [source, location]
        ).fetchall()
        return row[0][0] if row else None

    def _next_batch_id(self) -> str:
        self._seq += 1
        return f"{self.run_id}-{self._seq:03d}"

    # ------------------------------------------------------------------ run
    def load_source(self, src: Source) -> list[BatchResult]:
        location = connectors.sql_location(src) if src.connector == "sql" else ""
        try:
            units = connectors.units(self.config, src, self._watermark(src.name, location))
        except EtlError as e:
            return [self._record_failure(self._next_batch_id(), src, src.path or location,
                                         _now(), str(e), None)]
        results = []
        for unit in units:
            results.append(self.load_unit(src, unit))
        return results

    def load_unit(self, src: Source, unit: Unit) -> BatchResult:
        batch_id = self._next_batch_id()
        started = _now()
        ds = DATASETS[src.dataset]
        if unit.checksum is not None and self._file_checksum(src.name, unit.location) == unit.checksum:
            return BatchResult(batch_id, src.name, src.dataset, unit.location, "unchanged")
        counts = {"read": 0, "loaded": 0, "merged": 0, "rejected": 0}
        reasons: dict[str, int] = {}
        # Each chunk commits on its own (a transaction holding millions of uncommitted rows
        # grows in memory); rows a chunk replaces are kept in _undo so that a failure anywhere
        # in the batch can put the tables back exactly as they were before it.
        self._begin_undo(ds)
        in_tx = False
        try:
            before = self._count(ds.table)
            for chunk in connectors.prefetch(unit.chunks()):
                self._load_chunk(batch_id, src, ds, chunk, counts, reasons)
                self.progress(unit.location, chunk.rows_read)
            if src.connector == "sql" and counts["read"] == 0:
                return BatchResult(batch_id, src.name, src.dataset, unit.location, "unchanged",
                                   seconds=(_now() - started).total_seconds())
            self.con.execute("BEGIN TRANSACTION").fetchall()
            in_tx = True
            after = self._count(ds.table)
            rejected_rows = self.con.execute(
                "SELECT count(*) FROM etl_quarantine WHERE batch_id = ?", [batch_id]
            ).fetchall()[0][0]
            if rejected_rows != counts["rejected"]:
                raise IntegrityError(
                    f"{counts['rejected']} rows rejected but {rejected_rows} in quarantine",
                    source=src.name, location=unit.location)
            total = counts["loaded"] + counts["merged"] + counts["rejected"]
            if counts["read"] != total or after - before != counts["loaded"]:
                raise IntegrityError(
                    f"batch does not balance: read {counts['read']} != loaded {counts['loaded']} + "
                    f"merged {counts['merged']} + rejected {counts['rejected']} "
                    f"(table grew by {after - before})",
                    source=src.name, location=unit.location)
            status = "ok"
            self._record(batch_id, src, unit, started, counts, status, None)
            if unit.checksum is not None:
                self.con.execute("DELETE FROM etl_file_state WHERE source = ? AND path = ?",
                                 [src.name, unit.location]).fetchall()
                self.con.execute("INSERT INTO etl_file_state VALUES (?, ?, ?, ?, ?)",
                                 [src.name, unit.location, unit.checksum, batch_id, _now()]).fetchall()
            if src.connector == "sql" and unit.watermark.get("to") is not None:
                self.con.execute("DELETE FROM etl_watermark WHERE source = ? AND location = ?",
                                 [src.name, unit.location]).fetchall()
                self.con.execute("INSERT INTO etl_watermark VALUES (?, ?, ?, ?)",
                                 [src.name, unit.location, unit.watermark["to"], batch_id]).fetchall()
            self.con.execute("COMMIT").fetchall()
            in_tx = False
        except Exception as e:  # noqa: BLE001 — any failure undoes the batch and is audited
            if in_tx or self._in_chunk_tx:
                try:
                    self.con.execute("ROLLBACK").fetchall()
                except duckdb.Error:
                    pass
                self._in_chunk_tx = False
            self._undo_batch(batch_id, ds)
            msg = str(e) if isinstance(e, EtlError) else f"{type(e).__name__}: {e}"
            if not isinstance(e, EtlError):
                log.exception("batch %s failed", batch_id)
            return self._record_failure(batch_id, src, unit.location, started, msg, unit.checksum,
                                        rows_read=counts["read"])
        return BatchResult(batch_id, src.name, src.dataset, unit.location, status,
                           counts["read"], counts["loaded"], counts["merged"], counts["rejected"],
                           seconds=(_now() - started).total_seconds(), reasons=reasons)

    def _begin_undo(self, ds: Dataset) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE _undo AS SELECT * FROM {ds.table} LIMIT 0").fetchall()

    def _undo_batch(self, batch_id: str, ds: Dataset) -> None:
        """Put the tables back as they were before the batch: drop what it wrote, restore what
        it replaced. If even that fails the whole run is aborted: the live warehouse file is
        then left untouched (the private copy is discarded)."""
        try:
            self.con.execute("BEGIN TRANSACTION").fetchall()
            self.con.execute(f"DELETE FROM {ds.table} WHERE _batch_id = ?", [batch_id]).fetchall()
            self.con.execute(f"INSERT INTO {ds.table} SELECT * FROM _undo").fetchall()
            self.con.execute("DELETE FROM etl_quarantine WHERE batch_id = ?", [batch_id]).fetchall()
            self.con.execute("COMMIT").fetchall()
        except Exception as e:
            raise EtlError(f"could not undo failed batch {batch_id} ({e}); the load is abandoned "
                           "and the warehouse left exactly as it was before this run") from e

    def _count(self, table: str) -> int:
        return self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]

    def _record(self, batch_id: str, src: Source, unit: Unit, started: dt.datetime,
                counts: dict[str, int], status: str, error: str | None) -> None:
        wm = unit.watermark
        self.con.execute(
            "INSERT INTO etl_batch VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [batch_id, self.run_id, src.name, src.dataset, src.connector, unit.location, started,
             _now(), counts["read"], counts["loaded"], counts["merged"], counts["rejected"],
             unit.checksum, wm.get("from"), wm.get("to"), status, error],
        ).fetchall()

    def _record_failure(self, batch_id: str, src: Source, location: str, started: dt.datetime,
                        error: str, checksum: str | None, rows_read: int = 0) -> BatchResult:
        self.con.execute(
            "INSERT INTO etl_batch VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, ?, NULL, NULL, 'failed', ?)",
            [batch_id, self.run_id, src.name, src.dataset, src.connector, location, started, _now(),
             rows_read, checksum, error],
        ).fetchall()
        log.error("batch %s (%s %s) failed: %s", batch_id, src.name, location, error)
        return BatchResult(batch_id, src.name, src.dataset, location, "failed", rows_read=rows_read,
                           error=error, seconds=(_now() - started).total_seconds())

    # ------------------------------------------------------------------ chunk
    def _load_chunk(self, batch_id: str, src: Source, ds: Dataset, chunk: Chunk,
                    counts: dict[str, int], reasons: dict[str, int]) -> None:
        con = self.con
        counts["read"] += chunk.rows_read
        # structural rejects from the connector
        if chunk.bad_rows:
            con.executemany(
                "INSERT INTO etl_quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                [[batch_id, src.name, src.dataset, chunk.location, b.row, b.column, b.code, b.reason,
                  _json(b.raw), _now()] for b in chunk.bad_rows],
            ).fetchall()
            counts["rejected"] += len(chunk.bad_rows)
            for b in chunk.bad_rows:
                reasons[b.code] = reasons.get(b.code, 0) + 1
        if chunk.table.num_rows == 0:
            return
        # the chunk is scanned in place (Arrow, zero copy) as the staging relation
        con.register(STAGE, chunk.table)
        try:
            self._validate_and_merge(batch_id, src, ds, chunk, counts, reasons)
        finally:
            con.unregister(STAGE)

    def _validate_and_merge(self, batch_id: str, src: Source, ds: Dataset, chunk: Chunk,
                            counts: dict[str, int], reasons: dict[str, int]) -> None:
        con = self.con
        validator = self._validators.get(src.name)
        if validator is None:
            validator = self._validators[src.name] = Validator(con, ds, src, self.resolver)
        validator.run()  # outside any transaction: its results are Arrow, nothing is written
        con.execute("BEGIN TRANSACTION").fetchall()
        self._in_chunk_tx = True
        self._write_chunk(batch_id, src, ds, chunk, counts, reasons)
        con.execute("COMMIT").fetchall()
        self._in_chunk_tx = False

    def _write_chunk(self, batch_id: str, src: Source, ds: Dataset, chunk: Chunk,
                     counts: dict[str, int], reasons: dict[str, int]) -> None:
        con = self.con
        # quarantine
        raw = "to_json(s)"
        con.execute(
            f"INSERT INTO etl_quarantine SELECT $batch, $source, $dataset, $location, p.{q(ROW)}, "
            f"p._problems[1].column, p._problems[1].code, "
            f"array_to_string(list_transform(p._problems, lambda x: x.message), '; '), "
            f"CASE WHEN list_contains(list_transform(p._problems, lambda x: x.code), 'ambiguous_commune') "
            f"OR list_contains(list_transform(p._problems, lambda x: x.code), 'unknown_commune') "
            f"THEN p._candidates END, "
            f"CAST({raw} AS VARCHAR), $now "
            f"FROM {PARSED} p JOIN {STAGE} s ON s.{q(ROW)} = p.{q(ROW)} WHERE len(p._problems) > 0",
            {"batch": batch_id, "source": src.name, "dataset": src.dataset,
             "location": chunk.location, "now": _now()},
        ).fetchall()
        # one scan: rows by first problem (NULL = a valid row)
        n_valid = n_rejected = 0
        for code, n in con.execute(
            f"SELECT p._problems[1].code, count(*) FROM {PARSED} p GROUP BY 1"
        ).fetchall():
            if code is None:
                n_valid += n
            else:
                n_rejected += n
                reasons[code] = reasons.get(code, 0) + n
        counts["rejected"] += n_rejected
        # dedupe within the chunk: last version wins (by version column, then row order)
        keys = ", ".join(q(k) for k in ds.key)
        order = (f"{q(ds.version_column)} DESC NULLS LAST, " if ds.version_column else "") + f"{q(ROW)} DESC"
        cols = ", ".join(q(c) for c in ds.column_names)
        # Most rows of a chunk repeat no key of the chunk and match none in the warehouse
        # (first loads, new rows): they go straight in. Only the keys that repeat, or that are
        # already in the table, are staged in _incoming, the last version of each kept, and the
        # rows they replace deleted first.
        join_p = " AND ".join(f"t.{q(k)} = p.{q(k)}" for k in ds.key)
        join_x = " AND ".join(f"x.{q(k)} = p.{q(k)}" for k in ds.key)
        special = materialize(
            con, "_special",
            f"SELECT {keys} FROM {PARSED} p WHERE len(_problems) = 0 GROUP BY {keys} HAVING count(*) > 1 "
            f"UNION SELECT {keys} FROM {PARSED} p WHERE len(_problems) = 0 "
            f"AND EXISTS (SELECT 1 FROM {ds.table} t WHERE {join_p})",
        )
        lineage = ", ".join(n for n, _, _ in LINEAGE_COLUMNS)
        params = {"batch": batch_id, "source": src.name, "location": chunk.location}
        select = (f"SELECT {cols}, $batch AS _batch_id, $source AS _source, $location AS _location, "
                  f"{q(ROW)} AS _row FROM {PARSED} p WHERE len(_problems) = 0")
        if special.num_rows == 0:
            con.unregister("_special")
            con.execute(f"INSERT INTO {ds.table} ({cols}, {lineage}) {select}", params).fetchall()
            counts["loaded"] += n_valid
            return
        (n_direct,), = con.execute(
            f"INSERT INTO {ds.table} ({cols}, {lineage}) {select} "
            f"AND NOT EXISTS (SELECT 1 FROM _special x WHERE {join_x})", params).fetchall()
        counts["loaded"] += n_direct
        n_valid -= n_direct
        dedupe = f" QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {order}) = 1"
        materialize(con, "_incoming", f"{select} AND EXISTS (SELECT 1 FROM _special x WHERE {join_x})"
                                      f"{dedupe}", params)
        con.unregister("_special")
        join = " AND ".join(f"t.{q(k)} = i.{q(k)}" for k in ds.key)
        v = q(ds.version_column) if ds.version_column else None
        newer = f"t.{v} > i.{v}" if v else "false"
        n_incoming, existing, stale = con.execute(
            f"SELECT count(*), count(t.{q(ds.key[0])}), count(*) FILTER ({newer}) "
            f"FROM _incoming i LEFT JOIN {ds.table} t ON {join}"
        ).fetchall()[0]
        if stale:
            # an older version never replaces a newer one already in the warehouse
            materialize(con, "_incoming", f"SELECT * FROM _incoming i WHERE NOT EXISTS "
                                          f"(SELECT 1 FROM {ds.table} t WHERE {join} AND {newer})")
        if existing - stale:
            # keep what this batch replaces (unless it wrote it itself), for _undo_batch
            con.execute(f"INSERT INTO _undo SELECT t.* FROM {ds.table} t JOIN _incoming i ON {join} "
                        f"WHERE t._batch_id <> $batch", {"batch": batch_id}).fetchall()
            con.execute(f"DELETE FROM {ds.table} t USING _incoming i WHERE {join}").fetchall()
        con.execute(f"INSERT INTO {ds.table} ({cols}, {lineage}) SELECT {cols}, {lineage} FROM _incoming").fetchall()
        con.unregister("_incoming")
        counts["loaded"] += n_incoming - existing
        counts["merged"] += (n_valid - n_incoming) + existing


def _json(raw: dict[str, Any]) -> str:
    import json

    return json.dumps(raw, ensure_ascii=False, default=str)


def load(config: Config, warehouse: Path, *, only: list[str] | None = None,
         progress: ProgressFn | None = None) -> RunResult:
    """Run one load of every source (or those named in ``only``) into ``warehouse``."""
    run_id = new_run_id()
    results: list[BatchResult] = []
    sources = [s for s in config.sources if not only or s.name in only]
    if only:
        unknown = set(only) - {s.name for s in config.sources}
        if unknown:
            config.source(sorted(unknown)[0])  # raises a ConfigError naming the known sources
    with updating(warehouse) as wh:
        loader = Loader(wh.con, config, run_id, progress)
        for src in sources:
            results.extend(loader.load_source(src))
        wh.mark(any(b.status != "unchanged" for b in results))
        if wh.changed:
            wh.con.execute("INSERT OR REPLACE INTO meta VALUES ('last_run', ?)", [run_id]).fetchall()
    return RunResult(run_id, results, wh.changed)

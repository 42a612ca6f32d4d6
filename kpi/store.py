"""Write KPI results into the warehouse without ever showing readers a half-done refresh.

The same convention as the ETL's loads (etl/warehouse.py): one writer at a time, holding
``<warehouse>.lock``; the writer works on a copy (``<warehouse>.next``) and swaps it in with
``os.replace``. Readers (the app's workers) keep their snapshot and see the new file on their
next connection. An ETL load and a KPI refresh therefore never overlap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path
from typing import Iterator

import duckdb
from filelock import FileLock, Timeout

from .errors import WarehouseError

log = logging.getLogger(__name__)
DEFAULT_PATH = Path(os.environ.get("MOUACHIR_WAREHOUSE", "data/warehouse.duckdb"))


@contextlib.contextmanager
def updating(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    path = Path(path)
    if not path.exists():
        raise WarehouseError(f"{path}: the warehouse does not exist yet — run python -m etl demo "
                             "or python -m etl load first")
    lock = FileLock(str(path) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise WarehouseError(f"{path}: a load or a refresh is running on this warehouse — wait "
                             "for it to finish") from None
    nxt = path.with_name(path.name + ".next")
    con = None
    try:
        for stale in (nxt, Path(str(nxt) + ".wal")):
            stale.unlink(missing_ok=True)
        try:
            shutil.copyfile(path, nxt)
        except OSError as e:
            raise WarehouseError(f"{path}: cannot copy the warehouse to {nxt.name}: {e.strerror} "
                                 "(a refresh needs room for a second copy)") from None
        con = duckdb.connect(str(nxt))
        con.execute("SET preserve_insertion_order = false").fetchall()
        yield con
        con.execute("CHECKPOINT").fetchall()
        con.close()
        con = None
        with open(nxt, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(nxt, path)
        log.info("KPI results written to %s", path)
    finally:
        if con is not None:
            con.close()
        for stale in (nxt, Path(str(nxt) + ".wal")):
            stale.unlink(missing_ok=True)
        lock.release()

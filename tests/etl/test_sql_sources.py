"""SQL commune systems on the real servers: PostgreSQL, MariaDB and SQLite.

The same legacy requests table (French column names, a few hundred rows with defects) is created
on each server — typed TIMESTAMP/DATETIME columns on PostgreSQL and MariaDB, text timestamps on
SQLite — and must give the same warehouse: same counts, same fact rows, same UTC times, same
quarantined rows, and the same incremental behaviour on ``maj_le``.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from etl.loader import load
from etl.sources import load_config
from etl.territory import reference

from .conftest import (
    REQUEST_COLUMNS, assert_balanced, batches, facts, query, quarantine, raw_of, services,
    sha256, write_sources,
)

TS = "%Y-%m-%d %H:%M:%S"
N_ROWS = 300


def _communes() -> list[str]:
    ref = reference()
    return [c.commune_code for c in ref.communes if c.code_source == "ons"]


def make_rows(n: int = N_ROWS, seed: int = 42, prefix: str = "DEM") -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Deterministic legacy rows (local Africa/Algiers times) and the defects injected."""
    rng = random.Random(seed)
    communes = _communes()
    codes = services()
    channels = ["guichet", "Portail web", "application mobile", "téléphone", "شباك"]
    defects = {"unknown_commune": 0, "unknown_service": 0, "bad_code": 0,
               "closed_after_submitted": 0, "missing": 0, "duplicate": 0}
    rows = []
    start = datetime(2025, 1, 6, 8, 0)
    for i in range(n):
        submitted = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 90))
        closed = submitted + timedelta(hours=rng.randrange(1, 240)) if rng.random() < 0.6 else None
        row = {
            "num_demande": f"{prefix}-{i:05d}",
            "code_commune": rng.choice(communes),
            "code_service": rng.choice(codes),
            "canal": rng.choice(channels),
            "date_depot": submitted,
            "date_cloture": closed,
            "statut": "clôturée" if closed else rng.choice(["en cours", "déposée"]),
            "maj_le": (closed or submitted) + timedelta(minutes=5),
        }
        k = i % 25
        if k == 3:
            row["code_commune"] = "9999"
            defects["unknown_commune"] += 1
        elif k == 7:
            row["code_service"] = "SERVICE_INCONNU"
            defects["unknown_service"] += 1
        elif k == 11:
            row["canal"] = "fax"
            defects["bad_code"] += 1
        elif k == 15:
            row["date_cloture"] = submitted - timedelta(days=2)
            row["statut"] = "clôturée"
            defects["closed_after_submitted"] += 1
        elif k == 19:
            row["statut"] = None
            defects["missing"] += 1
        rows.append(row)
    # the legacy system keeps history: a few requests appear twice, the later version wins
    for i in (0, 10, 20, 30, 50):
        if i >= n:
            break
        later = dict(rows[i])
        later["statut"] = "rejetée"
        later["date_cloture"] = later["date_depot"] + timedelta(days=1)
        later["maj_le"] = later["date_cloture"] + timedelta(minutes=1)
        rows.append(later)
        defects["duplicate"] += 1
    return rows, defects


def _table(meta: sa.MetaData, name: str, typed: bool) -> sa.Table:
    ts = sa.DateTime() if typed else sa.String(19)
    return sa.Table(
        name, meta,
        sa.Column("num_demande", sa.String(40)), sa.Column("code_commune", sa.String(10)),
        sa.Column("code_service", sa.String(40)), sa.Column("canal", sa.String(40)),
        sa.Column("date_depot", ts), sa.Column("date_cloture", ts),
        sa.Column("statut", sa.String(20)), sa.Column("maj_le", ts),
    )


def _values(rows: list[dict[str, Any]], typed: bool) -> list[dict[str, Any]]:
    if typed:
        return rows
    return [{k: (v.strftime(TS) if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows]


class LegacyTable:
    """The requests table of one commune system, on one server."""

    def __init__(self, url: str, typed: bool) -> None:
        self.url = url
        self.typed = typed
        self.name = f"demandes_{uuid.uuid4().hex[:10]}"
        self.engine = sa.create_engine(url)
        self.table = _table(sa.MetaData(), self.name, typed)
        self.table.create(self.engine)

    def insert(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.table.insert(), _values(rows, self.typed))

    def update(self, ids: list[str], **values: Any) -> None:
        if not self.typed:
            values = {k: (v.strftime(TS) if isinstance(v, datetime) else v) for k, v in values.items()}
        with self.engine.begin() as conn:
            conn.execute(self.table.update().where(self.table.c.num_demande.in_(ids)).values(**values))

    def drop(self) -> None:
        try:
            self.table.drop(self.engine, checkfirst=True)
        finally:
            self.engine.dispose()


SERVERS = ("postgresql", "mariadb", "sqlite")


@pytest.fixture(params=SERVERS)
def legacy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LegacyTable]:
    if request.param == "postgresql":
        url, typed = request.getfixturevalue("pg_url"), True
    elif request.param == "mariadb":
        url, typed = request.getfixturevalue("mysql_url"), True
    else:
        url, typed = f"sqlite:///{tmp_path / 'commune.sqlite'}", False
    t = LegacyTable(url, typed)
    try:
        yield t
    finally:
        t.drop()


def sql_source(t: LegacyTable, **extra: Any) -> dict[str, Any]:
    src = {"name": "sgdc", "dataset": "requests", "connector": "sql", "url": t.url,
           "table": t.name, "incremental": "maj_le", "columns": dict(REQUEST_COLUMNS)}
    src.update(extra)
    return src


def _load(tmp_path: Path, sources: list[dict[str, Any]], **kw: Any):
    cfg = write_sources(tmp_path, sources)
    return load(load_config(cfg), tmp_path / "warehouse.duckdb", **kw)


def _expected(rows: list[dict[str, Any]], defects: dict[str, int]) -> tuple[int, int, int, int]:
    read = len(rows)
    rejected = sum(v for k, v in defects.items() if k != "duplicate")
    merged = defects["duplicate"]
    return read, read - rejected - merged, merged, rejected


# ---------------------------------------------------------------- one server at a time

_LOADED: dict[str, dict[str, Any]] = {}


def _server_url(request: pytest.FixtureRequest, server: str, folder: Path) -> tuple[str, bool]:
    if server == "postgresql":
        return request.getfixturevalue("pg_url"), True
    if server == "mariadb":
        return request.getfixturevalue("mysql_url"), True
    return f"sqlite:///{folder / 'commune.sqlite'}", False


def loaded(server: str, request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The defect-laden table created on ``server`` and loaded once per test session."""
    if server not in _LOADED:
        base = tmp_path_factory.mktemp(server)
        url, typed = _server_url(request, server, base)
        rows, defects = make_rows()
        t = LegacyTable(url, typed)
        try:
            t.insert(rows)
            (b,) = _load(base, [sql_source(t)]).batches
        finally:
            t.drop()
        wh = base / "warehouse.duckdb"
        _LOADED[server] = {
            "rows": rows, "defects": defects, "batch": b, "wh": wh, "table": t.name,
            "counts": (b.rows_read, b.rows_loaded, b.rows_merged, b.rows_rejected),
            "facts": facts(wh),
            "quarantine": sorted((q["reason_code"], q["column_name"], raw_of(q)["num_demande"])
                                 for q in quarantine(wh)),
            "watermark": query(wh, "SELECT watermark FROM etl_watermark"),
        }
    return _LOADED[server]


@pytest.mark.parametrize("server", SERVERS)
def test_legacy_table_loads_with_its_defects_quarantined(
        server: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    got = loaded(server, request, tmp_path_factory)
    rows, defects, b, wh = got["rows"], got["defects"], got["batch"], got["wh"]
    assert b.status == "ok", b.error
    assert got["counts"] == _expected(rows, defects)
    assert_balanced(wh)
    reasons: dict[str, int] = {}
    for q in quarantine(wh):
        reasons[q["reason_code"]] = reasons.get(q["reason_code"], 0) + 1
        assert q["source"] == "sgdc" and q["location"] == got["table"]
    assert reasons == {k: v for k, v in defects.items() if k != "duplicate"}
    # a legacy duplicate keeps its latest version
    assert query(wh, "SELECT status FROM fact_request WHERE request_id = 'DEM-00010'") == [("rejected",)]
    # local Africa/Algiers time (UTC+1) is stored in UTC, from a typed column or from text
    got_ts = query(wh, "SELECT submitted_at, updated_at FROM fact_request WHERE request_id = 'DEM-00001'")
    assert got_ts == [(rows[1]["date_depot"] - timedelta(hours=1), rows[1]["maj_le"] - timedelta(hours=1))]
    assert got["watermark"] == [(max(r["maj_le"] for r in rows).strftime(TS),)]


def test_all_servers_give_the_same_warehouse(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    keys = ("counts", "facts", "quarantine", "watermark")
    pg, my, lite = ({k: loaded(s, request, tmp_path_factory)[k] for k in keys} for s in SERVERS)
    assert len(pg["facts"]) == pg["counts"][1] > 200
    assert pg == my, "PostgreSQL and MariaDB differ"
    assert pg == lite, "PostgreSQL and SQLite differ"


def test_incremental_reload_by_maj_le(legacy: LegacyTable, tmp_path: Path) -> None:
    rows, _ = make_rows(n=100)
    legacy.insert(rows)
    first = _load(tmp_path, [sql_source(legacy)]).batches[0]
    assert first.status == "ok" and first.rows_read == len(rows)
    wh = tmp_path / "warehouse.duckdb"
    n_before = query(wh, "SELECT count(*) FROM fact_request")[0][0]

    later = datetime(2025, 6, 1, 10, 0)
    new_rows = make_rows(n=20, seed=7, prefix="NEW")[0][:20]
    for r in new_rows:  # clean rows, all after the watermark
        r.update(code_commune="1601", code_service="EC_S12", canal="web", statut="en cours",
                 date_depot=later, date_cloture=None, maj_le=later)
    legacy.insert(new_rows)
    # five open requests get closed in the legacy system
    open_ids = [r["num_demande"] for r in rows[60:100]  # ids >= 60 appear once
                if r["date_cloture"] is None and r["statut"] in ("en cours", "déposée")
                and r["code_commune"] != "9999" and r["canal"] != "fax"
                and r["code_service"] != "SERVICE_INCONNU"][:5]
    assert len(open_ids) == 5
    legacy.update(open_ids, statut="clôturée", date_cloture=later + timedelta(hours=2),
                  maj_le=later + timedelta(hours=2))

    second = _load(tmp_path, [sql_source(legacy)]).batches[0]
    assert (second.status, second.rows_read, second.rows_loaded, second.rows_merged,
            second.rows_rejected) == ("ok", 25, 20, 5, 0)
    assert query(wh, "SELECT count(*) FROM fact_request")[0][0] == n_before + 20
    closed = query(wh, "SELECT request_id, closed_at FROM fact_request WHERE request_id IN "
                       f"({', '.join('?' * 5)}) ORDER BY 1", open_ids)
    assert closed == [(i, datetime(2025, 6, 1, 11, 0)) for i in sorted(open_ids)]
    assert query(wh, "SELECT watermark FROM etl_watermark") == [("2025-06-01 12:00:00",)]
    digest = sha256(wh)

    third = _load(tmp_path, [sql_source(legacy)])
    assert [(b.status, b.rows_read) for b in third.batches] == [("unchanged", 0)]
    assert third.swapped is False and sha256(wh) == digest
    assert_balanced(wh)


def test_a_missing_table_fails_naming_the_tables_found(legacy: LegacyTable, tmp_path: Path) -> None:
    legacy.insert(make_rows(n=3)[0])
    (b,) = _load(tmp_path, [sql_source(legacy, table=legacy.name + "_absent")]).batches
    assert b.status == "failed"
    assert b.error.startswith("source 'sgdc'")
    assert f"no table '{legacy.name}_absent'" in b.error and legacy.name in b.error.split("one of:")[1]


def test_a_missing_column_fails_with_a_suggestion(legacy: LegacyTable, tmp_path: Path) -> None:
    legacy.insert(make_rows(n=3)[0])
    cols = dict(REQUEST_COLUMNS, submitted_at="date_depots")
    (b,) = _load(tmp_path, [sql_source(legacy, columns=cols)]).batches
    assert b.status == "failed" and b.error.startswith("source 'sgdc'")
    assert "missing column(s) 'date_depots' (did you mean 'date_depot'?)" in b.error
    assert legacy.name in b.error


# ---------------------------------------------------------------- the server goes away


def test_postgres_backend_killed_mid_load_fails_cleanly(pg_url: str, tmp_path: Path) -> None:
    """The loader's connection is terminated after its first chunk: the batch fails, says that
    nothing was applied, and the warehouse keeps exactly what it had."""
    app = f"mouachir_kill_{uuid.uuid4().hex[:8]}"
    url = pg_url + ("&" if "?" in pg_url else "?") + f"application_name={app}"
    t = LegacyTable(pg_url, typed=True)
    wh = tmp_path / "warehouse.duckdb"
    try:
        rows, _ = make_rows(n=50, prefix="OLD")
        t.insert(rows)
        _load(tmp_path, [sql_source(t, url=url, chunk_rows=1000)])
        before = facts(wh, lineage=True)
        big = make_rows(n=5000, seed=3, prefix="BIG")[0][:5000]
        for r in big:
            r["maj_le"] = datetime(2025, 7, 1, 10, 0)
        t.insert(big)

        admin = sa.create_engine(pg_url)
        killed: list[int] = []

        def progress(location: str, n: int) -> None:
            if killed:
                return
            with admin.begin() as conn:
                killed.extend(r[0] for r in conn.execute(
                    sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"), {"a": app}))
                for pid in killed:
                    conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            # pg_terminate_backend only signals: wait until the backend is really gone
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with admin.connect() as conn:
                    alive = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity "
                                                 "WHERE pid = ANY(:p)"), {"p": killed}).scalar()
                if not alive:
                    break
                time.sleep(0.02)

        try:
            result = _load(tmp_path, [sql_source(t, url=url, chunk_rows=1000)], progress=progress)
        finally:
            admin.dispose()
        assert killed, "the loader's backend was not found in pg_stat_activity"
        (b,) = result.batches
        assert b.status == "failed"
        assert b.error.startswith("source 'sgdc'") and t.name in b.error
        m = re.search(r"database error after (\d+) rows \((\w+): ", b.error)
        assert m and 1000 <= int(m.group(1)) < 5000, b.error  # the driver may have buffered some
        assert "terminating connection" in b.error
        assert "nothing of this batch was applied" in b.error
        assert facts(wh, lineage=True) == before
        assert query(wh, "SELECT watermark FROM etl_watermark") == [
            (max(r["maj_le"] for r in rows).strftime(TS),)]
        assert [x["status"] for x in batches(wh)] == ["ok", "failed"]
        assert_balanced(wh)
        # run again once the server is back: everything new arrives
        again = _load(tmp_path, [sql_source(t, url=url, chunk_rows=1000)]).batches[0]
        assert again.status == "ok" and again.rows_read == 5000
    finally:
        t.drop()

"""Core guarantees of the loader, on real files and a real DuckDB warehouse in tmp_path.

- every batch balances (read = loaded + merged + rejected) and its quarantine holds the rejects;
- loading the same files twice changes nothing, byte for byte;
- a re-sent file replaces earlier versions of its rows (merge on the dataset key);
- SQL sources load incrementally by watermark;
- a failed or killed load leaves the warehouse as it was; readers keep their snapshot;
- local Africa/Algiers times are stored in UTC;
- commune names are resolved with their usual variants, ambiguous ones quarantined with candidates;
- ``python -m etl status`` / ``quarantine`` show the batches and the reasons.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest

from etl.loader import load
from etl.sources import load_config
from etl.warehouse import updating

from .conftest import (
    REQUEST_HEADER, assert_balanced, batches, facts, query, quarantine, request_row,
    request_source, run_load, sha256, write_csv, write_sources,
)

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run([PY, "-m", "etl", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


# ---------------------------------------------------------------- balance and audit


def test_every_batch_balances_and_quarantine_matches(tmp_path: Path, wh: Path) -> None:
    rows = [request_row(f"R{i}", updated=f"2025-03-01 1{i % 10}:00:00") for i in range(20)]
    rows[3][1] = "Nulle-Part-Sur-Mer"          # unknown commune
    rows[7][2] = "PASSEPORT_LUNAIRE"           # unknown service
    rows[11][3] = "pigeon voyageur"            # unknown channel
    rows.append(request_row("R5", updated="2025-03-01 23:00:00"))  # duplicate key in the file
    write_csv(tmp_path / "requests.csv", REQUEST_HEADER, rows)
    write_csv(tmp_path / "more.csv", REQUEST_HEADER,
              [request_row("R1", updated="2025-03-02 08:00:00"), request_row("S1")])
    result = run_load(tmp_path, [request_source(path="requests.csv"),
                                 request_source(name="more", path="more.csv")])

    assert [b.status for b in result.batches] == ["ok", "ok"]
    first, second = result.batches
    assert (first.rows_read, first.rows_loaded, first.rows_merged, first.rows_rejected) == (21, 17, 1, 3)
    # R1 already came from the first file: merged; S1 is new
    assert (second.rows_read, second.rows_loaded, second.rows_merged, second.rows_rejected) == (2, 1, 1, 0)
    recorded = assert_balanced(wh)
    assert [(b["rows_read"], b["rows_rejected"]) for b in recorded] == [(21, 3), (2, 0)]
    assert {b["checksum"] for b in recorded} == {sha256(tmp_path / "requests.csv"),
                                                  sha256(tmp_path / "more.csv")}
    q = quarantine(wh)
    assert [(r["row_number"], r["column_name"], r["reason_code"]) for r in q] == [
        (5, "code_commune", "unknown_commune"), (9, "code_service", "unknown_service"),
        (13, "canal", "bad_code")]
    assert all(r["source"] == "req" and r["location"] == "requests.csv" for r in q)
    n, distinct = query(wh, "SELECT count(*), count(DISTINCT (commune_code, request_id)) "
                            "FROM fact_request")[0]
    assert n == distinct == 18
    # lineage: each row says which batch, source, file and line it came from
    assert query(wh, "SELECT _source, _location, _row FROM fact_request WHERE request_id = 'R5'") == [
        ("req", "requests.csv", 22)]
    assert query(wh, "SELECT _source, _row FROM fact_request WHERE request_id = 'R1'") == [("more", 2)]


# ---------------------------------------------------------------- idempotence


def test_loading_the_same_files_twice_changes_nothing(tmp_path: Path, wh: Path) -> None:
    write_csv(tmp_path / "requests.csv", REQUEST_HEADER,
              [request_row(f"R{i}") for i in range(30)] + [request_row("BAD", commune="Atlantide")])
    sources = [request_source()]
    first = run_load(tmp_path, sources)
    assert first.swapped and first.batches[0].status == "ok"
    digest = sha256(wh)
    mtime = wh.stat().st_mtime_ns

    second = run_load(tmp_path, sources)
    assert [b.status for b in second.batches] == ["unchanged"]
    assert second.swapped is False
    assert sha256(wh) == digest
    assert wh.stat().st_mtime_ns == mtime
    assert len(batches(wh)) == 1
    assert len(quarantine(wh)) == 1
    assert not (tmp_path / "warehouse.duckdb.next").exists()


def test_a_resent_file_with_corrections_replaces_earlier_versions(tmp_path: Path, wh: Path) -> None:
    path = tmp_path / "requests.csv"
    v1 = [request_row(f"R{i}", updated="2025-03-01 10:00:00") for i in range(1, 7)]
    v1[2][2] = "EC_INCONNU"  # R3 rejected: unknown service
    write_csv(path, REQUEST_HEADER, v1)
    r1 = run_load(tmp_path, [request_source()])
    assert (r1.batches[0].rows_loaded, r1.batches[0].rows_rejected) == (5, 1)

    v2 = [request_row(f"R{i}", updated="2025-03-01 10:00:00") for i in range(1, 7)]
    v2[0] = request_row("R1", closed="2025-03-03 14:00:00", status="clôturée")  # closed since
    v2[1] = request_row("R2", channel="web", updated="2025-03-02 09:00:00")       # corrected channel
    v2.append(request_row("R7"))                                                 # new request
    write_csv(path, REQUEST_HEADER, v2)  # same path, new content; R3 now valid
    r2 = run_load(tmp_path, [request_source()])
    b = r2.batches[0]
    assert b.status == "ok"
    # R3 (fixed) and R7 are new keys; R1, R2 replace their versions; R4-R6 repeat theirs
    assert (b.rows_read, b.rows_loaded, b.rows_merged, b.rows_rejected) == (7, 2, 5, 0)
    assert_balanced(wh)
    got = {r[0]: r for r in facts(wh)}
    assert sorted(got) == [f"R{i}" for i in range(1, 8)]
    assert got["R1"][6] == "closed" and got["R1"][5] == datetime(2025, 3, 3, 13, 0)
    assert got["R2"][3] == "web"
    assert got["R3"][2] == "EC_S12"
    assert query(wh, "SELECT count(*) - count(DISTINCT (commune_code, request_id)) FROM fact_request") == [(0,)]
    # the corrected rows carry the second batch in their lineage
    assert {r[0] for r in query(wh, "SELECT request_id FROM fact_request WHERE _batch_id = ?",
                                [b.batch_id])} == {f"R{i}" for i in range(1, 8)}


def test_an_older_version_never_replaces_a_newer_one(tmp_path: Path, wh: Path) -> None:
    write_csv(tmp_path / "new.csv", REQUEST_HEADER,
              [request_row("R1", closed="2025-03-05 10:00:00", status="closed")])
    write_csv(tmp_path / "old.csv", REQUEST_HEADER, [request_row("R1", updated="2025-03-01 12:00:00")])
    run_load(tmp_path, [request_source(name="a", path="new.csv"), request_source(name="b", path="old.csv")])
    assert query(wh, "SELECT status, updated_at FROM fact_request") == [
        ("closed", datetime(2025, 3, 5, 9, 0))]
    assert_balanced(wh)


# ---------------------------------------------------------------- SQL incremental


def _sqlite_requests(path: Path, rows: list[list[str]]) -> None:
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE IF NOT EXISTS demandes ({', '.join(c + ' TEXT' for c in REQUEST_HEADER)})")
    con.executemany(f"INSERT INTO demandes VALUES ({', '.join('?' * len(REQUEST_HEADER))})", rows)
    con.commit()
    con.close()


def _sql_source(**extra: object) -> dict:
    src = request_source(name="sgdc", connector="sql", url="sqlite:///commune.sqlite",
                         table="demandes", incremental="maj_le")
    del src["path"]
    src.update(extra)
    return src


def test_sql_source_loads_incrementally_by_watermark(tmp_path: Path, wh: Path) -> None:
    db = tmp_path / "commune.sqlite"
    _sqlite_requests(db, [request_row(f"D{i:03d}", updated=f"2025-03-01 08:{i:02d}:00") for i in range(40)])
    first = run_load(tmp_path, [_sql_source()]).batches[0]
    assert (first.status, first.rows_read, first.rows_loaded) == ("ok", 40, 40)
    assert query(wh, "SELECT watermark FROM etl_watermark") == [("2025-03-01 08:39:00",)]

    _sqlite_requests(db, [request_row(f"N{i:03d}", updated="2025-03-02 09:00:00") for i in range(10)])
    con = sqlite3.connect(db)
    con.execute("UPDATE demandes SET statut = 'clôturée', date_cloture = '2025-03-02 10:00:00', "
                "maj_le = '2025-03-02 10:00:00' WHERE num_demande IN ('D001','D002','D003','D004','D005')")
    con.commit()
    con.close()
    second = run_load(tmp_path, [_sql_source()]).batches[0]
    assert (second.status, second.rows_read, second.rows_loaded, second.rows_merged,
            second.rows_rejected) == ("ok", 15, 10, 5, 0)
    assert query(wh, "SELECT count(*) FROM fact_request") == [(50,)]
    assert query(wh, "SELECT count(*) FROM fact_request WHERE status = 'closed'") == [(5,)]
    assert query(wh, "SELECT watermark_from, watermark_to FROM etl_batch ORDER BY started_at DESC LIMIT 1") == [
        ("2025-03-01 08:39:00", "2025-03-02 10:00:00")]
    digest = sha256(wh)

    third = run_load(tmp_path, [_sql_source()])
    assert [(b.status, b.rows_read) for b in third.batches] == [("unchanged", 0)]
    assert third.swapped is False
    assert sha256(wh) == digest
    assert_balanced(wh)


# ---------------------------------------------------------------- atomicity


def test_a_failed_batch_leaves_the_facts_as_they_were(tmp_path: Path, wh: Path) -> None:
    db = tmp_path / "commune.sqlite"
    _sqlite_requests(db, [request_row(f"D{i}") for i in range(10)])
    run_load(tmp_path, [_sql_source()])
    before = facts(wh, lineage=True)

    con = sqlite3.connect(db)
    con.execute("DROP TABLE demandes")
    con.execute("CREATE TABLE autre (x TEXT)")
    con.commit()
    con.close()
    result = run_load(tmp_path, [_sql_source()])
    (b,) = result.batches
    assert b.status == "failed"
    assert "source 'sgdc'" in b.error and "demandes" in b.error and "autre" in b.error
    assert facts(wh, lineage=True) == before
    failed = [x for x in batches(wh) if x["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"] == b.error
    assert query(wh, "SELECT watermark FROM etl_watermark") == [("2025-03-01 10:00:00",)]


def test_an_exception_inside_the_update_leaves_the_live_file_untouched(tmp_path: Path, wh: Path) -> None:
    write_csv(tmp_path / "requests.csv", REQUEST_HEADER, [request_row("R1")])
    run_load(tmp_path, [request_source()])
    digest = sha256(wh)
    with pytest.raises(RuntimeError, match="power cut"):
        with updating(wh) as up:
            up.con.execute("DELETE FROM fact_request").fetchall()
            up.con.execute("DROP TABLE etl_batch").fetchall()
            raise RuntimeError("power cut")
    assert sha256(wh) == digest
    assert not (tmp_path / "warehouse.duckdb.next").exists()
    assert query(wh, "SELECT request_id FROM fact_request") == [("R1",)]
    # and the next load works (the lock was released)
    write_csv(tmp_path / "requests.csv", REQUEST_HEADER, [request_row("R1"), request_row("R2")])
    assert run_load(tmp_path, [request_source()]).batches[0].rows_loaded == 1


def test_a_load_killed_midway_leaves_the_live_warehouse_intact(tmp_path: Path, wh: Path) -> None:
    write_csv(tmp_path / "requests.csv", REQUEST_HEADER, [request_row("R1"), request_row("R2")])
    run_load(tmp_path, [request_source()])
    digest = sha256(wh)
    big = [request_row(f"B{i}", commune=("1601", "Oran", "Sidi Aich", "Blida")[i % 4])
           for i in range(200_000)]
    write_csv(tmp_path / "big.csv", REQUEST_HEADER, big)
    cfg = write_sources(tmp_path, [request_source(), request_source(name="big", path="big.csv",
                                                                     chunk_rows=5000)])
    nxt = tmp_path / "warehouse.duckdb.next"
    proc = subprocess.Popen([PY, "-m", "etl", "load", "--config", str(cfg), "--warehouse", str(wh)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not nxt.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.6)  # well inside the 200k-row batch (it takes seconds)
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == -signal.SIGKILL, "the load finished before it could be killed: make big.csv bigger"
    assert sha256(wh) == digest
    assert query(wh, "SELECT count(*) FROM fact_request") == [(2,)]
    assert [b["status"] for b in batches(wh)] == ["ok"]
    # the half-written copy is not the warehouse; the next load discards it and succeeds
    result = load(load_config(cfg), wh)
    assert [b.status for b in result.batches] == ["unchanged", "ok"]
    assert result.batches[1].rows_loaded == 200_000
    assert not nxt.exists()
    assert query(wh, "SELECT count(*) FROM fact_request") == [(200_002,)]


READER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("SELECT count(*) FROM fact_request").fetchall()[0][0], flush=True)
    sys.stdin.readline()
    print(con.execute("SELECT count(*) FROM fact_request").fetchall()[0][0], flush=True)
    con.close()
""")


def test_a_reader_keeps_its_snapshot_while_a_load_swaps_in_new_data(tmp_path: Path, wh: Path) -> None:
    write_csv(tmp_path / "requests.csv", REQUEST_HEADER, [request_row(f"R{i}") for i in range(3)])
    run_load(tmp_path, [request_source()])
    reader = subprocess.Popen([PY, "-c", READER, str(wh)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "3"  # the reader holds the file open
        write_csv(tmp_path / "requests.csv", REQUEST_HEADER, [request_row(f"R{i}") for i in range(8)])
        result = run_load(tmp_path, [request_source()])
        assert result.swapped and result.batches[0].rows_loaded == 5
        assert query(wh, "SELECT count(*) FROM fact_request") == [(8,)]  # a new connection
        out, err = reader.communicate("go\n", timeout=30)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert reader.returncode == 0, err
    assert out.strip() == "3"  # the old snapshot, still consistent


def test_a_second_load_while_one_runs_is_refused(tmp_path: Path, wh: Path) -> None:
    write_csv(tmp_path / "requests.csv", REQUEST_HEADER, [request_row("R1")])
    cfg = write_sources(tmp_path, [request_source()])
    with updating(wh):
        with pytest.raises(Exception, match="another load is running"):
            load(load_config(cfg), wh)


# ---------------------------------------------------------------- time zones


def test_local_algiers_time_is_stored_in_utc(tmp_path: Path, wh: Path) -> None:
    write_csv(tmp_path / "requests.csv", REQUEST_HEADER, [
        request_row("WINTER", submitted="2025-01-15 10:00:00", closed="2025-01-15 23:30:00",
                    status="closed"),
        request_row("SUMMER", submitted="2025-07-15 10:00:00"),  # Algeria has no summer time
        request_row("MIDNIGHT", submitted="2025-03-01 00:30:00"),
    ])
    write_csv(tmp_path / "utc.csv", REQUEST_HEADER, [request_row("UTC", submitted="2025-01-15 10:00:00")])
    run_load(tmp_path, [request_source(),
                        request_source(name="utc", path="utc.csv", timezone="UTC")])
    got = {r[0]: (r[1], r[2]) for r in query(
        wh, "SELECT request_id, submitted_at, closed_at FROM fact_request")}
    assert got == {
        "WINTER": (datetime(2025, 1, 15, 9, 0), datetime(2025, 1, 15, 22, 30)),
        "SUMMER": (datetime(2025, 7, 15, 9, 0), None),
        "MIDNIGHT": (datetime(2025, 2, 28, 23, 30), None),
        "UTC": (datetime(2025, 1, 15, 10, 0), None),
    }


# ---------------------------------------------------------------- territory


VARIANTS = [
    ("Aïn Madhi", "0307"), ("Ain Madhi", "0307"), ("AIN MADHI", "0307"), ("عين ماضي", "0307"),
    ("Sidi-Aïch", "0639"), ("Sidi Aich", "0639"), ("Alger Centre", "1601"), ("alger-centre", "1601"),
    ("أدرار", "0101"), ("ادرار", "0101"), ("إدرار", "0101"), ("Béjaïa", "0601"), ("Bejaia", "0601"),
    ("16000", "1601"), ("1601", "1601"), ("Commune de Bir el-Djir", "3103"), ("بلدية أدرار", "0101"),
    ("  Oran  ", "3101"), ("Draa El Kaid", "0645"),
]


def test_commune_name_variants_resolve(tmp_path: Path, wh: Path) -> None:
    write_csv(tmp_path / "requests.csv", REQUEST_HEADER,
              [request_row(f"V{i:02d}", commune=name) for i, (name, _) in enumerate(VARIANTS)])
    result = run_load(tmp_path, [request_source()])
    assert quarantine(wh) == []
    assert result.batches[0].rows_loaded == len(VARIANTS)
    got = dict(query(wh, "SELECT request_id, commune_code FROM fact_request"))
    assert {VARIANTS[int(k[1:])][0]: v for k, v in got.items()} == dict(VARIANTS)


def test_an_ambiguous_commune_is_quarantined_with_its_candidates(tmp_path: Path, wh: Path) -> None:
    write_csv(tmp_path / "requests.csv", REQUEST_HEADER,
              [request_row("R1", commune="El Marsa"), request_row("R2", commune="Constantin")])
    run_load(tmp_path, [request_source()])
    amb, unk = quarantine(wh)
    assert (amb["row_number"], amb["column_name"], amb["reason_code"]) == (2, "code_commune",
                                                                          "ambiguous_commune")
    for code in ("0223", "1640", "2138"):
        assert code in amb["candidates"] and code in amb["reason"]
    assert "El Marsa" in amb["reason"]
    assert unk["reason_code"] == "unknown_commune" and "2501 Constantine" in unk["reason"]
    assert "2501 Constantine" in unk["candidates"]


def test_a_wilaya_column_scopes_an_ambiguous_name(tmp_path: Path, wh: Path) -> None:
    header = (*REQUEST_HEADER, "wilaya")
    write_csv(tmp_path / "requests.csv", header, [
        [*request_row("R1", commune="El Marsa"), "16"],
        [*request_row("R2", commune="El Marsa"), "Skikda"],
        [*request_row("R3", commune="El Marsa"), "Oran"],  # no El Marsa in Oran
    ])
    run_load(tmp_path, [request_source(wilaya_column="wilaya")])
    assert query(wh, "SELECT request_id, commune_code FROM fact_request ORDER BY 1") == [
        ("R1", "1640"), ("R2", "2138")]
    (q,) = quarantine(wh)
    assert q["row_number"] == 4 and q["reason_code"] == "unknown_commune"
    assert "in wilaya Oran" in q["reason"] and "1640 El Marsa" in q["candidates"]


# ---------------------------------------------------------------- CLI


def test_cli_status_and_quarantine_show_batches_and_reasons(tmp_path: Path, wh: Path) -> None:
    write_csv(tmp_path / "requests.csv", REQUEST_HEADER,
              [request_row("R1"), request_row("R2", status="clôturée")])
    cfg = write_sources(tmp_path, [request_source(), request_source(name="absent", path="nope.csv")])
    load_run = cli("load", "--config", str(cfg), "--warehouse", str(wh))
    assert load_run.returncode == 1  # one source failed
    assert "Traceback" not in load_run.stdout + load_run.stderr
    assert "nope.csv" in load_run.stderr and "file not found" in load_run.stderr

    status = cli("status", "--warehouse", str(wh))
    assert status.returncode == 0, status.stderr
    out = status.stdout
    assert "req" in out and "requests.csv" in out and "ok" in out and "failed" in out
    assert "absent" in out and "file not found" in out
    assert "closed_has_date" in out  # quarantine summary by reason

    quar = cli("quarantine", "--warehouse", str(wh))
    assert quar.returncode == 0, quar.stderr
    line = next(ln for ln in quar.stdout.splitlines() if "row 3" in ln)
    assert line.startswith("req requests.csv row 3:")
    assert "status says closed but there is no closing date" in line

    missing = cli("status", "--warehouse", str(tmp_path / "none.duckdb"))
    assert missing.returncode == 2 and "does not exist yet" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_batch_failing_after_committed_chunks_is_undone_exactly(tmp_path: Path, wh: Path) -> None:
    """Chunks commit one by one (memory stays flat on 20 M rows); a failure later in the batch
    must still put back every row the earlier chunks replaced, and remove what they added."""
    db = tmp_path / "apc.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE demandes (num_demande TEXT, code_commune TEXT, code_service TEXT, "
                "canal TEXT, date_depot TEXT, date_cloture TEXT, statut TEXT, maj_le TEXT)")
    con.executemany("INSERT INTO demandes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [request_row(f"R{i:04d}") for i in range(3000)])
    con.commit()
    source = {**{k: v for k, v in request_source().items() if k != "path"}, "connector": "sql",
              "url": "sqlite:///apc.sqlite", "table": "demandes", "incremental": "maj_le",
              "chunk_rows": 1000}
    first = run_load(tmp_path, [source])
    assert first.batches[0].rows_loaded == 3000
    before = facts(wh, lineage=True)
    # 1500 requests closed in the source, and one row the source cannot even decode
    con.execute("UPDATE demandes SET statut = 'traitée', date_cloture = '2025-03-05 11:00:00', "
                "maj_le = '2025-03-05 11:00:00' WHERE rowid <= 1500")
    con.execute("INSERT INTO demandes VALUES (CAST(x'ff' AS TEXT), '1601', 'EC_S12', 'guichet', "
                "'2025-03-06 09:00:00', NULL, 'en cours', '2025-03-06 09:00:00')")
    con.commit()
    con.close()
    (b,) = run_load(tmp_path, [source]).batches
    assert b.status == "failed" and b.rows_read >= 1000  # at least one chunk went in first
    assert "nothing of this batch was applied" in b.error
    assert facts(wh, lineage=True) == before
    assert query(wh, "SELECT count(*) FROM etl_quarantine WHERE batch_id = ?", [b.batch_id]) == [(0,)]
    assert query(wh, "SELECT watermark FROM etl_watermark") == [("2025-03-01 10:00:00",)]


def test_a_warehouse_of_another_schema_version_is_refused_untouched(tmp_path: Path, wh: Path) -> None:
    import duckdb

    from etl.errors import EtlError

    con = duckdb.connect(str(wh))
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)").fetchall()
    con.execute("INSERT INTO meta VALUES ('schema_version', '0')").fetchall()
    con.close()
    before = sha256(wh)
    write_csv(tmp_path / "requests.csv", REQUEST_HEADER, [request_row("R1")])
    with pytest.raises(EtlError, match="schema version 0"):
        run_load(tmp_path, [request_source()])
    assert sha256(wh) == before


@pytest.mark.parametrize("tz,local,expected", [
    ("Africa/Algiers", "2025-07-01 10:00:00", "2025-07-01 09:00:00"),   # fixed +1: fast path
    ("Europe/Paris", "2025-07-01 10:00:00", "2025-07-01 08:00:00"),     # summer time (ICU)
    ("Europe/Paris", "2025-01-15 10:00:00", "2025-01-15 09:00:00"),
    ("Africa/Algiers", "2025-07-01T10:00:00Z", "2025-07-01 10:00:00"),  # own offset wins
    ("Africa/Algiers", "2025-07-01 10:00:00+03:00", "2025-07-01 07:00:00"),
])
def test_timestamps_are_stored_in_utc(tmp_path: Path, wh: Path, tz: str, local: str, expected: str) -> None:
    from .conftest import SURVEY_HEADER, survey_row, survey_source

    write_csv(tmp_path / "surveys.csv", SURVEY_HEADER, [survey_row("S1", answered=local)])
    run_load(tmp_path, [survey_source(timezone=tz)])
    got = query(wh, "SELECT strftime(answered_at, '%Y-%m-%d %H:%M:%S') FROM fact_satisfaction")
    assert got == [(expected,)]


def test_fixed_offset_zones_are_recognised() -> None:
    import datetime as dt

    from etl.validate import fixed_offset

    assert fixed_offset("Africa/Algiers") == dt.timedelta(hours=1)
    assert fixed_offset("UTC") == dt.timedelta(0)
    assert fixed_offset("Europe/Paris") is None  # summer time


def test_a_chunk_mixing_new_repeated_and_existing_keys_is_merged_row_by_row(tmp_path: Path, wh: Path) -> None:
    """New keys go straight in; only repeated or already loaded keys take the merge path, and
    the counts and rows are those of a merge of every row."""
    write_csv(tmp_path / "a.csv", REQUEST_HEADER,
              [request_row("E1", updated="2025-03-01 10:00:00"),
               request_row("E2", updated="2025-03-05 10:00:00")])
    run_load(tmp_path, [request_source(name="a", path="a.csv")])
    write_csv(tmp_path / "b.csv", REQUEST_HEADER, [
        request_row("N1"), request_row("N2"),                                   # new
        request_row("D1", updated="2025-03-01 10:00:00"),                       # repeated in the file:
        request_row("D1", channel="web", updated="2025-03-02 10:00:00"),        # the later version wins
        request_row("E1", channel="web", updated="2025-03-02 10:00:00"),        # replaces its version
        request_row("E2", channel="web", updated="2025-03-01 10:00:00"),        # older: does not
    ])
    (b,) = run_load(tmp_path, [request_source(name="b", path="b.csv")]).batches
    assert (b.rows_read, b.rows_loaded, b.rows_merged, b.rows_rejected) == (6, 3, 3, 0)
    assert_balanced(wh)
    got = {r[0]: r[3] for r in facts(wh)}
    assert got == {"D1": "web", "E1": "web", "E2": "desk", "N1": "desk", "N2": "desk"}

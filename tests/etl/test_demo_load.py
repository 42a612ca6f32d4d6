"""The demo commune systems, generated small, load with exactly the defects they were given."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from etl import demo
from etl.loader import load
from etl.sources import load_config


@pytest.fixture(scope="module")
def demo_load(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo")
    manifest = demo.generate(out / "sources", requests=30_000, seed=7, wilayas=["16", "09", "35", "03", "59"])
    wh = out / "warehouse.duckdb"
    result = load(load_config(out / "sources" / "sources.yaml"), wh)
    return manifest, result, wh, out


def _q(wh: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_every_batch_balances_and_nothing_failed(demo_load) -> None:
    _, result, wh, _ = demo_load
    assert not result.failed, [b.error for b in result.failed]
    rows = _q(wh, "SELECT batch_id, rows_read, rows_loaded, rows_merged, rows_rejected, "
                  "(SELECT count(*) FROM etl_quarantine q WHERE q.batch_id = b.batch_id) FROM etl_batch b")
    assert rows
    for batch, read, loaded, merged, rejected, quarantined in rows:
        assert read == loaded + merged + rejected, batch
        assert quarantined == rejected, batch


@pytest.mark.parametrize("dataset", ["requests", "budget", "projects", "satisfaction"])
def test_rejected_and_merged_rows_are_exactly_the_injected_defects(demo_load, dataset: str) -> None:
    manifest, _, wh, _ = demo_load
    expected = manifest["expected"][dataset]
    read, merged, rejected = _q(wh, "SELECT sum(rows_read), sum(rows_merged), sum(rows_rejected) "
                                    "FROM etl_batch WHERE dataset = ?", [dataset])[0]
    assert read == expected["rows_read"]
    assert rejected == expected["rejected"]
    assert merged == expected["duplicates"]


def test_reloading_the_demo_changes_nothing(demo_load) -> None:
    _, _, wh, out = demo_load
    before = hashlib.sha256(wh.read_bytes()).hexdigest()
    again = load(load_config(out / "sources" / "sources.yaml"), wh)
    assert not again.swapped
    assert {b.status for b in again.batches} == {"unchanged"}
    assert hashlib.sha256(wh.read_bytes()).hexdigest() == before


def test_pilot_communes_show_higher_digital_take_up(demo_load) -> None:
    """Pilots are far ahead: each pilot commune's online share is above that of nine in ten
    other communes, and their share together is at least 1.5 times the others'."""
    _, _, wh, _ = demo_load
    rows = dict(_q(wh, "SELECT c.is_pilot, avg(CASE WHEN r.channel IN ('web', 'mobile') THEN 1 ELSE 0 END) "
                       "FROM fact_request r JOIN dim_commune c USING (commune_code) GROUP BY 1"))
    assert rows[True] > 1.5 * rows[False]
    per = _q(wh, "SELECT c.is_pilot, avg(CASE WHEN r.channel IN ('web', 'mobile') THEN 1 ELSE 0 END) "
                 "FROM fact_request r JOIN dim_commune c USING (commune_code) GROUP BY c.commune_code, 1 "
                 "HAVING count(*) >= 50")
    others = sorted(v for p, v in per if not p)
    pilots = [v for p, v in per if p]
    assert pilots and len(others) > 20
    assert min(pilots) > others[int(0.9 * len(others))]


def test_quarantined_rows_name_source_file_row_and_column(demo_load) -> None:
    _, _, wh, _ = demo_load
    rows = _q(wh, "SELECT source, location, row_number, column_name, reason, raw FROM etl_quarantine")
    assert rows
    for source, location, row, column, reason, raw in rows:
        assert source.startswith("demo-") and location and row >= 1 and column and reason
        json.loads(raw)
    budget = [r for r in rows if r[0] == "demo-budget"]
    assert budget and all("[Exercice " in r[1] for r in budget)  # file and sheet

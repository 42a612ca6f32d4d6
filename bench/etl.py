"""ETL benchmark (not a test): rows/s per connector, incremental reload, peak memory.

    .venv/bin/python bench/etl.py                      # default demo size (2 M requests)
    .venv/bin/python bench/etl.py --requests 20000000  # the 20 M scale
    .venv/bin/python bench/etl.py --requests 200000 --excel-rows 50000   # quick look

Each load runs as its own `python -m etl load` process, timed from start to exit (so "end to
end" includes start-up, reference refresh, the copy-and-swap of the warehouse and the final
checkpoint); peak memory is that process's maximum resident set size. Results are printed as a
table and appended to bench/results/etl.jsonl (gitignored); copy them with the command line to
docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_load(config: Path, warehouse: Path, sources: list[str] | None = None) -> dict:
    cmd = [sys.executable, "-m", "etl", "load", "--config", str(config), "--warehouse", str(warehouse)]
    for s in sources or []:
        cmd += ["--source", s]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"load failed ({' '.join(cmd)}):\n{out}\n{err}")
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute(
            "SELECT sum(rows_read), sum(rows_loaded), sum(rows_merged), sum(rows_rejected) "
            "FROM etl_batch WHERE run_id = (SELECT value FROM meta WHERE key = 'last_run')"
        ).fetchall()[0]
    finally:
        con.close()
    return {"seconds": seconds, "peak_rss_mib": usage.ru_maxrss / 1024, "read": int(row[0] or 0),
            "loaded": int(row[1] or 0), "merged": int(row[2] or 0), "rejected": int(row[3] or 0)}


def sqlite_batches(db: Path, table: str, columns: list[str], limit: int | None = None,
                   size: int = 500_000):
    con = sqlite3.connect(db)
    try:
        sql = f"SELECT {', '.join(columns)} FROM {table}" + (f" LIMIT {int(limit)}" if limit else "")
        cur = con.execute(sql)
        while rows := cur.fetchmany(size):
            cols = list(zip(*rows))
            yield pa.table({c: pa.array([None if v is None else str(v) for v in col], pa.string())
                            for c, col in zip(columns, cols)})
    finally:
        con.close()


def export_csv(db: Path, table: str, columns: list[str], path: Path) -> int:
    n = 0
    writer = None
    for t in sqlite_batches(db, table, columns):
        if writer is None:
            writer = pacsv.CSVWriter(path, t.schema, write_options=pacsv.WriteOptions(delimiter=";"))
        writer.write_table(t)
        n += t.num_rows
    if writer:
        writer.close()
    return n


def export_xlsx(db: Path, table: str, columns: list[str], path: Path, rows: int) -> int:
    """The request table as a workbook (title row, header on row 3), first ``rows`` rows."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Demandes")
    ws.write_row(0, 0, ["Registre des demandes — export"])
    ws.write_row(2, 0, columns)
    r = 3
    for t in sqlite_batches(db, table, columns, limit=rows):
        for rec in zip(*(t.column(c).to_pylist() for c in columns)):
            ws.write_row(r, 0, ["" if v is None else v for v in rec])
            r += 1
    wb.close()
    return r - 3


def budget_workbook(demo_dir: Path, path: Path, rows: int) -> int:
    """A budget workbook shaped like the demo's (title rows, two-row merged header, numeric
    amounts), grown to ``rows`` data rows by repeating wilaya 16's lines over more years."""
    import openpyxl
    import xlsxwriter

    src = openpyxl.load_workbook(demo_dir / "budget" / "budget_16.xlsx", read_only=True)
    sheet = src[next(n for n in src.sheetnames if n.startswith("Exercice"))]
    cells = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
    header = cells[:6]
    data = [r for r in cells[6:] if any(r)]
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Exercice 2025")
    for r in range(4):
        ws.write_row(r, 0, [v for v in header[r]])
    top, sub = header[4], header[5]
    for c in range(8):
        ws.merge_range(4, c, 5, c, top[c])
    for c0, c1 in ((8, 9), (10, 13), (14, 17)):
        ws.merge_range(4, c0, 4, c1, top[c0])
    ws.write_row(5, 8, sub[8:18])
    r = 6
    year = 2000
    while r - 6 < rows:
        year += 1
        for rec in data:
            if r - 6 >= rows:
                break
            rec = list(rec)
            rec[1] = year  # Exercice: a new key for every repetition
            ws.write_row(r, 0, [None if v == "" else v for v in rec])
            r += 1
    wb.close()
    return r - 6


def add_new_rows(db: Path, table: str, fraction: float) -> int:
    """Append ``fraction`` of the table as new requests (new ids, later update time)."""
    con = sqlite3.connect(db)
    try:
        total = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        n = max(1, int(total * fraction))
        top = con.execute(f"SELECT max(maj_le) FROM {table}").fetchall()[0][0]
        later = (dt.datetime.fromisoformat(top) + dt.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
        con.execute(
            f"INSERT INTO {table} SELECT 'B' || num_demande, code_commune, code_service, canal, "
            f"date_depot, date_cloture, statut, ? FROM {table} LIMIT ?", [later, n])
        con.commit()
        return n
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2_000_000)
    ap.add_argument("--excel-rows", type=int, default=200_000)
    ap.add_argument("--dir", type=Path, default=ROOT / "data" / "bench")
    ap.add_argument("--skip", nargs="*", default=[], choices=["sql", "csv", "excel", "incremental", "demo"])
    args = ap.parse_args()
    from etl import demo

    work = args.dir / f"r{args.requests}"
    src = work / "sources"
    work.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []

    def record(name: str, rows: int, res: dict) -> None:
        res = {"step": name, "rows": rows, "rows_per_s": rows / res["seconds"] if res["seconds"] else 0, **res}
        results.append(res)
        print(f"{name:<38} {rows:>12,} rows {res['seconds']:>8.1f} s {res['rows_per_s']:>12,.0f} rows/s "
              f"peak {res['peak_rss_mib']:>7,.0f} MiB", flush=True)

    t0 = time.perf_counter()
    if "demo" not in args.skip or not (src / "sources.yaml").exists():
        demo.generate(src, requests=args.requests, seed=42)
    print(f"demo sources generated in {time.perf_counter() - t0:.1f} s ({args.requests:,} requests)", flush=True)
    cfg = yaml.safe_load((src / "sources.yaml").read_text(encoding="utf-8"))
    req = next(s for s in cfg["sources"] if s["dataset"] == "requests")
    db = work / "requests.sqlite"
    shutil.copyfile(src / "requests.sqlite", db)  # the incremental step appends to it
    columns = list(dict.fromkeys(req["columns"].values()))

    def write_cfg(name: str, source: dict) -> Path:
        path = work / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"version": 1, "sources": [source]}, allow_unicode=True), encoding="utf-8")
        return path

    base = {k: v for k, v in req.items() if k not in ("url", "table", "incremental", "connector", "name")}
    if "sql" not in args.skip or "incremental" not in args.skip:
        wh = work / "sql.duckdb"
        wh.unlink(missing_ok=True)
        sql_cfg = write_cfg("sql", {**req, "url": f"sqlite:///{db.resolve()}"})
        res = run_load(sql_cfg, wh)
        record("sql (sqlite) requests, full load", res["read"], res)
        if "incremental" not in args.skip:
            n = add_new_rows(db, req["table"], 0.01)
            res = run_load(sql_cfg, wh)
            record(f"sql incremental (+{n:,} = 1%)", res["read"], res)
    if "csv" not in args.skip:
        csv_path = work / "requests.csv"
        t = time.perf_counter()
        n = export_csv(db, req["table"], columns, csv_path)
        print(f"  (csv export of {n:,} rows: {time.perf_counter() - t:.1f} s, "
              f"{csv_path.stat().st_size / 2**20:,.0f} MiB)", flush=True)
        wh = work / "csv.duckdb"
        wh.unlink(missing_ok=True)
        res = run_load(write_cfg("csv", {**base, "name": "bench-csv", "connector": "csv",
                                         "path": str(csv_path), "delimiter": ";"}), wh)
        record("csv requests, full load", res["read"], res)
    if "excel" not in args.skip:
        xlsx = work / "requests.xlsx"
        t = time.perf_counter()
        n = export_xlsx(db, req["table"], columns, xlsx, args.excel_rows)
        print(f"  (request workbook of {n:,} rows x {len(columns)} columns: {time.perf_counter() - t:.1f} s)", flush=True)
        wh = work / "excel.duckdb"
        wh.unlink(missing_ok=True)
        res = run_load(write_cfg("excel", {**base, "name": "bench-excel", "connector": "excel",
                                           "path": str(xlsx)}), wh)
        record("excel requests (8 columns), full load", res["read"], res)
        xlsx = work / "budget_16.xlsx"
        t = time.perf_counter()
        n = budget_workbook(src, xlsx, args.excel_rows)
        print(f"  (budget workbook of {n:,} rows x 18 columns, merged header: "
              f"{time.perf_counter() - t:.1f} s)", flush=True)
        wh = work / "excel_budget.duckdb"
        wh.unlink(missing_ok=True)
        bud = next(s for s in cfg["sources"] if s["dataset"] == "budget")
        res = run_load(write_cfg("excel_budget", {**bud, "name": "bench-budget", "path": str(xlsx)}), wh)
        record("excel budget (18 columns), full load", res["read"], res)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    with open(out / "etl.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"when": dt.datetime.now(dt.UTC).isoformat(), "requests": args.requests,
                             "machine": f"{platform.machine()} {os.cpu_count()} cores",
                             "results": results}) + "\n")


if __name__ == "__main__":
    main()

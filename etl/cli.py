"""``python -m etl``: demo | load | status | quarantine | reference."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape as esc
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .errors import EtlError
from .warehouse import DEFAULT_PATH

DEFAULT_WAREHOUSE = Path(os.environ.get("MOUACHIR_WAREHOUSE", str(DEFAULT_PATH)))
DEFAULT_SOURCES = Path(os.environ.get("MOUACHIR_SOURCES", "sources.yaml"))
DEMO_DIR = Path("data/sources/demo")

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err_console, transient=True,
        disable=not err_console.is_terminal,
    )


def cmd_load(args: argparse.Namespace) -> int:
    from .loader import load
    from .sources import load_config

    config = load_config(args.config)
    t0 = time.perf_counter()
    with _progress() as prog:
        tasks: dict[str, int] = {}

        def step(location: str, n: int) -> None:
            if location not in tasks:
                tasks[location] = prog.add_task(location[-50:], total=None)
            prog.advance(tasks[location], n)

        result = load(config, args.warehouse, only=args.source or None, progress=step)
    summary(result, time.perf_counter() - t0, args.warehouse)
    return 1 if result.failed else 0


def summary(result, seconds: float, warehouse: Path) -> None:  # noqa: ANN001
    table = Table(title=f"Load {result.run_id} → {warehouse}", show_lines=False)
    for col in ("source", "file / table", "status", "read", "loaded", "merged", "rejected", "s"):
        table.add_column(col, justify="right" if col in ("read", "loaded", "merged", "rejected", "s") else "left")
    tot = [0, 0, 0, 0]
    for b in result.batches:
        style = {"failed": "red", "unchanged": "dim"}.get(b.status, "")
        table.add_row(esc(b.source), esc(b.location[-45:]), f"[{style}]{b.status}[/]" if style else b.status,
                      f"{b.rows_read:,}", f"{b.rows_loaded:,}", f"{b.rows_merged:,}",
                      f"{b.rows_rejected:,}", f"{b.seconds:.1f}")
        for i, v in enumerate((b.rows_read, b.rows_loaded, b.rows_merged, b.rows_rejected)):
            tot[i] += v
    table.add_row("[bold]total", "", "", *(f"[bold]{v:,}" for v in tot), f"{seconds:.1f}")
    console.print(table)
    for b in result.failed:
        err_console.print(f"[red]failed[/] {esc(b.source)} {esc(b.location)}: {esc(b.error or '')}")
    if not result.swapped:
        console.print("Nothing new: the warehouse was left exactly as it was.")


def cmd_status(args: argparse.Namespace) -> int:
    from .warehouse import connect_readonly

    con = connect_readonly(args.warehouse)
    try:
        rows = con.execute(
            "SELECT batch_id, source, location, status, rows_read, rows_loaded, rows_merged, "
            "rows_rejected, strftime(finished_at, '%Y-%m-%d %H:%M:%S'), error "
            "FROM etl_batch ORDER BY started_at DESC, batch_id DESC LIMIT ?", [args.limit]
        ).fetchall()
        t = Table(title=f"Recent batches in {args.warehouse} (UTC)")
        for c in ("batch", "source", "file / table", "status", "read", "loaded", "merged", "rejected", "finished"):
            t.add_column(c)
        for r in rows:
            t.add_row(esc(r[0]), esc(r[1]), esc(str(r[2])[-40:]), r[3], *(f"{v:,}" for v in r[4:8]), r[8] or "")
        console.print(t)
        for r in rows:
            if r[9]:
                console.print(f"[red]{esc(r[0])}[/] {esc(r[9])}")
        q = con.execute(
            "SELECT source, reason_code, count(*) FROM etl_quarantine GROUP BY ALL ORDER BY 1, 3 DESC"
        ).fetchall()
        t2 = Table(title="Quarantine by source and reason")
        for c in ("source", "reason", "rows"):
            t2.add_column(c)
        for r in q:
            t2.add_row(esc(r[0]), esc(r[1]), f"{r[2]:,}")
        console.print(t2)
        facts = con.execute(
            "SELECT 'fact_request', count(*) FROM fact_request UNION ALL "
            "SELECT 'fact_budget', count(*) FROM fact_budget UNION ALL "
            "SELECT 'fact_project', count(*) FROM fact_project UNION ALL "
            "SELECT 'fact_satisfaction', count(*) FROM fact_satisfaction"
        ).fetchall()
        console.print("Warehouse: " + ", ".join(f"{n} {c:,}" for n, c in facts))
    finally:
        con.close()
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from .warehouse import connect_readonly

    con = connect_readonly(args.warehouse)
    try:
        where, params = ["1=1"], []
        if args.source:
            where.append("source = ?")
            params.append(args.source)
        if args.reason:
            where.append("reason_code = ?")
            params.append(args.reason)
        rows = con.execute(
            f"SELECT source, location, row_number, column_name, reason, candidates, raw "
            f"FROM etl_quarantine WHERE {' AND '.join(where)} "
            f"ORDER BY quarantined_at DESC, location, row_number LIMIT ?", [*params, args.limit]
        ).fetchall()
        for r in rows:
            console.print(f"[bold]{esc(r[0])}[/] {esc(r[1])} row {r[2]}: {esc(r[4])}")
            if r[5]:
                console.print(f"  candidates: {esc(r[5])}")
            console.print(f"  [dim]{esc(r[6])}[/]")
    finally:
        con.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from . import demo

    out = Path(args.out)
    t0 = time.perf_counter()
    if not args.skip_generate:
        console.print(f"Generating demo commune systems in {out} ({args.requests:,} requests, seed {args.seed}) …")
        with _progress() as prog:
            tasks: dict[str, int] = {}

            def step(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = prog.add_task(f"generating {name}", total=total)
                prog.update(tasks[name], completed=done, total=total)

            manifest = demo.generate(out, requests=args.requests, seed=args.seed, progress=step)
        console.print(f"  generated in {time.perf_counter() - t0:.1f} s: "
                      + ", ".join(f"{k} {v:,}" for k, v in manifest.get("rows", {}).items()))
    if args.no_load:
        return 0
    ns = argparse.Namespace(config=out / "sources.yaml", warehouse=args.warehouse, source=None)
    rc = cmd_load(ns)
    console.print(f"Demo built in {time.perf_counter() - t0:.1f} s.")
    return rc


def cmd_reference(args: argparse.Namespace) -> int:
    from .territory import reference

    ref = reference()
    console.print(f"{len(ref.wilayas)} wilayas, {len(ref.dairas)} daïras, {len(ref.communes)} communes")
    for n in ref.notes:
        console.print(f"- {esc(n)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m etl", description="Mouachir ETL: commune systems into the DuckDB warehouse.")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = p.add_subparsers(dest="command", required=True)

    def wh(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE,
                        help=f"warehouse file (default {DEFAULT_WAREHOUSE}; env MOUACHIR_WAREHOUSE)")

    sp = sub.add_parser("load", help="load every source of a sources file")
    sp.add_argument("--config", type=Path, default=DEFAULT_SOURCES,
                    help=f"sources file (default {DEFAULT_SOURCES}; env MOUACHIR_SOURCES)")
    sp.add_argument("--source", action="append", help="load only this source (repeatable)")
    wh(sp)
    sp.set_defaults(func=cmd_load)

    sp = sub.add_parser("demo", help="generate the demo commune systems, then load them")
    sp.add_argument("--requests", type=int, default=2_000_000, help="number of citizen requests (default 2,000,000)")
    sp.add_argument("--seed", type=int, default=42)
    sp.add_argument("--out", default=str(DEMO_DIR), help=f"where to write the sources (default {DEMO_DIR})")
    sp.add_argument("--no-load", action="store_true", help="only generate the sources")
    sp.add_argument("--skip-generate", action="store_true", help="only load the existing demo sources")
    wh(sp)
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("status", help="recent batches and quarantine counts")
    sp.add_argument("--limit", type=int, default=20)
    wh(sp)
    sp.set_defaults(func=cmd_status)

    sp = sub.add_parser("quarantine", help="show quarantined rows with their reasons")
    sp.add_argument("--source")
    sp.add_argument("--reason", help="reason code, e.g. unknown_commune")
    sp.add_argument("--limit", type=int, default=20)
    wh(sp)
    sp.set_defaults(func=cmd_quarantine)

    sp = sub.add_parser("reference", help="print the territorial reference and how it was reconciled")
    sp.set_defaults(func=cmd_reference)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except EtlError as e:
        err_console.print(f"[red]error:[/] {esc(str(e))}")
        return 2
    except KeyboardInterrupt:
        err_console.print("[red]interrupted:[/] the warehouse was left exactly as it was before this run")
        return 130

"""python -m kpi validate | list | explain ID | compute | test | schema"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path

import duckdb
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import catalogue as catmod
from .catalogue import Catalogue
from .compiler import Compiler, needs_scan
from .errors import CatalogueError, KpiError
from .model import grain_of, period_start

SCHEMA_PATH = Path(__file__).with_name("indicators.schema.json")


def _wilayas(warehouse: Path) -> frozenset[str] | None:
    if not warehouse.exists():
        return None
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return None
    try:
        return frozenset(r[0] for r in con.execute("SELECT wilaya_code FROM dim_wilaya").fetchall()) or None
    except duckdb.Error:
        return None
    finally:
        con.close()


def _load(args: argparse.Namespace) -> Catalogue:
    return catmod.load(args.catalogue, wilayas=_wilayas(Path(args.warehouse)))


def _print_issues(console: Console, cat: Catalogue) -> None:
    for issue in cat.issues:
        console.print(f"[red]error[/red] {escape(str(issue))}", highlight=False, soft_wrap=True)


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    cat = _load(args)
    _print_issues(console, cat)
    n_ok, n_bad = len(cat.indicators), len(cat.broken)
    console.print(f"{cat.path}: {n_ok} indicator(s) valid, {n_bad} unavailable, "
                  f"{len(cat.issues)} problem(s)", highlight=False)
    return 1 if cat.issues else 0


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    cat = _load(args)
    table = Table("id", "kind", "unit", "source", "grains", "splits", "label", "state")
    for i, c in cat.indicators.items():
        table.add_row(i, c.ind.kind, c.ind.unit, c.ind.source or "(derived)",
                      ",".join(cat.grains(c)), ",".join(c.ind.dimensions), escape(c.ind.label.fr), "ok")
    for b in cat.broken.values():
        table.add_row(escape(b.id), "", "", "", "", "", escape((b.label or {}).get("fr", "")),
                      escape(f"unavailable: {b.reason}"))
    console.print(table)
    return 0


def cmd_explain(args: argparse.Namespace, console: Console) -> int:
    cat = _load(args)
    if args.id in cat.broken:
        console.print(f"{args.id} is unavailable: {escape(cat.broken[args.id].reason)}", highlight=False)
        return 1
    if args.id not in cat.indicators:
        hint = catmod.suggest(args.id, list(cat.indicators))
        console.print(f"unknown indicator {args.id}" + (f" — {hint}" if hint else ""), highlight=False)
        return 1
    c = cat.indicators[args.id]
    if c.ind.kind == "derived":
        print(f"-- indicator {c.id} (derived): {c.ind.formula}")
        print("-- computed from the materialised figures of its inputs, at the same level, "
              "territory and period;\n-- a division by zero gives no figure.")
        print(f"-- inputs: {', '.join(c.inputs)}")
        return 0
    comp = Compiler(cat)
    grains = [args.grain] if args.grain else [g for g in cat.grains(c) if needs_scan(cat, c, g)]
    for g in grains:
        if g not in cat.grains(c):
            console.print(f"{c.id} has no {g} figures (grains: {', '.join(cat.grains(c))})")
            return 1
        print(comp.compile(c, g).explain())
        print()
    rolled = [g for g in cat.grains(c) if not needs_scan(cat, c, g)]
    if rolled and not args.grain:
        how = ("sums of num and den of the base grain" if c.ind.kind != "stock" and c.ind.stock is None
               and not (c.source and c.source.snapshot) else "the figure of the last base period in it")
        print(f"-- {', '.join(rolled)}: rolled up from the base grain ({how})")
    return 0


def cmd_compute(args: argparse.Namespace, console: Console) -> int:
    from .engine import Engine
    from .read import figures
    from .store import updating

    cat = _load(args)
    _print_issues(console, cat)
    only = args.kpi or None
    for i in only or []:
        if i not in cat.indicators:
            console.print(f"unknown or unavailable indicator {escape(i)}", highlight=False)
            return 1
    as_of = args.as_of
    with updating(Path(args.warehouse)) as con:
        report = Engine(con, cat).refresh(full=args.full, as_of=as_of, only=only)
    if report.skipped:
        console.print(f"nothing new since the last refresh (data as of {report.as_of:%Y-%m-%d %H:%M}); "
                      "figures left as they were", highlight=False)
    else:
        table = Table("indicator", "rows", "seconds", title=f"KPI refresh ({report.mode}"
                      + (f" from {report.since}" if report.since else "") + ")")
        for i, (n, s) in report.per_indicator.items():
            table.add_row(i, f"{n:,}", f"{s:.2f}")
        console.print(table)
        console.print(f"{report.rows:,} rows in {report.seconds:.1f} s; data as of "
                      f"{report.as_of:%Y-%m-%d %H:%M}; {len(report.unavailable)} indicator(s) unavailable",
                      highlight=False)
    if args.level or args.period:
        con = duckdb.connect(args.warehouse, read_only=True)
        try:
            grain = grain_of(args.period) if args.period else None
            per = period_start(args.period) if args.period else None
            for i in only or list(cat.indicators):
                rows = [r for r in figures(con, i, level=args.level, grain=grain, period=per)
                        if not r["split"]]
                t = Table("territory", "period", "value", "target", "status", "rank", title=i)
                for r in rows[: args.limit]:
                    t.add_row(r["territory"], str(r["period"]), _fmt(r["value"]), _fmt(r["target"]),
                              r["status"] or "", f"{r['rank_parent'] or ''}/{r['count_parent'] or ''}")
                console.print(t)
        finally:
            con.close()
    return 0


def _fmt(v: object) -> str:
    return "" if v is None else f"{v:,.2f}"


def cmd_test(args: argparse.Namespace, console: Console) -> int:
    from .testing import run_all

    cat = _load(args)
    _print_issues(console, cat)
    outcomes = run_all(cat, args.ids or None)
    failed = [o for o in outcomes if not o.ok]
    for o in outcomes:
        mark = "[green]ok[/green]  " if o.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {o.indicator}: {escape(o.test)}", highlight=False)
        for f in o.failures:
            console.print(f"       {escape(f)}", highlight=False)
    untested = [i for i, c in cat.indicators.items() if not c.ind.tests and (not args.ids or i in args.ids)]
    for i in untested:
        console.print(f"[yellow]no test[/yellow] {i}", highlight=False)
    console.print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed, "
                  f"{len(cat.broken)} indicator(s) unavailable", highlight=False)
    return 1 if failed or cat.broken else 0


def _as_of(text: str) -> dt.datetime:
    from .engine import end_of_local_day

    try:
        if len(text) == 10:
            return end_of_local_day(dt.date.fromisoformat(text))
        return dt.datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (2026-06-30) or a time "
                                         "(2026-06-30T18:00)") from None


def _period(text: str) -> str:
    import re

    from .model import PERIOD_PATTERN

    if not re.match(PERIOD_PATTERN, text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a period: 2026, 2026-Q3 or 2026-07")
    return text


def json_schema() -> dict:
    from .model import CatalogueFile

    schema = CatalogueFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Mouachir indicator catalogue (indicators.yaml), format v1"
    return schema


def cmd_schema(args: argparse.Namespace, console: Console) -> int:
    text = json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"
    if args.check:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            console.print(f"{SCHEMA_PATH} is out of date: run python -m kpi schema --write")
            return 1
        return 0
    if args.write:
        SCHEMA_PATH.write_text(text, encoding="utf-8")
        console.print(f"wrote {SCHEMA_PATH}")
        return 0
    sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    from .store import DEFAULT_PATH

    p = argparse.ArgumentParser(prog="python -m kpi", description="Mouachir indicator catalogue and engine")
    p.add_argument("--catalogue", default=str(catmod.DEFAULT_PATH), help="indicators.yaml to use")
    p.add_argument("--warehouse", default=str(DEFAULT_PATH), help="DuckDB warehouse file")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("validate", help="check the catalogue; every problem, located")
    sub.add_parser("list", help="list the indicators")
    e = sub.add_parser("explain", help="print the SQL an indicator compiles to, commented")
    e.add_argument("id")
    e.add_argument("--grain", choices=["month", "quarter", "year"])
    c = sub.add_parser("compute", help="refresh the figures in the warehouse")
    c.add_argument("--kpi", action="append", help="only this indicator (and its inputs); repeatable")
    c.add_argument("--level", choices=["commune", "daira", "wilaya", "nation"], help="print figures of this level")
    c.add_argument("--period", type=_period, help="print figures of this period: 2026, 2026-Q3 or 2026-07")
    c.add_argument("--limit", type=int, default=20, help="rows printed per indicator")
    c.add_argument("--full", action="store_true", help="recompute everything, not only what new batches touch")
    c.add_argument("--as-of", type=_as_of, help="data as-of time, UTC (2026-06-30T18:00) or a day in "
                   "Algiers (2026-06-30: the end of that day); default: the latest time in the data")
    t = sub.add_parser("test", help="run the golden tests written in the catalogue")
    t.add_argument("ids", nargs="*")
    s = sub.add_parser("schema", help="print, write or check kpi/indicators.schema.json")
    s.add_argument("--write", action="store_true")
    s.add_argument("--check", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    # piped or redirected (cron logs), tables keep their columns instead of wrapping at 80
    console = Console(stderr=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    handlers = {"validate": cmd_validate, "list": cmd_list, "explain": cmd_explain,
                "compute": cmd_compute, "test": cmd_test, "schema": cmd_schema}
    try:
        return handlers[args.cmd](args, console)
    except CatalogueError as err:
        for issue in err.issues:
            console.print(f"error {issue}", highlight=False, markup=False, soft_wrap=True)
        return 2
    except KpiError as err:
        console.print(f"error: {err}", highlight=False, markup=False, soft_wrap=True)
        return 2

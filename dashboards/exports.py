"""Every grid's and chart's data, downloadable as CSV or as a formatted Excel workbook.

A page builds what it shows from a ``Table`` (dashboards/tables.py); the export link of that grid
or chart (``/export/<dataset>.csv?<the page's query>``) builds the very same ``Table`` again on
the server from the same URL state, so what is downloaded is what was on screen — with its
title, units, the filters applied, the generation time and the source batches it came from.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import logging
import re
from collections.abc import Callable
from typing import Any

from .i18n import Translator
from .state import State

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Column:
    key: str
    label: str
    kind: str = "text"            # text, number, date, status
    unit: str = ""                # shown in the header of exports
    decimals: int = 0


@dataclasses.dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    filters: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    sources: list[dict[str, Any]] = dataclasses.field(default_factory=list)


DATASETS: dict[str, Callable[[Translator, State], Table]] = {}


def dataset(name: str) -> Callable[[Callable[[Translator, State], Table]], Callable[[Translator, State], Table]]:
    """Registers a table builder under the name used in /export/<name>.<format>."""
    def register(fn: Callable[[Translator, State], Table]) -> Callable[[Translator, State], Table]:
        DATASETS[name] = fn
        return fn
    return register


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:80] or "export"


def _sheet_name(text: str) -> str:
    """A worksheet name in the reader's language (Excel forbids []:*?/\\ and > 31 characters)."""
    return re.sub(r"[\[\]:*?/\\]", " ", text).strip()[:31] or "Sheet"


def _cell(v: Any) -> Any:
    if isinstance(v, float) and v != v:   # NaN
        return None
    return v


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark (so a spreadsheet opens Arabic correctly), one header row."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([c.label + (f" ({c.unit})" if c.unit else "") for c in table.columns])
    for r in table.rows:
        w.writerow(["" if _cell(r.get(c.key)) is None else r.get(c.key) for c in table.columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(table: Table, t: Translator, generated: dt.datetime) -> bytes:
    """A workbook a finance service can file: title, filters, generation time, sources, then the
    data with units in the headers, numbers as numbers, frozen header, right to left in Arabic."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "remove_timezone": True})
    wb.set_properties({"title": table.title, "author": "Mouachir", "comments": t("Généré par Mouachir")})
    ws = wb.add_worksheet(_sheet_name(t("Données")))
    meta = wb.add_worksheet(_sheet_name(t("Sources")))
    if t.rtl:
        ws.right_to_left()
        meta.right_to_left()
    bold = wb.add_format({"bold": True})
    title = wb.add_format({"bold": True, "font_size": 14})
    head = wb.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True, "valign": "top"})
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    status_fmt = {s: wb.add_format({"font_color": c, "bold": True}) for s, c in
                  (("green", "#1A7F37"), ("amber", "#B35900"), ("red", "#C62828"))}
    num_fmts: dict[int, Any] = {}

    def num_fmt(decimals: int) -> Any:
        if decimals not in num_fmts:
            num_fmts[decimals] = wb.add_format({"num_format": "#,##0" + ("." + "0" * decimals if decimals else "")})
        return num_fmts[decimals]

    ws.write(0, 0, table.title, title)
    row = 1
    for label, value in table.filters:
        ws.write(row, 0, label, bold)
        ws.write(row, 1, value)
        row += 1
    ws.write(row, 0, t("Généré le"), bold)
    ws.write(row, 1, t.local_time(generated) + " " + t("(heure d'Alger)"))
    row += 1
    for n in table.notes:
        ws.write(row, 0, n)
        row += 1
    row += 1
    header_row = row
    for j, c in enumerate(table.columns):
        ws.write(row, j, c.label + (f" ({c.unit})" if c.unit else ""), head)
        width = max(len(c.label) + (len(c.unit) + 3 if c.unit else 0), 10)
        ws.set_column(j, j, min(max(width, 12 if c.kind == "number" else 18), 50))
    for r in table.rows:
        row += 1
        for j, c in enumerate(table.columns):
            v = _cell(r.get(c.key))
            if v is None:
                continue
            if c.kind == "number" and isinstance(v, (int, float)):
                ws.write_number(row, j, v, num_fmt(c.decimals))
            elif c.kind == "date" and isinstance(v, (dt.date, dt.datetime)):
                ws.write_datetime(row, j, v if isinstance(v, dt.datetime) else
                                  dt.datetime(v.year, v.month, v.day), date_fmt)
            elif c.kind == "status":
                ws.write_string(row, j, str(r.get(c.key + "_text") or v), status_fmt.get(str(v)))
            else:
                ws.write(row, j, v if isinstance(v, (int, float)) else str(v))
    ws.freeze_panes(header_row + 1, 0)
    if table.rows:
        ws.autofilter(header_row, 0, row, len(table.columns) - 1)
    meta.write(0, 0, t("Lots sources des chiffres"), title)
    cols = [("source", t("Source")), ("dataset", t("Jeu de données")), ("batch_id", t("Dernier lot")),
            ("finished_at", t("Fin du chargement (UTC)")), ("rows_loaded", t("Lignes chargées"))]
    for j, (_, label) in enumerate(cols):
        meta.write(2, j, label, head)
        meta.set_column(j, j, 26)
    for i, b in enumerate(table.sources, start=3):
        for j, (key, _) in enumerate(cols):
            v = b.get(key)
            if isinstance(v, dt.datetime):
                meta.write(i, j, v.strftime("%Y-%m-%d %H:%M:%S"))
            elif v is not None:
                meta.write(i, j, v)
    wb.close()
    return buf.getvalue()


def build(name: str, t: Translator, state: State) -> Table | None:
    fn = DATASETS.get(name)
    if fn is None:
        return None
    from . import data

    table = fn(t, state)
    if not table.sources and data.warehouse_path().exists():
        table.sources = data.source_batches()
    return table


def register_route(server: Any) -> None:
    """``/export/<dataset>.<csv|xlsx>?<page query>`` on the Flask server."""
    from flask import Response, abort, request

    @server.route("/export/<name>.<fmt>")
    def export(name: str, fmt: str):   # noqa: ANN202 — a Flask view
        if fmt not in ("csv", "xlsx") or name not in DATASETS:
            abort(404)
        state = State.from_args(request.args.to_dict(flat=True))
        t = Translator(state.lang)
        table = build(name, t, state)
        if table is None:
            abort(404)
        generated = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        stem = _safe_name(f"mouachir_{name}_{state.territory or 'DZ'}_{generated:%Y%m%d_%H%M}")
        log.info("export %s.%s %s (%d rows)", name, fmt, request.query_string.decode()[:200], len(table.rows))
        if fmt == "csv":
            body, mime = to_csv(table), "text/csv; charset=utf-8"
        else:
            body = to_xlsx(table, t, generated)
            mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(body, mimetype=mime, headers={
            "Content-Disposition": f'attachment; filename="{stem}.{fmt}"', "Cache-Control": "no-store"})

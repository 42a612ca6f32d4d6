"""Pure builders: data in, Dash components and plotly figures out. No I/O, no callbacks, so
each is tested as a plain function (tests/dashboards/test_components.py).

Right to left: plotly charts are not mirrored, so in Arabic the value axis goes on the right,
time keeps running left to right, and every chart sits in a ``dir="ltr"`` box (DESIGN.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import dash_ag_grid as dag   # imported with the app: Dash serves the libraries known at start-up
import plotly.graph_objects as go
from dash import dcc, html

from .i18n import Translator

STATUS_COLOURS = {"green": "#1a7f37", "amber": "#b35900", "red": "#c62828"}
STALE_COLOUR = "#b0b0b0"
FONT = "Noto Sans, Noto Naskh Arabic, DejaVu Sans, Arial, sans-serif"
GRAPH_CONFIG = {"topojsonURL": "/assets/topojson/", "displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "toImage"]}


def status_text(t: Translator, status: str | None) -> str:
    return {"green": t("vert"), "amber": t("orange"), "red": t("rouge")}.get(status or "", "")


def status_badge(t: Translator, status: str | None) -> html.Span:
    if not status:
        return html.Span("—", className="status")
    return html.Span(status_text(t, status), className=f"status status-{status}")


def value_text(t: Translator, value: float | None, unit: str, decimals: int) -> str:
    return t.number(value, decimals, unit)


def change_text(t: Translator, value: float | None, before: float | None, unit: str, decimals: int) -> str:
    """``+1,2 pt`` style change (in the indicator's unit; percentages in points)."""
    if value is None or before is None:
        return "—"
    d = value - before
    sign = "+" if d > 0 else ("−" if d < 0 else "±")
    body = t.number(abs(d), decimals)
    suffix = {"percent": " " + t("pt")}.get(unit, t.number(0, 0, unit)[1:] if unit not in ("count", "projects") else "")
    return f"{sign}{body}{suffix}"


def empty(message: str, *, kind: str = "info") -> html.Div:
    """An explained empty state: never a blank chart."""
    return html.Div(html.P(message), className=f"empty empty-{kind}", role="status")


def note(message: str) -> html.P:
    return html.P(message, className="note")


def layout_fig(fig: go.Figure, t: Translator, *, height: int = 320, value_axis: str = "y") -> go.Figure:
    """Common look; in Arabic the value axis on the right (time still left to right)."""
    fig.update_layout(height=height, margin={"l": 8, "r": 8, "t": 24, "b": 8}, font={"family": FONT, "size": 12},
                      paper_bgcolor="white", plot_bgcolor="white", separators=t.separators,
                      legend={"orientation": "h", "y": -0.15})
    if t.rtl and value_axis == "y":
        fig.update_yaxes(side="right")
    fig.update_xaxes(gridcolor="#eee", automargin=True)
    fig.update_yaxes(gridcolor="#eee", automargin=True)
    return fig


def graph(gid: Any, fig: go.Figure, label: str) -> html.Div:
    """A chart in a left-to-right box, with a text label for screen readers."""
    return html.Div(dcc.Graph(id=gid, figure=fig, config=GRAPH_CONFIG), dir="ltr", className="chart",
                    role="figure", **{"aria-label": label})


def colourscale(direction: str) -> str:
    return {"higher": "RdYlGn", "lower": "RdYlGn_r"}.get(direction, "Blues")


def choropleth(*, geojson_url: str, codes: Sequence[str], values: Sequence[float | None],
               names: Sequence[str], texts: Sequence[str], direction: str, unit_label: str,
               stale: dict[str, str] | None = None, focus: str | None = None,
               t: Translator, height: int = 480) -> go.Figure:
    """Territories coloured by a value; stale ones grey; the focused one outlined.

    ``geojson_url`` is served by the app (boundaries built by ``python -m dashboards.geo``), so
    the figure stays small and the browser caches the geometry.
    """
    stale = stale or {}
    shown = [(c, v, n, x) for c, v, n, x in zip(codes, values, names, texts) if c not in stale and v is not None]
    fig = go.Figure()
    if shown:
        fig.add_trace(go.Choropleth(
            geojson=geojson_url, featureidkey="id", locations=[s[0] for s in shown], z=[s[1] for s in shown],
            text=[s[2] for s in shown], customdata=[[s[3]] for s in shown],
            colorscale=colourscale(direction), marker_line_width=0.5, marker_line_color="white",
            hovertemplate="<b>%{text}</b><br>%{customdata[0]}<extra></extra>",
            colorbar={"title": {"text": unit_label}, "thickness": 12, "len": 0.7,
                      "x": 0 if t.rtl else 1.0, "xanchor": "left" if not t.rtl else "right"},
            name=""))
    missing = [(c, n, x) for c, v, n, x in zip(codes, values, names, texts) if c in stale or v is None]
    if missing:
        fig.add_trace(go.Choropleth(
            geojson=geojson_url, featureidkey="id", locations=[m[0] for m in missing], z=[0] * len(missing),
            text=[m[1] for m in missing],
            customdata=[[stale.get(m[0]) or t("pas de donnée")] for m in missing],
            colorscale=[[0, STALE_COLOUR], [1, STALE_COLOUR]], showscale=False, marker_line_width=0.5,
            marker_line_color="white", hovertemplate="<b>%{text}</b><br>%{customdata[0]}<extra></extra>",
            name=""))
    if focus and focus in codes:
        fig.add_trace(go.Choropleth(
            geojson=geojson_url, featureidkey="id", locations=[focus], z=[0], showscale=False,
            colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]], marker_line_width=3,
            marker_line_color="#111", hoverinfo="skip", name=""))
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0}, font={"family": FONT},
                      separators=t.separators, dragmode=False, clickmode="event")
    return fig


def ranking(*, names: Sequence[str], values: Sequence[float], texts: Sequence[str],
            statuses: Sequence[str | None], t: Translator, height: int | None = None) -> go.Figure:
    """Horizontal bars, best at the top (inputs already sorted best first)."""
    colours = [STATUS_COLOURS.get(s or "", "#5b7db1") for s in statuses]
    fig = go.Figure(go.Bar(x=list(values), y=list(names), orientation="h", marker_color=colours,
                           text=list(texts), textposition="outside", textfont={"size": 10}, cliponaxis=False,
                           hovertemplate="%{y}: %{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", side="right" if t.rtl else "left")
    if t.rtl:
        fig.update_xaxes(autorange="reversed")
    layout_fig(fig, t, height=height or max(260, 18 * len(names) + 40), value_axis="x")
    return fig


def histogram(*, values: Sequence[float], unit_label: str, t: Translator, target: float | None = None,
              national: float | None = None) -> go.Figure:
    fig = go.Figure(go.Histogram(x=list(values), nbinsx=20, marker_color="#5b7db1",
                                 hovertemplate="%{x}: %{y}<extra></extra>"))
    if target is not None:
        fig.add_vline(x=target, line_dash="dash", line_color="#1a7f37",
                      annotation_text=t("cible"), annotation_position="top")
    if national is not None:
        fig.add_vline(x=national, line_color="#333", annotation_text=t("national"),
                      annotation_position="bottom")
    fig.update_xaxes(title_text=unit_label)
    fig.update_yaxes(title_text=t("Nombre de territoires"))
    return layout_fig(fig, t, height=260)


def trend(lines: Sequence[dict[str, Any]], *, t: Translator, unit_label: str, grain: str,
          target: Sequence[float | None] | None = None, periods: Sequence[dt.date] | None = None,
          height: int = 300) -> go.Figure:
    """Lines over time: each ``{"name", "x": [dates], "y": [values], "dash"?}``."""
    fig = go.Figure()
    monthly = grain == "month"

    def xs(ds: Sequence[dt.date]) -> list[Any]:
        # months on a date axis (readable ticks whatever the span); quarters and years as labels
        return [d.isoformat() for d in ds] if monthly else [t.period(grain, d) for d in ds]

    for ln in lines:
        fig.add_trace(go.Scatter(x=xs(ln["x"]), y=ln["y"], name=ln["name"],
                                 mode="lines+markers", line={"dash": ln.get("dash", "solid"), "width": 2},
                                 marker={"size": 4}, connectgaps=False,
                                 customdata=[t.period(grain, d) for d in ln["x"]],
                                 hovertemplate="%{customdata}: %{y}<extra>" + ln["name"] + "</extra>"))
    if target is not None and periods is not None and any(v is not None for v in target):
        fig.add_trace(go.Scatter(x=xs(periods), y=list(target), name=t("cible"),
                                 mode="lines", line={"dash": "dot", "color": "#1a7f37"}))
    if monthly:
        fig.update_xaxes(type="date", tickformat="%m/%Y", hoverformat="%m/%Y")
    else:
        fig.update_xaxes(type="category", categoryorder="array",
                         categoryarray=xs(periods or (lines[0]["x"] if lines else [])))
    fig.update_yaxes(title_text=unit_label)
    return layout_fig(fig, t, height=height)


def sparkline(values: Sequence[float | None], *, label: str, width: int = 110, height: int = 28) -> html.Img:
    """A tiny trend as an inline SVG image (no plotly figure per row), with a text alternative."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if len(pts) < 2:
        return html.Img(src="data:image/svg+xml;base64," + base64.b64encode(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"/>'.encode()).decode(),
            alt=label, width=width, height=height, className="spark")
    lo = min(v for _, v in pts)
    hi = max(v for _, v in pts)
    span = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)
    coords = " ".join(f"{2 + i * (width - 4) / n:.1f},{height - 3 - (v - lo) / span * (height - 6):.1f}"
                      for i, v in pts)
    last_x, last_y = coords.split(" ")[-1].split(",")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}"><polyline fill="none" stroke="#3a5f9e" stroke-width="1.5" '
           f'points="{coords}"/><circle cx="{last_x}" cy="{last_y}" r="2.5" fill="#3a5f9e"/></svg>')
    return html.Img(src="data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(), alt=label,
                    width=width, height=height, className="spark")


def grid(gid: Any, *, columns: list[dict[str, Any]], rows: list[dict[str, Any]], t: Translator,
         height: int = 420, selected: Sequence[str] = (), row_id: str | None = None,
         label: str = "") -> html.Div:
    """A sortable, filterable AG Grid; right to left in Arabic (a new grid per language)."""
    options: dict[str, Any] = {"enableRtl": t.rtl, "animateRows": False, "suppressDragLeaveHidesColumns": True,
                               "localeText": t.grid_locale(), "tooltipShowDelay": 300,
                               "rowSelection": {"mode": "singleRow", "checkboxes": False,
                                                "enableClickSelection": True}}
    if row_id:
        options["getRowId"] = {"function": f"params.data[{row_id!r}]"}
    return html.Div(dag.AgGrid(
        id=gid, columnDefs=columns, rowData=rows, dashGridOptions=options, className="ag-theme-quartz",
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "minWidth": 90, "flex": 1},
        selectedRows={"ids": list(selected)} if selected and row_id else [],
        style={"height": f"{height}px", "width": "100%"},
    ), className="grid-box", role="region", **{"aria-label": label} if label else {})


def status_col(t: Translator, field: str = "status_text", header: str | None = None) -> dict[str, Any]:
    return {"field": field, "headerName": header or t("Statut"), "maxWidth": 130,
            "cellClassRules": {"status-green": "params.data.status === 'green'",
                               "status-amber": "params.data.status === 'amber'",
                               "status-red": "params.data.status === 'red'"}}


def num_col(field: str, header: str, *, text_field: str | None = None, width: int | None = None) -> dict[str, Any]:
    """A numeric column sorted on the number, shown as the language writes it."""
    col: dict[str, Any] = {"field": field, "headerName": header, "type": "numericColumn", "filter": "agNumberColumnFilter",
                           "cellClass": "num"}
    if text_field:
        col["valueFormatter"] = {"function": f"params.data[{text_field!r}]"}
    if width:
        col["maxWidth"] = width
    return col


def link_col(field: str, header: str, href_field: str) -> dict[str, Any]:
    """A column whose cells are links (markdown rendered by the grid, hrefs built on the server)."""
    return {"field": field, "headerName": header, "cellRenderer": "markdown", "minWidth": 160,
            "valueGetter": {"function": f"'[' + params.data[{field!r}] + '](' + params.data[{href_field!r}] + ')'"},
            "filterValueGetter": {"function": f"params.data[{field!r}]"},
            "comparator": {"function": "(a, b) => a.localeCompare(b)"}}


def export_links(t: Translator, dataset: str, query: str) -> html.Div:
    """Download this grid's or chart's data (served by /export, with the page's filters)."""
    sep = "&" if query else "?"
    return html.Div([
        html.Span(t("Exporter :"), className="export-label"),
        html.A("CSV", href=f"/export/{dataset}.csv{query}", className="export", download="",
               **{"aria-label": t("Exporter en CSV")}),
        html.A("Excel", href=f"/export/{dataset}.xlsx{query}", className="export", download="",
               **{"aria-label": t("Exporter en Excel")}),
    ], className="exports", **{"data-dataset": dataset, "data-sep": sep})


def card(title: str, children: Any, *, cid: str | None = None, actions: Any = None) -> html.Section:
    head = [html.H2(title)]
    if actions is not None:
        head.append(actions)
    kids = [html.Div(head, className="card-head"), *(children if isinstance(children, list) else [children])]
    return html.Section(kids, className="card", **({"id": cid} if cid else {}))


def kpi_tile(*, label: str, value: str, status: str | None, t: Translator, sub: str = "") -> html.Div:
    return html.Div([html.Div(label, className="tile-label"),
                     html.Div(html.Span(value, className="num-iso"), className="tile-value"),
                     html.Div([status_badge(t, status), html.Span(sub, className="tile-sub")] if status
                              else html.Span(sub, className="tile-sub"))],
                    className=f"tile tile-{status or 'none'}")

"""The app's callbacks. Each is thin: read the inputs, compute with plain functions (tested on
their own in tests/dashboards/test_callbacks.py), return. State changes go through the URL, so
the page is rebuilt from it and every view stays shareable."""

from __future__ import annotations

import logging
from typing import Any

import plotly.graph_objects as go

from dash import ALL, MATCH, Input, Output, State as DState, ctx, html, no_update

from . import data
from .i18n import Translator
from .state import State, parse_period

log = logging.getLogger(__name__)


def not_found(lang: str | None = None, **_: Any) -> html.Div:
    from . import frame

    state = State.from_args({"lang": lang})
    t = Translator(state.lang)
    return frame.page(t, state, "/404", title=t("Page introuvable"),
                      body=[html.P(t("Cette adresse ne correspond à aucune page de Mouachir."))])


def filter_search(search: str | None, changes: dict[str, Any]) -> str:
    """The URL query after the filter bar changed (``changes``: key → new value)."""
    state = State.from_search(search)
    new: dict[str, Any] = {}
    for key, value in changes.items():
        value = value or ""
        if key == "grain":
            if value != state.grain:
                new.update(grain=value, period=None)
        elif key == "period":
            grain = new.get("grain", state.grain)
            p = parse_period(grain, value)
            if p is not None and "period" not in new:
                new["period"] = p
        elif key == "t":
            new["territory"] = "" if value == "DZ" else value
        elif key in ("indicator", "service", "channel", "by", "compare"):
            new[key] = value
    if "period" in new and new["period"] is not None and state.period is None:
        # keep "the latest period" open-ended unless a period was really chosen
        from . import data as _data

        if new["period"] == _data.default_period(new.get("grain", state.grain)):
            new.pop("period")
    return state.query(**new, focus="")


def filter_change(search: str | None, values: dict[str, Any], rendered: dict[str, Any]) -> str | None:
    """The new URL query when a filter was really changed, None otherwise (the dropdowns of a
    page that has just been rendered fire too: they hold what was rendered, so nothing moves
    and no history entry is added)."""
    changes = {k: v for k, v in values.items() if (v or "") != (rendered.get(k) or "")}
    if not changes:
        return None
    new = filter_search(search, changes)
    return new if new != (search or "") else None


def drill_href(search: str | None, path_prefix: str, click: dict[str, Any] | None) -> str | None:
    """Where a click on a territory of a map or chart leads: ``/wilaya/16?…``."""
    if not click or not click.get("points"):
        return None
    point = click["points"][0]
    code = point.get("location") or (point.get("customdata") or [None])[-1]
    if not isinstance(code, str) or not data.ref().known(code):
        return None
    state = State.from_search(search)
    if path_prefix == "/explorer":
        return state.href("/explorer", territory=code, focus="")
    return state.href(f"{path_prefix}/{code}", territory="", focus="")


def register(app: Any) -> None:
    # Gates in the browser: a filter, map or grid that merely mounts, or a grid echoing the
    # selection the server just made, never reaches the server (the workers only see real clicks).
    app.clientside_callback(
        """function(values, rendered) {
            var ids = dash_clientside.callback_context.inputs_list[0].map(function (i) { return i.id.key; });
            var changes = {}, n = 0;
            for (var i = 0; i < ids.length; i++) {
                var v = values[i] || "", r = (rendered || {})[ids[i]] || "";
                if (v !== r) { changes[ids[i]] = values[i]; n++; }
            }
            if (!n) { return dash_clientside.no_update; }
            changes._at = Date.now();
            return changes;
        }""",
        Output("filter-change", "data"), Input({"type": "filter", "key": ALL}, "value"),
        DState("filters-rendered", "data"), prevent_initial_call=True)
    app.clientside_callback(
        """function(mapClick, barClick) {
            var t = dash_clientside.callback_context.triggered;
            if (!t.length || !t[0].value) { return dash_clientside.no_update; }
            return {source: t[0].prop_id.split(".")[0], click: t[0].value, _at: Date.now()};
        }""",
        Output("drill-click", "data", allow_duplicate=True), Input("overview-map", "clickData"),
        Input("overview-ranking", "clickData"), prevent_initial_call=True)
    app.clientside_callback(
        """function(click) {
            if (!click) { return dash_clientside.no_update; }
            return {source: "explorer-children", click: click, _at: Date.now()};
        }""",
        Output("drill-click", "data", allow_duplicate=True), Input("explorer-children", "clickData"),
        prevent_initial_call=True)
    app.clientside_callback(
        """function(click, selected, focused) {
            var t = dash_clientside.callback_context.triggered;
            if (!t.length) { return dash_clientside.no_update; }
            var code = null;
            if (t[0].prop_id.indexOf("wilaya-map") === 0 && click && click.points && click.points.length) {
                code = click.points[0].location;
            } else if (t[0].prop_id.indexOf("wilaya-grid") === 0 && selected && selected.length) {
                code = selected[0].code;
            }
            if (!code || code === focused) { return dash_clientside.no_update; }
            return {code: code, _at: Date.now()};
        }""",
        Output("focus-request", "data"), Input("wilaya-map", "clickData"), Input("wilaya-grid", "selectedRows"),
        DState("wilaya-focused", "data"), prevent_initial_call=True)

    @app.callback(Output("url", "search"), Input("filter-change", "data"),
                  DState("url", "search"), DState("filters-rendered", "data"), prevent_initial_call=True)
    def on_filter(change: dict[str, Any] | None, search: str | None, rendered: dict[str, Any] | None) -> Any:
        if not change:
            return no_update
        new = filter_change(search, {k: v for k, v in change.items() if k != "_at"}, rendered or {})
        return no_update if new is None else new

    @app.callback(Output("url", "href", allow_duplicate=True), Input("drill-click", "data"),
                  DState("url", "search"), prevent_initial_call=True)
    def on_drill(req: dict[str, Any] | None, search: str | None) -> Any:
        if not req:
            return no_update
        return drill_from(req.get("source", ""), req.get("click"), search) or no_update

    @app.callback(Output({"type": "sql-box", "ind": MATCH}, "children"),
                  Input({"type": "sql-button", "ind": MATCH}, "n_clicks"), prevent_initial_call=True)
    def on_sql(n: int | None) -> Any:
        from .catalogue_page import sql_of

        ind = ctx.triggered_id["ind"] if isinstance(ctx.triggered_id, dict) else ""
        if not n:
            return no_update
        sql = sql_of(ind)
        return html.Pre(sql or "—", className="sql", dir="ltr") if n % 2 else None

    @app.callback(Output("wilaya-trend", "figure"), Output("wilaya-map", "figure"),
                  Output("wilaya-grid", "selectedRows"), Output("wilaya-focus", "children"),
                  Output("wilaya-focused", "data"), Input("focus-request", "data"),
                  DState("wilaya-ctx", "data"), prevent_initial_call=True)
    def on_wilaya_focus(req: dict[str, Any] | None, page: dict[str, Any] | None) -> Any:
        focus = (req or {}).get("code")
        if not focus or not page:
            return (no_update,) * 5
        out = wilaya_focus(page["code"], page["search"], focus)
        return (*out, focus if out[2] is not no_update else no_update)

    app.clientside_callback(
        """function(d) { if (d) { document.documentElement.lang = d.lang; document.documentElement.dir = d.dir; }
                         return ''; }""",
        Output("lang-sink", "title"), Input("page-lang", "data"))


def drill_from(source: str, click: Any, search: str | None) -> str | None:
    """Where a click on the overview's map or ranking, or on the explorer's bars, leads."""
    if not click or not click.get("points"):
        return None
    point = click["points"][0]
    if source == "overview-ranking":      # bars are labelled by name: find the wilaya
        lang = State.from_search(search).lang
        code = next((c for c, w in data.ref().wilayas.items() if w[f"name_{lang}"] == point.get("y")), None)
        return drill_href(search, "/wilaya", {"points": [{"location": code}]}) if code else None
    if source == "explorer-children":
        code = (point.get("customdata") or [None])[0]
        return drill_href(search, "/explorer", {"points": [{"location": code}]})
    if source == "overview-map":
        return drill_href(search, "/wilaya", click)
    return None


def wilaya_focus(code: str, search: str, focus: str) -> tuple[Any, Any, Any, Any]:
    """Cross-filter of the wilaya page: the trend with the commune, the map with it outlined, the
    grid row selected, the panel naming it."""
    from . import tables, wilaya

    ref = data.ref()
    if focus not in ref.communes or ref.communes[focus]["wilaya_code"] != code:
        return no_update, no_update, no_update, no_update
    state = State.from_search(search).replace(territory=code)
    t = Translator(state.lang)
    cx = tables.context(t, state, level="commune")
    trend = wilaya.trend_figure(t, state.replace(territory=""), cx, code, focus)
    fig = wilaya.commune_map(t, cx, tables.communes(t, state), code, focus)
    return (trend if trend is not None else no_update, fig if isinstance(fig, go.Figure) else no_update,
            {"ids": [focus]}, wilaya.focus_box(t, state.replace(territory=""), focus))

"""Wilaya page: its communes on the map and in a sortable grid with status colours against the
targets, the daïras, the trends and the worst movers of the period.

Cross-filtering: clicking a commune on the map or in the grid selects it everywhere — outlined on
the map, selected in the grid, drawn in the trend beside its wilaya (dashboards/callbacks.py).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from dash import dcc, html

from . import components as ui
from . import data, frame, indicators, tables
from .i18n import Translator, t_fr
from .state import State

PATH = "/wilaya/<code>"
TITLE = t_fr("Wilaya")


def commune_map(t: Translator, cx: tables.Ctx, table: Any, code: str, focus: str = "") -> Any:
    from .geo import commune_layer_path

    if not commune_layer_path(data.geo_dir(), code).exists():
        return ui.empty(t("La géométrie des communes n'est pas encore construite : lancez "
                          "« python -m dashboards.geo » (make run le fait)."), kind="warn")
    rows = table.rows
    if not any(r["value"] is not None for r in rows):
        return ui.empty(t("Pas de chiffres par commune pour cette période."))
    stale_days = data.stale_communes()
    stale = {k: t("données anciennes : {days}").format(days=t.number(v, 0, "days"))
             for k, v in stale_days.items() if any(r["code"] == k for r in rows)}
    fig = ui.choropleth(
        geojson_url=f"/geo/communes_{code}.json", codes=[r["code"] for r in rows], values=[r["value"] for r in rows],
        names=[r["name"] for r in rows], texts=[f"{r['value_text']} · {r['status_text'] or '—'}" for r in rows],
        direction=cx.direction, unit_label=indicators.unit_label(t, cx.unit), stale=stale, focus=focus or None,
        t=t, height=460)
    return fig


def trend_figure(t: Translator, state: State, cx: tables.Ctx, code: str, focus: str = "") -> Any:
    """The wilaya against the nation (and the focused commune, when one is selected)."""
    ref = data.ref()
    lines = []
    periods: list = []
    for terr, dash_style in (("DZ", "dot"), (code, "solid")) + (((focus, "dash"),) if focus else ()):
        tr = tables.trend(t, state.replace(territory=terr, indicator=cx.indicator))
        if tr.rows:
            xs = [r["period"] for r in tr.rows][-25:]
            lines.append({"name": ref.name(terr, t.lang), "x": xs, "y": [r["value"] for r in tr.rows][-25:],
                          "dash": dash_style})
            periods = sorted(set(periods) | set(xs))
    if not lines:
        return None
    return ui.trend(lines, t=t, unit_label=indicators.unit_label(t, cx.unit), grain=cx.grain, periods=periods)


def commune_grid(t: Translator, table: Any, focus: str = "") -> Any:
    cols = [
        {"field": "daira", "headerName": t("Daïra"), "minWidth": 120, "sort": "asc"},
        ui.link_col("name", t("Commune"), "href"),
        ui.num_col("value", t("Valeur"), text_field="value_text"),
        ui.num_col("target", t("Cible"), text_field="target_text", width=120),
        ui.status_col(t),
        {**ui.num_col("change", t("Évolution"), text_field="change_text", width=120), "cellClass": "num signed"},
        ui.num_col("rank", t("Rang"), width=90),
        {"field": "stale", "headerName": t("Données anciennes"), "maxWidth": 120},
    ]
    return ui.grid("wilaya-grid", columns=cols, rows=table.rows, t=t, selected=[focus] if focus else [],
                   row_id="code", label=table.title)


@frame.guarded(PATH, TITLE)
def layout(code: str | None = None, lang: str | None = None, **args: Any) -> html.Div:
    state = State.from_args({"lang": lang, **args})
    t = Translator(state.lang)
    ref = data.ref()
    path = f"/wilaya/{code}"
    if code not in ref.wilayas:
        return frame.page(t, state, path, title=t(TITLE), body=[ui.empty(
            t("Wilaya inconnue : {code}.").format(code=str(code)[:10]), kind="warn")])
    w = ref.wilayas[code]
    st = state.replace(territory=code)
    cx = tables.context(t, st, level="commune")
    focus = state.focus if state.focus in ref.communes and ref.communes[state.focus]["wilaya_code"] == code else ""
    q = st.query(indicator=cx.indicator, focus="")
    bar = frame.filters(t, state, indicator_options=indicators.options(t), indicator=cx.indicator,
                        period_used=cx.period)
    title = f"{code} — {t.name(w)}"
    crumbs = [(t("Algérie"), state.href("/", focus="")), (title, None)]
    body: list[Any] = [dcc.Store(id="wilaya-ctx", data={"code": code, "search": state.query(indicator=cx.indicator)}),
                       dcc.Store(id="wilaya-focused", data=focus or None)]
    body += [ui.note(n) for n in cx.notes]
    unavailable = data.unavailable()
    if cx.indicator in unavailable:
        body.append(ui.empty(t("Indicateur indisponible : {reason}").format(reason=unavailable[cx.indicator]),
                             kind="warn"))
        return frame.page(t, state, path, title=title, body=body, bar=bar, crumbs=crumbs)
    communes = tables.communes(t, st)
    wcx = tables.context(t, st, level="wilaya")
    wv = data.values(cx.indicator, level="wilaya", grain=wcx.grain, period=wcx.period, split=wcx.split,
                     member=wcx.member).get(code) if wcx.period else None
    wr = tables._figure_row(wcx, code, wv)
    body.append(html.Div([
        ui.kpi_tile(label=t("Wilaya — {period}").format(period=t.period(cx.grain, cx.period)),
                    value=wr["value_text"], status=wr["status"], t=t),
        ui.kpi_tile(label=t("Cible"), value=wr["target_text"], status=None, t=t),
        ui.kpi_tile(label=t("Rang parmi les wilayas"), status=None, t=t,
                    value=f"{wr['rank']} / {wr['ranked']}" if wr.get("rank") else "—"),
        ui.kpi_tile(label=t("Communes en vert / orange / rouge"), status=None, t=t, value=" / ".join(
            t.number(sum(1 for r in communes.rows if r["status"] == s)) for s in ("green", "amber", "red"))),
    ], className="tiles"))
    fig = commune_map(t, cx, communes, code, focus)
    map_box = (fig if not isinstance(fig, go.Figure) else html.Div([
        ui.graph("wilaya-map", fig, t("Carte des communes : {indicator}").format(indicator=cx.label())),
        html.P([t("Cliquez sur une commune (carte ou tableau) pour la suivre sur la tendance."), " ",
                html.Span(t("En gris : pas de donnée, ou données anciennes."), className="legend-grey")],
               className="hint"),
        html.Small(t("Limites : © OpenStreetMap contributors."), className="attribution")]))
    grid = (commune_grid(t, communes, focus) if communes.rows else ui.empty(t("Aucune commune.")))
    body.append(html.Div([
        ui.card(t("Carte des communes"), map_box, cid="card-map", actions=ui.export_links(t, "communes", q)),
        ui.card(t("Communes"), grid, cid="card-grid", actions=ui.export_links(t, "communes", q)),
    ], className="row half"))
    tr = trend_figure(t, state, cx, code, focus)
    focus_panel = html.Div(id="wilaya-focus", children=focus_box(t, state, focus))
    dairas = tables.dairas(t, st)
    body.append(html.Div([
        ui.card(t("Tendance"), [focus_panel, html.Div(
            ui.graph("wilaya-trend", tr, t("Tendance : {indicator}").format(indicator=cx.label())) if tr else
            ui.empty(t("Pas encore de série pour cet indicateur.")))], cid="card-trend",
            actions=ui.export_links(t, "trend", st.query(indicator=cx.indicator, focus=""))),
        ui.card(t("Par daïra"), daira_table(t, dairas), cid="card-dairas",
                actions=ui.export_links(t, "dairas", q)),
    ], className="row two"))
    movers = tables.movers(t, st)
    body.append(ui.card(t("Plus fortes dégradations de la période"), movers_table(t, movers), cid="card-movers",
                        actions=ui.export_links(t, "movers", q)))
    return frame.page(t, state, path, title=title, bar=bar, body=body, crumbs=crumbs,
                      subtitle=t("{indicator} — {period}").format(indicator=cx.label(),
                                                                  period=t.period(cx.grain, cx.period)))


def focus_box(t: Translator, state: State, focus: str) -> Any:
    if not focus:
        return html.P(t("Aucune commune sélectionnée : la wilaya face au national."), className="hint")
    ref = data.ref()
    return html.P([t("Commune sélectionnée : "), html.Strong(ref.name(focus, t.lang)), " — ",
                   dcc.Link(t("ouvrir sa fiche"), href=state.href(f"/commune/{focus}", territory="", focus=""))],
                  className="hint")


def daira_table(t: Translator, table: Any) -> Any:
    if not table.rows:
        return ui.empty(t("Pas de chiffres par daïra pour cette période."))
    head = [t("Daïra"), t("Communes"), t("Valeur"), t("Cible"), t("Statut"), t("Évolution")]
    return html.Div(html.Table([
        html.Caption(table.title),
        html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
        html.Tbody([html.Tr([html.Td(r["name"]), html.Td(t.number(r["communes"]), className="num"),
                             html.Td(r["value_text"], className="num"), html.Td(r["target_text"], className="num"),
                             html.Td(ui.status_badge(t, r["status"])), html.Td(html.Span(r["change_text"], className="num-iso"), className="num")])
                    for r in sorted(table.rows, key=lambda r: r["name"])])], className="grid"),
        className="table-scroll")


def movers_table(t: Translator, table: Any) -> Any:
    if not table.rows:
        return ui.empty(t("Aucune commune ne s'est dégradée depuis la période précédente (ou pas de "
                          "période précédente à comparer)."))
    head = [t("Daïra"), t("Commune"), t("Valeur"), t("Période précédente"), t("Évolution"), t("Statut")]
    return html.Div(html.Table([
        html.Caption(table.title),
        html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
        html.Tbody([html.Tr([html.Td(r["daira"]), html.Td(dcc.Link(r["name"], href=r["href"])),
                             html.Td(r["value_text"], className="num"),
                             html.Td(r["prev_text"], className="num"),
                             html.Td(html.Span(r["change_text"], className="num-iso"), className="num"), html.Td(ui.status_badge(t, r["status"]))])
                    for r in table.rows])], className="grid"), className="table-scroll")

"""Indicator explorer: one indicator, drilled nation → wilaya → daïra → commune with breadcrumbs,
split by service or channel, and its time series against a comparison period."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from . import components as ui
from . import data, frame, indicators, tables
from .i18n import Translator, t_fr
from .state import State, level_of

PATH = "/explorer"
TITLE = t_fr("Explorateur d'indicateur")


def breadcrumbs(t: Translator, state: State, code: str) -> list[tuple[str, str | None]]:
    ref = data.ref()
    chain = []
    k: str | None = code
    while k:
        chain.append(k)
        k = ref.parent(k) if k != "DZ" else None
    chain = list(reversed(chain if chain[-1:] == ["DZ"] else chain + ["DZ"]))
    if chain[0] != "DZ":
        chain.insert(0, "DZ")
    out = []
    for k in chain:
        label = ref.name(k, t.lang)
        if level_of(k) == "daira":
            label = t("Daïra de {name}").format(name=label)
        out.append((label, None if k == code else state.href(PATH, territory="" if k == "DZ" else k)))
    return out


def children_chart(t: Translator, cx: tables.Ctx, table: Any) -> Any:
    ranked = [r for r in table.rows if r["value"] is not None]
    if not ranked:
        return ui.empty(t("Pas de chiffres au niveau inférieur pour cette période."))
    rev = cx.direction != "lower"
    ranked.sort(key=lambda r: -(r["value"]) if rev else r["value"])
    fig = ui.ranking(names=[r["name"] for r in ranked], values=[r["value"] for r in ranked],
                     texts=[r["value_text"] for r in ranked], statuses=[r["status"] for r in ranked], t=t)
    fig.update_traces(customdata=[[r["code"]] for r in ranked])
    return html.Div([ui.graph("explorer-children", fig, table.title),
                     html.P(t("Cliquez sur une barre pour descendre d'un niveau."), className="hint")])


def split_chart(t: Translator, cx: tables.Ctx, table: Any) -> Any:
    rows = [r for r in table.rows if r["value"] is not None]
    if not rows:
        return ui.empty(" ".join(table.notes) or t("Pas de ventilation pour cette période."))
    fig = ui.ranking(names=[r["name"] for r in rows], values=[r["value"] for r in rows],
                     texts=[r["value_text"] for r in rows], statuses=[r["status"] for r in rows], t=t)
    return ui.graph("explorer-split", fig, table.title)


def series_chart(t: Translator, state: State, cx: tables.Ctx, code: str) -> Any:
    tr = tables.trend(t, state.replace(territory=code, indicator=cx.indicator))
    if not tr.rows:
        return ui.empty(t("Pas encore de série pour cet indicateur ici."))
    xs = [r["period"] for r in tr.rows]
    lines = [{"name": data.ref().name(code, t.lang), "x": xs, "y": [r["value"] for r in tr.rows]}]
    if state.compare == "yoy":
        lines.append({"name": t("Même période l'an dernier"), "x": xs, "y": [r["yoy"] for r in tr.rows],
                      "dash": "dash"})
    else:
        lines.append({"name": t("Période précédente"), "x": xs, "y": [r["prev"] for r in tr.rows], "dash": "dash"})
    fig = ui.trend(lines, t=t, unit_label=indicators.unit_label(t, cx.unit), grain=cx.grain,
                   target=[r["target"] for r in tr.rows], periods=xs)
    return ui.graph("explorer-series", fig, tr.title)


@frame.guarded(PATH, TITLE)
def layout(lang: str | None = None, **args: Any) -> html.Div:
    state = State.from_args({"lang": lang, **args})
    t = Translator(state.lang)
    ref = data.ref()
    code = state.territory if ref.known(state.territory) else "DZ"
    level = level_of(code)
    cx = tables.context(t, state.replace(territory=code), level=level)
    c = indicators.get(cx.indicator)
    dims = list(c.ind.dimensions) if c is not None else []
    by = state.by if state.by in dims else (dims[0] if dims else "")
    st = state.replace(territory="" if code == "DZ" else code, indicator=cx.indicator, by=by)
    bar = frame.filters(t, state, indicator_options=indicators.options(t), indicator=cx.indicator,
                        period_used=cx.period, extra={"by": by, "compare": state.compare})
    extra = html.Div([
        html.Div([html.Label(t("Ventiler par"), htmlFor="filter-by", className="filter-label"),
                  dcc.Dropdown(id={"type": "filter", "key": "by"}, value=by, clearable=False,
                               options=[{"label": t(tables.SPLIT_NAMES.get(d, d)), "value": d} for d in dims],
                               disabled=not dims, className="filter-dd")], className="filter", id="filter-by"),
        html.Div([html.Label(t("Comparer avec"), htmlFor="filter-compare", className="filter-label"),
                  dcc.Dropdown(id={"type": "filter", "key": "compare"}, value=state.compare, clearable=False,
                               options=[{"label": t("la période précédente"), "value": "prev"},
                                        {"label": t("la même période l'an dernier"), "value": "yoy"}],
                               className="filter-dd")], className="filter", id="filter-compare"),
    ], className="filters sub", role="group", **{"aria-label": t("Options de l'explorateur")})
    crumbs = breadcrumbs(t, state, code)
    body: list[Any] = [extra, *[ui.note(n) for n in cx.notes]]
    unavailable = data.unavailable()
    if cx.indicator in unavailable:
        body.append(ui.empty(t("Indicateur indisponible : {reason}").format(reason=unavailable[cx.indicator]),
                             kind="warn"))
        return frame.page(t, state, PATH, title=cx.label(), body=body, bar=bar, crumbs=crumbs)
    cur = data.values(cx.indicator, level=level, grain=cx.grain, period=cx.period, split=cx.split,
                      member=cx.member).get(code) if cx.period else None
    row = tables._figure_row(cx, code, cur)
    links = []
    if level == "wilaya":
        links.append(dcc.Link(t("Page de la wilaya"), href=state.href(f"/wilaya/{code}", territory="")))
    if level == "commune":
        links.append(dcc.Link(t("Fiche de la commune"), href=state.href(f"/commune/{code}", territory="")))
    body.append(html.Div([
        ui.kpi_tile(label=t("{territory} — {period}").format(territory=ref.name(code, t.lang),
                                                           period=t.period(cx.grain, cx.period)),
                    value=row["value_text"], status=row["status"], t=t),
        ui.kpi_tile(label=t("Cible"), value=row["target_text"], status=None, t=t),
        ui.kpi_tile(label=t("Depuis la période précédente"), value=row["change_text"], status=None, t=t),
        ui.kpi_tile(label=t("Même période l'an dernier"), value=cx.fmt(row["yoy"]), status=None, t=t),
    ], className="tiles"))
    if c is not None:
        body.append(html.P([getattr(c.ind.description, t.lang), " ",
                            *([html.Strong(t("Précautions : ")), getattr(c.ind.caveats, t.lang)] if c.ind.caveats
                              else []), " ", *[html.Span([lk, " "]) for lk in links]], className="caveat"))
    q = st.query()
    lower = []
    if level != "commune":
        kids = tables.children(t, st)
        lower.append(ui.card(kids.title, children_chart(t, cx, kids), cid="card-children",
                             actions=ui.export_links(t, "children", q)))
    sp = tables.split(t, st)
    lower.append(ui.card(sp.title, split_chart(t, cx, sp), cid="card-split", actions=ui.export_links(t, "split", q)))
    body.append(html.Div(lower, className="row half" if len(lower) == 2 else "row"))
    body.append(ui.card(t("Série chronologique"), series_chart(t, state, cx, code), cid="card-series",
                        actions=ui.export_links(t, "trend", q)))
    return frame.page(t, state, PATH, title=cx.label(), bar=bar, body=body, crumbs=crumbs,
                      subtitle=t("{territory} — {period}").format(territory=ref.name(code, t.lang),
                                                                  period=t.period(cx.grain, cx.period)))

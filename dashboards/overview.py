"""National overview: the 69 wilayas on a map coloured by the chosen indicator and period, the
ranking beside it, the distribution and the national trend. Click a wilaya to go down."""

from __future__ import annotations

from typing import Any

from dash import html

from . import components as ui
from . import data, frame, indicators, tables
from .i18n import Translator, t_fr
from .state import State

PATH = "/"
TITLE = t_fr("Vue nationale")


def wilaya_map(t: Translator, cx: tables.Ctx, rank: Any, *, gid: Any = "overview-map") -> Any:
    """The wilayas coloured by the indicator; wilayas whose communes' feeds are mostly stale grey."""
    if not (data.geo_dir() / "wilayas.json").exists():
        return ui.empty(t("La géométrie des wilayas n'est pas encore construite : lancez "
                          "« python -m dashboards.geo » (make run le fait)."), kind="warn")
    rows = [r for r in rank.rows]
    if not any(r["value"] is not None for r in rows):
        return ui.empty(t("Pas de chiffres pour cette période : aucune wilaya n'a de donnée."))
    ref = data.ref()
    stale_c = data.stale_communes()
    per_w: dict[str, list[int]] = {}
    for code, c in ref.communes.items():
        per_w.setdefault(c["wilaya_code"], [0, 0])
        per_w[c["wilaya_code"]][0] += 1
        per_w[c["wilaya_code"]][1] += code in stale_c
    stale = {w: t("données anciennes pour {n} communes sur {total}").format(n=s, total=n)
             for w, (n, s) in per_w.items() if n and s * 2 > n}
    fig = ui.choropleth(
        geojson_url="/geo/wilayas.json", codes=[r["code"] for r in rows], values=[r["value"] for r in rows],
        names=[f"{r['code']} {r['name']}" for r in rows],
        texts=[f"{r['value_text']} · {r['status_text'] or '—'}" for r in rows], direction=cx.direction,
        unit_label=indicators.unit_label(t, cx.unit), stale=stale, t=t)
    return html.Div([
        ui.graph(gid, fig, t("Carte des wilayas : {indicator}").format(indicator=cx.label())),
        html.P([t("Cliquez sur une wilaya pour voir ses communes."), " ",
                html.Span(t("En gris : pas de donnée, ou données anciennes pour la majorité des communes."),
                          className="legend-grey")], className="hint"),
        html.Small(t("Limites : © OpenStreetMap contributors."), className="attribution"),
    ])


@frame.guarded(PATH, TITLE)
def layout(lang: str | None = None, **args: Any) -> html.Div:
    state = State.from_args({"lang": lang, **args})
    t = Translator(state.lang)
    cx = tables.context(t, state, level="wilaya")
    q = state.query(indicator=cx.indicator)
    bar = frame.filters(t, state, indicator_options=indicators.options(t), indicator=cx.indicator,
                        period_used=cx.period)
    if not cx.indicator:
        return frame.page(t, state, PATH, title=t(TITLE), bar=bar,
                          body=[ui.empty(t("Aucun indicateur utilisable dans le catalogue : voir la page Catalogue."),
                                         kind="warn")])
    rank = tables.ranking(t, state)
    nat = tables.trend(t, state.replace(territory="DZ", indicator=cx.indicator))
    body: list[Any] = [ui.note(n) for n in cx.notes]
    unavailable = data.unavailable()
    if cx.indicator in unavailable:
        body.append(ui.empty(t("Indicateur indisponible : {reason}").format(reason=unavailable[cx.indicator]),
                             kind="warn"))
        body.append(national_scorecard(t, state))
        return frame.page(t, state, PATH, title=t(TITLE), bar=bar, body=body)
    cur = next((r for r in nat.rows if r["period"] == cx.period), None)
    c = indicators.get(cx.indicator)
    caveat = getattr(c.ind.caveats, t.lang) if c is not None and c.ind.caveats else ""
    tiles = html.Div([
        ui.kpi_tile(label=t("National — {period}").format(period=t.period(cx.grain, cx.period)),
                    value=cx.fmt(cur["value"] if cur else None), status=cur["status"] if cur else None, t=t),
        ui.kpi_tile(label=t("Cible"), value=cx.fmt(cur["target"] if cur else None), status=None, t=t),
        ui.kpi_tile(label=t("Même période l'an dernier"), value=cx.fmt(cur["yoy"] if cur else None), status=None, t=t),
        ui.kpi_tile(label=t("Wilayas en vert / orange / rouge"), status=None, t=t, value=" / ".join(
            t.number(sum(1 for r in rank.rows if r["status"] == s)) for s in ("green", "amber", "red"))),
    ], className="tiles")
    body.append(tiles)
    if caveat:
        body.append(html.P([html.Strong(t("Précautions : ")), caveat], className="caveat"))
    ranked = [r for r in rank.rows if r["value"] is not None]
    rank_fig = ui.ranking(names=[r["name"] for r in ranked], values=[r["value"] for r in ranked],
                          texts=[r["value_text"] for r in ranked], statuses=[r["status"] for r in ranked], t=t)
    body.append(html.Div([
        ui.card(t("Carte"), wilaya_map(t, cx, rank), cid="card-map",
                actions=ui.export_links(t, "ranking", q)),
        ui.card(t("Classement des wilayas"),
                html.Div(ui.graph("overview-ranking", rank_fig, rank.title), className="scroll-box") if ranked else
                ui.empty(t("Pas de chiffres pour cette période.")),
                cid="card-ranking", actions=ui.export_links(t, "ranking", q)),
    ], className="row two"))
    values = [r["value"] for r in ranked]
    dist = (ui.graph("overview-distribution", ui.histogram(
        values=values, unit_label=indicators.unit_label(t, cx.unit), t=t,
        target=cur["target"] if cur else None, national=cur["value"] if cur else None),
        t("Répartition des wilayas")) if len(values) >= 3 else
        ui.empty(t("Trop peu de wilayas ont un chiffre pour montrer une répartition.")))
    periods = [r["period"] for r in nat.rows]
    lines = [{"name": t("Algérie"), "x": periods, "y": [r["value"] for r in nat.rows]}]
    if any(r["yoy"] is not None for r in nat.rows):
        lines.append({"name": t("Même période l'an dernier"), "x": periods, "y": [r["yoy"] for r in nat.rows],
                      "dash": "dash"})
    trend = (ui.graph("overview-trend", ui.trend(lines, t=t, unit_label=indicators.unit_label(t, cx.unit),
                                                 grain=cx.grain, target=[r["target"] for r in nat.rows],
                                                 periods=periods), nat.title)
             if nat.rows else ui.empty(t("Pas encore de série pour cet indicateur.")))
    body.append(html.Div([
        ui.card(t("Répartition des wilayas"), dist, cid="card-distribution",
                actions=ui.export_links(t, "ranking", q)),
        ui.card(t("Tendance nationale"), trend, cid="card-trend",
                actions=ui.export_links(t, "trend", state.query(indicator=cx.indicator, territory="DZ"))),
    ], className="row two"))
    body.append(national_scorecard(t, state))
    return frame.page(t, state, PATH, title=t(TITLE), bar=bar, body=body,
                      subtitle=t("{indicator} — {period}").format(indicator=cx.label(),
                                                                  period=t.period(cx.grain, cx.period)))


def national_scorecard(t: Translator, state: State) -> Any:
    """Every indicator's national figure for the period, with its status and caveats."""
    from .commune import scorecard_table

    st = state.replace(territory="DZ", service="", channel="", indicator="")
    table = tables.scorecard(t, st)
    return ui.card(t("Tous les indicateurs — national"), scorecard_table(t, table), cid="card-scorecard",
                   actions=ui.export_links(t, "scorecard", st.query()))

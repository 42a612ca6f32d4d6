"""Commune scorecard: every indicator with its value, target, status, trend sparkline, change since
the previous period and the same period last year, rank among its peers, and the caveats next to
the figure."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from . import components as ui
from . import data, frame, tables
from .i18n import Translator, t_fr
from .state import State

PATH = "/commune/<code>"
TITLE = t_fr("Fiche de la commune")
CATEGORIES = {"requests": t_fr("Demandes"), "delays": t_fr("Délais et stock"), "digital": t_fr("Numérique"),
              "satisfaction": t_fr("Satisfaction"), "budget": t_fr("Budget"), "projects": t_fr("Projets"),
              "data_quality": t_fr("Qualité des données"), "territory": t_fr("Territoire")}


def scorecard_table(t: Translator, table: Any) -> html.Div:
    head = [t("Indicateur"), t("Valeur"), t("Cible"), t("Statut"), t("Tendance (13 périodes)"),
            t("Depuis la période précédente"), t("Sur un an"), t("Rang dans la wilaya"), t("Rang dans sa strate"),
            t("Précautions")]
    body = []
    current = None
    for r in sorted(table.rows, key=lambda r: list(CATEGORIES).index(r["category"])
                    if r["category"] in CATEGORIES else 99):
        if r["category"] != current:
            current = r["category"]
            group = t(CATEGORIES[current]) if current in CATEGORIES else t("Définitions invalides")
            body.append(html.Tr(html.Th(group, colSpan=len(head), scope="colgroup"),
                                className="group"))
        if r["unavailable"]:
            reason = r["unavailable"] if r.get("broken") else t("Calcul impossible : {reason}").format(
                reason=r["unavailable"])
            body.append(html.Tr([html.Td(r["label"]), html.Td(t("indisponible"), colSpan=8, className="unavailable"),
                                 html.Td(html.Span(reason, dir="ltr") if r.get("broken") else reason,
                                         className="caveat")], className="unavailable", id=f"sc-{r['indicator']}"))
            continue
        body.append(html.Tr([
            html.Td(dcc.Link(r["label"], href=r["explorer"])),
            html.Td([r["value_text"] if r["value"] is not None else t("pas de donnée"),
                     *([html.Br(), html.Small(r["period_text"])] if r["period_text"] else [])], className="num"),
            html.Td(r["target_text"], className="num"),
            html.Td(ui.status_badge(t, r["status"])),
            html.Td(ui.sparkline(r["spark"], label=t("Tendance de {indicator}").format(indicator=r["label"]))),
            html.Td(html.Span(r["change_text"], className="num-iso"), className="num"),
            html.Td(html.Span(r["yoy_text"], className="num-iso"), className="num"),
            html.Td(r["rank_text"], className="num"),
            html.Td(r["peer_text"], className="num"),
            html.Td(r["caveat"], className="caveat"),
        ], id=f"sc-{r['indicator']}"))
    return html.Div(html.Table([html.Caption(table.title),
                                html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
                                html.Tbody(body)], className="grid scorecard"), className="table-scroll")


@frame.guarded(PATH, TITLE)
def layout(code: str | None = None, lang: str | None = None, **args: Any) -> html.Div:
    state = State.from_args({"lang": lang, **args})
    t = Translator(state.lang)
    ref = data.ref()
    path = f"/commune/{code}"
    if code not in ref.communes:
        return frame.page(t, state, path, title=t(TITLE), body=[ui.empty(
            t("Commune inconnue : {code}.").format(code=str(code)[:10]), kind="warn")])
    c = ref.communes[code]
    st = state.replace(territory=code, service="", channel="")
    bar = frame.filters(t, state, period_used=data.resolve_period(state.grain, state.period), dims=False)
    title = f"{t.name(c)} ({code})"
    w = c["wilaya_code"]
    crumbs = [(t("Algérie"), state.href("/", focus="")),
              (f"{w} — {ref.name(w, t.lang)}", state.href(f"/wilaya/{w}", focus="")),
              (t("Daïra de {name}").format(name=ref.name(c["daira_code"], t.lang)),
               state.href("/explorer", territory=c["daira_code"])),
              (t.name(c), None)]
    table = tables.scorecard(t, st)
    stale = data.stale_communes().get(code)
    body: list[Any] = []
    if state.service or state.channel:
        body.append(ui.note(t("La fiche montre chaque indicateur tous services et canaux confondus : les chiffres "
                              "par service ou canal s'arrêtent à la daïra.")))
    if stale is not None:
        body.append(ui.empty(t("Données anciennes : la commune n'a rien envoyé depuis {days}.").format(
            days=t.number(stale, 0, "days")), kind="warn"))
    first = next((r for r in table.rows if r["indicator"] == "population"), None)
    peer = next((r["peer_group"] for r in table.rows if r.get("peer_group")), None)
    body.append(html.Div([
        ui.kpi_tile(label=t("Population"), value=first["value_text"] if first else t.number(c["population"]),
                    status=None, t=t),
        ui.kpi_tile(label=t("Strate de population (pairs)"), value=peer or "—", status=None, t=t),
        ui.kpi_tile(label=t("Indicateurs en vert / orange / rouge"), status=None, t=t, value=" / ".join(
            t.number(sum(1 for r in table.rows if r["status"] == s)) for s in ("green", "amber", "red"))),
    ], className="tiles"))
    if not any(r["value"] is not None for r in table.rows):
        body.append(ui.empty(t("Pas de chiffres pour cette commune à cette période.")))
    else:
        body.append(ui.card(t("Tous les indicateurs"), scorecard_table(t, table), cid="card-scorecard",
                            actions=ui.export_links(t, "scorecard", st.query())))
    period = data.resolve_period(state.grain, state.period)
    return frame.page(t, state, path, title=title, bar=bar, body=body, crumbs=crumbs,
                      subtitle=t("Fiche de performance — {period}").format(period=t.period(state.grain, period)))

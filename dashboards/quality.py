"""Data quality, for stewards: how fresh each commune's feed is, the recent batches, and the rows
in quarantine by reason with sample rows. Stale communes are greyed on every map."""

from __future__ import annotations

from typing import Any

from dash import html

from . import components as ui
from . import data, frame, tables
from .i18n import Translator, t_fr
from .state import State

PATH = "/quality"
TITLE = t_fr("Qualité des données")


def _table(caption: str, head: list[str], rows: list[list[Any]], num_cols: tuple[int, ...] = ()) -> html.Div:
    return html.Div(html.Table([
        html.Caption(caption), html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
        html.Tbody([html.Tr([html.Td(c, className="num" if j in num_cols else None) for j, c in enumerate(r)])
                    for r in rows])], className="grid"), className="table-scroll")


@frame.guarded(PATH, TITLE)
def layout(lang: str | None = None, **args: Any) -> html.Div:
    state = State.from_args({"lang": lang, **args})
    t = Translator(state.lang)
    ref = data.ref()
    code = state.territory if state.territory in ref.wilayas else ""
    fresh = tables.freshness(t, state)
    stale = [r for r in fresh.rows if r["status"] == data.STALE_STATUS]
    body: list[Any] = []
    body.append(html.Div([
        ui.kpi_tile(label=t("Communes suivies"), value=t.number(len(fresh.rows)), status=None, t=t),
        ui.kpi_tile(label=t("Communes aux données anciennes"), value=t.number(len(stale)),
                    status="red" if stale else "green", t=t),
        ui.kpi_tile(label=t("Communes à jour"), status=None, t=t,
                    value=t.number(sum(1 for r in fresh.rows if r["status"] == "green"))),
    ], className="tiles"))
    cols = [{"field": "commune_code", "headerName": t("Code"), "maxWidth": 100},
            {"field": "name", "headerName": t("Commune")},
            {"field": "wilaya_name", "headerName": t("Wilaya")},
            ui.num_col("days", t("Jours depuis la dernière mise à jour"), text_field="days_text"),
            ui.status_col(t)]
    grid = ui.grid("quality-fresh", columns=cols, rows=fresh.rows, t=t, row_id="commune_code",
                   label=fresh.title) if fresh.rows else ui.empty(t("Pas encore de mesure de fraîcheur."))
    body.append(ui.card(fresh.title, [html.P(t("Une commune est grisée sur les cartes quand sa donnée la plus "
                                               "récente a plus de 7 jours (seuil rouge de l'indicateur de "
                                               "fraîcheur)."), className="hint"), grid],
                        cid="card-fresh", actions=ui.export_links(t, "freshness", state.query())))
    s = data.summary()
    if s.get("exists"):
        first, last, open_ = s["period"]
        counts = [[t(label), t.number(s["counts"][tb])] for tb, label in {**data.FACTS, **data.DIMS}.items()]
        body.append(ui.card(t("Contenu de l'entrepôt"), [
            html.P(t("Demandes déposées du {first} au {last} (heure d'Alger) ; {open} encore ouvertes.").format(
                first=t.local_time(first), last=t.local_time(last), open=t.number(open_ or 0)) if first else
                t("Aucune demande chargée.")),
            _table(t("Lignes par table"), [t("Table"), t("Lignes")], counts, num_cols=(1,))], cid="card-content"))
    b = tables.batches(t, state)
    body.append(ui.card(b.title, _table(b.title, [t("Source"), t("Fichier / table"), t("Statut"), t("Fin (Alger)"),
                                                  t("Lues"), t("Chargées"), t("Fusionnées"), t("Rejetées"),
                                                  t("Erreur")],
                                        [[r["source"], html.Span(r["location"] or "", dir="ltr"), r["status"],
                                          t.local_time(r["finished_at"]), t.number(r["rows_read"]),
                                          t.number(r["rows_loaded"]), t.number(r["rows_merged"]),
                                          t.number(r["rows_rejected"]), r["error"] or ""] for r in b.rows[:20]],
                                        num_cols=(4, 5, 6, 7)) if b.rows else ui.empty(t("Aucun lot chargé.")),
                        cid="card-batches", actions=ui.export_links(t, "batches", state.query())))
    qt = tables.quarantine(t, state)
    groups = []
    for r in qt.rows[:15]:
        samples = data.quarantine_samples(r["source"], r["reason_code"], 5)
        groups.append(html.Details([
            html.Summary([html.Strong(r["reason_code"]), f" — {r['source']} — ",
                          t("{n} ligne(s)").format(n=t.number(r["n"]))]),
            _table(t("Exemples"), [t("Fichier / table"), t("Ligne"), t("Colonne"), t("Motif"), t("Candidats"),
                                   t("Ligne brute")],
                   [[html.Span(s["location"], dir="ltr"), t.number(s["row_number"]), s["column_name"] or "",
                     html.Span(s["reason"], dir="ltr"), s["candidates"] or "",
                     html.Code(s["raw"][:200], dir="ltr")] for s in samples], num_cols=(1,)),
        ], className="quarantine-group"))
    body.append(ui.card(qt.title, groups or ui.empty(t("Aucune ligne en quarantaine.")), cid="card-quarantine",
                        actions=ui.export_links(t, "quarantine", state.query())))
    return frame.page(t, state, PATH, title=t(TITLE), body=body,
                      bar=frame.filters(t, state, territory=True, dims=False, time=False),
                      subtitle=ref.name(code or "DZ", t.lang))

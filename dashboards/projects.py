"""Investment projects: the list of late and stalled projects, a timeline of planned against
actual dates, the statuses, and the project indicators by territory."""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go
from dash import html

from . import components as ui
from . import data, frame, tables, theme
from .i18n import Translator, t_fr
from .state import State

PATH = "/projects"
TITLE = t_fr("Projets d'investissement")
CATEGORIES = ("projects",)


def timeline(t: Translator, rows: list[dict[str, Any]], today: dt.date) -> Any:
    """Planned against actual execution of the most late projects (a Gantt chart)."""
    top = [r for r in rows if r["planned_start"] and r["planned_end"]][:20]
    if not top:
        return ui.empty(t("Aucun projet en retard ou à l'arrêt ici."))
    names = [f"{r['project_id']} · {r['commune']}" for r in top]
    ms = 86_400_000

    def span(a: dt.date, b: dt.date) -> float:
        return max((b - a).days, 1) * ms

    planned = go.Bar(name=t("Prévu"), y=names, base=[r["planned_start"].isoformat() for r in top],
                     x=[span(r["planned_start"], r["planned_end"]) for r in top], orientation="h",
                     marker_color="#9fb3c8", hovertext=[r["title"] for r in top],
                     hovertemplate="%{hovertext}<br>" + t("Prévu") + "<extra></extra>")
    actual_rows = [r for r in top if r["actual_start"]]
    actual = go.Bar(name=t("Réel (ou jusqu'à aujourd'hui)"), y=[names[top.index(r)] for r in actual_rows],
                    base=[r["actual_start"].isoformat() for r in actual_rows],
                    x=[span(r["actual_start"], r["actual_end"] or today) for r in actual_rows], orientation="h",
                    marker_color=["#c62828" if r["status"] == "stalled" else "#b35900" for r in actual_rows],
                    width=0.4, hovertext=[f"{r['title']} — {r['status_text']}" for r in actual_rows],
                    hovertemplate="%{hovertext}<extra></extra>")
    fig = go.Figure([planned, actual])
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(type="date")
    fig.update_yaxes(autorange="reversed", side="right" if t.rtl else "left")
    fig.add_vline(x=today.isoformat(), line_dash="dot", line_color="#333")
    return ui.graph("projects-timeline", ui.layout_fig(fig, t, height=max(320, 26 * len(top) + 80), value_axis="x"),
                    t("Calendrier prévu et réel des projets les plus en retard"))


def status_chart(t: Translator, code: str) -> Any:
    ref = data.ref()
    rows = data.project_statuses(wilaya=code if code in ref.wilayas else None)
    if not rows:
        return ui.empty(t("Aucun projet enregistré ici."))
    labels = [t(tables.PROJECT_STATUS.get(r["status"], r["status"])) for r in rows]
    colours = {"stalled": "#c62828", "completed": "#1a7f37", "in_progress": "#5b7db1", "planned": "#9fb3c8",
               "cancelled": "#777"}
    fig = ui.ranking(names=labels, values=[r["n"] for r in rows], texts=[t.number(r["n"]) for r in rows],
                     statuses=[None] * len(rows), t=t, height=240)
    fig.update_traces(marker_color=[colours.get(r["status"], "#5b7db1") for r in rows])
    return ui.graph("projects-status", fig, t("Projets par état"))


def late_grid(t: Translator, table: Any) -> Any:
    if not table.rows:
        return ui.empty(t("Aucun projet en retard ou à l'arrêt ici."))
    for r in table.rows:
        r["delay_text"] = t.number(r["delay_days"], 0, "days")
        r["ap_text"] = t.number(r["ap_amount"], 0, "DA")
        r["consumed_text"] = t.number(r["consumed_pct"], 1, "percent")
        r["progress_text"] = t.number(r["progress_pct"], 1, "percent")
        for k in ("planned_start", "planned_end", "actual_end"):
            r[k + "_text"] = r[k].strftime("%d/%m/%Y") if r[k] else "—"
    cols = [{"field": "project_id", "headerName": t("Projet"), "maxWidth": 130},
            {"field": "title", "headerName": t("Intitulé"), "minWidth": 200, "tooltipField": "title"},
            {"field": "commune", "headerName": t("Commune")},
            {"field": "sector", "headerName": t("Secteur"), "maxWidth": 140},
            {"field": "status_text", "headerName": t("État"), "maxWidth": 120,
             "cellClassRules": {"status-red": "params.data.status_key === 'stalled'"}},
            {"field": "planned_end_text", "headerName": t("Fin prévue"), "maxWidth": 120},
            ui.num_col("delay_days", t("Retard"), text_field="delay_text", width=120),
            ui.num_col("ap_amount", t("Autorisation de programme"), text_field="ap_text"),
            ui.num_col("consumed_pct", t("Consommation"), text_field="consumed_text", width=130),
            ui.num_col("progress_pct", t("Avancement physique"), text_field="progress_text", width=130)]
    return ui.grid("projects-grid", columns=cols, rows=table.rows, t=t, row_id="project_id", label=table.title)


@frame.guarded(PATH, TITLE)
def layout(lang: str | None = None, **args: Any) -> html.Div:
    state = State.from_args({"lang": lang, **args})
    t = Translator(state.lang)
    code = theme.territory_of(state)
    late = tables.projects(t, state.replace(territory="" if code == "DZ" else code))
    kpis = tables.projects_kpi(t, state)
    when = data.as_of()
    today = when.date() if when else dt.date.today()
    body: list[Any] = [ui.note(n) for n in kpis.notes]
    body.append(theme.tiles(t, state, CATEGORIES, code))
    body.append(html.Div([
        ui.card(t("Calendrier prévu et réel"), timeline(t, late.rows, today), cid="card-timeline",
                actions=ui.export_links(t, "projects", state.query())),
        ui.card(t("Projets par état"), status_chart(t, code), cid="card-status"),
    ], className="row two"))
    body.append(ui.card(late.title, late_grid(t, late), cid="card-late",
                        actions=ui.export_links(t, "projects", state.query())))
    body.append(ui.card(kpis.title + " — " + (t("par wilaya") if code == "DZ" else t("par commune")),
                        theme.theme_grid(t, kpis, "projects-kpi-grid"), cid="card-grid",
                        actions=ui.export_links(t, "projects_kpi", state.query())))
    return frame.page(t, state, PATH, title=t(TITLE), bar=theme.bar(t, state, CATEGORIES, dims=False), body=body,
                      subtitle=data.ref().name(code, t.lang))

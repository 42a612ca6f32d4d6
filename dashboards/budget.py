"""Budget execution: the communes' budgets executed, committed, their own revenue and capital
spending, for the nation or a wilaya, by budget section, over time."""

from __future__ import annotations

from typing import Any

from dash import html

from . import components as ui
from . import data, frame, indicators, tables, theme
from .i18n import Translator, t_fr
from .state import State, level_of

PATH = "/budget"
TITLE = t_fr("Exécution du budget")
CATEGORIES = ("budget",)


def section_chart(t: Translator, state: State, code: str) -> Any:
    """Execution and commitment by budget section (operating / capital)."""
    level = level_of(code)
    names, execu, commit = [], [], []
    for ind, target in (("budget_execution", execu), ("commitment_rate", commit)):
        cx = tables.context(t, state.replace(indicator=ind), level=level, categories=CATEGORIES)
        if cx.period is None:
            continue
        for r in data.members(ind, level=level, territory=code, grain=cx.grain, period=cx.period, split="section"):
            if r["member"] not in names:
                names.append(r["member"])
            target.append(r["value"])
    if not names or not execu:
        return ui.empty(t("Pas de ventilation par section pour cette période."))
    import plotly.graph_objects as go

    labels = [{"fonctionnement": t("Fonctionnement"), "equipement": t("Équipement")}.get(n, n) for n in names]
    fig = go.Figure([go.Bar(name=indicators.label(t, "budget_execution"), x=labels, y=execu),
                     go.Bar(name=indicators.label(t, "commitment_rate"), x=labels, y=commit)])
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="%")
    return ui.graph("budget-sections", ui.layout_fig(fig, t, height=300), t("Exécution par section"))


@frame.guarded(PATH, TITLE)
def layout(lang: str | None = None, **args: Any) -> html.Div:
    state = State.from_args({"lang": lang, **args})
    t = Translator(state.lang)
    code = theme.territory_of(state)
    ref = data.ref()
    table = tables.budget(t, state)
    body: list[Any] = [ui.note(n) for n in table.notes]
    body.append(theme.tiles(t, state, CATEGORIES, code))
    body.append(html.Div([
        ui.card(t("Exécution par section budgétaire"), section_chart(t, state, code), cid="card-sections"),
        theme.trend_card(t, state, "budget_execution", code, CATEGORIES),
    ], className="row half"))
    body.append(ui.card(table.title + " — " + (t("par wilaya") if code == "DZ" else t("par commune")),
                        theme.theme_grid(t, table, "budget-grid"), cid="card-grid",
                        actions=ui.export_links(t, "budget", state.query())))
    return frame.page(t, state, PATH, title=t(TITLE), bar=theme.bar(t, state, CATEGORIES, dims=False), body=body,
                      subtitle=ref.name(code, t.lang))

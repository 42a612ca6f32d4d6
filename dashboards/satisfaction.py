"""Satisfaction: what users say of the services (surveys), complaints, and digital take-up, for
the nation or a wilaya, by channel, over time."""

from __future__ import annotations

from typing import Any

from dash import html

from . import components as ui
from . import data, frame, indicators, tables, theme
from .i18n import Translator, t_fr
from .state import State, level_of

PATH = "/satisfaction"
TITLE = t_fr("Satisfaction des usagers")
CATEGORIES = ("satisfaction", "digital")


def channel_chart(t: Translator, state: State, code: str) -> Any:
    level = level_of(code)
    cx = tables.context(t, state.replace(indicator="satisfaction_avg", channel="", service=""), level=level,
                        categories=CATEGORIES)
    if cx.period is None:
        return ui.empty(t("Pas de chiffres pour cette période."))
    rows = [r for r in data.members("satisfaction_avg", level=level, territory=code, grain=cx.grain,
                                    period=cx.period, split="channel") if r["value"] is not None]
    if not rows:
        return ui.empty(t("Pas de réponses d'enquête ventilées par canal pour cette période."))
    ch = data.ref().channels
    fig = ui.ranking(names=[t.name(ch.get(r["member"]), r["member"]) for r in rows], values=[r["value"] for r in rows],
                     texts=[cx.fmt(r["value"]) for r in rows], statuses=[r["status"] for r in rows], t=t,
                     height=260)
    return ui.graph("satisfaction-channels", fig, t("Satisfaction par canal"))


@frame.guarded(PATH, TITLE)
def layout(lang: str | None = None, **args: Any) -> html.Div:
    state = State.from_args({"lang": lang, **args})
    t = Translator(state.lang)
    code = theme.territory_of(state)
    table = tables.satisfaction(t, state)
    body: list[Any] = [ui.note(n) for n in table.notes]
    body.append(theme.tiles(t, state, CATEGORIES, code))
    body.append(html.Div([
        ui.card(t("Satisfaction moyenne par canal"), channel_chart(t, state, code), cid="card-channels"),
        theme.trend_card(t, state, "satisfaction_avg", code, CATEGORIES),
    ], className="row half"))
    body.append(ui.card(table.title + " — " + (t("par wilaya") if code == "DZ" else t("par commune")),
                        theme.theme_grid(t, table, "satisfaction-grid"), cid="card-grid",
                        actions=ui.export_links(t, "satisfaction", state.query())))
    return frame.page(t, state, PATH, title=t(TITLE), bar=theme.bar(t, state, CATEGORIES), body=body,
                      subtitle=data.ref().name(code, t.lang))

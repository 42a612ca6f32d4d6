"""What the Budget, Projects and Satisfaction pages share: the theme's indicators for the chosen
territory (the nation or a wilaya), its trend, and a grid of the territories below."""

from __future__ import annotations

from typing import Any

from dash import html

from . import components as ui
from . import data, frame, indicators, tables
from .exports import Table
from .i18n import Translator
from .state import State, level_of


def territory_of(state: State) -> str:
    ref = data.ref()
    return state.territory if state.territory in ref.wilayas else "DZ"


def tiles(t: Translator, state: State, categories: tuple[str, ...], code: str) -> html.Div:
    level = level_of(code)
    out = []
    for ind in indicators.ids(categories):
        cx = tables.context(t, state.replace(indicator=ind), level=level, categories=categories)
        if cx.period is None:
            continue
        r = data.values(ind, level=level, grain=cx.grain, period=cx.period, split=cx.split,
                        member=cx.member).get(code)
        row = tables._figure_row(cx, code, r)
        out.append(ui.kpi_tile(label=f"{cx.label()} — {t.period(cx.grain, cx.period)}", value=row["value_text"],
                               status=row["status"], t=t,
                               sub=t("cible {target}").format(target=row["target_text"]) if row["target"] is not None
                               else ""))
    return html.Div(out, className="tiles")


def theme_grid(t: Translator, table: Table, gid: str) -> Any:
    if not table.rows:
        return ui.empty(t("Aucun territoire."))
    cols: list[dict[str, Any]] = [ui.link_col("name", table.columns[1].label, "href")]
    for c in table.columns[2:]:
        col = ui.num_col(c.key, c.label, text_field=c.key + "_text")
        col["cellClassRules"] = {f"status-{s}": f"params.data[{c.key + '_status'!r}] === {s!r}"
                                 for s in ("green", "amber", "red")}
        col["headerTooltip"] = c.label
        col["wrapHeaderText"] = True
        col["autoHeaderHeight"] = True
        cols.append(col)
    for r in table.rows:
        r.setdefault("name", r["code"])
    return ui.grid(gid, columns=cols, rows=table.rows, t=t, row_id="code", label=table.title)


def trend_card(t: Translator, state: State, ind: str, code: str, categories: tuple[str, ...]) -> Any:
    cx = tables.context(t, state.replace(indicator=ind), level=level_of(code), categories=categories)
    tr = tables.trend(t, state.replace(indicator=ind, territory=code))
    if not tr.rows:
        return ui.card(t("Tendance"), ui.empty(t("Pas encore de série pour cet indicateur ici.")))
    xs = [r["period"] for r in tr.rows]
    fig = ui.trend([{"name": data.ref().name(code, t.lang), "x": xs, "y": [r["value"] for r in tr.rows]},
                    {"name": t("Même période l'an dernier"), "x": xs, "y": [r["yoy"] for r in tr.rows],
                     "dash": "dash"}],
                   t=t, unit_label=indicators.unit_label(t, cx.unit), grain=cx.grain,
                   target=[r["target"] for r in tr.rows], periods=xs)
    return ui.card(tr.title, ui.graph(f"trend-{ind}", fig, tr.title), cid=f"card-trend-{ind}",
                   actions=ui.export_links(t, "trend", state.query(indicator=ind, territory=code if code != "DZ" else "")))


def bar(t: Translator, state: State, categories: tuple[str, ...], dims: bool = True) -> html.Div:
    ids = indicators.ids(categories)
    cx = tables.context(t, state.replace(indicator=ids[0] if ids else ""), level="wilaya", categories=categories)
    return frame.filters(t, state, territory=True, period_used=cx.period, dims=dims)

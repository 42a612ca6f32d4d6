"""Catalogue: every indicator's definition, formula, owner, caveats, targets and thresholds, and
the SQL the engine generates for it (compiled on request, never pasted from the YAML)."""

from __future__ import annotations

from typing import Any

from dash import html

from . import components as ui
from . import frame, indicators, tables
from .i18n import Translator, t_fr
from .state import State

PATH = "/catalogue"
TITLE = t_fr("Catalogue des indicateurs")
KINDS = {"count": t_fr("comptage"), "sum": t_fr("somme"), "average": t_fr("moyenne"), "ratio": t_fr("ratio"),
         "percentile": t_fr("percentile"), "stock": t_fr("stock en fin de période"), "derived": t_fr("dérivé")}
DIRECTIONS = {"higher": t_fr("plus haut = mieux"), "lower": t_fr("plus bas = mieux"), "neutral": t_fr("neutre")}


def formula(ind: Any) -> str:
    """The definition in the catalogue's own terms (what a steward wrote)."""
    if ind.kind == "derived":
        return ind.formula or ""
    if ind.kind == "ratio":
        def part(p: Any) -> str:
            body = "count(*)" if p.aggregate == "count" else f"sum({p.expr})"
            return body + (f" FILTER ({p.filter})" if p.filter else "")
        return f"{part(ind.numerator)} / {part(ind.denominator)}"
    if ind.kind == "percentile":
        return f"percentile({ind.expr}, {ind.p})"
    if ind.kind == "stock":
        return f"{ind.aggregate or 'count'}({ind.expr or '*'}) — {ind.stock.model_dump_json() if ind.stock else ''}"
    return f"{ind.kind}({ind.expr or '*'})"


def sql_of(ind_id: str) -> str:
    """The SQL the engine runs for an indicator (``python -m kpi explain ID``)."""
    from kpi.compiler import Compiler, needs_scan

    cat, _ = indicators.load()
    if cat is None or ind_id not in cat.indicators:
        return ""
    c = cat.indicators[ind_id]
    if c.ind.kind == "derived":
        return f"-- derived: {c.ind.formula}\n-- computed from the materialised figures of: {', '.join(c.inputs)}"
    comp = Compiler(cat)
    grains = [g for g in cat.grains(c) if needs_scan(cat, c, g)] or list(cat.grains(c))[:1]
    return "\n\n".join(comp.compile(c, g).explain() for g in grains)


def entry(t: Translator, state: State, i: str, c: Any) -> html.Article:
    ind = c.ind
    tgt = ind.target
    targets = []
    if tgt is not None:
        if tgt.value is not None:
            targets.append(t("national : {value}").format(value=t.number(tgt.value, ind.display.decimals, ind.unit)))
        if tgt.wilayas:
            targets.append(t("{n} wilaya(s) avec leur propre cible").format(n=len(tgt.wilayas)))
        for step in tgt.trajectory:
            targets.append(t("à partir de {since} : {value}").format(
                since=step.from_, value=t.number(step.value, ind.display.decimals, ind.unit)))
    th = ind.thresholds
    thresholds = (t("vert à partir de {green}, orange à partir de {amber} ({basis})").format(
        green=th.green, amber=th.amber, basis=t("valeurs absolues") if th.basis == "absolute" else
        t("multiples de la cible")) if th else t("aucun"))
    rows = [(t("Définition"), getattr(ind.description, t.lang)),
            (t("Type"), t(KINDS.get(ind.kind, ind.kind))),
            (t("Formule"), html.Code(formula(ind), dir="ltr")),
            (t("Source"), ind.source or "—"),
            (t("Unité"), indicators.unit_label(t, ind.unit)),
            (t("Sens"), t(DIRECTIONS.get(ind.direction, ind.direction))),
            (t("Cibles"), " ; ".join(targets) or t("aucune")),
            (t("Seuils"), thresholds),
            (t("Ventilations"), ", ".join(t(tables.SPLIT_NAMES.get(d, d)) for d in ind.dimensions) or "—"),
            (t("Responsable"), ind.owner),
            (t("Précautions"), getattr(ind.caveats, t.lang) if ind.caveats else "—")]
    return html.Article([
        html.H2([getattr(ind.label, t.lang), " ", html.Code(i, className="ind-id", dir="ltr")]),
        html.Dl([x for k, v in rows for x in (html.Dt(k), html.Dd(v))], className="defs"),
        html.Button(t("Voir le SQL généré"), id={"type": "sql-button", "ind": i}, n_clicks=0, className="btn"),
        html.Div(id={"type": "sql-box", "ind": i}),
        html.A(t("Explorer cet indicateur"), href=state.href("/explorer", indicator=i), className="explore"),
    ], className="card entry", id=f"cat-{i}")


@frame.guarded(PATH, TITLE)
def layout(lang: str | None = None, **args: Any) -> html.Div:
    state = State.from_args({"lang": lang, **args})
    t = Translator(state.lang)
    cat, issues = indicators.load()
    if cat is None:
        return frame.page(t, state, PATH, title=t(TITLE), body=[
            ui.empty(t("Le catalogue des indicateurs ne peut pas être lu :"), kind="warn"),
            html.Ul([html.Li(str(i), dir="ltr") for i in issues])])
    body: list[Any] = [html.Div(ui.export_links(t, "catalogue", state.query()), className="card-head")]
    for b in cat.broken.values():
        label = (b.label or {}).get(t.lang) or b.id
        body.append(html.Div([html.H2(label), html.P([t("Définition invalide :"), " ",
                                                     html.Span(b.reason, dir="ltr")])],
                             className="card entry unavailable", id=f"cat-{b.id}"))
    body.append(html.Div([entry(t, state, i, c) for i, c in cat.indicators.items()], className="entries"))
    return frame.page(t, state, PATH, title=t(TITLE), body=body,
                      subtitle=t("{n} indicateurs définis dans indicators.yaml").format(n=len(cat.indicators)))

"""What the pages show, as tables built from the URL state: one function per grid or chart.

Each builder is registered as an export dataset, so the CSV/Excel download of a grid or chart is
built by the same code from the same state as what is on screen. Builders read through
dashboards/data.py (the materialised figures) and return ``exports.Table``; the pages turn them
into grids and figures with dashboards/components.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from . import data, indicators
from .exports import Column, Table, dataset
from .i18n import Translator, t_fr
from .state import State, level_of

DEFAULT_INDICATOR = "on_time_rate"
LEVEL_NAMES = {"nation": t_fr("national"), "wilaya": t_fr("wilaya"), "daira": t_fr("daïra"),
               "commune": t_fr("commune")}
SPLIT_NAMES = {"service": t_fr("Service"), "channel": t_fr("Canal"), "service_category": t_fr("Catégorie de service"),
               "sector": t_fr("Secteur"), "programme": t_fr("Programme"), "section": t_fr("Section budgétaire")}


@dataclasses.dataclass
class Ctx:
    """The state of a view made concrete: indicator checked, period resolved, split chosen."""

    t: Translator
    state: State
    indicator: str
    unit: str
    decimals: int
    direction: str
    grain: str
    period: dt.date | None
    split: str
    member: str
    notes: list[str]

    def fmt(self, v: float | None) -> str:
        return self.t.number(v, self.decimals, self.unit)

    def label(self) -> str:
        return indicators.label(self.t, self.indicator)


def context(t: Translator, state: State, *, level: str, default: str = DEFAULT_INDICATOR,
            categories: tuple[str, ...] | None = None) -> Ctx:
    ids = indicators.ids(categories)
    ind = state.indicator if state.indicator in ids else (default if default in ids else (ids[0] if ids else ""))
    c = indicators.get(ind)
    split, member, notes = indicators.split_for(t, ind, service=state.service, channel=state.channel, level=level)
    grain = state.grain
    grains = indicators.grains(ind)
    if grains and grain not in grains:
        notes.append(t("Cet indicateur n'existe pas au pas choisi : affiché par {grain}.").format(
            grain=grain_name(t, grains[0])))
        grain = grains[0]
    period = data.resolve_period(grain, state.period if grain == state.grain else None)
    if state.period is not None and period != state.period and grain == state.grain:
        notes.append(t("Pas de chiffres pour la période demandée : dernière période disponible affichée."))
    return Ctx(t=t, state=state, indicator=ind, unit=c.ind.unit if c else "count",
               decimals=c.ind.display.decimals if c else 0, direction=c.ind.direction if c else "neutral",
               grain=grain, period=period, split=split, member=member, notes=notes)


def grain_name(t: Translator, grain: str) -> str:
    return {"month": t("mois"), "quarter": t("trimestre"), "year": t("année")}[grain]


def filters_applied(cx: Ctx, territory: str | None = None) -> list[tuple[str, str]]:
    t = cx.t
    ref = data.ref()
    out = [(t("Indicateur"), cx.label()), (t("Période"), t.period(cx.grain, cx.period)),
           (t("Pas de temps"), grain_name(t, cx.grain))]
    if territory:
        out.append((t("Territoire"), ref.name(territory, t.lang)))
    if cx.split == "service":
        out.append((t("Service"), t.name(ref.services.get(cx.member), cx.member)))
    if cx.split == "channel":
        out.append((t("Canal"), t.name(ref.channels.get(cx.member), cx.member)))
    return out


def _better(cx: Ctx, v: float | None, before: float | None) -> float | None:
    """How much better than before (positive: improved), in the indicator's unit."""
    if v is None or before is None or cx.direction == "neutral":
        return None
    return (v - before) if cx.direction == "higher" else (before - v)


def _figure_row(cx: Ctx, code: str, r: dict[str, Any] | None) -> dict[str, Any]:
    t = cx.t
    r = r or {}
    v, prev, yoy = r.get("value"), r.get("prev_value"), r.get("yoy_value")
    change = None if v is None or prev is None else v - prev
    return {
        "code": code, "value": v, "value_text": cx.fmt(v), "target": r.get("target"),
        "target_text": cx.fmt(r.get("target")), "status": r.get("status"),
        "status_text": {"green": t("vert"), "amber": t("orange"), "red": t("rouge")}.get(r.get("status") or "", ""),
        "prev": prev, "prev_text": cx.fmt(prev), "change": change, "change_text": "—" if change is None else
        (("+" if change > 0 else "") + t.number(change, cx.decimals)),
        "yoy": yoy, "yoy_change": None if v is None or yoy is None else v - yoy,
        "rank": r.get("rank_parent"), "ranked": r.get("count_parent"),
        "rank_peer": r.get("rank_peer"), "peer_group": r.get("peer_group"), "count_peer": r.get("count_peer"), "n": r.get("n"),
        "better": _better(cx, v, prev),
    }


def _value_cols(cx: Ctx) -> list[Column]:
    t = cx.t
    u = t.number(0, 0, cx.unit)[1:].strip() if cx.unit not in ("count", "projects") else ""
    return [Column("value", t("Valeur"), "number", u, cx.decimals),
            Column("target", t("Cible"), "number", u, cx.decimals),
            Column("status", t("Statut"), "status"),
            Column("prev", t("Période précédente"), "number", u, cx.decimals),
            Column("change", t("Évolution"), "number", u, cx.decimals),
            Column("yoy", t("Même période l'an dernier"), "number", u, cx.decimals)]


# --- national overview ---------------------------------------------------------------------

@dataset("ranking")
def ranking(t: Translator, state: State) -> Table:
    """The wilayas ranked on the indicator (best first; stale data flagged)."""
    cx = context(t, state, level="wilaya")
    ref = data.ref()
    rows: list[dict[str, Any]] = []
    if cx.period is not None:
        vals = data.values(cx.indicator, level="wilaya", grain=cx.grain, period=cx.period,
                           split=cx.split, member=cx.member)
        for code, w in ref.wilayas.items():
            row = _figure_row(cx, code, vals.get(code))
            row["name"] = t.name(w)
            rows.append(row)
    rev = cx.direction != "lower"
    rows.sort(key=lambda r: (r["value"] is None, -(r["value"] or 0) if rev else (r["value"] or 0), r["code"]))
    for i, r in enumerate(rows, start=1):
        r["position"] = i if r["value"] is not None else None
    return Table("ranking", t("Classement des wilayas : {indicator}").format(indicator=cx.label()),
                 [Column("position", t("Rang"), "number"), Column("code", t("Code")),
                  Column("name", t("Wilaya")), *_value_cols(cx)],
                 rows, filters_applied(cx), cx.notes)


@dataset("trend")
def trend(t: Translator, state: State) -> Table:
    """The indicator over time for a territory (the nation by default), with the comparison."""
    code = state.territory or "DZ"
    level = level_of(code)
    cx = context(t, state, level=level)
    rows = []
    if data.ref().known(code):
        for r in data.series(cx.indicator, level=level, territory=code, grain=cx.grain, split=cx.split,
                             member=cx.member):
            rows.append({"period": r["period"], "period_text": t.period(cx.grain, r["period"]),
                         "value": r["value"], "target": r["target"], "prev": r["prev_value"],
                         "yoy": r["yoy_value"], "ytd": r["ytd_value"], "status": r["status"]})
    u = t.number(0, 0, cx.unit)[1:].strip() if cx.unit not in ("count", "projects") else ""
    return Table("trend", t("Évolution : {indicator} — {territory}").format(
        indicator=cx.label(), territory=data.ref().name(code, t.lang)),
        [Column("period_text", t("Période")), Column("value", t("Valeur"), "number", u, cx.decimals),
         Column("target", t("Cible"), "number", u, cx.decimals),
         Column("yoy", t("Même période l'an dernier"), "number", u, cx.decimals),
         Column("ytd", t("Cumul depuis janvier"), "number", u, cx.decimals),
         Column("status", t("Statut"), "status")],
        rows, filters_applied(cx, code), cx.notes)


# --- wilaya page -----------------------------------------------------------------------------

@dataset("communes")
def communes(t: Translator, state: State) -> Table:
    """The communes of a wilaya (``t=16``) on the indicator, grouped by daïra."""
    ref = data.ref()
    wilaya = state.territory if state.territory in ref.wilayas else ""
    cx = context(t, state, level="commune")
    rows = []
    if wilaya and cx.period is not None:
        vals = data.values(cx.indicator, level="commune", grain=cx.grain, period=cx.period, wilaya=wilaya)
        stale = data.stale_communes()
        for code, c in sorted(ref.communes.items()):
            if c["wilaya_code"] != wilaya:
                continue
            row = _figure_row(cx, code, vals.get(code))
            row.update(name=t.name(c), daira=t.name(ref.dairas.get(c["daira_code"])), daira_code=c["daira_code"],
                       population=c["population"], href=state.href(f"/commune/{code}", territory="", focus=""),
                       stale=t("oui") if code in stale else "")
            rows.append(row)
    return Table("communes", t("Communes de la wilaya : {indicator}").format(indicator=cx.label()),
                 [Column("daira", t("Daïra")), Column("code", t("Code")), Column("name", t("Commune")),
                  *_value_cols(cx), Column("rank", t("Rang dans la wilaya"), "number"),
                  Column("population", t("Population"), "number"), Column("stale", t("Données anciennes"))],
                 rows, filters_applied(cx, wilaya or None), cx.notes)


@dataset("dairas")
def dairas(t: Translator, state: State) -> Table:
    ref = data.ref()
    wilaya = state.territory if state.territory in ref.wilayas else ""
    cx = context(t, state, level="daira")
    rows = []
    if wilaya and cx.period is not None:
        vals = data.values(cx.indicator, level="daira", grain=cx.grain, period=cx.period, split=cx.split,
                           member=cx.member, wilaya=wilaya)
        for code, d in sorted(ref.dairas.items()):
            if d["wilaya_code"] == wilaya:
                row = _figure_row(cx, code, vals.get(code))
                row["name"] = t.name(d)
                row["communes"] = sum(1 for c in ref.communes.values() if c["daira_code"] == code)
                rows.append(row)
    return Table("dairas", t("Daïras de la wilaya : {indicator}").format(indicator=cx.label()),
                 [Column("code", t("Code")), Column("name", t("Daïra")), Column("communes", t("Communes"), "number"),
                  *_value_cols(cx), Column("rank", t("Rang dans la wilaya"), "number")],
                 rows, filters_applied(cx, wilaya or None), cx.notes)


@dataset("movers")
def movers(t: Translator, state: State) -> Table:
    """The communes of the wilaya that worsened most since the previous period."""
    table = communes(t, state)
    worse = [r for r in table.rows if r.get("better") is not None and r["better"] < 0]
    worse.sort(key=lambda r: r["better"])
    cx = context(t, state, level="commune")
    return Table("movers", t("Plus fortes dégradations depuis la période précédente : {indicator}").format(
        indicator=cx.label()),
        [Column("daira", t("Daïra")), Column("name", t("Commune")), *_value_cols(cx)[:1],
         Column("prev", t("Période précédente"), "number", "", cx.decimals),
         Column("change", t("Évolution"), "number", "", cx.decimals), Column("status", t("Statut"), "status")],
        worse[:10], table.filters, table.notes)


# --- commune (or any territory) scorecard ------------------------------------------------------

@dataset("scorecard")
def scorecard(t: Translator, state: State) -> Table:
    """Every indicator of one territory: value, target, status, changes, ranks, caveats."""
    ref = data.ref()
    code = state.territory if ref.known(state.territory) else ""
    level = level_of(code)
    rows = []
    cat, _ = indicators.load()
    period = data.resolve_period(state.grain, state.period)
    if code and cat is not None and period is not None:
        since = dt.date(period.year - 2, 1, 1)
        by_grain: dict[str, dict[str, list[dict[str, Any]]]] = {}

        def figures(grain: str) -> dict[str, list[dict[str, Any]]]:
            if grain not in by_grain:
                by_grain[grain] = {}
                for r in data.territory_figures(level=level, territory=code, grain=grain, since=since):
                    by_grain[grain].setdefault(r["indicator"], []).append(r)
            return by_grain[grain]

        unavailable = data.unavailable()
        for ind, c in cat.indicators.items():
            grains = indicators.grains(ind)
            grain = state.grain if state.grain in grains or not grains else grains[0]
            cx = context(t, state.replace(indicator=ind, service="", channel="", grain=grain,
                                          period=None), level=level)
            # the latest figure of the indicator's own grain up to the chosen period (budgets
            # have quarters, not months)
            series = [r for r in figures(grain).get(ind, []) if r["period"] <= period]
            cur = series[-1] if series else None
            if cur is not None and grain == state.grain and cur["period"] != period:
                cur = None
            row = _figure_row(cx, code, cur)
            yoy = row["yoy_change"]
            row.update(
                indicator=ind, label=cx.label(), category=c.ind.category, unit=c.ind.unit,
                period_text=t.period(grain, cur["period"]) if cur is not None and (
                    grain != state.grain) else "",
                yoy_text="—" if yoy is None else ("+" if yoy > 0 else "") + t.number(yoy, cx.decimals),
                spark=[r["value"] for r in series][-13:],
                caveat=getattr(c.ind.caveats, t.lang) if c.ind.caveats else "",
                rank_text=(f"{row['rank']} / {row['ranked']}" if row.get("rank") else "—"),
                peer_text=(f"{row['rank_peer']} / {row['count_peer']}" if row.get("rank_peer") else "—"),
                unavailable=unavailable.get(ind, ""),
                explorer=state.href("/explorer", indicator=ind, territory=code, focus="",
                                    grain=grain, period=cur["period"] if cur is not None and grain != state.grain
                                    else state.period))
            rows.append(row)
        for b in cat.broken.values():   # broken definitions: listed, with the located reason
            rows.append({"indicator": b.id, "label": (b.label or {}).get(t.lang) or b.id, "category": "",
                         "value": None, "status": None, "unit": "", "caveat": "", "spark": [],
                         "unavailable": t("Définition invalide :") + " " + b.reason, "broken": True})
    return Table("scorecard", t("Fiche de performance : {territory}").format(territory=ref.name(code, t.lang)),
                 [Column("label", t("Indicateur")), Column("value", t("Valeur"), "number", "", 2),
                  Column("unit", t("Unité")), Column("target", t("Cible"), "number", "", 2),
                  Column("status", t("Statut"), "status"), Column("change", t("Évolution"), "number", "", 2),
                  Column("yoy_change", t("Évolution sur un an"), "number", "", 2),
                  Column("rank_text", t("Rang dans la wilaya")), Column("peer_text", t("Rang dans sa strate")),
                  Column("caveat", t("Précautions"))],
                 rows, [(t("Territoire"), ref.name(code, t.lang)), (t("Période"), t.period(state.grain, period)),
                        (t("Pas de temps"), grain_name(t, state.grain))])


# --- explorer ----------------------------------------------------------------------------------

def children_of(code: str) -> tuple[str, list[str]]:
    """The level below a territory and the codes there."""
    ref = data.ref()
    level = level_of(code)
    if level == "nation":
        return "wilaya", sorted(ref.wilayas)
    if level == "wilaya":
        return "daira", sorted(k for k, d in ref.dairas.items() if d["wilaya_code"] == code)
    if level == "daira":
        return "commune", sorted(k for k, c in ref.communes.items() if c["daira_code"] == code)
    return "", []


@dataset("children")
def children(t: Translator, state: State) -> Table:
    """The territories one level below the explored one, on the indicator."""
    ref = data.ref()
    code = state.territory if ref.known(state.territory) else "DZ"
    level, codes = children_of(code)
    cx = context(t, state, level=level or "commune")
    rows = []
    if level and cx.period is not None:
        wilaya = ref.wilaya_of(code) if level != "wilaya" else None
        vals = data.values(cx.indicator, level=level, grain=cx.grain, period=cx.period, split=cx.split,
                           member=cx.member, wilaya=wilaya)
        for k in codes:
            row = _figure_row(cx, k, vals.get(k))
            row["name"] = ref.name(k, t.lang)
            row["href"] = state.href("/explorer", territory=k, focus="")
            rows.append(row)
    return Table("children", t("{indicator} par {level}").format(indicator=cx.label(),
                                                                 level=t(LEVEL_NAMES.get(level, "commune"))),
                 [Column("code", t("Code")), Column("name", t("Territoire")), *_value_cols(cx),
                  Column("rank", t("Rang"), "number")],
                 rows, filters_applied(cx, code), cx.notes)


@dataset("split")
def split(t: Translator, state: State) -> Table:
    """The indicator split by a dimension (service, channel…) for the explored territory."""
    ref = data.ref()
    code = state.territory if ref.known(state.territory) else "DZ"
    level = level_of(code)
    cx = context(t, state.replace(service="", channel=""), level=level)
    c = indicators.get(cx.indicator)
    dims = list(c.ind.dimensions) if c is not None else []
    by = state.by if state.by in dims else (dims[0] if dims else "")
    rows: list[dict[str, Any]] = []
    notes = list(cx.notes)
    if not by:
        notes.append(t("Cet indicateur ne se ventile par aucune dimension."))
    elif level not in indicators.SPLIT_LEVELS:
        notes.append(t("Les ventilations s'arrêtent à la daïra : choisissez la daïra ou la wilaya."))
    elif cx.period is not None:
        names = {"service": ref.services, "channel": ref.channels}.get(by, {})
        for r in data.members(cx.indicator, level=level, territory=code, grain=cx.grain, period=cx.period, split=by):
            row = _figure_row(cx, r["member"], r)
            row["name"] = t.name(names.get(r["member"]), r["member"]) if names else r["member"]
            rows.append(row)
        rows.sort(key=lambda r: (r["value"] is None, -(r["value"] or 0)))
    return Table("split", t("{indicator} par {dimension}").format(
        indicator=cx.label(), dimension=t(SPLIT_NAMES.get(by, "Service")).lower()),
        [Column("code", t("Code")), Column("name", t(SPLIT_NAMES.get(by, "Service"))), *_value_cols(cx),
         Column("n", t("Lignes"), "number")],
        rows, filters_applied(cx, code), notes)


# --- thematic pages ------------------------------------------------------------------------------

def theme_table(name: str, categories: tuple[str, ...], title: str, t: Translator, state: State) -> Table:
    """Every indicator of a theme for the territories below the chosen one (wilayas, or the
    communes of a wilaya)."""
    ref = data.ref()
    code = state.territory if state.territory in ref.wilayas else "DZ"
    level = "wilaya" if code == "DZ" else "commune"
    codes = sorted(ref.wilayas) if code == "DZ" else sorted(k for k, c in ref.communes.items()
                                                            if c["wilaya_code"] == code)
    ids = indicators.ids(categories)
    rows = {k: {"code": k, "name": ref.name(k, t.lang),
                "href": state.href(f"/wilaya/{k}" if level == "wilaya" else f"/commune/{k}", territory="")}
            for k in codes}
    cols = [Column("code", t("Code")), Column("name", t("Wilaya") if level == "wilaya" else t("Commune"))]
    notes: list[str] = []
    period_shown = None
    for ind in ids:
        cx = context(t, state.replace(indicator=ind), level=level, categories=categories)
        for n in cx.notes:
            if n not in notes:
                notes.append(n)
        if cx.period is None:
            continue
        period_shown = period_shown or (cx.grain, cx.period)
        vals = data.values(ind, level=level, grain=cx.grain, period=cx.period, split=cx.split, member=cx.member,
                           wilaya=None if code == "DZ" else code)
        u = t.number(0, 0, cx.unit)[1:].strip() if cx.unit not in ("count", "projects") else ""
        cols.append(Column(ind, cx.label(), "number", u, cx.decimals))
        for k in codes:
            r = vals.get(k) or {}
            rows[k][ind] = r.get("value")
            rows[k][ind + "_text"] = cx.fmt(r.get("value"))
            rows[k][ind + "_status"] = r.get("status")
    filt = [(t("Territoire"), ref.name(code, t.lang))]
    if period_shown:
        filt.append((t("Période"), t.period(*period_shown)))
    return Table(name, title, cols, list(rows.values()), filt, notes)


@dataset("budget")
def budget(t: Translator, state: State) -> Table:
    return theme_table("budget", ("budget",), t("Exécution du budget communal"), t, state)


@dataset("satisfaction")
def satisfaction(t: Translator, state: State) -> Table:
    return theme_table("satisfaction", ("satisfaction", "digital"), t("Satisfaction des usagers"), t, state)


@dataset("projects_kpi")
def projects_kpi(t: Translator, state: State) -> Table:
    return theme_table("projects_kpi", ("projects",), t("Projets d'investissement : indicateurs"), t, state)


PROJECT_STATUS = {"completed": t_fr("achevé"), "cancelled": t_fr("annulé"), "planned": t_fr("programmé"),
                  "in_progress": t_fr("en cours"), "stalled": t_fr("à l'arrêt")}


@dataset("projects")
def projects(t: Translator, state: State) -> Table:
    """Late and stalled projects of the chosen territory (most late first)."""
    ref = data.ref()
    code = state.territory if ref.known(state.territory) else "DZ"
    level = level_of(code)
    rows = data.projects(wilaya=ref.wilaya_of(code) if level == "wilaya" else None,
                         commune=code if level == "commune" else None, late_only=True, limit=300) \
        if level in ("nation", "wilaya", "commune") else []
    for r in rows:
        r["commune"] = ref.name(r["commune_code"], t.lang)
        r["wilaya"] = ref.name(r["wilaya_code"], t.lang)
        r["status_text"] = t(PROJECT_STATUS.get(r["status"], r["status"]))
        r["status_key"] = r["status"]
        r["progress_pct"] = r["physical_progress"]          # already a percentage (0–100)
        r["consumed_pct"] = (None if not r["ap_amount"] or r["consumed_amount"] is None
                             else 100 * r["consumed_amount"] / r["ap_amount"])
    return Table("projects", t("Projets en retard ou à l'arrêt"),
                 [Column("project_id", t("Projet")), Column("title", t("Intitulé")), Column("wilaya", t("Wilaya")),
                  Column("commune", t("Commune")), Column("sector", t("Secteur")), Column("programme", t("Programme")),
                  Column("status_text", t("État")), Column("planned_start", t("Début prévu"), "date"),
                  Column("planned_end", t("Fin prévue"), "date"), Column("actual_end", t("Fin réelle"), "date"),
                  Column("delay_days", t("Retard"), "number", t("jours")),
                  Column("ap_amount", t("Autorisation de programme"), "number", "DA"),
                  Column("consumed_pct", t("Consommation"), "number", "%", 1),
                  Column("progress_pct", t("Avancement physique"), "number", "%", 1)],
                 rows, [(t("Territoire"), ref.name(code, t.lang))],
                 [t("Les 300 projets les plus en retard.")] if len(rows) >= 300 else [])


# --- data quality and catalogue ---------------------------------------------------------------------

@dataset("freshness")
def freshness(t: Translator, state: State) -> Table:
    ref = data.ref()
    wilaya = state.territory if state.territory in ref.wilayas else None
    rows = data.freshness(wilaya) if data.available() else []
    for r in rows:
        c = ref.communes.get(r["commune_code"], {})
        r["name"] = t.name(c, r["commune_code"])
        r["wilaya_name"] = ref.name(r["wilaya"], t.lang) if r["wilaya"] else ""
        r["status_text"] = {"green": t("vert"), "amber": t("orange"), "red": t("rouge")}.get(r["status"] or "", "")
        r["days_text"] = t.number(r["days"], 1, "days")
    return Table("freshness", t("Fraîcheur des données de chaque commune"),
                 [Column("commune_code", t("Code")), Column("name", t("Commune")), Column("wilaya_name", t("Wilaya")),
                  Column("days", t("Jours depuis la dernière mise à jour"), "number", t("jours"), 1),
                  Column("status", t("Statut"), "status")],
                 rows, [(t("Territoire"), ref.name(wilaya or "DZ", t.lang))])


@dataset("batches")
def batches(t: Translator, state: State) -> Table:
    rows = data.batches(50) if data.warehouse_path().exists() else []
    return Table("batches", t("Derniers lots chargés"),
                 [Column("batch_id", t("Lot")), Column("source", t("Source")), Column("location", t("Fichier / table")),
                  Column("status", t("Statut")), Column("finished_at", t("Fin (UTC)"), "date"),
                  Column("rows_read", t("Lues"), "number"), Column("rows_loaded", t("Chargées"), "number"),
                  Column("rows_merged", t("Fusionnées"), "number"), Column("rows_rejected", t("Rejetées"), "number"),
                  Column("error", t("Erreur"))], rows)


@dataset("quarantine")
def quarantine(t: Translator, state: State) -> Table:
    rows = data.quarantine_counts() if data.warehouse_path().exists() else []
    return Table("quarantine", t("Lignes en quarantaine par source et motif"),
                 [Column("source", t("Source")), Column("dataset", t("Jeu de données")),
                  Column("reason_code", t("Motif")), Column("n", t("Lignes"), "number"),
                  Column("example_reason", t("Exemple"))], rows)


@dataset("catalogue")
def catalogue(t: Translator, state: State) -> Table:
    cat, _ = indicators.load()
    rows = []
    if cat is not None:
        for i, c in cat.indicators.items():
            ind = c.ind
            tgt = ind.target
            rows.append({"id": i, "label": getattr(ind.label, t.lang), "category": ind.category, "kind": ind.kind,
                         "unit": ind.unit, "direction": ind.direction, "owner": ind.owner,
                         "description": getattr(ind.description, t.lang),
                         "caveat": getattr(ind.caveats, t.lang) if ind.caveats else "",
                         "target": getattr(tgt, "value", None) if tgt is not None else None,
                         "source": ind.source or ""})
    return Table("catalogue", t("Catalogue des indicateurs"),
                 [Column("id", t("Identifiant")), Column("label", t("Indicateur")), Column("category", t("Thème")),
                  Column("kind", t("Type")), Column("unit", t("Unité")), Column("direction", t("Sens")),
                  Column("target", t("Cible nationale"), "number", "", 2), Column("owner", t("Responsable")),
                  Column("source", t("Source")), Column("description", t("Définition")),
                  Column("caveat", t("Précautions"))], rows)

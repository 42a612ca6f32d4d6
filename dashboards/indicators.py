"""The indicator catalogue as the app sees it: loaded once per worker, broken entries kept.

A catalogue that cannot be read at all does not stop the app: the pages say why.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any

from kpi import catalogue
from kpi.errors import CatalogueError, Issue

from .i18n import Translator, t_fr

log = logging.getLogger(__name__)


def catalogue_path() -> Path:
    return Path(os.environ.get("MOUACHIR_CATALOGUE", "indicators.yaml"))


@functools.lru_cache(maxsize=1)
def load() -> tuple[catalogue.Catalogue | None, tuple[Issue, ...]]:
    try:
        cat = catalogue.load(catalogue_path())
        return cat, tuple(cat.issues)
    except CatalogueError as e:
        log.error("catalogue unusable: %s", e)
        return None, tuple(e.issues)


# --- what the pages need to know of an indicator ---------------------------------------------

UNIT_LABELS = {   # axis and colour-bar titles
    "count": t_fr("nombre"), "days": t_fr("jours"), "percent": "%", "rating": t_fr("note / 5"),
    "DA": "DA", "DA_per_inhabitant": t_fr("DA par habitant"), "per_1000_requests": t_fr("‰ des demandes"),
    "per_10000_inhabitants": t_fr("pour 10 000 habitants"), "inhabitants": t_fr("habitants"),
    "projects": t_fr("projets"),
}
SPLIT_LEVELS = ("nation", "wilaya", "daira")   # splits are computed down to the daïra


def get(ind_id: str) -> Any | None:
    """The checked indicator (``.ind`` is its model) or None if unknown or broken."""
    cat, _ = load()
    return cat.indicators.get(ind_id) if cat is not None else None


def grains(ind_id: str) -> tuple[str, ...]:
    """The grains an indicator is computed at (budgets, for instance, have no months)."""
    cat, _ = load()
    if cat is None or ind_id not in cat.indicators:
        return ()
    return cat.grains(cat.indicators[ind_id])


def ids(categories: tuple[str, ...] | None = None) -> list[str]:
    cat, _ = load()
    if cat is None:
        return []
    return [i for i, c in cat.indicators.items() if categories is None or c.ind.category in categories]


def label(t: Translator, ind_id: str) -> str:
    c = get(ind_id)
    return getattr(c.ind.label, t.lang) if c is not None else ind_id


def options(t: Translator, categories: tuple[str, ...] | None = None) -> list[dict[str, str]]:
    return [{"label": label(t, i), "value": i} for i in ids(categories)]


def unit_label(t: Translator, unit: str) -> str:
    return t(UNIT_LABELS.get(unit, unit))


def split_for(t: Translator, ind_id: str, *, service: str, channel: str,
              level: str) -> tuple[str, str, list[str]]:
    """The split rows that answer the service/channel filters for this indicator and level:
    ``(split, member, notes)``, with the notes saying in words what could not be honoured."""
    c = get(ind_id)
    dims = list(c.ind.dimensions) if c is not None else []
    notes: list[str] = []
    wanted = [(k, v) for k, v in (("service", service), ("channel", channel)) if v]
    if not wanted:
        return "", "", notes
    if len(wanted) == 2:
        notes.append(t("Les chiffres ne croisent pas service et canal : seul le filtre de service est appliqué."))
        wanted = wanted[:1]
    key, member = wanted[0]
    name = {"service": t("service"), "channel": t("canal")}[key]
    if key not in dims:
        notes.append(t("Cet indicateur ne se ventile pas par {dimension} : chiffres tous {dimension}s "
                       "confondus.").format(dimension=name))
        return "", "", notes
    if level not in SPLIT_LEVELS:
        notes.append(t("Les chiffres par {dimension} s'arrêtent à la daïra : chiffres de la commune tous "
                       "{dimension}s confondus.").format(dimension=name))
        return "", "", notes
    return key, member, notes

"""The indicator catalogue as the app sees it: loaded once per worker, broken entries kept.

A catalogue that cannot be read at all does not stop the app: the pages say why.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from kpi import catalogue
from kpi.errors import CatalogueError, Issue

log = logging.getLogger(__name__)

UNITS_FR = {"count": "", "days": " j", "percent": " %", "rating": " / 5", "DA": " DA",
            "DA_per_inhabitant": " DA/hab.", "per_1000_requests": " ‰", "per_10000_inhabitants": " /10 000 hab.",
            "inhabitants": " hab.", "projects": ""}


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


def fmt_fr(value: float | None, unit: str, decimals: int) -> str:
    """A figure as a French reader writes it: 12 345,6 %."""
    if value is None:
        return "—"
    text = f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    return text + UNITS_FR.get(unit, "")

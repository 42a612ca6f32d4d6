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

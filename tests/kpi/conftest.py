from __future__ import annotations

from pathlib import Path

import pytest

from kpi import catalogue

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "indicators.yaml"


@pytest.fixture(scope="session")
def cat() -> catalogue.Catalogue:
    return catalogue.load(CATALOGUE)

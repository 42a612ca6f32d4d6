"""The callbacks' logic as plain functions: filters → URL, clicks → drill-down, cross-filter."""

from __future__ import annotations

from dash import no_update

from dashboards import callbacks, catalogue_page
from dashboards.state import State


def test_filters_write_the_url(demo_env):
    assert callbacks.filter_search("?lang=ar&period=2026-03", {"grain": "quarter"}) == "?lang=ar&grain=quarter"
    assert callbacks.filter_search("?lang=ar", {"service": "EC_S12"}) == "?lang=ar&service=EC_S12"
    assert callbacks.filter_search("?service=EC_S12&focus=1601", {"service": None}) == ""
    assert callbacks.filter_search("?t=16", {"t": "DZ"}) == ""
    assert callbacks.filter_search("", {"period": "2025-03"}) == "?period=2025-03"
    assert callbacks.filter_search("", {"period": "garbage"}) == ""


def test_a_click_on_a_territory_drills_down(demo_env):
    click = {"points": [{"location": "16"}]}
    assert callbacks.drill_href("?lang=en&indicator=delay_p90", "/wilaya", click) == \
        "/wilaya/16?lang=en&indicator=delay_p90"
    assert callbacks.drill_href("?t=16", "/explorer", {"points": [{"location": "16-01"}]}) == "/explorer?t=16-01"
    assert callbacks.drill_href("", "/wilaya", {"points": [{"location": "99"}]}) is None   # unknown
    assert callbacks.drill_href("", "/wilaya", None) is None
    # what the browser passes on: the map, a ranking bar (labelled by name), an explorer bar
    assert callbacks.drill_from("overview-map", click, "?lang=ar") == "/wilaya/16?lang=ar"
    name = callbacks.data.ref().wilayas["31"]["name_ar"]
    assert callbacks.drill_from("overview-ranking", {"points": [{"y": name}]}, "?lang=ar") == "/wilaya/31?lang=ar"
    assert callbacks.drill_from("explorer-children", {"points": [{"customdata": ["16-01"]}]}, "?t=16") == \
        "/explorer?t=16-01"
    assert callbacks.drill_from("overview-map", None, "") is None


def test_wilaya_cross_filter_selects_the_commune_everywhere(demo_env):
    trend, fig, selected, panel = callbacks.wilaya_focus("16", "?indicator=on_time_rate", "1601")
    names = [tr.name for tr in trend.data]
    assert any("Alger" in n for n in names) and len(names) >= 3          # nation, wilaya, the commune
    assert selected == {"ids": ["1601"]}
    outlined = [tr for tr in fig.data if tr.marker.line.width == 3]
    assert list(outlined[0].locations) == ["1601"]
    # a commune of another wilaya (a crafted request) changes nothing
    assert callbacks.wilaya_focus("16", "", "3101") == (no_update,) * 4


def test_catalogue_shows_the_generated_sql(demo_env):
    sql = catalogue_page.sql_of("delay_median")
    assert "SELECT" in sql.upper() and "quantile" in sql.lower()
    assert "derived" in catalogue_page.sql_of("requests_per_10000")
    assert catalogue_page.sql_of("nope") == ""
    assert State.from_search("?indicator=x;drop").indicator == ""


def test_a_page_that_mounts_its_filters_changes_nothing(demo_env):
    rendered = {"indicator": "on_time_rate", "grain": "month", "period": "2026-09", "service": "", "channel": ""}
    # the dropdowns fire with what was rendered: no new URL, so no history entry (Back works)
    assert callbacks.filter_change("", dict(rendered), rendered) is None
    assert callbacks.filter_change("?lang=ar", {**rendered, "service": None}, rendered) is None
    # one of them changed: the new URL
    assert callbacks.filter_change("?lang=ar", {**rendered, "grain": "year"}, rendered) == "?lang=ar&grain=year"

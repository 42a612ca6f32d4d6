"""Clicking through the app as a user does: national map → wilaya → commune scorecard; a filter
writes the URL, and the URL alone restores the view (shareable links)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import open_page, wait_rendered

# A point inside the shape (not only inside its bounding box: shapes are concave), in page
# coordinates, for the largest drawn wilaya; the shape is scrolled into view first.
POINT_IN_SHAPE_JS = """(gid) => {
  const paths = [...document.querySelectorAll(`#${gid} path.choroplethlocation`)]
    .filter(p => (p.getAttribute('d') || '').length > 1);
  const area = p => { const b = p.getBoundingClientRect(); return b.width * b.height; };
  paths.sort((a, b) => area(b) - area(a));
  const p = paths[0];
  p.scrollIntoView({block: 'center'});
  const b = p.getBoundingClientRect(), m = p.getScreenCTM().inverse(), svg = p.ownerSVGElement;
  for (let i = 0; i <= 8; i++) for (let j = 0; j <= 8; j++) {
    // from the centre outwards
    const fx = 0.5 + (i % 2 ? -1 : 1) * Math.ceil(i / 2) / 10, fy = 0.5 + (j % 2 ? -1 : 1) * Math.ceil(j / 2) / 10;
    const x = b.left + b.width * fx, y = b.top + b.height * fy;
    const pt = svg.createSVGPoint(); pt.x = x; pt.y = y;
    if (p.isPointInFill(pt.matrixTransform(m))) return {loc: p.__data__.loc, x, y};
  }
  return null;
}"""


def test_drill_from_the_national_map_to_a_commune_scorecard(page, site):
    open_page(page, site.url("/"))
    target = page.evaluate(POINT_IN_SHAPE_JS, "overview-map")
    assert target, "no point found inside a wilaya shape"
    page.mouse.click(target["x"], target["y"])
    page.wait_for_url(re.compile(rf"/wilaya/{target['loc']}(\?|$)"))
    wait_rendered(page)
    expect(page.locator("#main h1")).to_have_text(re.compile(rf"^{target['loc']} — "))

    link = page.locator("#wilaya-grid a[href^='/commune/']").first
    expect(link).to_be_visible()
    code = re.match(r"/commune/(\d+)", link.get_attribute("href")).group(1)
    name = link.inner_text().strip()
    link.click()
    page.wait_for_url(re.compile(rf"/commune/{code}(\?|$)"))
    wait_rendered(page)
    expect(page.locator("#main h1")).to_have_text(f"{name} ({code})")
    rows = page.locator("#card-scorecard table tbody tr:not(.group)")
    assert rows.count() >= 10, rows.count()
    expect(page.locator("#card-scorecard")).to_contain_text("Demandes traitées dans le délai légal")


def test_a_filter_writes_the_url_and_the_url_restores_the_view(page, site):
    open_page(page, site.url("/"))
    subtitle = page.locator("#main .subtitle")
    expect(subtitle).to_have_text(re.compile(r"\d{2}/\d{4}$"))        # a month: 10/2026
    page.locator("#filter-grain button").click()
    page.get_by_role("option", name="Trimestre", exact=True).click()
    page.wait_for_url(re.compile(r"[?&]grain=quarter(&|$)"))
    expect(subtitle).to_have_text(re.compile(r"T[1-4] \d{4}$"))      # re-rendered for a quarter
    wait_rendered(page)
    before = {"url": page.url, "subtitle": subtitle.inner_text(),
              "grain": page.locator("#filter-grain .dash-dropdown-value").inner_text(),
              "period": page.locator("#filter-period .dash-dropdown-value").inner_text()}
    assert before["grain"] == "Trimestre" and re.fullmatch(r"T[1-4] \d{4}", before["period"]), before

    page.reload(wait_until="commit")
    wait_rendered(page)
    after = {"url": page.url, "subtitle": subtitle.inner_text(),
             "grain": page.locator("#filter-grain .dash-dropdown-value").inner_text(),
             "period": page.locator("#filter-period .dash-dropdown-value").inner_text()}
    assert after == before

    # the same URL opened in a fresh tab (a shared link) shows the same view
    other = page.context.new_page()
    open_page(other, before["url"])
    assert other.locator("#main .subtitle").inner_text() == before["subtitle"]
    assert other.locator("#filter-grain .dash-dropdown-value").inner_text() == "Trimestre"
    other.close()


def test_back_returns_to_the_previous_page(page, site):
    open_page(page, site.url("/catalogue"))
    page.locator("header nav.nav a", has_text="Vue nationale").click()
    page.wait_for_url(re.compile(r"/(\?.*)?$"))
    wait_rendered(page)
    page.go_back(wait_until="commit")
    page.wait_for_timeout(500)
    wait_rendered(page)
    assert re.search(r"/catalogue(\?|$)", page.url), page.url

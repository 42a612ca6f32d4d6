"""Arabic pages are laid out right to left: the direction the browser computes, where the header
puts things, the grid mirrored — and the direction kept across a client-side page change."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import open_page, wait_rendered


def _direction(page) -> dict:
    return page.evaluate("""() => ({html: [document.documentElement.lang, document.documentElement.dir],
        body: getComputedStyle(document.body).direction,
        main: getComputedStyle(document.querySelector('#main')).direction})""")


def test_arabic_overview_is_right_to_left(page, site):
    open_page(page, site.url("/?lang=ar"))
    assert _direction(page) == {"html": ["ar", "rtl"], "body": "rtl", "main": "rtl"}
    brand = page.locator("header .brand-box").bounding_box()
    nav = page.locator("header nav.nav").bounding_box()
    langs = page.locator("header nav.langs").bounding_box()
    # the brand on the right, the pages after it leftwards, the language switch at the far left
    assert brand["x"] > nav["x"], (brand, nav)
    assert brand["x"] + brand["width"] > nav["x"] + nav["width"] - 1, (brand, nav)
    assert langs["x"] < nav["x"], (langs, nav)
    expect(page.locator("#main h1")).to_have_text("النظرة الوطنية")
    # the first page link (the national overview) is the rightmost one
    xs = [b["x"] for b in (page.locator("header nav.nav a").nth(i).bounding_box() for i in range(3))]
    assert xs == sorted(xs, reverse=True), xs

    # a page change inside the app (no reload) keeps the language and the direction
    page.locator("header nav.nav a", has_text="الميزانية").click()
    page.wait_for_url(re.compile(r"/budget\?(.*&)?lang=ar(&|$)"))
    expect(page.locator("#main h1")).not_to_have_text("النظرة الوطنية")
    wait_rendered(page)
    assert _direction(page) == {"html": ["ar", "rtl"], "body": "rtl", "main": "rtl"}


def test_arabic_wilaya_grid_is_mirrored(page, site):
    open_page(page, site.url("/wilaya/16?lang=ar"))
    assert _direction(page)["main"] == "rtl"
    expect(page.locator("#wilaya-grid .ag-root-wrapper.ag-rtl")).to_have_count(1)
    # the first column (daïra) is drawn at the right edge of the grid
    grid = page.locator("#wilaya-grid .ag-root-wrapper").bounding_box()
    first = page.locator("#wilaya-grid .ag-header-cell[col-id='daira']").bounding_box()
    assert first["x"] + first["width"] > grid["x"] + grid["width"] - 40, (first, grid)
    # the French page is not mirrored
    open_page(page, site.url("/wilaya/16"))
    expect(page.locator("#wilaya-grid .ag-root-wrapper.ag-ltr")).to_have_count(1)

"""A phone-sized screen (390 × 844): nothing is cut off or pushes the page sideways."""

from __future__ import annotations

import pytest

from .conftest import new_context, open_page

PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("name,path", [("overview", "/"), ("wilaya_16", "/wilaya/16")])
def test_page_fits_a_phone_screen(browser, site, artifacts, name, path):
    context, watch = new_context(browser, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        open_page(page, site.url(path))
        page.screenshot(path=str(artifacts / f"phone_{name}_fr.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => {
            const b = e.getBoundingClientRect(); return b.width > 0 && (b.right > innerWidth + 1 || b.left < -1);
          }).filter(e => !e.closest('.table-scroll, .scroll-box, .ag-root-wrapper, .js-plotly-plot'))
            .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                             (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''))""")
        assert width <= PHONE["width"] + 1, f"{path}: page {width}px wide on a {PHONE['width']}px screen; {wide}"
        assert not watch.problems(), watch.problems()
    finally:
        context.close()

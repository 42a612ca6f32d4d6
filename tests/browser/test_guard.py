"""The harness itself: a request to any other host than the app is aborted and recorded (so the
page tests would notice a page that needs the network), and the watched context reports it."""

from __future__ import annotations

from .conftest import new_context, open_page


def test_requests_to_other_hosts_are_blocked_and_recorded(browser, site):
    context, watch = new_context(browser)
    try:
        page = context.new_page()
        open_page(page, site.url("/catalogue"))
        outcome = page.evaluate("""() => fetch('https://cdn.plot.ly/world_110m.json')
            .then(() => 'reached', () => 'blocked')""")
        assert outcome == "blocked"
        assert watch.foreign == ["https://cdn.plot.ly/world_110m.json"]
        assert any("request to another host: https://cdn.plot.ly/" in p for p in watch.problems())
    finally:
        context.close()


def test_without_routes_other_hosts_do_not_resolve(browser, site):
    """The page-weight context cannot route (routing turns the HTTP cache off): the browser's
    resolver rules keep it offline, and the request is still recorded."""
    context, watch = new_context(browser, route=False)
    try:
        page = context.new_page()
        open_page(page, site.url("/catalogue"))
        outcome = page.evaluate("""() => fetch('https://cdn.plot.ly/world_110m.json', {mode: 'no-cors'})
            .then(() => 'reached', e => 'failed')""")
        assert outcome == "failed"
        assert watch.foreign == ["https://cdn.plot.ly/world_110m.json"]
    finally:
        context.close()

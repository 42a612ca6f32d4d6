"""Page weight — bytes over the wire, not timings: the first visit with an empty cache, then page
changes through the navigation with the cache warm (issue targets: 1.5 MB and 150 kB).

Measured with the DevTools protocol (``Network.loadingFinished.encodedDataLength``: compressed
bodies plus headers). The context has no request routing, which would turn the HTTP cache off;
the browser's resolver rules still keep every other host unreachable, and requests to them are
recorded and fail the test.
"""

from __future__ import annotations

import re
import time

from .conftest import new_context, wait_rendered

FIRST_VISIT_MAX = 1_500_000     # bytes
PAGE_CHANGE_MAX = 150_000


class Meter:
    def __init__(self, page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.urls: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        self.open: set[str] = set()
        self.last = time.monotonic()
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.loadingFailed", lambda e: self._done(e["requestId"]))
        self.cdp.send("Network.enable")

    def _sent(self, e) -> None:
        self.urls[e["requestId"]] = e["request"]["url"]
        self.open.add(e["requestId"])
        self.last = time.monotonic()

    def _finished(self, e) -> None:
        self.sizes[e["requestId"]] = self.sizes.get(e["requestId"], 0) + int(e["encodedDataLength"])
        self._done(e["requestId"])

    def _done(self, rid: str) -> None:
        self.open.discard(rid)
        self.last = time.monotonic()

    def settle(self, page, quiet: float = 0.7, timeout: float = 60) -> None:
        """Until nothing has been in flight for ``quiet`` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            page.wait_for_timeout(100)     # lets Playwright deliver the protocol events
            if not self.open and time.monotonic() - self.last > quiet:
                return
        raise AssertionError(f"requests still in flight: {[self.urls.get(r) for r in self.open]}")

    def take(self) -> tuple[int, list[tuple[int, str]]]:
        items = sorted(((n, self.urls.get(rid, "?")) for rid, n in self.sizes.items()), reverse=True)
        self.sizes = {}
        return sum(n for n, _ in items), items


def _show(label: str, total: int, items: list[tuple[int, str]]) -> str:
    lines = [f"{label}: {total:,} bytes ({len(items)} responses)"]
    lines += [f"  {n:>10,}  {re.sub(r'^https?://[^/]+', '', u)[:100]}" for n, u in items if n >= 2000][:12]
    return "\n".join(lines)


def test_page_weight(browser, site, artifacts):
    context, watch = new_context(browser, route=False)
    try:
        page = context.new_page()
        meter = Meter(page)
        page.goto(site.url("/"), wait_until="commit")
        wait_rendered(page)
        meter.settle(page)
        first, first_items = meter.take()

        changes = []
        for label, url in (("Budget", r"/budget"), ("Satisfaction", r"/satisfaction"), ("Projets", r"/projects")):
            h1 = page.locator("#main h1").inner_text()
            page.locator("header nav.nav a", has_text=label).first.click()
            page.wait_for_url(re.compile(url + r"(\?|$)"))
            page.wait_for_function("(old) => { const h = document.querySelector('#main h1'); "
                                   "return h && h.textContent !== old; }", arg=h1)
            wait_rendered(page)
            meter.settle(page)
            changes.append((label,) + meter.take())
        report = "\n".join([_show("first visit of / (empty cache)", first, first_items)] +
                           [_show(f"page change / → {label} (cache warm)" if i == 0 else
                                  f"page change → {label} (cache warm)", n, items)
                            for i, (label, n, items) in enumerate(changes)])
        print("\n" + report)
        (artifacts / "page_weight.txt").write_text(report + "\n", encoding="utf-8")
        assert not watch.problems(), watch.problems()
        over = []
        if first > FIRST_VISIT_MAX:
            over.append(f"first visit {first:,} B > {FIRST_VISIT_MAX:,} B")
        over += [f"page change to {label} {n:,} B > {PAGE_CHANGE_MAX:,} B" for label, n, _ in changes
                 if n > PAGE_CHANGE_MAX]
        assert not over, "; ".join(over) + "\n" + report
    finally:
        context.close()

"""Every page in every language, in a real browser with the network cut off: it renders without
a console error, names its language and direction, has its heading; a full-page screenshot is
kept in tests/browser/artifacts/; axe-core finds no serious or critical violation.

The 30 pages are loaded once (two tabs at a time: the app has two workers) by a module fixture;
the tests read what each visit recorded.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from .conftest import LANGS, describe_axe, new_context, run_axe, split_axe, wait_rendered, with_lang

PAGES = {   # artifact name → path
    "overview": "/",
    "wilaya_16": "/wilaya/16",
    "commune_1601": "/commune/1601",
    "explorer_16": "/explorer?t=16",
    "explorer_16-01": "/explorer?t=16-01",     # a daïra (dim_daira codes are "<wilaya>-<nn>")
    "budget": "/budget",
    "projects_16": "/projects?t=16",
    "satisfaction": "/satisfaction",
    "quality": "/quality",
    "catalogue": "/catalogue",
}
KEYS = [(name, lang) for lang in LANGS for name in PAGES]
IDS = [f"{name}-{lang}" for name, lang in KEYS]
TABS = 2


@dataclasses.dataclass
class Visit:
    url: str
    problems: list[str]
    facts: dict[str, Any]
    axe: list[dict[str, Any]] | None
    error: str = ""
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)


FACTS_JS = """() => ({
  lang: document.documentElement.lang, dir: document.documentElement.dir,
  bodyDir: getComputedStyle(document.body).direction,
  mainDir: getComputedStyle(document.querySelector('#main')).direction,
  h1: [...document.querySelectorAll('h1')].map(h => h.textContent.trim()),
  h1InMain: document.querySelectorAll('#main h1').length,
  alerts: [...document.querySelectorAll('#main [role=alert]')].map(a => a.textContent.trim()),
  graphs: document.querySelectorAll('.dash-graph').length,
  plots: document.querySelectorAll('.js-plotly-plot .main-svg').length,
  title: document.title,
})"""


@pytest.fixture(scope="module")
def visits(browser, site, artifacts) -> dict[tuple[str, str], Visit]:
    """Loads every (page, language) once; records problems, facts, axe findings; screenshots."""
    from .conftest import AXE_JS

    axe_js = AXE_JS if AXE_JS.exists() else None
    context, watch = new_context(browser)
    out: dict[tuple[str, str], Visit] = {}
    started: dict[tuple[str, str], float] = {}
    pending = list(KEYS)
    active: list[tuple[tuple[str, str], Any, tuple[int, int, int, int]]] = []
    try:
        while pending or active:
            while pending and len(active) < TABS:
                key = pending.pop(0)
                pg = context.new_page()
                mark = watch.mark()
                started[key] = time.monotonic()
                pg.goto(site.url(with_lang(PAGES[key[0]], key[1])), wait_until="commit")
                active.append((key, pg, mark))
            key, pg, mark = active.pop(0)
            url = with_lang(PAGES[key[0]], key[1])
            try:
                wait_rendered(pg)
                times = {"rendered": time.monotonic() - started[key]}
                facts = pg.evaluate(FACTS_JS)
                t0 = time.monotonic()
                pg.screenshot(path=str(artifacts / f"{key[0]}_{key[1]}.png"), full_page=True)
                times["screenshot"] = time.monotonic() - t0
                t0 = time.monotonic()
                axe = run_axe(pg, axe_js) if axe_js else None
                times["axe"] = time.monotonic() - t0
                out[key] = Visit(url, watch.problems(mark), facts, axe, seconds=times)
            except Exception as e:  # noqa: BLE001 — reported by the test of that page
                pg.screenshot(path=str(artifacts / f"{key[0]}_{key[1]}_FAILED.png"), full_page=True)
                out[key] = Visit(url, watch.problems(mark), {}, None, error=f"{type(e).__name__}: {e}")
            finally:
                pg.close()
    finally:
        context.close()
    _summary(artifacts, out)
    return out


def _summary(artifacts, visits: dict[tuple[str, str], Visit]) -> None:
    """artifacts/pages.txt: each page's timings (rendered is counted from the request, with two
    tabs loading at once) and every axe finding, whatever its impact."""
    lines = []
    for (name, lang), v in visits.items():
        t = "  ".join(f"{k} {s:.1f}s" for k, s in v.seconds.items())
        lines.append(f"{v.url:32} {t}{'  ERROR ' + v.error if v.error else ''}")
        for a in v.axe or []:
            lines.append(f"    axe {a['impact']:9} {a['id']}: " + " | ".join(n["target"] for n in a["nodes"][:4]))
    (artifacts / "pages.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("name,lang", KEYS, ids=IDS)
def test_page_renders_cleanly(visits, name, lang):
    v = visits[(name, lang)]
    assert not v.error, f"{v.url} did not finish rendering: {v.error}\n" + "\n".join(v.problems)
    assert not v.problems, f"{v.url}:\n" + "\n".join(v.problems)
    f = v.facts
    rtl = lang == "ar"
    assert (f["lang"], f["dir"]) == (lang, "rtl" if rtl else "ltr"), f"{v.url}: <html lang/dir> {f}"
    assert f["bodyDir"] == f["mainDir"] == ("rtl" if rtl else "ltr"), f"{v.url}: computed direction {f}"
    assert len(f["h1"]) == 1 and f["h1InMain"] == 1 and f["h1"][0], f"{v.url}: headings {f['h1']}"
    assert not f["alerts"], f"{v.url}: the page reports an error: {f['alerts']}"
    assert f["plots"] >= f["graphs"], f"{v.url}: {f['graphs']} graphs but {f['plots']} drawn"
    assert f["title"], v.url


@pytest.mark.parametrize("name,lang", KEYS, ids=IDS)
def test_page_has_no_serious_accessibility_violation(visits, axe_source, name, lang):
    v = visits[(name, lang)]
    assert not v.error, f"{v.url} did not finish rendering: {v.error}"
    unknown, known, reasons = split_axe(v.axe or [])
    assert not unknown, f"axe on {v.url}:\n" + describe_axe(unknown)
    if known:
        pytest.xfail("; ".join(sorted(set(reasons))))

"""A page's state lives in its URL: ``/wilaya/16?lang=ar&grain=quarter&period=2026-Q3&service=EC_S12``.

Every page reads its state from the query string (never trusting it: unknown values fall back to
the defaults) and every link, filter and click writes a new URL, so any view can be shared,
bookmarked or reloaded as it was. ``State.query()`` writes the query string back, leaving out
what is at its default so URLs stay short.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qs, urlencode

from .i18n import normalize

GRAINS = ("month", "quarter", "year")
COMPARES = ("prev", "yoy")
SPLITS = ("service", "channel", "service_category", "sector", "programme", "section")
_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")
_PERIOD = {
    "month": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "year": re.compile(r"^(\d{4})$"),
}


def parse_period(grain: str, text: str | None) -> dt.date | None:
    """``2026-10`` / ``2026-Q3`` / ``2026`` → the first day of the period (None if malformed)."""
    if not text:
        return None
    m = _PERIOD[grain].match(text)
    if not m:
        return None
    year = int(m.group(1))
    if not 2000 <= year <= 2100:
        return None
    if grain == "month":
        return dt.date(year, int(m.group(2)), 1)
    if grain == "quarter":
        return dt.date(year, 3 * (int(m.group(2)) - 1) + 1, 1)
    return dt.date(year, 1, 1)


def format_period(grain: str, start: dt.date) -> str:
    if grain == "month":
        return f"{start.year}-{start.month:02d}"
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def _code(value: str | None) -> str:
    return value if value and _CODE.match(value) else ""


@dataclasses.dataclass(frozen=True)
class State:
    lang: str = "fr"
    grain: str = "month"
    period: dt.date | None = None     # None: the latest complete period
    service: str = ""
    channel: str = ""
    indicator: str = ""               # "" : the page's default indicator
    compare: str = "prev"
    territory: str = ""               # explorer: DZ, a wilaya, a daïra or a commune code
    focus: str = ""                   # cross-filter: the territory highlighted on a page
    by: str = ""                      # explorer: the dimension a figure is split by

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> "State":
        """From the query arguments Dash passes a page layout (or ``parse_qs`` output)."""
        def one(key: str) -> str | None:
            v = args.get(key)
            if isinstance(v, list):
                v = v[0] if v else None
            return v if isinstance(v, str) else None

        grain = one("grain") if one("grain") in GRAINS else "month"
        compare = one("compare") if one("compare") in COMPARES else "prev"
        return cls(lang=normalize(one("lang")), grain=grain, period=parse_period(grain, one("period")),
                   service=_code(one("service")), channel=_code(one("channel")),
                   indicator=_code(one("indicator")), compare=compare,
                   territory=_code(one("t")), focus=_code(one("focus")),
                   by=one("by") if one("by") in SPLITS else "")

    @classmethod
    def from_search(cls, search: str | None) -> "State":
        return cls.from_args(parse_qs((search or "").lstrip("?")))

    def replace(self, **changes: Any) -> "State":
        return dataclasses.replace(self, **changes)

    def query(self, **changes: Any) -> str:
        """``?lang=ar&grain=quarter…`` with the given changes; defaults left out."""
        s = self.replace(**changes) if changes else self
        q: dict[str, str] = {}
        if s.lang != "fr":
            q["lang"] = s.lang
        if s.grain != "month":
            q["grain"] = s.grain
        if s.period is not None:
            q["period"] = format_period(s.grain, s.period)
        for key in ("service", "channel", "indicator"):
            if getattr(s, key):
                q[key] = getattr(s, key)
        if s.compare != "prev":
            q["compare"] = s.compare
        if s.territory:
            q["t"] = s.territory
        if s.focus:
            q["focus"] = s.focus
        if s.by:
            q["by"] = s.by
        return ("?" + urlencode(q)) if q else ""

    def href(self, path: str, **changes: Any) -> str:
        return path + self.query(**changes)


def level_of(code: str) -> str:
    """The level of a territory code: DZ, ``16``, ``16-01`` (daïra) or ``1601`` (commune)."""
    if not code or code == "DZ":
        return "nation"
    if "-" in code:
        return "daira"
    return "wilaya" if len(code) <= 2 else "commune"

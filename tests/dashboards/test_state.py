"""The URL holds a page's whole state: read without trusting it, written back short."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboards.state import State, format_period, level_of, parse_period


def test_round_trip_of_every_field():
    s = State(lang="ar", grain="quarter", period=dt.date(2026, 7, 1), service="EC_S12", channel="web",
              indicator="on_time_rate", compare="yoy", territory="16-01", focus="1601", by="channel")
    q = s.query()
    assert q.startswith("?lang=ar&grain=quarter&period=2026-Q3")
    assert State.from_search(q) == s


def test_defaults_are_left_out_of_the_url():
    assert State().query() == ""
    assert State(lang="en").href("/wilaya/16") == "/wilaya/16?lang=en"
    assert State(lang="en", service="X").query(service="") == "?lang=en"


@pytest.mark.parametrize("search", [
    "?lang=de&grain=week&period=2026-13&service=%27%3BDROP&channel=<script>&compare=x&by=ATTACH&t=../../etc",
    "?period=2026-Q3",                 # a quarter while the grain is the month
    "?grain=year&period=1850",
])
def test_garbage_falls_back_to_defaults(search):
    s = State.from_search(search)
    assert s.lang == "fr" and s.grain in ("month", "year") and s.compare == "prev" and s.by == ""
    assert s.period is None
    assert s.service == "" and s.channel == "" and s.territory == ""


@pytest.mark.parametrize("grain,text,start", [
    ("month", "2026-10", dt.date(2026, 10, 1)), ("quarter", "2026-Q4", dt.date(2026, 10, 1)),
    ("year", "2025", dt.date(2025, 1, 1)), ("month", "2026-1", None), ("quarter", "2026-Q5", None)])
def test_periods(grain, text, start):
    assert parse_period(grain, text) == start
    if start:
        assert format_period(grain, start) == text


@pytest.mark.parametrize("code,level", [("DZ", "nation"), ("", "nation"), ("16", "wilaya"), ("16-01", "daira"),
                                        ("1601", "commune")])
def test_levels(code, level):
    assert level_of(code) == level

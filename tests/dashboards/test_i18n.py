"""Every text of the app in French, Arabic and English; the Arabic page right to left."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from plotly.utils import PlotlyJSONEncoder

from dashboards import i18n

ROOT = Path(__file__).resolve().parents[2]


def _source_texts() -> set[str]:
    return {msg for _, _, msg, _, _ in extract_from_dir(
        ROOT / "dashboards", method_map=[("**.py", "python")], keywords={"t": None, "t_fr": None})}


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_text_is_translated_and_no_translation_is_stale(lang):
    with open(i18n.CATALOGS / f"{lang}.po", "rb") as fh:
        catalog = read_po(fh)
    entries = {m.id: m.string for m in catalog if m.id}
    texts = _source_texts()
    assert len(texts) > 40
    missing = sorted(texts - set(entries))
    assert missing == [], f"not in dashboards/locale/{lang}.po: {missing}"
    assert sorted(set(entries) - texts) == [], f"stale entries in {lang}.po"
    empty = [k for k, v in entries.items() if not v.strip()]
    assert empty == [], f"untranslated in {lang}.po: {empty}"
    for k, v in entries.items():
        assert set(re.findall(r"{\w+}", k)) == set(re.findall(r"{\w+}", v)), (lang, k, v)
    if lang == "ar":
        not_arabic = [v for v in entries.values() if not re.search("[\u0600-\u06ff]", v)]
        assert not_arabic == [], f"Arabic translations without Arabic: {not_arabic}"


def test_numbers_dates_and_periods_per_language():
    import datetime as dt

    fr, ar, en = (i18n.Translator(x) for x in ("fr", "ar", "en"))
    assert fr.number(1234567.891, 1, "percent") == "1\u202f234\u202f567,9 %"
    assert ar.number(1234567.891, 1, "percent") == "1.234.567,9 %"
    assert en.number(1234567.891, 1, "percent") == "1,234,567.9%"
    assert fr.number(None) == "—"
    # stored in UTC, shown in Algiers time (UTC+1)
    assert fr.local_time(dt.datetime(2026, 1, 31, 23, 30)) == "01/02/2026 00:30"
    q3 = dt.date(2026, 7, 1)
    assert (fr.period("quarter", q3), ar.period("quarter", q3), en.period("quarter", q3)) == ("T3 2026", "ف3 2026", "Q3 2026")
    assert i18n.Translator("de").lang == "fr"   # an unknown language falls back to French


def _layout(monkeypatch, tmp_path, lang):
    from dashboards import overview

    monkeypatch.setenv("MOUACHIR_WAREHOUSE", str(tmp_path / "absent.duckdb"))
    return json.loads(json.dumps(overview.layout(lang=lang), cls=PlotlyJSONEncoder, ensure_ascii=False))


@pytest.mark.parametrize("lang,direction", [("fr", "ltr"), ("ar", "rtl"), ("en", "ltr")])
def test_page_language_and_direction(monkeypatch, tmp_path, lang, direction):
    page = _layout(monkeypatch, tmp_path, lang)
    assert page["props"]["lang"] == lang and page["props"]["dir"] == direction
    text = json.dumps(page, ensure_ascii=False)
    title = i18n.Translator(lang)("Vue nationale")
    assert title in text and (lang == "fr" or title != "Vue nationale")
    if lang == "ar":
        assert re.search("[\u0600-\u06ff]", title)
    # the language links are there, each in its own language, keeping the page
    for lg, name in i18n.NAMES.items():
        href = "/" if lg == "fr" else f"/?lang={lg}"
        assert f'"href": "{href}"' in text and name in text

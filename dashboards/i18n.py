"""Languages of the app: French (default), Arabic (right to left) and English.

Texts are written in French in the code, wrapped in ``t(...)``; their Arabic and English
translations live in gettext catalogues, ``dashboards/locale/<lang>.po`` (read with Babel, no
compile step). A test extracts every ``t("...")`` of ``dashboards/`` and fails on a text
missing from a catalogue, an empty translation, or a stale entry. Numbers and dates are
formatted per language with Babel's CLDR data (``fr_DZ``, ``ar_DZ``, ``en``); indicator labels
come from the catalogue's own fr/ar/en fields.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
from pathlib import Path

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol

from kpi.engine import LOCAL_OFFSET   # Africa/Algiers, UTC+1 all year

LANGS = ("fr", "ar", "en")
DEFAULT = "fr"
LOCALES = {"fr": "fr_DZ", "ar": "ar_DZ", "en": "en"}
NAMES = {"fr": "Français", "ar": "العربية", "en": "English"}
RTL = frozenset({"ar"})
CATALOGS = Path(__file__).with_name("locale")

UNITS = {
    "count": {"fr": "", "ar": "", "en": ""},
    "days": {"fr": " j", "ar": " يوم", "en": " d"},
    "percent": {"fr": " %", "ar": " %", "en": "%"},
    "rating": {"fr": " / 5", "ar": " / 5", "en": " / 5"},
    "DA": {"fr": " DA", "ar": " دج", "en": " DZD"},
    "DA_per_inhabitant": {"fr": " DA/hab.", "ar": " دج/ساكن", "en": " DZD/inh."},
    "per_1000_requests": {"fr": " ‰", "ar": " ‰", "en": " ‰"},
    "per_10000_inhabitants": {"fr": " /10 000 hab.", "ar": " /10000 ساكن", "en": " /10,000 inh."},
    "inhabitants": {"fr": " hab.", "ar": " ساكن", "en": " inh."},
    "projects": {"fr": "", "ar": "", "en": ""},
}


def normalize(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT


@functools.lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The gettext catalogue of a language (French, the source language, has none)."""
    if lang == DEFAULT:
        return gettext.NullTranslations()
    with open(CATALOGS / f"{lang}.po", "rb") as fh:
        catalog = read_po(fh, locale=LOCALES[lang])
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


class Translator:
    """``t = Translator("ar"); t("Indicateurs — national")``."""

    def __init__(self, lang: str | None):
        self.lang = normalize(lang)
        self._tr = translations(self.lang)
        self.rtl = self.lang in RTL
        self.dir = "rtl" if self.rtl else "ltr"

    def __call__(self, text: str) -> str:
        return self._tr.gettext(text)

    @property
    def separators(self) -> str:
        """plotly's ``separators``: the decimal then the thousands mark of the language."""
        loc = LOCALES[self.lang]
        group = get_group_symbol(loc)
        return get_decimal_symbol(loc) + (" " if group in ("\u202f", "\u00a0") else group)

    def name(self, row: dict | None, fallback: str = "") -> str:
        """``name_fr`` / ``name_ar`` / ``name_en`` of a reference row."""
        if not row:
            return fallback
        return row.get(f"name_{self.lang}") or row.get("name_fr") or fallback

    def grid_locale(self) -> dict[str, str]:
        """The texts AG Grid shows itself (filters, empty grid), in the page's language."""
        t = self
        return {
            "noRowsToShow": t("Aucune ligne"), "loadingOoo": t("Chargement…"),
            "filterOoo": t("Filtrer…"), "equals": t("Égal à"), "notEqual": t("Différent de"),
            "contains": t("Contient"), "notContains": t("Ne contient pas"),
            "startsWith": t("Commence par"), "endsWith": t("Finit par"), "blank": t("Vide"),
            "notBlank": t("Non vide"), "lessThan": t("Inférieur à"), "greaterThan": t("Supérieur à"),
            "lessThanOrEqual": t("Inférieur ou égal à"), "greaterThanOrEqual": t("Supérieur ou égal à"),
            "inRange": t("Entre"), "andCondition": t("ET"), "orCondition": t("OU"),
            "applyFilter": t("Appliquer"), "resetFilter": t("Réinitialiser"),
            "clearFilter": t("Effacer"), "cancelFilter": t("Annuler"),
            "ariaFilterValue": t("Valeur du filtre"), "ariaSearch": t("Rechercher"),
            "page": t("Page"), "of": t("sur"), "to": t("à"),
        }

    def number(self, value: float | int | None, decimals: int = 0, unit: str | None = None) -> str:
        """A figure as a reader of the language writes it: 12 345,6 % / 12.345,6 % / 12,345.6%."""
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        text = format_decimal(value, format=pattern, locale=LOCALES[self.lang])
        return text + (UNITS.get(unit or "count", {}).get(self.lang, "") if unit else "")

    def local_time(self, ts: dt.datetime | None) -> str:
        """A UTC time shown in Algiers time."""
        if ts is None:
            return "—"
        return format_datetime(ts + LOCAL_OFFSET, "dd/MM/y HH:mm", locale=LOCALES[self.lang])

    def period(self, grain: str | None, start: dt.date | None) -> str:
        if start is None:
            return "—"
        loc = LOCALES[self.lang]
        if grain == "year":
            return str(start.year)
        if grain == "quarter":
            q = (start.month - 1) // 3 + 1
            return {"fr": f"T{q} {start.year}", "ar": f"ف{q} {start.year}", "en": f"Q{q} {start.year}"}[self.lang]
        return format_datetime(dt.datetime(start.year, start.month, 1), "MM/y", locale=loc)


def t_fr(text: str) -> str:
    """Marks a French text for extraction where no translator is at hand (module constants)."""
    return text

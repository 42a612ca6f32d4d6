"""Territorial reference and resolver (etl/territory.py), against the real packages."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from etl.schema import DIMENSIONS
from etl.territory import Reference, Resolver, normalize_name, reference


@pytest.fixture(scope="module")
def ref() -> Reference:
    return reference()


@pytest.fixture(scope="module")
def resolver(ref: Reference) -> Resolver:
    return Resolver(ref)


# ---------------------------------------------------------------- reference


def test_counts_and_links(ref: Reference) -> None:
    assert len(ref.wilayas) == 69
    assert len(ref.communes) == 1541
    assert len(ref.dairas) == 548
    wil = {w.wilaya_code for w in ref.wilayas}
    dai = {d.daira_code: d.wilaya_code for d in ref.dairas}
    assert all(d.wilaya_code in wil for d in ref.dairas)
    assert all(dai[c.daira_code] == c.wilaya_code for c in ref.communes)
    assert {c.wilaya_code for c in ref.communes} == wil
    assert {c.daira_code for c in ref.communes} == set(dai)


def test_codes_unique_and_zero_padded_strings(ref: Reference) -> None:
    for items, attr, pattern in (
        (ref.wilayas, "wilaya_code", r"\d{2}"),
        (ref.dairas, "daira_code", r"\d{2}-\d{2}"),
        (ref.communes, "commune_code", r"\d{4}"),
    ):
        codes = [getattr(x, attr) for x in items]
        assert len(codes) == len(set(codes)), attr
        assert all(isinstance(c, str) and re.fullmatch(pattern, c) for c in codes), attr
    assert [w.wilaya_code for w in ref.wilayas] == [f"{n:02d}" for n in range(1, 70)]
    assert all(d.daira_code.startswith(d.wilaya_code + "-") for d in ref.dairas)


def test_code_sources(ref: Reference) -> None:
    sources = Counter(c.code_source for c in ref.communes)
    assert sources == {"ons": 1537, "assigned": 4}
    for c in ref.communes:
        if c.code_source == "assigned":
            assert c.commune_code == c.wilaya_code + c.commune_code[2:] and c.commune_code[2:] >= "90"


def test_ons_code_keeps_pre_reform_prefix(ref: Reference) -> None:
    assert ref.commune("0310").wilaya_code == "59"  # Gueltat Sidi Saad, now in Aflou
    assert ref.wilaya("59").name_fr == "Aflou"
    # official numbering of the 2025/2026 wilayas (algeria-wilayas-communes)
    assert ref.wilaya("60").name_fr == "El Abiodh Sidi Cheikh"
    assert ref.wilaya("64").name_fr.startswith("Bou Sa")
    assert ref.wilaya("69").name_fr == "Messaad"


def test_populations(ref: Reference) -> None:
    assert all(c.population > 0 for c in ref.communes)
    assert {c.population_source for c in ref.communes} == {"osm", "estimated"}
    assert sum(c.population_source == "estimated" for c in ref.communes) == 5
    by_w = Counter()
    for c in ref.communes:
        by_w[c.wilaya_code] += c.population
    assert all(w.population == by_w[w.wilaya_code] for w in ref.wilayas)


def test_pilots(ref: Reference) -> None:
    pilots = {(c.name_fr, c.wilaya_code) for c in ref.communes if c.is_pilot}
    assert pilots == {("Boumerdès", "35"), ("Laghouat", "03"), ("Boufarik", "09"), ("Bathia", "44")}


def test_postal_codes(ref: Reference) -> None:
    codes = [c.postal_code for c in ref.communes]
    assert all(p is None or re.fullmatch(r"\d{5}", p) for p in codes)
    assert sum(p is None for p in codes) == 28
    assert ref.commune("2839").postal_code is None  # awc's "Menaa" carried Batna's 05012


def test_notes_and_rows(ref: Reference) -> None:
    assert ref.notes and all(isinstance(n, str) and n for n in ref.notes)
    for table in ("dim_wilaya", "dim_daira", "dim_commune"):
        rows = ref.rows(table)
        assert rows and list(rows[0]) == [col[0] for col in DIMENSIONS[table]]
    assert len(ref.rows("dim_commune")) == 1541
    with pytest.raises(KeyError):
        ref.rows("fact_request")
    with pytest.raises(KeyError):
        ref.commune("9999")


def test_reference_is_cached_and_deterministic(ref: Reference) -> None:
    assert reference() is ref


# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("El Harrach", "Al-Harrach"),
        ("Aïn Defla", "AIN  DEFLA"),
        ("Bou Saâda", "bou-saada"),
        ("أدرار", "ادرار"),
        ("إن صالح", "ان صالح"),
        ("المدية", "مدية"),
        ("بوسعادة", "بوسعاده"),
        ("مُسْتَغَانِم", "مستغانم"),
        ("تبســة", "تبسة"),
        ("Commune de Boufarik", "boufarik"),
    ],
)
def test_normalize_name_equivalences(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)


# ---------------------------------------------------------------- resolver: ok


@pytest.mark.parametrize(
    ("value", "wilaya", "code", "method"),
    [
        ("1601", None, "1601", "ons_code"),
        ("101", None, "0101", "ons_code"),
        (" 0310 ", "59", "0310", "ons_code"),
        ("16000", None, "1601", "postal_code"),
        ("Alger Centre", None, "1601", "name"),
        ("El Harrach", None, "1613", "name"),
        ("Al Harrach", None, "1613", "name"),
        ("El-Harrach", "16", "1613", "name"),
        ("Elharrach", None, "1613", "name"),
        ("الحراش", None, "1613", "name"),
        ("Aïn Defla", None, "4490", "name"),
        ("Ain Defla", "44", "4490", "name"),
        ("Ayn Defla", None, "4490", "name"),
        ("عين الدفلى", None, "4490", "name"),
        ("عين الدفلي", None, "4490", "name"),
        ("Bou Saâda", None, "2820", "name"),
        ("Bou Saada", None, "2820", "name"),
        ("بوسعادة", "64", "2820", "name"),
        ("أدرار", None, "0101", "name"),
        ("ادرار", None, "0101", "name"),
        ("آدرار", None, "0101", "name"),
        ("الأغواط", None, "0301", "name"),
        ("اغواط", None, "0301", "name"),
        ("Oulad Djellal", None, "0705", "name"),
        ("Commune de Boufarik", None, "0920", "name"),
        ("APC Boufarik", "Blida", "0920", "name"),
        ("بلدية بوفاريك", None, "0920", "name"),
        ("Bouira (10)", None, "1001", "name"),
        ("  bordj   bou  arreridj ", None, "3401", "name"),
        ("B. B. Arreridj", None, "3401", "name"),  # algeria-wilayas-communes spelling
        ("Dar el-Beïda", None, "1620", "name"),
        ("Dar El Beida", "DZ-16", "1620", "name"),
        ("El Isseri", None, "1024", "name"),  # alias in parentheses: "Z'barbar (El Isseri )"
        ("Gueltat Sidi Saad", "Aflou", "0310", "name"),
        ("Bir Touta", 16, "1690", "name"),  # commune only in algeria-wilayas-communes
    ],
)
def test_resolve_ok(resolver: Resolver, value: str, wilaya: object, code: str, method: str) -> None:
    res = resolver.resolve(value, wilaya)
    assert (res.status, res.commune_code, res.method) == ("ok", code, method)


# ---------------------------------------------------------------- resolver: not ok


def test_ambiguous_name_without_scope_then_scoped(resolver: Resolver) -> None:
    res = resolver.resolve("Mansourah")
    assert res.status == "ambiguous" and res.commune_code is None
    assert res.candidates == ("1351 Mansourah (wilaya 13)", "2723 Mansourah (wilaya 27)")
    for wilaya in ("13", 13, "DZ-13", "Tlemcen", "تلمسان"):
        assert resolver.resolve("Mansourah", wilaya).commune_code == "1351"
    assert resolver.resolve("Mansourah", "27").commune_code == "2723"


def test_shared_postal_code_is_ambiguous(resolver: Resolver) -> None:
    res = resolver.resolve("02015")
    assert res.status == "ambiguous" and res.method == "postal_code"
    assert len(res.candidates) == 3 and res.commune_code is None
    assert resolver.resolve("02015", "02").status == "ok"


def test_code_outside_scope_is_not_ok(resolver: Resolver) -> None:
    res = resolver.resolve("1601", "31")
    assert res.status == "unknown" and res.commune_code is None
    assert res.candidates == ("1601 Alger-Centre (wilaya 16)",)
    # ONS prefix 03 is the pre-reform wilaya: 0310 is not in wilaya 03 any more
    assert resolver.resolve("0310", "03").status == "unknown"


def test_unknown_gives_suggestions_never_a_guess(resolver: Resolver) -> None:
    res = resolver.resolve("Boufarque")
    assert res.status == "unknown" and res.commune_code is None
    assert res.candidates and res.candidates[0].startswith("0920 Boufarik")
    assert len(res.candidates) <= 3
    res = resolver.resolve("Alger Centr", "16")
    assert res.status == "unknown" and "1601 Alger-Centre (wilaya 16)" in res.candidates


@pytest.mark.parametrize(
    ("value", "wilaya"),
    [(None, None), ("", None), ("   ", None), ("9999", None), ("12", None), ("99999", None),
     ("Zzzzz", None), ("Boufarik", "Nowhere"), ("Boufarik", "99")],
)
def test_unknown(resolver: Resolver, value: str | None, wilaya: str | None) -> None:
    res = resolver.resolve(value, wilaya)
    assert res.status == "unknown" and res.commune_code is None


def test_every_commune_resolves_in_its_wilaya(resolver: Resolver, ref: Reference) -> None:
    pairs = [(c.name_fr, c.wilaya_code) for c in ref.communes]
    pairs += [(c.name_ar, c.wilaya_code) for c in ref.communes]
    pairs += [(c.commune_code, None) for c in ref.communes]
    out = resolver.resolve_many(pairs)
    bad = {k: r for k, r in out.items() if r.status != "ok"}
    assert not bad
    assert all(out[(c.commune_code, None)].commune_code == c.commune_code for c in ref.communes)


def test_resolve_many_memoises(resolver: Resolver) -> None:
    out = resolver.resolve_many([("1601", None), ("1601", None), ("Mansourah", None)])
    assert set(out) == {("1601", None), ("Mansourah", None)}
    again = resolver.resolve_many([("1601", None)])
    assert again[("1601", None)] is out[("1601", None)]

"""The demo generator: reproducible, counted defects, stated formats, visible realism."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sqlite3
from datetime import datetime
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

from etl import demo
from etl.schema import DATASETS, DIMENSIONS
from etl.territory import reference

# The four pilot communes live in wilayas 03, 09, 35 and 44; 16 (Algiers) is the big one.
WILAYAS = ["03", "09", "16", "35", "44"]
N = 20_000


def _generate(out: Path, seed: int = 42, **kw) -> dict:
    return demo.generate(out, requests=N, seed=seed, wilayas=WILAYAS, workers=1, **kw)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo") / "demo"
    return out, _generate(out)


@pytest.fixture(scope="module")
def requests_df(built) -> pd.DataFrame:
    out, _ = built
    with sqlite3.connect(out / "requests.sqlite") as con:
        return pd.read_sql("SELECT * FROM demandes ORDER BY rowid", con)


def _files(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and p.suffix in (".csv", ".xlsx", ".json", ".yaml")}


def _db_rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as con:
        return con.execute("SELECT * FROM demandes ORDER BY rowid").fetchall()


def _sheet_rows(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    out = {ws.title: [r for r in ws.iter_rows(min_row=7, values_only=True) if r[0] is not None]
           for ws in wb.worksheets if ws.title.startswith("Exercice ")}
    wb.close()
    return out


def _read_projects(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


# --- reproducibility -------------------------------------------------------------------------

def test_same_seed_same_bytes_and_rows(built, tmp_path):
    out, manifest = built
    again = _generate(tmp_path / "again")
    assert again == manifest
    assert _files(tmp_path / "again") == _files(out)
    assert _db_rows(tmp_path / "again" / "requests.sqlite") == _db_rows(out / "requests.sqlite")


def test_files_do_not_depend_on_worker_count(built, tmp_path):
    out, manifest = built
    again = demo.generate(tmp_path / "par", requests=N, wilayas=WILAYAS, workers=2)
    assert again == manifest
    assert _files(tmp_path / "par") == _files(out)


def test_other_seed_other_data(built, tmp_path):
    out, _ = built
    other = _generate(tmp_path / "other", seed=7)
    a, b = _files(out), _files(tmp_path / "other")
    assert a.keys() == b.keys()
    changed = [k for k in a if a[k] != b[k] and k != "sources.yaml"]
    assert len(changed) == len(a) - 1
    assert _db_rows(tmp_path / "other" / "requests.sqlite") != _db_rows(out / "requests.sqlite")
    assert other["seed"] == 7


# --- manifest counts -------------------------------------------------------------------------

def test_manifest_row_counts_match_files(built, requests_df):
    out, m = built
    src = m["sources"]
    assert len(requests_df) == src["demo-requests"]["rows"]
    assert src["demo-requests"]["distinct_requests"] == N
    assert len(requests_df) == N + m["defects"]["requests"]["duplicate_rows"]
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == m

    assert sorted(src["demo-budget"]["files"]) == [f"budget/budget_{w}.xlsx" for w in WILAYAS]
    total = 0
    for name, info in src["demo-budget"]["files"].items():
        sheets = _sheet_rows(out / name)
        assert {k: len(v) for k, v in sheets.items()} == info["sheets"]
        total += sum(info["sheets"].values())
    assert total == src["demo-budget"]["rows"]

    for name, info in src["demo-projects"]["files"].items():
        assert len(_read_projects(out / name)) - 1 == info["rows"]
    for name, n in src["demo-satisfaction"]["files"].items():
        assert len(pd.read_csv(out / name, encoding="utf-8-sig", dtype=str)) == n
    assert sum(src["demo-satisfaction"]["files"].values()) == src["demo-satisfaction"]["rows"]


def test_request_defects_are_counted_exactly(built, requests_df):
    _, m = built
    d = m["defects"]["requests"]
    df = requests_df
    known = {c.commune_code for c in reference().communes}
    assert d["duplicate_rows"] == int(df.duplicated(keep="first").sum()) > 0
    assert d["unknown_commune"] == int((~df.code_commune.isin(known)).sum())
    year = df.date_depot.str[:4]
    impossible = year.isin(["1900", "2099"])
    assert d["impossible_date"] == int(impossible.sum())
    before = df.date_cloture.notna() & (df.date_cloture < df.date_depot) & ~impossible
    assert d["closed_before_submitted"] == int(before.sum())
    assert m["expected"]["requests"]["rejected"] == (
        d["unknown_commune"] + d["impossible_date"] + d["closed_before_submitted"])
    # Every other row keeps the rules of the warehouse.
    ok = df[~impossible & ~before]
    assert (ok.date_depot.str[:7] >= "2024-11").all() and (ok.date_depot <= "2026-10-31 23:59:59").all()
    open_ = ok.statut.isin(["déposée", "en cours"])
    assert ok.loc[open_, "date_cloture"].isna().all()
    assert ok.loc[ok.statut.isin(["traitée", "rejetée"]), "date_cloture"].notna().all()
    assert (ok.maj_le >= ok.date_depot).all()
    assert not df.num_demande[~df.duplicated()].duplicated().any()
    assert df.num_demande.str.fullmatch(r"\d{4}-20\d\d-\d{7}").all()


def test_budget_projects_survey_defects_are_counted_exactly(built):
    out, m = built
    ref = reference()
    folded = {}
    for c in ref.communes:
        folded.setdefault(c.wilaya_code, set()).add(demo.fold(c.name_fr))
    negative = unknown = variants = 0
    names: dict[str, set[str]] = {}
    for c in ref.communes:
        names.setdefault(c.wilaya_code, set()).add(c.name_fr)
    for w in WILAYAS:
        for rows in _sheet_rows(out / "budget" / f"budget_{w}.xlsx").values():
            for r in rows:
                negative += any(isinstance(v, (int, float)) and v < 0 for v in r[8:])
                unknown += demo.fold(r[0]) not in folded[w]
                variants += r[0] not in names[w] and demo.fold(r[0]) in folded[w]
    assert m["defects"]["budget"] == {"negative_amount": negative, "unknown_commune": unknown}
    assert negative > 0
    assert m["variants"]["budget"]["commune_name_variants"] == variants > 0

    dup = unknown = invalid = order = 0
    for w in WILAYAS:
        rows = _read_projects(out / "projects" / f"projets_{w}.csv")[1:]
        seen = set()
        for r in rows:
            dup += tuple(r) in seen
            seen.add(tuple(r))
            assert r[1] == w
            unknown += demo.fold(r[2]) not in folded[w]
            try:
                start = datetime.strptime(r[9], "%d/%m/%Y")
                end = datetime.strptime(r[10], "%d/%m/%Y")
                order += end < start
            except ValueError:
                invalid += 1
    assert m["defects"]["projects"] == {"duplicate_rows": dup, "unknown_commune": unknown,
                                        "invalid_date": invalid, "planned_end_before_start": order}

    notes = pd.concat([pd.read_csv(out / f, encoding="utf-8-sig", dtype={"note": int})
                       for f in m["sources"]["demo-satisfaction"]["files"]])
    assert m["defects"]["satisfaction"] == {
        "rating_out_of_range": int((~notes.note.between(1, 5)).sum())}


# --- formats ---------------------------------------------------------------------------------

def test_sources_file_maps_every_warehouse_column(built, requests_df):
    out, _ = built
    cfg = yaml.safe_load((out / "sources.yaml").read_text(encoding="utf-8"))
    assert cfg["version"] == 1
    by_name = {s["name"]: s for s in cfg["sources"]}
    assert set(by_name) == {"demo-requests", "demo-budget", "demo-projects", "demo-satisfaction"}
    for s in cfg["sources"]:
        assert set(s["columns"]) == set(DATASETS[s["dataset"]].column_names), s["name"]
    req = by_name["demo-requests"]
    assert req["url"] == "sqlite:///requests.sqlite" and req["table"] == "demandes"
    assert req["incremental"] == "maj_le" and req["timezone"] == "Africa/Algiers"
    assert set(req["columns"].values()) == set(requests_df.columns)
    assert set(by_name["demo-projects"]["columns"].values()) | {"Wilaya"} == set(demo.PROJECT_HEADER)
    assert re.search(by_name["demo-budget"]["wilaya_from_filename"], "budget_16.xlsx").group(1) == "16"
    assert by_name["demo-budget"]["columns"]["engage_t3"] == "Engagé / T3"
    assert by_name["demo-budget"]["columns"]["prevu_bp"] == "Prévu / BP"


def test_budget_workbook_layout(built):
    out, _ = built
    wb = openpyxl.load_workbook(out / "budget" / "budget_16.xlsx")
    assert wb.sheetnames == ["Exercice 2024", "Exercice 2025", "Exercice 2026", "Notes"]
    ws = wb["Exercice 2025"]
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A5:A6", "H5:H6", "I5:J5", "K5:N5", "O5:R5"} <= merged
    assert [ws.cell(5, c).value for c in range(1, 16, 1)][:9] == [
        "Commune", "Exercice", "Section", "Nature", "Chapitre", "Article", "Libellé", "Origine", "Prévu"]
    assert ws["K5"].value == "Engagé" and ws["O5"].value == "Mandaté"
    assert [ws.cell(6, c).value for c in range(9, 19)] == ["BP", "BS", "T1", "T2", "T3", "T4",
                                                          "T1", "T2", "T3", "T4"]
    assert "Wilaya d" in ws["A2"].value and "Exercice 2025" in ws["A3"].value
    rows = list(ws.iter_rows(min_row=7, values_only=True))
    assert {r[2] for r in rows} == {"Fonctionnement", "Équipement"}
    assert {r[3] for r in rows} == {"Recettes", "Dépenses"}
    assert {r[7] for r in rows if r[3] == "Dépenses"} == {None}
    assert {r[7] for r in rows if r[3] == "Recettes"} == {"Ressources propres", "Transferts"}
    # The as-of year (2026, as of 31 October) has no fourth quarter yet.
    rows26 = list(wb["Exercice 2026"].iter_rows(min_row=7, values_only=True))
    assert all(r[13] is None and r[17] is None for r in rows26)
    assert all(r[12] is not None for r in rows26)
    # Engaged >= paid, cumulatively, on clean lines.
    for r in rows[:500]:
        if all(v is None or v >= 0 for v in r[8:]):
            eng = np.cumsum([v or 0 for v in r[10:14]])
            man = np.cumsum([v or 0 for v in r[14:18]])
            assert (eng + 0.05 >= man).all()


def test_project_and_survey_file_formats(built):
    out, m = built
    files = m["sources"]["demo-projects"]["files"]
    encodings = {f: i["encoding"] for f, i in files.items()}
    assert sorted(set(encodings.values())) == ["cp1252", "utf-8"]
    for name, enc in encodings.items():
        raw = (out / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        if enc == "cp1252":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
        head = raw.decode(enc).splitlines()[0]
        assert head.split(";") == list(demo.PROJECT_HEADER)
    rows = _read_projects(out / "projects" / "projets_16.csv")[1:]
    assert all(re.fullmatch(r"\d+,\d\d", r[6]) for r in rows)
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4}", r[9]) for r in rows)
    statuses = {r[13] for r in rows}
    assert statuses <= {"Inscrit", "En cours", "Achevé", "À l'arrêt", "Annulé"}
    assert {"En cours", "Achevé"} <= statuses
    assert all(r[12] for r in rows if r[13] == "Achevé")

    for name in m["sources"]["demo-satisfaction"]["files"]:
        raw = (out / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        assert raw[3:].decode("utf-8").splitlines()[0] == ",".join(demo.SURVEY_HEADER)
        assert re.fullmatch(r"surveys/satisfaction_20\d\d-Q[1-4]\.csv", name)
    df = pd.read_csv(out / name, encoding="utf-8-sig", dtype=str)
    assert df.date_reponse.str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d").all()


def test_service_catalogue_fits_dim_service():
    services = demo.load_services()
    assert 18 <= len(services) <= 30
    cols = {c for c, _, _ in DIMENSIONS["dim_service"]} - {"service_code"}
    for s in services:
        assert cols <= set(s), s["code"]
        assert re.search(r"[\u0600-\u06FF]", s["name_ar"]), s["code"]
        assert s["legal_delay_days"] > 0 and s["volume_weight"] > 0
        assert isinstance(s["digital"], bool) and s["note"]
    by_code = {s["code"]: s for s in services}
    assert by_code["PERMIS_CONSTRUIRE"]["legal_delay_days"] == 20
    assert by_code["CERTIF_URBANISME"]["legal_delay_days"] == 15
    assert by_code["EC_S12"]["name_ar"].startswith("شهادة الميلاد الخاصة")


def test_timestamp_formatting_matches_strftime():
    rng = np.random.default_rng(1)
    x = rng.integers(-2_300_000_000, 4_200_000_000, 5000)
    x[::9] = np.iinfo(np.int64).min
    got = demo._fmt_ts(x).to_pylist()
    want = pd.Series(x.astype("datetime64[s]")).where(x > -6.2e10).dt.strftime("%Y-%m-%d %H:%M:%S")
    assert got == [None if pd.isna(v) else v for v in want]


# --- realism ---------------------------------------------------------------------------------

def _timed(df: pd.DataFrame) -> pd.DataFrame:
    df = df[~df.date_depot.str[:4].isin(["1900", "2099"])].copy()
    df["sub"] = pd.to_datetime(df.date_depot)
    df["clo"] = pd.to_datetime(df.date_cloture)
    return df


def test_seasonality_weekends_and_office_hours(requests_df):
    df = _timed(requests_df)
    month = df["sub"].dt.month
    pp = df[df.code_service == "PASSEPORT_BIO"]
    assert (pp["sub"].dt.month == 7).sum() > 1.8 * (pp["sub"].dt.month == 2).sum()
    extracts = df[df.code_service.isin(["EC_S12", "EC_NAISSANCE", "RESIDENCE"])]
    assert (extracts["sub"].dt.month == 9).sum() > 1.4 * (extracts["sub"].dt.month == 11).sum()
    desk = df[df.canal == "guichet"]
    weekend = desk["sub"].dt.day_of_week.isin([4, 5])      # Friday, Saturday
    assert weekend.mean() < 0.02
    hours = desk["sub"].dt.hour + desk["sub"].dt.minute / 60
    assert hours.between(8, 16.5).all()
    # Ramadan 2025 (March) is quieter at the desk than April.
    assert (desk["sub"].dt.strftime("%Y-%m") == "2025-03").sum() < (
        desk["sub"].dt.strftime("%Y-%m") == "2025-04").sum()
    assert month.nunique() == 12


def test_channels_pilots_and_growth(built, requests_df):
    _, m = built
    df = _timed(requests_df)
    digital = df.canal.isin(["portail web", "application mobile"])
    assert 0.65 < (df.canal == "guichet").mean() < 0.85
    pilots = df.code_commune.isin(m["profiles"]["pilot"])
    assert len(m["profiles"]["pilot"]) == 4
    assert digital[pilots].mean() >= 0.35
    assert digital[pilots].mean() > 2 * digital[~pilots].mean()
    first = df["sub"] < "2025-05-01"
    last = df["sub"] >= "2026-05-01"
    assert digital[last].mean() > 1.3 * digital[first].mean()


def test_struggling_communes_are_slower_and_pile_up(built, requests_df):
    _, m = built
    services = {s["code"]: s["legal_delay_days"] for s in demo.load_services()}
    df = _timed(requests_df)
    df = df[df.clo.notna() & (df.clo >= df["sub"])]
    ratio = (df.clo - df["sub"]).dt.total_seconds() / 86400 / df.code_service.map(services)
    bad = df.code_commune.isin(m["profiles"]["struggling"])
    assert bad.any()
    assert ratio[bad].median() > 2 * ratio[~bad].median()
    # Old requests still open at the end of the window are mostly in struggling communes.
    raw = _timed(requests_df)
    stale = raw.statut.isin(["déposée", "en cours"]) & (raw["sub"] < "2026-08-01")
    in_bad = raw.code_commune.isin(m["profiles"]["struggling"])
    assert stale[in_bad].mean() > 5 * stale[~in_bad].mean()


def test_satisfaction_follows_performance(built):
    out, m = built
    df = pd.concat([pd.read_csv(out / f, encoding="utf-8-sig", dtype={"code_commune": str})
                    for f in m["sources"]["demo-satisfaction"]["files"]])
    df = df[df.note.between(1, 5)]
    bad = df.code_commune.isin(m["profiles"]["struggling"])
    assert df.note[bad].mean() < df.note[~bad].mean() - 0.5
    n_closed = m["sources"]["demo-requests"]["distinct_requests"]
    assert 0.05 < len(df) / n_closed < 0.15


# --- servers ---------------------------------------------------------------------------------

SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
}


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_requests_table_on_servers(server, tmp_path, built, requests_df):
    import sqlalchemy as sa

    url = SERVERS[server]
    try:
        sa.create_engine(url).connect().close()
    except Exception as exc:  # pragma: no cover - the servers run in this environment
        pytest.skip(f"{server} not reachable: {exc}")
    _, m = built
    got = demo.generate(tmp_path / "srv", requests=N, wilayas=WILAYAS, workers=1,
                        requests_url=url)
    assert got["defects"] == m["defects"]
    cfg = yaml.safe_load((tmp_path / "srv" / "sources.yaml").read_text(encoding="utf-8"))
    assert cfg["sources"][0]["url"] == url
    engine = sa.create_engine(url)
    try:
        insp = sa.inspect(engine)
        types = {c["name"]: str(c["type"]).upper() for c in insp.get_columns("demandes")}
        assert all(("TIMESTAMP" in types[c] or "DATETIME" in types[c]) for c in demo.TIMESTAMP_COLUMNS)
        with engine.connect() as con:
            df = pd.read_sql(sa.text("SELECT * FROM demandes"), con)
    finally:
        engine.dispose()
    assert len(df) == len(requests_df)
    for c in demo.TIMESTAMP_COLUMNS:
        df[c] = pd.to_datetime(df[c]).dt.strftime("%Y-%m-%d %H:%M:%S").where(df[c].notna(), None)
    key = list(demo.REQUEST_COLUMNS)
    a = df[key].astype(object).where(df[key].notna(), None).sort_values(key[:1] + key[4:5]).reset_index(drop=True)
    b = requests_df[key].astype(object).where(requests_df[key].notna(), None).sort_values(key[:1] + key[4:5]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)

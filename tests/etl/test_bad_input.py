"""Bad input, table-style: every defect gives a clear error or a quarantine entry naming the
source, the file, the row and the column and saying what was expected — never a traceback,
never a silently dropped or coerced row. And nothing is lost: read = loaded + merged + rejected.

Three tables:

- ``ROW_CASES``: one bad row each. All rows of a dataset go into one file, loaded once (fast);
  each case then checks its own row in the quarantine (or in the fact table when the row must
  load, e.g. a decimal comma).
- ``FILE_CASES``: one broken file or source each (truncated, wrong encoding, wrong sheet, …).
  Each case is its own source, all loaded in one run: a broken source must fail alone, with
  a clear error, and never spoil its neighbours.
- ``CONFIG_CASES``: a wrong sources file, rejected before anything is read, with file:line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from etl.errors import ConfigError
from etl.sources import load_config

from .conftest import (
    PROJECT_HEADER, REQUEST_HEADER, SURVEY_HEADER, assert_balanced, csv_text,
    project_row, project_source, query, quarantine, raw_of, request_row, request_source,
    run_load, survey_row, survey_source, write_csv, write_sources,
)

UNEXPECTED = re.compile(r"Traceback|^\w+(Error|Exception): |\bNone\b")


# =====================================================================================
# Row cases: one bad (or tricky) row each
# =====================================================================================


@dataclass(frozen=True)
class RowCase:
    id: str
    dataset: str  # requests | projects | satisfaction
    row: list[str]
    # quarantined: (column, reason_code, text the reason must contain); None → the row loads
    reject: tuple[str | None, str, str] | None = None
    # for rows that load: SQL over the fact table of this row's key and the expected result
    loaded: tuple[str, Any] | None = None


R, P, S = request_row, project_row, survey_row
ROW_CASES = [
    # --- timestamps and dates
    RowCase("timestamp_not_a_date", "requests", R("T1", submitted="hier à 10h"),
            ("date_depot", "bad_timestamp", 'yyyy-mm-dd HH:MM[:SS], got "hier à 10h"')),
    RowCase("timestamp_other_format", "requests", R("T2", submitted="01/03/2025 10:00", updated="2025-03-01 10:00:00"),
            ("date_depot", "bad_timestamp", 'expected a date and time as yyyy-mm-dd HH:MM[:SS], got "01/03/2025 10:00"')),
    RowCase("timestamp_impossible_day", "requests", R("T3", submitted="2025-02-31 10:00:00", updated="2025-03-01 10:00:00"),
            ("date_depot", "bad_timestamp", '"2025-02-31 10:00:00"')),
    RowCase("date_iso_in_ddmmyyyy_column", "projects", P("D1", start="2025-03-15"),
            ("Début prévu", "bad_date", 'expected a date as dd/mm/yyyy, got "2025-03-15"')),
    RowCase("date_mmddyyyy_month_over_12", "projects", P("D2", start="03/25/2025"),
            ("Début prévu", "bad_date", 'expected a date as dd/mm/yyyy, got "03/25/2025"')),
    RowCase("date_31_february", "projects", P("D3", start="31/02/2025"),
            ("Début prévu", "bad_date", 'got "31/02/2025"')),
    RowCase("date_ddmmyyyy_ok", "projects", P("D4", start="05/03/2025"),
            loaded=("SELECT planned_start::VARCHAR FROM fact_project WHERE project_id = 'D4'", "2025-03-05")),
    RowCase("submitted_in_the_future", "requests", R("T4", submitted="2099-01-01 10:00:00"),
            ("date_depot", "submitted_plausible", "submission date outside 2000-01-01 .. today")),
    # --- numbers
    RowCase("decimal_comma_with_space_thousands", "projects", P("N1", ap="1 234 567,89"),
            loaded=("SELECT ap_amount FROM fact_project WHERE project_id = 'N1'", Decimal("1234567.89"))),
    RowCase("thousands_nbsp", "projects", P("N2", ap="2\u00a0500\u00a0000,5"),
            loaded=("SELECT ap_amount FROM fact_project WHERE project_id = 'N2'", Decimal("2500000.50"))),
    RowCase("thousands_narrow_nbsp", "projects", P("N3", ap="1\u202f000,00"),
            loaded=("SELECT ap_amount FROM fact_project WHERE project_id = 'N3'", Decimal("1000.00"))),
    RowCase("decimal_point_and_comma_mixed", "projects", P("N4", ap="1.234,50"),
            ("Montant AP", "bad_number", 'expected a number with a decimal comma (1234,50), got "1.234,50"')),
    RowCase("amount_not_a_number", "projects", P("N5", ap="un million"),
            ("Montant AP", "bad_number", 'got "un million"')),
    RowCase("negative_amount", "projects", P("N6", ap="-5 000,00"),
            ("Montant AP", "negative_amount", 'expected a value at least 0, got "-5 000,00"')),
    RowCase("progress_over_100", "projects", P("N7", progress="120"),
            ("Avancement physique", "out_of_range", 'expected a value between 0 and 100, got "120"')),
    RowCase("rating_zero", "satisfaction", S("Q1", rating="0"),
            ("note", "out_of_range", 'expected a value between 1 and 5, got "0"')),
    RowCase("rating_six", "satisfaction", S("Q2", rating="6"),
            ("note", "out_of_range", 'expected a value between 1 and 5, got "6"')),
    RowCase("rating_in_words", "satisfaction", S("Q3", rating="cinq"),
            ("note", "bad_number", 'expected a whole number, got "cinq"')),
    RowCase("rating_not_whole", "satisfaction", S("Q4", rating="4.5"),
            ("note", "bad_number", 'expected a whole number, got "4.5"')),
    RowCase("rating_ok", "satisfaction", S("Q5", rating=" 5 "),
            loaded=("SELECT rating FROM fact_satisfaction WHERE response_id = 'Q5'", 5)),
    # --- territory and codes
    RowCase("unknown_commune_with_suggestion", "requests", R("C1", commune="Constantin"),
            ("code_commune", "unknown_commune", 'unknown commune "Constantin" (closest: 2501 Constantine (wilaya 25))')),
    RowCase("unknown_commune_code", "requests", R("C2", commune="9999"),
            ("code_commune", "unknown_commune", 'unknown commune "9999"; expected an ONS code, postal code or commune name')),
    RowCase("ambiguous_commune", "requests", R("C3", commune="El Marsa"),
            ("code_commune", "ambiguous_commune", "1640 El Marsa (wilaya 16)")),
    RowCase("unknown_service", "requests", R("C4", service="PERMIS_DE_CHASSE"),
            ("code_service", "unknown_service", 'expected a service code of dim_service, got "PERMIS_DE_CHASSE"')),
    RowCase("service_code_lower_case_ok", "requests", R("C5", service="ec_s12"),
            loaded=("SELECT service_code FROM fact_request WHERE request_id = 'C5'", "EC_S12")),
    RowCase("unknown_channel", "requests", R("C6", channel="pigeon"),
            ("canal", "bad_code", 'expected one of desk, web, mobile, phone, got "pigeon"')),
    RowCase("unknown_status", "requests", R("C7", status="perdue"),
            ("statut", "bad_code", 'expected one of submitted, in_progress, closed, rejected, cancelled, got "perdue"')),
    RowCase("unknown_project_status", "projects", P("C8", status="en rêve"),
            ("Situation", "bad_code", 'got "en rêve"')),
    # --- rules between columns
    RowCase("closed_before_submitted", "requests",
            R("K1", submitted="2025-03-05 10:00:00", closed="2025-03-01 10:00:00", status="clôturée"),
            ("date_cloture", "closed_after_submitted", "closed before it was submitted")),
    RowCase("closed_without_closing_date", "requests", R("K2", status="clôturée"),
            ("date_cloture", "closed_has_date", "status says closed but there is no closing date")),
    RowCase("closing_date_but_open", "requests", R("K3", closed="2025-03-02 10:00:00", status="en cours"),
            ("statut", "open_has_no_date", "a closing date is set but the status is still open")),
    RowCase("planned_end_before_start", "projects", P("K4", start="01/06/2025", end="01/01/2025"),
            ("Fin prévue", "planned_order", "planned end before planned start")),
    RowCase("completed_without_end", "projects", P("K5", status="achevé", actual_start="01/03/2024"),
            ("Fin réelle", "completed_has_end", "status completed but no actual end date")),
    # --- missing values
    RowCase("missing_key", "requests", R(""),
            ("num_demande", "missing", "column 'num_demande' is empty (required)")),
    RowCase("missing_required_timestamp", "requests", R("M1", submitted="  ", updated="2025-03-01 10:00:00"),
            ("date_depot", "missing", "column 'date_depot' is empty (required)")),
    RowCase("several_problems_all_listed", "requests", R("M2", commune="Atlantide", channel="fax", status="perdue"),
            ("code_commune", "unknown_commune",
             "; column 'canal': expected one of desk, web, mobile, phone, got \"fax\"; column 'statut': ")),
]

_FILES = {"requests": ("requests.csv", REQUEST_HEADER, request_source),
          "projects": ("projects.csv", PROJECT_HEADER, project_source),
          "satisfaction": ("surveys.csv", SURVEY_HEADER, survey_source)}
_GOOD = {"requests": [R("OK1"), R("OK2", commune="Oran", channel="web")],
         "projects": [P("POK1")],
         "satisfaction": [S("SOK1")]}


@pytest.fixture(scope="module")
def row_load(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One file per dataset holding every row case (plus good rows), loaded once."""
    base = tmp_path_factory.mktemp("rows")
    sources, lines = [], {}
    for ds, (name, header, make_source) in _FILES.items():
        rows = list(_GOOD[ds])
        for case in ROW_CASES:
            if case.dataset == ds:
                rows.append(case.row)
                lines[case.id] = len(rows) + 1  # header is line 1
        write_csv(base / name, header, rows, delimiter=";" if ds == "projects" else ",")
        sources.append(make_source(path=name))
    result = run_load(base, sources)
    wh = base / "warehouse.duckdb"
    return {"result": result, "wh": wh, "lines": lines,
            "quarantine": {(q["source"], q["row_number"]): q for q in quarantine(wh)}}


def test_row_cases_are_distinct_and_many() -> None:
    assert len({c.id for c in ROW_CASES}) == len(ROW_CASES) >= 30


def test_row_cases_lose_nothing(row_load: dict[str, Any]) -> None:
    result = row_load["result"]
    assert [b.status for b in result.batches] == ["ok", "ok", "ok"]
    recorded = assert_balanced(row_load["wh"])
    expected_rejects = {ds: sum(1 for c in ROW_CASES if c.dataset == ds and c.reject) for ds in _FILES}
    assert {b["dataset"]: b["rows_rejected"] for b in recorded} == expected_rejects
    expected_read = {ds: len(_GOOD[ds]) + sum(1 for c in ROW_CASES if c.dataset == ds) for ds in _FILES}
    assert {b["dataset"]: b["rows_read"] for b in recorded} == expected_read


@pytest.mark.parametrize("case", ROW_CASES, ids=lambda c: c.id)
def test_row_case(case: RowCase, row_load: dict[str, Any]) -> None:
    name, header, make_source = _FILES[case.dataset]
    source = make_source()["name"]
    line = row_load["lines"][case.id]
    q = row_load["quarantine"].get((source, line))
    if case.reject is None:
        assert q is None, f"row {line} should load, but was quarantined: {q and q['reason']}"
        sql, value = case.loaded
        assert query(row_load["wh"], sql) == [(value,)]
        return
    column, code, text = case.reject
    assert q is not None, f"row {line} of {name} was not quarantined"
    assert (q["location"], q["row_number"], q["column_name"], q["reason_code"]) == (name, line, column, code)
    assert text in q["reason"], q["reason"]
    if column:
        assert f"column {column!r}" in q["reason"] or code in {r.name for r in _rules()}, q["reason"]
    # the raw values are kept exactly as sent, so the steward can fix the source
    raw = raw_of(q)
    assert [raw[h] for h in header] == case.row
    assert raw["_row"] == line


def _rules():
    from etl.schema import DATASETS

    return [r for d in DATASETS.values() for r in d.rules]


# =====================================================================================
# File cases: one broken file or source each
# =====================================================================================


BUDGET_COLUMNS = {"commune_code": "Commune", "fiscal_year": "Exercice", "section": "Section",
                  "nature": "Nature", "chapitre": "Chapitre", "article": "Article",
                  "libelle": "Libellé", "origine": "Origine", "prevu_bp": "Prévu / BP",
                  "prevu_bs": "Prévu / BS",
                  **{f"engage_t{q}": f"Engagé / T{q}" for q in range(1, 5)},
                  **{f"mandate_t{q}": f"Mandaté / T{q}" for q in range(1, 5)}}
BUDGET_ROWS = [
    ["Blida", 2025, "Fonctionnement", "Recette", "70", "701", "Taxe foncière", "propres",
     1000000.5, 0, None, None, None, None, 250000, 0, 0, 0],
    ["Boufarik", 2025, "Équipement", "Dépense", "20", "201", "Voirie", None,
     2000000, 500000, 100000, 0, 0, 0, 50000, 0, 0, 0],
    ["Blida", 2025, "Fonctionnement", "Dépense", "60", "601", "Salaires", "propres",
     5000, None, None, None, None, None, None, None, None, None],
    ["Blida", "deux mille", "Fonctionnement", "Recette", "70", "702", "Loyers", "propres",
     -5, None, None, None, None, None, None, None, None, None],
]


def write_budget(path: Path, rows: list[list[Any]] = BUDGET_ROWS, sheet: str = "Exercice 2025",
                 rename: dict[str, str] | None = None) -> None:
    """A commune budget workbook: a notes sheet, a title, a two-row header whose parent cells
    (Prévu, Engagé, Mandaté) are merged over their sub-columns."""
    rename = rename or {}
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("Notes").write(0, 0, "Budget communal — notes de la wilaya")
    ws = wb.add_worksheet(sheet)
    ws.write(0, 0, "Wilaya de Blida — exécution du budget communal")
    top = ["Commune", "Exercice", "Section", "Nature", "Chapitre", "Article", "Libellé", "Origine"]
    for c, h in enumerate(top):
        ws.merge_range(2, c, 3, c, rename.get(h, h))
    ws.merge_range(2, 8, 2, 9, "Prévu")
    ws.merge_range(2, 10, 2, 13, "Engagé")
    ws.merge_range(2, 14, 2, 17, "Mandaté")
    for c, h in enumerate(["BP", "BS", "T1", "T2", "T3", "T4", "T1", "T2", "T3", "T4"]):
        ws.write(3, 8 + c, h)
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if isinstance(v, tuple):  # (formula, its cached result), e.g. ("=1/0", "#DIV/0!")
                ws.write_formula(4 + r, c, v[0], None, v[1])
            elif v is not None:
                ws.write(4 + r, c, v)
    wb.close()


def budget_source(**extra: Any) -> dict[str, Any]:
    src = {"name": "budget", "dataset": "budget", "connector": "excel", "path": "budget_09.xlsx",
           "wilaya_from_filename": r"budget_(\d{2})", "columns": dict(BUDGET_COLUMNS)}
    src.update(extra)
    return src


def _ids(base: Path, rows: list[list[str]]) -> list[list[str]]:
    """Request ids made unique per case ("<case>:R1"): all file cases share one warehouse."""
    return [[f"{base.name}:{r[0]}", *r[1:]] if r else r for r in rows]


def _requests(base: Path, rows: list[list[str]] | None = None, name: str = "requests.csv", **kw: Any) -> None:
    rows = rows if rows is not None else [R("R1"), R("R2"), R("R3")]
    write_csv(base / name, REQUEST_HEADER, _ids(base, rows), **kw)


def _blank_line_between(base: Path) -> None:
    lines = csv_text(REQUEST_HEADER, _ids(base, [R("R1"), R("R2")])).splitlines()
    (base / "requests.csv").write_text("\n".join([lines[0], lines[1], "", lines[2]]) + "\n", encoding="utf-8")


def _truncated_csv(base: Path) -> None:
    text = csv_text(REQUEST_HEADER, _ids(base, [R("R1"), R("R2"), R("R3", commune="Sidi Aich")]))
    (base / "requests.csv").write_text(text[: text.index("Sidi Aich") + 4], encoding="utf-8")


def _unterminated_quote(base: Path) -> None:
    text = csv_text(REQUEST_HEADER, _ids(base, [R("R1"), R("R2")])) + f'{base.name}:R3,"Sidi A'
    (base / "requests.csv").write_text(text, encoding="utf-8")


def _sqlite_with_other_table(path: Path) -> None:
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("CREATE TABLE requetes (id TEXT)")
    con.commit()
    con.close()


def _truncated_xlsx(base: Path) -> None:
    write_budget(base / "budget_09.xlsx")
    data = (base / "budget_09.xlsx").read_bytes()
    (base / "budget_09.xlsx").write_bytes(data[: len(data) * 2 // 3])


ARABIC_ROWS = [R("A1", commune="أدرار", channel="شباك", status="en cours"),
               R("A2", commune="الجزائر الوسطى", channel="الموقع", status="en cours"),
               R("A3", commune="عين ماضي", channel="تطبيق", status="en cours")]
ACCENT_ROWS = [R("L1", commune="Sidi-Aïch", status="clôturée", closed="2025-03-02 10:00:00"),
               R("L2", commune="Béjaïa", channel="téléphone", status="déposée")]


@dataclass
class FileCase:
    id: str
    write: Callable[[Path], None]
    source: dict[str, Any]
    error: tuple[str, ...] = ()  # the batch fails; its error contains all of these
    counts: tuple[int, int, int, int] | None = None  # read, loaded, merged, rejected
    rejects: tuple[tuple[int, str | None, str, str], ...] = ()  # row, column, code, text
    loaded: tuple[str, list[tuple]] | None = None  # SQL and expected rows


FILE_CASES = [
    # --- CSV structure
    FileCase("csv_last_line_cut", _truncated_csv, request_source(),
             counts=(3, 2, 0, 1),
             rejects=((4, None, "bad_row_shape", "row has 2 field(s), expected 8 separated by ',' — the file looks truncated"),)),
    FileCase("csv_unterminated_quote_at_end", _unterminated_quote, request_source(),
             counts=(3, 2, 0, 1),
             rejects=((4, None, "bad_row_shape", "the file looks truncated"),)),
    FileCase("csv_row_with_too_many_fields",
             lambda b: _requests(b, [R("R1"), [*R("R2"), "en trop"], R("R3")]), request_source(),
             counts=(3, 2, 0, 1),
             rejects=((3, None, "bad_row_shape", "row has 9 field(s), expected 8 separated by ','"),)),
    FileCase("csv_row_with_too_few_fields_midfile",
             lambda b: _requests(b, [R("R1"), R("R2")[:5], R("R3")]), request_source(),
             counts=(3, 2, 0, 1),
             rejects=((3, None, "bad_row_shape", "row has 5 field(s), expected 8"),),
             # the rows around the short one are loaded whole, on their own lines
             loaded=("SELECT split_part(request_id, ':', 2), _row FROM fact_request "
                     "WHERE _source = $src ORDER BY 1", [("R1", 2), ("R3", 4)])),
    FileCase("csv_blank_lines_keep_line_numbers",
             lambda b: _blank_line_between(b),
             request_source(), counts=(2, 2, 0, 0),
             loaded=("SELECT split_part(request_id, ':', 2), _row FROM fact_request "
                     "WHERE _source = $src ORDER BY 1", [("R1", 2), ("R2", 4)])),
    FileCase("csv_missing_column_did_you_mean",
             lambda b: write_csv(b / "requests.csv",
                                 [("date_deposit" if h == "date_depot" else h) for h in REQUEST_HEADER], [R("R1")]),
             request_source(),
             error=("requests.csv", "missing column(s) 'date_depot' (did you mean 'date_deposit'?)",
                    "found: 'num_demande'")),
    FileCase("csv_duplicate_header",
             lambda b: write_csv(b / "requests.csv", [*REQUEST_HEADER, "statut"], [[*R("R1"), "x"]]),
             request_source(), error=("requests.csv", "row 1", "duplicate column name(s) ['statut']")),
    FileCase("csv_empty_file", lambda b: (b / "requests.csv").write_bytes(b""), request_source(),
             error=("requests.csv", "the file is empty", "expected a header line and data rows")),
    FileCase("csv_header_only", lambda b: _requests(b, []), request_source(), counts=(0, 0, 0, 0)),
    FileCase("csv_semicolons_detected", lambda b: _requests(b, delimiter=";"), request_source(),
             counts=(3, 3, 0, 0)),
    FileCase("csv_duplicate_keys_in_one_file",
             lambda b: _requests(b, [R("R1", updated="2025-03-01 12:00:00"),
                                     R("R1", closed="2025-03-01 15:00:00", status="clôturée"),
                                     R("R1", updated="2025-03-01 11:00:00"), R("R2")]),
             request_source(), counts=(4, 2, 2, 0),
             loaded=("SELECT split_part(request_id, ':', 2), status, _row FROM fact_request WHERE _source = $src ORDER BY 1",
                     [("R1", "closed", 3), ("R2", "in_progress", 5)])),
    # --- encodings
    FileCase("csv_windows_1256_detected", lambda b: _requests(b, ARABIC_ROWS, encoding="cp1256"),
             request_source(), counts=(3, 3, 0, 0),
             loaded=("SELECT split_part(request_id, ':', 2), commune_code, channel FROM fact_request WHERE _source = $src ORDER BY 1",
                     [("A1", "0101", "desk"), ("A2", "1601", "web"), ("A3", "0307", "mobile")])),
    FileCase("csv_windows_1256_declared_utf8", lambda b: _requests(b, ARABIC_ROWS, encoding="cp1256"),
             request_source(encoding="utf-8"),
             error=("requests.csv", "not valid utf-8", "encoding: cp1256")),
    FileCase("csv_utf8_bom", lambda b: _requests(b, ACCENT_ROWS, encoding="utf-8-sig"),
             request_source(), counts=(2, 2, 0, 0),
             loaded=("SELECT split_part(request_id, ':', 2), commune_code, status FROM fact_request WHERE _source = $src ORDER BY 1",
                     [("L1", "0639", "closed"), ("L2", "0601", "submitted")])),
    FileCase("csv_cp1252_accents", lambda b: _requests(b, ACCENT_ROWS, encoding="cp1252", delimiter=";"),
             request_source(), counts=(2, 2, 0, 0),
             loaded=("SELECT split_part(request_id, ':', 2), commune_code, channel, status FROM fact_request WHERE _source = $src ORDER BY 1",
                     [("L1", "0639", "desk", "closed"), ("L2", "0601", "phone", "submitted")])),
    FileCase("csv_unknown_encoding_declared", lambda b: _requests(b), request_source(encoding="klingon"),
             error=("requests.csv", "unknown encoding 'klingon'", "cp1256")),
    # --- formats declared in the sources file
    FileCase("csv_mixed_timestamp_formats", lambda b: _requests(b, [
                 R("F1", submitted="15/03/2025 10:00", updated="15/03/2025 10:00"),
                 R("F2", submitted="2025-03-15 10:00", updated="15/03/2025 10:00"),
                 R("F3", submitted="03/25/2025 10:00", updated="15/03/2025 10:00")]),
             request_source(timestamp_format="%d/%m/%Y %H:%M"), counts=(3, 1, 0, 2),
             rejects=((3, "date_depot", "bad_timestamp", 'expected a date and time as dd/mm/yyyy HH:MM, got "2025-03-15 10:00"'),
                      (4, "date_depot", "bad_timestamp", 'got "03/25/2025 10:00"'))),
    FileCase("csv_decimal_point_source_gets_comma",
             lambda b: write_csv(b / "projects.csv", PROJECT_HEADER,
                                 [P("P1", ap="1234.50"), P("P2", ap="1234,50")]),
             project_source(decimal=".", date_format="%d/%m/%Y"), counts=(2, 1, 0, 1),
             rejects=((3, "Montant AP", "bad_number", 'expected a number with a decimal point (1234.50), got "1234,50"'),),
             loaded=("SELECT project_id, ap_amount FROM fact_project WHERE _source = $src", [("P1", Decimal("1234.50"))])),
    # --- files that are not there
    FileCase("file_not_found", lambda b: None, request_source(path="nope.csv"),
             error=("nope.csv", "file not found")),
    FileCase("glob_matches_nothing", lambda b: (b / "in").mkdir(), request_source(path="in/*.csv"),
             error=("in/*.csv", "no file matches the path")),
    FileCase("path_is_a_directory", lambda b: (b / "requests.csv").mkdir(), request_source(),
             error=("requests.csv", "cannot read the file")),
    # --- Excel
    FileCase("xlsx_merged_header_loads", lambda b: write_budget(b / "budget_09.xlsx"), budget_source(),
             counts=(4, 2, 0, 2),
             rejects=((7, "Origine", "origin_for_revenue", "an origin (propres/transferts) is only allowed on revenue lines"),
                      (8, "Exercice", "bad_number", 'column \'Exercice\': expected a whole number, got "deux mille"')),
             loaded=("SELECT commune_code, section, nature, prevu_bp, prevu_bs, engage_t1, mandate_t1, _location, _row "
                     "FROM fact_budget WHERE _source = $src ORDER BY _row",
                     [("0901", "fonctionnement", "recette", Decimal("1000000.50"), Decimal("0.00"), None,
                       Decimal("250000.00"), "xlsx_merged_header_loads/budget_09.xlsx [Exercice 2025]", 5),
                      ("0920", "equipement", "depense", Decimal("2000000.00"), Decimal("500000.00"),
                       Decimal("100000.00"), Decimal("50000.00"), "xlsx_merged_header_loads/budget_09.xlsx [Exercice 2025]", 6)])),
    FileCase("xlsx_truncated", _truncated_xlsx, budget_source(),
             error=("budget_09.xlsx", "cannot open the workbook", "truncated")),
    FileCase("xlsx_is_really_a_csv", lambda b: _requests(b, name="budget_09.xlsx"), budget_source(),
             error=("budget_09.xlsx", "cannot open the workbook")),
    FileCase("xlsx_wrong_sheet_name", lambda b: write_budget(b / "budget_09.xlsx"),
             budget_source(sheets="Budget *"),
             error=("budget_09.xlsx", "no sheet matches 'Budget *'", "sheets: 'Notes', 'Exercice 2025'")),
    FileCase("xlsx_missing_column", lambda b: write_budget(b / "budget_09.xlsx", rename={"Nature": "Natur"}),
             budget_source(sheets="Exercice *"),
             error=("budget_09.xlsx [Exercice 2025]", "missing column(s) 'Nature' (did you mean 'Natur'?)",
                    "header (row 3)")),
    FileCase("xlsx_missing_column_no_sheet_pattern",
             lambda b: write_budget(b / "budget_09.xlsx", rename={"Nature": "Natur"}), budget_source(),
             error=("budget_09.xlsx [Exercice 2025]", "missing column(s) 'Nature' (did you mean 'Natur'?)")),
    FileCase("xlsx_file_name_without_wilaya",
             lambda b: write_budget(b / "budget_blida.xlsx"), budget_source(path="budget_blida.xlsx"),
             error=("budget_blida.xlsx", "the file name does not tell the wilaya", "wilaya_from_filename")),
    # --- SQL sources declared wrong
    FileCase("url_with_unset_variable", lambda b: None,
             {**{k: v for k, v in request_source().items() if k != "path"},
              "connector": "sql", "url": "postgresql+psycopg://etl:${MOUACHIR_TEST_UNSET_PASSWORD}@db/apc",
              "table": "demandes"},
             error=("environment variable MOUACHIR_TEST_UNSET_PASSWORD is not set",
                    "export MOUACHIR_TEST_UNSET_PASSWORD=")),
    FileCase("sqlite_file_missing", lambda b: None,
             {**{k: v for k, v in request_source().items() if k != "path"},
              "connector": "sql", "url": "sqlite:///apc.sqlite", "table": "demandes"},
             error=("database file not found", "apc.sqlite")),
    FileCase("sqlite_table_missing", lambda b: _sqlite_with_other_table(b / "apc2.sqlite"),
             {**{k: v for k, v in request_source().items() if k != "path"},
              "connector": "sql", "url": "sqlite:///apc2.sqlite", "table": "demandes"},
             error=("no table 'demandes'", "requetes")),
]


def test_file_cases_are_distinct() -> None:
    assert len({c.id for c in FILE_CASES}) == len(FILE_CASES)
    # with the row cases, well over the 25 distinct bad inputs asked for
    assert len(FILE_CASES) + len(ROW_CASES) >= 60


@pytest.fixture(scope="module")
def file_load(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every file case as its own source (named after the case, files in its own folder), all
    in ONE load: a broken source must not stop or spoil its neighbours."""
    base = tmp_path_factory.mktemp("files")
    sources = []
    for case in FILE_CASES:
        folder = base / case.id
        folder.mkdir()
        case.write(folder)
        src = dict(case.source, name=case.id)
        if "path" in src:
            src["path"] = f"{case.id}/{src['path']}"
        if str(src.get("url", "")).startswith("sqlite:///"):
            src["url"] = f"sqlite:///{case.id}/{src['url'].removeprefix('sqlite:///')}"
        sources.append(src)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MOUACHIR_TEST_UNSET_PASSWORD", raising=False)
        try:
            result = run_load(base, sources)
        except Exception as e:  # noqa: BLE001 — reported by every case below
            return {"crash": e}
    wh = base / "warehouse.duckdb"
    by_source: dict[str, list] = {}
    for q in quarantine(wh):
        by_source.setdefault(q["source"], []).append(q)
    return {"crash": None, "result": result, "wh": wh, "recorded": assert_balanced(wh),
            "quarantine": by_source}


def test_file_cases_lose_nothing(file_load: dict[str, Any]) -> None:
    assert file_load["crash"] is None, f"the load raised {file_load['crash']!r}"
    result = file_load["result"]
    assert len(result.batches) == len(FILE_CASES)  # one batch per case, none skipped
    assert {b.source for b in result.batches} == {c.id for c in FILE_CASES}
    assert result.swapped


@pytest.mark.parametrize("case", FILE_CASES, ids=lambda c: c.id)
def test_file_case(case: FileCase, file_load: dict[str, Any]) -> None:
    assert file_load["crash"] is None, f"the load raised {file_load['crash']!r}"
    name = case.id
    wh = file_load["wh"]
    mine = [b for b in file_load["result"].batches if b.source == name]
    recorded = [b for b in file_load["recorded"] if b["source"] == name]
    quarantined = file_load["quarantine"].get(name, [])
    if case.error:
        assert [b.status for b in mine] == ["failed"]
        err = mine[0].error
        assert err.startswith(f"source {name!r}"), err
        assert not UNEXPECTED.search(err), err
        for text in case.error:
            assert text in err, err
        assert [(b["status"], b["error"]) for b in recorded] == [("failed", err)]
        assert quarantined == []
        for table in ("fact_request", "fact_budget"):
            assert query(wh, f"SELECT count(*) FROM {table} WHERE _source = ?", [name]) == [(0,)]
        return
    assert [b.status for b in mine] == ["ok"], [b.error for b in mine]
    b = mine[0]
    assert (b.rows_read, b.rows_loaded, b.rows_merged, b.rows_rejected) == case.counts
    assert [(r["rows_read"], r["rows_rejected"]) for r in recorded] == [(b.rows_read, b.rows_rejected)]
    got = [(q["row_number"], q["column_name"], q["reason_code"]) for q in quarantined]
    assert got == [(r, c, code) for r, c, code, _ in case.rejects]
    for q, (_, column, _, text) in zip(quarantined, case.rejects):
        assert q["location"].startswith(f"{name}/{Path(case.source['path']).name}")
        assert text in q["reason"], q["reason"]
        assert raw_of(q)  # the raw row is kept
    if case.loaded:
        sql, rows = case.loaded
        assert query(wh, sql, {"src": name}) == rows


# =====================================================================================
# Config cases: a wrong sources file is refused before anything is read
# =====================================================================================


def _without(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


CONFIG_CASES = [
    ("unknown_key", [request_source(), request_source(name="b", delimter=";")],
     "b", ("unknown key 'delimter'", "sources.1.delimter")),
    ("required_column_unmapped",
     [request_source(columns=_without(request_source()["columns"], "submitted_at"))],
     "req", ("required column 'submitted_at' is not mapped to a source column",)),
    ("unknown_target_column",
     [request_source(columns={**request_source()["columns"], "priorite": "priorité"})],
     "req", ("'priorite' is not a column of dataset requests",)),
    ("invalid_time_zone", [request_source(timezone="Africa/Alger")],
     "req", ("unknown time zone 'Africa/Alger'", "Africa/Algiers")),
    ("unknown_dataset", [request_source(dataset="naissances")], "req", ("sources.0.dataset",)),
    ("sql_without_table",
     [{**_without(request_source(), "path"), "connector": "sql", "url": "sqlite:///x.sqlite"}],
     "req", ("an sql source needs url and table",)),
    ("incremental_not_mapped",
     [{**_without(request_source(), "path"), "connector": "sql", "url": "sqlite:///x.sqlite",
       "table": "t", "incremental": "modifie_le"}],
     "req", ("incremental: 'modifie_le' must be one of the mapped source columns",)),
    ("file_source_with_incremental", [request_source(incremental="maj_le")],
     "req", ("incremental is for sql sources",)),
    ("sheets_on_a_csv", [request_source(sheets="Feuil1")], "req", ("sheets is for excel sources",)),
    ("filename_regex_without_group", [request_source(wilaya_from_filename=r"budget_\d\d")],
     "req", ("needs one group",)),
    ("two_scopes", [request_source(wilaya="16", wilaya_column="wilaya")],
     "req", ("give at most one of wilaya, wilaya_column, wilaya_from_filename",)),
    ("chunk_rows_too_small", [request_source(chunk_rows=10)], "req", ("chunk_rows",)),
    ("duplicate_source_name", [request_source(), request_source()], None, ("'req' is used twice",)),
]


@pytest.mark.parametrize("sources, who, texts", [c[1:] for c in CONFIG_CASES],
                         ids=[c[0] for c in CONFIG_CASES])
def test_config_case(sources: list[dict[str, Any]], who: str | None, texts: tuple[str, ...],
                     tmp_path: Path) -> None:
    path = write_sources(tmp_path, sources)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert not UNEXPECTED.search(msg), msg
    for text in texts:
        assert text in msg, msg
    if who is not None:
        # file:line of the source at fault, and its name
        lines = path.read_text(encoding="utf-8").splitlines()
        index = [s["name"] for s in sources].index(who)
        starts = [i + 1 for i, ln in enumerate(lines) if ln.startswith("- ")]
        assert f"{path}:{starts[index]} (source {who!r})" in msg, msg
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_all_problems_of_a_sources_file_are_reported_at_once(tmp_path: Path) -> None:
    path = write_sources(tmp_path, [request_source(timezone="Mars/Olympus"),
                                    request_source(name="b", delimter=";"),
                                    request_source(name="c", sheets="x")])
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert msg.startswith("3 problem(s) in the sources file")
    for text in ("unknown time zone 'Mars/Olympus'", "unknown key 'delimter'", "sheets is for excel sources"):
        assert text in msg


def test_a_sources_file_that_is_not_yaml_gives_its_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("version: 1\nsources:\n  - name: a\n    columns: {request_id: [num\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"file {path}, row ")
    assert "not valid YAML" in str(info.value)


def test_a_missing_sources_file_says_how_to_pass_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sources file not found.*--config"):
        load_config(tmp_path / "absent.yaml")


def test_an_unset_variable_in_a_path_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOUACHIR_TEST_DROP_DIR", raising=False)
    result = run_load(tmp_path, [request_source(path="${MOUACHIR_TEST_DROP_DIR}/requests.csv")])
    (b,) = result.batches
    assert b.status == "failed" and "environment variable MOUACHIR_TEST_DROP_DIR is not set" in b.error
    monkeypatch.setenv("MOUACHIR_TEST_DROP_DIR", str(tmp_path / "drop"))
    (tmp_path / "drop").mkdir()
    _requests(tmp_path / "drop")
    (b,) = run_load(tmp_path, [request_source(path="${MOUACHIR_TEST_DROP_DIR}/requests.csv")]).batches
    assert (b.status, b.rows_loaded) == ("ok", 3)


def test_decimal_comma_source_rejects_a_dot(tmp_path: Path, wh: Path) -> None:
    """French '1.250' under a decimal comma is not silently read as 1.25."""
    write_csv(tmp_path / "projects.csv", PROJECT_HEADER, [P("P1", ap="1.250")], delimiter=";")
    run_load(tmp_path, [project_source()])
    (q,) = quarantine(wh)
    assert q["reason_code"] == "bad_number" and "decimal comma" in q["reason"]


def test_a_year_sheet_with_a_renamed_column_fails_the_workbook(tmp_path: Path, wh: Path) -> None:
    """Without `sheets:`, a sheet with no table is a notes sheet and is skipped, but a sheet
    whose header lacks one column is an error: its rows are never silently left out."""
    import openpyxl

    write_budget(tmp_path / "budget_09.xlsx", sheet="Exercice 2025")
    good = openpyxl.load_workbook(tmp_path / "budget_09.xlsx")
    bad = good.copy_worksheet(good["Exercice 2025"])
    bad.title = "Exercice 2026"
    bad.cell(row=3, column=6).value = "N° article"  # "Article" renamed in one year's sheet
    good.save(tmp_path / "budget_09.xlsx")
    source = {k: v for k, v in budget_source().items() if k != "sheets"}
    (b,) = run_load(tmp_path, [{**source, "path": "budget_09.xlsx"}]).batches
    assert b.status == "failed"
    assert "[Exercice 2026]" in b.error and "'Article'" in b.error and "N° article" in b.error
    assert query(wh, "SELECT count(*) FROM fact_budget") == [(0,)]


def test_an_unknown_wilaya_scope_is_named_as_such(tmp_path: Path, wh: Path) -> None:
    """A wrong scope is reported as the wilaya's fault, not as an unknown commune."""
    write_csv(tmp_path / "projects.csv", PROJECT_HEADER, [P("P1", commune="Boufarik")], delimiter=";")
    run_load(tmp_path, [project_source(wilaya="99")])
    (q,) = quarantine(wh)
    assert q["reason_code"] == "unknown_wilaya"
    assert 'unknown wilaya "99" (from the sources file)' in q["reason"]

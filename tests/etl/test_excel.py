"""How workbook cells become values (etl/xlsx.py, read with fastexcel): each behaviour a
steward could notice, on real .xlsx files written with xlsxwriter or openpyxl."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastexcel
import pytest
import xlsxwriter

from etl import xlsx

from .conftest import assert_balanced, query, quarantine, raw_of, run_load
from .test_bad_input import BUDGET_ROWS, budget_source, write_budget


def _sheet(path: Path, columns: dict[str, list[Any]], title_rows: int = 0) -> Path:
    """One sheet "S": optional title rows, a header, then the given columns."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("S")
    date = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for r in range(title_rows):
        ws.write(r, 0, f"Titre {r}")
    for c, (name, values) in enumerate(columns.items()):
        ws.write(title_rows, c, name)
        for r, v in enumerate(values):
            cell = (title_rows + 1 + r, c)
            if v is None:
                continue
            if isinstance(v, (dt.datetime, dt.date, dt.time)):
                ws.write_datetime(*cell, v, date)
            elif isinstance(v, tuple):  # ("=formula", cached error)
                ws.write_formula(*cell, v[0], None, v[1])
            else:
                ws.write(*cell, v)
    wb.close()
    return path


def _read(path: Path, first_row: int = 1, ncols: int | None = None) -> xlsx.SheetRows:
    reader = fastexcel.read_excel(str(path))
    width = ncols if ncols is not None else reader.load_sheet("S", header_row=None).width
    return xlsx.read_rows(reader, "S", first_row, list(range(width)))


def _values(rows: xlsx.SheetRows, col: int) -> list[Any]:
    return rows.columns[col].to_pylist()


# ------------------------------------------------------------------ typing of columns


def test_a_text_after_a_thousand_numbers_is_kept_as_text_not_emptied(tmp_path: Path) -> None:
    """fastexcel types a column from its first 1000 rows by default and empties what does not
    fit; every row is used here, and a mixed column becomes text."""
    values: list[Any] = [float(i) for i in range(1500)]
    values[1200] = "deux mille"
    rows = _read(_sheet(tmp_path / "a.xlsx", {"n": values}))
    got = _values(rows, 0)
    assert got[1200] == "deux mille"
    assert got[:3] == ["0", "1", "2"] and got[1499] == "1499"


def test_mixed_kinds_are_text_never_coerced(tmp_path: Path) -> None:
    rows = _read(_sheet(tmp_path / "a.xlsx", {
        "num_bool": [1.5, True],
        "date_num": [dt.datetime(2025, 1, 31), 45000.5],
        "num_text": [2025, "2025 bis"],
        "numbers": [3, 2.5],
    }))
    assert _values(rows, 0) == ["1.5", "true"]       # a boolean is not read as 1.0
    assert _values(rows, 1) == ["2025-01-31 00:00:00", "45000.5"]
    assert _values(rows, 2) == ["2025", "2025 bis"]  # whole numbers without ".0"
    assert str(rows.columns[3].type) == "double" and _values(rows, 3) == [3.0, 2.5]


def test_postal_codes_written_as_numbers_lose_their_leading_zero(tmp_path: Path) -> None:
    """A number cell has no leading zero to keep: 09000 typed as a number is 9000. Codes must be
    typed as text in the workbook; as text they are kept exactly."""
    rows = _read(_sheet(tmp_path / "a.xlsx", {"as_number": [9000, 16000], "as_text": ["09000", "16000"]}))
    assert _values(rows, 0) == [9000.0, 16000.0]
    assert _values(rows, 1) == ["09000", "16000"]


def test_dates_are_dates_times_of_day_make_text(tmp_path: Path) -> None:
    rows = _read(_sheet(tmp_path / "a.xlsx", {
        "days": [dt.datetime(2025, 1, 31), dt.datetime(2025, 2, 1)],
        "moments": [dt.datetime(2025, 1, 31, 10, 30), dt.datetime(2025, 2, 1)],
        "with_time": [dt.datetime(2025, 1, 31, 10, 30), dt.time(9, 15)],
    }))
    assert _values(rows, 0) == [dt.date(2025, 1, 31), dt.date(2025, 2, 1)]
    assert _values(rows, 1) == [dt.datetime(2025, 1, 31, 10, 30), dt.datetime(2025, 2, 1)]
    assert _values(rows, 2) == ["2025-01-31 10:30:00", "09:15:00"]


def test_blank_rows_are_skipped_and_rows_keep_their_spreadsheet_number(tmp_path: Path) -> None:
    rows = _read(_sheet(tmp_path / "a.xlsx", {"a": ["x", None, "   ", "y"], "b": [1, None, None, 0]},
                        title_rows=2), first_row=3)
    assert rows.rows.to_pylist() == [4, 7]
    assert _values(rows, 0) == ["x", "y"] and _values(rows, 1) == [1.0, 0.0]


def test_a_cell_of_spaces_in_a_number_column_is_an_empty_cell(tmp_path: Path) -> None:
    rows = _read(_sheet(tmp_path / "a.xlsx", {"id": ["a", "b", "c"], "n": [1.5, "  ", 2]}))
    assert str(rows.columns[1].type) == "double" and _values(rows, 1) == [1.5, None, 2.0]
    assert rows.cell_errors == []


def test_formula_errors_are_reported_with_their_cell(tmp_path: Path) -> None:
    rows = _read(_sheet(tmp_path / "a.xlsx", {"id": ["a", "b"], "n": [("=NA()", "#N/A"), 2]}))
    assert [(e.row, e.column, e.error) for e in rows.cell_errors] == [(2, 1, "#N/A")]
    assert rows.rows.to_pylist() == [2, 3]


# ------------------------------------------------------------------ header area


def test_the_header_area_is_read_from_the_xml_with_its_merged_cells(tmp_path: Path) -> None:
    write_budget(tmp_path / "b.xlsx")
    head = xlsx.sheet_head(xlsx.Workbook(tmp_path / "b.xlsx"), "Exercice 2025", 5)
    assert len(head.rows) == 5
    assert head.rows[2][:2] == ["Commune", "Exercice"] and head.rows[3][8:10] == ["BP", "BS"]
    assert ((2, 8), (2, 9)) in head.merged and ((2, 0), (3, 0)) in head.merged


def test_shared_strings_and_numbers_in_the_header_area(tmp_path: Path) -> None:
    import openpyxl  # writes text as shared strings, unlike xlsxwriter's defaults here

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws.append(["Rapport"])
    ws.append([])
    ws.append(["Commune", 2025, None, "Nature & type"])
    ws.merge_cells("B3:C3")
    wb.save(tmp_path / "o.xlsx")
    head = xlsx.sheet_head(xlsx.Workbook(tmp_path / "o.xlsx"), "S", 41)
    assert head.rows == [["Rapport", "", "", ""], ["", "", "", ""], ["Commune", "2025", "", "Nature & type"]]
    assert head.merged == [((2, 1), (2, 2))]


# ------------------------------------------------------------------ through a load


def test_a_formula_error_rejects_its_row_naming_the_cell(tmp_path: Path, wh: Path) -> None:
    """Before fastexcel, an error cell read as empty: an optional amount became NULL silently."""
    rows = [list(r) for r in BUDGET_ROWS[:2]]
    rows[1][10] = ("=1/0", "#DIV/0!")  # Engagé / T1 of Boufarik, an optional amount
    write_budget(tmp_path / "budget_09.xlsx", rows=rows)
    (b,) = run_load(tmp_path, [budget_source()]).batches
    assert b.status == "ok"
    assert_balanced(wh)
    q = [r for r in quarantine(wh) if r["reason_code"] == "cell_error"]
    assert len(q) == 1
    assert q[0]["row_number"] == 6 and q[0]["column_name"] == "Engagé / T1"
    assert "formula error" in q[0]["reason"] and "Engagé / T1" in q[0]["reason"]
    assert raw_of(q[0])["Commune"] == "Boufarik"
    assert query(wh, "SELECT count(*) FROM fact_budget WHERE commune_code = '0920'") == [(0,)]


def test_a_mixed_year_column_far_down_is_rejected_not_loaded_empty(tmp_path: Path, wh: Path) -> None:
    base = BUDGET_ROWS[0]
    rows = []
    for i in range(1200):
        r = list(base)
        r[5] = f"A{i}"  # article: a distinct key per row
        rows.append(r)
    rows[1100][1] = "deux mille"
    write_budget(tmp_path / "budget_09.xlsx", rows=rows)
    (b,) = run_load(tmp_path, [budget_source()]).batches
    assert (b.rows_read, b.rows_loaded, b.rows_rejected) == (1200, 1199, 1)
    (q,) = quarantine(wh)
    assert q["row_number"] == 1105 and q["reason_code"] == "bad_number"
    assert 'got "deux mille"' in q["reason"]
    assert query(wh, "SELECT DISTINCT fiscal_year, prevu_bp FROM fact_budget") == [(2025, Decimal("1000000.50"))]


@pytest.mark.parametrize("content", [b"not a zip at all", b"PK\x03\x04 truncated"])
def test_a_file_that_is_not_a_workbook_is_named(tmp_path: Path, wh: Path, content: bytes) -> None:
    (tmp_path / "budget_09.xlsx").write_bytes(content)
    (b,) = run_load(tmp_path, [budget_source()]).batches
    assert b.status == "failed" and "cannot open the workbook" in b.error and "budget_09.xlsx" in b.error

"""Reading .xlsx sheets fast: the header area from the file's XML, the data with fastexcel.

fastexcel (Rust, calamine) returns a sheet's cells as Arrow columns without building a Python
object per cell, but it neither exposes merged cells nor lets us look at the first rows
without parsing the whole sheet. So a sheet is read in two steps:

1. :func:`sheet_head` reads the first rows (title rows, the header, possibly a two-row header
   under merged parent cells) and the list of merged ranges straight from the workbook's XML:
   the first rows are parsed, the rest of the sheet's XML is only decompressed and searched for
   ``<mergeCell>`` (written after the cells);
2. :func:`read_rows` loads the rows below the header with fastexcel, once.

How cells become Arrow values, made explicit (tests in ``tests/etl/test_excel.py``):

- every row of the sheet is used to type a column (never a sample): a column whose cells are
  all numbers is a float column, all dates a timestamp column (a date column when every value
  is at midnight), all text a text column;
- a column mixing kinds (numbers and text, dates and numbers, booleans and numbers, …) is read
  as text, each cell's own text: ``2025`` for the number 2025, ``2025-01-31 00:00:00`` for a
  date, ``true`` for a boolean. The validation then judges every value; nothing is coerced into
  the column's majority type or emptied;
- a time-of-day cell (no date) makes its column text: ``10:30:00``;
- a cell holding a formula error (``#N/A``, ``#DIV/0!``, …) is never read as empty: its row is
  rejected with the reason code ``cell_error``, naming the cell;
- a row whose cells are all empty (or only spaces) is not a row; numbers keep their row as it is
  shown in the spreadsheet.
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# fastexcel logs a warning for every column it types as text (empty or mixed columns); the
# column types are decided and checked here, and a bad cell is reported with its row and column,
# so those warnings are only noise in a load's output.
logging.getLogger("fastexcel").setLevel(logging.ERROR)

_BLOCK = 1 << 16
_BIG_BLOCK = 4 << 20
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?"')
_END_CELLS = re.compile(rb"</(?:\w+:)?sheetData>")
_CELL_REF = re.compile(r"([A-Z]+)([0-9]+)")
_UNNAMED = re.compile(r"column (__UNNAMED__\d+)")
# calamine's names of cell errors, as Excel shows them
_ERRORS = {"Div0": "#DIV/0!", "NA": "#N/A", "Name": "#NAME?", "Null": "#NULL!", "Num": "#NUM!",
           "Ref": "#REF!", "Value": "#VALUE!", "GettingData": "#GETTING_DATA"}
_EXCEL_EPOCH = dt.datetime(1900, 1, 1)  # values before it are times of day (serial < 1)


class XlsxError(Exception):
    """The file is not a readable .xlsx workbook (message says why)."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


class Workbook:
    """The parts of an .xlsx package needed to read sheet heads (lazy shared strings)."""

    def __init__(self, path: Path) -> None:
        try:
            self.zf = zipfile.ZipFile(path)
            rels = self._rels("_rels/.rels")
            book = next((t for t, kind in rels.values() if kind.endswith("/officeDocument")),
                        "xl/workbook.xml")
            root = ET.fromstring(self.zf.read(book))
            book_rels = self._rels(posixpath.join(posixpath.dirname(book), "_rels",
                                                  posixpath.basename(book) + ".rels"), base=book)
        except (zipfile.BadZipFile, KeyError, ET.ParseError, OSError, EOFError) as e:
            raise XlsxError(f"{type(e).__name__}: {e}") from None
        self.sheet_parts: dict[str, str] = {}
        for el in root.iter():
            if _local(el.tag) == "sheet":
                rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
                if rid in book_rels:
                    self.sheet_parts[el.get("name", "")] = book_rels[rid][0]
        self._sst_part = next((t for t, kind in book_rels.values() if kind.endswith("/sharedStrings")),
                              None)
        self._sst: list[str] = []
        self._sst_events: Any = None

    def _rels(self, name: str, base: str = "") -> dict[str, tuple[str, str]]:
        try:
            root = ET.fromstring(self.zf.read(name))
        except KeyError:
            return {}
        out = {}
        for el in root:
            target = el.get("Target", "")
            if target.startswith("/"):
                path = target.lstrip("/")
            else:
                path = posixpath.normpath(posixpath.join(posixpath.dirname(base), target))
            out[el.get("Id", "")] = (path, el.get("Type", ""))
        return out

    def shared_string(self, i: int) -> str:
        """The i-th shared string, parsing sharedStrings.xml only as far as needed."""
        if i >= len(self._sst) and self._sst_part is not None:
            if self._sst_events is None:
                self._sst_events = ET.iterparse(self.zf.open(self._sst_part), events=("end",))
            for _, el in self._sst_events:
                if _local(el.tag) != "si":
                    continue
                parts = []
                for child in el:
                    name = _local(child.tag)
                    if name == "t":
                        parts.append(child.text or "")
                    elif name == "r":  # rich text run; phonetic runs (rPh) are not text
                        parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
                self._sst.append("".join(parts))
                el.clear()
                if i < len(self._sst):
                    break
        return self._sst[i] if i < len(self._sst) else ""

    def close(self) -> None:
        self.zf.close()


@dataclass
class SheetHead:
    rows: list[list[Any]]                       # first rows, dense, from column A, "" when empty
    merged: list[tuple[tuple[int, int], tuple[int, int]]]  # ((r0, c0), (r1, c1)), 0-based


def sheet_head(wb: Workbook, sheet: str, nrows: int) -> SheetHead:
    """The first ``nrows`` rows of a sheet as text, and every merged range starting in them."""
    part = wb.sheet_parts.get(sheet)
    if part is None:
        raise XlsxError(f"sheet {sheet!r} has no worksheet part")
    cells: dict[int, dict[int, Any]] = {}
    merged: set[tuple[int, int, int, int]] = set()
    parser = ET.XMLPullParser(events=("start", "end"))
    head_done = False
    tail = b""             # the bytes after the cells (merged ranges, …), once found
    after_cells = False
    row_no = col_no = -1
    try:
        with wb.zf.open(part) as fh:
            while True:
                block = fh.read(_BIG_BLOCK if head_done else _BLOCK)
                if not block:
                    break
                if not head_done:
                    parser.feed(block)
                    for event, el in parser.read_events():
                        name = _local(el.tag)
                        if event == "start":
                            if name == "row":
                                r = el.get("r")
                                row_no = int(r) - 1 if r else row_no + 1
                                col_no = -1
                                if row_no >= nrows:
                                    head_done = True
                                    break
                            continue
                        if name == "c":
                            ref = _CELL_REF.match(el.get("r", ""))
                            col_no = col_index(ref.group(1)) if ref else col_no + 1
                            value = _cell_text(wb, el)
                            if value != "" and row_no < nrows:
                                cells.setdefault(row_no, {})[col_no] = value
                            el.clear()
                        elif name == "row":
                            el.clear()
                        elif name == "sheetData":
                            head_done = True
                            break
                # merged ranges are listed after the cells: search the raw bytes for the end
                # of sheetData ("<" never appears unescaped in cell text)
                if after_cells:
                    tail += block
                else:
                    window = tail + block
                    end = _end_of_cells(window)
                    if end >= 0:
                        after_cells = True
                        tail = window[end:]
                    else:
                        tail = window[-64:]
    except (zipfile.BadZipFile, ET.ParseError, OSError, EOFError, zipfile.LargeZipFile) as e:
        raise XlsxError(f"{type(e).__name__}: {e}") from None
    merge_text = tail if after_cells else b""
    if merge_text:
        for m in _MERGE.finditer(merge_text):
            c0, r0 = col_index(m.group(1).decode()), int(m.group(2)) - 1
            c1, r1 = ((col_index(m.group(3).decode()), int(m.group(4)) - 1) if m.group(3) else (c0, r0))
            if r0 < nrows:
                merged.add((r0, c0, r1, c1))
    width = max([max(r) + 1 for r in cells.values() if r] + [c1 + 1 for _, _, _, c1 in merged] + [0])
    height = max([r + 1 for r in cells] + [0])
    rows = [[cells.get(r, {}).get(c, "") for c in range(width)] for r in range(height)]
    return SheetHead(rows, [((r0, c0), (r1, c1)) for r0, c0, r1, c1 in sorted(merged)])


def _end_of_cells(data: bytes) -> int:
    """Offset just after ``</sheetData>`` (any namespace prefix), or -1."""
    at = data.find(b"sheetData>")
    while at >= 0:
        m = _END_CELLS.search(data, max(0, at - 40), at + 10)
        if m:
            return m.end()
        at = data.find(b"sheetData>", at + 1)
    return -1


def _cell_text(wb: Workbook, el: ET.Element) -> Any:
    kind = el.get("t", "n")
    v = None
    inline = []
    for child in el:
        name = _local(child.tag)
        if name == "v":
            v = child.text
        elif name == "is":
            for t in child.iter():
                if _local(t.tag) == "t":
                    inline.append(t.text or "")
    if kind == "inlineStr":
        return "".join(inline)
    if v is None:
        return ""
    if kind == "s":
        return wb.shared_string(int(v))
    if kind in ("str", "d"):
        return v
    if kind == "b":
        return "true" if v.strip() == "1" else "false"
    if kind == "e":
        return ""
    try:
        f = float(v)
    except ValueError:
        return v
    return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)


# ---------------------------------------------------------------- data rows


@dataclass
class CellProblem:
    row: int        # spreadsheet row (1-based)
    column: int     # absolute column index (A = 0)
    error: str      # as Excel shows it: #N/A, #DIV/0!, …


@dataclass
class SheetRows:
    rows: pa.Array                    # spreadsheet row number of each kept row
    columns: dict[int, pa.Array]      # absolute column index -> values of the kept rows
    cell_errors: list[CellProblem]


def read_rows(reader: Any, sheet: str, first_row: int, columns: list[int]) -> SheetRows:
    """Rows from ``first_row`` (0-based) to the end, the given absolute columns, typed per column
    (mixed columns as text), blank rows dropped."""
    import fastexcel

    string_cols: dict[str, str] = {}
    batch = errors = None
    probed = False
    for _ in range(64):
        try:
            sheet_obj = reader.load_sheet(
                sheet, header_row=None, skip_rows=first_row, schema_sample_rows=None,
                dtype_coercion="strict", dtypes=dict(string_cols) or None,
                whitespace_as_null=True,
            )
            batch, errors = sheet_obj.to_arrow_with_errors()
            break
        except fastexcel.UnsupportedColumnTypeCombinationError as e:
            # a column mixing kinds: read it as text (each cell's own text), never coerced.
            # The first time, one coercing load tells which columns come out as text.
            m = _UNNAMED.search(str(e))
            if m is None:
                raise XlsxError(str(e).splitlines()[0]) from None
            if not probed:
                probed = True
                probe = reader.load_sheet(sheet, header_row=None, skip_rows=first_row,
                                          schema_sample_rows=None, dtype_coercion="coerce",
                                          whitespace_as_null=True)
                for info in probe.selected_columns:
                    if str(info.dtype) == "string":
                        string_cols[info.name] = "string"
            elif m.group(1) in string_cols:
                raise XlsxError(str(e).splitlines()[0]) from None
            string_cols[m.group(1)] = "string"
    else:  # pragma: no cover - a sheet wider than 64 mixed columns
        raise XlsxError("too many columns mixing kinds")
    infos = sheet_obj.selected_columns
    by_abs = {info.absolute_index: i for i, info in enumerate(infos)}
    n = batch.num_rows
    # blank rows (every cell empty or spaces, in any column) are not rows; cells of spaces
    # only are empty cells (whitespace_as_null), also when typing a column
    blank = None
    for col in batch.columns:
        empty = pc.is_null(col)
        blank = empty if blank is None else pc.and_(blank, empty)
    problems = []
    if errors is not None:
        for ce in errors.errors:
            r, c = ce.position
            m = re.search(r"Error\((\w+)\)", ce.detail)
            if m is None and re.search(r"got 'String\(\"\s*\"\)'", ce.detail):
                continue  # a cell of spaces in a number or date column: an empty cell
            if m is None:
                raise XlsxError(f"unexpected cell problem at row {r + 1}: {ce.detail}")
            problems.append(CellProblem(r + 1, infos[c].absolute_index if c < len(infos) else c,
                                        _ERRORS.get(m.group(1), "#" + m.group(1))))
    keep = pc.invert(blank) if blank is not None else pa.array([True] * n)
    if problems:
        # a cell error is not an empty cell: its row is kept (and rejected by the caller)
        mask = [False] * n
        for p in problems:
            mask[p.row - 1 - first_row] = True
        keep = pc.or_(keep, pa.array(mask))
    rows = pc.filter(pa.array(range(first_row + 1, first_row + 1 + n), type=pa.int64()), keep)
    out: dict[int, pa.Array] = {}
    for c in columns:
        if c in by_abs:
            out[c] = _normalise(pc.filter(batch.column(by_abs[c]), keep))
        else:
            out[c] = pa.nulls(len(rows), pa.string())
    return SheetRows(rows, out, problems)


def _normalise(arr: pa.Array) -> pa.Array:
    t = arr.type
    if pa.types.is_null(t):
        return arr.cast(pa.string())
    if pa.types.is_large_string(t):
        return arr.cast(pa.string())
    if pa.types.is_timestamp(t):
        epoch = pa.scalar(_EXCEL_EPOCH, t)
        if pc.any(pc.less(arr, epoch)).as_py():
            # time-of-day cells (Excel serial < 1): the column becomes text, times as HH:MM:SS
            as_time = _whole_seconds(pc.strftime(arr, format="%H:%M:%S"))
            as_ts = _whole_seconds(pc.strftime(arr, format="%Y-%m-%d %H:%M:%S"))
            return pc.if_else(pc.less(arr, epoch), as_time, as_ts)
        midnight = pc.equal(pc.floor_temporal(arr, unit="day"), arr)
        if pc.all(midnight).as_py() is not False:
            return pc.cast(arr, pa.date32())
        return arr
    if pa.types.is_duration(t):
        return pc.cast(arr, pa.string())
    return arr


def _whole_seconds(text: pa.Array) -> pa.Array:
    """strftime's %S carries the unit's fraction ("10:30:00.000"): dropped when zero."""
    return pc.replace_substring_regex(text, pattern=r"\.0+$", replacement="")

"""Connectors: read a source into Arrow chunks of raw values, each row with its row number.

A connector does not judge values (that is :mod:`etl.validate`'s job, the same for every
connector); it only reports rows it cannot even split into columns (a CSV line with the wrong
number of fields, say) as :class:`BadRow` so that they reach the quarantine too.

Row numbers are what a person opening the source sees: the line of a CSV file (header = 1),
the spreadsheet row of a sheet, the rank of the row in the batch for a SQL table.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import fnmatch
import hashlib
import io
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import SourceError
from .sources import Config, Source

log = logging.getLogger(__name__)

SCOPE = "_scope"  # extra column carrying a constant wilaya scope (from the file name or config)
ROW = "_row"


@dataclass
class BadRow:
    row: int
    column: str | None
    code: str
    reason: str
    raw: dict[str, Any]


@dataclass
class Chunk:
    table: pa.Table  # _row (int64), [_scope], then the source columns
    location: str
    bad_rows: list[BadRow] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.bad_rows)


@dataclass
class Unit:
    """What one batch reads: a file, or a table of a database."""

    location: str
    checksum: str | None
    chunks: Callable[[], Iterator[Chunk]]
    path: Path | None = None
    # SQL sources: the watermark before the batch ("from") and the highest value read ("to").
    watermark: dict[str, Any] = field(default_factory=dict)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _norm_header(s: str) -> str:
    s = unicodedata.normalize("NFKC", str(s)).replace("\ufeff", "")
    return re.sub(r"\s+", " ", s).strip()


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", _norm_header(s).casefold())
    return "".join(ch for ch in s if not unicodedata.combining(ch))


def match_columns(
    wanted: list[str], found: list[str], *, source: str, location: str, where: str = "header"
) -> dict[str, str]:
    """Map each wanted source column to the actual header (exact, then case/accent-insensitive)."""
    by_exact = {_norm_header(f): f for f in found}
    by_fold: dict[str, list[str]] = {}
    for f in found:
        by_fold.setdefault(_fold(f), []).append(f)
    out: dict[str, str] = {}
    missing: list[str] = []
    for w in wanted:
        if _norm_header(w) in by_exact:
            out[w] = by_exact[_norm_header(w)]
        elif len(by_fold.get(_fold(w), [])) == 1:
            out[w] = by_fold[_fold(w)][0]
        else:
            missing.append(w)
    if missing:
        hints = []
        for m in missing:
            close = difflib.get_close_matches(m, [_norm_header(f) for f in found], n=1, cutoff=0.6)
            hints.append(f"{m!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise SourceError(
            f"missing column(s) {', '.join(hints)} in the {where}",
            source=source, location=location,
            expected="the columns named in the sources file; found: "
            + ", ".join(repr(_norm_header(f)) for f in found if str(f).strip()),
        )
    return out


def _column_array(values: list[Any]) -> pa.Array:
    """Arrow array of raw cell values: typed when the values agree (numbers, dates), else text.

    Blank cells become nulls. Integral floats stay floats here; the validation reads them as
    whole numbers where a text or code is expected ("6100", not "6100.0").
    """
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        vals = [None if v == "" else v for v in values]  # blank cells among numbers or dates
        try:
            arr = pa.array(vals)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            return pa.array([None if v is None else _text(v) for v in vals], type=pa.string())
    if pa.types.is_null(arr.type):
        return arr.cast(pa.string())
    if pa.types.is_time(arr.type) or pa.types.is_duration(arr.type):
        return pa.array([None if v in (None, "") else _text(v) for v in values], type=pa.string())
    if pa.types.is_string(arr.type):
        blank = pc.equal(pc.utf8_trim_whitespace(arr), "")
        return pc.if_else(blank, pa.scalar(None, pa.string()), arr)
    return arr


def _sql_column_array(values: list[Any]) -> pa.Array:
    """Fast path for database columns (one type per column): Arrow infers it directly."""
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return _column_array(values)  # SQLite's dynamic typing: a column mixing types
    if pa.types.is_null(arr.type):
        return arr.cast(pa.string())
    if pa.types.is_time(arr.type) or pa.types.is_duration(arr.type):
        return _column_array(values)
    return arr


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return str(v)


def _scope_from_filename(src: Source, path: Path) -> str | None:
    if src.wilaya is not None:
        return src.wilaya
    if src.wilaya_from_filename:
        m = re.search(src.wilaya_from_filename, path.name)
        if not m:
            raise SourceError(
                "the file name does not tell the wilaya", source=src.name, location=path.name,
                expected=f"a name matching wilaya_from_filename {src.wilaya_from_filename!r}",
            )
        return m.group(1)
    return None


def _with_scope(table: pa.Table, scope: str | None) -> pa.Table:
    if scope is None:
        return table
    return table.add_column(1, SCOPE, pa.array([scope] * table.num_rows, type=pa.string()))


def wanted_columns(src: Source) -> list[str]:
    cols = list(dict.fromkeys(src.columns.values()))
    if src.wilaya_column and src.wilaya_column not in cols:
        cols.append(src.wilaya_column)
    return cols


# --------------------------------------------------------------------------- CSV

_SAMPLE = 1 << 20


def detect_encoding(path: Path, sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        cut = sample
        # do not fail on a multi-byte character cut by the sample's end
        for _ in range(4):
            try:
                cut.decode("utf-8")
                return "utf-8"
            except UnicodeDecodeError as e:
                if e.start >= len(cut) - 3 and len(sample) == _SAMPLE:
                    cut = cut[: e.start]
                    continue
                raise
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=["cp1256", "cp1252", "latin_1"]).best()
    if best is None:
        return "cp1252"
    return {"windows-1256": "cp1256", "windows-1252": "cp1252"}.get(best.encoding, best.encoding)


def detect_delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=";,\t|").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in ";,\t|"}
        return max(counts, key=counts.get)


def _csv_params(src: Source, path: Path, location: str) -> tuple[str, str, list[str]]:
    try:
        with open(path, "rb") as fh:
            sample = fh.read(_SAMPLE)
    except OSError as e:
        raise SourceError(f"cannot read the file: {e.strerror}", source=src.name, location=location)
    if not sample.strip():
        raise SourceError("the file is empty", source=src.name, location=location,
                          expected="a header line and data rows")
    encoding = detect_encoding(path, sample) if src.encoding == "auto" else src.encoding
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r}", source=src.name, location=location,
                          expected="utf-8, utf-8-sig, cp1256 (windows-1256), cp1252 or latin-1")
    try:
        text = sample.decode(encoding, errors="strict" if len(sample) < _SAMPLE else "ignore")
    except UnicodeDecodeError as e:
        raise SourceError(
            f"the file is not valid {encoding} (byte {e.start})", source=src.name, location=location,
            hint="declare the right encoding in the sources file, e.g. encoding: cp1256",
        )
    text = text.lstrip("\ufeff")
    delimiter = detect_delimiter(text) if src.delimiter == "auto" else src.delimiter
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    header = [_norm_header(h) for h in header]
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise SourceError(f"duplicate column name(s) {dup} in the header", source=src.name,
                          location=location, row=1, expected="each column named once")
    return encoding, delimiter, header


def _decode_error(src: Source, location: str, encoding: str, err: Exception) -> SourceError:
    return SourceError(
        f"the file is not valid {encoding}: {err}", source=src.name, location=location,
        hint="save it as UTF-8 or declare its encoding (e.g. encoding: cp1256 for Arabic "
        "Windows files) in the sources file",
    )


def csv_chunks(src: Source, path: Path, location: str) -> Iterator[Chunk]:
    chunk_rows = src.chunk_rows
    encoding, delimiter, header = _csv_params(src, path, location)
    mapping = match_columns(wanted_columns(src), header, source=src.name, location=location)
    scope = _scope_from_filename(src, path)
    needed = list(dict.fromkeys(mapping.values()))
    invalid: list[Any] = []

    def handler(row: Any) -> str:
        invalid.append(row)
        return "skip"

    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=header, skip_rows=1, encoding=encoding.replace("utf-8-sig", "utf8"),
                block_size=8 << 20,
            ),
            # blank lines are "invalid" here, so that a file with any goes to the slow path,
            # which numbers lines exactly
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=handler,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header}, include_columns=needed,
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
        tables: list[pa.Table] = []
        n = yielded = 0
        for batch in reader:
            if invalid or _has_blank_row(batch):
                invalid.append("blank line")  # the slow path numbers lines exactly
                break
            t = pa.Table.from_batches([batch]).rename_columns([mapping_rev(mapping, c) for c in batch.schema.names])
            rows = pa.array(range(n + 2, n + 2 + t.num_rows), type=pa.int64())
            n += t.num_rows
            tables.append(t.add_column(0, ROW, rows))
            if sum(x.num_rows for x in tables) >= chunk_rows:
                yield Chunk(_with_scope(pa.concat_tables(tables), scope), location)
                yielded = n
                tables = []
        if not invalid:
            if tables:
                yield Chunk(_with_scope(pa.concat_tables(tables), scope), location)
            return
    except (pa.ArrowInvalid, OSError) as e:
        if "UTF8" in str(e) or "utf8" in str(e).lower():
            raise _decode_error(src, location, encoding, e) from None
        log.info("%s: fast CSV path failed (%s); reading line by line", location, e)
    except UnicodeDecodeError as e:
        raise _decode_error(src, location, encoding, e) from None
    # Slow path for rows the fast reader could not split: re-read line by line, with exact
    # line numbers, after the rows already yielded (all of them well-formed).
    yield from _csv_slow(src, path, location, encoding, delimiter, header, mapping, scope,
                         skip_rows=yielded, chunk_rows=chunk_rows)


def _has_blank_row(batch: pa.RecordBatch) -> bool:
    blank = None
    for column in batch.columns:
        empty = pc.equal(column, "")
        blank = empty if blank is None else pc.and_(blank, empty)
    return blank is not None and bool(pc.any(blank).as_py())


def mapping_rev(mapping: dict[str, str], actual: str) -> str:
    for wanted, found in mapping.items():
        if found == actual:
            return wanted
    return actual


def _csv_slow(
    src: Source, path: Path, location: str, encoding: str, delimiter: str, header: list[str],
    mapping: dict[str, str], scope: str | None, *, skip_rows: int, chunk_rows: int,
) -> Iterator[Chunk]:
    idx = {w: header.index(f) for w, f in mapping.items()}
    cols: dict[str, list[Any]] = {w: [] for w in mapping}
    rows: list[int] = []
    bad: list[BadRow] = []
    seen = 0
    short_last: BadRow | None = None
    try:
        with open(path, encoding=encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            next(reader, None)
            start = reader.line_num + 1
            for rec in reader:
                line = start
                start = reader.line_num + 1
                if not rec:
                    continue
                seen += 1
                if seen <= skip_rows:
                    continue
                if len(rec) != len(header):
                    raw = {f"field {i + 1}": v for i, v in enumerate(rec)}
                    reason = (f"row has {len(rec)} field(s), expected {len(header)} "
                              f"separated by {delimiter!r}")
                    bad.append(BadRow(line, None, "bad_row_shape", reason, raw))
                    short_last = bad[-1] if len(rec) < len(header) else None
                else:
                    short_last = None
                    rows.append(line)
                    for w, i in idx.items():
                        cols[w].append(rec[i])
                if len(rows) >= chunk_rows:
                    yield _slow_chunk(rows, cols, scope, location, bad)
                    rows, bad = [], []
                    cols = {w: [] for w in mapping}
            if short_last is not None:  # the file's last record is cut short
                short_last.reason += " — the file looks truncated"
    except UnicodeDecodeError as e:
        raise _decode_error(src, location, encoding, e) from None
    except csv.Error as e:
        raise SourceError(f"the CSV cannot be parsed: {e}", source=src.name, location=location,
                          row=start) from None
    if rows or bad:
        yield _slow_chunk(rows, cols, scope, location, bad)


def _slow_chunk(rows: list[int], cols: dict[str, list[Any]], scope: str | None, location: str,
                bad: list[BadRow]) -> Chunk:
    arrays = [pa.array(rows, type=pa.int64())] + [pa.array(v, type=pa.string()) for v in cols.values()]
    t = pa.Table.from_arrays(arrays, names=[ROW, *cols])
    return Chunk(_with_scope(t, scope), location, list(bad))


def csv_units(config: Config, src: Source) -> list[Unit]:
    return [_file_unit(config, src, p, csv_chunks) for p in _files(config, src)]


def _files(config: Config, src: Source) -> list[Path]:
    files = config.files(src)
    if not files:
        raise SourceError("no file matches the path", source=src.name,
                          location=str(config.base / (src.path or "")),
                          hint="check the path and glob in the sources file")
    return files


def _file_unit(config: Config, src: Source, path: Path,
               reader: Callable[[Source, Path, str], Iterator[Chunk]]) -> Unit:
    location = config.display(path)
    if not path.exists():
        raise SourceError("file not found", source=src.name, location=location)
    try:
        checksum = sha256_file(path)
    except OSError as e:  # a directory, no permission, I/O error: not a traceback
        raise SourceError(f"cannot read the file: {e.strerror or e}", source=src.name,
                          location=location, expected="a readable file") from None
    return Unit(location=location, checksum=checksum,
                chunks=lambda: reader(src, path, location), path=path)


# --------------------------------------------------------------------------- Excel

_HEADER_SCAN = 40


def excel_chunks(src: Source, path: Path, location: str) -> Iterator[Chunk]:
    import fastexcel

    from . import xlsx

    def unreadable(e: Exception) -> SourceError:
        detail = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return SourceError(
            f"cannot open the workbook ({type(e).__name__}: {detail})", source=src.name,
            location=location,
            expected="an .xlsx workbook; the file may be truncated, damaged or of another format",
        )

    try:
        reader = fastexcel.read_excel(str(path))
        names = list(reader.sheet_names)
        wb = xlsx.Workbook(path)
    except (fastexcel.FastExcelError, xlsx.XlsxError, OSError) as e:
        raise unreadable(e) from None
    try:
        yield from _excel_sheets(src, path, location, reader, wb, names, unreadable)
    finally:
        wb.close()


def _excel_sheets(src: Source, path: Path, location: str, reader: Any, wb: Any, names: list[str],
                  unreadable: Callable[[Exception], SourceError]) -> Iterator[Chunk]:
    import fastexcel

    from . import xlsx

    chosen = [n for n in names if fnmatch.fnmatch(n, src.sheets)] if src.sheets else names
    if not chosen:
        raise SourceError(
            f"no sheet matches {src.sheets!r}", source=src.name, location=location,
            expected="sheets: " + ", ".join(repr(n) for n in names),
        )
    scope = _scope_from_filename(src, path)
    wanted = wanted_columns(src)
    found_any = False
    first_error: SourceError | None = None
    for name in chosen:
        sheet_loc = f"{location} [{name}]"
        scan = (src.header_row + 1) if src.header_row else _HEADER_SCAN + 1
        try:
            head = xlsx.sheet_head(wb, name, scan)
        except xlsx.XlsxError as e:
            raise unreadable(e) from None
        try:
            hdr_row, data_start, header = _find_header(head.rows, head.merged, wanted, src.header_row)
        except SourceError as e:
            if src.sheets is None:
                # without an explicit sheet pattern, a sheet with no table header is a notes sheet
                log.info("%s: no data table (%s)", sheet_loc, e)
                first_error = first_error or e
                continue
            raise SourceError(e.message, source=src.name, location=sheet_loc, expected=e.expected) from None
        # a sheet whose header names some of the columns but not all is an error, never skipped
        mapping = match_columns(wanted, header, source=src.name, location=sheet_loc,
                                where=f"header (row {hdr_row + 1})")
        found_any = True
        idx = {w: header.index(f) for w, f in mapping.items()}
        try:
            data = xlsx.read_rows(reader, name, data_start, sorted(set(idx.values())))
        except (fastexcel.FastExcelError, xlsx.XlsxError) as e:
            raise unreadable(e) from None
        arrays = [data.rows] + [data.columns[i] for i in idx.values()]
        t = pa.Table.from_arrays(arrays, names=[ROW, *idx])
        bad: list[BadRow] = []
        by_col = {i: header[i] for i in idx.values()}
        errors = [e for e in data.cell_errors if e.column in by_col]
        if errors:
            # a formula error is not an empty cell: the row is rejected, naming the cell
            rows_with_errors: dict[int, list[Any]] = {}
            for e in errors:
                rows_with_errors.setdefault(e.row, []).append(e)
            keep = pc.invert(pc.is_in(t.column(ROW), pa.array(list(rows_with_errors), pa.int64())))
            rejected = t.filter(pc.invert(keep)).to_pylist()
            for rec in rejected:
                errs = rows_with_errors[rec[ROW]]
                raw = {mapping[w]: (_text(v) if v is not None else None) for w, v in rec.items()
                       if w in mapping}
                for e in errs:
                    raw[by_col[e.column]] = e.error
                reason = "; ".join(
                    f"column {by_col[e.column]!r}: the cell holds the formula error {e.error}, "
                    f"expected a value" for e in errs)
                bad.append(BadRow(rec[ROW], by_col[errs[0].column], "cell_error", reason, raw))
            t = t.filter(keep)
        yield Chunk(_with_scope(t, scope), sheet_loc, bad)
    if not found_any and first_error is not None:
        if not first_error.message.startswith("no header row"):
            raise first_error  # names the sheet, its header row and the missing column
        raise SourceError(
            "no sheet holds the expected table", source=src.name, location=location,
            expected=f"{first_error.message} ({first_error.expected})",
        )


def _find_header(rows: list[list[Any]], merged: list[Any], wanted: list[str],
                 header_row: int | None = None) -> tuple[int, int, list[str]]:
    """Find the header row: the one (possibly two, with merged parent cells) naming most columns."""
    spans: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for rng in merged:
        (r0, c0), (r1, c1) = rng
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                spans[(r, c)] = (r0, c0, r1, c1)
    targets = {_fold(w) for w in wanted}
    best = (-1, 0, 0, [])
    scan = [header_row - 1] if header_row else range(min(_HEADER_SCAN, len(rows)))
    for r in scan:
        if r >= len(rows):
            break
        width = len(rows[r])
        names: list[str] = []
        two_rows = False
        for c in range(width):
            span = spans.get((r, c))
            top = rows[span[0]][span[1]] if span else rows[r][c]
            top = _norm_header(top) if top not in (None, "") else ""
            name = top
            if span and span[3] > span[1] and span[0] == r and span[2] == r and r + 1 < len(rows):
                sub = rows[r + 1][c] if c < len(rows[r + 1]) else ""
                if sub not in (None, ""):
                    name = f"{top} / {_norm_header(sub)}"
                    two_rows = True
            names.append(name)
        score = sum(1 for n in names if _fold(n) in targets)
        if score > best[0]:
            best = (score, r, r + (2 if two_rows else 1), names)
    score, r, start, names = best
    # fewer than half of the columns: not the table's header (a title, a notes sheet)
    if score <= 0 or score * 2 < len(targets):
        raise SourceError(
            f"no header row found {'at row ' + str(header_row) if header_row else f'in the first {_HEADER_SCAN} rows'}",
            expected="a row naming the columns " + ", ".join(repr(w) for w in wanted),
        )
    return r, start, names


def excel_units(config: Config, src: Source) -> list[Unit]:
    return [_file_unit(config, src, p, excel_chunks) for p in _files(config, src)]


# --------------------------------------------------------------------------- SQL


def sql_units(config: Config, src: Source, watermark: str | None) -> list[Unit]:
    url = config.url(src)
    location = sql_location(src)
    state: dict[str, Any] = {"from": watermark, "to": watermark}

    def chunks() -> Iterator[Chunk]:
        yield from _sql_chunks(src, url, location, state)

    return [Unit(location=location, checksum=None, chunks=chunks, watermark=state)]


def sql_location(src: Source) -> str:
    """How a SQL source's table is named in the audit: ``schema.table`` or ``table``."""
    return f"{src.db_schema}.{src.table}" if src.db_schema else str(src.table)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<url>"


def _sql_chunks(src: Source, url: str, location: str, state: dict[str, Any]) -> Iterator[Chunk]:
    import sqlalchemy as sa

    shown = _safe_url(url)
    sqlite_file = re.match(r"^sqlite(?:\+\w+)?:///(?!:memory:)([^?]+)", url)
    if sqlite_file and not Path(sqlite_file.group(1)).is_file():
        # connecting would silently create an empty database
        raise SourceError("database file not found", source=src.name, location=sqlite_file.group(1),
                          expected="an existing SQLite file")
    try:
        engine = sa.create_engine(url)
    except Exception as e:
        raise SourceError(f"invalid database URL {shown}: {e}", source=src.name, location=location,
                          expected="a SQLAlchemy URL such as postgresql+psycopg://user@host/db")
    read = 0
    try:
        with engine.connect() as conn:
            try:
                table = sa.Table(src.table, sa.MetaData(), schema=src.db_schema, autoload_with=conn)
            except sa.exc.NoSuchTableError:
                names = sa.inspect(conn).get_table_names(schema=src.db_schema)
                raise SourceError(f"no table {location!r} in {shown}", source=src.name,
                                  location=location, expected="one of: " + ", ".join(names))
            found = [c.name for c in table.columns]
            mapping = match_columns(wanted_columns(src), found, source=src.name, location=location,
                                    where=f"table {location}")
            cols = list(dict.fromkeys(mapping.values()))
            sqlite = conn.dialect.name == "sqlite"

            def raw(c: str) -> Any:
                col = table.c[c]
                # SQLite stores dates as text; SQLAlchemy's own parsing would raise on the first
                # malformed one and fail the table: let the validator judge each row instead
                if sqlite and isinstance(col.type, (sa.Date, sa.DateTime, sa.Time, sa.Numeric)):
                    return sa.type_coerce(col, sa.String()).label(c)
                return col

            query = sa.select(*[raw(c) for c in cols])
            if src.incremental:
                wm_col = table.c[mapping[src.incremental]]
                if state["from"] is not None:
                    bound = state["from"] if sqlite else _bind_watermark(wm_col, state["from"])
                    query = query.where(raw(mapping[src.incremental]) > bound)
            result = conn.execution_options(stream_results=True, yield_per=src.chunk_rows).execute(query)
            wm_idx = cols.index(mapping[src.incremental]) if src.incremental else None
            names = [mapping_rev(mapping, c) for c in cols]
            for part in result.partitions():
                columns = list(zip(*part))
                arrays = [pa.array(range(read + 1, read + 1 + len(part)), type=pa.int64())]
                arrays += [_sql_column_array(list(col)) for col in columns]
                read += len(part)
                if wm_idx is not None:
                    _advance_watermark(state, columns[wm_idx])
                yield Chunk(pa.Table.from_arrays(arrays, names=[ROW, *names]), location)
    except SourceError:
        raise
    except sa.exc.SQLAlchemyError as e:
        orig = getattr(e, "orig", None) or e
        when = f"after {read} rows" if read else "before any row was read"
        raise SourceError(
            f"database error {when} ({type(orig).__name__}: {str(orig).strip().splitlines()[0] if str(orig).strip() else ''})",
            source=src.name, location=f"{shown} {location}",
            hint="nothing of this batch was applied; the load can simply be run again",
        ) from None
    finally:
        engine.dispose()


def _advance_watermark(state: dict[str, Any], values: tuple[Any, ...]) -> None:
    """Move the watermark to the greatest value read, compared as the database's own values
    (numbers as numbers, not as text). Values more than a day in the future are not taken:
    one mistyped year (2099) must not stop every later load of the source."""
    cap = dt.datetime.now() + dt.timedelta(days=1)
    cap_text = cap.strftime("%Y-%m-%d %H:%M:%S")

    def plausible(v: Any) -> bool:
        if isinstance(v, dt.datetime):
            return v.replace(tzinfo=None) <= cap
        if isinstance(v, dt.date):
            return v <= cap.date()
        if isinstance(v, str) and re.match(r"\d{4}-\d{2}-\d{2}", v):
            return v[:19] <= cap_text
        return True

    candidates = [v for v in values if v is not None and plausible(v)]
    if not candidates:
        return
    try:
        top = max(candidates)
    except TypeError:  # SQLite: one column mixing types
        top = max(candidates, key=_text)
    current = state.get("top")
    try:
        newer = current is None or top > current
    except TypeError:
        newer = _text(top) > _text(current)
    if newer:
        state["top"] = top
        state["to"] = _text(top)


def _bind_watermark(column: Any, value: str) -> Any:
    import sqlalchemy as sa

    if isinstance(column.type, sa.DateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(column.type, sa.Date):
        return dt.date.fromisoformat(value[:10])
    if isinstance(column.type, (sa.Integer, sa.Numeric)):
        return float(value) if "." in value else int(value)
    return value


def prefetch(chunks: Iterator[Chunk], depth: int = 1) -> Iterator[Chunk]:
    """Read the next chunk in a background thread while the caller loads the current one.

    Reading (database fetch, CSV parse, Excel decode) and loading (DuckDB) overlap on two
    cores. An exception of the reader is re-raised in the caller, in order.
    """
    import queue
    import threading

    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        q.put(("chunk", chunk), timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", None))
        except BaseException as e:  # noqa: BLE001 — handed to the consumer
            q.put(("error", e))

    t = threading.Thread(target=work, name="etl-prefetch", daemon=True)
    t.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        t.join(timeout=5)


def units(config: Config, src: Source, watermark: str | None = None) -> list[Unit]:
    if src.connector == "csv":
        return csv_units(config, src)
    if src.connector == "excel":
        return excel_units(config, src)
    return sql_units(config, src, watermark)

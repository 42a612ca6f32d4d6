"""Validation of a staged chunk, the same for every connector, run as SQL inside DuckDB.

For each target column the raw source value is parsed according to the column's kind; a value
that is present but cannot be parsed, a missing required value, a value out of range, an
unknown or ambiguous commune, an unknown service or code, and every dataset rule (closing before
submission, …) becomes a *problem* of the row. A row with at least one problem is rejected with
all its problems listed; the others go on to the merge.

Values are never pasted into SQL: source column names are quoted identifiers, configuration
values (date formats, time zone) are bound parameters, and lookups (codes, communes) are joined
from small tables registered from Python.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from .connectors import ROW, SCOPE
from .schema import Column, Dataset
from .sources import Source
from .territory import Resolver

log = logging.getLogger(__name__)

PARSED = "_parsed"
STAGE = "_stage"


def q(identifier: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + identifier.replace('"', '""') + '"'


SPACES = "'[\\s\\x{00a0}\\x{202f}]'"  # RE2: spaces, no-break and narrow no-break spaces
NORM_KEY = "lower(strip_accents(regexp_replace(trim(CAST({x} AS VARCHAR)), '[\\s_\\-]+', ' ', 'g')))"

_FMT_HUMAN = {"%d": "dd", "%m": "mm", "%Y": "yyyy", "%y": "yy", "%H": "HH", "%M": "MM", "%S": "SS"}


def human_format(fmt: str) -> str:
    for k, v in _FMT_HUMAN.items():
        fmt = fmt.replace(k, v)
    return fmt


@dataclass
class Prepared:
    """What a validation pass needs besides the chunk: bound parameters and lookup tables."""

    sql: str
    params: dict[str, Any]


class Validator:
    """Compiles a source's validation to SQL once; runs it on each staged chunk."""

    def __init__(self, con: duckdb.DuckDBPyConnection, dataset: Dataset, source: Source,
                 resolver: Resolver) -> None:
        self.con = con
        self.ds = dataset
        self.src = source
        self.resolver = resolver
        self._codes_registered = False

    # ---------------------------------------------------------------- lookups
    def _register_codes(self) -> None:
        if self._codes_registered:
            return
        for col in self.ds.columns:
            if col.kind != "code" or col.name not in self.src.columns:
                continue
            assert col.codes is not None
            raws, codes = [], []
            for code, synonyms in col.codes.items():
                for s in (code, *synonyms):
                    raws.append(s)
                    codes.append(code)
            t = pa.table({"raw": raws, "code": codes})
            self.con.register("_codes_src", t)
            materialize(self.con, "_codes_" + col.name,
                        f"SELECT DISTINCT {NORM_KEY.format(x='raw')} AS key, code FROM _codes_src")
            self.con.unregister("_codes_src")
        self._codes_registered = True

    def _scope_expr(self, stage_cols: set[str]) -> str:
        if self.src.wilaya_column:
            return self._text_sql(self.src.wilaya_column)
        if SCOPE in stage_cols:
            return f"s.{q(SCOPE)}"
        return "CAST(NULL AS VARCHAR)"

    def _register_communes(self, column: str, scope_sql: str) -> None:
        pairs = self.con.execute(
            f"SELECT DISTINCT {self._text_sql(column)} AS raw, "
            f"{scope_sql} AS scope FROM {STAGE} s"
        ).fetchall()
        res = self.resolver.resolve_many(pairs)
        raw, scope, code, status, cands = [], [], [], [], []
        for (r, sc), resolution in res.items():
            raw.append(r)
            scope.append(sc)
            code.append(resolution.commune_code)
            # the scope itself (wilaya column, file name, constant) is what is wrong
            status.append("bad_scope" if resolution.method == "wilaya" and resolution.status != "ok"
                          else resolution.status)
            cands.append("; ".join(resolution.candidates) if resolution.candidates else None)
        t = pa.table({"raw": pa.array(raw, pa.string()), "scope": pa.array(scope, pa.string()),
                      "code": pa.array(code, pa.string()), "status": pa.array(status, pa.string()),
                      "candidates": pa.array(cands, pa.string())})
        with contextlib.suppress(Exception):
            self.con.unregister("_communes")
        self.con.register("_communes", t)

    def _text_sql(self, src_col: str) -> str:
        """The trimmed text of a source value, NULL when blank. Numbers read from a workbook
        as floats give their whole-number text when integral ("6100", not "6100.0")."""
        x = f"s.{q(src_col)}"
        stype = self._stage_types.get(src_col, "VARCHAR")
        if stype in ("DOUBLE", "FLOAT"):
            return (f"NULLIF(trim(CASE WHEN {x} = floor({x}) AND abs({x}) < 9e15 "
                    f"THEN CAST(CAST({x} AS BIGINT) AS VARCHAR) ELSE CAST({x} AS VARCHAR) END), '')")
        return f"NULLIF(trim(CAST({x} AS VARCHAR)), '')"

    # ---------------------------------------------------------------- parsing
    def _parse(self, col: Column, src_col: str, stype: str, params: dict[str, Any]) -> tuple[str, str, str]:
        """(parsed expression, problem code, expected text) for one column."""
        x = f"s.{q(src_col)}"
        text = self._text_sql(src_col)
        typed_num = stype.startswith(("BIGINT", "INTEGER", "DOUBLE", "DECIMAL", "FLOAT", "HUGEINT",
                                      "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER"))
        typed_time = stype.startswith(("TIMESTAMP", "DATE"))
        if col.kind in ("text",):
            return text, "missing", "a value"
        if col.kind == "int":
            if typed_num:
                return f"CASE WHEN {x} = floor({x}) THEN TRY_CAST({x} AS BIGINT) END", "bad_number", "a whole number"
            # digits only: TRY_CAST alone rounds '4.5' to 5 and reads '1e3' or '0x10'
            digits = f"regexp_replace({text}, {SPACES}, '', 'g')"
            return (f"CASE WHEN regexp_full_match({digits}, '[+-]?[0-9]+') "
                    f"THEN TRY_CAST({digits} AS BIGINT) END",
                    "bad_number", "a whole number")
        if col.kind == "decimal":
            if typed_num:
                return f"TRY_CAST({x} AS {col.type})", "bad_number", "a number"
            cleaned = f"regexp_replace({text}, {SPACES}, '', 'g')"
            if self.src.thousands.strip():
                cleaned = f"replace({cleaned}, {_lit_param(params, self.src.thousands.strip())}, '')"
            # only digits and the declared decimal mark: "1.250" under a decimal comma is
            # not silently read as 1.25, nor "1,5" under a decimal point as 15
            if self.src.decimal == ",":
                shape, expected = "[+-]?[0-9]+(,[0-9]+)?", "a number with a decimal comma (1234,50)"
                cleaned_num = f"replace({cleaned}, ',', '.')"
            else:
                shape, expected = "[+-]?[0-9]+(\\.[0-9]+)?", "a number with a decimal point (1234.50)"
                cleaned_num = cleaned
            return (f"CASE WHEN regexp_full_match({cleaned}, {_lit_param(params, shape)}) "
                    f"THEN TRY_CAST({cleaned_num} AS {col.type}) END", "bad_number", expected)
        if col.kind == "date":
            if typed_time:
                return f"CAST({x} AS DATE)", "bad_date", "a date"
            fmts = self._formats(self.src.date_formats)
            return (f"CAST(TRY_STRPTIME({text}, {_lit_param(params, fmts)}) AS DATE)", "bad_date",
                    "a date as " + " or ".join(human_format(f) for f in fmts))
        if col.kind == "timestamp":
            if stype.startswith("TIMESTAMP WITH TIME ZONE"):
                return f"timezone('UTC', {x})", "bad_timestamp", "a date and time"
            if typed_time:
                parsed = f"CAST({x} AS TIMESTAMP)"
            elif self.src.timestamp_formats:
                fmts = self._formats(self.src.timestamp_formats)
                parsed = f"TRY_STRPTIME({text}, {_lit_param(params, fmts)})"
            else:
                parsed = f"TRY_CAST({text} AS TIMESTAMP)"
            if self.src.timezone != "UTC":
                icu = f"timezone('UTC', timezone({_lit_param(params, self.src.timezone)}, {parsed}))"
                fixed = fixed_offset(self.src.timezone)
                if fixed is None:
                    parsed = icu
                else:
                    # the zone kept one offset over 1990-2100 (Africa/Algiers: +1 since 1981):
                    # subtract it, much cheaper than ICU on every row; ICU outside that span
                    parsed = (f"CASE WHEN {parsed} BETWEEN TIMESTAMP '1990-01-02' AND TIMESTAMP "
                              f"'2099-12-30' THEN {parsed} - {_lit_param(params, fixed)} ELSE {icu} END")
            if not typed_time:
                # a text that carries its own offset (Z, +01:00) is converted by it, not by the
                # source's time zone (the length test spares the pattern to plain local times)
                offset = _lit_param(params, r"(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$")
                parsed = (f"CASE WHEN length({text}) > 19 AND regexp_matches({text}, {offset}) THEN "
                          f"timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ)) ELSE {parsed} END")
            fmts_h = (" or ".join(human_format(f) for f in self.src.timestamp_formats)
                      if self.src.timestamp_formats else "yyyy-mm-dd HH:MM[:SS]")
            return parsed, "bad_timestamp", f"a date and time as {fmts_h}"
        if col.kind == "code":
            assert col.codes is not None
            alias = q("c_" + col.name)
            self._joins.append(f" LEFT JOIN {q('_map_' + col.name)} {alias} ON {alias}.raw = {text}")
            return f"{alias}.code", "bad_code", "one of " + ", ".join(col.codes)
        if col.kind == "service":
            alias = q("sv_" + col.name)
            self._joins.append(f" LEFT JOIN dim_service {alias} ON {alias}.service_code = upper({text})")
            return f"{alias}.service_code", "unknown_service", "a service code of dim_service"
        if col.kind == "commune":
            return "cm.code", "unknown_commune", "an ONS code, postal code or commune name"
        raise ValueError(f"unknown column kind {col.kind}")

    def _formats(self, fmts: list[str]) -> list[str]:
        out = list(fmts)
        if self.src.connector in ("excel", "sql"):
            # native date cells / typed columns arrive as ISO text when a column mixes types
            for iso in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
                if iso not in out:
                    out.append(iso)
        return out

    def compile(self) -> Prepared:
        """One statement: an inner query parses every column once (``r$i`` raw text, then the
        typed value under the warehouse column's name); the outer query lists the problems,
        building the list only for rows that have one."""
        self._register_codes()
        stage_types = dict(self.con.execute(f"SELECT column_name, column_type FROM "
                                            f"(DESCRIBE {STAGE})").fetchall())
        self._stage_types = stage_types
        stage_cols = set(stage_types)
        scope_sql = self._scope_expr(stage_cols)
        params: dict[str, Any] = {}
        self._joins: list[str] = []
        inner = [f"s.{q(ROW)} AS {q(ROW)}"]
        outer = [q(ROW)]
        ok: list[str] = []          # conjunction: the row has no column problem
        problems: list[str] = []    # one CASE per possible problem, NULL when absent
        commune_src = None
        for i, col in enumerate(self.ds.columns):
            src_col = self.src.columns.get(col.name)
            if src_col is None:
                outer.append(f"CAST(NULL AS {col.type}) AS {q(col.name)}")
                continue
            x = f"s.{q(src_col)}"
            raw = q(f"r${i}")
            if col.kind == "code":
                self._register_code_map(col, src_col)
            expr, code, expected = self._parse(col, src_col, stage_types[src_col], params)
            if col.kind == "commune":
                commune_src = src_col
            inner.append(f"{self._text_sql(src_col)} AS {raw}")
            inner.append(f"TRY_CAST({expr} AS {col.type}) AS {q(col.name)}")
            outer.append(q(col.name))
            v = q(col.name)
            label = f"column {src_col!r}"
            got = f"to_json({raw})"
            if col.required or col.name in self.ds.key:
                ok.append(f"{raw} IS NOT NULL")
                problems.append(
                    f"CASE WHEN {raw} IS NULL THEN {{'code': 'missing', 'column': {_lit_param(params, src_col)}, "
                    f"'message': {_lit_param(params, f'{label} is empty (required)')}}} END"
                )
            if col.kind == "text":
                continue
            if col.kind == "commune":
                ok.append(f"({raw} IS NULL OR cm_status = 'ok')")
                scope_col = self.src.wilaya_column or src_col
                scope_from = (f"column {self.src.wilaya_column!r}" if self.src.wilaya_column else
                              "the file name" if self.src.wilaya_from_filename else "the sources file")
                problems.append(
                    f"CASE WHEN {raw} IS NOT NULL AND cm_status = 'bad_scope' THEN {{'code': 'unknown_wilaya', "
                    f"'column': {_lit_param(params, scope_col)}, 'message': "
                    f"{_lit_param(params, 'unknown wilaya ')} || to_json(_scope_v) || "
                    f"{_lit_param(params, ' (from ' + scope_from + '); expected a wilaya code 01-69 or name')}}} "
                    f"WHEN {raw} IS NOT NULL AND cm_status = 'ambiguous' THEN {{'code': 'ambiguous_commune', "
                    f"'column': {_lit_param(params, src_col)}, 'message': {_lit_param(params, label + ': commune ')} "
                    f"|| {got} || ' is ambiguous; candidates: ' || coalesce(_candidates, '')}} "
                    f"WHEN {raw} IS NOT NULL AND (cm_status IS NULL OR cm_status <> 'ok') THEN {{'code': 'unknown_commune', "
                    f"'column': {_lit_param(params, src_col)}, 'message': {_lit_param(params, label + ': unknown commune ')} "
                    f"|| {got} || coalesce(' (' || CASE WHEN _scope_v IS NOT NULL THEN 'in wilaya ' || _scope_v "
                    f"|| ', ' ELSE '' END || 'closest: ' || _candidates || ')', '') "
                    f"|| {_lit_param(params, '; expected ' + expected)}}} END"
                )
                continue
            ok.append(f"({raw} IS NULL OR {v} IS NOT NULL)")
            problems.append(
                f"CASE WHEN {raw} IS NOT NULL AND {v} IS NULL THEN {{'code': {_lit_param(params, code)}, "
                f"'column': {_lit_param(params, src_col)}, "
                f"'message': {_lit_param(params, label + ': expected ' + expected + ', got ')} || {got}}} END"
            )
            if col.min is not None or col.max is not None:
                conds = []
                if col.min is not None:
                    conds.append(f"{v} < {_lit_param(params, float(col.min))}")
                if col.max is not None:
                    conds.append(f"{v} > {_lit_param(params, float(col.max))}")
                bad = " OR ".join(conds)
                rng = (f"at least {col.min:g}" if col.max is None else
                       f"between {col.min:g} and {col.max:g}" if col.min is not None else
                       f"at most {col.max:g}")
                rcode = "negative_amount" if col.min == 0 and col.max is None else "out_of_range"
                ok.append(f"NOT coalesce({bad}, false)")
                problems.append(
                    f"CASE WHEN {bad} THEN {{'code': {_lit_param(params, rcode)}, "
                    f"'column': {_lit_param(params, src_col)}, "
                    f"'message': {_lit_param(params, f'{label}: expected a value {rng}, got ')} || {got}}} END"
                )
        join = "".join(self._joins)
        if commune_src is not None:
            self._register_communes(commune_src, scope_sql)
            join += (f" LEFT JOIN _communes cm ON coalesce(cm.raw, '') = "
                     f"coalesce({self._text_sql(commune_src)}, '') "
                     f"AND coalesce(cm.scope, '') = coalesce({scope_sql}, '')")
            inner += ["cm.status AS cm_status", "cm.candidates AS _candidates", f"{scope_sql} AS _scope_v"]
        else:
            inner += ["CAST(NULL AS VARCHAR) AS _candidates"]
        # dataset rules, over parsed values, for rows whose columns are all fine
        rule_ok, rule_problems = [], []
        for rule in self.ds.rules:
            src_col = self.src.columns.get(rule.columns[0], rule.columns[0])
            rule_ok.append(f"coalesce({rule.sql}, true)")
            rule_problems.append(
                f"CASE WHEN NOT ({rule.sql}) THEN {{'code': {_lit_param(params, rule.name)}, "
                f"'column': {_lit_param(params, src_col)}, 'message': {_lit_param(params, rule.reason)}}} END"
            )
        cols_ok = " AND ".join(ok) or "true"
        rules_ok = " AND ".join(rule_ok) or "true"

        def plist(items: list[str]) -> str:
            return "list_filter([" + ", ".join(items) + "], lambda p: p IS NOT NULL)" if items else "[]"

        problems_sql = (f"CASE WHEN ({cols_ok}) AND ({rules_ok}) THEN [] "
                        f"WHEN ({cols_ok}) THEN {plist(rule_problems)} ELSE {plist(problems)} END")
        sql = (f"SELECT {', '.join(outer)}, "
               f"{problems_sql} AS _problems, _candidates "
               f"FROM (SELECT {', '.join(inner)} FROM {STAGE} s{join})")
        return Prepared(sql, params)

    def _register_code_map(self, col: Column, src_col: str) -> None:
        """Map this chunk's distinct raw values of a coded column to their code (or NULL)."""
        text = self._text_sql(src_col)
        materialize(
            self.con, "_map_" + col.name,
            f"SELECT r.raw, c.code FROM (SELECT DISTINCT {text} AS raw FROM {STAGE} s) r "
            f"LEFT JOIN {q('_codes_' + col.name)} c ON c.key = {NORM_KEY.format(x='r.raw')}",
        )

    def run(self) -> None:
        prepared = self.compile()
        materialize(self.con, PARSED, prepared.sql, prepared.params)


@functools.cache
def fixed_offset(tz: str) -> dt.timedelta | None:
    """The zone's UTC offset if it did not change between 1990 and 2100 (checked weekly, which
    catches any summer time), else None."""
    zone = ZoneInfo(tz)
    day = dt.datetime(1990, 1, 1)
    first = day.replace(tzinfo=zone).utcoffset()
    while day < dt.datetime(2100, 1, 1):
        if day.replace(tzinfo=zone).utcoffset() != first:
            return None
        day += dt.timedelta(days=7)
    return first


def materialize(con: duckdb.DuckDBPyConnection, name: str, sql: str,
                params: dict[str, Any] | None = None) -> pa.Table:
    """Run ``sql`` and expose its result under ``name``, held as Arrow in Python.

    Not a temp table: inside a batch's transaction every replaced temp table is kept until the
    commit (for a rollback), so a 20-million-row batch would hold all its chunks in memory.
    """
    table = con.sql(sql, params=params or None).to_arrow_table()
    with contextlib.suppress(Exception):
        con.unregister(name)
    con.register(name, table)
    return table


def _lit_param(params: dict[str, Any], value: Any) -> str:
    """Bind ``value`` as a named parameter and return its placeholder."""
    for k, v in params.items():
        if v == value and type(v) is type(value):
            return f"${k}"
    name = f"p{len(params)}"
    params[name] = value
    return f"${name}"

"""Read indicators.yaml, check it, and say every problem at once, located.

The checks are small functions registered in ``CHECKS``; each gets one indicator and returns
issues. An indicator with an issue is *broken*: reported, skipped by the engine, shown as
unavailable with the reason by the app. The rest of the catalogue is unaffected.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import sqlglot
from pydantic import BaseModel, ValidationError
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from . import model, yamlio
from .errors import CatalogueError, Issue
from .model import Indicator
from .sources import SOURCES, Source

log = logging.getLogger(__name__)

DEFAULT_PATH = Path("indicators.yaml")
# Wilaya codes after the 2026 reform, used when no warehouse is at hand to list them.
WILAYA_CODES = frozenset(f"{n:02d}" for n in range(1, 70))
PERIOD_END = "period_end"            # the end of the period: a UTC instant (exclusive)
PERIOD_LAST_DAY = "period_last_day"  # its last day in Algiers, a DATE
RESERVED = (PERIOD_END, PERIOD_LAST_DAY)

# sqlglot node classes an expression may contain besides columns, literals and operators.
_ALLOWED_FUNCS: frozenset[type] = frozenset({
    exp.Abs, exp.Round, exp.Floor, exp.Ceil, exp.Least, exp.Greatest, exp.Coalesce,
    exp.Nullif, exp.If, exp.Case, exp.Cast, exp.TryCast, exp.Lower, exp.Upper, exp.Trim,
    exp.Length, exp.Substring, exp.Concat, exp.StartsWith, exp.DateDiff, exp.TimestampTrunc,
    exp.DateTrunc, exp.Extract, exp.Year, exp.Month, exp.Quarter, exp.Day, exp.DayOfWeek,
    exp.Hour, exp.TimeToUnix, exp.Ln, exp.Log, exp.Sqrt, exp.Pow, exp.Sign, exp.StrPosition,
    exp.LastDay, exp.DateFromParts, exp.RegexpLike, exp.And, exp.Or, exp.Xor,
})
_FORBIDDEN: tuple[type, ...] = (
    exp.Query, exp.Subquery, exp.Table, exp.Star, exp.Window, exp.AggFunc, exp.Placeholder,
    exp.Parameter, exp.Dot, exp.Command, exp.DDL, exp.DML, exp.Pragma, exp.Set, exp.Lambda,
    exp.UserDefinedFunction,
)
_BOOLEAN_TOPS: tuple[type, ...] = (exp.Predicate, exp.Connector, exp.Not, exp.Boolean,
                                   exp.RegexpLike, exp.StartsWith)


@dataclass
class Checked:
    """An indicator that passed every check, with its expressions parsed."""

    ind: Indicator
    line: int | None
    exprs: dict[str, exp.Expression] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.ind.id

    @property
    def source(self) -> Source | None:
        return SOURCES.get(self.ind.source) if self.ind.source else None


@dataclass
class Broken:
    id: str
    line: int | None
    label: dict[str, str] | None
    issues: list[Issue]

    @property
    def reason(self) -> str:
        return "; ".join(i.message for i in self.issues)


@dataclass
class Catalogue:
    path: str
    fingerprint: str
    indicators: dict[str, Checked]          # in dependency order (inputs first)
    broken: dict[str, Broken]
    issues: list[Issue]                     # file-level issues and those of broken indicators

    def get(self, indicator_id: str) -> Checked:
        return self.indicators[indicator_id]

    def grains(self, c: Checked) -> tuple[str, ...]:
        """Grains an indicator is computed at."""
        if c.ind.kind == "derived":
            allowed = set(model.GRAINS_ALL)
            for dep in c.inputs:
                allowed &= set(self.grains(self.indicators[dep]))
        else:
            allowed = set(c.source.grains)  # type: ignore[union-attr]
        wanted = c.ind.grains or list(model.GRAINS_ALL)
        return tuple(g for g in model.GRAINS_ALL if g in allowed and g in wanted)

    def territorial(self, c: Checked) -> bool:
        if c.ind.kind == "derived":
            return all(self.territorial(self.indicators[d]) for d in c.inputs)
        return c.source.territorial  # type: ignore[union-attr]

    def dimensions(self, c: Checked) -> tuple[str, ...]:
        return tuple(c.ind.dimensions)


def suggest(word: str, choices: Any, what: str = "did you mean") -> str | None:
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"{what} {match[0]}?" if match else None


_FIELD_NAMES = sorted({
    (f.alias or name)
    for m in (Indicator, model.Part, model.Stock, model.Target, model.Thresholds, model.Text,
              model.Display, model.FixtureTest, model.Expectation, model.TrajectoryStep,
              model.Catalogue)
    for name, f in m.model_fields.items()
})


def _pydantic_issues(err: ValidationError, doc: yamlio.Located, base: tuple, ind_id: str | None,
                     model_cls: type[BaseModel]) -> list[Issue]:
    out = []
    for e in err.errors():
        loc = tuple(e["loc"])
        path = base + loc
        line = doc.line(path)
        where = ".".join(str(x) for x in loc) or "(indicator)"
        if e["type"] == "extra_forbidden":
            key = loc[-1]
            out.append(Issue(doc.file, line, ind_id, f"unknown key {key!r}",
                             suggest(key, _FIELD_NAMES) or "see docs/indicators.md for the keys"))
        elif e["type"] == "missing":
            out.append(Issue(doc.file, line, ind_id, f"missing key {where!r}",
                             "see docs/indicators.md for what each kind needs"))
        elif e["type"] == "literal_error":
            given = e.get("input")
            allowed = e.get("ctx", {}).get("expected", "")
            out.append(Issue(doc.file, line, ind_id, f"{where}: {given!r} is not one of {allowed}",
                             suggest(given, [a.strip(" '") for a in str(allowed).replace(" or ", ",").split(",")])))
        else:
            msg = e["msg"].removeprefix("Value error, ")
            out.append(Issue(doc.file, line, ind_id, f"{where}: {msg}"))
    return out


# --- expression checks -----------------------------------------------------------------------

def parse_expression(text: str) -> exp.Expression:
    """Parse one SQL expression (raises ValueError with what is wrong)."""
    try:
        trees = sqlglot.parse(str(text), read="duckdb")
    except (ParseError, TokenError) as e:
        detail = str(e).splitlines()[0]
        raise ValueError(f"cannot parse {text!r}: {detail}") from None
    except RecursionError:
        raise ValueError(f"{str(text)[:40]!r}… is nested too deeply (brackets within brackets)") from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise ValueError(f"{text!r} holds {len(trees)} statements; write one expression")
    tree = trees[0]
    if isinstance(tree, exp.Star):
        return tree  # refused by the node checks, with what was expected
    if not isinstance(tree, exp.Condition) or isinstance(tree, exp.Query):
        raise ValueError(f"{text!r} is a statement ({type(tree).__name__.upper()}), not an "
                         "expression; write one expression over the source's columns")
    return tree


def _func_name(node: exp.Expression) -> str:
    """The function's name as the steward wrote it (read_csv, not ReadCSV)."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    try:
        return node.sql_name().lower()
    except Exception:  # pragma: no cover - every sqlglot Func has a sql_name
        return type(node).__name__.lower()


def check_expression(text: str, columns: dict[str, str], *, boolean: bool, what: str,
                     allow_period_end: bool = True) -> tuple[exp.Expression | None, list[tuple[str, str | None]]]:
    """Parse and vet an expression; returns the tree and (message, suggestion) problems."""
    try:
        tree = parse_expression(text)
    except ValueError as e:
        return None, [(f"{what}: {e}", "write a SQL expression such as status = 'closed'")]
    problems: list[tuple[str, str | None]] = []
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN):
            kind = ("a subquery" if isinstance(node, (exp.Query, exp.Subquery)) else
                    "an aggregate" if isinstance(node, exp.AggFunc) else
                    "a window function" if isinstance(node, exp.Window) else
                    "a table reference" if isinstance(node, (exp.Table, exp.Dot)) else
                    f"{type(node).__name__}")
            hint = ("the kind (count, sum, ratio …) says how rows are aggregated"
                    if isinstance(node, exp.AggFunc) else
                    "an expression may only use the source's columns")
            problems.append((f"{what}: {kind} is not allowed in an expression ({node.sql('duckdb')[:60]})", hint))
            continue
        if isinstance(node, exp.Func) and type(node) not in _ALLOWED_FUNCS:
            name = _func_name(node)
            problems.append((f"{what}: function {name}() is not allowed",
                             "allowed: arithmetic, comparisons, CASE, coalesce, least, greatest, "
                             "round, abs, date_diff, date_trunc, extract, cast and similar scalar functions"))
            continue
        if isinstance(node, exp.Column):
            if node.table:
                problems.append((f"{what}: {node.sql('duckdb')} names a table; use the bare column name",
                                 f"write {node.name}"))
                continue
            name = node.name
            if name in RESERVED and allow_period_end:
                continue
            if name not in columns:
                problems.append((f"{what}: unknown column {name}",
                                 suggest(name, list(columns) + (list(RESERVED) if allow_period_end else []))
                                 or f"columns of this source: {', '.join(sorted(columns))}"))
    if not problems and boolean:
        top = tree.unnest() if isinstance(tree, exp.Paren) else tree
        is_bool_col = isinstance(top, exp.Column) and columns.get(top.name) == "boolean"
        if not (isinstance(top, _BOOLEAN_TOPS) or is_bool_col or isinstance(top, exp.Case)):
            problems.append((f"{what}: {text!r} is not a condition (true or false for a row)",
                             "compare a column, e.g. status = 'closed'"))
    if not problems and not boolean:
        top = tree.unnest() if isinstance(tree, exp.Paren) else tree
        if isinstance(top, exp.Column) and columns.get(top.name) in ("text", "boolean"):
            problems.append((f"{what}: {top.name} is {columns[top.name]}, a number is needed", None))
        if isinstance(top, exp.Literal) and top.is_string:
            problems.append((f"{what}: a text is not a number", None))
    return tree, problems


# --- the checks ------------------------------------------------------------------------------

@dataclass
class Ctx:
    doc: yamlio.Located
    base: tuple                        # path of the indicator in the document
    ind: Indicator
    ids: set[str]
    wilayas: frozenset[str]
    exprs: dict[str, exp.Expression] = field(default_factory=dict)

    def issue(self, key: tuple, message: str, suggestion: str | None = None) -> Issue:
        return Issue(self.doc.file, self.doc.line(self.base + key), self.ind.id, message, suggestion)


_KIND_FIELDS = {
    "count": {"filter"},
    "sum": {"expr", "filter"},
    "average": {"expr", "filter"},
    "ratio": {"numerator", "denominator", "filter", "zero_denominator"},
    "percentile": {"expr", "p", "filter"},
    "stock": {"expr", "filter", "aggregate"},
    "derived": {"formula"},
}
_REQUIRED = {"sum": {"expr"}, "average": {"expr"}, "ratio": {"numerator", "denominator"},
             "percentile": {"expr", "p"}, "derived": {"formula"}}
_OPTIONAL_SHAPED = ("expr", "p", "numerator", "denominator", "zero_denominator", "formula",
                    "aggregate", "filter")


def check_shape(c: Ctx) -> list[Issue]:
    ind, out = c.ind, []
    allowed = _KIND_FIELDS[ind.kind]
    for name in _OPTIONAL_SHAPED:
        if getattr(ind, name) is not None and name not in allowed:
            out.append(c.issue((name,), f"{name} does not apply to kind {ind.kind}",
                               f"kind {ind.kind} takes: {', '.join(sorted(allowed))}"))
    for name in sorted(_REQUIRED.get(ind.kind, ())):
        if getattr(ind, name) is None:
            out.append(c.issue(("kind",), f"kind {ind.kind} needs {name}"))
    if ind.kind == "stock" and ind.aggregate not in (None, "count") and not ind.expr:
        out.append(c.issue(("aggregate",), f"aggregate {ind.aggregate} needs an expr"))
    if ind.kind == "stock" and ind.aggregate in (None, "count") and ind.expr:
        out.append(c.issue(("expr",), "a stock count takes no expr", "set aggregate: sum, average, min or max"))
    if ind.kind == "derived":
        for name in ("source", "time", "stock", "dimensions"):
            if getattr(ind, name):
                out.append(c.issue((name,), f"{name} does not apply to a derived indicator",
                                   "a derived indicator takes its rows from its inputs"))
    elif ind.source is None:
        out.append(c.issue(("source",), "missing key 'source'", f"one of: {', '.join(SOURCES)}"))
    elif ind.source not in SOURCES:
        out.append(c.issue(("source",), f"unknown source {ind.source!r}",
                           suggest(ind.source, SOURCES) or f"one of: {', '.join(SOURCES)}"))
    return out


def check_time(c: Ctx) -> list[Issue]:
    ind = c.ind
    src = SOURCES.get(ind.source or "")
    if ind.kind == "derived" or src is None:
        return []
    out = []
    if src.static:
        for name in ("time", "stock"):
            if getattr(ind, name):
                out.append(c.issue((name,), f"source {src.name} has no time: {name} does not apply"))
        return out
    if ind.kind == "stock" and ind.stock is None:
        out.append(c.issue(("kind",), "kind stock needs stock: {from: …, to: …}",
                           "e.g. stock: {from: submitted_at, to: closed_at}"))
    if ind.time and ind.stock:
        out.append(c.issue(("stock",), "give either time (a flow) or stock (open at period end), not both"))
    if not ind.time and not ind.stock and ind.kind != "stock" and not src.snapshot:
        out.append(c.issue(("time",), "missing key 'time': which column places a row in a period",
                           f"one of: {', '.join(src.time_columns)}"))
    if ind.time and ind.time not in src.time_columns:
        out.append(c.issue(("time",), f"time {ind.time!r} is not a time column of {src.name}",
                           suggest(ind.time, src.time_columns) or f"one of: {', '.join(src.time_columns)}"))
    if ind.stock:
        if src.snapshot:
            out.append(c.issue(("stock",), f"source {src.name} is a snapshot: every figure is already "
                               "the last snapshot of the period", "remove stock"))
        for key, col in (("from", ind.stock.from_), ("to", ind.stock.to)):
            if col is not None and col not in src.time_columns:
                out.append(c.issue(("stock", key), f"stock {key} {col!r} is not a time column of {src.name}",
                                   suggest(col, src.time_columns) or f"one of: {', '.join(src.time_columns)}"))
    if ind.grains:
        for g in ind.grains:
            if g not in src.grains:
                out.append(c.issue(("grains",), f"source {src.name} has no {g} figures",
                                   f"it allows: {', '.join(src.grains)}"))
    for d in ind.dimensions:
        if d not in src.dimensions:
            out.append(c.issue(("dimensions",), f"{src.name} cannot be split by {d!r}",
                               suggest(d, src.dimensions) or
                               f"splits of {src.name}: {', '.join(src.dimensions) or 'none'}"))
    return out


def check_expressions(c: Ctx) -> list[Issue]:
    ind = c.ind
    src = SOURCES.get(ind.source or "")
    if ind.kind == "derived" or src is None:
        return []
    cols = {col.name: col.type for col in src.columns}
    out = []
    todo: list[tuple[tuple, str, str, bool]] = []
    if ind.filter:
        todo.append((("filter",), "filter", ind.filter, True))
    if ind.expr:
        todo.append((("expr",), "expr", ind.expr, False))
    for part in ("numerator", "denominator"):
        p = getattr(ind, part)
        if p is None:
            continue
        if p.expr:
            todo.append(((part, "expr"), f"{part}.expr", p.expr, False))
        if p.filter:
            todo.append(((part, "filter"), f"{part}.filter", p.filter, True))
    for key, name, text, boolean in todo:
        tree, problems = check_expression(text, cols, boolean=boolean, what=name)
        for msg, hint in problems:
            out.append(c.issue(key, msg, hint))
        if tree is not None and not problems:
            c.exprs[name] = tree
    return out


def check_ratio(c: Ctx) -> list[Issue]:
    ind = c.ind
    src = SOURCES.get(ind.source or "")
    if ind.kind != "ratio" or ind.denominator is None or src is None:
        return []
    den = ind.denominator
    reason = None
    if den.aggregate == "count" and den.filter:
        reason = (f"denominator counts only rows where {den.filter}: a territory with rows but none "
                  "of those has a zero denominator")
    elif den.aggregate == "sum":
        col = src.column(den.expr.strip()) if den.expr else None
        if col is None or not col.positive:
            reason = f"denominator sums {den.expr}, which can be zero or negative"
    if reason and ind.zero_denominator is None:
        return [c.issue(("denominator",), f"ratio whose denominator can be zero: {reason}",
                        "move the denominator's filter into the indicator's filter, or set "
                        "zero_denominator: not_applicable to show no figure when it is zero")]
    return []


def check_targets(c: Ctx) -> list[Issue]:
    ind, out = c.ind, []
    if ind.target:
        for code in ind.target.wilayas:
            if code not in c.wilayas:
                out.append(c.issue(("target", "wilayas", code), f"target for wilaya {code!r}, which does not exist",
                                   suggest(code, sorted(c.wilayas)) or "wilaya codes are 01 to 69, as text"))
        starts = [model.period_start(s.from_) for s in ind.target.trajectory]
        if starts != sorted(starts):
            out.append(c.issue(("target", "trajectory"), "trajectory steps are not in date order"))
    if ind.thresholds:
        t = ind.thresholds
        if ind.direction == "neutral":
            out.append(c.issue(("thresholds",), "direction neutral has no status: thresholds do not apply",
                               "set direction: higher or lower"))
        elif ind.direction == "higher" and t.green < t.amber:
            out.append(c.issue(("thresholds",), f"higher is better, so green ({t.green}) must be at least amber ({t.amber})"))
        elif ind.direction == "lower" and t.green > t.amber:
            out.append(c.issue(("thresholds",), f"lower is better, so green ({t.green}) must be at most amber ({t.amber})"))
        if t.basis == "target" and ind.target is None:
            out.append(c.issue(("thresholds", "basis"), "thresholds relative to the target, but there is no target",
                               "add a target, or use basis: absolute"))
    if ind.target and ind.direction == "neutral":
        out.append(c.issue(("target",), "direction neutral: a target needs a better direction",
                           "set direction: higher or lower"))
    return out


def check_derived(c: Ctx) -> list[Issue]:
    ind = c.ind
    if ind.kind != "derived" or not ind.formula:
        return []
    try:
        tree = parse_expression(ind.formula)
    except ValueError as e:
        return [c.issue(("formula",), f"formula: {e}")]
    out = []
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN) or (isinstance(node, exp.Func) and type(node) not in
                                            {exp.Least, exp.Greatest, exp.Coalesce, exp.Round,
                                             exp.Abs, exp.Nullif, exp.Case, exp.If}):
            out.append(c.issue(("formula",), f"formula: {node.sql('duckdb')[:60]} is not allowed",
                               "a formula is arithmetic over indicator ids (+ - * /, round, "
                               "least, greatest, coalesce)"))
        elif isinstance(node, exp.Column):
            if node.table or node.name not in c.ids:
                out.append(c.issue(("formula",), f"formula: unknown indicator {node.sql('duckdb')}",
                                   suggest(node.name, c.ids)))
            elif node.name == ind.id:
                out.append(c.issue(("formula",), "formula uses the indicator itself"))
    if not out and not list(tree.find_all(exp.Column)):
        out.append(c.issue(("formula",), "the formula uses no indicator",
                           "a derived indicator is computed from other indicators, e.g. "
                           "request_volume / population * 10000"))
    if not out:
        c.exprs["formula"] = tree
    return out


def check_tests(c: Ctx) -> list[Issue]:
    out = []
    for i, t in enumerate(c.ind.tests):
        for j, e in enumerate(t.expect):
            key = ("tests", i, "expect", j)
            if model.grain_of(e.period) != e.grain:
                out.append(c.issue(key, f"test {t.name!r}: period {e.period} is not a {e.grain}",
                                   "2026 is a year, 2026-Q1 a quarter, 2026-01 a month"))
            if e.level != "nation" and not e.territory:
                out.append(c.issue(key, f"test {t.name!r}: level {e.level} needs a territory code"))
            if e.split and e.split not in c.ind.dimensions:
                out.append(c.issue(key, f"test {t.name!r}: split {e.split!r} is not among the "
                                   f"indicator's dimensions"))
    return out


CHECKS: tuple[Callable[[Ctx], list[Issue]], ...] = (
    check_shape, check_time, check_expressions, check_ratio, check_targets, check_derived,
    check_tests,
)


def _lenient_checks(raw: dict[str, Any], doc: yamlio.Located, base: tuple, ids: set[str],
                    wilayas: frozenset[str], already: list[Issue]) -> list[Issue]:
    """The checks of CHECKS on an indicator that failed model validation, as far as they can
    run on its valid keys; issues already reported on the same line are not repeated."""
    try:
        ind = Indicator.model_construct(**{k: v for k, v in raw.items() if k in Indicator.model_fields})
    except Exception:  # pragma: no cover - model_construct does not validate
        return []
    ctx = Ctx(doc, base, ind, ids, wilayas)
    out: list[Issue] = []
    seen = {(i.line, i.message) for i in already}
    for check in (check_time, check_expressions, check_targets, check_derived):
        try:
            found = check(ctx)
        except Exception:  # a field still in its raw form: that check cannot run yet
            continue
        out += [i for i in found if (i.line, i.message) not in seen]
    return out


def _inputs(c: Checked) -> tuple[str, ...]:
    tree = c.exprs.get("formula")
    if tree is None:
        return ()
    return tuple(dict.fromkeys(n.name for n in tree.find_all(exp.Column)))


def load(path: Path | str = DEFAULT_PATH, *, wilayas: frozenset[str] | None = None,
         text: str | None = None) -> Catalogue:
    """Read and check a catalogue. Raises CatalogueError only when nothing can be used."""
    path = Path(path)
    file = str(path)
    if text is None:
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise CatalogueError([Issue(file, None, None, f"cannot read the catalogue: {e.strerror}",
                                        "pass --catalogue FILE, or run from the project folder")]) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CatalogueError([Issue(file, None, None, f"not UTF-8 text (byte {e.start})",
                                        "save the file as UTF-8")]) from None
    fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    try:
        doc, issues = yamlio.load(text, file)
    except RecursionError:
        raise CatalogueError([Issue(file, None, None, "the file is nested too deeply to be read",
                                    "an indicator needs a few levels of keys, not hundreds")]) from None
    if doc is None:
        raise CatalogueError(issues)
    # problems met while reading (duplicate keys): inside an indicator they break it
    by_indicator: dict[int, list[Issue]] = {}
    for path, issue in doc.problems:
        if len(path) >= 2 and path[0] == "indicators" and isinstance(path[1], int):
            by_indicator.setdefault(path[1], []).append(issue)
        else:
            issues.append(issue)
    if not isinstance(doc.data, dict):
        raise CatalogueError([Issue(file, 1, None, "the catalogue must be a mapping with version and indicators")])
    try:
        model.Catalogue.model_validate(doc.data)
    except ValidationError as err:
        raise CatalogueError(issues + _pydantic_issues(err, doc, (), None, model.Catalogue)) from None

    wilayas = wilayas or WILAYA_CODES
    raw_inds = doc.data["indicators"]
    ids_all = {str(r.get("id")) for r in raw_inds if isinstance(r, dict) and r.get("id")}
    checked: dict[str, Checked] = {}
    broken: dict[str, Broken] = {}
    seen: dict[str, int | None] = {}
    for i, raw_ind in enumerate(raw_inds):
        base = ("indicators", i)
        line = doc.line(base)
        ind_id = str(raw_ind.get("id")) if isinstance(raw_ind, dict) and raw_ind.get("id") else f"#{i + 1}"
        label = raw_ind.get("label") if isinstance(raw_ind, dict) and isinstance(raw_ind.get("label"), dict) else None
        if not isinstance(raw_ind, dict):
            broken[ind_id] = Broken(ind_id, line, None, [Issue(
                file, line, ind_id, f"an indicator must be a mapping of keys (id, label, …), not "
                f"{type(raw_ind).__name__}", "see docs/indicators.md for an example")])
            continue
        read_problems = [Issue(i.file, i.line, ind_id, i.message, i.suggestion)
                         for i in by_indicator.get(i, [])]
        if ind_id in seen:
            b = Broken(ind_id, line, label, [Issue(file, doc.line(base + ("id",)), ind_id,
                       f"duplicate id {ind_id} (first defined on line {seen[ind_id]})",
                       "give each indicator its own id")])
            broken[f"{ind_id}@{line}"] = b
            continue
        seen[ind_id] = line
        try:
            ind = Indicator.model_validate(raw_ind)
        except ValidationError as err:
            found = read_problems + _pydantic_issues(err, doc, base, ind_id, Indicator)
            # the other checks still run on what could be read, so that every problem of the
            # indicator is reported at once
            bad_keys = {e["loc"][0] for e in err.errors() if e["loc"]}
            partial = {k: v for k, v in raw_ind.items() if k not in bad_keys}
            found += _lenient_checks(partial, doc, base, ids_all, wilayas, found)
            broken[ind_id] = Broken(ind_id, line, label, found)
            continue
        ctx = Ctx(doc, base, ind, ids_all, wilayas)
        found = list(read_problems)
        for check in CHECKS:
            found.extend(check(ctx))
        if found:
            broken[ind_id] = Broken(ind_id, line, label, found)
        else:
            c = Checked(ind, line, ctx.exprs)
            c.inputs = _inputs(c)
            checked[ind_id] = c

    ordered = _order(checked, broken, file)
    cat = Catalogue(file, fingerprint, ordered, broken, [])
    for i, c in list(ordered.items()):
        if c.ind.kind == "derived" and not cat.grains(c):
            broken[i] = Broken(i, c.line, c.ind.label.model_dump(), [Issue(
                file, doc.line(("indicators",)), i, "its inputs have no grain (month, quarter, year) "
                "in common, so it would never have a figure",
                "use inputs computed at a common grain, or widen their grains")])
            del ordered[i]
    # a derived indicator on one that just broke breaks too
    cat.indicators = _order(dict(ordered), broken, file)
    cat.issues = issues + [i for b in broken.values() for i in b.issues]
    all_issues = cat.issues
    if all_issues:
        log.warning("catalogue %s: %d problem(s), %d indicator(s) unavailable", file,
                    len(all_issues), len(broken))
    return cat


def _order(checked: dict[str, Checked], broken: dict[str, Broken], file: str) -> dict[str, Checked]:
    """Topological order; derived indicators on a cycle or on a broken input become broken."""
    state: dict[str, str] = {}
    ordered: dict[str, Checked] = {}

    def visit(i: str, stack: list[str]) -> bool:
        if i in ordered:
            return True
        if i in broken or i not in checked:
            return False
        if state.get(i) == "visiting":
            cycle = stack[stack.index(i):] + [i]
            for member in cycle[:-1]:
                if member in checked and member not in broken:
                    c = checked[member]
                    broken[member] = Broken(member, c.line, c.ind.label.model_dump(), [Issue(
                        file, c.line, member, f"cycle between derived indicators: {' -> '.join(cycle)}",
                        "a derived indicator cannot depend on itself, directly or not")])
            return False
        state[i] = "visiting"
        ok = True
        c = checked[i]
        for dep in c.inputs:
            if not visit(dep, stack + [i]):
                ok = False
                if i not in broken:
                    why = broken[dep].reason if dep in broken else "unknown"
                    broken[i] = Broken(i, c.line, c.ind.label.model_dump(), [Issue(
                        file, c.line, i, f"input {dep} is unavailable ({why})",
                        f"fix {dep} first")])
        state[i] = "done"
        if ok and i not in broken:
            ordered[i] = c
            return True
        return False

    for i in list(checked):
        visit(i, [])
    return ordered

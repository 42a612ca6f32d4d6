"""A bad catalogue is reported, located, and does not break the rest.

Every case is a small ``indicators.yaml`` written to ``tmp_path``: one good indicator and one
bad one. What a steward must see for each: the file and the exact line, the indicator id, what
is wrong and, where one makes sense, a suggestion. The good indicator must still be valid, and
the engine must still compute it. Expressions written by a steward must never reach DuckDB
unless they are plain scalar expressions over the source's columns.

Expected line numbers are computed from the text (the line of the offending key), never typed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from kpi.catalogue import WILAYA_CODES, load
from kpi.cli import main as cli_main
from kpi.engine import Engine
from kpi.errors import CatalogueError, Issue
from kpi.model import FixtureTest
from kpi.testing import build

REPO = Path(__file__).resolve().parents[2]
REAL_CATALOGUE = REPO / "indicators.yaml"
GOOD = "good_one"
AS_OF = dt.datetime(2026, 3, 31, 23, 0)

# --- writing catalogues ---------------------------------------------------------------------

BASE: dict[str, str] = {
    "label": '{fr: "Libellé", ar: "تسمية", en: "Label"}',
    "description": '{fr: "Description", ar: "وصف", en: "Description"}',
    "category": "requests",
    "unit": "count",
    "owner": '"Direction de la modernisation"',
    "source": "requests",
    "kind": "count",
    "time": "submitted_at",
    "direction": "neutral",
}


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def indicator(id_: str, *extra: str, **fields: str | list[str] | None) -> str:
    """A minimal valid count indicator. ``fields`` replace or add keys (None drops one; a list
    is written as an indented block); ``extra`` are raw lines appended to the indicator."""
    keys: dict[str, str | list[str] | None] = dict(BASE)
    keys.update(fields)
    out = [f"  - id: {id_}"]
    for k, v in keys.items():
        if v is None:
            continue
        if isinstance(v, list):
            out.append(f"    {k}:")
            out += [f"      {line}" for line in v]
        else:
            out.append(f"    {k}: {v}")
    out += [f"    {line}" for line in extra]
    return "\n".join(out) + "\n"


def derived(id_: str, formula: str, **fields: str | list[str] | None) -> str:
    keys: dict[str, str | list[str] | None] = {"source": None, "time": None, "kind": "derived",
                                               "formula": q(formula)}
    keys.update(fields)
    return indicator(id_, **keys)


def catalogue(*indicators: str) -> str:
    return "version: 1\nindicators:\n" + "".join(indicators)


GOOD_TEXT = indicator(GOOD)


def write(tmp_path: Path, text: str, name: str = "indicators.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, *, after: str | None = None) -> int:
    """1-based line of the first line holding ``needle``, searched from the line equal to
    ``after`` (its last occurrence by default: the second of two duplicate ids)."""
    lines = text.splitlines()
    start = 0
    if after is not None:
        starts = [n for n, ln in enumerate(lines) if ln.strip() == after]
        assert starts, f"{after!r} not in the text"
        start = starts[-1]
    for n in range(start, len(lines)):
        if needle in lines[n]:
            return n + 1
    raise AssertionError(f"{needle!r} not found after {after!r}")


def issue_matching(issues: list[Issue], message: str) -> Issue:
    found = [i for i in issues if message in i.message]
    assert found, f"no issue with {message!r}; got:\n" + "\n".join(str(i) for i in issues)
    return found[0]


def located(issue: Issue, path: Path, line: int, indicator_id: str | None) -> None:
    """What a steward reads: path:line [id]: message — suggestion."""
    assert issue.file == str(path)
    assert issue.line == line, f"expected line {line}, got {issue.line}: {issue}"
    assert issue.indicator == indicator_id
    who = f" [{indicator_id}]" if indicator_id else ""
    assert str(issue).startswith(f"{path}:{line}{who}: "), str(issue)


# --- the table of bad indicators ------------------------------------------------------------

@dataclass
class Case:
    name: str
    bad: list[str]                 # indicators written after the good one
    at: str                        # text on the expected line (searched from "- id: <bad_id>")
    message: str
    suggestion: str | None = None
    bad_id: str = "bad"
    also_broken: tuple[str, ...] = ()
    duplicate: bool = False        # the bad id is also the good one's id

    @property
    def text(self) -> str:
        return catalogue(GOOD_TEXT, *self.bad)


_ALLOWED_HINT = "allowed: arithmetic, comparisons"
_TARGET_70 = ["value: 1", "wilayas:", '  "16": 2', '  "70": 3']
_TARGET_99 = ["value: 1", "wilayas:", '  "99": 3']
_RATIO_COUNT = {"kind": "ratio", "unit": "percent", "direction": "higher",
                "numerator": '{aggregate: count, filter: "status = \'closed\'"}',
                "denominator": '{aggregate: count, filter: "status <> \'cancelled\'"}'}
_RATIO_SUM = {"kind": "ratio", "unit": "percent", "direction": "higher", "category": "projects",
              "source": "projects", "time": "planned_start",
              "numerator": "{aggregate: sum, expr: consumed_amount}",
              "denominator": "{aggregate: sum, expr: ap_amount}"}
_PERCENTILE = {"kind": "percentile", "unit": "days", "time": "closed_at", "expr": "delay_days"}
_BUDGET = {"source": "budget", "time": None, "kind": "sum", "expr": "prevu", "unit": "DA",
           "category": "budget"}
_FIRST_GOOD_LINE = line_of(catalogue(GOOD_TEXT), f"- id: {GOOD}")

CASES: list[Case] = [
    # -- keys and literals
    Case("unknown key did you mean", [indicator("bad", "fitler: " + q("status = 'closed'"))],
         "fitler:", "unknown key 'fitler'", "did you mean filter?"),
    Case("wrong literal direction up", [indicator("bad", direction="up")],
         "direction:", "direction: 'up' is not one of 'higher', 'lower' or 'neutral'"),
    Case("id not lower_snake_case", [indicator("Bad-Id")], "- id: Bad-Id",
         "id: String should match pattern", bad_id="Bad-Id"),
    Case("label without its translations", [indicator("bad", label="{fr: Libellé}")],
         "label:", "missing key 'label.ar'"),
    Case("duplicate id", [indicator(GOOD, unit="days")], f"- id: {GOOD}",
         f"duplicate id {GOOD} (first defined on line {_FIRST_GOOD_LINE})", "give each indicator its own id",
         bad_id=GOOD, duplicate=True),
    # -- sources, time, grains, dimensions
    Case("unknown source did you mean", [indicator("bad", source="request")],
         "source:", "unknown source 'request'", "did you mean requests?"),
    Case("time column that is not a time column", [indicator("bad", time="status")],
         "time:", "time 'status' is not a time column of requests", "submitted_at"),
    Case("flow without time", [indicator("bad", time=None)],
         "- id: bad", "missing key 'time'", "one of: submitted_at"),
    Case("time on a source without time", [indicator("bad", source="communes", time="submitted_at")],
         "time:", "source communes has no time: time does not apply"),
    Case("stock kind without stock", [indicator("bad", kind="stock", time=None)],
         "kind:", "kind stock needs stock", "stock: {from: submitted_at, to: closed_at}"),
    Case("stock closing column misspelt", [indicator("bad", kind="stock", time=None,
                                                     stock=["from: submitted_at", "to: closed_on"])],
         "to: closed_on", "stock to 'closed_on' is not a time column of requests", "did you mean closed_at?"),
    Case("dimension the source cannot be split by", [indicator("bad", dimensions="[sector]")],
         "dimensions:", "requests cannot be split by 'sector'", "service, channel"),
    Case("grain the source does not have", [indicator("bad", grains="[month]", **_BUDGET)],
         "grains:", "source budget has no month figures", "it allows: quarter, year"),
    Case("expr on a count", [indicator("bad", expr="delay_days")],
         "expr:", "expr does not apply to kind count", "kind count takes: filter"),
    Case("percentile without p", [indicator("bad", **_PERCENTILE)],
         "kind:", "kind percentile needs p"),
    Case("percentile p out of range", [indicator("bad", p="1.5", **_PERCENTILE)],
         "p: 1.5", "p: Input should be less than 1"),
    # -- expressions: columns and conditions
    Case("unknown column did you mean", [indicator("bad", filter=q("closed_on IS NOT NULL"))],
         "filter:", "filter: unknown column closed_on", "did you mean closed_at?"),
    Case("filter that is not a condition", [indicator("bad", filter=q("delay_days + 1"))],
         "filter:", "is not a condition", "status = 'closed'"),
    Case("text column used as a number", [indicator("bad", kind="sum", expr="status", unit="days")],
         "expr:", "expr: status is text, a number is needed"),
    Case("expression that does not parse", [indicator("bad", filter=q("status = 'closed"))],
         "filter:", "filter: cannot parse", "write a SQL expression"),
    # -- expressions: the way into the data or the system
    Case("read_csv in a filter", [indicator("bad", filter=q("read_csv('x') IS NOT NULL"))],
         "filter:", "is not allowed", _ALLOWED_HINT),
    Case("read_parquet in a filter", [indicator("bad", filter=q("read_parquet('x.parquet') IS NOT NULL"))],
         "filter:", "is not allowed", _ALLOWED_HINT),
    Case("getenv in a filter", [indicator("bad", filter=q("getenv('HOME') = '/root'"))],
         "filter:", "function getenv() is not allowed", _ALLOWED_HINT),
    Case("current_setting in a filter", [indicator("bad", filter=q("current_setting('threads') = '1'"))],
         "filter:", "function current_setting() is not allowed", _ALLOWED_HINT),
    Case("query() table function", [indicator("bad", filter=q("query('SELECT 1') IS NOT NULL"))],
         "filter:", "function query() is not allowed", _ALLOWED_HINT),
    Case("subquery in a filter", [indicator("bad", filter=q("status IN (SELECT status FROM fact_request)"))],
         "filter:", "filter: a subquery is not allowed in an expression",
         "an expression may only use the source's columns"),
    Case("exists subquery", [indicator("bad", filter=q("EXISTS (SELECT 1 FROM dim_commune)"))],
         "filter:", "a subquery is not allowed in an expression"),
    Case("qualified column of another table", [indicator("bad", filter=q("other.status = 'closed'"))],
         "filter:", "other.status names a table; use the bare column name", "write status"),
    Case("aggregate in an expression", [indicator("bad", kind="sum", expr=q("sum(delay_days)"), unit="days")],
         "expr:", "expr: an aggregate is not allowed in an expression",
         "the kind (count, sum, ratio …) says how rows are aggregated"),
    Case("window function", [indicator("bad", kind="sum", expr=q("row_number() OVER ()"))],
         "expr:", "expr: a window function is not allowed in an expression"),
    Case("lambda", [indicator("bad", filter=q("list_filter([1], x -> x > 0) IS NOT NULL"))],
         "filter:", "Lambda is not allowed in an expression"),
    Case("engine parameter", [indicator("bad", filter=q("submitted_at <= $as_of"))],
         "filter:", "Placeholder is not allowed in an expression"),
    Case("star", [indicator("bad", kind="sum", expr=q("*"))],
         "expr:", "Star is not allowed in an expression"),
    Case("two statements", [indicator("bad", filter=q("status = 'closed'; DROP TABLE fact_request"))],
         "filter:", "holds 2 statements; write one expression"),
    Case("DML statement", [indicator("bad", filter=q("DELETE FROM fact_request"))],
         "filter:", "is a statement (DELETE)"),
    Case("DDL statement", [indicator("bad", kind="sum", expr=q("CREATE MACRO m() AS 1"))],
         "expr:", "is a statement (CREATE)"),
    Case("COPY to a file", [indicator("bad", filter=q("COPY fact_request TO '/tmp/out.csv'"))],
         "filter:", "is a statement (COPY)"),
    Case("SET statement", [indicator("bad", filter=q("SET enable_external_access = true"))],
         "filter:", "is a statement (SET)"),
    # -- ratios
    Case("ratio count denominator with a filter", [indicator("bad", **_RATIO_COUNT)],
         "denominator:", "ratio whose denominator can be zero", "zero_denominator: not_applicable"),
    Case("ratio sum of a non-positive column", [indicator("bad", **_RATIO_SUM)],
         "denominator:", "denominator sums ap_amount, which can be zero or negative",
         "zero_denominator: not_applicable"),
    Case("numerator sum without expr", [indicator("bad", kind="ratio", unit="percent",
                                                  numerator="{aggregate: sum}", denominator="{aggregate: count}")],
         "numerator:", "numerator: aggregate: sum needs an expr"),
    # -- targets and thresholds
    Case("target for wilaya 70", [indicator("bad", direction="higher", target=_TARGET_70)],
         '"70":', "target for wilaya '70', which does not exist", "wilaya codes are 01 to 69"),
    Case("target for wilaya 99", [indicator("bad", direction="higher", target=_TARGET_99)],
         '"99":', "target for wilaya '99', which does not exist", "wilaya codes are 01 to 69"),
    Case("thresholds against higher", [indicator("bad", direction="higher",
                                                 thresholds="{basis: absolute, green: 1, amber: 3}")],
         "thresholds:", "higher is better, so green (1.0) must be at least amber (3.0)"),
    Case("thresholds against lower", [indicator("bad", direction="lower",
                                                thresholds="{basis: absolute, green: 3, amber: 1}")],
         "thresholds:", "lower is better, so green (3.0) must be at most amber (1.0)"),
    Case("thresholds on a neutral indicator", [indicator("bad", thresholds="{basis: absolute, green: 1, amber: 3}")],
         "thresholds:", "direction neutral has no status", "set direction: higher or lower"),
    Case("thresholds relative to a missing target", [indicator("bad", direction="higher",
                                                               thresholds=["basis: target", "green: 1",
                                                                           "amber: 0.8"])],
         "basis: target", "thresholds relative to the target, but there is no target",
         "add a target, or use basis: absolute"),
    # -- derived indicators
    Case("cycle between derived indicators", [derived("bad", "bad2 + 1"), derived("bad2", "bad * 2")],
         "- id: bad", "cycle between derived indicators: bad -> bad2 -> bad",
         "cannot depend on itself", also_broken=("bad2",)),
    Case("derived on itself", [derived("bad", "bad * 2")], "formula:", "formula uses the indicator itself"),
    Case("derived on an unknown indicator", [derived("bad", "good_on * 2")],
         "formula:", "formula: unknown indicator good_on", "did you mean good_one?"),
    Case("derived on a broken input", [derived("bad", "bad_input * 2"),
                                       indicator("bad_input", filter=q("closed_on IS NULL"))],
         "- id: bad", "input bad_input is unavailable (filter: unknown column closed_on)",
         "fix bad_input first", also_broken=("bad_input",)),
    Case("derived with a source", [derived("bad", "good_one * 2", source="requests")],
         "source:", "source does not apply to a derived indicator"),
    Case("derived formula with a subquery", [derived("bad", "(SELECT 1) + good_one")],
         "formula:", "formula: (SELECT 1) is not allowed", "arithmetic over indicator ids"),
    Case("derived formula reading a file", [derived("bad", "read_csv('x') + good_one")],
         "formula:", "is not allowed", "arithmetic over indicator ids"),
    # -- golden tests
    Case("fixture test period not of its grain",
         [indicator("bad", tests=["- name: a month written as a year", "  rows: {fact_request: []}",
                                  "  expect:",
                                  '    - {level: nation, grain: month, period: "2026", value: 0}'])],
         "- {level: nation", "test 'a month written as a year': period 2026 is not a month",
         "2026-01 a month"),
]


def test_enough_cases() -> None:
    assert len(CASES) >= 25
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_indicator_is_located_and_skipped(case: Case, tmp_path: Path) -> None:
    text = case.text
    path = write(tmp_path, text)
    cat = load(path)
    line = line_of(text, case.at, after=f"- id: {case.bad_id}")

    # nothing else breaks: the good indicator is valid and computable
    assert GOOD in cat.indicators
    assert cat.indicators[GOOD].ind.kind == "count"
    # the bad one (and only what depends on it) is broken, with the reason
    broken = [b for b in cat.broken.values() if b.id == case.bad_id]
    assert len(broken) == 1, cat.broken
    if not case.duplicate:
        assert case.bad_id not in cat.indicators
    assert {b.id for b in cat.broken.values()} == {case.bad_id, *case.also_broken}
    assert {i.indicator for i in cat.issues} == {case.bad_id, *case.also_broken}

    issue = issue_matching(broken[0].issues, case.message)
    located(issue, path, line, case.bad_id)
    if case.suggestion is not None:
        assert case.suggestion in (issue.suggestion or ""), str(issue)
    assert issue in cat.issues
    assert case.message in broken[0].reason


# --- files that cannot be used at all -------------------------------------------------------

@dataclass
class FileCase:
    name: str
    text: str
    at: str                        # text on the expected line
    message: str


_BAD_TAIL = "  - id: bad\n"
FILE_CASES: list[FileCase] = [
    FileCase("invalid YAML syntax", catalogue(GOOD_TEXT, _BAD_TAIL + "    owner: Direction: modernisation\n"),
             "owner: Direction:", "not valid YAML: mapping values are not allowed here"),
    FileCase("tab in the indentation", catalogue(GOOD_TEXT, _BAD_TAIL + "\tlabel: x\n"),
             "\tlabel", "not valid YAML: while scanning for the next token found character '\\t'"),
    FileCase("indentation error", catalogue(GOOD_TEXT, _BAD_TAIL + "     label: x\n"),
             "     label", "not valid YAML: mapping values are not allowed here"),
    FileCase("character that cannot start a value", catalogue(GOOD_TEXT, _BAD_TAIL + "    label: @x\n"),
             "label: @x", "not valid YAML: while scanning for the next token found character '@'"),
    FileCase("undefined alias", catalogue(GOOD_TEXT, _BAD_TAIL + "    label: *nope\n"),
             "*nope", "found undefined alias 'nope'"),
    FileCase("python object tag is not constructed",
             catalogue(GOOD_TEXT, _BAD_TAIL + "    label: !!python/object:os.system x\n"),
             "!!python", "could not determine a constructor for the tag"),
    FileCase("top level is a list", "- version: 1\n- indicators: []\n", "- version",
             "the catalogue must be a mapping with version and indicators"),
    FileCase("top level is a text", "indicators.yaml\n", "indicators.yaml",
             "the catalogue must be a mapping with version and indicators"),
    FileCase("missing version", "indicators:\n" + GOOD_TEXT, "indicators:", "missing key 'version'"),
    FileCase("wrong version", "version: 2\nindicators:\n" + GOOD_TEXT, "version: 2",
             "version: 2 is not one of 1"),
]


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.name for c in FILE_CASES])
def test_unusable_file_raises_located_error(case: FileCase, tmp_path: Path) -> None:
    path = write(tmp_path, case.text)
    with pytest.raises(CatalogueError) as err:
        load(path)
    issue = issue_matching(err.value.issues, case.message)
    located(issue, path, line_of(case.text, case.at), None)
    assert f"{path}:{issue.line}: " in str(err.value)


def test_misspelt_indicators_key_also_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nindicatros:\n" + GOOD_TEXT)
    with pytest.raises(CatalogueError) as err:
        load(path)
    issue = issue_matching(err.value.issues, "unknown key 'indicatros'")
    assert issue.suggestion == "did you mean indicators?"


def test_unreadable_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(CatalogueError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: cannot read the catalogue")
    head = "version: 1\nindicators: []\n# ".encode()
    path.write_bytes(head + b"\xff\n")
    with pytest.raises(CatalogueError) as err:
        load(path)
    assert str(err.value) == f"{path}: not UTF-8 text (byte {len(head)}) — save the file as UTF-8"


def test_duplicate_top_level_key_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    text = catalogue(GOOD_TEXT) + "version: 1\n"
    path = write(tmp_path, text)
    cat = load(path)
    assert list(cat.indicators) == [GOOD] and not cat.broken
    issue = issue_matching(cat.issues, "duplicate key 'version' (the later one would silently win)")
    located(issue, path, len(text.splitlines()), None)


# --- what is accepted -----------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    indicator("bad", zero_denominator="not_applicable", **_RATIO_COUNT),
    indicator("bad", zero_denominator="not_applicable", **_RATIO_SUM),
    # the population is strictly positive: no zero check needed
    indicator("bad", kind="ratio", unit="percent", source="communes", time=None, category="territory",
              numerator='{aggregate: sum, expr: population, filter: "is_pilot"}',
              denominator="{aggregate: sum, expr: population}"),
    indicator("bad", direction="higher", target=["value: 1", "wilayas:", '  "16": 2', '  "69": 3']),
    indicator("bad", filter=q("status IN ('closed', 'rejected') AND closed_at <= period_end")),
], ids=["zero_denominator count", "zero_denominator sum", "positive denominator", "wilayas 16 69",
        "filter with period_end"])
def test_same_definitions_done_right_are_valid(bad: str, tmp_path: Path) -> None:
    cat = load(write(tmp_path, catalogue(GOOD_TEXT, bad)))
    assert not cat.issues, [str(i) for i in cat.issues]
    assert list(cat.indicators) == [GOOD, "bad"]


def test_wilaya_codes_come_from_the_warehouse_when_given(tmp_path: Path) -> None:
    text = catalogue(GOOD_TEXT, indicator("bad", direction="higher", target=["wilayas:", '  "60": 3']))
    path = write(tmp_path, text)
    assert "bad" in load(path).indicators              # 60 exists after the reform
    before_reform = frozenset(c for c in WILAYA_CODES if c <= "58")
    cat = load(path, wilayas=before_reform)
    issue = issue_matching(cat.broken["bad"].issues, "target for wilaya '60', which does not exist")
    located(issue, path, line_of(text, '"60":'), "bad")
    assert GOOD in cat.indicators


# --- every problem at once ------------------------------------------------------------------

def test_all_problems_are_reported_at_once_each_located(tmp_path: Path) -> None:
    text = catalogue(
        GOOD_TEXT,
        indicator("bad_column", filter=q("closed_on IS NOT NULL")),
        indicator("bad_key", "fitler: x"),
        indicator("bad_many", source="request", direction="up"),
        indicator("bad_file", filter=q("read_csv('/etc/passwd') IS NOT NULL"), dimensions="[sevice]",
                  direction="higher", thresholds="{basis: absolute, green: 1, amber: 3}"),
        derived("bad_cycle_a", "bad_cycle_b + 1"),
        derived("bad_cycle_b", "bad_cycle_a + 1"),
        indicator("also_good", kind="sum", expr="delay_days", time="closed_at", unit="days"),
    ) + "version: 1\n"
    path = write(tmp_path, text)
    cat = load(path)

    assert list(cat.indicators) == [GOOD, "also_good"]
    assert set(cat.broken) == {"bad_column", "bad_key", "bad_many", "bad_file", "bad_cycle_a",
                               "bad_cycle_b"}
    expected = [
        ("bad_column", "filter:", "filter: unknown column closed_on"),
        ("bad_key", "fitler:", "unknown key 'fitler'"),
        ("bad_many", "direction:", "direction: 'up' is not one of"),
        ("bad_file", "filter:", "is not allowed"),
        ("bad_file", "dimensions:", "requests cannot be split by 'sevice'"),
        ("bad_file", "thresholds:", "higher is better, so green (1.0) must be at least amber (3.0)"),
        ("bad_cycle_a", "- id: bad_cycle_a", "cycle between derived indicators"),
        ("bad_cycle_b", "- id: bad_cycle_b", "cycle between derived indicators"),
    ]
    for ind_id, at, message in expected:
        issue = issue_matching([i for i in cat.issues if i.indicator == ind_id], message)
        located(issue, path, line_of(text, at, after=f"- id: {ind_id}"), ind_id)
    dup = issue_matching(cat.issues, "duplicate key 'version'")
    located(dup, path, len(text.splitlines()), None)
    # one issue per problem, nothing more, nothing less
    assert len(cat.issues) == len(expected) + 1, "\n".join(str(i) for i in cat.issues)
    # and each issue is reported once
    assert len({str(i) for i in cat.issues}) == len(cat.issues)


# --- the engine computes the rest -----------------------------------------------------------

FIXTURE = FixtureTest.model_validate({
    "name": "three requests in two communes",
    "rows": {"fact_request": [
        {"commune_code": "1601", "submitted_at": dt.datetime(2026, 1, 5, 9), "closed_at": dt.datetime(2026, 1, 7, 9)},
        {"commune_code": "1601", "submitted_at": dt.datetime(2026, 1, 20, 9)},
        {"commune_code": "1602", "submitted_at": dt.datetime(2026, 2, 3, 9)},
    ]},
    "expect": [{"level": "nation", "grain": "year", "period": "2026", "value": 3}],
})


def _value(con, indicator_id: str, level: str, territory: str, grain: str, period: dt.date):
    rows = con.execute("SELECT value FROM kpi_result WHERE indicator = ? AND level = ? AND territory = ? "
                       "AND grain = ? AND period = ? AND split = ''",
                       [indicator_id, level, territory, grain, period]).fetchall()
    return rows[0][0] if rows else None


def test_engine_computes_the_good_and_records_the_broken(tmp_path: Path) -> None:
    text = catalogue(GOOD_TEXT, indicator("bad", filter=q("closed_on IS NOT NULL")),
                     derived("bad_derived", "bad * 2"), derived("good_derived", "good_one * 2"))
    path = write(tmp_path, text)
    cat = load(path)
    con = build(FIXTURE)
    try:
        report = Engine(con, cat).refresh(full=True, as_of=AS_OF)
        assert _value(con, GOOD, "nation", "DZ", "year", dt.date(2026, 1, 1)) == 3
        assert _value(con, GOOD, "commune", "1601", "month", dt.date(2026, 1, 1)) == 2
        assert _value(con, GOOD, "wilaya", "16", "month", dt.date(2026, 2, 1)) == 1
        assert _value(con, "good_derived", "nation", "DZ", "year", dt.date(2026, 1, 1)) == 6
        computed = {r[0] for r in con.execute("SELECT DISTINCT indicator FROM kpi_result").fetchall()}
        assert computed == {GOOD, "good_derived"}

        rows = {r[0]: r[1:] for r in con.execute(
            "SELECT indicator, available, reason, label_fr FROM kpi_indicator").fetchall()}
        assert rows[GOOD][:2] == (True, None)
        assert rows["good_derived"][:2] == (True, None)
        line = line_of(text, "filter:", after="- id: bad")
        available, reason, label = rows["bad"]
        assert available is False
        assert reason == (f"{path}:{line} [bad]: filter: unknown column closed_on — did you mean closed_at?")
        assert label == "Libellé"
        available, reason, _ = rows["bad_derived"]
        assert available is False
        assert reason.startswith(f"{path}:{line_of(text, '- id: bad_derived')} [bad_derived]: "
                                 "input bad is unavailable")
        assert report.unavailable == {"bad": "filter: unknown column closed_on",
                                      "bad_derived": "input bad is unavailable (filter: unknown column closed_on)"}
        assert set(report.per_indicator) == {GOOD, "good_derived"}
    finally:
        con.close()


def test_duplicate_id_is_recorded_without_hiding_the_first(tmp_path: Path) -> None:
    text = catalogue(GOOD_TEXT, indicator(GOOD, unit="days"))
    path = write(tmp_path, text)
    cat = load(path)
    con = build(FIXTURE)
    try:
        Engine(con, cat).refresh(full=True, as_of=AS_OF)
        second = line_of(text, f"- id: {GOOD}", after=f"- id: {GOOD}")
        rows = dict((r[0], (r[1], r[2])) for r in con.execute(
            "SELECT indicator, available, reason FROM kpi_indicator").fetchall())
        assert rows[GOOD] == (True, None)
        available, reason = rows[f"{GOOD}@{second}"]
        assert available is False
        assert reason.startswith(f"{path}:{second} [{GOOD}]: duplicate id {GOOD} (first defined on line "
                                 f"{_FIRST_GOOD_LINE})")
        assert _value(con, GOOD, "nation", "DZ", "year", dt.date(2026, 1, 1)) == 3
    finally:
        con.close()


class RecordingConnection:
    """Delegates to a DuckDB connection and keeps every SQL text sent to it."""

    def __init__(self, con) -> None:
        self._con = con
        self.statements: list[str] = []

    def execute(self, sql, *args, **kwargs):
        self.statements.append(str(sql))
        return self._con.execute(sql, *args, **kwargs)

    def executemany(self, sql, *args, **kwargs):
        self.statements.append(str(sql))
        return self._con.executemany(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


@pytest.mark.parametrize("field_, expression, marker", [
    ("filter", "read_csv('/etc/passwd') IS NOT NULL", "passwd"),
    ("filter", "read_text('/etc/hostname') IS NOT NULL", "hostname"),
    ("filter", "getenv('HOME') IS NOT NULL", "getenv"),
    ("filter", "status IN (SELECT status FROM read_parquet('/tmp/x.parquet'))", "parquet"),
    ("filter", "status = 'closed'; ATTACH '/tmp/other.db' AS other", "attach"),
    ("expr", "length(current_setting('home_directory'))", "current_setting"),
], ids=["read_csv", "read_text", "getenv", "subquery read_parquet", "second statement", "current_setting"])
def test_dangerous_expression_never_reaches_duckdb(field_: str, expression: str, marker: str,
                                                   tmp_path: Path) -> None:
    kind = {"filter": {}, "expr": {"kind": "sum"}}[field_]
    text = catalogue(GOOD_TEXT, indicator("bad", **kind, **{field_: q(expression)}))
    path = write(tmp_path, text)
    cat = load(path)
    assert "bad" in cat.broken and "bad" not in cat.indicators
    assert cat.broken["bad"].issues[0].line == line_of(text, f"{field_}:", after="- id: bad")
    con = build(FIXTURE)
    rec = RecordingConnection(con)
    try:
        Engine(rec, cat).refresh(full=True, as_of=AS_OF)  # type: ignore[arg-type]
        assert rec.statements, "the engine ran nothing"
        sent = "\n".join(rec.statements).lower()
        assert marker not in sent
        computed = {r[0] for r in con.execute("SELECT DISTINCT indicator FROM kpi_result").fetchall()}
        assert computed == {GOOD}
        assert con.execute("SELECT available FROM kpi_indicator WHERE indicator = 'bad'").fetchall() == [(False,)]
    finally:
        con.close()


# --- the command line -----------------------------------------------------------------------

def test_cli_validate_prints_located_problems_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = catalogue(GOOD_TEXT, indicator("bad", filter=q("closed_on IS NOT NULL")),
                     indicator("bad_too", direction="higher", target=_TARGET_70))
    path = write(tmp_path, text)
    rc = cli_main(["--catalogue", str(path), "--warehouse", str(tmp_path / "none.duckdb"), "validate"])
    out = capsys.readouterr().out
    assert rc == 1
    line = line_of(text, "filter:", after="- id: bad")
    assert f"{path}:{line}" in out
    assert "filter: unknown column closed_on — did you mean closed_at?" in out
    assert f"{path}:{line_of(text, chr(34) + '70' + chr(34) + ':')}" in out
    assert "target for wilaya '70', which does not exist" in out
    assert "1 indicator(s) valid, 2 unavailable, 2 problem(s)" in " ".join(out.split())


def test_cli_validate_fatal_file_exits_2_with_location(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = catalogue(GOOD_TEXT, _BAD_TAIL + "\tlabel: x\n")
    path = write(tmp_path, text)
    rc = cli_main(["--catalogue", str(path), "--warehouse", str(tmp_path / "none.duckdb"), "validate"])
    out = capsys.readouterr().out
    assert rc == 2
    assert f"{path}:{line_of(text, chr(9))}" in out
    assert "not valid YAML" in out
    assert "indicator(s) valid" not in out


def test_cli_validate_accepts_the_real_catalogue(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = cli_main(["--catalogue", str(REAL_CATALOGUE), "--warehouse", str(tmp_path / "none.duckdb"),
                   "validate"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "0 unavailable, 0 problem(s)" in " ".join(out.split())
    assert "error" not in out


# --- problems a review found in kpi/, fixed; each test keeps them fixed ----------------------

@pytest.mark.parametrize("kind, key, expression", [
    ("sum", "expr", "ATTACH '/tmp/other.db' AS other"),
    ("sum", "expr", "INSTALL httpfs"),
    ("sum", "expr", "DETACH other"),
    ("sum", "expr", "BEGIN TRANSACTION"),
    ("count", "filter", "DROP TABLE fact_request"),
    ("derived", "formula", "ATTACH '/tmp/other.db' AS other"),
], ids=["attach", "install", "detach", "begin", "drop", "derived attach"])
def test_statements_are_refused_as_statements(kind: str, key: str, expression: str, tmp_path: Path) -> None:
    bad = (derived("bad", expression) if kind == "derived"
           else indicator("bad", kind=kind, **{key: q(expression)}))
    text = catalogue(GOOD_TEXT, bad)
    path = write(tmp_path, text)
    cat = load(path)
    assert GOOD in cat.indicators
    assert "bad" in cat.broken, "the statement passed validation"
    issue = issue_matching(cat.broken["bad"].issues, "is a statement")
    located(issue, path, line_of(text, f"{key}:", after="- id: bad"), "bad")


def test_one_failing_query_does_not_stop_the_others(tmp_path: Path) -> None:
    text = catalogue(GOOD_TEXT, indicator("bad", kind="sum", expr=q("lower(status)")))
    cat = load(write(tmp_path, text))
    con = build(FIXTURE)
    try:
        Engine(con, cat).refresh(full=True, as_of=AS_OF)
        assert _value(con, GOOD, "nation", "DZ", "year", dt.date(2026, 1, 1)) == 3
        assert con.execute("SELECT available FROM kpi_indicator WHERE indicator = 'bad'").fetchall() == [(False,)]
    finally:
        con.close()


def test_derived_formula_without_input_is_broken(tmp_path: Path) -> None:
    text = catalogue(GOOD_TEXT, derived("bad", "2 * 3"))
    path = write(tmp_path, text)
    cat = load(path)
    assert "bad" in cat.broken
    located(cat.broken["bad"].issues[0], path, line_of(text, "formula:", after="- id: bad"), "bad")


def test_derived_on_inputs_without_common_grain_is_broken(tmp_path: Path) -> None:
    text = catalogue(GOOD_TEXT, indicator("budget_in", **_BUDGET),
                     indicator("monthly_in", grains="[month]"), derived("bad", "budget_in / monthly_in"))
    cat = load(write(tmp_path, text))
    assert "bad" in cat.broken


def test_forbidden_function_is_named_as_written(tmp_path: Path) -> None:
    cat = load(write(tmp_path, catalogue(GOOD_TEXT, indicator("bad", filter=q("read_csv('x') IS NOT NULL")))))
    issue_matching(cat.broken["bad"].issues, "function read_csv() is not allowed")


def test_duplicate_key_inside_indicator_names_the_indicator(tmp_path: Path) -> None:
    text = catalogue(GOOD_TEXT, indicator("bad", "direction: lower"))
    path = write(tmp_path, text)
    cat = load(path)
    issue = issue_matching(cat.issues, "duplicate key 'direction'")
    located(issue, path, line_of(text, "direction: lower"), "bad")


def test_duplicate_key_inside_indicator_breaks_it(tmp_path: Path) -> None:
    cat = load(write(tmp_path, catalogue(GOOD_TEXT, indicator("bad", "direction: lower"))))
    assert GOOD in cat.indicators
    assert "bad" in cat.broken and "bad" not in cat.indicators


def test_entry_that_is_not_a_mapping_breaks_only_itself(tmp_path: Path) -> None:
    text = catalogue(GOOD_TEXT, "  - 42\n")
    path = write(tmp_path, text)
    cat = load(path)
    assert GOOD in cat.indicators
    assert "#2" in cat.broken
    assert cat.broken["#2"].issues[0].line == line_of(text, "- 42")


def test_unknown_key_does_not_hide_the_other_problems_of_the_indicator(tmp_path: Path) -> None:
    text = catalogue(GOOD_TEXT, indicator("bad", "fitler: x", filter=q("closed_on IS NOT NULL")))
    cat = load(write(tmp_path, text))
    issue_matching(cat.broken["bad"].issues, "unknown key 'fitler'")
    issue_matching(cat.broken["bad"].issues, "filter: unknown column closed_on")


def test_cli_validate_shows_the_indicator_id(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = catalogue(GOOD_TEXT, indicator("bad", filter=q("closed_on IS NOT NULL")))
    path = write(tmp_path, text)
    cli_main(["--catalogue", str(path), "--warehouse", str(tmp_path / "none.duckdb"), "validate"])
    out = capsys.readouterr().out
    line = line_of(text, "filter:", after="- id: bad")
    assert f"{path}:{line} [bad]: filter: unknown column closed_on" in out


def test_cli_validate_survives_brackets_in_the_catalogue(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = catalogue(GOOD_TEXT, indicator("bad", '"[/x]": 1'))
    path = write(tmp_path, text)
    rc = cli_main(["--catalogue", str(path), "--warehouse", str(tmp_path / "none.duckdb"), "validate"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "unknown key '[/x]'" in out


def test_duplicate_id_does_not_mark_the_first_unavailable(tmp_path: Path) -> None:
    cat = load(write(tmp_path, catalogue(GOOD_TEXT, indicator(GOOD, unit="days"))))
    con = build(FIXTURE)
    try:
        report = Engine(con, cat).refresh(full=True, as_of=AS_OF)
        assert GOOD in report.per_indicator
        assert GOOD not in report.unavailable
    finally:
        con.close()



def test_cli_fatal_error_is_printed_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = catalogue(GOOD_TEXT, _BAD_TAIL + "\tlabel: x\n")
    path = write(tmp_path, text)
    cli_main(["--catalogue", str(path), "--warehouse", str(tmp_path / "none.duckdb"), "validate"])
    out = capsys.readouterr().out
    assert f"error {path}:{line_of(text, chr(9))}: not valid YAML" in out


@pytest.mark.parametrize("text, at, message", [
    (catalogue(GOOD_TEXT, indicator("bad", **{**_RATIO_COUNT, "denominator": [
        "aggregate: count", 'filter: "status <> \'cancelled\'"']})),
     "denominator:", "ratio whose denominator can be zero"),
    (catalogue(GOOD_TEXT, indicator("bad", target=["value: 3"])),
     "target:", "direction neutral: a target needs a better direction"),
    ("version: 1\nindicatros:\n" + GOOD_TEXT, "indicatros:", "unknown key 'indicatros'"),
], ids=["denominator block", "target block", "top-level key"])
def test_issue_about_a_block_points_to_its_key(text: str, at: str, message: str, tmp_path: Path) -> None:
    path = write(tmp_path, text)
    try:
        issues = load(path).issues
    except CatalogueError as err:
        issues = err.issues
    issue = issue_matching(issues, message)
    assert issue.line == line_of(text, at)

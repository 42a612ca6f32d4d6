"""Everything the compiler writes that depends on the SQL engine, in one place.

Only DuckDB for now. Each function returns a sqlglot expression tree; the compiler never writes
engine-specific SQL text of its own. Another engine (PostgreSQL, Spark, ClickHouse) will be a
second class with the same methods.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

_STEP = {"month": "1 MONTH", "quarter": "3 MONTH", "year": "1 YEAR"}


def parse(sql: str, **slots: exp.Expression) -> exp.Expression:
    """Parse a developer-written DuckDB template and fill its :slots with expression trees."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    return exp.replace_placeholders(tree, **slots) if slots else tree


class DuckDB:
    name = "duckdb"

    def period_start(self, grain: str, ts: exp.Expression) -> exp.Expression:
        """First day of the period holding ``ts``, as a DATE."""
        return parse(f"CAST(date_trunc('{grain}', :ts) AS DATE)", ts=ts)

    def next_period(self, grain: str, start: exp.Expression) -> exp.Expression:
        """First instant after the period that starts on ``start`` (a TIMESTAMP)."""
        return parse(f"CAST(:s AS TIMESTAMP) + INTERVAL {_STEP[grain]}", s=start)

    def previous_period(self, grain: str, start: exp.Expression, years: bool = False) -> exp.Expression:
        step = "1 YEAR" if years else _STEP[grain]
        return parse(f"CAST(:s - INTERVAL {step} AS DATE)", s=start)

    def calendar(self, grain: str, first: exp.Expression, last: exp.Expression) -> exp.Expression:
        """A relation of period starts (column period_start) from ``first`` to ``last``."""
        return parse(
            "SELECT CAST(gs.generate_series AS DATE) AS period_start FROM "
            f"generate_series(CAST(date_trunc('{grain}', :a) AS TIMESTAMP), "
            f"CAST(date_trunc('{grain}', :b) AS TIMESTAMP), INTERVAL {_STEP[grain]}) AS gs",
            a=first, b=last)

    def timestamp(self, e: exp.Expression) -> exp.Expression:
        return parse("CAST(:e AS TIMESTAMP)", e=e)

    def open_until(self, e: exp.Expression) -> exp.Expression:
        """A closing time, NULL meaning 'still open', as a TIMESTAMP comparable with >=."""
        return parse("coalesce(CAST(:e AS TIMESTAMP), CAST('infinity' AS TIMESTAMP))", e=e)

    def quantile(self, e: exp.Expression, p: float) -> exp.Expression:
        return parse(":e", e=exp.Anonymous(this="quantile_cont", expressions=[e, exp.Literal.number(p)]))

    def quantiles(self, e: exp.Expression, ps: list[float]) -> exp.Expression:
        """The exact percentiles ``ps`` of ``e`` in one aggregate, as a list of DOUBLE."""
        arr = exp.Array(expressions=[exp.Literal.number(p) for p in ps])
        return parse("CAST(:q AS DOUBLE[])", q=exp.Anonymous(this="quantile_cont", expressions=[e, arr]))

    def double(self, e: exp.Expression) -> exp.Expression:
        return parse("CAST(:e AS DOUBLE)", e=e)


DIALECTS = {"duckdb": DuckDB()}

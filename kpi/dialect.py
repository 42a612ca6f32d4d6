"""Everything the compiler writes that depends on the SQL engine, in one place.

Only DuckDB for now. Each function returns a sqlglot expression tree; the compiler never writes
engine-specific SQL text of its own. Another engine (PostgreSQL, Spark, ClickHouse) will be a
second class with the same methods.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

_STEP = {"month": "1 MONTH", "quarter": "3 MONTH", "year": "1 YEAR"}
# Periods are calendar periods in Algiers: timestamps are stored in UTC, and Africa/Algiers is
# UTC+1 all year (no summer time since 1981), so a local period starts one hour before its UTC
# date: a request at 23:30 UTC on 31 January was made on 1 February.
LOCAL_OFFSET = "INTERVAL 1 HOUR"


def parse(sql: str, **slots: exp.Expression) -> exp.Expression:
    """Parse a developer-written DuckDB template and fill its :slots with expression trees."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    return exp.replace_placeholders(tree, **slots) if slots else tree


class DuckDB:
    name = "duckdb"

    def period_start(self, grain: str, ts: exp.Expression) -> exp.Expression:
        """First day (local) of the period holding the UTC time ``ts``, as a DATE."""
        return parse(f"CAST(date_trunc('{grain}', :ts + {LOCAL_OFFSET}) AS DATE)", ts=ts)

    def local_date(self, ts: exp.Expression) -> exp.Expression:
        """The local (Algiers) day of the UTC time ``ts``."""
        return parse(f"CAST(:ts + {LOCAL_OFFSET} AS DATE)", ts=ts)

    def period_start_utc(self, start: exp.Expression) -> exp.Expression:
        """The UTC instant at which a local day ``start`` (a DATE) begins."""
        return parse(f"CAST(:s AS TIMESTAMP) - {LOCAL_OFFSET}", s=start)

    def next_period(self, grain: str, start: exp.Expression) -> exp.Expression:
        """The UTC instant at which the local period starting on ``start`` ends."""
        return parse(f"(CAST(:s AS TIMESTAMP) + INTERVAL {_STEP[grain]} - {LOCAL_OFFSET})", s=start)

    def last_day(self, period_end: exp.Expression) -> exp.Expression:
        """The last local day of a period whose end (UTC instant, exclusive) is ``period_end``."""
        return parse(f"CAST(:e + {LOCAL_OFFSET} - INTERVAL 1 MICROSECOND AS DATE)", e=period_end)

    def previous_period(self, grain: str, start: exp.Expression, years: bool = False) -> exp.Expression:
        step = "1 YEAR" if years else _STEP[grain]
        return parse(f"CAST(:s - INTERVAL {step} AS DATE)", s=start)

    def calendar(self, grain: str, first: exp.Expression, last: exp.Expression) -> exp.Expression:
        """A relation of local period starts (column period_start) from the local day ``first``
        to the period holding the UTC time ``last``."""
        return parse(
            "SELECT CAST(gs.generate_series AS DATE) AS period_start FROM "
            f"generate_series(CAST(date_trunc('{grain}', :a) AS TIMESTAMP), "
            f"CAST(date_trunc('{grain}', :b + {LOCAL_OFFSET}) AS TIMESTAMP), INTERVAL {_STEP[grain]}) AS gs",
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

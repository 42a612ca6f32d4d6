"""The catalogue format, version 1: one pydantic model per YAML node, unknown keys forbidden.

``docs/indicators.md`` documents every field; ``kpi/indicators.schema.json`` is generated from
these models (``python -m kpi schema``) and a test keeps the two in sync.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FORMAT_VERSION = 1
ID_PATTERN = r"^[a-z][a-z0-9_]{1,62}$"
PERIOD_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$"

Kind = Literal["count", "sum", "average", "ratio", "percentile", "stock", "derived"]
Unit = Literal["count", "days", "percent", "rating", "DA", "DA_per_inhabitant",
               "per_1000_requests", "per_10000_inhabitants", "inhabitants", "projects"]
Direction = Literal["higher", "lower", "neutral"]
Category = Literal["requests", "delays", "digital", "satisfaction", "budget", "projects",
                   "data_quality", "territory"]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Text(_Node):
    """A text in the three languages of the product."""

    fr: str = Field(min_length=1, description="French (the default language).")
    ar: str = Field(min_length=1, description="Arabic.")
    en: str = Field(min_length=1, description="English.")


class Display(_Node):
    decimals: int = Field(0, ge=0, le=6, description="Digits after the decimal separator.")
    compact: bool = Field(False, description="Show large numbers as 1.2 M / 3.4 k.")


class Part(_Node):
    """Numerator or denominator of a ratio: an aggregate of rows with its own filter."""

    aggregate: Literal["count", "sum"] = Field(description="count rows, or sum an expression.")
    expr: str | None = Field(None, min_length=1, description="Expression summed (aggregate: sum).")
    filter: str | None = Field(None, min_length=1, description="SQL boolean expression: rows counted.")

    @model_validator(mode="after")
    def _expr_for_sum(self) -> "Part":
        if self.aggregate == "sum" and not self.expr:
            raise ValueError("aggregate: sum needs an expr (what to sum)")
        if self.aggregate == "count" and self.expr:
            raise ValueError("aggregate: count takes no expr (use filter to choose the rows)")
        return self


class Stock(_Node):
    """Rows open at the end of the period: ``from`` <= period end < ``to`` (or ``to`` NULL)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: str = Field(alias="from", description="Column at which a row opens.")
    to: str | None = Field(None, description="Column at which it closes (NULL: still open).")


class TrajectoryStep(_Node):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_: str = Field(alias="from", pattern=PERIOD_PATTERN,
                       description="First period the value applies to: 2026, 2026-Q3 or 2026-07.")
    value: float

    @field_validator("from_", mode="before")
    @classmethod
    def _year_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class Target(_Node):
    value: float | None = Field(None, description="National target.")
    wilayas: dict[str, float] = Field(default_factory=dict,
                                      description="Per-wilaya override, by two-digit wilaya code.")
    trajectory: list[TrajectoryStep] = Field(
        default_factory=list, description="Dated national values; the latest step on or before "
        "a period applies to it (before the first step: value).")

    @model_validator(mode="after")
    def _something(self) -> "Target":
        if self.value is None and not self.trajectory and not self.wilayas:
            raise ValueError("a target needs a value, a trajectory or per-wilaya values")
        return self


class Thresholds(_Node):
    """Bounds of green and amber; below amber (or above, when lower is better) is red."""

    basis: Literal["absolute", "target"] = Field(
        description="absolute: bounds are values; target: bounds are multiples of the target.")
    green: float
    amber: float


class FixtureTest(_Node):
    """A golden test: a few rows, the figures they must give."""

    name: str
    as_of: dt.datetime | dt.date | None = Field(None, description="Data as-of time (default: "
                                                "the latest time in the rows).")
    communes: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Communes used, by ONS code: daira, population, "
        "is_pilot (defaults: daira <wilaya>-01, population 10000).")
    rows: dict[str, list[dict[str, Any]]] = Field(
        description="Rows per warehouse table (fact_request, dim_service, …).")
    expect: list["Expectation"]


class Expectation(_Node):
    level: Literal["commune", "daira", "wilaya", "nation"]
    territory: str | None = Field(None, description="Commune, daïra or wilaya code (not for nation).")
    grain: Literal["month", "quarter", "year"]
    period: str = Field(pattern=PERIOD_PATTERN)
    value: float | None = Field(None, description="Expected value (null: no figure or not applicable).")
    member: str | None = Field(None, description="With split: the dimension member.")
    split: str | None = Field(None, description="Dimension the figure is split by.")
    field: Literal["value", "prev_value", "yoy_value", "ytd_value", "target", "rank_parent",
                   "rank_peer"] = Field("value", description="Which figure value is compared with.")
    status: Literal["green", "amber", "red"] | None = Field(None, description="Expected status.")

    @model_validator(mode="after")
    def _something_expected(self) -> "Expectation":
        if "value" not in self.model_fields_set and self.status is None:
            raise ValueError("an expectation needs a value (null for no figure) or a status")
        return self


class Indicator(_Node):
    id: str = Field(pattern=ID_PATTERN, description="Stable identifier, lower_snake_case.")
    label: Text
    description: Text
    category: Category
    unit: Unit
    display: Display = Display()
    owner: str = Field(min_length=1, description="Who answers for the definition.")
    caveats: Text | None = Field(None, description="Shown next to the figure.")
    source: str | None = Field(None, description="Row set (see docs/indicators.md); not for derived.")
    kind: Kind
    time: str | None = Field(None, description="Flow: the column that places a row in a period.")
    stock: Stock | None = Field(None, description="Stock: rows open at the end of the period.")
    filter: str | None = Field(None, min_length=1, description="SQL boolean expression: rows kept.")
    expr: str | None = Field(None, min_length=1, description="Expression aggregated (sum, average, percentile, stock).")
    aggregate: Literal["count", "sum", "average", "min", "max"] | None = Field(
        None, description="Stock: how open rows are aggregated (default count).")
    p: float | None = Field(None, gt=0, lt=1, description="Percentile: 0.5 for the median, 0.9 for P90.")
    numerator: Part | None = None
    denominator: Part | None = None
    zero_denominator: Literal["not_applicable"] | None = Field(
        None, description="Ratio: acknowledge that the denominator can be zero; the figure is then "
        "shown as not applicable.")
    formula: str | None = Field(None, min_length=1, description="Derived: arithmetic over other indicator ids.")
    dimensions: list[str] = Field(default_factory=list, description="Splits offered (service, channel, …).")
    grains: list[Literal["month", "quarter", "year"]] | None = Field(
        None, description="Grains computed (default: all the source allows).")
    direction: Direction
    target: Target | None = None
    thresholds: Thresholds | None = None
    tests: list[FixtureTest] = Field(default_factory=list)


class Catalogue(_Node):
    version: Literal[1] = Field(description="Format version of this file.")
    indicators: list[Any] = Field(description="The indicators (each validated on its own).")


_PERIOD_RE = re.compile(PERIOD_PATTERN)


def period_start(text: str) -> dt.date:
    """'2026' -> 2026-01-01, '2026-Q3' -> 2026-07-01, '2026-07' -> 2026-07-01."""
    if len(text) == 4:
        return dt.date(int(text), 1, 1)
    year, rest = text.split("-")
    if rest.startswith("Q"):
        return dt.date(int(year), 3 * int(rest[1]) - 2, 1)
    return dt.date(int(year), int(rest), 1)


def period_label(grain: str, start: dt.date) -> str:
    if grain == "year":
        return f"{start.year}"
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


def grain_of(text: str) -> str:
    return "year" if len(text) == 4 else "quarter" if "Q" in text else "month"


FixtureTest.model_rebuild()
Indicator.model_rebuild()

# What the YAML may hold, for the JSON Schema: the catalogue with typed indicators.
class CatalogueFile(_Node):
    version: Literal[1]
    indicators: list[Indicator]


__all__ = ["Catalogue", "CatalogueFile", "Indicator", "Part", "Stock", "Target", "Thresholds",
           "Text", "FixtureTest", "Expectation", "period_start", "period_label", "grain_of",
           "FORMAT_VERSION"]

GRAINS_ALL = ("month", "quarter", "year")

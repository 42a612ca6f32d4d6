"""The row sets an indicator can be computed from (``source:`` in indicators.yaml).

Each source is a fact table of the warehouse (``etl/schema.py`` is the contract; a test checks
that every column used here exists there), the lookups it may join, and the columns a steward
may name in expressions. A column is a small DuckDB expression over the table aliases; the
compiler substitutes it, as an expression tree, wherever a steward's expression names it, and
joins a lookup only when a column that needs it is used.

Time: a flow indicator counts rows whose ``time:`` column falls in the period; a stock counts
rows open at the period end (``stock: {from, to}``); a *snapshot* source (the budget) keeps
only the last snapshot within the period. ``period_end`` may be named in expressions: the last
instant of the period, or the data's as-of time when the period is not over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LEVELS = ("commune", "daira", "wilaya", "nation")
GRAINS = ("month", "quarter", "year")
NATION_CODE = "DZ"

# Types a steward sees in messages and docs.
NUMBER, TEXT, TIMESTAMP, DATE, BOOLEAN = "number", "text", "timestamp", "date", "boolean"


@dataclass(frozen=True)
class SourceColumn:
    name: str
    sql: str
    type: str
    description: str
    joins: tuple[str, ...] = ()
    # Strictly positive on every row: a ratio may divide by its sum without a zero check.
    positive: bool = False


@dataclass(frozen=True)
class Join:
    table: str
    alias: str
    on: str


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    table: str                      # a warehouse table, or a developer-written subquery
    fact_table: str | None          # table whose _batch_id says what a batch changed
    columns: tuple[SourceColumn, ...]
    joins: dict[str, Join] = field(default_factory=dict)
    dimensions: dict[str, str] = field(default_factory=dict)   # split name -> column
    time_columns: tuple[str, ...] = ()
    territorial: bool = True        # has commune_code; False: national figures only
    snapshot: str | None = None     # column of snapshot dates (last one in the period is kept)
    static: bool = False            # no time: the same value for every period
    grains: tuple[str, ...] = GRAINS
    # SQL over the fact table's rows: the earliest moment a changed row can affect.
    change_time: str | None = None
    # Rows later than the data's as-of time are left out (False: ETL metadata, which is
    # written after the data it describes).
    bounded: bool = True
    # Snapshot sources: SQL true on a row whose snapshot holds reported data; a commune's
    # snapshot counts only if one of its rows is (partitioned by commune and snapshot date).
    reported: str | None = None
    alias: str = "f"

    def column(self, name: str) -> SourceColumn | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name: str, sql: str, type_: str, description: str, joins: tuple[str, ...] = (),
       positive: bool = False) -> SourceColumn:
    return SourceColumn(name, sql, type_, description, joins, positive)


_SERVICE = Join("dim_service", "s", "s.service_code = f.service_code")
_CHANNEL = Join("dim_channel", "ch", "ch.channel_code = f.channel")

REQUESTS = Source(
    name="requests",
    description="Citizen requests received by commune services (fact_request).",
    table="fact_request",
    fact_table="fact_request",
    joins={"s": _SERVICE, "ch": _CHANNEL},
    columns=(
        _c("request_id", "f.request_id", TEXT, "Request number in the commune system."),
        _c("commune_code", "f.commune_code", TEXT, "ONS code of the commune."),
        _c("service_code", "f.service_code", TEXT, "Procedure (dim_service)."),
        _c("service_category", "s.category", TEXT,
           "Category of the procedure: etat_civil, titres, urbanisme, legalisation, social, "
           "affaires_generales, reclamation.", ("s",)),
        _c("channel", "f.channel", TEXT, "desk, web, mobile or phone."),
        _c("is_digital", "ch.is_digital", BOOLEAN, "True for the web portal and the mobile app.",
           ("ch",)),
        _c("status", "f.status", TEXT, "submitted, in_progress, closed, rejected or cancelled."),
        _c("submitted_at", "f.submitted_at", TIMESTAMP, "Submission time (UTC)."),
        _c("closed_at", "f.closed_at", TIMESTAMP, "Closing time (UTC); NULL while open."),
        _c("updated_at", "f.updated_at", TIMESTAMP, "Last change in the commune system (UTC)."),
        _c("legal_delay_days", "s.legal_delay_days", NUMBER,
           "Legal or regulatory deadline of the procedure, days.", ("s",)),
        _c("delay_days", "epoch(f.closed_at - f.submitted_at) / 86400.0", NUMBER,
           "Processing time in days (fractional), NULL while open."),
        _c("deadline_at",
           "f.submitted_at + to_microseconds(CAST(round(s.legal_delay_days * 86400000000.0) AS BIGINT))",
           TIMESTAMP, "When the legal deadline runs out.", ("s",)),
    ),
    dimensions={"service": "service_code", "channel": "channel", "service_category": "service_category"},
    time_columns=("submitted_at", "closed_at", "updated_at", "deadline_at"),
    change_time="least(f.submitted_at, f.updated_at)",
)

SATISFACTION = Source(
    name="satisfaction",
    description="Satisfaction survey answers, 1 to 5, after a closed request (fact_satisfaction).",
    table="fact_satisfaction",
    fact_table="fact_satisfaction",
    joins={"s": _SERVICE, "ch": _CHANNEL},
    columns=(
        _c("response_id", "f.response_id", TEXT, "Survey answer id."),
        _c("commune_code", "f.commune_code", TEXT, "ONS code of the commune."),
        _c("service_code", "f.service_code", TEXT, "Procedure the answer is about (may be NULL)."),
        _c("service_category", "s.category", TEXT, "Category of the procedure.", ("s",)),
        _c("channel", "f.channel", TEXT, "Channel the request went through."),
        _c("is_digital", "ch.is_digital", BOOLEAN, "True for web and mobile.", ("ch",)),
        _c("rating", "f.rating", NUMBER, "Rating from 1 (very unhappy) to 5 (very happy)."),
        _c("answered_at", "f.answered_at", TIMESTAMP, "Answer time (UTC)."),
    ),
    dimensions={"service": "service_code", "channel": "channel"},
    time_columns=("answered_at",),
    change_time="f.answered_at",
)


def _quarter_case(prefix: str) -> str:
    return "CASE q.quarter " + " ".join(
        f"WHEN {k} THEN f.{prefix}_t{k}" for k in range(1, 5)) + " END"


def _ytd(prefix: str) -> str:
    return " + ".join(
        f"CASE WHEN q.quarter >= {k} THEN coalesce(f.{prefix}_t{k}, 0) ELSE 0 END" for k in range(1, 5))


BUDGET = Source(
    name="budget",
    description=("Commune budgets by article, one snapshot per quarter (fact_budget): the "
                 "figure of a period takes, for each commune, the last quarter it reported within "
                 "it (a quarter with no amount filled in on any line is not reported yet)."),
    table="fact_budget",
    fact_table="fact_budget",
    joins={"q": Join("(VALUES (1), (2), (3), (4)) AS q(quarter)", "q", "TRUE")},
    columns=(
        _c("commune_code", "f.commune_code", TEXT, "ONS code of the commune."),
        _c("fiscal_year", "f.fiscal_year", NUMBER, "Fiscal year."),
        _c("quarter", "q.quarter", NUMBER, "Quarter of the snapshot (1-4).", ("q",)),
        _c("as_of", "last_day(make_date(f.fiscal_year, q.quarter * 3, 1))", DATE,
           "Snapshot date: last day of the quarter.", ("q",)),
        _c("section", "f.section", TEXT, "fonctionnement or equipement."),
        _c("nature", "f.nature", TEXT, "recette (revenue) or depense (spending)."),
        _c("origine", "f.origine", TEXT, "Revenue lines: propres (own revenue) or transferts."),
        _c("chapitre", "f.chapitre", TEXT, "Budget chapter."),
        _c("article", "f.article", TEXT, "Budget article."),
        _c("prevu", "f.prevu_bp + coalesce(f.prevu_bs, 0)", NUMBER,
           "Allocation of the year, primitive plus supplementary budget (DA)."),
        _c("prevu_bp", "f.prevu_bp", NUMBER, "Primitive budget allocation (DA)."),
        _c("engage", _quarter_case("engage"), NUMBER, "Committed during the quarter (DA).", ("q",)),
        _c("mandate", _quarter_case("mandate"), NUMBER, "Paid or collected during the quarter (DA).",
           ("q",)),
        _c("engage_ytd", _ytd("engage"), NUMBER, "Committed since 1 January (DA).", ("q",)),
        _c("mandate_ytd", _ytd("mandate"), NUMBER, "Paid or collected since 1 January (DA).", ("q",)),
    ),
    dimensions={"section": "section", "nature": "nature", "origin": "origine"},
    time_columns=("as_of",),
    snapshot="as_of",
    reported="CASE q.quarter " + " ".join(
        f"WHEN {k} THEN coalesce(f.mandate_t{k}, f.engage_t{k})" for k in range(1, 5)) + " END IS NOT NULL",
    grains=("quarter", "year"),
    change_time="make_date(f.fiscal_year, 1, 1)",
)

PROJECTS = Source(
    name="projects",
    description="Investment projects, latest situation sent by the commune (fact_project).",
    table="fact_project",
    fact_table="fact_project",
    columns=(
        _c("project_id", "f.project_id", TEXT, "Project code."),
        _c("commune_code", "f.commune_code", TEXT, "ONS code of the commune."),
        _c("programme", "f.programme", TEXT, "PCD, PSD, PSC, FCCL, …"),
        _c("sector", "f.sector", TEXT, "Sector (education, water, roads, …)."),
        _c("status", "f.status", TEXT, "planned, in_progress, completed, stalled or cancelled."),
        _c("ap_amount", "f.ap_amount", NUMBER, "Autorisation de programme (DA)."),
        _c("consumed_amount", "f.consumed_amount", NUMBER, "Amount consumed to date (DA)."),
        _c("physical_progress", "f.physical_progress", NUMBER, "Physical progress, percent."),
        _c("financial_progress", "100.0 * f.consumed_amount / nullif(f.ap_amount, 0)", NUMBER,
           "Consumed amount as a percent of the AP."),
        _c("planned_start", "f.planned_start", DATE, "Planned start."),
        _c("planned_end", "f.planned_end", DATE, "Planned end."),
        _c("actual_start", "f.actual_start", DATE, "Actual start (NULL if not started)."),
        _c("actual_end", "f.actual_end", DATE, "Actual end (NULL if not finished)."),
        _c("start_date", "coalesce(f.actual_start, f.planned_start)", DATE,
           "Actual start, else planned start."),
        _c("delay_days", "date_diff('day', f.planned_end, f.actual_end)", NUMBER,
           "Days between planned and actual end (negative: early); NULL if not finished."),
    ),
    dimensions={"programme": "programme", "sector": "sector"},
    time_columns=("planned_start", "planned_end", "actual_start", "actual_end", "start_date"),
    change_time="least(f.planned_start, coalesce(f.actual_start, f.planned_start))",
)

# One row per commune and day on which its request feed brought a change, with the next such
# day: "open" from one day to the next, so at any period end exactly one row per active commune
# is open — the last day data arrived.
FEEDS = Source(
    name="feeds",
    description=("Days on which a commune's request feed brought new or changed rows "
                 "(derived from fact_request.updated_at)."),
    table=("(SELECT commune_code, day, lead(day) OVER (PARTITION BY commune_code ORDER BY day) "
           "AS next_day FROM (SELECT DISTINCT commune_code, CAST(updated_at + INTERVAL 1 HOUR AS DATE) AS day "
           "FROM fact_request))"),
    fact_table="fact_request",
    columns=(
        _c("commune_code", "f.commune_code", TEXT, "ONS code of the commune."),
        _c("last_update", "f.day", DATE, "A day (in Algiers) on which the feed brought data."),
        _c("next_update", "f.next_day", DATE, "The next such day (NULL for the latest)."),
    ),
    time_columns=("last_update", "next_update"),
    change_time="f.updated_at",
)

BATCHES = Source(
    name="batches",
    description="ETL batches, one per source file or table read (etl_batch); national only.",
    table="etl_batch",
    fact_table=None,
    columns=(
        _c("source", "f.source", TEXT, "Source name from the sources file."),
        _c("dataset", "f.dataset", TEXT, "requests, budget, projects or satisfaction."),
        _c("connector", "f.connector", TEXT, "csv, excel or sql."),
        _c("status", "f.status", TEXT, "ok, unchanged or failed."),
        _c("rows_read", "f.rows_read", NUMBER, "Rows read."),
        _c("rows_loaded", "f.rows_loaded", NUMBER, "Rows inserted."),
        _c("rows_merged", "f.rows_merged", NUMBER, "Rows that replaced an earlier version."),
        _c("rows_rejected", "f.rows_rejected", NUMBER, "Rows sent to quarantine."),
        _c("finished_at", "f.finished_at", TIMESTAMP, "End of the batch (UTC)."),
    ),
    dimensions={"dataset": "dataset"},
    time_columns=("finished_at",),
    territorial=False,
    bounded=False,
)

COMMUNES = Source(
    name="communes",
    description="The communes themselves (dim_commune): population and pilot status, no time.",
    table="dim_commune",
    fact_table=None,
    columns=(
        _c("commune_code", "f.commune_code", TEXT, "ONS code of the commune."),
        _c("population", "f.population", NUMBER, "Population.", positive=True),
        _c("is_pilot", "f.is_pilot", BOOLEAN, "Pilot commune of the digital governance project."),
    ),
    static=True,
)

SOURCES: dict[str, Source] = {
    s.name: s for s in (REQUESTS, SATISFACTION, BUDGET, PROJECTS, FEEDS, BATCHES, COMMUNES)
}

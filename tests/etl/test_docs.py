"""The documentation names every table and column of the warehouse schema and every source key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from etl.schema import AUDIT, DATASETS, DIMENSIONS, LINEAGE_COLUMNS
from etl.sources import Source

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _names() -> list[tuple[str, str]]:
    out = []
    for ds in DATASETS.values():
        out += [(ds.table, c.name) for c in ds.columns]
        out += [(ds.table, n) for n, _, _ in LINEAGE_COLUMNS]
    for group in (DIMENSIONS, AUDIT):
        for table, cols in group.items():
            out += [(table, n) for n, _, _ in cols]
    return out


@pytest.mark.parametrize("table,column", _names())
def test_warehouse_doc_names_every_column(table: str, column: str) -> None:
    text = (DOCS / "warehouse.md").read_text(encoding="utf-8")
    section = re.search(rf"### `{table}`.*?(?=\n### |\n## |\Z)", text, re.S)
    assert section, f"docs/warehouse.md has no section for table {table}"
    assert f"`{column}`" in section.group(0), f"{table}.{column} is not documented"


@pytest.mark.parametrize("key", sorted(
    (f.alias or name) for name, f in Source.model_fields.items()
))
def test_sources_doc_names_every_key(key: str) -> None:
    text = (DOCS / "sources.md").read_text(encoding="utf-8")
    assert f"`{key}`" in text, f"source key {key!r} is not documented in docs/sources.md"

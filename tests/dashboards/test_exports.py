"""Exports: what a grid or chart shows, as CSV and as a formatted Excel workbook."""

from __future__ import annotations

import csv
import io

import openpyxl

from dashboards import exports, tables  # noqa: F401 — tables registers the datasets
from dashboards.i18n import Translator
from dashboards.state import State


def _client():
    import app

    return app.server.test_client()


def test_ranking_workbook_has_title_filters_time_sources_units(demo_env):
    r = _client().get("/export/ranking.xlsx?indicator=on_time_rate&grain=quarter")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    ws = wb.worksheets[0]
    rows = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    assert rows[0][0].startswith("Classement des wilayas")
    labels = [r[0] for r in rows[:10]]
    assert "Indicateur" in labels and "Pas de temps" in labels and "Généré le" in labels
    head = next(i for i, r in enumerate(rows) if r[0] == "Rang")
    assert "Valeur (%)" in rows[head]
    data_rows = rows[head + 1:]
    assert len(data_rows) == 69
    assert all(isinstance(r[3], (int, float)) for r in data_rows if r[3] is not None)   # numbers stay numbers
    assert ws.freeze_panes is not None
    sources = wb.worksheets[1]
    assert sources.cell(3, 1).value == "Source" and sources.max_row > 3   # the batches it came from


def test_arabic_workbook_reads_right_to_left(demo_env):
    table = exports.build("communes", Translator("ar"), State(lang="ar", territory="16"))
    wb = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(table, Translator("ar"),
                                                           __import__("datetime").datetime(2026, 11, 1))))
    assert wb.worksheets[0].sheet_view.rightToLeft


def test_csv_has_a_bom_and_units_in_the_header(demo_env):
    r = _client().get("/export/communes.csv?t=16&indicator=delay_median")
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:3] == ["Daïra", "Code", "Commune"] and "Valeur (j)" in rows[0]
    assert len(rows) > 40 and all(r[1].startswith("16") for r in rows[1:])

"""A card's export links download what the card shows: an Excel workbook a finance service can
file, and a CSV a spreadsheet opens with its accents (UTF-8 with a byte-order mark)."""

from __future__ import annotations

import csv
import io
import re

import openpyxl

from .conftest import open_page


def test_excel_and_csv_exports_download(page, site, tmp_path):
    open_page(page, site.url("/"))
    card = page.locator("#card-ranking")
    excel = card.locator("a.export", has_text="Excel")
    assert re.match(r"^/export/ranking\.xlsx(\?|$)", excel.get_attribute("href")), excel.get_attribute("href")

    with page.expect_download() as dl:
        excel.click()
    download = dl.value
    assert download.failure() is None
    assert download.suggested_filename.startswith("mouachir_ranking_DZ_")
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    wb = openpyxl.load_workbook(path)   # a real workbook: openpyxl reads it
    ws = wb.worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert str(rows[0][0]).startswith("Classement des wilayas : "), rows[0]
    labels = [r[0] for r in rows]
    assert "Généré le" in labels, labels[:10]
    generated = rows[labels.index("Généré le")][1]
    assert re.match(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2} \(heure d'Alger\)$", str(generated)), generated
    head = labels.index("Rang")
    header = rows[head]
    assert header[:3] == ["Rang", "Code", "Wilaya"], header
    assert "Valeur (%)" in header and "Cible (%)" in header, header     # units in the headers
    data = [r for r in rows[head + 1:] if any(v is not None for v in r)]
    assert len(data) == 69, len(data)
    assert len({r[1] for r in data}) == 69
    assert all(re.fullmatch(r"\d{2}", r[1]) for r in data), [r[1] for r in data][:5]   # codes keep the 0
    values = [r[header.index("Valeur (%)")] for r in data]
    assert sum(isinstance(v, (int, float)) for v in values) >= 60, values[:10]        # numbers, not text
    assert ws.freeze_panes == f"A{head + 2}"

    with page.expect_download() as dl:
        card.locator("a.export", has_text="CSV").click()
    raw = open(dl.value.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:10]
    text = raw.decode("utf-8")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0][:4] == ["Rang", "Code", "Wilaya", "Valeur (%)"], table[0]
    assert len(table) - 1 == 69
    assert {r[1] for r in table[1:]} == {r[1] for r in data}
    assert any(ch in text for ch in "éèàâ"), "accents expected in wilaya names (Béjaïa, Médéa…)"

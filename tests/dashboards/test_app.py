"""The app served by a real WSGI server (gunicorn, two workers) over a real warehouse file: the
pages answer, in their language, compressed and cacheable; exports come from the warehouse as
it is now, so a load while the app serves shows up without a restart."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from etl.loader import load
from etl.sources import load_config
from kpi.cli import main as kpi_main

ROOT = Path(__file__).resolve().parents[2]
HEADER = ("Code projet;Wilaya;Commune;Programme;Secteur;Intitulé du projet;"
          "Autorisation de programme (DA);Date de début prévue;Date de fin prévue;Statut")


def _write_projects(folder: Path, rows: list[str]) -> None:
    (folder / "projects").mkdir(exist_ok=True)
    (folder / "projects" / "p.csv").write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")


def _config(folder: Path) -> Path:
    cfg = {"version": 1, "sources": [{
        "name": "projets-16", "dataset": "projects", "connector": "csv", "path": "projects/*.csv",
        "decimal": ",", "date_format": "%d/%m/%Y", "wilaya_column": "Wilaya",
        "columns": {"project_id": "Code projet", "commune_code": "Commune", "programme": "Programme",
                    "sector": "Secteur", "title": "Intitulé du projet",
                    "ap_amount": "Autorisation de programme (DA)",
                    "planned_start": "Date de début prévue", "planned_end": "Date de fin prévue",
                    "status": "Statut"}}]}
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[bytes, dict[str, str]]:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=20) as r:
        return r.read(), dict(r.headers)


def _text(url: str) -> str:
    return _get(url)[0].decode("utf-8-sig")


@pytest.fixture()
def served(tmp_path: Path):
    wh = tmp_path / "warehouse.duckdb"
    _write_projects(tmp_path, ["P1;16;Alger Centre;PCD;AEP;Réseau;1 000,00;01/03/2025;31/12/2025;En cours",
                               "P2;16;Inconnue;PCD;AEP;Réseau;1 000,00;01/03/2025;31/12/2025;En cours"])
    load(load_config(_config(tmp_path)), wh)
    port = _free_port()
    env = {**os.environ, "MOUACHIR_WAREHOUSE": str(wh), "MOUACHIR_GEO": str(tmp_path / "geo")}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "app:server"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            _get(base + "/")
            break
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read().decode())
            time.sleep(0.2)
    yield base, tmp_path, wh
    proc.terminate()
    proc.wait(10)


def test_pages_answer_in_their_language_compressed_and_cacheable(served) -> None:
    base, _, _ = served
    page = _text(base + "/")
    assert '<html lang="fr" dir="ltr">' in page
    assert '<html lang="ar" dir="rtl">' in _text(base + "/wilaya/16?lang=ar")
    assert '<html lang="en" dir="ltr">' in _text(base + "/commune/1601?lang=en&grain=year")
    # every script is served by the app itself (no CDN), compressed, and cached by the browser
    scripts = [s.split('"')[0] for s in page.split('src="')[1:]]
    assert scripts and all(s.startswith("/") for s in scripts), scripts
    body, headers = _get(base + scripts[0], {"Accept-Encoding": "gzip"})
    assert headers.get("Content-Encoding") == "gzip" and gzip.decompress(body)
    assert "max-age" in headers.get("Cache-Control", "")
    css = [s.split('"')[0] for s in page.split('href="')[1:] if ".css" in s.split('"')[0]]
    assert any("style.css" in c for c in css)


def test_exports_see_a_new_load_without_restart(served) -> None:
    base, folder, wh = served
    batches = list(csv.reader(io.StringIO(_text(base + "/export/batches.csv"))))
    assert batches[0][:3] == ["Lot", "Source", "Fichier / table"]
    assert sum(1 for r in batches[1:] if r[2] == "projects/p.csv") == 1
    quarantine = _text(base + "/export/quarantine.csv")
    assert "unknown_commune" in quarantine   # the commune "Inconnue", with its reason
    _write_projects(folder, ["P1;16;Alger Centre;PCD;AEP;Réseau;1 000,00;01/03/2025;31/12/2025;En cours",
                             "P3;16;Bab El Oued;PCD;AEP;École;2 000,00;01/03/2025;31/12/2025;Inscrit"])
    # the workers hold no lock: a load runs while the app is serving
    result = load(load_config(folder / "sources.yaml"), wh)
    assert result.swapped and not result.failed
    batches = list(csv.reader(io.StringIO(_text(base + "/export/batches.csv"))))
    # two batches now, the new one on top with 1 loaded (P3) and 1 merged (P1)
    assert [r for r in batches[1:] if r[2] == "projects/p.csv"][0][6:8] == ["1", "1"]
    assert sum(1 for r in batches[1:] if r[2] == "projects/p.csv") == 2


def test_unknown_export_or_format_is_not_found(served) -> None:
    base, _, _ = served
    for path in ("/export/nothing.csv", "/export/batches.pdf", "/geo/absent.json", "/geo/wilayas_x.json"):
        with pytest.raises(urllib.error.HTTPError) as e:
            _get(base + path)
        assert e.value.code == 404, path
    # a path that tries to leave the geometry folder is not a geometry request at all: the app's
    # page shell answers (its own "page not found"), never a file from elsewhere
    body, headers = _get(base + "/geo/..%2F..%2Fetc%2Fpasswd.json")
    assert headers["Content-Type"].startswith("text/html") and b"root:" not in body


def _render(base: str, pathname: str, search: str = "") -> dict:
    """What the browser asks when it shows a page: the pages router callback."""
    from dashboards.shell import create_app   # noqa: F401 — the payload shape only

    payload = {"output": ".._pages_content.children..._pages_store.data..",
               "outputs": [{"id": "_pages_content", "property": "children"},
                           {"id": "_pages_store", "property": "data"}],
               "inputs": [{"id": "_pages_location", "property": "pathname", "value": pathname},
                          {"id": "_pages_location", "property": "search", "value": search}],
               "changedPropIds": ["_pages_location.pathname"], "state": []}
    req = urllib.request.Request(base + "/_dash-update-component", data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def test_pages_render_through_the_server_before_and_after_the_figures(served) -> None:
    base, _, wh = served
    before = json.dumps(_render(base, "/"), ensure_ascii=False)
    assert "python -m kpi compute" in before    # no figures yet: the page says how to get them
    assert kpi_main(["--warehouse", str(wh), "compute"]) == 0
    for path, search in (("/", ""), ("/projects", "?t=16"), ("/quality", ""), ("/catalogue", "?lang=ar"),
                         ("/wilaya/16", ""), ("/commune/1601", ""), ("/explorer", "?t=16-01"),
                         ("/budget", ""), ("/satisfaction", "?lang=en")):
        text = json.dumps(_render(base, path, search), ensure_ascii=False)
        assert "erreur interne" not in text and "internal error" not in text, path
    projects = json.dumps(_render(base, "/projects", "?t=16"), ensure_ascii=False)
    assert "Projets d'investissement" in projects
    # the geometry was not built for this warehouse: the map says so in words
    assert "python -m dashboards.geo" in json.dumps(_render(base, "/"), ensure_ascii=False)

"""The app served by a real WSGI server (gunicorn, two workers) over a real warehouse file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from etl.loader import load
from etl.sources import load_config

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


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode("utf-8")


@pytest.fixture()
def served(tmp_path: Path):
    wh = tmp_path / "warehouse.duckdb"
    _write_projects(tmp_path, ["P1;16;Alger Centre;PCD;AEP;Réseau;1 000,00;01/03/2025;31/12/2025;En cours",
                               "P2;16;Inconnue;PCD;AEP;Réseau;1 000,00;01/03/2025;31/12/2025;En cours"])
    load(load_config(_config(tmp_path)), wh)
    port = _free_port()
    env = {**os.environ, "MOUACHIR_WAREHOUSE": str(wh)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "app:server"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
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


def test_home_lists_what_the_warehouse_holds(served) -> None:
    base, _, _ = served
    page = _get(base + "/")
    assert '<html lang="fr">' in page
    layout = json.dumps(json.loads(_get(base + "/_dash-layout")), ensure_ascii=False)
    assert "Mouachir — contenu de l'entrepôt" in layout
    assert "Projets d'investissement" in layout
    assert "1541" in layout.replace("\u202f", "")  # communes of the reference
    assert "projects/p.csv" in layout  # the batch
    assert "unknown_commune" in layout  # the quarantine by reason
    assert "© OpenStreetMap contributors" in layout


def test_app_sees_a_new_load_without_restart(served) -> None:
    base, folder, wh = served
    before = json.loads(_get(base + "/_dash-layout"))
    assert "P3" not in json.dumps(before)
    _write_projects(folder, ["P1;16;Alger Centre;PCD;AEP;Réseau;1 000,00;01/03/2025;31/12/2025;En cours",
                             "P3;16;Bab El Oued;PCD;AEP;École;2 000,00;01/03/2025;31/12/2025;Inscrit"])
    # the workers hold no lock: a load runs while the app is serving
    result = load(load_config(folder / "sources.yaml"), wh)
    assert result.swapped and not result.failed
    layout = json.dumps(json.loads(_get(base + "/_dash-layout")), ensure_ascii=False)
    # two batches now, the new one on top with 1 loaded (P3) and 1 merged (P1)
    assert layout.count("projects/p.csv") == 2


def test_home_explains_a_missing_warehouse(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOUACHIR_WAREHOUSE", str(tmp_path / "absent.duckdb"))
    from dashboards import home

    text = json.dumps(home.layout().to_plotly_json(), default=str, ensure_ascii=False)
    assert "n'existe pas encore" in text and "python -m etl demo" in text

"""What only a browser shows: the wilaya map drawn by real headless Chromium, network cut off."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from dashboards import geo
from etl.warehouse import create_schema, refresh_reference
from kpi.cli import main as kpi_main

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         # nothing but the app answers: the map must not need the network
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (make test installs Debian's chromium when it can)")
        pytest.skip("chromium is not installed")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("map")
    wh = folder / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    create_schema(con)
    refresh_reference(con)
    # one request closed on time in a commune of every wilaya
    communes = con.execute("SELECT min(commune_code) FROM dim_commune GROUP BY wilaya_code").fetchall()
    for k, (code,) in enumerate(communes):
        con.execute("INSERT INTO fact_request VALUES (?, ?, 'EC_S12', 'desk', TIMESTAMP '2026-03-02 08:00:00', "
                    "TIMESTAMP '2026-03-02 09:00:00', 'closed', TIMESTAMP '2026-03-02 09:00:00', 'B1', 't', 't', ?)",
                    [f"R{k}", code, k])
    con.close()
    assert kpi_main(["--warehouse", str(wh), "compute"]) == 0
    assert geo.main(["--warehouse", str(wh), "--out", str(folder / "geo")]) == 0
    port = _free_port()
    env = {**os.environ, "MOUACHIR_WAREHOUSE": str(wh), "MOUACHIR_GEO": str(folder / "geo")}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers", "1", "--bind",
                             f"127.0.0.1:{port}", "app:server"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/", timeout=5).read()
            break
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read().decode())
            time.sleep(0.2)
    yield base, len(communes)
    proc.terminate()
    proc.wait(10)


def _dom(chromium: str, url: str, tmp_path: Path) -> str:
    out = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=15000", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_map_draws_every_wilaya_offline(chromium, served, tmp_path):
    base, n = served
    dom = _dom(chromium, base + "/", tmp_path)
    assert n == 69
    # one drawn shape per wilaya: boundaries from /geo/wilayas.json, no base map from a CDN
    assert dom.count('class="choroplethlocation"') == 69
    assert "OpenStreetMap contributors" in dom


def test_arabic_page_is_right_to_left_in_the_browser(chromium, served, tmp_path):
    base, _ = served
    dom = _dom(chromium, base + "/?lang=ar", tmp_path)
    assert 'dir="rtl"' in dom and 'lang="ar"' in dom
    assert "المؤشرات — على المستوى الوطني" in dom
    assert dom.count('class="choroplethlocation"') == 69

"""Shared fixtures: the real database servers running next to the tests.

PostgreSQL and MariaDB run on 127.0.0.1. Their URLs can be overridden with
``MOUACHIR_TEST_PG_URL`` and ``MOUACHIR_TEST_MYSQL_URL``. When a server cannot be reached the
tests that need it are skipped — except under ``CI=true``, where a missing server is a failure
(a CI run that silently skips the database tests proves nothing).
"""

from __future__ import annotations

import os

import pytest

PG_URLS = (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://root@127.0.0.1:5432/test",
)
MYSQL_URLS = ("mysql+pymysql://root@127.0.0.1:3306/test",)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _first_reachable(env_var: str, defaults: tuple[str, ...], what: str) -> str:
    import sqlalchemy as sa

    candidates = [os.environ[env_var]] if os.environ.get(env_var) else list(defaults)
    errors = []
    for url in candidates:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1")).fetchall()
            return url
        except Exception as e:  # noqa: BLE001 — any failure means "not reachable"
            errors.append(f"{engine.url.render_as_string(hide_password=True)}: "
                          f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        finally:
            engine.dispose()
    msg = f"{what} not reachable (set {env_var}); tried " + "; ".join(errors)
    if _in_ci():
        pytest.fail(msg + " — CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """SQLAlchemy URL of a reachable PostgreSQL database (skip, or fail under CI=true)."""
    return _first_reachable("MOUACHIR_TEST_PG_URL", PG_URLS, "PostgreSQL")


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """SQLAlchemy URL of a reachable MariaDB/MySQL database (skip, or fail under CI=true)."""
    return _first_reachable("MOUACHIR_TEST_MYSQL_URL", MYSQL_URLS, "MariaDB")


# --- a small demo site shared by the dashboard and browser tests -------------------------------

DEMO_REQUESTS = 30_000


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory):
    """A real demo warehouse (30,000 requests, every commune, budgets, projects, surveys), its
    figures computed and the map geometry built — what `make run` builds, smaller. About 50 s,
    once per test session."""
    from pathlib import Path

    from dashboards import geo
    from etl.cli import main as etl_main
    from kpi.cli import main as kpi_main

    folder: Path = tmp_path_factory.mktemp("demo_site")
    wh = folder / "warehouse.duckdb"
    assert etl_main(["demo", "--requests", str(DEMO_REQUESTS), "--out", str(folder / "sources"),
                     "--warehouse", str(wh)]) == 0
    assert kpi_main(["--warehouse", str(wh), "compute"]) == 0
    assert geo.main(["--warehouse", str(wh), "--out", str(folder / "geo")]) == 0
    return {"warehouse": wh, "geo": folder / "geo", "folder": folder}


@pytest.fixture()
def demo_env(demo_site, monkeypatch):
    """The app's data layer pointed at the demo site (for layouts called as plain functions)."""
    monkeypatch.setenv("MOUACHIR_WAREHOUSE", str(demo_site["warehouse"]))
    monkeypatch.setenv("MOUACHIR_GEO", str(demo_site["geo"]))
    return demo_site


@pytest.fixture(scope="session")
def served_demo(demo_site):
    """The app served by gunicorn (two workers) over the demo site: its base URL."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MOUACHIR_WAREHOUSE": str(demo_site["warehouse"]), "MOUACHIR_GEO": str(demo_site["geo"])}
    log = open(demo_site["folder"] / "gunicorn.log", "wb")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--bind",
                             f"127.0.0.1:{port}", "app:server"], cwd=root, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(base + "/", timeout=5).read()
            break
        except OSError:
            if proc.poll() is not None:
                raise AssertionError((demo_site["folder"] / "gunicorn.log").read_text())
            time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(10)
    log.close()

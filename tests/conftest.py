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

"""The catalogue's own golden tests (``tests:`` in indicators.yaml), run through the real engine."""

from __future__ import annotations

import pytest

from kpi import catalogue, testing
from kpi.model import FixtureTest

from .conftest import CATALOGUE

CAT = catalogue.load(CATALOGUE)
CASES = [(i, t) for i, c in CAT.indicators.items() for t in c.ind.tests]


def test_catalogue_is_clean_and_large_enough():
    assert CAT.issues == [], "\n".join(map(str, CAT.issues))
    assert len(CAT.indicators) >= 20
    untested = [i for i, c in CAT.indicators.items() if not c.ind.tests]
    assert untested == [], f"indicators without a golden test: {untested}"
    for c in CAT.indicators.values():
        assert c.ind.label.ar and c.ind.label.fr and c.ind.label.en
        assert c.ind.caveats is not None, f"{c.id} has no caveats"


@pytest.mark.parametrize("ind_id,test", CASES, ids=[f"{i}:{t.name}" for i, t in CASES])
def test_golden(ind_id: str, test: FixtureTest):
    outcome = testing.run_test(CAT, CAT.indicators[ind_id], test)
    assert outcome.ok, "\n".join(outcome.failures)


def test_a_wrong_expectation_fails_with_what_was_expected_and_got():
    c = CAT.indicators["on_time_rate"]
    t = c.ind.tests[0]
    first = t.expect[0]
    wrong = first.model_copy(update={"value": first.value + 1})
    outcome = testing.run_test(CAT, c, t.model_copy(update={"expect": [wrong]}))
    assert not outcome.ok
    assert f"expected {wrong.value}, got 66.666" in outcome.failures[0]


def test_wrong_status_expectation_fails():
    c = CAT.indicators["on_time_rate"]
    t = c.ind.tests[0]
    wrong = t.expect[0].model_copy(update={"status": "green"})  # it is red
    outcome = testing.run_test(CAT, c, t.model_copy(update={"expect": [wrong]}))
    assert not outcome.ok and "status: expected green, got red" in outcome.failures[0]


def test_fixture_with_unknown_column_is_reported_not_crashing():
    c = CAT.indicators["request_volume"]
    t = c.ind.tests[0]
    bad = t.model_copy(update={"rows": {"fact_request": [{"commune_code": "1601", "submited_at": "2026-01-01"}]}})
    outcome = testing.run_test(CAT, c, bad)
    assert not outcome.ok and "unknown column(s) submited_at" in outcome.failures[0]


def test_cli_test_command_passes_on_the_catalogue(capsys):
    from kpi.cli import main

    assert main(["--catalogue", str(CATALOGUE), "--warehouse", "/nonexistent.duckdb", "test"]) == 0
    out = capsys.readouterr().out
    assert f"{len(CASES)} passed, 0 failed" in out

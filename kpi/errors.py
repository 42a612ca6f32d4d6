"""Errors of the KPI package: one base exception, and one located issue shape."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem found in the catalogue, located for the steward who must fix it."""

    file: str
    line: int | None
    indicator: str | None
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        who = f" [{self.indicator}]" if self.indicator else ""
        hint = f" — {self.suggestion}" if self.suggestion else ""
        return f"{where}{who}: {self.message}{hint}"


class KpiError(Exception):
    """Base of every error the KPI package raises on purpose (never a bare traceback)."""


class CatalogueError(KpiError):
    """The catalogue file cannot be used at all (unreadable, not YAML, wrong top level)."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class WarehouseError(KpiError):
    """The warehouse is missing or is not what the engine expects."""

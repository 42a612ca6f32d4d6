"""One error shape for the ETL: every message names the failing unit and what was expected."""

from __future__ import annotations


class EtlError(Exception):
    """Base error of the ETL. ``str(err)`` is a sentence a steward can act on."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        location: str | None = None,
        row: int | None = None,
        column: str | None = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.location = location
        self.row = row
        self.column = column
        self.expected = expected
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        where = []
        if self.source:
            where.append(f"source {self.source!r}")
        if self.location:
            where.append(f"file {self.location}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = (", ".join(where) + ": " if where else "") + self.message
        if self.expected:
            text += f" (expected {self.expected})"
        if self.hint:
            text += f". {self.hint}"
        return text


class ConfigError(EtlError):
    """The sources file or a source declaration is wrong."""


class SourceError(EtlError):
    """A source cannot be read as declared (missing file, wrong sheet, server gone, bad encoding)."""


class TerritoryError(EtlError):
    """The territorial reference cannot be built from the packages."""


class IntegrityError(EtlError):
    """A batch does not balance (read != loaded + merged + rejected) or breaks a warehouse rule."""

"""The sources file: which commune systems feed the warehouse and how to read them.

Every node is a pydantic model with ``extra="forbid"``, so a mistyped key is an error, and all
problems of a file are reported at once with the source they belong to.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .schema import DATASETS

log = logging.getLogger(__name__)

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Source(BaseModel):
    """One commune system (or one family of files) feeding one dataset."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    dataset: Literal["requests", "budget", "projects", "satisfaction"]
    connector: Literal["sql", "csv", "excel"]
    columns: dict[str, str]
    description: str = ""
    timezone: str = "Africa/Algiers"
    # SQL sources
    url: str | None = None
    table: str | None = None
    db_schema: str | None = Field(default=None, alias="schema")
    incremental: str | None = None
    chunk_rows: int = Field(default=500_000, ge=1_000)
    # File sources
    path: str | None = None
    encoding: str = "auto"
    delimiter: str = "auto"
    decimal: Literal[".", ","] = "."
    thousands: str = " "
    date_format: str | list[str] = "%Y-%m-%d"
    timestamp_format: str | list[str] | None = None
    sheets: str | None = None
    header_row: int | None = Field(default=None, ge=1)
    # Scope for commune names
    wilaya: str | None = None
    wilaya_column: str | None = None
    wilaya_from_filename: str | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (expected e.g. Africa/Algiers or UTC)")
        return v

    @field_validator("wilaya_from_filename")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                if re.compile(v).groups < 1:
                    raise ValueError("the regular expression needs one group capturing the wilaya code")
            except re.error as e:
                raise ValueError(f"invalid regular expression: {e}")
        return v

    @model_validator(mode="after")
    def _check(self) -> Source:
        ds = DATASETS[self.dataset]
        problems: list[str] = []
        known = set(ds.column_names)
        for target in self.columns:
            if target not in known:
                problems.append(
                    f"columns: {target!r} is not a column of dataset {self.dataset} "
                    f"(columns: {', '.join(ds.column_names)})"
                )
        for col in ds.columns:
            if col.required and col.name not in self.columns:
                problems.append(f"columns: required column {col.name!r} is not mapped to a source column")
        if self.connector == "sql":
            if not self.url or not self.table:
                problems.append("an sql source needs url and table")
            if self.path:
                problems.append("path is for csv/excel sources; an sql source uses url and table")
            if self.incremental and self.incremental not in self.columns.values():
                problems.append(
                    f"incremental: {self.incremental!r} must be one of the mapped source columns"
                )
        else:
            if not self.path:
                problems.append(f"a {self.connector} source needs path (a file or a glob)")
            if self.url or self.table:
                problems.append("url and table are for sql sources")
            if self.incremental:
                problems.append("incremental is for sql sources (files are tracked by checksum)")
        if self.sheets and self.connector != "excel":
            problems.append("sheets is for excel sources")
        if sum(x is not None for x in (self.wilaya, self.wilaya_column, self.wilaya_from_filename)) > 1:
            problems.append("give at most one of wilaya, wilaya_column, wilaya_from_filename")
        if self.thousands.strip() and self.thousands.strip() == self.decimal:
            problems.append(f"thousands {self.thousands!r} cannot be the decimal mark too")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def date_formats(self) -> list[str]:
        return [self.date_format] if isinstance(self.date_format, str) else list(self.date_format)

    @property
    def timestamp_formats(self) -> list[str] | None:
        if self.timestamp_format is None:
            return None
        if isinstance(self.timestamp_format, str):
            return [self.timestamp_format]
        return list(self.timestamp_format)


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    sources: list[Source]

    @model_validator(mode="after")
    def _unique(self) -> SourcesFile:
        seen: set[str] = set()
        for s in self.sources:
            if s.name in seen:
                raise ValueError(f"source name {s.name!r} is used twice")
            seen.add(s.name)
        return self


class Config:
    """A parsed sources file with paths and URLs resolved."""

    def __init__(self, path: Path, spec: SourcesFile) -> None:
        self.path = path
        self.base = path.parent
        self.spec = spec

    @property
    def sources(self) -> list[Source]:
        return self.spec.sources

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(
            f"no source named {name!r}", location=str(self.path),
            expected="one of " + ", ".join(s.name for s in self.sources),
        )

    def url(self, source: Source) -> str:
        """The SQLAlchemy URL with ${VAR} expanded and relative sqlite paths resolved."""
        assert source.url is not None
        url = expand_env(source.url, source.name, str(self.path))
        m = re.match(r"^(sqlite(?:\+\w+)?:///)(?!/)(.+)$", url)
        if m and m.group(2) != ":memory:":
            url = m.group(1) + str((self.base / m.group(2)).resolve())
        return url

    def files(self, source: Source) -> list[Path]:
        """Files matched by a file source's path (sorted, so runs are reproducible)."""
        assert source.path is not None
        pattern = expand_env(source.path, source.name, str(self.path))
        p = Path(pattern)
        if not p.is_absolute():
            p = self.base / p
        if any(ch in pattern for ch in "*?["):
            anchor = Path(p.anchor) if p.is_absolute() else self.base
            rel = p.relative_to(anchor)
            return sorted(x for x in anchor.glob(str(rel)) if x.is_file())
        return [p]

    def display(self, file: Path) -> str:
        try:
            return str(file.resolve().relative_to(self.base.resolve()))
        except ValueError:
            return str(file)


def expand_env(text: str, source: str, location: str) -> str:
    def sub(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            raise ConfigError(
                f"environment variable {m.group(1)} is not set", source=source, location=location,
                hint=f"export {m.group(1)}=... before running the load (secrets stay out of the file)",
            )
        return value

    return _ENV.sub(sub, text)


def _line_of(raw_text: str, source_index: int) -> int | None:
    """Line number of the n-th ``- name:`` item under ``sources:`` (for error messages)."""
    try:
        node = yaml.compose(raw_text)
    except yaml.YAMLError:
        return None
    if node is None or not hasattr(node, "value"):
        return None
    for key, value in node.value:
        if getattr(key, "value", None) == "sources" and hasattr(value, "value"):
            items = value.value
            if 0 <= source_index < len(items):
                return items[source_index].start_mark.line + 1
    return None


def load_config(path: str | Path) -> Config:
    path = Path(path)
    if not path.is_file():
        raise ConfigError("sources file not found", location=str(path),
                          hint="pass --config FILE; see docs/sources.md for the format")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"the sources file is not UTF-8 (byte {e.start})", location=str(path),
                          hint="save it as UTF-8") from None
    except OSError as e:
        raise ConfigError(f"cannot read the sources file: {e.strerror}", location=str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        row = mark.line + 1 if mark else None
        raise ConfigError(f"not valid YAML: {getattr(e, 'problem', e)}", location=str(path), row=row)
    if not isinstance(data, dict):
        raise ConfigError("the sources file must be a mapping with a 'sources' list", location=str(path))
    try:
        spec = SourcesFile.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = err["loc"]
            where = ".".join(str(x) for x in loc)
            line = None
            name = None
            if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
                line = _line_of(text, loc[1])
                try:
                    name = data["sources"][loc[1]].get("name")
                except (KeyError, IndexError, AttributeError, TypeError):
                    name = None
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key {loc[-1]!r}"
            prefix = f"{path}:{line}" if line else str(path)
            who = f" (source {name!r})" if name else ""
            problems.append(f"{prefix}{who} {where}: {msg}")
        raise ConfigError(
            f"{len(problems)} problem(s) in the sources file:\n  " + "\n  ".join(problems)
        )
    return Config(path, spec)

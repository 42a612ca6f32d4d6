"""YAML reading that remembers where every value came from (file:line for every message)."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Issue

Path_ = tuple[Any, ...]


class Located:
    """Data read from YAML plus the line of every node, addressed by its path of keys/indexes."""

    def __init__(self, data: Any, lines: dict[Path_, int], file: str,
                 problems: list[tuple[Path_, Issue]] | None = None):
        self.data = data
        self.lines = lines
        self.file = file
        # problems found while reading (duplicate keys …), with the path of the mapping holding them
        self.problems = problems or []

    def line(self, path: Path_) -> int | None:
        """Line of ``path``, or of its closest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


class _Constructor(SafeConstructor):
    pass


def _build(node: Node, path: Path_, lines: dict[Path_, int], issues: list[tuple[Path_, Issue]],
           file: str, ctor: _Constructor) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        out: dict[Any, Any] = {}
        ctor.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = ctor.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                issues.append((path, Issue(file, key_node.start_mark.line + 1, None,
                                           f"a key must be a plain value, not {type(key).__name__}")))
                continue
            if isinstance(key, (int, float, bool)) or key is None:
                # YAML reads `16:` as the integer 16; territory codes are strings.
                key = key_node.value if isinstance(key_node, ScalarNode) else str(key)
            if key in out:
                issues.append((path, Issue(file, key_node.start_mark.line + 1, None,
                                           f"duplicate key {key!r} (the later one would silently win)",
                                           "remove one of the two")))
            out[key] = _build(value_node, path + (key,), lines, issues, file, ctor)
            # a problem with a key points at the key, not at the first line of its block
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, SequenceNode):
        return [_build(n, path + (i,), lines, issues, file, ctor) for i, n in enumerate(node.value)]
    return ctor.construct_object(node, deep=True)


def load(text: str, file: str) -> tuple[Located | None, list[Issue]]:
    """Parse ``text``; returns the located data, or None and the syntax error, located."""
    issues: list[Issue] = []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        # an unclosed { or [ is reported where it was opened
        flow = e.context and ("flow mapping" in e.context or "flow sequence" in e.context)
        mark = (e.context_mark if flow and e.context_mark else None) or e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(x for x in (e.context, e.problem) if x)
        return None, [Issue(file, line, None, f"not valid YAML: {what}",
                            "check the indentation and quotes around this line")]
    except yaml.YAMLError as e:  # pragma: no cover - other YAML errors carry no mark
        return None, [Issue(file, None, None, f"not valid YAML: {e}")]
    if node is None:
        return Located({}, {}, file), []
    lines: dict[Path_, int] = {}
    problems: list[tuple[Path_, Issue]] = []
    try:
        data = _build(node, (), lines, problems, file, _Constructor())
    except yaml.constructor.ConstructorError as e:
        mark = e.problem_mark
        return None, [Issue(file, mark.line + 1 if mark else None, None, f"not valid YAML: {e.problem}")]
    return Located(data, lines, file, problems), issues

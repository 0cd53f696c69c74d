"""Read YAML into plain data that remembers the line of every key and item.

``load_with_lines(text)`` composes the text with ``yaml.SafeLoader`` (nothing is ever
constructed, so no tag can run code) and turns the node tree into dicts, lists and
**strings**: a scalar stays the text the author wrote. YAML 1.1's implicit typing is
what surprises people who edit by hand (``18:00`` is the integer 1080, ``no`` is
False, ``2019-01-01`` a date); here the schema that reads the data decides what a
value means. A plain (unquoted) ``~``, ``null`` or empty value is ``None``.

Every mapping key and sequence item gets its 1-based line in ``Located.lines``, keyed
by its path (``("activities", 3, "unit")``); ``line_of(path)`` falls back to the
closest enclosing value that has one.

Problems that YAML itself does not report (a key given twice, an alias, a non-text
key) are collected in ``Located.problems`` as ``(line, Swedish message)``: reading
goes on so that a file's problems can be reported together. Syntax errors raise
``YamlSyntaxError`` with the line and a Swedish message.

>>> doc = load_with_lines("a: 18:00\\nb:\\n  - no\\n  - '~'\\nc:\\n")
>>> doc.data
{'a': '18:00', 'b': ['no', '~'], 'c': None}
>>> doc.line_of(("b", 1)), doc.line_of(("b", 1, "missing"))
(4, 4)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["Located", "Path", "YamlSyntaxError", "load_with_lines"]

#: A path into the data: mapping keys (str) and sequence indexes (int).
Path = tuple[str | int, ...]

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
#: Bound on the number of nodes, against documents built to exhaust memory.
_MAX_NODES = 200_000

#: PyYAML problems, in the words a coordinator editing by hand understands.
_YAML_PROBLEMS_SV = (
    (
        "mapping values are not allowed",
        "ett kolon (:) står där det inte får stå: kontrollera indraget, eller sätt texten inom citattecken",
    ),
    ("could not find expected ':'", "väntade 'nyckel: värde' men hittade inget kolon"),
    ("cannot start any token", "ett tecken som inte får inleda ett värde (tabbtecken? använd mellanslag)"),
    ("expected <block end>", "fel indrag: raden står inte i linje med raderna ovanför"),
    ("did not find expected key", "fel indrag eller ett värde som borde stå inom citattecken"),
    ("did not find expected '-' indicator", "fel indrag i en lista"),
    ("found undefined alias", "okänt alias (*namn)"),
    ("found unexpected end of stream", "filen tar slut mitt i ett värde (saknas ett avslutande citattecken?)"),
    ("found unknown escape character", "okänd escape-sekvens (\\) inom dubbla citattecken"),
    ("expected a single document", "filen innehåller flera YAML-dokument (---); en fil ska ha ett"),
    ("but found another document", "filen innehåller flera YAML-dokument (---); en fil ska ha ett"),
)


class YamlSyntaxError(ValueError):
    """The text is not YAML. ``line`` is 1-based (None when unknown); ``problem`` is Swedish."""

    def __init__(self, line: int | None, problem: str) -> None:
        self.line, self.problem = line, problem
        super().__init__(problem if line is None else f"rad {line}: {problem}")


@dataclass(frozen=True, slots=True)
class Located:
    """Plain data read from YAML, with the line of every key and sequence item."""

    data: Any
    lines: Mapping[Path, int]
    #: (line, Swedish message) for a duplicate key, an alias or a key that is not text.
    problems: tuple[tuple[int, str], ...] = field(default=())

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, else of the nearest enclosing key or item that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def _problem_sv(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    for needle, text in _YAML_PROBLEMS_SV:
        if needle in problem:
            return text
    return f"ogiltig YAML ({problem})"


#: libyaml's parser when PyYAML was built with it (the wheels are), else the pure-Python one.
#: Both compose nodes with marks and never construct objects from tags; libyaml writes a
#: plain scalar's style as "" where PyYAML writes None, hence the ``not style`` tests.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_with_lines(text: str) -> Located:
    """Compose ``text`` safely and convert it (see the module docstring).

    Raises ``YamlSyntaxError`` when the text is not YAML. An empty document gives
    ``Located(None, {})``.
    """
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        raise YamlSyntaxError(mark.line + 1 if mark is not None else None, _problem_sv(exc)) from None
    if root is None:
        return Located(None, {})
    builder = _Builder()
    data = builder.convert(root, ())
    return Located(data, builder.lines, tuple(builder.problems))


@dataclass(slots=True)
class _Builder:
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[tuple[int, str]] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    count: int = 0

    def convert(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            raise YamlSyntaxError(node.start_mark.line + 1, "filen är för stor")
        line = node.start_mark.line + 1
        # The composer hands back the anchored node itself for an alias; refusing reuse
        # also rules out self-referencing documents and alias bombs.
        if id(node) in self.seen and not isinstance(node, yaml.ScalarNode):
            # The node's own mark is the anchor's; the alias stands where its key or item is.
            where = self.lines.get(path, line)
            self.problems.append((where, "alias (*namn) stöds inte: skriv ut värdet i stället"))
            return None
        self.seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if not node.style and node.value in _NULLS:
                return None
            return str(node.value)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.lines.setdefault((*path, index), child.start_mark.line + 1)
                items.append(self.convert(child, (*path, index)))
            return items
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode) or (
                    not key_node.style and key_node.value in _NULLS
                ):
                    self.problems.append((key_line, "en nyckel måste vara text"))
                    continue
                key = str(key_node.value)
                if key == "<<" and not key_node.style:
                    self.problems.append((key_line, "sammanslagning (<<) stöds inte: skriv ut nycklarna"))
                    continue
                if key in out:
                    first = self.lines.get((*path, key))
                    self.problems.append((key_line, f"nyckeln '{key}' finns redan på rad {first}"))
                    continue
                self.lines[(*path, key)] = key_line
                out[key] = self.convert(value_node, (*path, key))
            return out
        raise YamlSyntaxError(line, "okänd YAML-nod")  # pragma: no cover - the composer makes no others

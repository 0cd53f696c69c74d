"""The importer's reading of a document's layout: headings, paragraphs, list items, sentences.

``blocks(text)`` splits plain text (as ``doc_text`` gives it) into ``Block`` s:

* ``heading``: a Markdown heading (``## Tryggheten``), a line that ends with a colon
  ("Lokalpolisområde Klippan kommer att arbeta med narkotikafrågor enligt nedan:"), or
  a short line without a full stop ("Uppföljning", "Hägersås 2022-06-14");
* ``item``: a list item (``•``, ``-``, ``–``, ``*``, ``1.``, ``1)``, ``a)``) with the lines
  that follow it without a blank line ("- **Rubrik.**" and the line under it);
* ``paragraph``: other consecutive lines.

Every block keeps, per character of its ``text``, the position in the source text
(``source_spans`` turns a range of ``text`` into source ranges), so the web page can
mark each activity in the document as it was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Block", "blocks", "sentences"]

_BULLET = re.compile(r"[ \t]*(?:[•\-–—*·▪o]|\d{1,2}[.)]|[a-zA-Z][)])[ \t]+(?=\S)")
_MD_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]+")
_END = (".", "!", "?", ".**", ".*", ".”", '."', ".)")
_HEADING_MAX_CHARS = 90
_HEADING_MAX_WORDS = 12


@dataclass(slots=True)
class Block:
    """One heading, paragraph or list item: ``text`` with single spaces, and where it came from."""

    kind: Literal["heading", "paragraph", "item"]
    text: str = ""
    #: source position of each character of ``text`` (-1 for a space that joins two lines)
    positions: list[int] = field(default_factory=list)

    def add_line(self, source: str, start: int, end: int) -> None:
        if self.text:
            self.text += " "
            self.positions.append(-1)
        self.text += source[start:end]
        self.positions.extend(range(start, end))

    def source_spans(self, start: int = 0, end: int | None = None) -> tuple[tuple[int, int], ...]:
        """The source ranges ``[a, b)`` of ``text[start:end]``, one per line it spans."""
        end = len(self.text) if end is None else end
        spans: list[tuple[int, int]] = []
        run_start = run_end = -1
        for pos in self.positions[start:end]:
            if pos < 0:
                continue
            if pos == run_end:
                run_end += 1
                continue
            if run_start >= 0:
                spans.append((run_start, run_end))
            run_start, run_end = pos, pos + 1
        if run_start >= 0:
            spans.append((run_start, run_end))
        return tuple(spans)


def _looks_heading(line: str) -> bool:
    stripped = line.strip().rstrip("*_ ").lstrip("*_ ")
    if not stripped:
        return False
    if stripped.endswith(":"):
        return True
    if line.strip().endswith(_END) or stripped.endswith(_END):
        return False
    return len(stripped) <= _HEADING_MAX_CHARS and len(stripped.split()) <= _HEADING_MAX_WORDS


def blocks(text: str) -> list[Block]:
    """The blocks of ``text`` in order (see the module docstring)."""
    out: list[Block] = []
    current: Block | None = None
    pos = 0
    for raw in text.split("\n"):
        start, end = pos, pos + len(raw)
        pos = end + 1
        # trim the line's own spaces, keeping positions
        lead = len(raw) - len(raw.lstrip())
        body_start, body_end = start + lead, start + len(raw.rstrip())
        if body_start >= body_end:
            current = None
            continue
        line = text[body_start:body_end]
        heading = _MD_HEADING.match(line)
        bullet = _BULLET.match(line)
        if heading:
            block = Block("heading")
            block.add_line(text, body_start + heading.end(), body_end)
            out.append(block)
            current = None
        elif bullet:
            current = Block("item")
            current.add_line(text, body_start + bullet.end(), body_end)
            out.append(current)
        elif current is not None and current.kind == "item" and not _looks_heading(line):
            current.add_line(text, body_start, body_end)  # the line under a list item belongs to it
        elif _looks_heading(line):
            block = Block("heading")
            block.add_line(text, body_start, body_end)
            out.append(block)
            current = None
        elif current is not None and current.kind == "paragraph":
            current.add_line(text, body_start, body_end)
        else:
            current = Block("paragraph")
            current.add_line(text, body_start, body_end)
            out.append(current)
    return out


_ABBREVIATIONS = frozenset(
    {
        "t.ex",
        "bl.a",
        "ca",
        "kl",
        "nr",
        "dvs",
        "d.v.s",
        "resp",
        "fr.o.m",
        "t.o.m",
        "m.m",
        "o.s.v",
        "osv",
        "jfr",
        "s.k",
        "p.g.a",
        "pga",
        "etc",
        "st",
        "tel",
        "f.d",
        "ev",
        "inkl",
        "exkl",
        "mfl",
        "m.fl",
        "enl",
        "forts",
    }
)
_BREAK = re.compile(r"(?<=[.!?])(?:\*\*|\*|”|\")?\s+(?=[A-ZÅÄÖÉ0-9\"”*(])")


def sentences(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` of each sentence of ``text`` (abbreviations such as "t.ex." do not end one).

    >>> t = "**En satsning ska göras.** Minst 3 insatser, t.ex. Kontroller. Klart"
    >>> [t[a:b] for a, b in sentences(t)]
    ['**En satsning ska göras.**', 'Minst 3 insatser, t.ex. Kontroller.', 'Klart']
    """
    out: list[tuple[int, int]] = []
    start = 0
    for m in _BREAK.finditer(text):
        before = text[start : m.start()].rstrip('*”"')
        word = before.rsplit(" ", 1)[-1].rstrip(".!?").lower()
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        end = m.start() + len(m.group(0).rstrip())
        out.append((start, end))
        start = m.end()
    if start < len(text) and text[start:].strip():
        out.append((start, len(text.rstrip())))
    return out

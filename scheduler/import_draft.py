"""The draft promise file ``lofte import`` writes: a review list in comments, then the promise.

The file opens with what Löfte understood and a numbered list of what a person must
decide ("GRANSKA"), then the promise in the format of ``scheduler/promise_file.py``.
Each activity is preceded by comments: how its sentence is understood, who is
responsible and why, and its own review points. The rules are not written out: the
sentence is the source, and ``lofte check`` parses it the same way again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import yaml

from rules import explain_sv

if TYPE_CHECKING:
    from rules import Window
    from scheduler.importer import FoundActivity, ReviewNote
    from scheduler.promise_file import EntitySpec, UnitSpec

__all__ = ["draft_yaml"]

_WIDTH = 10_000  # one line per value: sentences stay whole, as in the examples


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=_WIDTH, default_flow_style=False)


def _comment(lines: Sequence[str], indent: str = "") -> list[str]:
    return [f"{indent}# {line}".rstrip() for line in lines]


def draft_yaml(
    *,
    title: str,
    kommun: str,
    lan: str,
    validity: Window,
    units: Sequence[UnitSpec],
    entities: Sequence[EntitySpec],
    activities: Sequence[FoundActivity],
    notes: str | None,
    filename: str,
    understood: Sequence[str],
    review: Sequence[ReviewNote],
) -> str:
    """The draft's text (see the module docstring)."""
    out: list[str] = [
        f"# UTKAST: {title}",
        f"# Skapat av 'lofte import' ur {filename}. Granska punkterna nedan, fyll i det som saknas och",
        "# kontrollera sedan filen med 'lofte check FIL'. Formatet beskrivs i examples/ och i lofte check.",
        "#",
        "# LÖFTE HAR FÖRSTÅTT:",
        *_comment([f"- {line}" for line in understood]),
        "#",
        f"# GRANSKA ({len(review)}):",
    ]
    for number, note in enumerate(review, start=1):
        out.append(f"# {number:>2}. {note}")
    out.append("")
    out.append(_dump({"title": title, "kommun": kommun, "lan": lan}).rstrip())
    out.append(_dump({"validity": {"start": validity.start, "end": validity.end}}).rstrip())
    out.append("")
    out.append("units:  # e-postadresserna saknas: fyll i email för varje enhet")
    for unit in units:
        item: dict[str, Any] = {"key": unit.key, "name": unit.name}
        if unit.part_of:
            item["part_of"] = unit.part_of
        out.append(_indent_item(item))
    if entities:
        out.append("")
        out.append("entities:  # namnge verksamheterna (name); key får stå kvar")
        for entity in entities:
            out.append(_indent_item({"kind": entity.kind, "key": entity.key, "name": entity.name}))
    out.append("")
    out.append("# Ingen skolkalender: terminer och lov uppskattas från länets typiska läsår tills")
    out.append("# kommunens egna läsårstider läggs in under school_calendar (se rules/school.py).")
    out.append("")
    out.append("activities:")
    by_activity: dict[str, list[str]] = {}
    for note in review:
        if note.activity:
            by_activity.setdefault(note.activity, []).append(note.message)
    section: str | None = None
    for activity in activities:
        if activity.section != section and activity.section:
            section = activity.section
            out.append(f"  # --- {section} ---")
        out.extend(_activity_comments(activity, by_activity.get(activity.key, [])))
        out.append(_indent_item(_activity_data(activity)))
        out.append("")
    if notes:
        out.append(_dump({"notes": notes}).rstrip())
    return "\n".join(out).rstrip() + "\n"


def _indent_item(item: dict[str, Any]) -> str:
    text = _dump([item]).rstrip()
    return "\n".join("  " + line for line in text.split("\n"))


def _activity_comments(activity: FoundActivity, notes: list[str]) -> list[str]:
    rule = activity.rule
    lines = [f"Löfte förstår: {explain_sv(rule)}"]
    who = activity.unit + (f" (med {', '.join(activity.partners)})" if activity.partners else "")
    reason = activity.unit_reason
    if not reason.startswith(("antagen", "'")):
        reason = "enligt " + reason
    lines.append(f"Ansvarig: {who} ({reason})")
    lines.extend(f"GRANSKA: {n}" for n in notes)
    return _comment(lines, "  ")


def _activity_data(activity: FoundActivity) -> dict[str, Any]:
    item: dict[str, Any] = {
        "key": activity.key,
        "title": activity.title,
        "sentence": activity.sentence,
        "unit": activity.unit,
    }
    if activity.partners:
        item["partners"] = list(activity.partners)
    if activity.entity_kind:
        item["entity_kind"] = activity.entity_kind
    if not activity.tracked:
        item["tracked"] = False
    return item

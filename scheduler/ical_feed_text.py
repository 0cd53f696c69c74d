"""The Swedish words of one feed event: SUMMARY, DESCRIPTION and the quota line.

Pure helpers for ``scheduler.ical_feed``: no database, no clock. The quota line says
how far the activity × entity × period the occurrence serves has come, e.g.
``"Kvot för Björkskolan: 1 av 2 genomförda under vårterminen 2025"``.

How many are required in a period
---------------------------------
A full period requires the rule's count (``quota.min``, else ``quota.max``; a quota in
hours counts occurrences of ``duration_minutes``, as the planner does). A *partial*
period (the validity starts or ends inside it) requires what the planner planned
there: the planner applied the pro-rata policy of ``rules.periods`` with the promise's
school calendar, which the database does not keep, so the planned count is the only
faithful answer. The spans themselves come from ``rules.periods.periods`` over the
activity's window (the validity clipped by the rule's own window and deadline).

>>> import datetime as dt
>>> info = ActivityQuota.of({"kind": "quota", "quota": {"min": 2, "max": 2}, "period": {"unit": "term"}},
...                         validity=(dt.date(2025, 1, 1), dt.date(2025, 12, 31)), duration_minutes=None)
>>> span = info.span("2025-VT")
>>> quota_line(info, span, done=1, planned=2, entity="Björkskolan")
'Kvot för Björkskolan: 1 av 2 genomförda under vårterminen 2025'
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from rules.errors import RuleError
from rules.model import Measure, Rule, Window
from rules.periods import PeriodSpan, periods
from rules.planner import DEFAULT_DURATION_MINUTES, _whole_span

__all__ = [
    "DEADLINE_PREFIX",
    "DONE_PREFIX",
    "ActivityQuota",
    "description",
    "quota_line",
    "summary",
]

#: SUMMARY prefix of a done occurrence (ical-feeds.md: shown as done, not removed).
DONE_PREFIX = "✔ Genomförd: "
#: SUMMARY prefix of a period-end deadline marker.
DEADLINE_PREFIX = "Sista dag: "


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityQuota:
    """What the quota line of one activity needs: its count and its spans by key."""

    #: occurrences a full period requires; None when the rule has no count (nothing to say)
    count: int | None
    spans: dict[str, PeriodSpan] = field(default_factory=dict)

    @classmethod
    def of(
        cls, rule_json: dict[str, Any], *, validity: tuple[dt.date, dt.date], duration_minutes: int | None
    ) -> ActivityQuota:
        """The quota of an activity with rule ``rule_json`` (``Rule.to_json``) over ``validity``."""
        try:
            rule = Rule.from_json(rule_json)
        except RuleError:
            return cls(count=None)
        quota = rule.quota
        if quota is None:
            count: int | None = 1 if rule.deadline is not None else None
        else:
            count = quota.min if quota.min is not None else (quota.max or 0)
            if quota.measure is Measure.HOURS:
                count = math.ceil(count * 60 / (duration_minutes or DEFAULT_DURATION_MINUTES))
        start, end = validity
        if rule.window is not None:
            start, end = max(start, rule.window.start), min(end, rule.window.end)
        if rule.deadline is not None:
            end = min(end, rule.deadline)
        if end < start:
            return cls(count=count)
        try:
            spans = (
                [_whole_span(start, end)] if rule.period is None else periods(rule.period, Window(start=start, end=end))
            )
        except RuleError:
            return cls(count=count)
        return cls(count=count, spans={s.key: s for s in spans})

    def span(self, period_key: str) -> PeriodSpan | None:
        return self.spans.get(period_key)

    def required(self, span: PeriodSpan, *, planned: int) -> int | None:
        """The count ``span`` requires: the rule's for a full period, the plan's for a partial one."""
        if self.count is None:
            return None
        return planned if span.partial else self.count


def quota_line(
    info: ActivityQuota, span: PeriodSpan | None, *, done: int, planned: int, entity: str | None
) -> str | None:
    """``"Kvot[ för X]: D av N genomförda under <period>"``, or None when there is no count."""
    if span is None:
        return None
    required = info.required(span, planned=planned)
    if required is None:
        return None
    who = f" för {entity}" if entity else ""
    return f"Kvot{who}: {done} av {required} genomförda under {span.label}"


def summary(title: str, entity: str | None, *, done: bool, deadline: bool) -> str:
    """What the event is: ``"[Sista dag: ][✔ Genomförd: ]<title>[ – <entity>]"``.

    >>> summary("Föreläsning", "Ekskolan", done=True, deadline=False)
    '✔ Genomförd: Föreläsning – Ekskolan'
    """
    text = f"{title} – {entity}" if entity else title
    if done:
        text = DONE_PREFIX + text
    if deadline:
        text = DEADLINE_PREFIX + text
    return text


def description(
    *, responsible: str, partners: tuple[str, ...], quota: str | None, sentence: str, url: str, done: bool
) -> str:
    """Who is responsible, the quota it serves, the promise's own sentence and a link back."""
    lines = [f"Ansvarig: {responsible}"]
    if partners:
        lines.append("Tillsammans med: " + ", ".join(partners))
    if done:
        lines.append("Status: genomförd")
    if quota:
        lines.append(quota)
    # The document's own words; its bold markers ("**...**") would show as asterisks.
    lines.append(f"Löftet: ”{' '.join(sentence.replace('**', '').split())}”")
    lines.append(f"Mer om aktiviteten: {url}")
    return "\n".join(lines)

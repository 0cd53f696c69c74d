"""Rule → Swedish, the way cronsim's ``explain`` turns an expression back into words.

``explain_sv`` gives the short canonical summary of the JSON contract; parsing
it gives the same rule back (``parse_sv(explain_sv(r)) == r`` up to ``text``, a
property test checks it). ``describe_sv`` gives the longer, line-by-line
explanation that ``lofte parse`` and ``lofte check`` print.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rules.sv_lexicon import NEUTER_UNITS, UNIT_SV

if TYPE_CHECKING:
    from rules.model import Period, Quota, Rule

__all__ = ["date_sv", "describe_sv", "explain_sv", "period_sv", "quota_sv"]

_MONTHS_SV = (
    "januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
    "november", "december",
)
_NOUNS = {"times": ("gång", "gånger"), "hours": ("timme", "timmar"), "days": ("dag", "dagar")}
_LOV_SV = {"höstlov": "höstlovet", "sportlov": "sportlovet", "påsklov": "påsklovet", "jullov": "jullovet",
           "sommarlov": "sommarlovet"}
_KIND_SV = {
    "quota": "kvot (antal som kan följas upp)",
    "vague": "vag (en frekvens antyds men går inte att mäta; följs upp, varnas aldrig)",
    "conditional": "villkorad (görs vid behov eller om ett villkor uppfylls)",
    "event": "händelsestyrd (knuten till andra händelser, inte till kalendern)",
    "untimed": "utan tidsangivelse (inget antal, ingen frekvens; följs upp, varnas aldrig)",
}


def date_sv(day: dt.date) -> str:
    """A date in Swedish words.

    >>> date_sv(dt.date(2022, 3, 1))
    '1 mars 2022'
    """
    return f"{day.day} {_MONTHS_SV[day.month - 1]} {day.year}"


def number_sv(n: int) -> str:
    """A number as Swedish writes it, with a space between thousands: "1 200"."""
    return f"{n:,}".replace(",", " ")


def quota_sv(quota: Quota) -> str:
    """The count of a quota: "minst 1 gång", "2–3 gånger", "högst 3 gånger", "1200 timmar".

    >>> from rules.model import Quota
    >>> quota_sv(Quota(min=2, max=3))
    '2–3 gånger'
    """
    one, many = _NOUNS[quota.measure.value]
    lo, hi = quota.min, quota.max
    if lo is not None and hi is not None and lo == hi:
        return f"{number_sv(lo)} {one if lo == 1 else many}"
    if hi is None:
        return f"minst {number_sv(lo or 0)} {one if lo == 1 else many}"
    if lo is None:
        return f"högst {number_sv(hi)} {one if hi == 1 else many}"
    return f"{number_sv(lo)}–{number_sv(hi)} {many}"


def period_sv(period: Period) -> str:
    """The repeating span: "per månad", "varannan vecka", "vart 3:e år".

    >>> from rules.model import Period, Unit
    >>> period_sv(Period(unit=Unit.YEAR, every=2)), period_sv(Period(unit=Unit.MONTH, every=3))
    ('vartannat år', 'var 3:e månad')
    """
    noun = UNIT_SV[period.unit]
    neuter = period.unit in NEUTER_UNITS
    if period.every == 1:
        return f"per {noun}"
    if period.every == 2:
        return f"{'vartannat' if neuter else 'varannan'} {noun}"
    return f"{'vart' if neuter else 'var'} {period.every}:e {noun}"


def explain_sv(rule: Rule) -> str:
    """The short canonical Swedish summary of a rule, generated from its fields.

    >>> from rules.model import Kind, Period, Quota, Rule, Unit
    >>> explain_sv(Rule(kind=Kind.QUOTA, quota=Quota(min=1, max=None),
    ...                 period=Period(unit=Unit.TERM), per=("högstadieskola",)))
    'minst 1 gång per termin och högstadieskola'
    """
    parts: list[str] = []
    kind = rule.kind.value
    if kind == "conditional":
        parts.append("vid behov")
    elif kind == "event":
        parts.append("i samband med annan händelse")
    elif kind == "vague":
        parts.append("regelbundet")
    elif (kind == "untimed" and not (rule.window or rule.deadline or rule.lov)) or kind == "untimed":
        parts.append("utan angiven frekvens")
    if rule.quota is not None:
        count = quota_sv(rule.quota)
        if rule.period is None and rule.quota.measure.value != "times" and None not in (rule.quota.min, rule.quota.max):
            count = "totalt " + count  # "5 timmar" alone reads as a duration
        parts.append(count)
    per = list(rule.per)
    if rule.period is not None:
        text = period_sv(rule.period)
        if per and rule.period.every == 1:
            text += f" och {per.pop(0)}"
        parts.append(text)
    parts.extend(f"per {entity}" for entity in per)
    if rule.average:
        parts.append("i snitt")
    if rule.window is not None:
        parts.append(f"under perioden {rule.window.start.isoformat()} – {rule.window.end.isoformat()}")
    if rule.lov:
        parts.append(f"under {_LOV_SV.get(rule.lov, rule.lov)}")
    if rule.deadline is not None:
        parts.append(f"senast {rule.deadline.isoformat()}")
    text = " ".join(parts)
    if rule.responsible:
        names = list(rule.responsible)
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " och " + names[-1]
        text += f" ({joined})"
    return text


def describe_sv(rule: Rule) -> str:
    """A few lines of Swedish that say how the sentence was understood, for people."""
    lines = [f"Tolkning: {explain_sv(rule)}", f"Typ: {_KIND_SV[rule.kind.value]}"]
    if rule.quota is not None:
        lines.append(f"Antal: {quota_sv(rule.quota)}")
        if rule.period is not None:
            lines.append(f"Period: {period_sv(rule.period)}" + (" (i snitt)" if rule.average else ""))
        else:
            lines.append("Period: under hela perioden (giltighetstiden eller angivet tidsfönster)")
    if rule.per:
        lines.append(f"Per: {', '.join(rule.per)}")
    if rule.window is not None:
        lines.append(f"Tidsfönster: {date_sv(rule.window.start)} – {date_sv(rule.window.end)}")
    if rule.lov:
        lines.append(f"Lov: {_LOV_SV.get(rule.lov, rule.lov)} (enligt kommunens läsårskalender)")
    if rule.deadline is not None:
        lines.append(f"Senast: {date_sv(rule.deadline)}")
    if rule.responsible:
        lines.append(f"Ansvarig: {', '.join(rule.responsible)}")
    else:
        lines.append("Ansvarig: anges inte i meningen")
    if rule.kind.value == "untimed" and rule.quota is None and not rule.window and not rule.deadline:
        lines.append("Obs: Löfte hittade inget antal, ingen frekvens och inget datum i meningen.")
    lines.extend(f"Obs: {note}" for note in rule.notes)
    return "\n".join(lines)

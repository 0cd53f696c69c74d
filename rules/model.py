"""The rule model: how one Swedish activity sentence is understood.

Value objects are frozen, slotted, keyword-only dataclasses validated in
``__post_init__`` (style.md §2). ``Rule.to_json()`` gives the public shape
documented in ``../shared/reference/rule-json.md``; ``Rule.from_json()`` reads it back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rules.errors import RuleValueError

__all__ = ["Kind", "Measure", "Period", "Quota", "Rule", "Unit", "Window"]


class Kind(StrEnum):
    """What sort of promise a sentence makes."""

    #: something countable is promised; ``Rule.quota`` is set.
    QUOTA = "quota"
    #: a frequency is implied but not measurable ("regelbundet"); tracked, never warned about.
    VAGUE = "vague"
    #: done on demand or when a condition holds ("vid behov").
    CONDITIONAL = "conditional"
    #: tied to other events rather than the calendar ("i samband med skolstart").
    EVENT = "event"
    #: no frequency, count or date at all; tracked, never warned about.
    UNTIMED = "untimed"


class Measure(StrEnum):
    """What a quota counts."""

    TIMES = "times"  #: occasions (the default)
    HOURS = "hours"  #: hours of work ("1 200 timmar per år")
    DAYS = "days"  #: days ("tre–fyra dagar i veckan")


class Unit(StrEnum):
    """The calendar unit a quota repeats over."""

    DAY = "day"
    WEEK = "week"  #: ISO week, Monday to Sunday
    MONTH = "month"
    QUARTER = "quarter"
    TERTIAL = "tertial"  #: Jan–Apr, May–Aug, Sep–Dec
    HALF_YEAR = "half_year"
    TERM = "term"  #: a school term (hösttermin or vårtermin) of the kommun's calendar
    SCHOOL_YEAR = "school_year"  #: läsår, from the hösttermin's start to the vårtermin's end
    YEAR = "year"


@dataclass(frozen=True, slots=True, kw_only=True)
class Quota:
    """How many: ``min``/``max`` are inclusive bounds, either may be open (``None``)."""

    min: int | None
    max: int | None
    measure: Measure = Measure.TIMES

    def __post_init__(self) -> None:
        _check_quota(self.min, self.max)

    @property
    def required(self) -> int:
        """The number that must be reached for the quota to count as kept."""
        return self.min if self.min is not None else 0

    def to_json(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max, "measure": self.measure.value}


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """The repeating span a quota applies to: ``every`` units of ``unit``."""

    unit: Unit
    every: int = 1

    def __post_init__(self) -> None:
        _check_period(self.every)

    def to_json(self) -> dict[str, Any]:
        return {"unit": self.unit.value, "every": self.every}


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """A span of dates, both ends inclusive (as the contract writes them)."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise RuleValueError(f"window end {self.end} is before its start {self.start}")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One activity sentence, understood.

    >>> r = Rule(text="varannan vecka", kind=Kind.QUOTA, quota=Quota(min=1, max=1),
    ...          period=Period(unit=Unit.WEEK, every=2))
    >>> r.to_json()["period"]
    {'unit': 'week', 'every': 2}
    """

    text: str = ""
    kind: Kind
    quota: Quota | None = None
    period: Period | None = None
    average: bool = False
    per: tuple[str, ...] = ()
    window: Window | None = None
    deadline: dt.date | None = None
    responsible: tuple[str, ...] = ()
    #: extra, non-contract detail: a named school break the sentence is tied to ("sportlov").
    lov: str | None = None
    #: positions in ``text`` the parser did not understand or ignored, for review screens.
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        _check_rule(self.kind, self.quota, self.period, self.average)

    @property
    def is_trackable(self) -> bool:
        """True when the rule can be planned and warned about (a quota with a clear span)."""
        return self.kind is Kind.QUOTA and self.quota is not None

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape of ``rule-json.md`` (extra keys are allowed by the contract)."""
        from rules.explain_sv import explain_sv  # noqa: PLC0415 - explain_sv imports this module

        out: dict[str, Any] = {
            "text": self.text,
            "kind": self.kind.value,
            "quota": self.quota.to_json() if self.quota else None,
            "period": self.period.to_json() if self.period else None,
            "average": self.average,
            "per": list(self.per),
            "window": self.window.to_json() if self.window else None,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "responsible": list(self.responsible),
            "summary": explain_sv(self),
        }
        if self.lov:
            out["lov"] = self.lov
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rule:
        """Read the JSON shape back; raises ``RuleValueError`` naming the bad key."""
        try:
            quota = data.get("quota")
            period = data.get("period")
            window = data.get("window")
            deadline = data.get("deadline")
            return cls(
                text=data.get("text", ""),
                kind=Kind(data["kind"]),
                quota=Quota(
                    min=quota.get("min"),
                    max=quota.get("max"),
                    measure=Measure(quota.get("measure", "times")),
                )
                if quota
                else None,
                period=Period(unit=Unit(period["unit"]), every=int(period.get("every", 1)))
                if period
                else None,
                average=bool(data.get("average", False)),
                per=tuple(data.get("per") or ()),
                window=Window(
                    start=dt.date.fromisoformat(window["start"]), end=dt.date.fromisoformat(window["end"])
                )
                if window
                else None,
                deadline=dt.date.fromisoformat(deadline) if deadline else None,
                responsible=tuple(data.get("responsible") or ()),
                lov=data.get("lov"),
            )
        except RuleValueError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RuleValueError(f"invalid rule JSON: {exc}") from exc


# --- validation, and positional constructors for the parser --------------------------------
#
# An enum member read off its class (``Kind.QUOTA``) goes through ``EnumType.__getattr__``'s
# slot, several times a plain global look-up: the checks compare with module constants.
# A frozen dataclass's ``__init__`` sets each field by ``object.__setattr__`` with its name and
# parses keywords; the parser builds thousands of rules a second, so `new_rule`, `new_quota`
# and `new_period` set the slots through their descriptors instead, after the same checks:
# they give objects equal in every way (fields, ==, hash, repr) to the keyword constructors'.

_QUOTA_KIND, _NO_QUOTA_KINDS = Kind.QUOTA, (Kind.VAGUE, Kind.UNTIMED)
_TIMES = Measure.TIMES


def _check_quota(lo: int | None, hi: int | None) -> None:
    if lo is None:
        if hi is None:
            raise RuleValueError("quota needs min or max")
        if hi < 0:
            raise RuleValueError(f"quota bound cannot be negative: {hi}")
        return
    if lo < 0:
        raise RuleValueError(f"quota bound cannot be negative: {lo}")
    if hi is not None:
        if hi < 0:
            raise RuleValueError(f"quota bound cannot be negative: {hi}")
        if lo > hi:
            raise RuleValueError(f"quota min {lo} is larger than max {hi}")


def _check_period(every: int) -> None:
    if every < 1:
        raise RuleValueError(f"period every must be at least 1, not {every}")


def _check_rule(kind: Kind, quota: Quota | None, period: Period | None, average: bool) -> None:
    if quota is None:
        if kind is _QUOTA_KIND:
            raise RuleValueError("a quota rule needs a quota")
    elif kind in _NO_QUOTA_KINDS:
        raise RuleValueError(f"a {kind.value} rule has no quota")
    if average and period is None:
        raise RuleValueError("an average needs a period")


_new = object.__new__
_SET_QUOTA = tuple(Quota.__dict__[name].__set__ for name in ("min", "max", "measure"))
_SET_PERIOD = tuple(Period.__dict__[name].__set__ for name in ("unit", "every"))
_RULE_FIELDS = tuple("text kind quota period average per window deadline responsible lov notes".split())
_SET_RULE = tuple(Rule.__dict__[name].__set__ for name in _RULE_FIELDS)


def new_quota(lo: int | None, hi: int | None, measure: Measure = _TIMES) -> Quota:
    """``Quota(min=lo, max=hi, measure=measure)``, positionally and faster (same checks)."""
    _check_quota(lo, hi)
    quota = _new(Quota)
    set_min, set_max, set_measure = _SET_QUOTA
    set_min(quota, lo)
    set_max(quota, hi)
    set_measure(quota, measure)
    return quota


def new_period(unit: Unit, every: int = 1) -> Period:
    """``Period(unit=unit, every=every)``, positionally and faster (same checks)."""
    _check_period(every)
    period = _new(Period)
    set_unit, set_every = _SET_PERIOD
    set_unit(period, unit)
    set_every(period, every)
    return period


def new_rule(  # noqa: PLR0917 - one argument per field, as the keyword constructor has
    text: str,
    kind: Kind,
    quota: Quota | None,
    period: Period | None,
    average: bool,
    per: tuple[str, ...],
    window: Window | None,
    deadline: dt.date | None,
    responsible: tuple[str, ...],
    lov: str | None,
    notes: tuple[str, ...],
) -> Rule:
    """``Rule(text=text, kind=kind, ...)`` with every field, positionally and faster (same checks)."""
    _check_rule(kind, quota, period, average)
    rule = _new(Rule)
    s_text, s_kind, s_quota, s_period, s_average, s_per, s_window, s_deadline, s_resp, s_lov, s_notes = _SET_RULE
    s_text(rule, text)
    s_kind(rule, kind)
    s_quota(rule, quota)
    s_period(rule, period)
    s_average(rule, average)
    s_per(rule, per)
    s_window(rule, window)
    s_deadline(rule, deadline)
    s_resp(rule, responsible)
    s_lov(rule, lov)
    s_notes(rule, notes)
    return rule

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
        if self.min is None and self.max is None:
            raise RuleValueError("quota needs min or max")
        for bound in (self.min, self.max):
            if bound is not None and bound < 0:
                raise RuleValueError(f"quota bound cannot be negative: {bound}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise RuleValueError(f"quota min {self.min} is larger than max {self.max}")

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
        if self.every < 1:
            raise RuleValueError(f"period every must be at least 1, not {self.every}")

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
        if self.kind is Kind.QUOTA and self.quota is None:
            raise RuleValueError("a quota rule needs a quota")
        if self.kind in (Kind.VAGUE, Kind.UNTIMED) and self.quota is not None:
            raise RuleValueError(f"a {self.kind.value} rule has no quota")
        if self.average and self.period is None:
            raise RuleValueError("an average needs a period")

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

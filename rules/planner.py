"""The occurrence planner: rules become concrete dates, period by period.

``plan(inputs, window=..., work=..., school=..., pinned=...)`` turns each activity's
``Rule`` into ``PlannedOccurrence`` s: for every activity × entity × period the
required number of occurrences, spread evenly over the days the activity can use.
It is pure: no clock, no IO; the same inputs give the same plan, byte for byte.

What is planned
---------------
1. **Quota with a period** ("2 gånger per månad"): the spans of
   ``rules.periods.periods(rule.period, w)`` where ``w`` is the validity clipped by the
   rule's own window (and cut at the rule's deadline, if any).
2. **Quota without a period** ("minst tre insatser under perioden"): one span, ``w``
   itself, never partial.
3. **Deadline one-off** (an untimed rule with a deadline, or a quota without a period
   but with a deadline): one span from ``w``'s start to the deadline. A single
   occurrence goes about two working weeks (``DEADLINE_LEAD`` available days) before
   the deadline, so there is slack; several are spread evenly as in 2.
4. **Everything else** (vague, conditional, event, untimed without deadline, an
   activity with ``tracked=False``, an hour quota without a duration) is returned as
   ``Unscheduled`` with a Swedish reason, so it stays visible but gets no dates.

How many: ``quota.min``, or ``quota.max`` when only a maximum is given, then the
partial-period policy of ``rules.periods`` (pro rata by available days, rounded half
up; a full period requires the whole count). A quota in hours is turned into
occurrences of ``duration_minutes`` (rounded up). Average quotas ("i snitt") plan the
per-period count and are marked ``average``.

Available days
--------------
* Default: **working days that are not klämdagar**: Monday–Friday, not a PUBLIC or
  DE_FACTO holiday, not in ``WorkCalendar.extra_non_working``, and not a klämdag even
  though klämdagar are working days in law: many staff take them off and an activity
  planned there tends to be cancelled.
* **Weekend days** only for an activity that lists Saturday (5) or Sunday (6) among
  its preferred weekdays ("på lördagar"): those weekend days are added, holidays still
  excluded.
* **School-bound** activities: school days only (``SchoolCalendar.is_school_day``: in a
  term, not on lov, lovdag or studiedag), also not klämdagar; weekend preferences are
  ignored. A school-bound activity without a school calendar is planned on the default
  days and reported (``ProblemCode.NO_SCHOOL_CALENDAR``).
* The partial-period share uses the **same** days (``available_days``), so a
  school-bound monthly activity whose window starts after the last school day of June
  requires nothing in June. This differs from ``periods.default_available`` only in
  excluding klämdagar and in using school days for school-bound activities of any unit.
* A period without a single available day requires nothing: a Sunday for "varje dag",
  July for a school-bound "2 gånger per månad" (the promise follows the school year).
  A school-bound period outside the school calendar's first and last day is the
  exception: the calendar does not know it, so it is reported instead.

Spreading
---------
For one activity and period, the candidate days are the available days, without the
quiet weeks of summer and Christmas in a span longer than five weeks
(``is_quiet_day``), then narrowed to the preferred weekdays; each narrowing applies
only when it leaves at least ``required`` days. Slot ``i`` of
``n`` goes to candidate ``floor((i + φ) · M / n)`` of ``M``: one occurrence in each
``n``-th of the period, at phase ``φ`` inside it. ``φ`` is 0.5 (the middle) for an
activity without entities; for an entity it lies in [0.1, 0.9) and comes from a hash
(BLAKE2b) of the activity and entity keys, so two schools of one activity seldom
share a day (the chance is about ``1.25 · n / M``, 1 in 70 for one per term) and
adding, removing or reordering entities moves no other entity's dates.

Stability
---------
* The plan of one activity depends only on its own input, the window, the calendars
  and its own pinned occurrences: adding, removing or editing another activity moves
  nothing of it.
* Extending the validity at its end changes only the last period of the old window,
  and that one only if it was partial (its share grows). A quota without a period
  spreads over the whole window and therefore moves when the window does.
* **Pinned** occurrences (done, or moved by hand) are kept exactly and count toward
  their period. The other slots keep the days they would have had without the pins;
  a slot whose day a pin occupies moves to the nearest free candidate (later first).
  When pins already reach the count, nothing more is planned; when they leave fewer
  than ``required`` slots open, the lowest free slot numbers are used.

Problems
--------
A period whose count cannot fit in its days (5 per week in a two-day partial week,
a term without school days) is planned with what fits and gets a ``PlanProblem`` with
a Swedish message; so does a rule window outside the validity. Problems are returned,
never raised: one bad activity does not stop the others. ``PlanProblem.to_error()``
gives the ``PlanError`` for callers that want to raise.

``PeriodPlan.last_feasible_day`` is the last day on which the period's count can still
be met if nothing more is done before it: with ``r`` occurrences still open and one
per day, the ``r``-th available day from the end (pinned days excluded). None when
nothing is open or the count cannot be met at all.

Time and DST
------------
Dates are local dates in the activity's ``tz`` (default ``Europe/Stockholm``). With a
``time`` the start is that wall-clock time converted to UTC at once
(``rules.periods.local_to_utc``): a **nonexistent** local time moves **forward** by the
gap (2025-03-30 02:30 → 03:30 CEST = 01:30 UTC), an **ambiguous** one takes the
**first** occurrence (fold=0: 2025-10-26 02:30 → 02:30 CEST = 00:30 UTC). The end is
start + ``duration_minutes`` of elapsed time (default ``DEFAULT_DURATION_MINUTES``).
Without a time the occurrence is all-day: ``start`` and ``end`` are None.

Query
-----
``occurrences(plan, start, stop)`` returns the occurrences in the half-open interval
``[start, stop)``: both dates (compared with ``day``) or both aware datetimes
(compared with ``start``, or the local midnight of ``day`` for all-day ones).

>>> import datetime as dt
>>> from rules.holidays_se import WorkCalendar
>>> from rules.model import Kind, Period, Quota, Rule, Unit, Window
>>> rule = Rule(kind=Kind.QUOTA, quota=Quota(min=2, max=2), period=Period(unit=Unit.MONTH))
>>> p = plan([ActivityPlanInput(key="mpk", rule=rule, time=dt.time(14, 0))],
...          window=Window(start=dt.date(2025, 3, 15), end=dt.date(2025, 4, 30)), work=WorkCalendar())
>>> [(o.period_key, o.day.isoformat(), o.start.isoformat()) for o in p.occurrences]
... # doctest: +NORMALIZE_WHITESPACE
[('2025-03', '2025-03-21', '2025-03-21T13:00:00+00:00'),
 ('2025-04', '2025-04-07', '2025-04-07T12:00:00+00:00'),
 ('2025-04', '2025-04-23', '2025-04-23T12:00:00+00:00')]
>>> [(pp.span.key, pp.required, pp.last_feasible_day.isoformat()) for pp in p.activity("mpk").periods]
[('2025-03', 1, '2025-03-31'), ('2025-04', 2, '2025-04-29')]
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rules.errors import NaiveDatetimeError, PlanError, RuleError, RuleValueError
from rules.holidays_se import WorkCalendar, klamdagar, swedish_holidays
from rules.model import Kind, Measure, Period, Rule, Unit, Window
from rules.periods import MONTHS_SV, PeriodSpan, local_to_utc, periods, required_in
from rules.school import SchoolCalendar

__all__ = [
    "DEADLINE_LEAD",
    "DEFAULT_DURATION_MINUTES",
    "DEFAULT_TZ",
    "ActivityPlan",
    "ActivityPlanInput",
    "PeriodPlan",
    "PinnedOccurrence",
    "Plan",
    "PlanProblem",
    "PlannedOccurrence",
    "ProblemCode",
    "Unscheduled",
    "UnscheduledReason",
    "available_days",
    "entity_phase",
    "is_quiet_day",
    "occurrences",
    "plan",
]

#: The zone local dates and times are read in unless an activity says otherwise.
DEFAULT_TZ = "Europe/Stockholm"
#: Length of a timed occurrence whose activity gives no ``duration_minutes``.
DEFAULT_DURATION_MINUTES = 60
#: A deadline one-off is planned this many available days before its last possible day.
DEADLINE_LEAD = 10

#: Spans longer than this many days avoid the quiet weeks when they have days enough
#: elsewhere: an annual follow-up does not land in the middle of the summer holidays.
QUIET_MIN_SPAN_DAYS = 35
_SATURDAY = 5
_ONE = Fraction(1)
_ONE_DAY = dt.timedelta(days=1)


# -- enums ------------------------------------------------------------------------------------
class UnscheduledReason(StrEnum):
    """Why an activity gets no dates."""

    #: "regelbundet", "kontinuerligt": a frequency without a number.
    VAGUE = "vague"
    #: "vid behov", "om läget medger": done when a condition holds.
    CONDITIONAL = "conditional"
    #: "vid föräldramöten": tied to other events, not the calendar.
    EVENT = "event"
    #: no count, no frequency, no deadline.
    UNTIMED = "untimed"
    #: the promise file says ``tracked: false``.
    NOT_TRACKED = "not_tracked"
    #: a quota in hours, and no ``duration_minutes`` to turn it into occurrences.
    HOURS_WITHOUT_DURATION = "hours_without_duration"


_UNSCHEDULED_SV = {
    UnscheduledReason.VAGUE: "ingen mätbar frekvens (vag formulering): planeras inte, följs upp utan varningar",
    UnscheduledReason.CONDITIONAL: "görs vid behov eller på villkor: planeras inte i förväg",
    UnscheduledReason.EVENT: "knuten till andra händelser, inte till kalendern: planeras inte",
    UnscheduledReason.UNTIMED: "inget antal, ingen frekvens och inget datum: planeras inte",
    UnscheduledReason.NOT_TRACKED: "följs inte upp (tracked: false): planeras inte",
    UnscheduledReason.HOURS_WITHOUT_DURATION: (
        "kvoten räknas i timmar: ange duration_minutes för att planera tillfällen"
    ),
}


class ProblemCode(StrEnum):
    """What went wrong while planning (never raised: see ``PlanProblem``)."""

    #: a period cannot hold its required count on its available days.
    INFEASIBLE = "infeasible"
    #: the rule's window or deadline leaves no day of the validity.
    OUTSIDE_VALIDITY = "outside_validity"
    #: a school-bound activity, but no school calendar was given.
    NO_SCHOOL_CALENDAR = "no_school_calendar"
    #: a pinned occurrence names an activity, entity or period the plan does not have.
    PINNED_UNMATCHED = "pinned_unmatched"
    #: the rule could not be planned at all (a ``RuleError`` while planning it).
    ERROR = "error"


# -- inputs -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityPlanInput:
    """One activity as the planner needs it.

    ``entities``: keys of the entities the quota multiplies over (one quota each);
    empty means one unnamed entity, written ``""`` in the output. ``weekdays``:
    preferred weekdays, 0 = Monday (``date.weekday()``), stored sorted. ``time``: a naive
    local wall-clock time, or None for all-day. ``tz``: an IANA zone name.
    """

    key: str
    rule: Rule
    entities: tuple[str, ...] = ()
    weekdays: tuple[int, ...] = ()
    time: dt.time | None = None
    duration_minutes: int | None = None
    school_bound: bool = False
    tracked: bool = True
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        if not self.key:
            raise RuleValueError("an activity needs a key")
        entities = tuple(self.entities)
        if len(set(entities)) != len(entities):
            raise RuleValueError(f"activity {self.key}: an entity key is given twice: {entities}")
        if "" in entities:
            raise RuleValueError(f"activity {self.key}: an entity key cannot be empty")
        weekdays = tuple(sorted(set(self.weekdays)))
        for day in weekdays:
            if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
                raise RuleValueError(f"activity {self.key}: weekday must be 0–6 (0 = Monday), not {day!r}")
        if self.time is not None and self.time.tzinfo is not None:
            raise RuleValueError(f"activity {self.key}: time must be a naive local wall-clock time")
        if self.duration_minutes is not None and self.duration_minutes <= 0:
            raise RuleValueError(f"activity {self.key}: duration_minutes must be positive")
        try:
            _zone(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise RuleValueError(f"activity {self.key}: unknown time zone {self.tz!r}") from None
        object.__setattr__(self, "entities", entities)
        object.__setattr__(self, "weekdays", weekdays)


def _check_aware(value: dt.datetime | None, name: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise NaiveDatetimeError(name)


@dataclass(frozen=True, slots=True, kw_only=True)
class PinnedOccurrence:
    """An occurrence fixed by people (done, or moved by hand): kept exactly as given.

    Keyed by ``(activity, entity, period_key, slot)``, as ``PlannedOccurrence.key``.
    ``start``/``end`` must be aware (``NaiveDatetimeError``), or both None (all-day).
    """

    activity: str
    entity: str = ""
    period_key: str
    slot: int
    day: dt.date
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def __post_init__(self) -> None:
        _check_aware(self.start, "start")
        _check_aware(self.end, "end")
        if self.slot < 0:
            raise RuleValueError(f"slot cannot be negative: {self.slot}")
        if (self.start is None) != (self.end is None):
            raise RuleValueError("a pinned occurrence has both start and end, or neither (all-day)")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise RuleValueError("a pinned occurrence ends before it starts")

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.activity, self.entity, self.period_key, self.slot)


# -- outputs ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedOccurrence:
    """One planned (or pinned) occurrence.

    ``day`` is the local date; ``start``/``end`` are aware UTC datetimes, or None for an
    all-day occurrence. ``entity`` is ``""`` for an activity without entities.
    """

    activity: str
    entity: str
    period_key: str
    slot: int
    day: dt.date
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    pinned: bool = False
    average: bool = False

    @property
    def key(self) -> tuple[str, str, str, int]:
        """``(activity, entity, period_key, slot)``: stable while the rule and period stand."""
        return (self.activity, self.entity, self.period_key, self.slot)

    @property
    def all_day(self) -> bool:
        return self.start is None

    def to_json(self) -> dict[str, object]:
        return {
            "activity": self.activity,
            "entity": self.entity,
            "period": self.period_key,
            "slot": self.slot,
            "date": self.day.isoformat(),
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "pinned": self.pinned,
            "average": self.average,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanProblem:
    """Something the plan cannot do, with the Swedish message a user sees."""

    code: ProblemCode
    activity: str
    entity: str = ""
    period_key: str | None = None
    message_sv: str

    def to_error(self) -> PlanError:
        """The same problem as a ``PlanError``, for callers that want to raise."""
        return PlanError(self.message_sv, activity=self.activity)

    def __str__(self) -> str:
        where = self.activity + (f" ({self.entity})" if self.entity else "")
        return f"{where}: {self.message_sv}"

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code.value,
            "activity": self.activity,
            "entity": self.entity,
            "period": self.period_key,
            "message": self.message_sv,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Unscheduled:
    """An activity that gets no dates, and why (``message_sv`` for people)."""

    activity: str
    kind: Kind
    reason: UnscheduledReason

    @property
    def message_sv(self) -> str:
        return _UNSCHEDULED_SV[self.reason]

    def to_json(self) -> dict[str, object]:
        return {
            "activity": self.activity,
            "kind": self.kind.value,
            "reason": self.reason.value,
            "message": self.message_sv,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodPlan:
    """One activity × entity × period: what is required and what is planned.

    ``share`` and ``required`` follow the partial-period policy on the activity's
    available days; ``available`` counts those days in the clipped span.
    ``occurrences`` are sorted by day and include the pinned ones.
    """

    activity: str
    entity: str
    span: PeriodSpan
    share: Fraction
    required: int
    available: int
    occurrences: tuple[PlannedOccurrence, ...]
    last_feasible_day: dt.date | None
    average: bool = False
    problem: PlanProblem | None = None

    @property
    def feasible(self) -> bool:
        """False when the required count does not fit (``problem`` says why)."""
        return self.problem is None or self.problem.code is not ProblemCode.INFEASIBLE

    def to_json(self) -> dict[str, object]:
        return {
            **self.span.to_json(),
            "entity": self.entity,
            "share": str(self.share),
            "required": self.required,
            "available_days": self.available,
            "average": self.average,
            "last_feasible_day": self.last_feasible_day.isoformat() if self.last_feasible_day else None,
            "problem": self.problem.to_json() if self.problem else None,
            "occurrences": [o.to_json() for o in self.occurrences],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityPlan:
    """The plan of one activity: its periods (by period, then entity), or why it has none."""

    key: str
    periods: tuple[PeriodPlan, ...] = ()
    unscheduled: Unscheduled | None = None
    problems: tuple[PlanProblem, ...] = ()

    @property
    def occurrences(self) -> tuple[PlannedOccurrence, ...]:
        """Every occurrence of the activity, sorted as ``Plan.occurrences``."""
        return tuple(sorted((o for p in self.periods for o in p.occurrences), key=_sort_key))


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The plan of a set of activities over ``window``.

    ``occurrences``: all of them, pinned included, sorted by local day, then start
    (all-day first), activity, entity, period and slot. ``problems``: every activity's
    problems in input order, then unmatched pins.
    """

    window: Window
    activities: tuple[ActivityPlan, ...]
    occurrences: tuple[PlannedOccurrence, ...]
    problems: tuple[PlanProblem, ...] = ()
    unscheduled: tuple[Unscheduled, ...] = ()
    _days: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_days", tuple(o.day.toordinal() for o in self.occurrences))

    def activity(self, key: str) -> ActivityPlan:
        """The plan of activity ``key``; ``KeyError`` if it was not planned."""
        for item in self.activities:
            if item.key == key:
                return item
        raise KeyError(key)


_NO_START = dt.datetime.min.replace(tzinfo=dt.UTC)


def _sort_key(o: PlannedOccurrence) -> tuple[dt.date, dt.datetime, str, str, str, int]:
    return (o.day, o.start or _NO_START, o.activity, o.entity, o.period_key, o.slot)


# -- available days ---------------------------------------------------------------------------
def _check_years(first: int, last: int) -> None:
    if first < dt.MINYEAR + 1 or last > dt.MAXYEAR - 1:
        raise RuleValueError(f"cannot plan years {first}–{last}")


@functools.lru_cache(maxsize=4096)
def _year_days(work: WorkCalendar, year: int, weekend: frozenset[int]) -> tuple[int, ...]:
    """Ordinals of the default available days of ``year`` (plus preferred weekend days)."""
    holidays = swedish_holidays(year)
    squeezed = klamdagar(year)
    extra = work.extra_non_working
    first, last = dt.date(year, 1, 1).toordinal(), dt.date(year, 12, 31).toordinal()
    out: list[int] = []
    for ordinal in range(first, last + 1):  # bounded: one year
        day = dt.date.fromordinal(ordinal)
        weekday = (ordinal - 1) % 7  # ordinal 1 (0001-01-01) is a Monday
        if weekday >= _SATURDAY and weekday not in weekend:
            continue
        if day in holidays or day in extra or day in squeezed:
            continue
        out.append(ordinal)
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def _year_school_days(work: WorkCalendar, school: SchoolCalendar, year: int) -> tuple[int, ...]:
    """Ordinals of the school days of ``year`` that are also default available days."""
    base = _year_days(work, year, frozenset())
    other_work = school.work if school.work != work else None
    out: list[int] = []
    for term in school.terms_between(dt.date(year, 1, 1), dt.date(year, 12, 31)):
        lo = bisect.bisect_left(base, term.start.toordinal())
        hi = bisect.bisect_right(base, term.end.toordinal())
        for ordinal in base[lo:hi]:  # bounded: one term
            day = dt.date.fromordinal(ordinal)
            if school.is_lov(day) or (other_work is not None and not other_work.is_working_day(day)):
                continue
            out.append(ordinal)
    return tuple(out)


class _Days:
    """The available days of one kind (default, weekend-extended or school), per call."""

    __slots__ = ("_cache", "_school", "_weekend", "_work")

    def __init__(self, work: WorkCalendar, school: SchoolCalendar | None, weekend: frozenset[int]) -> None:
        self._work, self._school, self._weekend = work, school, weekend
        self._cache: dict[tuple[int, int], tuple[int, ...]] = {}

    def _years(self, first: int, last: int) -> tuple[int, ...]:
        found = self._cache.get((first, last))
        if found is None:
            _check_years(first, last)
            parts: list[int] = []
            for year in range(first, last + 1):  # bounded by the span's years
                if self._school is not None:
                    parts.extend(_year_school_days(self._work, self._school, year))
                else:
                    parts.extend(_year_days(self._work, year, self._weekend))
            found = self._cache[(first, last)] = tuple(parts)
        return found

    def between(self, start: dt.date, end: dt.date) -> tuple[int, ...]:
        """Ordinals of available days from ``start`` to ``end``, both inclusive."""
        days = self._years(start.year, end.year)
        return days[bisect.bisect_left(days, start.toordinal()) : bisect.bisect_right(days, end.toordinal())]

    def count(self, start: dt.date, end: dt.date) -> int:
        days = self._years(start.year, end.year)
        return bisect.bisect_right(days, end.toordinal()) - bisect.bisect_left(days, start.toordinal())


def available_days(
    start: dt.date,
    end: dt.date,
    *,
    work: WorkCalendar,
    school: SchoolCalendar | None = None,
    weekend: Iterable[int] = (),
) -> list[dt.date]:
    """The days the planner may use from ``start`` to ``end`` (inclusive), in order.

    With ``school``: its school days that are not klämdagar. Without: working days that
    are not klämdagar, plus the weekend days (5, 6) listed in ``weekend`` unless they are
    holidays. A quota tracker should count partial periods with the same days.

    >>> [d.isoformat() for d in available_days(dt.date(2025, 5, 26), dt.date(2025, 6, 1), work=WorkCalendar())]
    ['2025-05-26', '2025-05-27', '2025-05-28']
    """
    if end < start:
        return []
    days = _Days(work, school, frozenset(d for d in weekend if d >= _SATURDAY))
    return [dt.date.fromordinal(o) for o in days.between(start, end)]


def is_quiet_day(day: dt.date) -> bool:
    """True in the weeks most staff are on leave: 24 June – 9 August (midsommar and the
    summer semester) and 23 December – 6 January (jul and nyår).

    Quiet days stay available days: a monthly quota in July is still planned in July and
    they count for the partial-period share. Only a span longer than
    ``QUIET_MIN_SPAN_DAYS`` (a term, a half year, a year, a whole window) leaves them
    out of its candidates when the other days suffice.

    >>> is_quiet_day(dt.date(2025, 7, 15)), is_quiet_day(dt.date(2025, 8, 11)), is_quiet_day(dt.date(2026, 1, 2))
    (True, False, True)
    """
    md = (day.month, day.day)
    return (6, 24) <= md <= (8, 9) or md >= (12, 23) or md <= (1, 6)


def entity_phase(activity: str, entity: str) -> float:
    """Where in each slot's share of a period an entity's occurrence goes, in [0.1, 0.9).

    Derived from a BLAKE2b hash of ``activity`` and ``entity``, so it never depends on the
    other entities or activities. For the unnamed entity ``""`` it stays near the middle,
    in [0.3, 0.7), so that two activities with the same rule (two police drives "3 per
    period") do not land on the same days.

    >>> 0.3 <= entity_phase("a", "") < 0.7
    True
    >>> entity_phase("informationskvallar", "bjorkskolan") == entity_phase("informationskvallar", "bjorkskolan")
    True
    """
    digest = hashlib.blake2b(f"{activity}\x00{entity}".encode(), digest_size=8).digest()
    share = int.from_bytes(digest, "big") / 2**64
    return 0.3 + 0.4 * share if not entity else 0.1 + 0.8 * share


# -- spans ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _spans(period: Period, window: Window) -> tuple[PeriodSpan, ...]:
    return tuple(periods(period, window))


def _date_sv(day: dt.date, *, year: bool = True) -> str:
    text = f"{day.day} {MONTHS_SV[day.month - 1]}"
    return f"{text} {day.year}" if year else text


def _whole_span(start: dt.date, end: dt.date) -> PeriodSpan:
    """A single never-partial span (a quota without period, a deadline one-off)."""
    if start.year == end.year:
        label = f"{_date_sv(start, year=False)} – {_date_sv(end)}"
    else:
        label = f"{_date_sv(start)} – {_date_sv(end)}"
    return PeriodSpan(
        key=f"{start.isoformat()}..{end.isoformat()}",
        label=label,
        unit=Unit.DAY,
        index=start.toordinal(),
        start=start,
        end=end,
        full_start=start,
        full_end=end,
    )


# -- one activity -----------------------------------------------------------------------------
_WORKDAY_WORDS = ("möjlig dag", "möjliga dagar")
_SCHOOLDAY_WORDS = ("skoldag", "skoldagar")


@dataclass(slots=True, kw_only=True)
class _Context:
    """What every activity of one ``plan`` call shares: calendars and per-call caches."""

    window: Window
    work: WorkCalendar
    school: SchoolCalendar | None
    days: dict[tuple[bool, frozenset[int]], _Days] = field(default_factory=dict)
    spans: dict[tuple[bool, frozenset[int], dt.date, dt.date, dt.date, dt.date], tuple[tuple[int, ...], int]] = field(
        default_factory=dict
    )

    def days_for(self, school_bound: bool, weekend: frozenset[int]) -> _Days:
        key = (school_bound, weekend)
        found = self.days.get(key)
        if found is None:
            found = self.days[key] = _Days(self.work, self.school if school_bound else None, weekend)
        return found

    def span_days(self, school_bound: bool, weekend: frozenset[int], span: PeriodSpan) -> tuple[tuple[int, ...], int]:
        """(available ordinals in the clipped span, count in the full period)."""
        key = (school_bound, weekend, span.start, span.end, span.full_start, span.full_end)
        found = self.spans.get(key)
        if found is None:
            days = self.days_for(school_bound, weekend)
            clipped = days.between(span.start, span.end)
            full = days.count(span.full_start, span.full_end) if span.partial else len(clipped)
            found = self.spans[key] = (clipped, full)
        return found


def _unscheduled_reason(item: ActivityPlanInput) -> UnscheduledReason | None:
    """Why ``item`` gets no dates (the rule's kind first, then the file's ``tracked``), or None."""
    rule = item.rule
    if rule.kind is Kind.UNTIMED and rule.deadline is None:
        return UnscheduledReason.UNTIMED
    if rule.kind in _KIND_REASONS:
        return _KIND_REASONS[rule.kind]
    if not item.tracked:
        return UnscheduledReason.NOT_TRACKED
    quota = rule.quota
    if quota is not None and quota.measure is Measure.HOURS and item.duration_minutes is None:
        return UnscheduledReason.HOURS_WITHOUT_DURATION
    return None


_KIND_REASONS = {
    Kind.VAGUE: UnscheduledReason.VAGUE,
    Kind.CONDITIONAL: UnscheduledReason.CONDITIONAL,
    Kind.EVENT: UnscheduledReason.EVENT,
}


def _count_of(item: ActivityPlanInput) -> int:
    """The quota's count in occurrences (before the partial-period policy)."""
    quota = item.rule.quota
    if quota is None:  # an untimed rule with a deadline: one occurrence
        return 1
    count = quota.min if quota.min is not None else (quota.max or 0)
    if quota.measure is Measure.HOURS:
        minutes = item.duration_minutes or DEFAULT_DURATION_MINUTES
        return math.ceil(count * 60 / minutes)
    return count


def _spread(candidates: Sequence[int], n: int, phase: float) -> list[int]:
    """Indices into ``candidates`` for ``n`` slots: ``floor((i + phase) · M / n)``."""
    m = len(candidates)
    return [int((i + phase) * m / n) for i in range(n)]


def _nearest_free(candidates: Sequence[int], index: int, taken: set[int]) -> int | None:
    """The candidate nearest to ``index`` whose day is not ``taken`` (later first), or None."""
    m = len(candidates)
    for distance in range(m + 1):  # bounded by the candidates
        for probe in (index + distance, index - distance):
            if 0 <= probe < m and candidates[probe] not in taken:
                return candidates[probe]
    return None


def _from_pin(pin: PinnedOccurrence, *, average: bool) -> PlannedOccurrence:
    return PlannedOccurrence(
        activity=pin.activity,
        entity=pin.entity,
        period_key=pin.period_key,
        slot=pin.slot,
        day=pin.day,
        start=pin.start.astimezone(dt.UTC) if pin.start else None,
        end=pin.end.astimezone(dt.UTC) if pin.end else None,
        pinned=True,
        average=average,
    )


class _ActivityPlanner:
    """Plans one activity; see the module docstring for the algorithm."""

    def __init__(
        self, item: ActivityPlanInput, ctx: _Context, pins: dict[tuple[str, str], list[PinnedOccurrence]]
    ) -> None:
        self.item, self.ctx, self.pins = item, ctx, pins
        self.problems: list[PlanProblem] = []
        self.used_pins: set[tuple[str, str]] = set()
        self.school_bound = item.school_bound and ctx.school is not None
        self.weekend = frozenset() if item.school_bound else frozenset(d for d in item.weekdays if d >= _SATURDAY)
        self.preferred = frozenset(item.weekdays)
        self.average = item.rule.average
        self.tz = _zone(item.tz)
        self.duration = dt.timedelta(minutes=item.duration_minutes or DEFAULT_DURATION_MINUTES)
        self.entities = item.entities or ("",)
        self.phases = {e: entity_phase(item.key, e) for e in self.entities}
        self.day_words = _SCHOOLDAY_WORDS if self.school_bound else _WORKDAY_WORDS
        self.times: dict[int, tuple[dt.datetime, dt.datetime]] = {}
        self.wall = item.time.replace(fold=0) if item.time is not None else dt.time(0, 0)

    def problem(self, code: ProblemCode, message: str, *, entity: str = "", period_key: str | None = None) -> None:
        self.problems.append(
            PlanProblem(code=code, activity=self.item.key, entity=entity, period_key=period_key, message_sv=message)
        )

    # -- the spans --------------------------------------------------------------------------
    def spans(self) -> tuple[PeriodSpan, ...]:
        rule, validity = self.item.rule, self.ctx.window
        start, end = validity.start, validity.end
        if rule.window is not None:
            start, end = max(start, rule.window.start), min(end, rule.window.end)
        if rule.deadline is not None:
            end = min(end, rule.deadline)
        if end < start:
            what = f"fönstret {rule.window.start} – {rule.window.end}" if rule.window else ""
            if rule.deadline is not None and (rule.window is None or rule.deadline < rule.window.start):
                what = f"sista dagen {rule.deadline}"
            self.problem(
                ProblemCode.OUTSIDE_VALIDITY,
                f"regelns {what} ligger utanför giltighetstiden {validity.start} – {validity.end}: inget att planera",
            )
            return ()
        if rule.period is None:
            return (_whole_span(start, end),)
        return _spans(rule.period, Window(start=start, end=end))

    # -- one period ---------------------------------------------------------------------------
    def occurrence(self, entity: str, period_key: str, slot: int, ordinal: int) -> PlannedOccurrence:
        day = dt.date.fromordinal(ordinal)
        start = end = None
        if self.item.time is not None:
            times = self.times.get(ordinal)
            if times is None:
                # local_to_utc without its checks (done once in __init__): same DST policy.
                begin = dt.datetime.combine(day, self.wall, tzinfo=self.tz).astimezone(dt.UTC)
                times = self.times[ordinal] = (begin, begin + self.duration)
            start, end = times
        return PlannedOccurrence(
            activity=self.item.key,
            entity=entity,
            period_key=period_key,
            slot=slot,
            day=day,
            start=start,
            end=end,
            average=self.average,
        )

    def period(self, span: PeriodSpan, count: int, deadline_one_off: bool) -> list[PeriodPlan]:
        clipped, full = self.ctx.span_days(self.school_bound, self.weekend, span)
        if not full and (not self.school_bound or self.covered(span)):
            share, required = Fraction(0), 0  # a Sunday for "dagligen", July on sommarlov: nothing is due
        elif not span.partial:
            share, required = _ONE, count
        else:
            share = Fraction(len(clipped), full) if full else Fraction(span.days, span.full_days)
            required = required_in(span, count, available_share=share)
        narrowed: Sequence[int] = clipped
        if required and span.full_end.toordinal() - span.full_start.toordinal() >= QUIET_MIN_SPAN_DAYS:
            active = [o for o in clipped if not is_quiet_day(dt.date.fromordinal(o))]
            if len(active) >= required:
                narrowed = active
        if self.preferred and required:
            only = [o for o in narrowed if (o - 1) % 7 in self.preferred]
            if len(only) >= required:
                narrowed = only
        out: list[PeriodPlan] = []
        for entity in self.entities:
            out.append(
                self.entity_period(
                    span,
                    entity,
                    share=share,
                    required=required,
                    clipped=clipped,
                    narrowed=narrowed,
                    deadline_one_off=deadline_one_off,
                )
            )
        return out

    def entity_period(
        self,
        span: PeriodSpan,
        entity: str,
        *,
        share: Fraction,
        required: int,
        clipped: Sequence[int],
        narrowed: Sequence[int],
        deadline_one_off: bool,
    ) -> PeriodPlan:
        key = span.key
        pinned = self.pins.get((entity, key), ())
        if pinned:
            self.used_pins.add((entity, key))
        phase = self.phases[entity]
        m = len(narrowed)
        if required == 0:
            chosen: list[tuple[int, int]] = []
        elif required > m:  # cannot fit: everything that can be used, once
            chosen = list(enumerate(narrowed))
        elif deadline_one_off and required == 1:
            chosen = [(0, narrowed[max(0, m - 1 - int(phase * 2 * DEADLINE_LEAD))])]
        else:
            chosen = [(slot, narrowed[i]) for slot, i in enumerate(_spread(narrowed, required, phase))]

        if pinned:
            chosen = self.around_pins(chosen, pinned, required, narrowed, clipped)
        occurrences = [self.occurrence(entity, key, slot, ordinal) for slot, ordinal in chosen]
        if pinned:
            occurrences += [_from_pin(p, average=self.average) for p in pinned]
            occurrences.sort(key=_sort_key)

        open_count = required - len(pinned)
        free = clipped
        if pinned:
            pinned_days = {p.day.toordinal() for p in pinned}
            free = [o for o in clipped if o not in pinned_days]
        last_feasible: dt.date | None = None
        problem: PlanProblem | None = None
        if 0 < open_count <= len(free):
            last_feasible = dt.date.fromordinal(free[len(free) - open_count])
        elif open_count > len(free):
            problem = PlanProblem(
                code=ProblemCode.INFEASIBLE,
                activity=self.item.key,
                entity=entity,
                period_key=key,
                message_sv=self.infeasible_message(span, required, len(clipped)),
            )
            self.problems.append(problem)
        return PeriodPlan(
            activity=self.item.key,
            entity=entity,
            span=span,
            share=share,
            required=required,
            available=len(clipped),
            occurrences=tuple(occurrences),
            last_feasible_day=last_feasible,
            average=self.average,
            problem=problem,
        )

    def around_pins(
        self,
        chosen: list[tuple[int, int]],
        pinned: Sequence[PinnedOccurrence],
        required: int,
        narrowed: Sequence[int],
        clipped: Sequence[int],
    ) -> list[tuple[int, int]]:
        """Keep the open slots on their days; a slot whose day is taken (by a pin, or by a
        slot moved before it) goes to the nearest free candidate, later first."""
        pinned_slots = {p.slot for p in pinned}
        open_count = max(0, required - len(pinned))
        slots = [s for s in range(required) if s not in pinned_slots][:open_count]
        base = dict(chosen)
        taken = {p.day.toordinal() for p in pinned}
        out: list[tuple[int, int]] = []
        for slot in slots:  # bounded by required
            ordinal = base.get(slot)
            if ordinal is None or ordinal in taken:
                anchor = ordinal if ordinal is not None else (narrowed[-1] if narrowed else 0)
                found = _nearest_free(narrowed, bisect.bisect_left(narrowed, anchor), taken)
                if found is None:
                    found = _nearest_free(clipped, bisect.bisect_left(clipped, anchor), taken)
                if found is None:
                    continue  # the caller reports the period as infeasible
                ordinal = found
            taken.add(ordinal)
            out.append((slot, ordinal))
        return out

    def covered(self, span: PeriodSpan) -> bool:
        """True when the school calendar knows every day of ``span``'s full period."""
        school = self.ctx.school
        return school is not None and school.first_day <= span.full_start and span.full_end <= school.last_day

    def infeasible_message(self, span: PeriodSpan, required: int, available: int) -> str:
        one, many = self.day_words
        days = f"{available} {one if available == 1 else many}"
        if available == 0:
            days = f"inga {many}"
        times = "tillfälle" if required == 1 else "tillfällen"
        where = f"{span.start} – {span.end}" if span.start != span.end else f"{span.start}"
        text = f"kvoten ryms inte: {span.label} kräver {required} {times} men har bara {days} ({where})"
        if self.school_bound and not self.covered(span):
            text += "; skolkalendern täcker inte hela perioden"
        if self.average:
            text += "; ett snitt kan tas igen i andra perioder"
        return text

    # -- the whole activity --------------------------------------------------------------
    def run(self) -> ActivityPlan:
        item = self.item
        if item.school_bound and self.ctx.school is None:
            self.problem(
                ProblemCode.NO_SCHOOL_CALENDAR,
                "aktiviteten följer skolkalendern men ingen skolkalender finns: planerad på arbetsdagar",
            )
        rule = item.rule
        deadline_one_off = rule.deadline is not None and rule.period is None
        count = _count_of(item)
        plans: list[PeriodPlan] = []
        for span in self.spans():  # bounded by periods.MAX_PERIODS
            plans.extend(self.period(span, count, deadline_one_off))
        return ActivityPlan(key=item.key, periods=tuple(plans), problems=tuple(self.problems))


# -- the public entry points ------------------------------------------------------------------
def plan(
    inputs: Iterable[ActivityPlanInput],
    *,
    window: Window,
    work: WorkCalendar,
    school: SchoolCalendar | None = None,
    pinned: Iterable[PinnedOccurrence] = (),
) -> Plan:
    """Plan every activity of ``inputs`` over the validity ``window`` (both ends inclusive).

    See the module docstring for what is planned, on which days, how occurrences are
    spread, what stays stable and the DST policy. Problems are returned in
    ``Plan.problems``, never raised; invalid inputs (two activities with one key, two
    pins with one key) raise ``RuleValueError``.
    """
    items = tuple(inputs)
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise RuleValueError(f"an activity key is given twice: {sorted(k for k in set(keys) if keys.count(k) > 1)}")
    pins_by_activity: dict[str, dict[tuple[str, str], list[PinnedOccurrence]]] = {}
    seen: set[tuple[str, str, str, int]] = set()
    for pin in pinned:
        if pin.key in seen:
            raise RuleValueError(f"two pinned occurrences for {pin.key}")
        seen.add(pin.key)
        pins_by_activity.setdefault(pin.activity, {}).setdefault((pin.entity, pin.period_key), []).append(pin)

    ctx = _Context(window=window, work=work, school=school)
    activities: list[ActivityPlan] = []
    unscheduled: list[Unscheduled] = []
    problems: list[PlanProblem] = []
    everything: list[PlannedOccurrence] = []
    used: dict[str, set[tuple[str, str]]] = {}
    for item in items:
        reason = _unscheduled_reason(item)
        if reason is not None:
            skipped = Unscheduled(activity=item.key, kind=item.rule.kind, reason=reason)
            unscheduled.append(skipped)
            activities.append(ActivityPlan(key=item.key, unscheduled=skipped))
            continue
        planner = _ActivityPlanner(item, ctx, pins_by_activity.get(item.key, {}))
        try:
            result = planner.run()
        except RuleError as exc:  # one bad rule must not stop the others
            planner.problem(ProblemCode.ERROR, f"kunde inte planeras: {exc}")
            result = ActivityPlan(key=item.key, problems=tuple(planner.problems))
        used[item.key] = planner.used_pins
        activities.append(result)
        problems.extend(result.problems)
        for period_plan in result.periods:
            everything.extend(period_plan.occurrences)

    skipped_keys = {u.activity for u in unscheduled}
    for activity_key, bucket in pins_by_activity.items():
        for bucket_key, pins in bucket.items():
            if bucket_key in used.get(activity_key, ()):
                continue  # already in its PeriodPlan
            everything.extend(_from_pin(pin, average=False) for pin in pins)
            if activity_key in skipped_keys:
                continue  # an unscheduled activity has no periods to check against
            problems.extend(
                PlanProblem(
                    code=ProblemCode.PINNED_UNMATCHED,
                    activity=pin.activity,
                    entity=pin.entity,
                    period_key=pin.period_key,
                    message_sv=f"fäst tillfälle {pin.day} hör till en period som planen saknar ({pin.period_key})",
                )
                for pin in pins
            )
    everything.sort(key=_sort_key)
    return Plan(
        window=window,
        activities=tuple(activities),
        occurrences=tuple(everything),
        problems=tuple(problems),
        unscheduled=tuple(unscheduled),
    )


def occurrences(plan: Plan, start: dt.date | dt.datetime, stop: dt.date | dt.datetime) -> list[PlannedOccurrence]:
    """The occurrences of ``plan`` in the half-open interval ``[start, stop)``.

    ``start`` and ``stop`` are both dates (an occurrence is in when its local ``day``
    is) or both aware datetimes (when its ``start`` is; an all-day occurrence counts
    from the local midnight of its day in ``DEFAULT_TZ``). Naive datetimes raise
    ``NaiveDatetimeError``. The result keeps the plan's order.
    """
    if isinstance(start, dt.datetime) != isinstance(stop, dt.datetime):
        raise RuleValueError("start and stop must both be dates or both be datetimes")
    if isinstance(start, dt.datetime) and isinstance(stop, dt.datetime):
        _check_aware(start, "start")
        _check_aware(stop, "stop")
        # Local days of instants in [start, stop) lie within a day either side in any zone.
        lo = bisect.bisect_left(plan._days, start.date().toordinal() - 1)
        hi = bisect.bisect_right(plan._days, stop.date().toordinal() + 1)
        tz = _zone(DEFAULT_TZ)
        out: list[PlannedOccurrence] = []
        for item in plan.occurrences[lo:hi]:  # bounded by the slice
            instant = item.start or local_to_utc(item.day, dt.time(0, 0), tz)
            if start <= instant < stop:
                out.append(item)
        return out
    lo = bisect.bisect_left(plan._days, start.toordinal())
    hi = bisect.bisect_left(plan._days, stop.toordinal())
    return list(plan.occurrences[lo:hi])

"""Quota evaluation: done against required, per activity × entity × period, with a state.

``evaluate(plan, inputs, completions=..., today=..., work=..., school=...)`` reads a
``rules.planner.Plan`` (what each period requires and how many days it can use) and
the days each activity × entity was done, and gives one ``QuotaStatus`` per planned
period, plus an ``Untracked`` entry for every activity that has no count to follow.
It is pure: ``today`` is a parameter (the shell reads the clock), nothing is stored.

Counting
--------
* **done**: completions whose day lies in the period's (clipped) span *and* on or
  before ``today``: a completion on an unplanned day counts like a planned one, and
  evaluating an earlier ``today`` ignores what was recorded for later days. Each
  completion counts once, two on one day count twice. The caller passes only the
  completions that count (``undone_at`` unset): undone ones are left out there.
* **required**: ``PeriodPlan.required`` (the planner's pro-rata share for a partial
  period at the window's edges; 0 when the period has no available day).
* **available days**: the planner's days (``rules.planner.available_days``): working
  days that are not klämdagar, holidays excluded; school days only (no lov, lovdag,
  studiedag, nothing outside the terms) for a school-bound activity. ``gone`` are
  those before ``today``, ``left`` those from ``today`` (included) to the period's end.
* **last feasible day**: with ``r`` still to do and one occurrence a day, the ``r``-th
  available day from the period's end. None when nothing remains, or when fewer than
  ``r`` available days are left.

States
------
Checked in this order (``QuotaThresholds`` holds the numbers, defaults in brackets):

1. ``kommande``: the period has not started (``today`` before its first day).
2. ``uppfylld``: ``done >= required`` (a period requiring nothing is fulfilled).
3. ``missad``: the period is over and ``done < required``.
4. ``i fara`` (feasibility), when what remains is harder than the period's own pace
   (``remaining / left > required / available``) and either

   * fewer available days are left than occurrences remain (it cannot be met at one
     a day), or
   * the last feasible day is within ``critical_days`` [5] available days from
     today, but never more than ``critical_share`` [10 %] of the period's available
     days (at least 1): a week before the end of a term, the day itself for a weekly
     quota, or
   * ``remaining >= left × risk_rate`` [2/3]: two of every three days left are needed.

   The "harder than planned" guard keeps a quota that needs every day (``varje
   dag``) out of ``i fara`` while it is on track, and a weekly quota planned for
   Friday out of it until Friday.
5. ``efter`` (pace, in the spirit of an SRE burn-rate alert): the share done is more
   than ``pace_slack`` [1/3] behind the share of the period's available days gone,
   ``done / required < gone / available − pace_slack``.
6. ``i fas`` otherwise.

Adding a completion never makes a state worse (a property test checks it): every
test above is monotone in ``done``.

Averages ("i snitt")
--------------------
An average quota ("2 gånger per månad i snitt") may fall short in one period and catch
up in the next, so its periods are not judged one by one. It gets **one** status per
entity over the whole validity: ``required`` is the sum of its periods' requirements,
the available days those of the whole window, and the same states apply to the total.
Its ``span`` runs from the first period's start to the last one's end (key
``first..last``).

Untracked activities
--------------------
Vague, conditional, event and untimed activities, ``tracked: false`` ones and hour
quotas without a duration (the planner's ``Unscheduled``), and activities the plan
could not place at all (a rule window outside the validity), are listed as
``Untracked`` with the Swedish reason: "följs inte upp med antal". They never warn.

>>> from rules.holidays_se import WorkCalendar
>>> from rules.model import Kind, Period, Quota, Rule, Unit, Window
>>> from rules.planner import ActivityPlanInput, plan
>>> rule = Rule(kind=Kind.QUOTA, quota=Quota(min=2, max=None), period=Period(unit=Unit.MONTH))
>>> inputs = [ActivityPlanInput(key="mpk", rule=rule)]
>>> window = Window(start=dt.date(2025, 3, 1), end=dt.date(2025, 4, 30))
>>> p = plan(inputs, window=window, work=WorkCalendar())
>>> report = evaluate(p, inputs, completions={("mpk", ""): [dt.date(2025, 3, 4)]},
...                   today=dt.date(2025, 3, 26), work=WorkCalendar())
>>> [(s.span.key, s.done, s.required, s.state.value) for s in report.statuses]
[('2025-03', 1, 2, 'i fas'), ('2025-04', 0, 2, 'kommande')]
>>> summary_sv(report.statuses[0], title="Mobila poliskontoret")
'Mobila poliskontoret, mars 2025: 1 av 2, 6 dagar kvar (4 möjliga dagar)'
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from fractions import Fraction
from itertools import chain
from typing import Any, TypeVar

from rules.errors import RuleValueError
from rules.explain_sv import date_sv
from rules.holidays_se import WorkCalendar
from rules.model import Unit, Window
from rules.periods import PeriodSpan
from rules.planner import ActivityPlanInput, PeriodPlan, Plan, available_days
from rules.school import SchoolCalendar

__all__ = [
    "DEFAULT_THRESHOLDS",
    "STATE_ORDER",
    "WARNING_STATES",
    "DaySet",
    "QuotaReport",
    "QuotaState",
    "QuotaStatus",
    "QuotaThresholds",
    "Untracked",
    "evaluate",
    "evaluate_period",
    "positional_constructor",
    "summary_sv",
]

_SATURDAY = 5
_T = TypeVar("_T")


class QuotaState(StrEnum):
    """Where one quota (activity × entity × period) stands; the values are Swedish."""

    #: the period has not started.
    UPCOMING = "kommande"
    #: running, and neither behind nor at risk.
    ON_TRACK = "i fas"
    #: running, and the share done lags the share of the period gone (pace).
    BEHIND = "efter"
    #: running, and what remains barely fits (or no longer fits) the days left.
    AT_RISK = "i fara"
    #: over, and fewer were done than required.
    MISSED = "missad"
    #: done at least as many as required (also: a period requiring nothing).
    FULFILLED = "uppfylld"

    @property
    def is_warning(self) -> bool:
        """True for the states a coordinator should look at: i fara, missad, efter."""
        return self in WARNING_STATES

    @property
    def badness(self) -> int:
        """How bad, for comparisons: uppfylld/kommande 0, i fas 1, efter 2, i fara 3, missad 4."""
        return _BADNESS[self]


#: Warnings, in the order lists show them: what can still be saved first.
WARNING_STATES = (QuotaState.AT_RISK, QuotaState.MISSED, QuotaState.BEHIND)
#: The order of a status list: warnings first, then the rest.
STATE_ORDER = (*WARNING_STATES, QuotaState.ON_TRACK, QuotaState.UPCOMING, QuotaState.FULFILLED)
_BADNESS = {
    QuotaState.FULFILLED: 0,
    QuotaState.UPCOMING: 0,
    QuotaState.ON_TRACK: 1,
    QuotaState.BEHIND: 2,
    QuotaState.AT_RISK: 3,
    QuotaState.MISSED: 4,
}
_RANK = {state: i for i, state in enumerate(STATE_ORDER)}


@dataclass(frozen=True, slots=True, kw_only=True)
class QuotaThresholds:
    """The numbers behind ``efter`` and ``i fara`` (see the module docstring).

    ``pace_slack``: how far (a share of the period, 0–1) the share done may lag the
    share of available days gone before the quota is ``efter``. Default 1/3.
    ``risk_rate``: ``i fara`` when the remaining count needs at least this share of the
    available days left. Default 2/3.
    ``critical_days``: ``i fara`` when the last feasible day is within this many
    available days (today counts as the first). Default 5, a working week.
    ``critical_share``: but never more than this share of the period's available days
    (and at least 1 day), so a weekly quota is not at risk from Monday. Default 0.1.
    """

    pace_slack: float = 1 / 3
    risk_rate: float = 2 / 3
    critical_days: int = 5
    critical_share: float = 0.1

    def __post_init__(self) -> None:
        if not 0 <= self.pace_slack < 1:
            raise RuleValueError(f"pace_slack must be in [0, 1), not {self.pace_slack}")
        if not 0 < self.risk_rate <= 1:
            raise RuleValueError(f"risk_rate must be in (0, 1], not {self.risk_rate}")
        if isinstance(self.critical_days, bool) or not isinstance(self.critical_days, int) or self.critical_days < 1:
            raise RuleValueError(f"critical_days must be a whole number of at least 1, not {self.critical_days!r}")
        if not 0 <= self.critical_share <= 1:
            raise RuleValueError(f"critical_share must be in [0, 1], not {self.critical_share}")

    def critical_window(self, available: int) -> int:
        """Available days before the last feasible day that make a quota ``i fara``."""
        return max(1, min(self.critical_days, math.floor(available * self.critical_share)))


#: The thresholds used unless a caller passes its own.
DEFAULT_THRESHOLDS = QuotaThresholds()


# -- sorted day sets ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DaySet:
    """A sorted multiset of days (as ordinals) with O(log n) range counts.

    Used for the available days of an activity and for the days it was done (a day
    done twice is in it twice).

    >>> days = DaySet.of([dt.date(2025, 3, 5), dt.date(2025, 3, 3), dt.date(2025, 3, 5)])
    >>> days.count(dt.date(2025, 3, 4), dt.date(2025, 3, 31))
    2
    """

    ordinals: tuple[int, ...]

    @classmethod
    def of(cls, days: Iterable[dt.date]) -> DaySet:
        return cls(tuple(sorted(d.toordinal() for d in days)))

    @classmethod
    def available(
        cls, window: Window, *, work: WorkCalendar, school: SchoolCalendar | None = None, weekend: Iterable[int] = ()
    ) -> DaySet:
        """The planner's available days over ``window`` (``rules.planner.available_days``)."""
        return _available(window.start, window.end, work, school, frozenset(d for d in weekend if d >= _SATURDAY))

    @classmethod
    def for_activity(
        cls, item: ActivityPlanInput, window: Window, *, work: WorkCalendar, school: SchoolCalendar | None
    ) -> DaySet:
        """The days the planner may use for ``item``: school days when school-bound, else
        working days plus its preferred weekend days (klämdagar and holidays excluded)."""
        if item.school_bound and school is not None:
            return cls.available(window, work=work, school=school)
        return cls.available(window, work=work, weekend=item.weekdays)

    @classmethod
    def lov(cls, school: SchoolCalendar) -> DaySet:
        """Every weekday ``school`` calls lov, lovdag or studiedag (cached per calendar)."""
        return _lov_days(school)

    def runs(self) -> list[int]:
        """The days as runs of consecutive ordinals, flattened: ``[first, length, ...]``
        (a compact form to store; ``DaySet.from_runs`` reads it back equal; a day
        in the set twice breaks the run).

        >>> days = DaySet.of([dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 6)])
        >>> DaySet.from_runs(days.runs()) == days
        True
        """
        out: list[int] = []
        previous = None
        for ordinal in self.ordinals:
            if previous is not None and ordinal == previous + 1:
                out[-1] += 1
            else:
                out += [ordinal, 1]
            previous = ordinal
        return out

    @classmethod
    def from_runs(cls, runs: Sequence[int]) -> DaySet:
        """The set ``runs()`` wrote."""
        return cls(tuple(chain.from_iterable(range(a, a + n) for a, n in zip(runs[::2], runs[1::2], strict=True))))

    def count(self, start: dt.date, end: dt.date) -> int:
        """How many days from ``start`` to ``end``, both inclusive (0 when ``end < start``)."""
        if end < start:
            return 0
        return bisect.bisect_right(self.ordinals, end.toordinal()) - bisect.bisect_left(
            self.ordinals, start.toordinal()
        )

    def nth_back(self, end: dt.date, n: int, *, floor: dt.date) -> dt.date | None:
        """The ``n``-th day counting back from ``end`` (1 = the last on or before ``end``),
        if it is on or after ``floor``; else None."""
        hi = bisect.bisect_right(self.ordinals, end.toordinal())
        index = hi - n
        if n < 1 or index < 0 or self.ordinals[index] < floor.toordinal():
            return None
        return dt.date.fromordinal(self.ordinals[index])

    def between(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """The days from ``start`` to ``end``, both inclusive, in order."""
        lo = bisect.bisect_left(self.ordinals, start.toordinal())
        hi = bisect.bisect_right(self.ordinals, end.toordinal())
        return [dt.date.fromordinal(o) for o in self.ordinals[lo:hi]]


@functools.lru_cache(maxsize=1024)
def _available(
    start: dt.date, end: dt.date, work: WorkCalendar, school: SchoolCalendar | None, weekend: frozenset[int]
) -> DaySet:
    days = available_days(start, end, work=work, school=school, weekend=weekend)
    return DaySet(tuple(d.toordinal() for d in days))


_EMPTY = DaySet(())


# -- results ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class QuotaStatus:
    """One activity × entity × period as of ``today``: done, required, days, state.

    ``entity`` is ``""`` for an activity without entities. ``gone``/``left`` count the
    period's available days before ``today`` and from ``today`` on (both 0 / all when
    the period is over / not started). ``planned_left``: planned days from ``today`` on
    that are not done. ``lov_days_left``: weekdays from ``today`` to the end that are
    lov, lovdag or studiedag (a running school-bound period only, else 0).
    ``reasons``: Swedish sentences saying why the state is what it is.
    """

    activity: str
    entity: str
    span: PeriodSpan
    today: dt.date
    state: QuotaState
    required: int
    done: int
    available: int
    gone: int
    left: int
    last_feasible_day: dt.date | None
    planned_left: tuple[dt.date, ...] = ()
    share: Fraction = Fraction(1)
    average: bool = False
    school_bound: bool = False
    lov_days_left: int = 0
    reasons: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def remaining(self) -> int:
        """How many are still to do (0 once fulfilled)."""
        return max(0, self.required - self.done)

    @property
    def period_key(self) -> str:
        return self.span.key

    @property
    def is_warning(self) -> bool:
        return self.state.is_warning

    @property
    def running(self) -> bool:
        """True when ``today`` lies in the period."""
        return self.span.start <= self.today <= self.span.end

    def sort_key(self) -> tuple[int, dt.date, str, str, str]:
        """Warnings first (i fara, missad, efter), then by the period's end, activity, entity."""
        return (_RANK[self.state], self.span.end, self.activity, self.entity, self.span.key)

    def to_json(self) -> dict[str, object]:
        """A stable JSON shape for scripts (``lofte status --json``, the JSON API)."""
        return {
            "activity": self.activity,
            "entity": self.entity or None,
            "period": self.span.to_json(),
            "state": self.state.value,
            "warning": self.is_warning,
            "required": self.required,
            "done": self.done,
            "remaining": self.remaining,
            "available_days": self.available,
            "available_days_gone": self.gone,
            "available_days_left": self.left,
            "lov_days_left": self.lov_days_left,
            "last_feasible_day": self.last_feasible_day.isoformat() if self.last_feasible_day else None,
            "planned_left": [d.isoformat() for d in self.planned_left],
            "share": str(self.share),
            "average": self.average,
            "school_bound": self.school_bound,
            "reasons": list(self.reasons),
            "problem": self.problem,
        }


def positional_constructor(cls: type[_T]) -> Callable[..., _T]:
    """A constructor for the frozen slots dataclass ``cls`` taking every field
    positionally, in declaration order, without defaults or ``__post_init__``.

    For hot loops that make tens of thousands of value objects (a national evaluation
    makes one ``QuotaStatus`` per quota): the generated ``__init__`` of a frozen
    dataclass parses keywords and looks ``object.__setattr__`` up once a field, which
    costs about twice what setting the slots directly does. The object is the same.

    >>> make = positional_constructor(Untracked)
    >>> make("a", "vague", "x") == Untracked(activity="a", reason="vague", message_sv="x")
    True
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    setters = {f"set_{name}": getattr(cls, name).__set__ for name in names}
    body = "".join(f"    set_{name}(obj, {name})\n" for name in names)
    source = f"def make({', '.join(names)}):\n    obj = new(cls)\n{body}    return obj\n"
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls, **setters}
    exec(source, namespace)  # noqa: S102 - source built from the dataclass's own field names
    made: Callable[..., _T] = namespace["make"]
    return made


@dataclass(frozen=True, slots=True, kw_only=True)
class Untracked:
    """An activity without a count to follow up: listed, never warned about."""

    activity: str
    #: ``UnscheduledReason`` value, or ``"problem"`` when the plan could not place it
    reason: str
    message_sv: str

    #: the marker lists show instead of a state
    MARKER_SV = "följs inte upp med antal"

    def to_json(self) -> dict[str, object]:
        return {"activity": self.activity, "state": None, "reason": self.reason, "message": self.message_sv}


@dataclass(frozen=True, slots=True, kw_only=True)
class QuotaReport:
    """Every quota of one plan as of ``today``, sorted warnings first; and the untracked."""

    today: dt.date
    statuses: tuple[QuotaStatus, ...]
    untracked: tuple[Untracked, ...] = ()

    @property
    def warnings(self) -> tuple[QuotaStatus, ...]:
        return tuple(s for s in self.statuses if s.is_warning)


# -- evaluation ---------------------------------------------------------------------------------
def evaluate_period(
    period: PeriodPlan,
    *,
    done: DaySet | Iterable[dt.date],
    today: dt.date,
    days: DaySet,
    planned: Iterable[dt.date] | None = None,
    school: SchoolCalendar | None = None,
    thresholds: QuotaThresholds = DEFAULT_THRESHOLDS,
) -> QuotaStatus:
    """The status of one ``PeriodPlan`` as of ``today``.

    ``done``: the days the activity × entity was done (any period; those outside this
    one or after ``today`` are not counted). ``days``: its available days
    (``DaySet.for_activity``) covering at least the period. ``planned``: planned days
    of this period (the feed's); default the plan's own occurrences. ``school``: pass the
    school calendar for a school-bound activity to count the lov days left.
    """
    done_set = done if isinstance(done, DaySet) else DaySet.of(done)
    lov = _lov_days(school) if school is not None else None
    if planned is None:
        planned = [o.day for o in period.occurrences]
    problem = period.problem.message_sv if period.problem is not None else None
    return _evaluate(
        activity=period.activity,
        entity=period.entity,
        span=period.span,
        required=period.required,
        share=period.share,
        average=period.average,
        done=done_set,
        days=days,
        today=today,
        planned=planned,
        lov=lov,
        thresholds=thresholds,
        problem=problem,
    )


def _evaluate(
    *,
    activity: str,
    entity: str,
    span: PeriodSpan,
    required: int,
    share: Fraction,
    average: bool,
    done: DaySet,
    days: DaySet,
    today: dt.date,
    planned: Iterable[dt.date],
    lov: DaySet | None,
    thresholds: QuotaThresholds,
    problem: str | None,
) -> QuotaStatus:
    """``lov``: the school's lov weekdays for a school-bound activity, else None."""
    start, end = span.start, span.end
    count = done.count(start, min(end, today))
    available = days.count(start, end)
    if today > end or today < start:  # fast path: most periods are over or still to come
        over = today > end
        state = QuotaState.UPCOMING
        if over:
            state = QuotaState.FULFILLED if count >= required else QuotaState.MISSED
        reasons_: tuple[str, ...] = ()
        if state is QuotaState.MISSED:
            reasons_ = (f"perioden slutade {date_sv(end)} med {count} av {required}",)
        elif state is QuotaState.FULFILLED and required == 0:
            reasons_ = ("inget krävs i perioden (inga möjliga dagar)" if available == 0 else "inget krävs",)
        return QuotaStatus(
            activity=activity, entity=entity, span=span, today=today, state=state, required=required,
            done=count, available=available, gone=available if over else 0, left=0 if over else available,
            last_feasible_day=None if over or required == 0 else days.nth_back(end, required, floor=start),
            planned_left=() if over else _within(planned, start, end),
            share=share, average=average, school_bound=lov is not None, reasons=reasons_, problem=problem,
        )  # fmt: skip
    yesterday = today - dt.timedelta(days=1)
    gone = days.count(start, min(end, yesterday)) if today > start else 0
    left = available - gone
    remaining = max(0, required - count)
    last_feasible = days.nth_back(end, remaining, floor=max(start, today)) if remaining else None
    running = start <= today <= end
    ahead = [d for d in planned if today <= d <= end] if today <= end else []
    if ahead and done.count(today, end):  # rare: work recorded for today, on a planned day
        ahead = [d for d in ahead if not done.count(d, d)]
    planned_left = tuple(sorted(ahead))
    lov_left = lov.count(today, end) if running and lov is not None else 0

    reasons: list[str] = []
    if today < start:
        state = QuotaState.UPCOMING
    elif count >= required:
        state = QuotaState.FULFILLED
        if required == 0:
            reasons.append("inget krävs i perioden (inga möjliga dagar)" if available == 0 else "inget krävs")
    elif today > end:
        state = QuotaState.MISSED
        reasons.append(f"perioden slutade {date_sv(end)} med {count} av {required}")
    else:
        state = _running_state(
            required=required, count=count, remaining=remaining, available=available, gone=gone, left=left,
            last_feasible=last_feasible, today=today, thresholds=thresholds, reasons=reasons,
        )  # fmt: skip
    return QuotaStatus(
        activity=activity,
        entity=entity,
        span=span,
        today=today,
        state=state,
        required=required,
        done=count,
        available=available,
        gone=gone if today >= start else 0,
        left=left if today <= end else 0,
        last_feasible_day=last_feasible if state is not QuotaState.MISSED else None,
        planned_left=planned_left,
        share=share,
        average=average,
        school_bound=lov is not None,
        lov_days_left=lov_left,
        reasons=tuple(reasons),
        problem=problem,
    )


def _running_state(
    *,
    required: int,
    count: int,
    remaining: int,
    available: int,
    gone: int,
    left: int,
    last_feasible: dt.date | None,
    today: dt.date,
    thresholds: QuotaThresholds,
    reasons: list[str],
) -> QuotaState:
    """States 4–6 of the module docstring, for a running period with something left to do."""
    # Harder than the period's own pace: remaining / left > required / available.
    harder = left == 0 or available == 0 or remaining * available > required * left
    if harder:
        if remaining > left:
            if left == 0:
                reasons.append(f"{_times(remaining)} återstår men inga möjliga dagar finns kvar i perioden")
            else:
                reasons.append(f"{_times(remaining)} återstår men bara {_days(left)} finns kvar")
            return QuotaState.AT_RISK
        if last_feasible is not None:
            until = left - remaining + 1  # available days from today to the last feasible day, both included
            if until <= thresholds.critical_window(available):
                when = "i dag" if last_feasible == today else date_sv(last_feasible)
                reasons.append(f"sista dagen då kvoten kan nås är {when}")
                return QuotaState.AT_RISK
        if remaining >= left * thresholds.risk_rate:
            reasons.append(f"{_times(remaining)} återstår på {_days(left)}")
            return QuotaState.AT_RISK
    if available and required:
        gone_share = gone / available
        if count / required < gone_share - thresholds.pace_slack:
            reasons.append(
                f"{round(100 * gone_share)} % av periodens möjliga dagar har gått, {count} av {required} är gjorda"
            )
            return QuotaState.BEHIND
    return QuotaState.ON_TRACK


@functools.lru_cache(maxsize=1024)
def _lov_days(school: SchoolCalendar) -> DaySet:
    """Every weekday ``school`` calls lov, lovdag or studiedag: ``is_lov`` is False outside
    its first..last day and its explicit breaks, so that range holds them all."""
    first = min([school.first_day, *(b.start for b in school.breaks)])
    last = max([school.last_day, *(b.end for b in school.breaks)])
    out: list[int] = []
    for ordinal in range(first.toordinal(), last.toordinal() + 1):  # bounded by the calendar
        day = dt.date.fromordinal(ordinal)
        if day.weekday() < _SATURDAY and school.is_lov(day):
            out.append(ordinal)
    return DaySet(tuple(out))


@functools.lru_cache(maxsize=4096)
def _date_words(day: dt.date) -> str:
    """``date_sv``, remembered: the same period ends recur in every activity."""
    return date_sv(day)


def _within(days: Iterable[dt.date], start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    """``days`` from ``start`` to ``end`` (inclusive), sorted."""
    out = [d for d in days if start <= d <= end]
    out.sort()
    return tuple(out)


def _times(n: int) -> str:
    return f"{n} {'tillfälle' if n == 1 else 'tillfällen'}"


def _days(n: int) -> str:
    return f"{n} {'möjlig dag' if n == 1 else 'möjliga dagar'}"


def evaluate(
    plan: Plan,
    inputs: Iterable[ActivityPlanInput],
    *,
    completions: Mapping[tuple[str, str], Iterable[dt.date]],
    today: dt.date,
    work: WorkCalendar | None = None,
    school: SchoolCalendar | None = None,
    planned: Mapping[tuple[str, str, str], Iterable[dt.date]] | None = None,
    thresholds: QuotaThresholds = DEFAULT_THRESHOLDS,
    days: Mapping[str, DaySet] | None = None,
    lov: DaySet | None = None,
) -> QuotaReport:
    """Every quota of ``plan`` as of ``today`` (see the module docstring).

    ``inputs``: the activities the plan was made from (for school-bound and weekend
    days). ``completions``: days done per ``(activity, entity)`` (entity ``""`` when
    none), counting completions only. ``work``/``school``: the calendars the plan was
    made with. ``planned``: planned days per ``(activity, entity, period_key)`` (what
    the feed shows); default the plan's occurrences. Statuses come sorted warnings
    first (``QuotaStatus.sort_key``); untracked activities in plan order.

    ``days``/``lov``: the day sets worked out before (a stored plan's): per activity key
    its available days (``DaySet.for_activity``), and the school's lov weekdays
    (``DaySet.lov``; None when there is no school calendar). What is missing is made from
    ``work``/``school``, so ``work`` is needed unless ``days`` covers every activity
    and ``lov`` is given or ``school`` is None.
    """
    by_key = {item.key: item for item in inputs}
    done_sets = {key: DaySet.of(days) for key, days in completions.items()}
    statuses: list[QuotaStatus] = []
    untracked: list[Untracked] = []
    settled_of: dict[int, _Settled] = {}  # by the identity of the day set: shared by the activities using it
    for activity in plan.activities:
        if activity.unscheduled is not None:
            reason = activity.unscheduled.reason
            untracked.append(
                Untracked(activity=activity.key, reason=reason.value, message_sv=activity.unscheduled.message_sv)
            )
            continue
        if not activity.periods:
            message = "; ".join(p.message_sv for p in activity.problems) or "inga perioder att följa upp"
            untracked.append(Untracked(activity=activity.key, reason="problem", message_sv=message))
            continue
        item = by_key.get(activity.key)
        if item is None:
            raise RuleValueError(f"activity {activity.key!r} is in the plan but not in the inputs")
        found = days.get(activity.key) if days is not None else None
        if found is None:
            if work is None:
                raise RuleValueError(f"no available days given for {activity.key!r}, and no work calendar")
            found = DaySet.for_activity(item, plan.window, work=work, school=school)
        if lov is None and school is not None:
            lov = _lov_days(school)
        lov_school = lov if item.school_bound else None
        school_bound = lov_school is not None
        activity_days = found
        settled = settled_of.get(id(activity_days))
        if settled is None:
            settled = settled_of[id(activity_days)] = _Settled(activity_days, today)
        settled_status = settled.status
        by_entity: dict[str, list[PeriodPlan]] = {}
        for period in activity.periods:
            by_entity.setdefault(period.entity, []).append(period)
        for entity, periods in by_entity.items():
            done = done_sets.get((activity.key, entity), _EMPTY)
            if periods[0].average:
                statuses.append(
                    _evaluate_average(
                        periods, done=done, days=activity_days, today=today, lov=lov_school,
                        planned=planned, thresholds=thresholds,
                    )
                )  # fmt: skip
                continue
            for period in periods:
                span = period.span
                if today > span.end:  # most periods are over or still to come
                    statuses.append(settled_status(period, done, None, school_bound))
                    continue
                wanted = planned.get((activity.key, entity, span.key), ()) if planned is not None else None
                if today < span.start:
                    statuses.append(settled_status(period, done, wanted, school_bound))
                    continue
                statuses.append(
                    _evaluate(
                        activity=period.activity, entity=period.entity, span=span, required=period.required,
                        share=period.share, average=period.average, done=done, days=activity_days, today=today,
                        planned=[o.day for o in period.occurrences] if wanted is None else wanted, lov=lov_school,
                        thresholds=thresholds,
                        problem=period.problem.message_sv if period.problem is not None else None,
                    )
                )  # fmt: skip
    statuses.sort(key=QuotaStatus.sort_key)
    return QuotaReport(today=today, statuses=tuple(statuses), untracked=tuple(untracked))


class _Settled:
    """``_evaluate`` for the periods of one activity that are over or still to come, with
    what the entities share (available days, last feasible day) worked out once a span.

    The same numbers, state and reasons as ``_evaluate``'s first branch; the bulk of a
    national evaluation goes through here (tests compare it with ``evaluate_period``).
    """

    __slots__ = ("_days", "_last", "_spans", "_today", "_today_ordinal")

    def __init__(self, days: DaySet, today: dt.date) -> None:
        self._days = days
        self._today = today
        self._today_ordinal = today.toordinal()
        # per span (by identity: the plan holds the spans, which its periods share):
        # first and last day as ordinals, available days, the end in words
        self._spans: dict[int, tuple[int, int, int, str]] = {}
        self._last: dict[tuple[int, int], dt.date | None] = {}

    def status(
        self, period: PeriodPlan, done: DaySet, planned: Iterable[dt.date] | None, school_bound: bool
    ) -> QuotaStatus:
        """The status of ``period`` (over, or not begun) given its days done and planned."""
        span, required = period.span, period.required
        found = self._spans.get(id(span))
        if found is None:
            first, last = span.start.toordinal(), span.end.toordinal()
            ordinals = self._days.ordinals
            available = bisect.bisect_right(ordinals, last) - bisect.bisect_left(ordinals, first)
            found = self._spans[id(span)] = (first, last, available, _date_words(span.end))
        first, last, available, end_sv = found
        reasons: tuple[str, ...] = ()
        last_feasible = None
        planned_left: tuple[dt.date, ...] = ()
        if self._today_ordinal > last:
            done_days = done.ordinals
            count = bisect.bisect_right(done_days, last) - bisect.bisect_left(done_days, first) if done_days else 0
            if count >= required:
                state = QuotaState.FULFILLED
                if required == 0:
                    reasons = ("inget krävs i perioden (inga möjliga dagar)" if available == 0 else "inget krävs",)
            else:
                state = QuotaState.MISSED
                reasons = (f"perioden slutade {end_sv} med {count} av {required}",)
            gone, left = available, 0
        else:
            count = 0  # nothing done after today counts
            state = QuotaState.UPCOMING
            if required:
                key = (id(span), required)
                if key in self._last:
                    last_feasible = self._last[key]
                else:
                    last_feasible = self._last[key] = self._days.nth_back(span.end, required, floor=span.start)
            if planned is None:
                planned = [o.day for o in period.occurrences]
            if planned:
                planned_left = _within(planned, span.start, span.end)
            gone, left = 0, available
        return _new_status(
            period.activity, period.entity, span, self._today, state, required, count, available, gone, left,
            last_feasible, planned_left, period.share, period.average, school_bound, 0, reasons,
            period.problem.message_sv if period.problem is not None else None,
        )  # fmt: skip


def _evaluate_average(
    periods: Sequence[PeriodPlan],
    *,
    done: DaySet,
    days: DaySet,
    today: dt.date,
    lov: DaySet | None,
    planned: Mapping[tuple[str, str, str], Iterable[dt.date]] | None,
    thresholds: QuotaThresholds,
) -> QuotaStatus:
    """One status over every period of an average quota (module docstring, "Averages")."""
    first, last = periods[0], periods[-1]
    span = PeriodSpan(
        key=f"{first.span.key}..{last.span.key}",
        label=f"i snitt {date_sv(first.span.start)} – {date_sv(last.span.end)}",
        unit=Unit.DAY,
        index=first.span.start.toordinal(),
        start=first.span.start,
        end=last.span.end,
        full_start=first.span.start,
        full_end=last.span.end,
    )
    if planned is None:
        wanted: list[dt.date] = [o.day for p in periods for o in p.occurrences]
    else:
        wanted = [d for p in periods for d in planned.get((p.activity, p.entity, p.span.key), ())]
    problems = [p.problem.message_sv for p in periods if p.problem is not None]
    return _evaluate(
        activity=first.activity,
        entity=first.entity,
        span=span,
        required=sum(p.required for p in periods),
        share=Fraction(1),
        average=True,
        done=done,
        days=days,
        today=today,
        planned=wanted,
        lov=lov,
        thresholds=thresholds,
        problem=problems[0] if problems else None,
    )


_new_status = positional_constructor(QuotaStatus)


# -- words --------------------------------------------------------------------------------------
def _time_left(status: QuotaStatus) -> str:
    days = (status.span.end - status.today).days + 1
    text = f"{days // 7} veckor kvar" if days >= 14 else f"{days} {'dag' if days == 1 else 'dagar'} kvar"
    lov = status.lov_days_left
    if lov >= 5:
        weeks = round(lov / 5)
        text += f" varav {weeks} {'lovvecka' if weeks == 1 else 'lovveckor'}"
    elif lov:
        text += f" varav {lov} {'lovdag' if lov == 1 else 'lovdagar'}"
    noun = ("skoldag", "skoldagar") if status.school_bound else ("möjlig dag", "möjliga dagar")
    return f"{text} ({status.left} {noun[0] if status.left == 1 else noun[1]})"


def summary_sv(status: QuotaStatus, *, title: str, entity_name: str | None = None) -> str:
    """One Swedish line: "Informationskväll, Nyhemsskolan, höstterminen 2025: 0 av 1, 3 veckor
    kvar varav 1 lovvecka (10 skoldagar)".

    ``title``/``entity_name`` are the activity's and entity's names as people know
    them (``rules`` only has keys). Time left is counted from the status's ``today``.
    """
    where = ", ".join(part for part in (title, entity_name) if part)
    head = f"{where}, {status.span.label}"
    if status.average and not status.span.label.startswith("i snitt"):
        head += " (i snitt)"
    state = status.state
    if state is QuotaState.UPCOMING:
        need = "inget krävs" if status.required == 0 else f"{_times(status.required)} krävs"
        return f"{head}: {need}, börjar {date_sv(status.span.start)}"
    if status.required == 0:
        return f"{head}: inget krävs"
    count = f"{status.done} av {status.required}"
    if not status.running:
        return f"{head}: {count}, slutade {date_sv(status.span.end)}"
    if state is QuotaState.FULFILLED:
        return f"{head}: {count}, uppfyllt"
    return f"{head}: {count}, {_time_left(status)}"

"""Where every promised quota stands: database rows → planner inputs → ``rules.quota``.

``evaluate_promises(session_or_engine, today=..., promise=None, unit=None)`` is the one
entry point the dashboard, ``lofte status`` and the reminder job share:

1. Read the promises (one by ``slug``, or all), their activities and entities (not
   retired), their units, the completions that count (``undone_at IS NULL``) and the
   planned occurrences from ``today`` on (``planned``/``moved``: what the feeds show).
2. Rebuild each promise's planner inputs from the rows, the way ``scheduler.planning``
   builds them from a file (``plan_inputs_from_rows``): the rule from
   ``Activity.rule`` (``Rule.from_json``), weekdays, time, duration and school-bound
   from ``Activity.preferences``, the entities of the activity's ``entity_kind``, the
   school calendar from ``Promise.school_calendar`` (migration 0003).
3. Plan the validity (``rules.planner.plan``) and evaluate every quota
   (``rules.quota.evaluate``), as of ``today``.

Planning is the expensive step, and its result depends only on those rows (not on
completions, nor on ``today``), so plans are kept in a small in-process LRU cache
keyed by everything the planner reads (``PLAN_CACHE_SIZE`` promises). A long-running
process (the web app, the scheduler) re-plans a promise only when it was reloaded.

Stored plans
------------
``lofte load`` also stores what evaluation needs of the plan (``store_plan``, table
``promise_plan``, migration 0006), in the load's transaction: per activity its spans
and available days (``DaySet`` runs), per entity and span the required count, share,
available days and problem, and the school's lov weekdays (``_encode_plan``, format 6).
``plan_key`` (SHA-256 over the rows the planner reads, ``PLANNING_VERSION`` and the
body's format) says what it was made from; evaluation of a whole promise (no ``unit``
filter) uses a stored plan whose key matches the rows it read, so a fresh process
(``lofte status``, ``lofte remind``) neither plans nor parses a school calendar. A
missing, stale or unreadable row (a promise loaded before 0006 or with an older format,
rows changed by other means, a new planner) is planned as before. The stored plan gives
the same statuses as planning does, and decodes to the same periods, day sets and notes
(tested).

Speed: every quota of the national data set (78 000) is read and evaluated in about
1.5 s, from stored plans or cached ones (``bench/bench_quota.py``; 4.2 s and 2.2 s
before): the cyclic garbage collector is paused while
an evaluation runs (``gc_paused``), spans and day sets are shared between promises,
and statuses are made with positional constructors.

The report lists every evaluated quota (past, running and coming periods), warnings
first (i fara, missad, efter), then the rest; ``StatusReport.relevant()`` narrows it
to what a person acts on now (the running period of each quota, and periods missed in
the last ``MISSED_LOOKBACK_DAYS`` days).

A promise stored before migration 0003 has no school calendar; it is then estimated
from its län (as a promise file without one is) and the report says so in ``notes``:
``lofte load`` stores it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import groupby
from operator import itemgetter
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from rules.errors import CalendarFileError, RuleError
from rules.holidays_se import WorkCalendar
from rules.model import Kind, Rule, Window
from rules.model import Unit as PeriodUnit
from rules.periods import PeriodSpan
from rules.planner import (
    ActivityPlan,
    ActivityPlanInput,
    PeriodPlan,
    Plan,
    PlanProblem,
    ProblemCode,
    Unscheduled,
    UnscheduledReason,
    plan,
)
from rules.quota import (
    DEFAULT_THRESHOLDS,
    STATE_ORDER,
    DaySet,
    QuotaState,
    QuotaStatus,
    QuotaThresholds,
    Untracked,
    evaluate,
    positional_constructor,
    summary_sv,
)
from rules.school import SchoolCalendar, Term, estimated_school_calendar, parse_school_calendar
from scheduler.db import Activity, ActivityPartner, Completion, Entity, Occurrence, OccurrenceStatus, Promise, Unit
from scheduler.db.models import PromisePlan

__all__ = [
    "MISSED_LOOKBACK_DAYS",
    "PLAN_CACHE_SIZE",
    "QuotaItem",
    "StatusInputs",
    "StatusLookupError",
    "StatusReport",
    "UntrackedItem",
    "clear_plan_cache",
    "evaluate_inputs",
    "evaluate_promises",
    "gc_paused",
    "plan_inputs_from_rows",
    "plan_key",
    "read_inputs",
    "store_plan",
]

#: ``StatusReport.relevant()`` keeps missed periods that ended at most this many days ago.
MISSED_LOOKBACK_DAYS = 31
#: How many promises' plans the in-process cache keeps.
PLAN_CACHE_SIZE = 1024


class StatusLookupError(LookupError):
    """A promise slug or unit that names nothing; ``message_sv`` says what is known."""

    def __init__(self, kind: str, value: str, known: Sequence[str]) -> None:
        self.kind, self.value, self.known = kind, value, tuple(known)
        shown = ", ".join(self.known[:20]) + (" …" if len(self.known) > 20 else "")
        noun = {"promise": "löfte", "unit": "enhet"}[kind]
        self.message_sv = f"okänt {noun} '{value}'" if kind == "promise" else f"okänd {noun} '{value}'"
        self.message_sv += f" (kända: {shown})" if self.known else " (databasen har inga)"
        super().__init__(f"unknown {kind} {value!r}")


# -- the report -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class QuotaItem:
    """One quota with the names people know it by, and its Swedish summary line."""

    promise: str
    promise_title: str
    kommun: str
    activity_title: str
    entity_name: str | None
    unit: str
    unit_name: str
    status: QuotaStatus

    @property
    def summary(self) -> str:
        """The Swedish one-line summary (``rules.quota.summary_sv``), made when asked for."""
        return summary_sv(self.status, title=self.activity_title, entity_name=self.entity_name)

    def to_json(self) -> dict[str, object]:
        return {
            "promise": self.promise,
            "kommun": self.kommun,
            "activity_title": self.activity_title,
            "entity_name": self.entity_name,
            "unit": self.unit,
            "unit_name": self.unit_name,
            **self.status.to_json(),
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class UntrackedItem:
    """An activity without a count to follow ("följs inte upp med antal")."""

    promise: str
    kommun: str
    activity_title: str
    unit: str
    unit_name: str
    untracked: Untracked

    @property
    def summary(self) -> str:
        return f"{self.activity_title}: {Untracked.MARKER_SV} ({self.untracked.message_sv})"

    def to_json(self) -> dict[str, object]:
        return {
            "promise": self.promise,
            "kommun": self.kommun,
            "activity_title": self.activity_title,
            "unit": self.unit,
            "unit_name": self.unit_name,
            **self.untracked.to_json(),
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReport:
    """Every quota of the chosen promises as of ``today``, warnings first.

    ``notes``: Swedish remarks about the evaluation itself (an estimated school
    calendar, a rule that could not be read).
    """

    today: dt.date
    items: tuple[QuotaItem, ...]
    untracked: tuple[UntrackedItem, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def warnings(self) -> tuple[QuotaItem, ...]:
        return tuple(i for i in self.items if i.status.is_warning)

    def relevant(self, *, missed_within: int = MISSED_LOOKBACK_DAYS) -> tuple[QuotaItem, ...]:
        """What to act on now, warnings first: per activity × entity its running period
        (before the validity: the first; after it, or between rule windows: the latest
        one begun), plus the periods missed in the last ``missed_within`` days. Nothing that
        ended more than ``missed_within`` days ago is shown."""
        chosen: dict[tuple[str, str, str], QuotaItem] = {}
        keep: list[QuotaItem] = []
        since = self.today - dt.timedelta(days=missed_within)
        for item in sorted(self.items, key=lambda i: i.status.span.start):
            status = item.status
            key = (item.promise, status.activity, status.entity)
            if status.span.start <= self.today or key not in chosen:
                chosen[key] = item  # the latest period begun by today, else the first one
            if status.state is QuotaState.MISSED and status.span.end >= since and status.span.end < self.today:
                keep.append(item)
        # a promise whose validity ended long ago has nothing to act on
        picked = {id(i) for i in (*chosen.values(), *keep) if i.status.span.end >= since}
        return tuple(i for i in self.items if id(i) in picked)

    def to_json(self, *, items: Iterable[QuotaItem] | None = None) -> dict[str, object]:
        """``{"today", "warnings", "quotas", "untracked", "notes"}``; ``items`` default all."""
        shown = tuple(self.items if items is None else items)
        return {
            "today": self.today.isoformat(),
            "warnings": sum(1 for i in shown if i.status.is_warning),
            "quotas": [i.to_json() for i in shown],
            "untracked": [u.to_json() for u in self.untracked],
            "notes": list(self.notes),
        }


_new_item = positional_constructor(QuotaItem)
_RANK = {state: i for i, state in enumerate(STATE_ORDER)}


# -- rows → planner inputs ----------------------------------------------------------------------------
def _time(value: Any) -> dt.time | None:
    if not value:
        return None
    return dt.time.fromisoformat(str(value))


def plan_inputs_from_rows(
    activities: Iterable[Activity], entities: Iterable[Entity], *, tz: str
) -> list[ActivityPlanInput]:
    """Planner inputs from stored rows, as ``scheduler.planning.plan_inputs`` makes them from
    a file: the entities of each activity's ``entity_kind`` (in id order), preferences from
    ``Activity.preferences``. Raises ``RuleError`` for a rule that cannot be read."""
    by_kind = _entities_by_kind(entities)
    return [_plan_input(activity, by_kind, tz=tz) for activity in activities]


def _entities_by_kind(entities: Iterable[Entity]) -> dict[str, tuple[str, ...]]:
    by_kind: dict[str, list[str]] = defaultdict(list)
    for entity in sorted(entities, key=lambda e: e.id or 0):
        by_kind[entity.kind].append(entity.key)
    return {kind: tuple(keys) for kind, keys in by_kind.items()}


def _plan_input(activity: Activity, by_kind: dict[str, tuple[str, ...]], *, tz: str) -> ActivityPlanInput:
    prefs = activity.preferences or {}
    return ActivityPlanInput(
        key=activity.key,
        rule=Rule.from_json(activity.rule),
        entities=by_kind.get(activity.entity_kind, ()) if activity.entity_kind else (),
        weekdays=tuple(prefs.get("weekdays") or ()),
        time=_time(prefs.get("time")),
        duration_minutes=prefs.get("duration_minutes"),
        school_bound=bool(prefs.get("school_bound", False)),
        tracked=activity.tracked,
        tz=tz,
    )


@dataclass(frozen=True, slots=True)
class _Planned:
    """A promise's plan and what evaluating it needs besides the rows: the planner inputs,
    per activity key its available days (``DaySet.for_activity``), the school's lov
    weekdays (None without a school calendar) and the notes about the evaluation (of
    which ``calendar_notes`` are about the school calendar)."""

    plan: Plan
    inputs: tuple[ActivityPlanInput, ...]
    days: dict[str, DaySet]
    lov: DaySet | None
    notes: tuple[str, ...]
    calendar_notes: tuple[str, ...] = ()


_CACHE: OrderedDict[str, _Planned] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def clear_plan_cache() -> None:
    """Forget every cached plan (tests and benchmarks measuring a cold start)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _school_calendar(promise: Promise) -> tuple[SchoolCalendar | None, tuple[str, ...]]:
    if promise.school_calendar:
        try:
            return parse_school_calendar(promise.school_calendar, source=f"{promise.slug} (databasen)"), ()
        except CalendarFileError as exc:
            note = f"{promise.slug}: den sparade skolkalendern kan inte läsas ({exc}); uppskattad i stället"
    else:
        note = (
            f"{promise.slug}: ingen skolkalender sparad (inläst före version 0003): terminer och lov uppskattas "
            f"från {promise.lan} län. Läs in löftesfilen igen med lofte load."
        )
    start, end = promise.valid_from, promise.valid_until
    first = start.year if start.month >= 7 else start.year - 1
    last = end.year + 1 if end.month >= 7 else end.year
    try:
        estimated = estimated_school_calendar(kommun=promise.kommun, lan=promise.lan, first_year=first, last_year=last)
    except RuleError:
        return None, (note,)
    return estimated, (note,)


#: The format of ``PromisePlan.body``; part of ``plan_key``, so a new format re-plans.
_BODY_FORMAT = 6


def plan_key(promise: Promise, activities: Iterable[Activity], entities: Iterable[Entity]) -> str:
    """SHA-256 (hex) of everything the plan of ``activities`` is made from: the promise's
    validity, zone, kommun, län and school calendar, each activity's rule and preferences
    (in the given order), the entities (by id) and ``scheduler.loader.PLANNING_VERSION``."""
    from scheduler.loader import PLANNING_VERSION  # noqa: PLC0415 - the loader imports this module

    text = json.dumps(
        [
            PLANNING_VERSION, _BODY_FORMAT, promise.id, promise.valid_from.isoformat(),
            promise.valid_until.isoformat(), promise.tz, promise.kommun, promise.lan, promise.school_calendar,
            [[a.key, a.rule, a.preferences, a.tracked, a.entity_kind] for a in activities],
            sorted([e.id or 0, e.kind, e.key] for e in entities),
        ],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


def _cached(key: str) -> _Planned | None:
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
        return found


def _planned(
    promise: Promise,
    activities: list[Activity],
    entities: list[Entity],
    *,
    key: str | None = None,
    stored: str | None = None,
) -> _Planned:
    """The plan of ``activities`` (cached): from ``stored`` (a ``PromisePlan.body`` made
    for ``key``, which the caller checked) when given, else planned here."""
    if key is None:
        key = plan_key(promise, activities, entities)
    found = _cached(key)
    if found is not None:
        return found
    result = _make_planned(promise, activities, entities, stored=stored)
    with _CACHE_LOCK:
        _CACHE[key] = result
        while len(_CACHE) > PLAN_CACHE_SIZE:
            _CACHE.popitem(last=False)
    return result


def _make_planned(
    promise: Promise, activities: list[Activity], entities: list[Entity], *, stored: str | None = None
) -> _Planned:
    """Plan ``activities``, or decode ``stored`` (then the school calendar is not parsed:
    the stored plan holds the day sets and notes made from it)."""
    inputs: list[ActivityPlanInput] = []
    bad: list[str] = []
    by_kind = _entities_by_kind(entities)
    for activity in activities:
        try:
            inputs.append(_plan_input(activity, by_kind, tz=promise.tz))
        except (RuleError, ValueError, TypeError) as exc:
            bad.append(f"{promise.slug}: aktiviteten {activity.key} kan inte utvärderas: {exc}")
    if stored is not None:
        try:
            made, days, lov, notes = _decode_plan(stored)
        except (ValueError, KeyError, IndexError, TypeError):  # a damaged row: plan instead, never guess
            pass
        else:
            return _Planned(
                plan=made, inputs=tuple(inputs), days=days, lov=lov, notes=(*notes, *bad), calendar_notes=notes
            )
    school, notes = _school_calendar(promise)
    work = school.work if school is not None else WorkCalendar()
    window = Window(start=promise.valid_from, end=promise.valid_until)
    made = plan(inputs, window=window, work=work, school=school)
    days = {item.key: DaySet.for_activity(item, window, work=work, school=school) for item in inputs}
    lov = DaySet.lov(school) if school is not None else None
    return _Planned(plan=made, inputs=tuple(inputs), days=days, lov=lov, notes=(*notes, *bad), calendar_notes=notes)


# -- stored plans ------------------------------------------------------------------------------------
def store_plan(session: Session, promise: Promise) -> PromisePlan:
    """Plan ``promise`` from its stored rows as evaluation would, and store what evaluation
    needs (``PromisePlan``) in the caller's transaction (flushes, never commits)."""
    activities = list(
        session.exec(
            select(Activity)
            .where(Activity.promise_id == promise.id, col(Activity.retired_at).is_(None))
            .order_by(col(Activity.id))
        )
    )
    entities = list(
        session.exec(select(Entity).where(Entity.promise_id == promise.id, col(Entity.retired_at).is_(None)))
    )
    made = _make_planned(promise, activities, entities)
    key, body = plan_key(promise, activities, entities), _encode_plan(made)
    row = session.exec(select(PromisePlan).where(PromisePlan.promise_id == promise.id)).one_or_none()
    if row is None:
        assert promise.id is not None  # noqa: S101 - the loader flushed the promise
        row = PromisePlan(promise_id=promise.id, plan_key=key, body=body)
        session.add(row)
    elif row.plan_key != key or row.body != body:
        row.plan_key, row.body = key, body
    session.flush()
    return row


def _problem_json(problem: PlanProblem | None) -> list[Any] | None:
    if problem is None:
        return None
    return [problem.code.value, problem.activity, problem.entity, problem.period_key, problem.message_sv]


def _problem(data: list[Any] | None) -> PlanProblem | None:
    if data is None:
        return None
    code, activity, entity, period_key, message = data
    return PlanProblem(
        code=ProblemCode(code), activity=activity, entity=entity, period_key=period_key, message_sv=message
    )


def _span_json(s: PeriodSpan) -> list[Any]:
    """``[key, label, unit, index, start, end]``, then ``full_start, full_end, terms`` when
    the span is partial or has terms."""
    out: list[Any] = [s.key, s.label, s.unit.value, s.index, s.start.toordinal(), s.end.toordinal()]
    if s.partial or s.terms:
        terms = [[t.kind.value, t.start.toordinal(), t.end.toordinal(), t.estimated] for t in s.terms]
        out += [s.full_start.toordinal(), s.full_end.toordinal(), terms]
    return out


def _encode_plan(made: _Planned) -> str:
    """What ``rules.quota.evaluate`` reads of ``made``, as compact JSON (format 6):

    * ``window``: the validity as ordinals; ``spans``: every period span once
      (``_span_json``); ``days``: every distinct available-day set once, as runs
      (``DaySet.runs``), these two lists each as JSON text of their own (many promises
      store the same text, which decoding then reads once); ``lov``: the school's lov weekdays as runs (null without a
      school calendar); ``notes``: the notes about the school calendar;
    * per activity: ``key``, ``unscheduled``, ``problems``, ``entities`` (once),
      ``days`` (index into ``days``, null when none were made) and ``periods``, one flat
      list of ``span, entity, required, available`` (indices and numbers) per period,
      with ``extra`` (by the period's index) holding ``share``, ``average`` and
      ``problem`` where they are not 1, false and none.

    Occurrences and the planner's last feasible days are left out: evaluation takes the
    planned days from the occurrence rows and works out the last feasible day itself."""
    activities: list[dict[str, Any]] = []
    spans: dict[PeriodSpan, int] = {}
    day_sets: dict[tuple[int, ...], int] = {}
    for activity in made.plan.activities:
        entities: dict[str, int] = {}
        periods: list[int] = []
        extras: dict[str, dict[str, Any]] = {}
        for i, p in enumerate(activity.periods):
            periods += [spans.setdefault(p.span, len(spans)), entities.setdefault(p.entity, len(entities))]
            periods += [p.required, p.available]
            extra: dict[str, Any] = {}
            if p.share != 1:
                extra["share"] = str(p.share)
            if p.average:
                extra["average"] = True
            if p.problem is not None:
                extra["problem"] = _problem_json(p.problem)
            if extra:
                extras[str(i)] = extra
        days = made.days.get(activity.key)
        activities.append(
            {
                "key": activity.key,
                "unscheduled": [activity.unscheduled.kind.value, activity.unscheduled.reason.value]
                if activity.unscheduled is not None
                else None,
                "problems": [_problem_json(x) for x in activity.problems],
                "entities": list(entities),
                "days": day_sets.setdefault(days.ordinals, len(day_sets)) if days is not None else None,
                "periods": periods,
                "extra": extras,
            }
        )
    body = {
        "window": [made.plan.window.start.toordinal(), made.plan.window.end.toordinal()],
        "spans": _compact([_span_json(s) for s in spans]),
        "days": _compact([DaySet(ordinals).runs() for ordinals in day_sets]),
        "lov": made.lov.runs() if made.lov is not None else None,
        "notes": list(made.calendar_notes),
        "activities": activities,
    }
    return _compact(body)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


#: Spans, terms and day sets decoded before, shared by every stored plan that has them
#: (most promises of one validity share their months, weeks and working days); each
#: cleared when it grows large.
_SPANS: dict[tuple[Any, ...], PeriodSpan] = {}
_SPANS_MAX = 100_000
_DAY_SETS: dict[tuple[int, ...], DaySet] = {}
_DAY_SETS_MAX = 10_000
_ONE = Fraction(1)
_new_period = positional_constructor(PeriodPlan)


def _span(data: list[Any]) -> PeriodSpan:
    key = (*data[:8], *(tuple(t) for t in data[8])) if len(data) > 6 else tuple(data)
    found = _SPANS.get(key)
    if found is None:
        if len(_SPANS) >= _SPANS_MAX:
            _SPANS.clear()
        day = dt.date.fromordinal
        k, label, unit, index, start, end = data[:6]
        full_start, full_end, terms = data[6:] if len(data) > 6 else (start, end, [])
        found = _SPANS[key] = PeriodSpan(
            key=k, label=label, unit=PeriodUnit(unit), index=index, start=day(start), end=day(end),
            full_start=day(full_start), full_end=day(full_end),
            terms=tuple(Term(kind=t[0], start=day(t[1]), end=day(t[2]), estimated=t[3]) for t in terms),
        )  # fmt: skip
    return found


#: Whole span and day-set lists by their JSON text: promises of one validity, län and
#: activities store the same text, which is then read once.
_SPAN_LISTS: dict[str, list[PeriodSpan]] = {}
_DAY_SET_LISTS: dict[str, list[DaySet]] = {}
_LISTS_MAX = 10_000
T = TypeVar("T")


def _decoded(lists: dict[str, list[T]], text: str, decode: Callable[[Any], T]) -> list[T]:
    """``json.loads(text)`` with ``decode`` applied to each element, read once per distinct text."""
    found = lists.get(text)
    if found is None:
        if len(lists) >= _LISTS_MAX:
            lists.clear()
        found = lists[text] = [decode(data) for data in json.loads(text)]
    return found


def _spans(text: str) -> list[PeriodSpan]:
    return _decoded(_SPAN_LISTS, text, _span)


def _day_sets(text: str) -> list[DaySet]:
    return _decoded(_DAY_SET_LISTS, text, _day_set)


def _day_set(runs: list[int]) -> DaySet:
    key = tuple(runs)
    found = _DAY_SETS.get(key)
    if found is None:
        if len(_DAY_SETS) >= _DAY_SETS_MAX:
            _DAY_SETS.clear()
        found = _DAY_SETS[key] = DaySet.from_runs(runs)
    return found


def _decode_plan(text: str) -> tuple[Plan, dict[str, DaySet], DaySet | None, tuple[str, ...]]:
    """What ``_encode_plan`` wrote: the plan (without occurrences and last feasible days),
    the available days per activity key, the lov weekdays and the school notes."""
    body = json.loads(text)
    day = dt.date.fromordinal
    activities: list[ActivityPlan] = []
    unscheduled: list[Unscheduled] = []
    problems: list[PlanProblem] = []
    spans = _spans(body["spans"])
    day_sets = _day_sets(body["days"])
    days: dict[str, DaySet] = {}
    for a in body["activities"]:
        key = a["key"]
        entities = a["entities"]
        if a["days"] is not None:
            days[key] = day_sets[a["days"]]
        flat, extras = a["periods"], a["extra"]
        periods = []
        for i in range(len(flat) // 4):
            span, entity, required, available = flat[4 * i : 4 * i + 4]
            extra = extras.get(str(i)) if extras else None
            if extra is None:
                share, average, problem = _ONE, False, None
            else:
                share = Fraction(extra["share"]) if "share" in extra else _ONE
                average, problem = extra.get("average", False), _problem(extra.get("problem"))
            periods.append(
                _new_period(key, entities[entity], spans[span], share, required, available, (), None, average, problem)
            )
        skipped = None
        if a["unscheduled"] is not None:
            kind, reason = a["unscheduled"]
            skipped = Unscheduled(activity=key, kind=Kind(kind), reason=UnscheduledReason(reason))
            unscheduled.append(skipped)
        own = tuple(p for p in (_problem(x) for x in a["problems"]) if p is not None)
        problems.extend(own)
        activities.append(ActivityPlan(key=key, periods=tuple(periods), unscheduled=skipped, problems=own))
    window = Window(start=day(body["window"][0]), end=day(body["window"][1]))
    made = Plan(
        window=window, activities=tuple(activities), occurrences=(), problems=tuple(problems),
        unscheduled=tuple(unscheduled),
    )  # fmt: skip
    lov = _day_set(body["lov"]) if body["lov"] is not None else None
    return made, days, lov, tuple(body["notes"])


# -- the collector -----------------------------------------------------------------------------------
_GC_LOCK = threading.Lock()
_GC_PAUSES = 0
_GC_RESUME = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while one evaluation runs.

    An evaluation makes a few hundred thousand small objects (rows, spans, statuses,
    items) that stay alive until it returns, and no garbage cycles of its own; the
    collector, triggered by the allocations, would walk them again and again (a third
    or more of the CPU time on the national set). Reference counting frees everything
    else at once; a cycle made meanwhile is collected when the collector runs again.
    Nested and concurrent evaluations keep it paused until the last one ends; a
    collector that was off before stays off.
    """
    global _GC_PAUSES, _GC_RESUME  # noqa: PLW0603 - one process-wide collector
    with _GC_LOCK:
        if _GC_PAUSES == 0:
            _GC_RESUME = gc.isenabled()
            gc.disable()
        _GC_PAUSES += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_PAUSES -= 1
            if _GC_PAUSES == 0 and _GC_RESUME:
                gc.enable()


# -- the entry point --------------------------------------------------------------------------------------
def _matches_unit(unit: Unit, wanted: str) -> bool:
    folded = wanted.casefold()
    return unit.key.casefold() == folded or unit.name.casefold() == folded


def evaluate_promises(
    session_or_engine: Session | Engine,
    *,
    today: dt.date,
    promise: str | None = None,
    unit: str | None = None,
    thresholds: QuotaThresholds = DEFAULT_THRESHOLDS,
) -> StatusReport:
    """Evaluate every quota of every promise (or of ``promise``, a slug) as of ``today``.

    ``unit``: only activities that unit is responsible for or a partner in (its key or
    name, case-insensitive; a unit of any promise shown). ``today`` is the local date in
    the promises' zone: the caller reads the clock. Unknown ``promise``/``unit`` raise
    ``StatusLookupError``. Reads only; never writes.
    """
    with gc_paused():
        if isinstance(session_or_engine, Session):
            return _evaluate(session_or_engine, today=today, promise=promise, unit=unit, thresholds=thresholds)
        with Session(session_or_engine) as session:
            return _evaluate(session, today=today, promise=promise, unit=unit, thresholds=thresholds)


def _evaluate(
    session: Session, *, today: dt.date, promise: str | None, unit: str | None, thresholds: QuotaThresholds
) -> StatusReport:
    return evaluate_inputs(read_inputs(session, today=today, promise=promise, unit=unit), thresholds=thresholds)


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusInputs:
    """The rows one evaluation reads (``read_inputs``), grouped per promise id."""

    today: dt.date
    promises: list[Promise]
    units: dict[int | None, Unit]
    activities_of: dict[int, list[Activity]]
    entities_of: dict[int, list[Entity]]
    done: dict[int, dict[tuple[str, str], list[dt.date]]]
    planned: dict[int, dict[tuple[str, str, str], list[dt.date]]]
    #: ``plan_key`` of each promise's activities (every one of them: no ``unit`` filter)
    plan_keys: dict[int, str] = field(default_factory=dict)
    #: the stored plans whose key matches, for promises whose plan is not cached
    stored_plans: dict[int, str] = field(default_factory=dict)


_FIRST_TWO, _FIRST_THREE = itemgetter(0, 1), itemgetter(0, 1, 2)
_THIRD, _FOURTH = itemgetter(2), itemgetter(3)


def read_inputs(
    session: Session, *, today: dt.date, promise: str | None = None, unit: str | None = None
) -> StatusInputs:
    """Step 1 of the module docstring: read what ``evaluate_inputs`` needs (no writes)."""
    with gc_paused():
        return _read_inputs(session, today=today, promise=promise, unit=unit)


def _read_inputs(session: Session, *, today: dt.date, promise: str | None, unit: str | None) -> StatusInputs:
    query = select(Promise).order_by(col(Promise.slug))
    if promise is not None:
        query = query.where(Promise.slug == promise)
    promises = list(session.exec(query))
    if promise is not None and not promises:
        raise StatusLookupError("promise", promise, list(session.exec(select(Promise.slug).order_by(Promise.slug))))
    ids = [p.id for p in promises]
    one = ids[0] if len(ids) == 1 else None

    def scoped(statement: Any, column: Any) -> Any:
        return statement.where(column == one) if one is not None else statement

    activities = list(
        session.exec(
            scoped(select(Activity).where(col(Activity.retired_at).is_(None)), Activity.promise_id).order_by(
                col(Activity.id)
            )
        )
    )
    entities = list(session.exec(scoped(select(Entity).where(col(Entity.retired_at).is_(None)), Entity.promise_id)))
    units = {u.id: u for u in session.exec(scoped(select(Unit), Unit.promise_id))}

    if unit is not None:
        wanted_units = {uid for uid, u in units.items() if _matches_unit(u, unit)}
        if not wanted_units:
            raise StatusLookupError("unit", unit, sorted({u.key for u in units.values()}))
        partners = session.exec(
            select(ActivityPartner.activity_id).where(col(ActivityPartner.unit_id).in_(wanted_units))
        ).all()
        with_partner = set(partners)
        activities = [a for a in activities if a.unit_id in wanted_units or a.id in with_partner]

    done: dict[int, dict[tuple[str, str], list[dt.date]]] = defaultdict(lambda: defaultdict(list))
    planned: dict[int, dict[tuple[str, str, str], list[dt.date]]] = defaultdict(lambda: defaultdict(list))
    # ORM attribute reads cost: read each activity's promise and key once
    by_activity = {a.id: (a.promise_id, a.key) for a in activities}
    entity_keys: dict[int | None, str] = {e.id: e.key for e in entities}
    entity_keys[None] = ""

    def of_activities(statement: Any, column: Any) -> Any:
        # one promise: its activities' ids (an index look-up); all: every row, no join
        return statement.where(col(column).in_(list(by_activity))) if one is not None else statement

    rows = session.execute(
        of_activities(
            sa.select(col(Completion.activity_id), col(Completion.entity_id), col(Completion.done_on)).where(
                col(Completion.undone_at).is_(None)
            ),
            Completion.activity_id,
        ).order_by(col(Completion.activity_id), col(Completion.entity_id))
    )
    # rows come grouped by activity × entity: one look-up a group, the days taken in C
    for (activity_id, entity_id), group in groupby(rows, key=_FIRST_TWO):
        found = by_activity.get(activity_id)
        if found is not None:
            done[found[0]][(found[1], entity_keys.get(entity_id, ""))].extend(map(_THIRD, group))

    rows = session.execute(
        of_activities(
            sa.select(
                col(Occurrence.activity_id), col(Occurrence.entity_id), col(Occurrence.period_key), col(Occurrence.day)
            ).where(
                col(Occurrence.day) >= today,
                col(Occurrence.slot) >= 0,
                col(Occurrence.status).in_([OccurrenceStatus.PLANNED, OccurrenceStatus.MOVED]),
            ),
            Occurrence.activity_id,
        ).order_by(col(Occurrence.activity_id), col(Occurrence.entity_id), col(Occurrence.period_key))
    )
    for (activity_id, entity_id, period_key), group in groupby(rows, key=_FIRST_THREE):
        found = by_activity.get(activity_id)
        if found is not None:
            planned[found[0]][(found[1], entity_keys.get(entity_id, ""), period_key)].extend(map(_FOURTH, group))

    activities_of: dict[int, list[Activity]] = defaultdict(list)
    for activity in activities:
        activities_of[activity.promise_id].append(activity)
    entities_of: dict[int, list[Entity]] = defaultdict(list)
    for entity in entities:
        entities_of[entity.promise_id].append(entity)
    plan_keys: dict[int, str] = {}
    stored: dict[int, str] = {}
    if unit is None:  # every activity of each promise: its stored plan applies
        for row in promises:
            assert row.id is not None  # noqa: S101 - rows read from the database have ids
            if activities_of.get(row.id):
                plan_keys[row.id] = plan_key(row, activities_of[row.id], entities_of.get(row.id, []))
        missing = [pid for pid, key in plan_keys.items() if _cached(key) is None]
        if missing:
            bodies = session.execute(
                sa.select(col(PromisePlan.promise_id), col(PromisePlan.plan_key), col(PromisePlan.body)).where(
                    col(PromisePlan.promise_id).in_(missing)
                )
            )
            stored = {pid: body for pid, key, body in bodies if plan_keys.get(pid) == key}
    return StatusInputs(
        today=today, promises=promises, units=units, activities_of=activities_of, entities_of=entities_of,
        done=done, planned=planned, plan_keys=plan_keys, stored_plans=stored,
    )  # fmt: skip


def _item_order(item: QuotaItem) -> tuple[object, ...]:
    status = item.status
    return (_RANK[status.state], status.span.end, item.promise, status.activity, status.entity,
            status.span.key)  # fmt: skip


def evaluate_inputs(inputs: StatusInputs, *, thresholds: QuotaThresholds = DEFAULT_THRESHOLDS) -> StatusReport:
    """Steps 2–3 of the module docstring: plan (cached) and evaluate rows already read."""
    with gc_paused():
        return _evaluate_inputs(inputs, thresholds=thresholds)


def _evaluate_inputs(inputs: StatusInputs, *, thresholds: QuotaThresholds) -> StatusReport:
    today, units, done, planned = inputs.today, inputs.units, inputs.done, inputs.planned
    activities_of, entities_of = inputs.activities_of, inputs.entities_of
    items: list[QuotaItem] = []
    untracked: list[UntrackedItem] = []
    notes: list[str] = []
    for row in inputs.promises:
        assert row.id is not None  # noqa: S101 - rows read from the database have ids
        mine = activities_of.get(row.id, [])
        if not mine:
            continue
        planned_promise = _planned(
            row, mine, entities_of.get(row.id, []), key=inputs.plan_keys.get(row.id),
            stored=inputs.stored_plans.get(row.id),
        )  # fmt: skip
        notes.extend(planned_promise.notes)
        report = evaluate(
            planned_promise.plan,
            planned_promise.inputs,
            completions=done.get(row.id, {}),
            today=today,
            days=planned_promise.days,
            lov=planned_promise.lov,
            planned=planned.get(row.id, {}),
            thresholds=thresholds,
        )
        by_key = {a.key: a for a in mine}
        names = {e.key: e.name for e in entities_of.get(row.id, [])}
        slug, title, kommun = row.slug, row.title, row.kommun
        # ORM attribute reads cost; read each activity's names once
        shown = {a.key: (a.title, units[a.unit_id].key, units[a.unit_id].name) for a in mine}
        for status in report.statuses:
            activity_title, unit_key, unit_name = shown[status.activity]
            entity_name = names.get(status.entity) if status.entity else None
            items.append(_new_item(slug, title, kommun, activity_title, entity_name, unit_key, unit_name, status))
        for skipped in report.untracked:
            activity = by_key[skipped.activity]
            responsible = units[activity.unit_id]
            untracked.append(
                UntrackedItem(
                    promise=row.slug,
                    kommun=row.kommun,
                    activity_title=activity.title,
                    unit=responsible.key,
                    unit_name=responsible.name,
                    untracked=skipped,
                )
            )
    items.sort(key=_item_order)
    return StatusReport(today=today, items=tuple(items), untracked=tuple(untracked), notes=tuple(notes))

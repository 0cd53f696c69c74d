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

The report lists every evaluated quota (past, running and coming periods), warnings
first (i fara, missad, efter), then the rest; ``StatusReport.relevant()`` narrows it
to what a person acts on now (the running period of each quota, and periods missed in
the last ``MISSED_LOOKBACK_DAYS`` days).

A promise stored before migration 0003 has no school calendar; it is then estimated
from its län (as a promise file without one is) and the report says so in ``notes``:
``lofte load`` stores it again.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from rules.errors import CalendarFileError, RuleError
from rules.holidays_se import WorkCalendar
from rules.model import Rule, Window
from rules.planner import ActivityPlanInput, Plan, plan
from rules.quota import DEFAULT_THRESHOLDS, QuotaState, QuotaStatus, QuotaThresholds, Untracked, evaluate, summary_sv
from rules.school import SchoolCalendar, estimated_school_calendar, parse_school_calendar
from scheduler.db import Activity, ActivityPartner, Completion, Entity, Occurrence, OccurrenceStatus, Promise, Unit

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
    "plan_inputs_from_rows",
    "read_inputs",
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
    by_kind: dict[str, list[str]] = defaultdict(list)
    for entity in sorted(entities, key=lambda e: e.id or 0):
        by_kind[entity.kind].append(entity.key)
    out: list[ActivityPlanInput] = []
    for activity in activities:
        prefs = activity.preferences or {}
        out.append(
            ActivityPlanInput(
                key=activity.key,
                rule=Rule.from_json(activity.rule),
                entities=tuple(by_kind.get(activity.entity_kind, ())) if activity.entity_kind else (),
                weekdays=tuple(prefs.get("weekdays") or ()),
                time=_time(prefs.get("time")),
                duration_minutes=prefs.get("duration_minutes"),
                school_bound=bool(prefs.get("school_bound", False)),
                tracked=activity.tracked,
                tz=tz,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class _Planned:
    plan: Plan
    inputs: tuple[ActivityPlanInput, ...]
    work: WorkCalendar
    school: SchoolCalendar | None
    notes: tuple[str, ...]


_CACHE: OrderedDict[tuple[Any, ...], _Planned] = OrderedDict()
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


def _planned(promise: Promise, activities: list[Activity], entities: list[Entity]) -> _Planned:
    key = (
        promise.id,
        promise.valid_from,
        promise.valid_until,
        promise.tz,
        promise.kommun,
        promise.lan,
        promise.school_calendar,
        tuple(
            (a.key, json.dumps(a.rule, sort_keys=True), json.dumps(a.preferences, sort_keys=True), a.tracked,
             a.entity_kind)
            for a in activities
        ),
        tuple((e.id, e.kind, e.key) for e in entities),
    )  # fmt: skip
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    school, notes = _school_calendar(promise)
    work = school.work if school is not None else WorkCalendar()
    inputs: list[ActivityPlanInput] = []
    bad: list[str] = []
    for activity in activities:
        try:
            inputs.extend(plan_inputs_from_rows([activity], entities, tz=promise.tz))
        except (RuleError, ValueError, TypeError) as exc:
            bad.append(f"{promise.slug}: aktiviteten {activity.key} kan inte utvärderas: {exc}")
    window = Window(start=promise.valid_from, end=promise.valid_until)
    result = _Planned(
        plan=plan(inputs, window=window, work=work, school=school),
        inputs=tuple(inputs),
        work=work,
        school=school,
        notes=(*notes, *bad),
    )
    with _CACHE_LOCK:
        _CACHE[key] = result
        while len(_CACHE) > PLAN_CACHE_SIZE:
            _CACHE.popitem(last=False)
    return result


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


def read_inputs(
    session: Session, *, today: dt.date, promise: str | None = None, unit: str | None = None
) -> StatusInputs:
    """Step 1 of the module docstring: read what ``evaluate_inputs`` needs (no writes)."""
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
            select(Completion.activity_id, Completion.entity_id, Completion.done_on).where(
                col(Completion.undone_at).is_(None)
            ),
            Completion.activity_id,
        )
    )
    for activity_id, entity_id, done_on in rows:
        found = by_activity.get(activity_id)
        if found is not None:
            done[found[0]][(found[1], entity_keys.get(entity_id, ""))].append(done_on)

    rows = session.execute(
        of_activities(
            select(Occurrence.activity_id, Occurrence.entity_id, Occurrence.period_key, Occurrence.day).where(
                col(Occurrence.day) >= today,
                col(Occurrence.slot) >= 0,
                col(Occurrence.status).in_([OccurrenceStatus.PLANNED, OccurrenceStatus.MOVED]),
            ),
            Occurrence.activity_id,
        )
    )
    for activity_id, entity_id, period_key, day in rows:
        found = by_activity.get(activity_id)
        if found is not None:
            planned[found[0]][(found[1], entity_keys.get(entity_id, ""), period_key)].append(day)

    activities_of: dict[int, list[Activity]] = defaultdict(list)
    for activity in activities:
        activities_of[activity.promise_id].append(activity)
    entities_of: dict[int, list[Entity]] = defaultdict(list)
    for entity in entities:
        entities_of[entity.promise_id].append(entity)
    return StatusInputs(
        today=today, promises=promises, units=units, activities_of=activities_of, entities_of=entities_of,
        done=done, planned=planned,
    )  # fmt: skip


def _item_order(item: QuotaItem) -> tuple[object, ...]:
    rank, end, activity, entity, period = item.status.sort_key()
    return (rank, end, item.promise, activity, entity, period)


def evaluate_inputs(inputs: StatusInputs, *, thresholds: QuotaThresholds = DEFAULT_THRESHOLDS) -> StatusReport:
    """Steps 2–3 of the module docstring: plan (cached) and evaluate rows already read."""
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
        planned_promise = _planned(row, mine, entities_of.get(row.id, []))
        notes.extend(planned_promise.notes)
        report = evaluate(
            planned_promise.plan,
            planned_promise.inputs,
            completions=done.get(row.id, {}),
            today=today,
            work=planned_promise.work,
            school=planned_promise.school,
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
            items.append(
                QuotaItem(
                    promise=slug,
                    promise_title=title,
                    kommun=kommun,
                    activity_title=activity_title,
                    entity_name=names.get(status.entity) if status.entity else None,
                    unit=unit_key,
                    unit_name=unit_name,
                    status=status,
                )
            )
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

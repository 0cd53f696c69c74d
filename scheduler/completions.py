"""Recording what was done: validated, idempotent, audited (the service under every form).

``record``, ``undo`` and ``correct`` sit on top of ``scheduler.store``'s
``record_completion``/``undo_completion``/``correct_completion`` and are what the
command line (``lofte done``), the dashboard, the JSON API and one-click links call.
They work in the caller's session and flush, never commit.

Validation (``CompletionError``, a ``ValueError`` with a Swedish ``message_sv`` and
the ``field`` it is about; lookups raise ``CompletionLookupError``, naming what is
known):

* the promise, activity (not retired) and entity must exist; an activity counted per
  entity (``entity_kind``) needs one of that kind, an activity without needs none;
* ``done_on`` may not lie after today in the promise's zone (``now`` converted), nor
  outside the promise's validity;
* ``by`` is required (at most 255 characters), a ``note`` at most ``NOTE_MAX_CHARS``
  characters, without control characters other than line breaks and tabs.

Double submits: a second ``record`` of the same activity, entity, day, recorder and
note within ``DOUBLE_SUBMIT_SECONDS`` of the first returns the first row
(``RecordResult.created`` False) and stores nothing. On PostgreSQL the activity row is
locked (``SELECT … FOR UPDATE``) for the check, so two concurrent submits cannot both
insert; SQLite serialises writers by itself.

Which planned occurrence a completion marks done: the period is the planner's period
that contains ``done_on`` (the same spans as ``lofte status``). Within it, among the
activity × entity's open occurrences (``planned`` or ``moved``, not period-end
markers), the one planned on ``done_on`` itself; otherwise the **earliest** open one.
Work done early or late thus takes the first open slot, and the later planned dates
stay in the calendar for what is still to do. No open occurrence (an extra
completion beyond the plan): the completion links none and still counts.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from scheduler.db import (
    Activity,
    Completion,
    Entity,
    Occurrence,
    OccurrenceStatus,
    Promise,
    as_utc,
)
from scheduler.store import correct_completion, record_completion, undo_completion

__all__ = [
    "DOUBLE_SUBMIT_SECONDS",
    "NOTE_MAX_CHARS",
    "CompletionError",
    "CompletionLookupError",
    "RecordResult",
    "correct",
    "local_today",
    "record",
    "undo",
]

#: A repeat of the same submission within this many seconds is the same completion.
DOUBLE_SUBMIT_SECONDS = 120
#: The longest note accepted.
NOTE_MAX_CHARS = 2000
_BY_MAX_CHARS = 255


class CompletionError(ValueError):
    """Input that cannot be stored; ``message_sv`` says what and where (``field``)."""

    def __init__(self, field: str, message_sv: str) -> None:
        self.field, self.message_sv = field, message_sv
        super().__init__(f"{field}: {message_sv}")


class CompletionLookupError(LookupError):
    """A promise, activity, entity or completion that does not exist; names what does."""

    def __init__(self, field: str, message_sv: str) -> None:
        self.field, self.message_sv = field, message_sv
        super().__init__(f"{field}: {message_sv}")


@dataclass(frozen=True, slots=True)
class RecordResult:
    """The completion stored (or found, for a double submit) and whether it is new."""

    completion: Completion
    created: bool
    occurrence: Occurrence | None = None


def _known(values: list[str]) -> str:
    if not values:
        return "inga finns"
    shown = ", ".join(values[:25])
    return f"kända: {shown}" + (" …" if len(values) > 25 else "")


def local_today(promise: Promise, now: dt.datetime) -> dt.date:
    """Today in the promise's zone at the instant ``now`` (aware)."""
    return as_utc(now, "now").astimezone(ZoneInfo(promise.tz)).date()


def _clean_by(by: str) -> str:
    text = (by or "").strip()
    if not text:
        raise CompletionError("by", "ange vem som registrerar (namn)")
    if len(text) > _BY_MAX_CHARS:
        raise CompletionError("by", f"namnet är för långt ({len(text)} tecken, högst {_BY_MAX_CHARS})")
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise CompletionError("by", "namnet innehåller otillåtna kontrolltecken")
    return text


def _clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    text = note.strip()
    if not text:
        return None
    if len(text) > NOTE_MAX_CHARS:
        raise CompletionError("note", f"anteckningen är för lång ({len(text)} tecken, högst {NOTE_MAX_CHARS})")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in text):
        raise CompletionError("note", "anteckningen innehåller otillåtna kontrolltecken")
    return text


def _check_day(promise: Promise, done_on: dt.date, now: dt.datetime) -> None:
    if not isinstance(done_on, dt.date) or isinstance(done_on, dt.datetime):
        raise CompletionError("done_on", f"datumet måste vara ett datum (ÅÅÅÅ-MM-DD), inte {done_on!r}")
    today = local_today(promise, now)
    if done_on > today:
        raise CompletionError(
            "done_on", f"datumet {done_on.isoformat()} ligger i framtiden (i dag är det {today.isoformat()})"
        )
    if not promise.valid_from <= done_on <= promise.valid_until:
        raise CompletionError(
            "done_on",
            f"datumet {done_on.isoformat()} ligger utanför löftets giltighetstid "
            f"{promise.valid_from.isoformat()} – {promise.valid_until.isoformat()}",
        )


def _promise(session: Session, slug: str) -> Promise:
    found = session.exec(select(Promise).where(Promise.slug == slug)).one_or_none()
    if found is None:
        known = list(session.exec(select(Promise.slug).order_by(col(Promise.slug))))
        raise CompletionLookupError("promise", f"okänt löfte '{slug}' ({_known(known)})")
    return found


def _activity(session: Session, promise: Promise, key: str, *, lock: bool) -> Activity:
    query = select(Activity).where(
        Activity.promise_id == promise.id, Activity.key == key, col(Activity.retired_at).is_(None)
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    found = session.exec(query).one_or_none()
    if found is None:
        known = list(
            session.exec(
                select(Activity.key)
                .where(Activity.promise_id == promise.id, col(Activity.retired_at).is_(None))
                .order_by(col(Activity.key))
            )
        )
        raise CompletionLookupError("activity", f"okänd aktivitet '{key}' i {promise.slug} ({_known(known)})")
    return found


def _entity(session: Session, promise: Promise, activity: Activity, key: str | None) -> Entity | None:
    kind = activity.entity_kind
    if kind is None:
        if key:
            raise CompletionError(
                "entity", f"aktiviteten {activity.key} räknas inte per verksamhet: ange ingen verksamhet ('{key}')"
            )
        return None
    candidates = list(
        session.exec(
            select(Entity)
            .where(Entity.promise_id == promise.id, Entity.kind == kind, col(Entity.retired_at).is_(None))
            .order_by(col(Entity.key))
        )
    )
    if not key:
        raise CompletionError(
            "entity",
            f"aktiviteten {activity.key} räknas per {kind}: ange vilken ({_known([e.key for e in candidates])})",
        )
    for entity in candidates:
        if entity.key == key:
            return entity
    raise CompletionLookupError(
        "entity", f"okänd {kind} '{key}' i {promise.slug} ({_known([e.key for e in candidates])})"
    )


def _period_key(session: Session, promise: Promise, activity: Activity, entity: Entity | None, day: dt.date) -> Any:
    """The planner's period of ``activity`` × ``entity`` that contains ``day``, or None."""
    from scheduler.status import _planned  # noqa: PLC0415 - status imports the planner; keep this module light

    activities = [activity]
    entities = list(
        session.exec(select(Entity).where(Entity.promise_id == promise.id, col(Entity.retired_at).is_(None)))
    )
    planned = _planned(promise, activities, entities)
    entity_key = entity.key if entity is not None else ""
    for activity_plan in planned.plan.activities:
        for period in activity_plan.periods:
            if period.entity == entity_key and period.span.start <= day <= period.span.end:
                return period.span.key
    return None


def _match_occurrence(
    session: Session, activity: Activity, entity: Entity | None, day: dt.date, period_key: Any
) -> Occurrence | None:
    if period_key is None:
        return None
    query = select(Occurrence).where(
        Occurrence.activity_id == activity.id,
        Occurrence.period_key == period_key,
        col(Occurrence.slot) >= 0,
        col(Occurrence.status).in_([OccurrenceStatus.PLANNED, OccurrenceStatus.MOVED]),
    )
    if entity is None:
        query = query.where(col(Occurrence.entity_id).is_(None))
    else:
        query = query.where(Occurrence.entity_id == entity.id)
    open_rows = sorted(session.exec(query), key=lambda o: (o.day, o.slot))
    for row in open_rows:
        if row.day == day:
            return row
    return open_rows[0] if open_rows else None


def _touch_period(
    session: Session, activity: Activity, entity: Entity | None, period_key: Any, now: dt.datetime, *, skip: set[int]
) -> None:
    """The done count of a period changed: so did the quota line ("Kvot: 2 av 3 genomförda
    under ...") of each of its events in the feeds. Their ``SEQUENCE`` grows and their
    ``LAST-MODIFIED`` moves to ``now`` (never back), as for any visible change
    (ical-feeds.md §18: Google shows stale text until one of them changes). ``skip``: the
    occurrences already bumped in this change."""
    if period_key is None:
        return
    table = Occurrence.__table__  # type: ignore[attr-defined]
    query = (
        sa.update(table)
        .where(
            table.c.activity_id == activity.id,
            table.c.period_key == period_key,
            table.c.status != OccurrenceStatus.CANCELLED.value,
            table.c.entity_id.is_(None) if entity is None else table.c.entity_id == entity.id,
        )
        .values(
            sequence=table.c.sequence + 1,
            last_modified=sa.case((table.c.last_modified < now, now), else_=table.c.last_modified),
        )
        .execution_options(synchronize_session=False)
    )
    if skip:
        query = query.where(table.c.id.not_in(sorted(skip)))
    session.execute(query)
    for row in list(session.identity_map.values()):  # loaded rows get the same numbers, not dirty
        if (
            isinstance(row, Occurrence)
            and row.activity_id == activity.id
            and row.period_key == period_key
            and row.entity_id == (entity.id if entity is not None else None)
            and row.status is not OccurrenceStatus.CANCELLED
            and row.id not in skip
        ):
            set_committed_value(row, "sequence", row.sequence + 1)
            set_committed_value(row, "last_modified", max(now, as_utc(row.last_modified)))


def record(
    session: Session,
    *,
    promise_slug: str,
    activity_key: str,
    entity_key: str | None = None,
    done_on: dt.date,
    by: str,
    note: str | None = None,
    now: dt.datetime,
) -> RecordResult:
    """Record that ``activity_key`` was done on ``done_on`` (see the module docstring)."""
    now = as_utc(now, "now")
    recorder = _clean_by(by)
    text = _clean_note(note)
    promise = _promise(session, promise_slug)
    activity = _activity(session, promise, activity_key, lock=True)
    entity = _entity(session, promise, activity, entity_key)
    _check_day(promise, done_on, now)

    since = now - dt.timedelta(seconds=DOUBLE_SUBMIT_SECONDS)
    repeat = session.exec(
        select(Completion).where(
            Completion.activity_id == activity.id,
            (Completion.entity_id == entity.id) if entity is not None else col(Completion.entity_id).is_(None),
            Completion.done_on == done_on,
            Completion.recorded_by == recorder,
            (Completion.note == text) if text is not None else col(Completion.note).is_(None),
            col(Completion.undone_at).is_(None),
            col(Completion.created_at) >= since,
        )
    ).first()
    if repeat is not None:
        return RecordResult(repeat, created=False)

    period_key = _period_key(session, promise, activity, entity, done_on)
    occurrence = _match_occurrence(session, activity, entity, done_on, period_key)
    completion = record_completion(
        session,
        activity=activity,
        done_on=done_on,
        recorded_by=recorder,
        now=now,
        entity=entity,
        occurrence=occurrence,
        note=text,
    )
    session.flush()
    _touch_period(
        session, activity, entity, period_key, now, skip={occurrence.id} if occurrence and occurrence.id else set()
    )
    return RecordResult(completion, created=True, occurrence=occurrence)


def _completion(session: Session, completion_id: int) -> Completion:
    found = session.get(Completion, completion_id)
    if found is None:
        raise CompletionLookupError("completion", f"ingen registrering med nummer {completion_id}")
    return found


def undo(session: Session, *, completion_id: int, by: str, now: dt.datetime) -> Completion:
    """Undo a completion: it stops counting and its occurrence is planned again (audited)."""
    now = as_utc(now, "now")
    recorder = _clean_by(by)
    completion = _completion(session, completion_id)
    if completion.undone_at is not None:
        raise CompletionError("completion", f"registrering {completion_id} är redan ångrad")
    linked = session.get(Occurrence, completion.occurrence_id) if completion.occurrence_id is not None else None
    result = undo_completion(session, completion, by=recorder, now=now)
    session.flush()
    activity = session.get(Activity, completion.activity_id)
    assert activity is not None  # noqa: S101 - a completion's activity cannot be deleted alone
    entity = session.get(Entity, completion.entity_id) if completion.entity_id is not None else None
    if linked is not None:
        period_key = linked.period_key
    else:
        promise = session.get(Promise, activity.promise_id)
        assert promise is not None  # noqa: S101 - idem
        period_key = _period_key(session, promise, activity, entity, completion.done_on)
    _touch_period(session, activity, entity, period_key, now, skip={linked.id} if linked and linked.id else set())
    return result


def correct(
    session: Session,
    *,
    completion_id: int,
    by: str,
    now: dt.datetime,
    done_on: dt.date | None = None,
    note: str | None = None,
) -> Completion:
    """Correct a completion's day and/or note: a new row replaces it (``replaces_id``), the
    old one is undone, both in the audit log. A new day in another period moves the
    occurrence link: the old occurrence is planned again and the new period's match
    (module docstring) is marked done."""
    now = as_utc(now, "now")
    recorder = _clean_by(by)
    text = _clean_note(note)
    completion = _completion(session, completion_id)
    if completion.undone_at is not None:
        raise CompletionError("completion", f"registrering {completion_id} är ångrad; rätta den gällande i stället")
    activity = session.get(Activity, completion.activity_id)
    assert activity is not None  # noqa: S101 - a completion's activity cannot be deleted alone
    promise = session.get(Promise, activity.promise_id)
    assert promise is not None  # noqa: S101 - idem
    if done_on is not None:
        _check_day(promise, done_on, now)
    corrected = correct_completion(session, completion, by=recorder, now=now, done_on=done_on, note=text)
    if done_on is not None and done_on != completion.done_on:
        entity = session.get(Entity, completion.entity_id) if completion.entity_id is not None else None
        old = session.get(Occurrence, completion.occurrence_id) if completion.occurrence_id is not None else None
        new_period = _period_key(session, promise, activity, entity, done_on)
        old_period = (
            old.period_key if old is not None else _period_key(session, promise, activity, entity, completion.done_on)
        )
        if old is None or old_period != new_period:
            bumped: set[int] = set()
            if old is not None and old.status is OccurrenceStatus.DONE:
                old.status = OccurrenceStatus.MOVED if old.manual else OccurrenceStatus.PLANNED
                old.sequence += 1
                old.last_modified = max(now, old.last_modified)
                bumped.add(old.id)  # type: ignore[arg-type]
            match = _match_occurrence(session, activity, entity, done_on, new_period)
            corrected.occurrence_id = match.id if match is not None else None
            if match is not None:
                match.status = OccurrenceStatus.DONE
                match.sequence += 1
                match.last_modified = max(now, match.last_modified)
                bumped.add(match.id)  # type: ignore[arg-type]
            session.flush()
            if old_period != new_period:  # one fewer done in the old period, one more in the new
                for period_key in (old_period, new_period):
                    _touch_period(session, activity, entity, period_key, now, skip=bumped)
    session.flush()
    return corrected

"""``lofte load``: store or update one promise file in the database, in one transaction.

1. Read and validate the file (``load_promise_file``); any error stops here, before the
   database is touched.
2. If the stored promise has the same content hash (the file, its calendar file and the
   engine's planning version), stop: a reload with no change writes nothing.
3. Upsert the promise, its units, entities and activities by their keys. Rows the file
   no longer lists are *retired* (``retired_at``), never deleted, so completions and
   history stay; listing them again brings them back.
4. Plan the whole validity with the rows people fixed (done, moved by hand) pinned,
   and upsert the occurrences by natural key (``store.upsert_occurrences``): UIDs stay,
   SEQUENCE rises only on what visibly changed, dropped occurrences are cancelled.
   Store what quota evaluation reads of the plan (``scheduler.status.store_plan``).
5. Record an audit event and commit. Any failure rolls everything back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from rules.planner import PinnedOccurrence, PlanProblem
from scheduler.db import (
    Activity,
    ActivityPartner,
    Entity,
    Occurrence,
    OccurrenceStatus,
    Promise,
    Unit,
    session_scope,
)
from scheduler.planning import plan_spec
from scheduler.promise_file import PromiseSpec, load_promise_file
from scheduler.status import store_plan
from scheduler.store import content_hash, record_event, touch_occurrences, update_fields, upsert_occurrences

if TYPE_CHECKING:
    from scheduler.promise_file import ActivitySpec

__all__ = ["PLANNING_VERSION", "LoadResult", "load_file", "load_spec", "promise_slug"]

#: Raised whenever the planner or the parser changes what a file plans to, so that a
#: reload of an unchanged file re-plans instead of being skipped.
PLANNING_VERSION = "2026-11-23.4"  # .2: the school calendar is stored (0003); .3: the plan too (0006); .4: its day sets


@dataclass(slots=True)
class LoadResult:
    """What one load did, for the command line and tests."""

    slug: str
    unchanged: bool = False
    created: bool = False
    activities: int = 0
    occurrences_created: int = 0
    occurrences_updated: int = 0
    occurrences_cancelled: int = 0
    occurrences_unchanged: int = 0
    occurrences_kept: int = 0
    retired: list[str] = field(default_factory=list)
    problems: list[PlanProblem] = field(default_factory=list)

    @property
    def occurrences(self) -> int:
        return self.occurrences_created + self.occurrences_updated + self.occurrences_unchanged + self.occurrences_kept


def promise_slug(path: str | Path) -> str:
    """The promise's stable id: the file name without extension ("astorp-2019")."""
    return Path(path).stem


def _file_hash(spec: PromiseSpec, source: bytes) -> str:
    digest = hashlib.sha256(PLANNING_VERSION.encode() + b"\0" + source)
    calendar_path = spec.calendar_source.path
    if calendar_path is not None and Path(calendar_path).is_file():
        digest.update(b"\0" + Path(calendar_path).read_bytes())
    return digest.hexdigest()


def load_file(engine: Engine, path: str | Path, *, now: dt.datetime, actor: str = "lofte load") -> LoadResult:
    """Validate ``path`` and store it; raises ``PromiseFileError`` before any write."""
    spec = load_promise_file(path)
    source = Path(path).read_bytes()
    with session_scope(engine) as session:
        return load_spec(session, spec, slug=promise_slug(path), source=source, now=now, actor=actor)


def load_spec(
    session: Session, spec: PromiseSpec, *, slug: str, source: bytes, now: dt.datetime, actor: str
) -> LoadResult:
    """Store ``spec`` as promise ``slug`` inside the caller's transaction (flushes, never commits)."""
    file_hash = _file_hash(spec, source)
    result = LoadResult(slug=slug)
    promise = session.exec(select(Promise).where(Promise.slug == slug)).one_or_none()
    if promise is not None and promise.content_hash == file_hash:
        result.unchanged = True
        return result
    values: dict[str, Any] = {
        "kommun": spec.kommun,
        "lan": spec.lan,
        "title": spec.title,
        "valid_from": spec.validity.start,
        "valid_until": spec.validity.end,
        "source_path": spec.path or None,
        "notes": spec.notes,
        # the calendar the plan is made with, so quota evaluation can re-plan from the database
        "school_calendar": spec.calendar.to_text() if spec.calendar is not None else None,
    }
    if promise is None:
        promise = Promise(slug=slug, **values)
        session.add(promise)
        session.flush()
        result.created = True
    else:
        update_fields(promise, values)
    assert promise.id is not None  # noqa: S101 - flushed above

    units = _store_units(session, promise, spec, now=now, retired=result.retired)
    _store_entities(session, promise, spec, now=now, retired=result.retired)
    touched = _store_activities(session, promise, spec, units, now=now, retired=result.retired)
    result.activities = len(spec.activities)

    pinned = _pinned(session, promise)
    the_plan = plan_spec(spec, pinned=pinned)
    result.problems = list(the_plan.problems)
    changes = upsert_occurrences(session, promise, the_plan.occurrences, now=now)
    result.occurrences_created = len(changes.created)
    result.occurrences_updated = len(changes.updated)
    result.occurrences_cancelled = len(changes.cancelled)
    result.occurrences_unchanged = changes.unchanged
    result.occurrences_kept = len(changes.kept)
    bumped = [*changes.created, *(row.uid for row in (*changes.updated, *changes.cancelled))]
    for activity in touched:  # what calendars show of the activity changed: clients must re-read
        result.occurrences_updated += len(touch_occurrences(session, activity, now=now, already=bumped))

    store_plan(session, promise)  # what quota evaluation reads, so it need not plan again
    promise.content_hash = file_hash
    record_event(
        session,
        actor=actor,
        action="load",
        row=promise,
        now=now,
        promise_id=promise.id,
        details={
            "created": result.created,
            "occurrences": {
                "created": result.occurrences_created,
                "updated": result.occurrences_updated,
                "cancelled": result.occurrences_cancelled,
            },
            "retired": result.retired,
        },
    )
    session.flush()
    return result


def _store_units(
    session: Session, promise: Promise, spec: PromiseSpec, *, now: dt.datetime, retired: list[str]
) -> dict[str, Unit]:
    stored = {u.key: u for u in session.exec(select(Unit).where(Unit.promise_id == promise.id))}
    for unit in spec.units:
        row = stored.get(unit.key)
        values: dict[str, Any] = {"name": unit.name, "email": unit.email, "retired_at": None}
        if row is None:
            row = Unit(promise_id=_id(promise), key=unit.key, **values)
            session.add(row)
            stored[unit.key] = row
        else:
            update_fields(row, values)
    session.flush()
    for unit in spec.units:  # parents after every unit has an id
        parent = stored[unit.part_of].id if unit.part_of else None
        update_fields(stored[unit.key], {"parent_id": parent})
    listed = {u.key for u in spec.units}
    for key, row in stored.items():
        if key not in listed and row.retired_at is None:
            row.retired_at = now
            retired.append(f"enhet {key}")
    return stored


def _store_entities(
    session: Session, promise: Promise, spec: PromiseSpec, *, now: dt.datetime, retired: list[str]
) -> None:
    stored = {e.key: e for e in session.exec(select(Entity).where(Entity.promise_id == promise.id))}
    for entity in spec.entities:
        row = stored.get(entity.key)
        values: dict[str, Any] = {"kind": entity.kind, "name": entity.name, "notes": entity.notes, "retired_at": None}
        if row is None:
            session.add(Entity(promise_id=_id(promise), key=entity.key, **values))
        else:
            update_fields(row, values)
    listed = {e.key for e in spec.entities}
    for key, row in stored.items():
        if key not in listed and row.retired_at is None:
            row.retired_at = now
            retired.append(f"verksamhet {key}")
    session.flush()


def _activity_values(activity: ActivitySpec, unit: Unit) -> dict[str, Any]:
    preferences: dict[str, Any] = {"school_bound": activity.school_bound}
    if activity.weekdays:
        preferences["weekdays"] = list(activity.weekdays)
    if activity.time is not None:
        preferences["time"] = activity.time.strftime("%H:%M")
    if activity.duration_minutes is not None:
        preferences["duration_minutes"] = activity.duration_minutes
    if activity.location:
        preferences["location"] = activity.location
    values: dict[str, Any] = {
        "title": activity.title,
        "sentence": activity.sentence,
        "rule": activity.rule.to_json(),
        "unit_id": unit.id,
        "entity_kind": activity.entity_kind,
        "preferences": preferences,
        "tracked": activity.tracked,
        "notes": activity.notes,
        "retired_at": None,
    }
    values["content_hash"] = content_hash({k: v for k, v in values.items() if k != "retired_at"})
    return values


def _store_activities(
    session: Session,
    promise: Promise,
    spec: PromiseSpec,
    units: dict[str, Unit],
    *,
    now: dt.datetime,
    retired: list[str],
) -> list[Activity]:
    """Upsert the file's activities; returns those whose shown content changed."""
    stored = {a.key: a for a in session.exec(select(Activity).where(Activity.promise_id == promise.id))}
    touched: list[Activity] = []
    for activity in spec.activities:
        values = _activity_values(activity, units[activity.unit.key])
        row = stored.get(activity.key)
        if row is None:
            row = Activity(promise_id=_id(promise), key=activity.key, **values)
            session.add(row)
            stored[activity.key] = row
        elif row.content_hash != values["content_hash"] or row.retired_at is not None:
            shown = {"title", "sentence", "preferences", "unit_id"}
            if shown & set(update_fields(row, values)):
                touched.append(row)  # what calendars show changed: clients must re-read the events
    session.flush()
    for activity in spec.activities:
        row = stored[activity.key]
        wanted = {units[p.key].id for p in activity.partners}
        current = {
            p.unit_id: p for p in session.exec(select(ActivityPartner).where(ActivityPartner.activity_id == row.id))
        }
        for unit_id in wanted - current.keys():
            assert row.id is not None  # noqa: S101 - flushed above
            assert unit_id is not None  # noqa: S101 - flushed above
            session.add(ActivityPartner(activity_id=row.id, unit_id=unit_id))
        for unit_id in current.keys() - wanted:
            session.delete(current[unit_id])
    listed = {a.key for a in spec.activities}
    for key, row in stored.items():
        if key not in listed and row.retired_at is None:
            row.retired_at = now
            retired.append(f"aktivitet {key}")
    session.flush()
    return touched


def _id(promise: Promise) -> int:
    assert promise.id is not None  # noqa: S101 - the promise is flushed before its children
    return promise.id


def _pinned(session: Session, promise: Promise) -> tuple[PinnedOccurrence, ...]:
    """The occurrences people fixed (done, or moved by hand): the planner keeps them."""
    rows = session.exec(
        select(Occurrence, Activity.key, Entity.key)
        .join(Activity, col(Occurrence.activity_id) == col(Activity.id))
        .outerjoin(Entity, col(Occurrence.entity_id) == col(Entity.id))
        .where(Activity.promise_id == promise.id, col(Occurrence.slot) >= 0)
        .where(
            col(Occurrence.manual)
            | col(Occurrence.status).in_([OccurrenceStatus.DONE, OccurrenceStatus.MOVED])
        )
    ).all()
    return tuple(
        PinnedOccurrence(
            activity=activity_key,
            entity=entity_key or "",
            period_key=row.period_key,
            slot=row.slot,
            day=row.day,
            start=row.starts_at,
            end=row.ends_at if row.starts_at is not None else None,
        )
        for row, activity_key, entity_key in rows
    )

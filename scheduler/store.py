"""Repository helpers over ``scheduler.db``: find-or-create by natural key, upsert the
plan's occurrences, record completions and notification decisions.

Everything here works inside the caller's session and transaction (``session_scope``)
and never commits, so ``lofte load`` can store a whole promise in one transaction.
Time comes in as ``now`` (aware), never from the clock.

Concurrency: ``get_or_create``/``upsert`` look up, then insert. Two transactions
creating the same key at once cannot both succeed (the unique constraint refuses
the second with ``IntegrityError``), so the loser should retry its whole unit of
work. ``decide_notifications`` (and ``decide_notification``, one draft) is safe under
concurrency by construction (``INSERT ... ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, insert, select

from scheduler.db import (
    DEADLINE_SLOT,
    Activity,
    AuditEvent,
    Completion,
    Entity,
    Notification,
    NotificationState,
    Occurrence,
    OccurrenceStatus,
    Promise,
    as_utc,
)
from scheduler.ical_plan import NAMESPACE

__all__ = [
    "FIXED_STATUSES",
    "NotificationDraft",
    "OccurrenceChanges",
    "OccurrenceDraft",
    "PlannedLike",
    "UnknownKeyError",
    "content_hash",
    "correct_completion",
    "decide_notification",
    "decide_notifications",
    "get_or_create",
    "hash_feed_token",
    "new_feed_token",
    "notification_key",
    "occurrence_uid",
    "record_completion",
    "record_event",
    "touch_occurrences",
    "undo_completion",
    "update_fields",
    "upsert",
    "upsert_occurrences",
]

M = TypeVar("M", bound=SQLModel)

#: Occurrences a person fixed: the planner's upsert neither moves nor cancels them.
FIXED_STATUSES = frozenset({OccurrenceStatus.DONE, OccurrenceStatus.MOVED})


class UnknownKeyError(LookupError):
    """A key that names no row of the promise (an activity or entity key)."""

    def __init__(self, kind: str, key: str, promise: str) -> None:
        self.kind, self.key, self.promise = kind, key, promise
        super().__init__(f"unknown {kind} {key!r} in promise {promise!r}")


# -- small pure helpers -----------------------------------------------------------------------------
def content_hash(data: bytes | str | Mapping[str, Any] | list[Any]) -> str:
    """SHA-256 (hex) of bytes, text, or JSON-able data (canonical: sorted keys, dates as ISO).

    >>> content_hash({"b": 1, "a": "å"}) == content_hash({"a": "å", "b": 1})
    True
    """
    if isinstance(data, str):
        raw = data.encode("utf-8")
    elif isinstance(data, bytes):
        raw = data
    else:
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)
        raw = text.encode("utf-8")
    return hashlib.sha256(raw).hexdigest()


def _json_default(value: Any) -> str:
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def occurrence_uid(promise: str, activity: str, entity: str, period_key: str, slot: int) -> str:
    """The stable UID of an occurrence: the same as ``lofte plan --format ics`` writes.

    ``uuid5`` of ``"{promise}/{activity}/{entity}/{period_key}/{slot}"`` in
    ``scheduler.ical_plan.NAMESPACE``; ``entity`` is ``""`` when there is none.

    >>> occurrence_uid("orkelljunga-2022", "mpk", "", "2022-03", 0)
    'ef4b9cb6-de1a-5c15-973c-d664a57c3185'
    """
    return str(uuid.uuid5(NAMESPACE, f"{promise}/{activity}/{entity}/{period_key}/{slot}"))


def notification_key(
    *, recipient: str, promise: str, activity: str, entity: str = "", period_key: str = "", level: str
) -> str:
    """The key that makes a notification decision unique (``Notification.key``).

    Built from keys, not ids, so it survives a reload; the recipient is case-folded.

    >>> notification_key(recipient="Polisen@Example.se", promise="astorp-2019", activity="mpk",
    ...                  period_key="2019-03", level="due")
    'polisen@example.se|astorp-2019|mpk||2019-03|due'
    """
    parts = (recipient.strip().casefold(), promise, activity, entity, period_key, level)
    for part in parts:
        if "|" in part:
            raise ValueError(f"'|' cannot be part of a notification key: {part!r}")
    return "|".join(parts)


def new_feed_token() -> str:
    """A new random feed token (URL-safe, 256 bits). Store only ``hash_feed_token`` of it."""
    return secrets.token_urlsafe(32)


def hash_feed_token(token: str) -> str:
    """SHA-256 (hex) of a feed token, as ``FeedToken.token_hash`` stores it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- generic find-or-create ---------------------------------------------------------------------------
def get_or_create(
    session: Session, model: type[M], *, defaults: Mapping[str, Any] | None = None, **keys: Any
) -> tuple[M, bool]:
    """The row of ``model`` with ``keys`` (a natural key), created with ``defaults`` if absent.

    Returns ``(row, created)``. A created row is flushed, so it has its ``id``.
    """
    row = session.exec(select(model).filter_by(**keys)).one_or_none()
    if row is not None:
        return row, False
    row = model(**keys, **(defaults or {}))
    session.add(row)
    session.flush()
    return row, True


def update_fields(row: SQLModel, values: Mapping[str, Any]) -> list[str]:
    """Set the attributes of ``values`` that differ; returns the names changed, in order.

    Unchanged attributes are not touched, so an unchanged row emits no UPDATE and keeps
    its ``updated_at``.
    """
    changed = []
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed.append(name)
    return changed


def upsert(
    session: Session, model: type[M], *, keys: Mapping[str, Any], values: Mapping[str, Any]
) -> tuple[M, bool, list[str]]:
    """Find ``model`` by ``keys`` and set ``values``, or create it: ``(row, created, changed)``."""
    row, created = get_or_create(session, model, defaults=values, **keys)
    if created:
        return row, True, []
    return row, False, update_fields(row, values)


# -- occurrences ----------------------------------------------------------------------------------------
class PlannedLike(Protocol):
    """What ``upsert_occurrences`` reads: ``rules.planner.PlannedOccurrence`` fits."""

    @property
    def activity(self) -> str: ...
    @property
    def entity(self) -> str: ...
    @property
    def period_key(self) -> str: ...
    @property
    def slot(self) -> int: ...
    @property
    def day(self) -> dt.date: ...
    @property
    def start(self) -> dt.datetime | None: ...
    @property
    def end(self) -> dt.datetime | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class OccurrenceDraft:
    """An occurrence to store, keyed like the planner's (``entity`` ``""`` when none).

    A period-end marker has ``slot=DEADLINE_SLOT`` (-1); it is stored with ``is_deadline``.
    """

    activity: str
    entity: str = ""
    period_key: str
    slot: int
    day: dt.date
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.slot < DEADLINE_SLOT:
            raise ValueError(f"slot must be {DEADLINE_SLOT} (deadline) or at least 0, not {self.slot}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                as_utc(value, name)


@dataclass(slots=True)
class OccurrenceChanges:
    """What ``upsert_occurrences`` did, row by row."""

    #: UIDs of the rows inserted (in bulk, so no ORM objects are built for them)
    created: list[str] = field(default_factory=list)
    #: rows whose visible fields changed (SEQUENCE raised)
    updated: list[Occurrence] = field(default_factory=list)
    #: rows no longer in the plan, now ``cancelled`` (SEQUENCE raised)
    cancelled: list[Occurrence] = field(default_factory=list)
    #: rows a person fixed (manual, done or moved) that the plan would have changed
    kept: list[Occurrence] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.cancelled)


def _is_fixed(row: Occurrence) -> bool:
    return row.manual or row.status in FIXED_STATUSES


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else as_utc(value)


def upsert_occurrences(
    session: Session, promise: Promise, planned: Iterable[PlannedLike], *, now: dt.datetime
) -> OccurrenceChanges:
    """Make the stored occurrences of ``promise`` match ``planned``, by natural key.

    The natural key is ``(activity, entity, period_key, slot)`` (keys, resolved to ids
    within the promise). For each planned occurrence:

    1. absent: inserted with its UID (``occurrence_uid``), ``sequence`` 0 and
       ``last_modified = now``;
    2. present and fixed by a person (``manual``, ``done`` or ``moved``): left as it
       is (listed in ``kept`` when the plan disagrees);
    3. present: ``day``, ``starts_at``, ``ends_at`` set, and a ``cancelled`` row
       planned again; only if one of those *visible* fields changed are
       ``sequence`` raised by one and ``last_modified`` set to ``now``.

    Then every stored occurrence of the promise that is not planned, not fixed and not
    yet cancelled becomes ``cancelled`` (``sequence`` + 1), so calendar clients remove
    it; its row and UID stay, ready to come back. Nothing is deleted. An unknown
    activity or entity key raises ``UnknownKeyError``; a key planned twice,
    ``ValueError``. The session is flushed, not committed.
    """
    now = as_utc(now, "now")
    if promise.id is None:
        raise ValueError("store the promise (flush) before its occurrences")
    activities = {a.key: a for a in session.exec(select(Activity).where(Activity.promise_id == promise.id))}
    entities = {e.key: e for e in session.exec(select(Entity).where(Entity.promise_id == promise.id))}
    entity_keys = {e.id: key for key, e in entities.items()}
    activity_keys = {a.id: key for key, a in activities.items()}
    stored: dict[tuple[str, str, str, int], Occurrence] = {}
    rows = session.exec(
        select(Occurrence)
        .join(Activity, col(Occurrence.activity_id) == col(Activity.id))
        .where(Activity.promise_id == promise.id)
    )
    for found in rows:
        entity_key = entity_keys[found.entity_id] if found.entity_id is not None else ""
        stored[(activity_keys[found.activity_id], entity_key, found.period_key, found.slot)] = found

    changes = OccurrenceChanges()
    new_rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str, int]] = set()
    for item in planned:
        key = (item.activity, item.entity, item.period_key, item.slot)
        if key in seen:
            raise ValueError(f"occurrence planned twice: {key}")
        seen.add(key)
        activity = activities.get(item.activity)
        if activity is None:
            raise UnknownKeyError("activity", item.activity, promise.slug)
        entity_id: int | None = None
        if item.entity:
            entity = entities.get(item.entity)
            if entity is None:
                raise UnknownKeyError("entity", item.entity, promise.slug)
            entity_id = entity.id
        visible: dict[str, Any] = {
            "day": item.day,
            "starts_at": _utc(item.start),
            "ends_at": _utc(item.end),
            "status": OccurrenceStatus.PLANNED,
        }
        row = stored.get(key)
        if row is None:
            # New rows go in as one bulk INSERT below: building ORM objects costs ~0.5 ms each.
            uid = occurrence_uid(promise.slug, *key)
            new_rows.append(
                {
                    "activity_id": activity.id,
                    "entity_id": entity_id,
                    "period_key": item.period_key,
                    "slot": item.slot,
                    "is_deadline": item.slot == DEADLINE_SLOT,
                    "uid": uid,
                    "sequence": 0,
                    "last_modified": now,
                    "manual": False,
                    "created_at": now,
                    "updated_at": now,
                    **visible,
                }
            )
            changes.created.append(uid)
        elif _is_fixed(row):
            if any(getattr(row, name) != value for name, value in visible.items() if name != "status"):
                changes.kept.append(row)
            else:
                changes.unchanged += 1
        elif update_fields(row, visible):
            _bump(row, now)
            changes.updated.append(row)
        else:
            changes.unchanged += 1

    for key, row in stored.items():
        if key in seen or _is_fixed(row) or row.status is OccurrenceStatus.CANCELLED:
            continue
        row.status = OccurrenceStatus.CANCELLED
        _bump(row, now)
        changes.cancelled.append(row)
    session.flush()
    if new_rows:  # Core executemany: one batched INSERT, no ORM bookkeeping per row
        session.connection().execute(insert(Occurrence.__table__), new_rows)  # type: ignore[attr-defined]
    return changes


def touch_occurrences(
    session: Session, activity: Activity, *, now: dt.datetime, already: Iterable[str] = ()
) -> list[Occurrence]:
    """Raise SEQUENCE of every shown occurrence of ``activity`` (all but cancelled ones).

    For a change calendars show that lives on the activity, not the occurrence (its
    title, sentence or location): ``lofte load`` calls this when an activity's
    content changed, so clients re-read the events. Rows whose UID is in ``already``
    (bumped or created by the same load) are not bumped twice.
    """
    now = as_utc(now, "now")
    skip = set(already)
    rows = [
        row
        for row in session.exec(
            select(Occurrence).where(
                Occurrence.activity_id == activity.id, Occurrence.status != OccurrenceStatus.CANCELLED
            )
        ).all()
        if row.uid not in skip
    ]
    for row in rows:
        _bump(row, now)
    session.flush()
    return rows


def _bump(row: Occurrence, now: dt.datetime) -> None:
    row.sequence += 1
    # LAST-MODIFIED never goes back, even if the caller's clock does.
    row.last_modified = max(now, row.last_modified)


# -- completions and the audit log -------------------------------------------------------------------------
def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    row: SQLModel,
    now: dt.datetime,
    details: Mapping[str, Any] | None = None,
    promise_id: int | None = None,
) -> AuditEvent:
    """Append an ``AuditEvent`` about ``row`` (flushed first, so it has an id)."""
    if getattr(row, "id", None) is None:
        session.flush()
    event = AuditEvent(
        at=now,
        actor=actor,
        action=action,
        object_type=str(getattr(row, "__tablename__", type(row).__name__)),
        object_id=getattr(row, "id", None),
        promise_id=promise_id,
        details=dict(details or {}),
    )
    session.add(event)
    return event


def _promise_id(session: Session, activity_id: int) -> int | None:
    activity = session.get(Activity, activity_id)
    return activity.promise_id if activity is not None else None


def record_completion(
    session: Session,
    *,
    activity: Activity,
    done_on: dt.date,
    recorded_by: str,
    now: dt.datetime,
    entity: Entity | None = None,
    occurrence: Occurrence | None = None,
    note: str | None = None,
) -> Completion:
    """Record that ``activity`` was done on ``done_on``; marks ``occurrence`` done (SEQUENCE + 1).

    Without ``entity``, the completion counts for ``occurrence``'s entity (if any)."""
    entity_id = entity.id if entity is not None else occurrence.entity_id if occurrence is not None else None
    completion = Completion(
        activity_id=activity.id,  # type: ignore[arg-type]
        entity_id=entity_id,
        occurrence_id=occurrence.id if occurrence is not None else None,
        done_on=done_on,
        recorded_by=recorded_by,
        note=note,
        created_at=now,
        updated_at=now,
    )
    session.add(completion)
    if occurrence is not None and occurrence.status is not OccurrenceStatus.DONE:
        occurrence.status = OccurrenceStatus.DONE
        _bump(occurrence, as_utc(now))
    record_event(
        session,
        actor=recorded_by,
        action="completion.create",
        row=completion,
        now=now,
        promise_id=activity.promise_id,
        details={"done_on": done_on.isoformat(), "entity_id": completion.entity_id, "note": note},
    )
    return completion


def undo_completion(session: Session, completion: Completion, *, by: str, now: dt.datetime) -> Completion:
    """Mark ``completion`` undone (it stops counting); its occurrence is planned again."""
    if completion.undone_at is not None:
        raise ValueError(f"completion {completion.id} is already undone")
    completion.undone_at = now
    completion.undone_by = by
    if completion.occurrence_id is not None:
        occurrence = session.get(Occurrence, completion.occurrence_id)
        if occurrence is not None and occurrence.status is OccurrenceStatus.DONE:
            occurrence.status = OccurrenceStatus.MOVED if occurrence.manual else OccurrenceStatus.PLANNED
            _bump(occurrence, as_utc(now))
    record_event(
        session, actor=by, action="completion.undo", row=completion, now=now,
        promise_id=_promise_id(session, completion.activity_id),
    )  # fmt: skip
    return completion


def correct_completion(
    session: Session,
    completion: Completion,
    *,
    by: str,
    now: dt.datetime,
    done_on: dt.date | None = None,
    note: str | None = None,
) -> Completion:
    """Replace ``completion`` with a corrected copy (``replaces_id``); the old one is undone."""
    if completion.undone_at is not None:
        raise ValueError(f"completion {completion.id} is undone; correct the current one")
    completion.undone_at = now
    completion.undone_by = by
    corrected = Completion(
        activity_id=completion.activity_id,
        entity_id=completion.entity_id,
        occurrence_id=completion.occurrence_id,
        done_on=done_on or completion.done_on,
        recorded_by=by,
        note=note if note is not None else completion.note,
        replaces_id=completion.id,
        created_at=now,
        updated_at=now,
    )
    session.add(corrected)
    record_event(
        session,
        actor=by,
        action="completion.correct",
        row=corrected,
        now=now,
        promise_id=_promise_id(session, completion.activity_id),
        details={
            "replaces_id": completion.id,
            "done_on": [completion.done_on.isoformat(), corrected.done_on.isoformat()],
            "note": [completion.note, corrected.note],
        },
    )
    return corrected


# -- notifications ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationDraft:
    """A decision to notify, as ``decide_notifications`` records it (``Notification`` columns).

    ``key`` comes from ``notification_key``; ``next_attempt_at`` (aware) is when the
    sender may first try it.
    """

    key: str
    recipient: str
    level: str
    next_attempt_at: dt.datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    activity_id: int | None = None
    entity_id: int | None = None
    unit_id: int | None = None
    period_key: str | None = None

    def __post_init__(self) -> None:
        as_utc(self.next_attempt_at, "next_attempt_at")


def decide_notifications(session: Session, drafts: Iterable[NotificationDraft], *, now: dt.datetime) -> dict[str, int]:
    """Record each decision once: ``{key: id}`` of the rows this call inserted.

    One ``INSERT ... ON CONFLICT (key) DO NOTHING ... RETURNING id, key`` over all the
    drafts (sent as few multi-row statements), on both backends: a key already decided,
    by an earlier run or by another instance at the same moment, inserts nothing, is
    left out of the answer and fails nothing. The unique constraint on ``key`` is what
    guarantees it; a second instance deciding the same keys waits for the first one's
    transaction (PostgreSQL) or for its write lock (SQLite), then skips them. A key
    drafted twice is recorded from its first draft. The rows are inserted in key order,
    so two instances lock the same keys in the same order and cannot deadlock.
    """
    now = as_utc(now, "now")
    unique: dict[str, NotificationDraft] = {}
    for draft in drafts:
        unique.setdefault(draft.key, draft)
    if not unique:
        return {}
    dialect = session.get_bind().dialect.name
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise NotImplementedError(f"decide_notifications supports sqlite and postgresql, not {dialect}")
    table = Notification.__table__  # type: ignore[attr-defined]
    statement = insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id, table.c.key)
    rows = [
        {
            "key": d.key,
            "recipient": d.recipient,
            "level": d.level,
            "state": NotificationState.DECIDED,
            "activity_id": d.activity_id,
            "entity_id": d.entity_id,
            "unit_id": d.unit_id,
            "period_key": d.period_key,
            "attempts": 0,
            "next_attempt_at": d.next_attempt_at,
            "last_error": None,
            "sent_at": None,
            "payload": dict(d.payload),
            "created_at": now,
            "updated_at": now,
        }
        for _key, d in sorted(unique.items())
    ]
    result = session.execute(statement, rows)
    return {key: new_id for new_id, key in result.all()}


def decide_notification(
    session: Session,
    *,
    key: str,
    recipient: str,
    level: str,
    now: dt.datetime,
    payload: Mapping[str, Any] | None = None,
    activity: Activity | None = None,
    entity: Entity | None = None,
    unit_id: int | None = None,
    period_key: str | None = None,
    next_attempt_at: dt.datetime | None = None,
) -> Notification | None:
    """Record the decision to notify, once: the new row, or None if ``key`` is already decided.

    One draft through ``decide_notifications`` (``INSERT ... ON CONFLICT DO NOTHING``),
    so two schedulers deciding at the same moment record one row and neither fails.
    ``next_attempt_at`` defaults to ``now``. Deciding many at once, use
    ``decide_notifications``: one statement instead of a round trip per row.
    """
    draft = NotificationDraft(
        key=key,
        recipient=recipient,
        level=level,
        next_attempt_at=now if next_attempt_at is None else next_attempt_at,
        payload=payload or {},
        activity_id=activity.id if activity is not None else None,
        entity_id=entity.id if entity is not None else None,
        unit_id=unit_id,
        period_key=period_key,
    )
    new_id = decide_notifications(session, [draft], now=now).get(key)
    return None if new_id is None else session.get(Notification, new_id)

"""The tables: SQLModel classes over one ``MetaData`` (``SQLModel.metadata``).

::

    promise ─┬─< unit ──────────(parent_id: part_of, SET NULL)
             ├─< entity
             ├─< activity >── unit (responsible; deleting a unit that has activities is refused)
             │      ├─< activity_partner >── unit
             │      ├─< occurrence >── entity?
             │      ├─< completion >── entity?, occurrence?, completion? (replaces)
             │      └─< notification >── entity?, unit?
             └─< feed_token (scope promise; or unit, or a kommun by name)
    audit_event ── promise? (SET NULL: the log outlives what it describes)

``─<`` is one-to-many. Every foreign key says what a delete does, so no row can point
at nothing: deleting a promise removes everything under it (``CASCADE``); deleting an
entity removes its occurrences but is refused while completions record work done for
it (``NO ACTION``, deferred to commit, so the promise's own cascade still works:
see ``_guard_fk``); audit events keep their text and lose the link (``SET NULL``).

Keys
----
Every table has an integer ``id`` and ``created_at``/``updated_at`` in UTC
(``updated_at`` is set by the ORM on every UPDATE it emits). The tables a feed shows
also have ``row_version``, which the database itself bumps on every UPDATE of the row,
whoever writes it (migration 0007), so a hand-written UPDATE reaches the feeds too; the
ORM never sets it. Natural keys are unique:
``promise.slug``; ``(promise_id, key)`` for units, entities and activities;
``occurrence.uid``; ``(activity_id, entity_id, period_key, slot)`` for occurrences,
with a partial unique index for the rows without an entity (SQL treats NULLs as
distinct, so the constraint alone would let those repeat); ``notification.key``;
``feed_token.token_hash``. ``lofte load`` finds rows by these keys, so reloading a
file updates rows in place and keeps their ids, UIDs and history.

Datetimes are ``UTCDateTime`` (aware UTC in, aware UTC out; a naive value raises
``NaiveDatetimeError`` as soon as it is assigned to a model attribute). Dates
(``day``, ``done_on``, validity) are local dates in the promise's ``tz``.

JSON columns (``JSONType``) are replaced, not mutated in place: assign a new dict
(``activity.preferences = {**activity.preferences, "time": "18:00"}``) so the ORM
sees the change.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, ClassVar, Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapper
from sqlmodel import Field, SQLModel

from scheduler.db.types import JSONType, UTCDateTime, as_utc

__all__ = [
    "DEADLINE_SLOT",
    "DEFAULT_TZ",
    "Activity",
    "ActivityPartner",
    "AuditEvent",
    "Completion",
    "Entity",
    "FeedClock",
    "FeedScope",
    "FeedToken",
    "MailOptOut",
    "Notification",
    "NotificationState",
    "Occurrence",
    "OccurrenceStatus",
    "Promise",
    "PromisePlan",
    "Unit",
    "User",
    "UserKommun",
    "utcnow",
]

#: Constraint names are deterministic, so migrations (and SQLite's batch mode, which
#: recreates tables) can name what they change on both backends.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

#: The zone a promise's dates and wall-clock times are read in unless it says otherwise.
DEFAULT_TZ = "Europe/Stockholm"
#: ``Occurrence.slot`` of a period-end (deadline) marker; ordinary slots count from 0.
DEADLINE_SLOT = -1


def utcnow() -> dt.datetime:
    """The current instant, aware UTC: the default of the timestamp columns."""
    return dt.datetime.now(dt.UTC)


def _enum(enum: type[StrEnum], name: str) -> sa.Enum:
    # VARCHAR + CHECK on both backends (no PostgreSQL ENUM type: adding a value later
    # is then an ordinary batch migration), storing the values, not the member names.
    return sa.Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class OccurrenceStatus(StrEnum):
    """Where a planned occurrence stands."""

    #: planned by the planner, not done yet.
    PLANNED = "planned"
    #: done; a completion records it.
    DONE = "done"
    #: moved by hand to another day or time (``manual`` is set).
    MOVED = "moved"
    #: no longer in the plan (the rule or validity changed), or called off; kept so
    #: calendar clients see ``STATUS:CANCELLED`` for its UID.
    CANCELLED = "cancelled"


class NotificationState(StrEnum):
    """The life of one notification decision (healthchecks' ``Flip`` + ``Notification``)."""

    #: decided, waiting for the sender (``next_attempt_at``).
    DECIDED = "decided"
    #: claimed by a sender; if it stays here the sender died and a sweep retries it.
    SENDING = "sending"
    #: delivered (``sent_at``).
    SENT = "sent"
    #: given up: a permanent error or too many attempts (``last_error``).
    FAILED = "failed"


class FeedScope(StrEnum):
    """What a calendar feed token opens."""

    UNIT = "unit"  #: one responsible unit's occurrences (``unit_id``)
    PROMISE = "promise"  #: every occurrence of one promise (``promise_id``)
    KOMMUN = "kommun"  #: every public promise of a kommun (``kommun``, by name)


# -- columns shared by every table -------------------------------------------------------------
def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _updated() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, sa_column_kwargs={"onupdate": utcnow})


def _row_version() -> Any:
    """Bumped by the database's triggers on every UPDATE of the row (migration 0007); never set by the ORM."""
    return Field(default=0, sa_type=sa.BigInteger, nullable=False, sa_column_kwargs={"server_default": sa.text("0")})


def _fk(target: str, ondelete: Literal["CASCADE", "SET NULL"], *, nullable: bool = False, index: bool = False) -> Any:
    default: Any = None if nullable else ...
    return Field(default=default, foreign_key=target, ondelete=ondelete, nullable=nullable, index=index)


def _guard_fk(target: str, *, nullable: bool = False, index: bool = False) -> Any:
    """A reference that refuses deleting its target alone: NO ACTION, checked at commit.

    Deferred because PostgreSQL runs each cascaded delete as its own statement and
    checks an immediate constraint right after it: deleting a promise would fail or
    not depending on which of its cascades (to entities, to activities and their
    completions) happened to run first. At commit, the whole cascade is done.
    """
    default: Any = None if nullable else ...
    return Field(
        default=default,
        nullable=nullable,
        index=index,
        sa_column_args=[sa.ForeignKey(target, deferrable=True, initially="DEFERRED")],
    )


def _text(length: int | None = None, *, nullable: bool = False, default: Any = ...) -> Any:
    """VARCHAR(length) or TEXT; a nullable one defaults to None, a required one has no default."""
    if nullable and default is ...:
        default = None
    return Field(default=default, sa_type=sa.String(length) if length else sa.Text, nullable=nullable)


# -- promises and what they name ----------------------------------------------------------------
class Promise(SQLModel, table=True):
    """One signed medborgarlöfte, as loaded from its promise file."""

    __tablename__: ClassVar[str] = "promise"
    __table_args__ = (
        sa.CheckConstraint("valid_until >= valid_from", name="validity"),
        sa.Index(None, "kommun"),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: stable identifier, the file's stem by convention ("astorp-2019"); used in UIDs and URLs
    slug: str = Field(sa_type=sa.String(100), unique=True, nullable=False)
    kommun: str = _text(100)
    #: short län name ("Skåne"), as ``rules.canonical_lan`` writes it
    lan: str = _text(100)
    title: str = _text()
    valid_from: dt.date = Field(nullable=False)
    valid_until: dt.date = Field(nullable=False)
    tz: str = _text(64, default=DEFAULT_TZ)
    #: the promise file it was loaded from, as given to ``lofte load``
    source_path: str | None = _text(nullable=True)
    #: SHA-256 (hex) of the loaded file's bytes: reloading an unchanged file is a no-op
    content_hash: str | None = _text(64, nullable=True)
    notes: str | None = _text(nullable=True)
    #: opt-in: shown on the citizens' page and in the kommun feed
    public: bool = Field(default=False, nullable=False)
    #: the school calendar the plan was made with, in ``rules.school``'s text format
    #: (``SchoolCalendar.to_text()``; estimated when the file gives none); None before 0003
    school_calendar: str | None = _text(nullable=True)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _updated()
    row_version: int = _row_version()


class Unit(SQLModel, table=True):
    """A responsible unit of one promise ("Lokalpolisområde Klippan"); gets the reminders."""

    __tablename__: ClassVar[str] = "unit"
    __table_args__ = (sa.UniqueConstraint("promise_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    promise_id: int = _fk("promise.id", "CASCADE")
    key: str = _text(64)
    name: str = _text()
    email: str | None = _text(320, nullable=True)
    #: what kind of party: "polis", "kommun", ... (free text; None when unknown)
    role: str | None = _text(32, nullable=True)
    #: ``part_of`` in the file: socialtjänsten belongs to kommunen
    parent_id: int | None = _fk("unit.id", "SET NULL", nullable=True, index=True)
    #: set when a reload no longer lists it; the row and its history stay (nothing stored is lost)
    retired_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _updated()
    row_version: int = _row_version()


class Entity(SQLModel, table=True):
    """A named place a quota counts per: a school, a fritidsgård, a tätort."""

    __tablename__: ClassVar[str] = "entity"
    __table_args__ = (sa.UniqueConstraint("promise_id", "key"), sa.Index(None, "promise_id", "kind"))

    id: int | None = Field(default=None, primary_key=True)
    promise_id: int = _fk("promise.id", "CASCADE")
    #: the singular word the sentences use: "högstadieskola", "fritidsgård", "tätort"
    kind: str = _text(64)
    key: str = _text(64)
    name: str = _text()
    notes: str | None = _text(nullable=True)
    #: set when a reload no longer lists it; the row and its history stay (nothing stored is lost)
    retired_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _updated()
    row_version: int = _row_version()


class Activity(SQLModel, table=True):
    """One activity sentence of a promise, with its rule and planning preferences.

    The entities an activity counts per are the promise's entities of ``entity_kind``.
    ``preferences`` holds what the planner needs besides the rule:
    ``{"weekdays": [3, 4], "time": "14:00", "duration_minutes": 180,
    "location": "Torget", "school_bound": false}`` (absent keys: no preference).
    """

    __tablename__: ClassVar[str] = "activity"
    __table_args__ = (sa.UniqueConstraint("promise_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    promise_id: int = _fk("promise.id", "CASCADE")
    #: stable within the promise, never reused
    key: str = _text(64)
    title: str = _text()
    #: the document's own words, verbatim
    sentence: str = _text()
    #: ``Rule.to_json()`` of the resolved rule (parser output plus the file's overrides)
    rule: dict[str, Any] = Field(sa_type=JSONType, nullable=False)
    #: the responsible unit; a unit with activities cannot be deleted alone
    unit_id: int = _guard_fk("unit.id", index=True)
    entity_kind: str | None = _text(64, nullable=True)
    preferences: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    #: false: noted, no count to follow (``tracked: false`` in the file)
    tracked: bool = Field(default=True, nullable=False)
    notes: str | None = _text(nullable=True)
    #: SHA-256 (hex) of the activity's loaded content, to see what a reload changed
    content_hash: str | None = _text(64, nullable=True)
    #: set when a reload no longer lists it; the row and its history stay (nothing stored is lost)
    retired_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _updated()
    row_version: int = _row_version()


class ActivityPartner(SQLModel, table=True):
    """A unit that carries out an activity together with its responsible unit."""

    __tablename__: ClassVar[str] = "activity_partner"
    __table_args__ = (sa.UniqueConstraint("activity_id", "unit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = _fk("activity.id", "CASCADE")
    unit_id: int = _fk("unit.id", "CASCADE", index=True)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _updated()
    row_version: int = _row_version()


# -- the plan and what was done ------------------------------------------------------------------
class Occurrence(SQLModel, table=True):
    """One planned occurrence: a calendar event with a stable ``uid``.

    Natural key ``(activity_id, entity_id, period_key, slot)`` as the planner's
    ``PlannedOccurrence.key``; a period-end marker has ``slot = DEADLINE_SLOT`` and
    ``is_deadline``. ``sequence`` and ``last_modified`` are the iCalendar SEQUENCE and
    LAST-MODIFIED: raised only when something a calendar shows changes
    (``scheduler.store.upsert_occurrences``), never lowered. ``manual`` rows were moved
    by a person and the planner leaves them where they are.
    """

    __tablename__: ClassVar[str] = "occurrence"
    __table_args__ = (
        sa.UniqueConstraint("activity_id", "entity_id", "period_key", "slot"),
        # NULLs are distinct in a unique constraint: this covers the rows without an entity.
        sa.Index(
            "uq_occurrence_activity_id_period_key_slot_no_entity",
            "activity_id",
            "period_key",
            "slot",
            unique=True,
            sqlite_where=sa.text("entity_id IS NULL"),
            postgresql_where=sa.text("entity_id IS NULL"),
        ),
        sa.Index(None, "day"),
        sa.CheckConstraint("(slot >= 0 AND NOT is_deadline) OR (slot = -1 AND is_deadline)", name="slot"),
        sa.CheckConstraint(
            "(starts_at IS NULL AND ends_at IS NULL)"
            " OR (starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at >= starts_at)",
            name="span",
        ),
        sa.CheckConstraint("sequence >= 0", name="sequence"),
    )

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = _fk("activity.id", "CASCADE")
    #: None for an activity without entities (the planner's entity "")
    entity_id: int | None = _fk("entity.id", "CASCADE", nullable=True, index=True)
    #: the period's key as ``rules.periods`` writes it ("2025-03", "2025-ht", ...)
    period_key: str = _text(32)
    slot: int = Field(nullable=False)
    #: the local date (in the promise's ``tz``)
    day: dt.date = Field(nullable=False)
    #: aware UTC; both None for an all-day occurrence
    starts_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    ends_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    #: iCalendar UID, stable across reloads (``scheduler.store.occurrence_uid``)
    uid: str = Field(sa_type=sa.String(255), unique=True, nullable=False)
    sequence: int = Field(default=0, nullable=False)
    last_modified: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    status: OccurrenceStatus = Field(
        default=OccurrenceStatus.PLANNED, sa_type=_enum(OccurrenceStatus, "occurrence_status"), nullable=False
    )
    manual: bool = Field(default=False, nullable=False)
    is_deadline: bool = Field(default=False, nullable=False)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _updated()
    row_version: int = _row_version()

    @property
    def all_day(self) -> bool:
        return self.starts_at is None


class Completion(SQLModel, table=True):
    """A record that an activity was done on a day (for an entity, if it counts per entity).

    Never deleted in normal use. An undo sets ``undone_at``/``undone_by``; a correction
    is a new row with ``replaces_id`` pointing at the row it corrects, which is undone
    in the same transaction. The completions that count are those with
    ``undone_at IS NULL``. Every change is also written to ``audit_event``.
    """

    __tablename__: ClassVar[str] = "completion"
    __table_args__ = (
        sa.Index(None, "activity_id", "entity_id", "done_on"),
        sa.UniqueConstraint("replaces_id"),  # a row is corrected at most once
    )

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = _fk("activity.id", "CASCADE")
    #: an entity with recorded work cannot be deleted alone
    entity_id: int | None = _guard_fk("entity.id", nullable=True, index=True)
    #: the planned occurrence this completes, if any
    occurrence_id: int | None = _fk("occurrence.id", "SET NULL", nullable=True, index=True)
    done_on: dt.date = Field(nullable=False)
    recorded_by: str = _text(255)
    note: str | None = _text(nullable=True)
    undone_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    undone_by: str | None = _text(255, nullable=True)
    replaces_id: int | None = _fk("completion.id", "SET NULL", nullable=True)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _updated()
    row_version: int = _row_version()


class AuditEvent(SQLModel, table=True):
    """Who changed what, when: one row per change made by a person or a load.

    ``action`` is a dotted verb ("completion.create", "completion.undo",
    "occurrence.move", "promise.load"); ``object_type``/``object_id`` name the row;
    ``details`` holds the before/after values that matter.
    """

    __tablename__: ClassVar[str] = "audit_event"
    __table_args__ = (sa.Index(None, "object_type", "object_id"), sa.Index(None, "at"))

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor: str = _text(255)
    action: str = _text(64)
    object_type: str = _text(64)
    object_id: int | None = Field(default=None, nullable=True)
    promise_id: int | None = _fk("promise.id", "SET NULL", nullable=True, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType, nullable=False)


# -- reminders and feeds ----------------------------------------------------------------------
class Notification(SQLModel, table=True):
    """One decision to notify someone, recorded exactly once by its ``key``.

    ``key`` is built from recipient, promise, activity, entity, period and level
    (``scheduler.store.notification_key``); inserting a second row with the same key
    fails, so deciding twice cannot send twice. A sender claims a row with
    ``UPDATE ... SET state='sending' WHERE id=:id AND state='decided'`` and goes on
    only if one row changed.
    """

    __tablename__: ClassVar[str] = "notification"
    __table_args__ = (
        sa.Index(None, "state", "next_attempt_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=sa.String(512), unique=True, nullable=False)
    #: an e-mail address (or another channel's address)
    recipient: str = _text(320)
    #: how urgent: "reminder", "due", "overdue", "missed", ... (``rules`` decides the names)
    level: str = _text(32)
    state: NotificationState = Field(
        default=NotificationState.DECIDED, sa_type=_enum(NotificationState, "notification_state"), nullable=False
    )
    activity_id: int | None = _fk("activity.id", "CASCADE", nullable=True, index=True)
    entity_id: int | None = _fk("entity.id", "CASCADE", nullable=True, index=True)
    unit_id: int | None = _fk("unit.id", "CASCADE", nullable=True, index=True)
    period_key: str | None = _text(32, nullable=True)
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    last_error: str | None = _text(nullable=True)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    #: what the message says (template context), so a retry sends the same text
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType, nullable=False)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _updated()


class FeedToken(SQLModel, table=True):
    """A secret that opens one calendar feed (``/feeds/<token>.ics``).

    Only the SHA-256 of the token is stored (``scheduler.store.hash_feed_token``): a
    leaked database does not leak working feed URLs. Rotating writes a new hash and
    ``rotated_at``; the old URL stops working.
    """

    __tablename__: ClassVar[str] = "feed_token"
    __table_args__ = (
        sa.CheckConstraint(
            "(scope = 'unit' AND unit_id IS NOT NULL AND kommun IS NULL)"
            " OR (scope = 'promise' AND promise_id IS NOT NULL AND unit_id IS NULL AND kommun IS NULL)"
            " OR (scope = 'kommun' AND kommun IS NOT NULL AND promise_id IS NULL AND unit_id IS NULL)",
            name="scope_target",
        ),
        sa.Index(None, "kommun"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: FeedScope = Field(sa_type=_enum(FeedScope, "feed_scope"), nullable=False)
    #: set for scope promise, and for scope unit (the unit's promise)
    promise_id: int | None = _fk("promise.id", "CASCADE", nullable=True, index=True)
    unit_id: int | None = _fk("unit.id", "CASCADE", nullable=True, index=True)
    kommun: str | None = _text(100, nullable=True)
    token_hash: str = Field(sa_type=sa.String(64), unique=True, nullable=False)
    rotated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _updated()


class MailOptOut(SQLModel, table=True):
    """An address that asked for no more reminder digests (List-Unsubscribe, RFC 8058).

    The policy skips it; the dashboard lists it so a coordinator can follow up by other
    means. Deleting the row subscribes the address again.
    """

    __tablename__: ClassVar[str] = "mail_optout"

    id: int | None = Field(default=None, primary_key=True)
    #: case-folded e-mail address
    recipient: str = Field(sa_type=sa.String(320), unique=True, nullable=False)
    created_at: dt.datetime = _created()


class FeedClock(SQLModel, table=True):
    """One row (``id`` 1) whose ``seq`` grows with every commit that can change a feed.

    Written only by database triggers (migration 0005), never by the ORM: see
    ``scheduler.feed_clock``. ``epoch`` is random per row, so a table emptied and
    refilled never repeats an earlier ``(epoch, seq)``. No timestamps: the triggers
    keep the row as small as they can.
    """

    __tablename__: ClassVar[str] = "feed_clock"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(sa_type=sa.BigInteger, nullable=False)
    epoch: str = Field(sa_type=sa.String(32), nullable=False)


# -- coordinators who log in ----------------------------------------------------------------------
class User(SQLModel, table=True):
    """A coordinator who logs in to the dashboard (``lofte user add``).

    ``username`` is stored case-folded. ``password_hash`` is an Argon2id hash
    (``scheduler.auth``). A user sees the promises of the kommuner granted in
    ``user_kommun``; ``is_admin`` sees every kommun. ``email`` receives escalations.
    """

    __tablename__: ClassVar[str] = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_type=sa.String(64), unique=True, nullable=False)
    name: str = _text()
    email: str | None = _text(320, nullable=True)
    password_hash: str = _text()
    is_admin: bool = Field(default=False, nullable=False)
    #: false: cannot log in; the row stays for the audit trail
    is_active: bool = Field(default=True, nullable=False)
    last_login_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _updated()


class UserKommun(SQLModel, table=True):
    """A kommun whose promises a user may see and record work for."""

    __tablename__: ClassVar[str] = "user_kommun"
    __table_args__ = (sa.UniqueConstraint("user_id", "kommun"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = _fk("app_user.id", "CASCADE", index=True)
    kommun: str = _text(100)
    created_at: dt.datetime = _created()


# -- derived data -------------------------------------------------------------------------------
class PromisePlan(SQLModel, table=True):
    """What quota evaluation needs of a promise's plan (periods, required counts), stored
    by ``lofte load`` in the load's transaction so ``lofte status`` never re-plans.

    ``plan_key``: SHA-256 of everything the plan is made from (the rows and
    ``PLANNING_VERSION``); a row whose key no longer matches is ignored and the plan is
    made again. ``body``: compact JSON, see ``scheduler.status`` ("Stored plans").
    Derived data: deleting it loses nothing.
    """

    __tablename__: ClassVar[str] = "promise_plan"

    id: int | None = Field(default=None, primary_key=True)
    promise_id: int = Field(foreign_key="promise.id", ondelete="CASCADE", nullable=False, unique=True)
    plan_key: str = _text(64)
    body: str = _text()
    created_at: dt.datetime = _created()
    updated_at: dt.datetime = _updated()


# -- naive datetimes are refused where they are assigned ----------------------------------------------
def _check_assignment(name: str) -> Any:
    def check(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
        return None if value is None else as_utc(value, name)

    return check


@event.listens_for(Mapper, "mapper_configured")
def _guard_datetimes(mapper: Mapper[Any], cls: type[Any]) -> None:
    """Make every ``UTCDateTime`` attribute raise ``NaiveDatetimeError`` on assignment."""
    if getattr(cls, "metadata", None) is not SQLModel.metadata:
        return
    for prop in mapper.column_attrs:
        if any(isinstance(column.type, UTCDateTime) for column in prop.columns):
            event.listen(getattr(cls, prop.key), "set", _check_assignment(f"{cls.__name__}.{prop.key}"), retval=True)

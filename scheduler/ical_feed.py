"""Subscribed calendar feeds: one VCALENDAR per unit, promise or kommun (issue 4).

``FeedRenderer(engine, base_url=...)`` answers two questions per request:

* ``version(target, now=...)``: is the feed the client holds still current? One SQL
  statement of aggregates over the target (see *Freshness* below); the answer is a
  ``FeedVersion`` with a strong ETag (a hash of the body) and a Last-Modified.
* ``render(target, now=...)``: the body, ``text/calendar; charset=utf-8``.

What a feed holds (``../shared/reference/ical-feeds.md``)
----------------------------------------------------------
Calendar properties first: ``VERSION``, ``PRODID``, ``CALSCALE:GREGORIAN``,
``METHOD:PUBLISH``, ``NAME`` and ``X-WR-CALNAME`` (Swedish, e.g. "Löfte –
Lokalpolisområde Klippan"), ``X-WR-TIMEZONE``, ``REFRESH-INTERVAL;VALUE=DURATION`` and
``X-PUBLISHED-TTL`` (PT1H); then the Outlook-safe ``VTIMEZONE`` of Europe/Stockholm
(``scheduler.ical_plan.VTIMEZONE_STOCKHOLM``: one STANDARD, one DAYLIGHT, RRULE with
BYDAY, no RDATE) when a timed event uses it; then one ``VEVENT`` per shown occurrence,
sorted by day, start and UID:

* ``UID`` = ``occurrence.uid``, ``SEQUENCE`` = ``occurrence.sequence``, ``LAST-MODIFIED``
  and ``DTSTAMP`` = ``occurrence.last_modified`` (never "now": the body is byte-identical
  until something changes);
* timed: ``DTSTART;TZID=Europe/Stockholm`` and ``DTEND`` in local time, except in the
  October hour that happens twice (02:00–03:00): RFC 5545 §3.3.5 reads such a local time
  as the first pass, but ical.js (Thunderbird, Nextcloud) reads it as the second, so an
  instant there is written in UTC (``...Z``), which every client reads alike;
* all-day: ``DTSTART;VALUE=DATE`` with an exclusive ``DTEND`` the next day, and
  ``TRANSP:TRANSPARENT`` (no time is planned, so the day is not blocked);
* a period-end deadline (``is_deadline``): all-day, transparent, "Sista dag: ...";
* done: "✔ Genomförd: ..." and "Status: genomförd" in the description;
* every event has ``STATUS:CONFIRMED``, ``SUMMARY`` (what, and the entity), ``DESCRIPTION``
  (who is responsible, partners, the quota it serves, the promise's sentence, a link),
  ``URL`` (``{base_url}/loften/{slug}/aktiviteter/{key}``) and ``LOCATION`` when the
  activity has one (``preferences["location"]``).

Not shown: cancelled occurrences (clients drop an event that leaves the feed), those of
retired activities, of retired responsible units and of retired entities, and those
outside the rolling window ``[today - past, today + future_months]`` (local dates in
Europe/Stockholm, both ends inclusive, "today" from ``now``). A body that would exceed
``MAX_BODY_BYTES`` (1 MB, Google's limit) loses its far-future events and says so in a
warning log line.

Scopes: ``UNIT`` shows the activities whose responsible unit is that unit; ``PROMISE``
every activity of the promise; ``KOMMUN`` every promise whose kommun has that name
(case-insensitive, Unicode-aware).

Freshness
---------
``version`` runs one statement: a cross join of single-row aggregates over the target's
activities ``A`` and promises ``P``: the target's existence; over the occurrences of
``A``: count, ``max(last_modified)``, ``sum(sequence)``, ``max(updated_at)``, and for
the shown statuses the count inside the window, the last day before the window and
the last day inside it; count and ``max(updated_at)`` of the activities of ``A``, of
the units, entities and promises of ``P``, of ``A``'s partners and completions. These
numbers (the *key*) change with every edit that can change the body, and the
window's first and last day enter only through the occurrences they cross, so the key
stays the same on days the window moves over nothing.

* ``etag``: the SHA-256 of the body (quoted, strong), taken from the feed cache when the
  key is known, else by rendering. It changes exactly when the body does.
* ``last_modified``: the newest timestamp in the key, or the local midnight at which the
  window last crossed a shown occurrence (dropping one at its start or taking one in at
  its end), whichever is later, in whole seconds. It grows whenever the body changes, so
  ``If-Modified-Since`` stays correct; it may also grow on an edit the body does not
  show (a unit's e-mail), which costs a client one full download.

Caches
------
Each VEVENT is serialised once by ``icalendar`` and its bytes kept, keyed by every value
the event shows (UID, SEQUENCE, LAST-MODIFIED, times, texts); a feed is the join of its
cached events. Rendered feeds are kept by their key. Both caches are LRU with a bound
(entries, resp. bytes) and guarded by one lock, so handlers may run in threads.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import functools
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import icalendar
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from scheduler.db import (
    DEFAULT_TZ,
    Activity,
    ActivityPartner,
    Completion,
    Entity,
    FeedScope,
    FeedToken,
    Occurrence,
    OccurrenceStatus,
    Promise,
    Unit,
)
from scheduler.ical_feed_text import ActivityQuota, description, quota_line, summary
from scheduler.ical_plan import VTIMEZONE_STOCKHOLM

__all__ = [
    "MAX_BODY_BYTES",
    "PRODID",
    "REFRESH_INTERVAL",
    "FeedRenderer",
    "FeedTarget",
    "FeedVersion",
    "RenderedFeed",
    "add_months",
]

log = logging.getLogger(__name__)

PRODID = "-//Löfte//Kalenderflöde//SV"
#: What REFRESH-INTERVAL and X-PUBLISHED-TTL recommend (ical-feeds.md §12).
REFRESH_INTERVAL = dt.timedelta(hours=1)
#: Google's limit on a subscribed feed (ical-feeds.md §8).
MAX_BODY_BYTES = 1_000_000

_ZONE = ZoneInfo(DEFAULT_TZ)
_O = Occurrence.__table__  # type: ignore[attr-defined]
_A = Activity.__table__  # type: ignore[attr-defined]
_U = Unit.__table__  # type: ignore[attr-defined]
_E = Entity.__table__  # type: ignore[attr-defined]
_P = Promise.__table__  # type: ignore[attr-defined]
_AP = ActivityPartner.__table__  # type: ignore[attr-defined]
_C = Completion.__table__  # type: ignore[attr-defined]
_CANCELLED = OccurrenceStatus.CANCELLED.value


# -- the public value objects ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FeedTarget:
    """What a feed shows: one unit's activities, one promise, or a whole kommun.

    Exactly the field of the scope is set (``unit_id``, ``promise_id`` or ``kommun``).

    >>> FeedTarget(FeedScope.KOMMUN, kommun="Åstorp")
    FeedTarget(scope=<FeedScope.KOMMUN: 'kommun'>, promise_id=None, unit_id=None, kommun='Åstorp')
    >>> FeedTarget(FeedScope.UNIT, promise_id=1)
    Traceback (most recent call last):
    ...
    ValueError: a unit feed needs unit_id and nothing else
    """

    scope: FeedScope
    promise_id: int | None = None
    unit_id: int | None = None
    kommun: str | None = None

    def __post_init__(self) -> None:
        scope = FeedScope(self.scope)
        wanted = {FeedScope.UNIT: "unit_id", FeedScope.PROMISE: "promise_id", FeedScope.KOMMUN: "kommun"}[scope]
        given = {name for name in ("unit_id", "promise_id", "kommun") if getattr(self, name) is not None}
        if given != {wanted} or (scope is FeedScope.KOMMUN and not str(self.kommun).strip()):
            raise ValueError(f"a {scope.value} feed needs {wanted} and nothing else")

    @classmethod
    def of(cls, token_row: FeedToken) -> FeedTarget:
        """The target a feed token opens (a unit token's ``promise_id`` is not needed)."""
        scope = FeedScope(token_row.scope)
        if scope is FeedScope.UNIT:
            return cls(scope, unit_id=token_row.unit_id)
        if scope is FeedScope.PROMISE:
            return cls(scope, promise_id=token_row.promise_id)
        return cls(scope, kommun=token_row.kommun)


@dataclass(frozen=True, slots=True)
class FeedVersion:
    """What a conditional GET compares: a strong ETag and a Last-Modified."""

    etag: str  #: quoted strong ETag: '"<sha256 of the body, 32 hex digits>"'
    last_modified: dt.datetime  #: aware UTC, whole seconds


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    """A rendered feed: the bytes to send, their version and the calendar's name."""

    body: bytes  #: text/calendar; charset=utf-8
    version: FeedVersion
    name: str  #: X-WR-CALNAME, Swedish


# -- small helpers ------------------------------------------------------------------------------------
def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, clipped to the month's last day.

    >>> add_months(dt.date(2025, 8, 31), 18)
    datetime.date(2027, 2, 28)
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=_ZONE).astimezone(dt.UTC)


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))  # SQLite returns a computed max(day) as text


def _aware(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    # a str from SQLite: an aggregate that lost its column type
    moment: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _kommun_variants(kommun: str) -> list[str]:
    """What ``lower(promise.kommun)`` may return for a kommun people spell like ``kommun``.

    SQLite's ``lower()`` and a PostgreSQL database with the C locale fold ASCII only, so
    ``lower('Åstorp')`` may stay ``'Åstorp'``. The usual casings of the name, each folded
    fully and ASCII-only, cover both; ``render`` then keeps the promises whose kommun
    equals the name under ``str.casefold``.

    >>> _kommun_variants("ÅSTORP")
    ['Åstorp', 'åstorp']
    """
    name = kommun.strip()
    casings = {name, name.lower(), name.upper(), name.title(), name.capitalize(), name.casefold()}
    ascii_lower = {"".join(c.lower() if c.isascii() else c for c in v) for v in casings}
    return sorted({v.lower() for v in casings} | ascii_lower)


def _local_or_utc(value: dt.datetime) -> dt.datetime:
    """Local Stockholm time for a TZID, or UTC where the local time is ambiguous.

    >>> _local_or_utc(dt.datetime(2025, 10, 26, 0, 30, tzinfo=dt.UTC)).isoformat()  # 02:30 CEST, then CET
    '2025-10-26T00:30:00+00:00'
    >>> _local_or_utc(dt.datetime(2025, 10, 26, 2, 30, tzinfo=dt.UTC)).isoformat()
    '2025-10-26T03:30:00+01:00'
    """
    local = value.astimezone(_ZONE)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return value.astimezone(dt.UTC)
    return local


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _LRU(Generic[K, V]):
    """A bounded LRU map: at most ``max_weight`` in total (``weight`` of each value, default 1)."""

    def __init__(self, max_weight: int, weight: Callable[[V], int] | None = None) -> None:
        self.max_weight = max_weight
        self.weight = weight or (lambda _v: 1)
        self.total = 0
        self.items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        old = self.items.pop(key, None)
        if old is not None:
            self.total -= self.weight(old)
        self.items[key] = value
        self.total += self.weight(value)
        while self.total > self.max_weight and len(self.items) > 1:
            _, dropped = self.items.popitem(last=False)
            self.total -= self.weight(dropped)

    def __len__(self) -> int:
        return len(self.items)


class _Generations(Generic[K, V]):
    """A bounded cache with plain dict lookups: two generations of at most ``half`` entries.

    A hit in the old generation moves the entry to the new one; when the new one is full
    it becomes the old one (the previous old one is dropped). Entries used since the last
    turn survive it, so a feed's events stay while the feed is requested. Cheaper than an
    ordered LRU on the hot path (one dict lookup per event). Not thread-safe by itself.
    """

    def __init__(self, max_entries: int) -> None:
        self.half = max(1, max_entries // 2)
        self.new: dict[K, V] = {}
        self.old: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        value = self.new.get(key)
        if value is None:
            value = self.old.pop(key, None)
            if value is not None:
                self.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        if len(self.new) >= self.half:
            self.old, self.new = self.new, {}
        self.new[key] = value

    def __len__(self) -> int:
        return len(self.new) + len(self.old)


# -- the SQL ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Window:
    first: dt.date
    last: dt.date


_FIRST = sa.bindparam("first", type_=sa.Date)
_LAST = sa.bindparam("last", type_=sa.Date)


def _raw(column: Any) -> Any:
    """``column`` without result processing: the driver's value (SQLite text, psycopg objects).

    The event cache keys on these values as they come; only an event that is not cached
    yet has them parsed (``_parse_datetime``, ``_as_date``).
    """
    return sa.type_coerce(column, sa.types.NullType()).label(column.name)


def _target_sets(target: FeedTarget) -> tuple[Any, Any, Any]:
    """(the target's activity ids, its promise ids, the count that says it exists) as SQL."""
    if target.scope is FeedScope.UNIT:
        activities = sa.select(_A.c.id).where(_A.c.unit_id == target.unit_id)
        promises = sa.select(_U.c.promise_id).where(_U.c.id == target.unit_id)
        exists = sa.select(sa.func.count().label("exists")).select_from(_U).where(_U.c.id == target.unit_id)
        return activities, promises, exists
    if target.scope is FeedScope.PROMISE:
        activities = sa.select(_A.c.id).where(_A.c.promise_id == target.promise_id)
        promises = sa.select(_P.c.id).where(_P.c.id == target.promise_id)
        exists = sa.select(sa.func.count().label("exists")).select_from(_P).where(_P.c.id == target.promise_id)
        return activities, promises, exists
    names = _kommun_variants(target.kommun or "")
    promises = sa.select(_P.c.id).where(sa.func.lower(_P.c.kommun).in_(names))
    activities = sa.select(_A.c.id).where(_A.c.promise_id.in_(promises))
    exists = sa.select(sa.func.count().label("exists")).select_from(_P).where(_P.c.id.in_(promises))
    return activities, promises, exists


#: The aggregates of the version statement, by what they describe.
_OCCURRENCE_PART = ("o_n", "o_lm", "o_seq", "o_up", "o_rv")
_CONTEXT_PART = (
    "a_n", "a_up", "a_rv", "u_n", "u_up", "u_rv", "e_n", "e_up", "e_rv", "p_n", "p_up", "p_rv",
    "ap_n", "ap_id", "ap_up", "ap_rv",
)  # fmt: skip
_COMPLETION_PART = ("c_n", "c_undone", "c_id", "c_up", "c_rv")
_TIMESTAMPS = ("o_lm", "o_up", "a_up", "u_up", "e_up", "p_up", "ap_up", "c_up")


@dataclass(frozen=True, slots=True)
class _Statements:
    """The statements of one target, built once (window days are bind parameters)."""

    version: sa.Select[Any]
    events: sa.Select[Any]
    activities: sa.Select[Any]
    units: sa.Select[Any]
    entities: sa.Select[Any]
    promises: sa.Select[Any]
    partners: sa.Select[Any]
    completions: sa.Select[Any]
    planned: sa.Select[Any]

    @classmethod
    def of(cls, target: FeedTarget) -> _Statements:
        activities, promises, exists = _target_sets(target)
        shown = _O.c.status != _CANCELLED
        in_window = sa.and_(shown, _O.c.day >= _FIRST, _O.c.day <= _LAST)
        aggregates = [
            exists.subquery("t"),
            sa.select(
                sa.func.count().label("o_n"),
                sa.func.max(_O.c.last_modified).label("o_lm"),
                sa.func.coalesce(sa.func.sum(_O.c.sequence), 0).label("o_seq"),
                sa.func.max(_O.c.updated_at).label("o_up"),
                _versions(_O, "o_rv"),
                sa.func.count(sa.case((in_window, 1))).label("w_n"),
                sa.func.max(sa.case((sa.and_(shown, _O.c.day < _FIRST), _O.c.day))).label("w_before"),
                sa.func.max(sa.case((sa.and_(shown, _O.c.day <= _LAST), _O.c.day))).label("w_last"),
            )
            .where(_O.c.activity_id.in_(activities))
            .subquery("o"),
            sa.select(sa.func.count().label("a_n"), sa.func.max(_A.c.updated_at).label("a_up"), _versions(_A, "a_rv"))
            .where(_A.c.id.in_(activities))
            .subquery("a"),
            sa.select(sa.func.count().label("u_n"), sa.func.max(_U.c.updated_at).label("u_up"), _versions(_U, "u_rv"))
            .where(_U.c.promise_id.in_(promises))
            .subquery("u"),
            sa.select(sa.func.count().label("e_n"), sa.func.max(_E.c.updated_at).label("e_up"), _versions(_E, "e_rv"))
            .where(_E.c.promise_id.in_(promises))
            .subquery("e"),
            sa.select(sa.func.count().label("p_n"), sa.func.max(_P.c.updated_at).label("p_up"), _versions(_P, "p_rv"))
            .where(_P.c.id.in_(promises))
            .subquery("p"),
            sa.select(
                sa.func.count().label("ap_n"),
                sa.func.max(_AP.c.id).label("ap_id"),
                sa.func.max(_AP.c.updated_at).label("ap_up"),
                _versions(_AP, "ap_rv"),
            )
            .where(_AP.c.activity_id.in_(activities))
            .subquery("ap"),
            sa.select(
                sa.func.count().label("c_n"),
                sa.func.count(_C.c.undone_at).label("c_undone"),
                sa.func.max(_C.c.id).label("c_id"),
                sa.func.max(_C.c.updated_at).label("c_up"),
                _versions(_C, "c_rv"),
            )
            .where(_C.c.activity_id.in_(activities))
            .subquery("c"),
        ]
        joined: Any = aggregates[0]
        for sub in aggregates[1:]:
            joined = joined.join(sub, sa.true())
        version = sa.select(*(column for sub in aggregates for column in sub.c)).select_from(joined)
        events = (
            sa.select(
                _O.c.uid, _O.c.sequence, _raw(_O.c.last_modified), _raw(_O.c.status), _raw(_O.c.day),
                _raw(_O.c.starts_at), _raw(_O.c.ends_at), _O.c.is_deadline, _O.c.activity_id, _O.c.entity_id,
                _O.c.period_key,
            )
            .where(_O.c.activity_id.in_(activities), shown, _O.c.day >= _FIRST, _O.c.day <= _LAST)
            .order_by(_O.c.day, sa.nulls_first(_O.c.starts_at), _O.c.uid)
        )  # fmt: skip
        return cls(
            version=version,
            events=events,
            activities=sa.select(
                _A.c.id,
                _A.c.key,
                _A.c.title,
                _A.c.sentence,
                _A.c.rule,
                _A.c.preferences,
                _A.c.unit_id,
                _A.c.promise_id,
                _A.c.retired_at,
                _A.c.updated_at,
                _A.c.row_version,
            ).where(_A.c.id.in_(activities)),
            units=sa.select(_U.c.id, _U.c.name, _U.c.retired_at).where(_U.c.promise_id.in_(promises)),
            entities=sa.select(_E.c.id, _E.c.name, _E.c.retired_at).where(_E.c.promise_id.in_(promises)),
            promises=sa.select(_P.c.id, _P.c.slug, _P.c.title, _P.c.kommun, _P.c.valid_from, _P.c.valid_until).where(
                _P.c.id.in_(promises)
            ),
            partners=sa.select(_AP.c.activity_id, _AP.c.unit_id)
            .where(_AP.c.activity_id.in_(activities))
            .order_by(_AP.c.id),
            completions=sa.select(_C.c.activity_id, _C.c.entity_id, _C.c.done_on)
            .where(_C.c.activity_id.in_(activities), _C.c.undone_at.is_(None))
            .order_by(_C.c.done_on),
            planned=sa.select(_O.c.activity_id, _O.c.entity_id, _O.c.period_key, sa.func.count().label("n"))
            .where(
                _O.c.activity_id.in_(activities),
                shown,
                _O.c.slot >= 0,
                _O.c.period_key.in_(sa.bindparam("partial", expanding=True)),
            )
            .group_by(_O.c.activity_id, _O.c.entity_id, _O.c.period_key),
        )


def _versions(table: sa.Table, label: str) -> sa.Label[Any]:
    """The sum of the rows' ``row_version``: it grows with every UPDATE, by anyone (migration 0007)."""
    return sa.func.coalesce(sa.func.sum(table.c.row_version), 0).label(label)


@dataclass(frozen=True, slots=True)
class _Key:
    """The aggregates of the version statement: equal keys mean equal bodies."""

    target: FeedTarget
    values: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, target: FeedTarget, row: sa.Row[Any]) -> _Key:
        values = []
        for name, raw in row._mapping.items():
            value = raw
            if name in _TIMESTAMPS:
                value = _aware(raw)
            elif name in ("w_before", "w_last"):
                value = _as_date(raw)
            values.append((name, value))
        return cls(target, tuple(values))

    @property
    def exists(self) -> bool:
        return bool(self.values[0][1])  # the first aggregate counts the target's own row(s)

    def part(self, names: tuple[str, ...]) -> tuple[Any, ...]:
        values = dict(self.values)
        return tuple(values[name] for name in names)

    def last_modified(self, *, past: dt.timedelta, future_months: int) -> dt.datetime:
        """The newest change the key records, or the window's last crossing (see the module)."""
        values = dict(self.values)
        stamps = [values[name] for name in _TIMESTAMPS if values.get(name) is not None]
        before = values.get("w_before")
        if before is not None:  # dropped when the window's first day passed it
            stamps.append(_local_midnight(before + dt.timedelta(days=1) + past))
        last = values.get("w_last")
        if last is not None:  # taken in when the window's last day reached it
            today = add_months(last, -future_months)
            for _ in range(4):  # clipping to a month's end can leave it up to 3 days short
                if add_months(today, future_months) >= last:
                    break
                today += dt.timedelta(days=1)
            stamps.append(_local_midnight(today))
        newest = max(stamps, default=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
        return newest.replace(microsecond=0)


# -- what one render reads --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Context:
    """The rows a render needs besides the occurrences and completions, by id."""

    activities: dict[int, sa.Row[Any]]
    units: dict[int, sa.Row[Any]]
    entities: dict[int, sa.Row[Any]]
    promises: dict[int, sa.Row[Any]]
    partners: dict[int, tuple[int, ...]]
    #: the promises the feed shows (a kommun feed: those whose kommun casefolds equal)
    shown_promises: frozenset[int]
    name: str | None

    @classmethod
    def read(cls, connection: Connection, statements: _Statements, target: FeedTarget) -> _Context:
        def by_id(statement: sa.Select[Any]) -> dict[int, sa.Row[Any]]:
            return {row.id: row for row in connection.execute(statement)}

        activities = by_id(statements.activities)
        units = by_id(statements.units)
        entities = by_id(statements.entities)
        promises = by_id(statements.promises)
        partners: dict[int, list[int]] = {}
        for row in connection.execute(statements.partners):
            partners.setdefault(row.activity_id, []).append(row.unit_id)
        shown = frozenset(promises)
        name: str | None = None
        if target.scope is FeedScope.UNIT:
            unit = units.get(target.unit_id or -1)
            name = None if unit is None else f"Löfte – {unit.name}"
        elif target.scope is FeedScope.PROMISE:
            promise = promises.get(target.promise_id or -1)
            name = None if promise is None else f"Löfte – {promise.title}"
        else:
            wanted = (target.kommun or "").strip().casefold()
            shown = frozenset(p.id for p in promises.values() if p.kommun.strip().casefold() == wanted)
            if shown:
                name = f"Löfte – medborgarlöften i {promises[min(shown)].kommun}"
        return cls(
            activities=activities,
            units=units,
            entities=entities,
            promises=promises,
            partners={k: tuple(v) for k, v in partners.items()},
            shown_promises=shown,
            name=name,
        )


#: (activity_id, entity_id, period_key, done, is_deadline, planned count) -> the event's words, or
#: None when the event is not shown (a retired activity, unit or entity; another kommun's promise)
_Texts = tuple[str, str, str | None, str] | None
_Group = tuple[int, int | None, str, bool, bool, int]


@dataclass(frozen=True, slots=True)
class _TargetState:
    """What the previous render of a target read, reused while its part of the key holds."""

    context_key: tuple[Any, ...]
    context: _Context
    done_key: tuple[Any, ...]
    #: (activity_id, entity_id) -> sorted done_on of the completions that count
    done: dict[tuple[int, int | None], list[dt.date]]
    #: the period keys of partial periods (only there does the quota line need ``planned``)
    partial: frozenset[str]
    occurrence_key: tuple[Any, ...]
    #: (activity_id, entity_id, period_key) -> shown non-deadline occurrences, partial periods only
    planned: dict[tuple[int, int | None, str], int]
    texts: dict[_Group, _Texts]


def _parse_datetime(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    # a str from SQLite: naive UTC text (scheduler.db.types.UTCDateTime)
    moment: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


# -- the renderer ------------------------------------------------------------------------------------
_EventKey = tuple[Any, ...]


class FeedRenderer:
    """Renders feeds and answers freshness checks; caches events and feeds (see the module).

    ``base_url`` (no trailing slash needed) is where the web app's pages live, for the
    links back; ``past`` and ``future_months`` set the rolling window. Configuration does
    not change during the life of the object. Thread-safe: the caches are guarded by one
    lock, held only to look up and store.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        base_url: str,
        past: dt.timedelta = dt.timedelta(days=90),
        future_months: int = 18,
        max_events: int = 50_000,
        max_feed_bytes: int = 64 * 1024 * 1024,
        max_targets: int = 1_024,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if past < dt.timedelta(0) or future_months < 0:
            raise ValueError("the window cannot reach backwards: past and future_months must not be negative")
        self.engine = engine
        # PostgreSQL: one snapshot for the key and the rows. Elsewhere a commit may land between
        # the statements; the body is then newer than its key, which no later check matches.
        self._reader = (
            engine.execution_options(isolation_level="REPEATABLE READ")
            if engine.dialect.name == "postgresql"
            else engine
        )
        self.base_url = base_url.rstrip("/")
        self.past = past
        self.future_months = future_months
        self.max_body_bytes = max_body_bytes
        self._lock = threading.Lock()
        self._events: _Generations[_EventKey, bytes] = _Generations(max_events)
        self._feeds: _LRU[_Key, RenderedFeed] = _LRU(max_feed_bytes, weight=lambda feed: len(feed.body))
        self._statements: _LRU[FeedTarget, _Statements] = _LRU(max_targets)
        self._states: _LRU[FeedTarget, _TargetState] = _LRU(max_targets)
        self._quotas: _LRU[tuple[Any, ...], ActivityQuota] = _LRU(10_000)

    # -- public API ---------------------------------------------------------------------------
    def version(self, target: FeedTarget, *, now: dt.datetime) -> FeedVersion | None:
        """The version of ``target``'s feed at ``now``; None when the target no longer exists.

        One SQL statement when the feed is cached under the current key; otherwise the
        feed is rendered (and cached) so the ETag is the hash of the body.
        """
        feed = self._feed(target, now=now)
        return None if feed is None else feed.version

    def render(self, target: FeedTarget, *, now: dt.datetime) -> RenderedFeed | None:
        """``target``'s feed at ``now``; None when the target no longer exists."""
        return self._feed(target, now=now)

    def window(self, now: dt.datetime) -> tuple[dt.date, dt.date]:
        """The first and last local day (both inclusive) a feed shows at ``now``."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        today = now.astimezone(_ZONE).date()
        return today - dt.timedelta(days=self.past.days), add_months(today, self.future_months)

    # -- internals -----------------------------------------------------------------------------
    def _feed(self, target: FeedTarget, *, now: dt.datetime) -> RenderedFeed | None:
        first, last = self.window(now)
        params = {"first": first, "last": last}
        with self._lock:
            statements = self._statements.get(target)
            state = self._states.get(target)
        if statements is None:
            statements = _Statements.of(target)
            with self._lock:
                self._statements.put(target, statements)
        with self._reader.connect() as connection:
            key = _Key.of(target, connection.execute(statements.version, params).one())
            if not key.exists:
                return None
            with self._lock:
                cached = self._feeds.get(key)
            if cached is not None:
                return cached
            state = self._read_state(connection, statements, target, key, state)
            rows = connection.execute(statements.events, params).all()
        if state.context.name is None:  # a kommun whose spelling matched only in SQL
            return None
        feed = self._build(key, state, rows)
        with self._lock:
            self._feeds.put(key, feed)
        return feed

    def _read_state(
        self,
        connection: Connection,
        statements: _Statements,
        target: FeedTarget,
        key: _Key,
        old: _TargetState | None,
    ) -> _TargetState:
        """The target's context, completions and planned counts: re-read only the parts whose key changed."""
        context_key, done_key, occurrence_key = (
            key.part(_CONTEXT_PART),
            key.part(_COMPLETION_PART),
            key.part(_OCCURRENCE_PART),
        )
        if old is not None and old.context_key == context_key:
            context, partial = old.context, old.partial
        else:
            context = _Context.read(connection, statements, target)
            partial = self._partial_periods(context)
        if old is not None and old.done_key == done_key:
            done = old.done
        else:
            done = {}
            for row in connection.execute(statements.completions):
                done.setdefault((row.activity_id, row.entity_id), []).append(row.done_on)
        if old is not None and old.occurrence_key == occurrence_key and old.partial == partial:
            planned = old.planned
        elif partial:
            rows = connection.execute(statements.planned, {"partial": sorted(partial)})
            planned = {(r.activity_id, r.entity_id, r.period_key): r.n for r in rows}
        else:
            planned = {}
        same_words = old is not None and old.context_key == context_key and old.done_key == done_key
        return _TargetState(
            context_key=context_key,
            context=context,
            done_key=done_key,
            done=done,
            partial=partial,
            occurrence_key=occurrence_key,
            planned=planned,
            texts=old.texts if same_words and old is not None else {},
        )

    def _build(self, key: _Key, state: _TargetState, rows: Sequence[Sequence[Any]]) -> RenderedFeed:
        name = state.context.name
        assert name is not None  # noqa: S101 - checked by the caller
        old_texts = state.texts
        texts: dict[_Group, _Texts] = {}
        planned = state.planned
        keys: list[_EventKey] = []
        timed = False
        for uid, sequence, stamp, status, day, start, end, deadline, activity_id, entity_id, period_key in rows:
            done = status == _DONE
            group = (
                activity_id,
                entity_id,
                period_key,
                done,
                bool(deadline),
                planned.get((activity_id, entity_id, period_key), 0),
            )
            if group in texts:
                words = texts[group]
            else:
                words = old_texts[group] if group in old_texts else self._texts(group, state)
                texts[group] = words
            if words is None:
                continue
            timed = timed or (start is not None and not deadline)
            keys.append((uid, sequence, stamp, day, start, end, bool(deadline), words))
        with self._lock:
            chunks = [self._events.get(k) for k in keys]
        missing = [i for i, chunk in enumerate(chunks) if chunk is None]
        for i in missing:
            chunks[i] = _serialize_event(keys[i])
        if missing:
            with self._lock:
                for i in missing:
                    self._events.put(keys[i], chunks[i])  # type: ignore[arg-type]
        # keep the words for the next render of this target (only those still in use)
        with self._lock:
            self._states.put(key.target, replace(state, texts=texts))
        head = _calendar_head(name, timed=timed)
        tail = b"END:VCALENDAR\r\n"
        size = len(head) + len(tail)
        kept = 0
        for chunk in chunks:
            assert chunk is not None  # noqa: S101 - filled above
            if size + len(chunk) > self.max_body_bytes:
                break
            size += len(chunk)
            kept += 1
        if kept < len(chunks):
            log.warning(
                "feed %r trimmed to %d of %d events to stay under %d bytes: events from %s on are left out",
                name, kept, len(chunks), self.max_body_bytes, _as_date(keys[kept][3]),
            )  # fmt: skip
        body = b"".join([head, *chunks[:kept], tail])  # type: ignore[list-item]
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        version = FeedVersion(
            etag=etag, last_modified=key.last_modified(past=self.past, future_months=self.future_months)
        )
        return RenderedFeed(body=body, version=version, name=name)

    def _quota(self, activity: sa.Row[Any], promise: sa.Row[Any]) -> ActivityQuota:
        cache_key = (activity.id, activity.updated_at, activity.row_version, promise.valid_from, promise.valid_until)
        with self._lock:
            found = self._quotas.get(cache_key)
        if found is None:
            found = ActivityQuota.of(
                activity.rule,
                validity=(promise.valid_from, promise.valid_until),
                duration_minutes=(activity.preferences or {}).get("duration_minutes"),
            )
            with self._lock:
                self._quotas.put(cache_key, found)
        return found

    def _partial_periods(self, context: _Context) -> frozenset[str]:
        keys: set[str] = set()
        for activity in context.activities.values():
            promise = context.promises.get(activity.promise_id)
            if promise is not None:
                keys.update(k for k, span in self._quota(activity, promise).spans.items() if span.partial)
        return frozenset(keys)

    def _texts(self, group: _Group, state: _TargetState) -> _Texts:
        """SUMMARY, DESCRIPTION, LOCATION and URL of the events of ``group``, or None when not shown."""
        activity_id, entity_id, period_key, done, deadline, planned = group
        context = state.context
        activity = context.activities.get(activity_id)
        if activity is None or activity.retired_at is not None or activity.promise_id not in context.shown_promises:
            return None
        unit = context.units.get(activity.unit_id)
        if unit is None or unit.retired_at is not None:
            return None
        entity = None
        if entity_id is not None:
            entity = context.entities.get(entity_id)
            if entity is None or entity.retired_at is not None:
                return None
        promise = context.promises[activity.promise_id]
        entity_name = entity.name if entity is not None else None
        info = self._quota(activity, promise)
        span = info.span(period_key)
        done_count = 0
        if span is not None:
            days = state.done.get((activity_id, entity_id), ())
            done_count = sum(1 for d in days if span.start <= d <= span.end)
        quota = quota_line(info, span, done=done_count, planned=planned, entity=entity_name)
        url = f"{self.base_url}/loften/{promise.slug}/aktiviteter/{activity.key}"
        partners = tuple(
            context.units[u].name
            for u in context.partners.get(activity.id, ())
            if u in context.units and context.units[u].retired_at is None
        )
        text = description(
            responsible=unit.name, partners=partners, quota=quota, sentence=activity.sentence, url=url, done=done
        )
        location = (activity.preferences or {}).get("location") or None
        return (
            summary(activity.title, entity_name, done=done, deadline=deadline),
            text,
            str(location) if location else None,
            url,
        )


_DONE = OccurrenceStatus.DONE.value


def _serialize_event(key: _EventKey) -> bytes:
    """One VEVENT, serialised by ``icalendar`` (values parsed from the raw row here, once)."""
    uid, sequence, raw_stamp, raw_day, raw_start, raw_end, deadline, (title, text, location, url) = key
    stamp = _parse_datetime(raw_stamp)
    day = _as_date(raw_day)
    starts_at, ends_at = _parse_datetime(raw_start), _parse_datetime(raw_end)
    assert day is not None  # noqa: S101 - a NOT NULL column
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("last-modified", stamp)
    event.add("sequence", sequence)
    if starts_at is None or ends_at is None or deadline:
        event.add("dtstart", day)
        event.add("dtend", day + dt.timedelta(days=1))
    else:
        if ends_at <= starts_at:  # a zero-length plan: Outlook needs DTEND after DTSTART
            ends_at = starts_at + dt.timedelta(minutes=1)
        event.add("dtstart", _local_or_utc(starts_at))
        event.add("dtend", _local_or_utc(ends_at))
    event.add("summary", title)
    event.add("description", text)
    if location:
        event.add("location", location)
    event.add("url", url)
    event.add("status", "CONFIRMED")
    if starts_at is None or deadline:
        event.add("transp", "TRANSPARENT")
    chunk: bytes = event.to_ical()
    return chunk


@functools.lru_cache(maxsize=4096)
def _calendar_head(name: str, *, timed: bool) -> bytes:
    cal = icalendar.Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", DEFAULT_TZ)
    cal.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", icalendar.vText(icalendar.vDDDTypes(REFRESH_INTERVAL).to_ical().decode()))
    text: bytes = cal.to_ical()
    head = text.removesuffix(b"END:VCALENDAR\r\n")
    if timed:
        head += VTIMEZONE_STOCKHOLM.encode("ascii")
    return head

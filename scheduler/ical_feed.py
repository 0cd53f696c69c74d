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
* timed: ``DTSTART;TZID=Europe/Stockholm`` and ``DTEND`` in local time. A local time in
  the second pass of the October hour (``fold=1``) cannot be written with a TZID (RFC
  5545 §3.3.5 reads an ambiguous local time as the first pass), so such an instant is
  written in UTC (``...Z``) instead; every instant is exact;
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
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
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
    if isinstance(value, str):  # SQLite, an aggregate that lost its column type
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


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
    """Local Stockholm time for a TZID, or UTC where a local time would be ambiguous."""
    local = value.astimezone(_ZONE)
    if local.fold and local.replace(fold=0).astimezone(dt.UTC) != value:
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


# -- the SQL ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Window:
    first: dt.date
    last: dt.date


def _target_sets(target: FeedTarget) -> tuple[Any, Any, Any]:
    """(the target's activity ids, its promise ids, the count that says it exists) as SQL."""
    if target.scope is FeedScope.UNIT:
        activities = sa.select(_A.c.id).where(_A.c.unit_id == target.unit_id)
        promises = sa.select(_U.c.promise_id).where(_U.c.id == target.unit_id)
        exists = sa.select(sa.func.count()).select_from(_U).where(_U.c.id == target.unit_id)
        return activities, promises, exists
    if target.scope is FeedScope.PROMISE:
        activities = sa.select(_A.c.id).where(_A.c.promise_id == target.promise_id)
        promises = sa.select(_P.c.id).where(_P.c.id == target.promise_id)
        exists = sa.select(sa.func.count()).select_from(_P).where(_P.c.id == target.promise_id)
        return activities, promises, exists
    names = _kommun_variants(target.kommun or "")
    promises = sa.select(_P.c.id).where(sa.func.lower(_P.c.kommun).in_(names))
    activities = sa.select(_A.c.id).where(_A.c.promise_id.in_(promises))
    exists = sa.select(sa.func.count()).select_from(_P).where(_P.c.id.in_(promises))
    return activities, promises, exists


def _version_statement(target: FeedTarget, window: _Window) -> sa.Select[Any]:
    activities, promises, exists = _target_sets(target)
    shown = _O.c.status != _CANCELLED
    in_window = sa.and_(shown, _O.c.day >= window.first, _O.c.day <= window.last)
    aggregates = [
        exists.subquery("t"),
        sa.select(
            sa.func.count().label("o_n"),
            sa.func.max(_O.c.last_modified).label("o_lm"),
            sa.func.coalesce(sa.func.sum(_O.c.sequence), 0).label("o_seq"),
            sa.func.max(_O.c.updated_at).label("o_up"),
            sa.func.count(sa.case((in_window, 1))).label("w_n"),
            sa.func.max(sa.case((sa.and_(shown, _O.c.day < window.first), _O.c.day))).label("w_before"),
            sa.func.max(sa.case((sa.and_(shown, _O.c.day <= window.last), _O.c.day))).label("w_last"),
        )
        .where(_O.c.activity_id.in_(activities))
        .subquery("o"),
        sa.select(sa.func.count().label("a_n"), sa.func.max(_A.c.updated_at).label("a_up"))
        .where(_A.c.id.in_(activities))
        .subquery("a"),
        sa.select(sa.func.count().label("u_n"), sa.func.max(_U.c.updated_at).label("u_up"))
        .where(_U.c.promise_id.in_(promises))
        .subquery("u"),
        sa.select(sa.func.count().label("e_n"), sa.func.max(_E.c.updated_at).label("e_up"))
        .where(_E.c.promise_id.in_(promises))
        .subquery("e"),
        sa.select(sa.func.count().label("p_n"), sa.func.max(_P.c.updated_at).label("p_up"))
        .where(_P.c.id.in_(promises))
        .subquery("p"),
        sa.select(
            sa.func.count().label("ap_n"),
            sa.func.max(_AP.c.id).label("ap_id"),
            sa.func.max(_AP.c.updated_at).label("ap_up"),
        )
        .where(_AP.c.activity_id.in_(activities))
        .subquery("ap"),
        sa.select(
            sa.func.count().label("c_n"),
            sa.func.count(_C.c.undone_at).label("c_undone"),
            sa.func.max(_C.c.id).label("c_id"),
            sa.func.max(_C.c.updated_at).label("c_up"),
        )
        .where(_C.c.activity_id.in_(activities))
        .subquery("c"),
    ]
    joined: Any = aggregates[0]
    for sub in aggregates[1:]:
        joined = joined.join(sub, sa.true())
    return sa.select(*(column for sub in aggregates for column in sub.c)).select_from(joined)


_TIMESTAMPS = ("o_lm", "o_up", "a_up", "u_up", "e_up", "p_up", "ap_up", "c_up")


@dataclass(frozen=True, slots=True)
class _Key:
    """The aggregates of ``_version_statement``: equal keys mean equal bodies."""

    target: FeedTarget
    values: tuple[Any, ...]

    @classmethod
    def of(cls, target: FeedTarget, row: sa.Row[Any]) -> _Key:
        mapping = row._mapping
        values = []
        for name, raw in mapping.items():
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
class _EventRow:
    uid: str
    sequence: int
    last_modified: dt.datetime
    status: str
    day: dt.date
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    is_deadline: bool
    activity_id: int
    entity_id: int | None
    period_key: str


@dataclass(frozen=True, slots=True)
class _Context:
    """The rows a render needs besides the occurrences, by id."""

    activities: dict[int, sa.Row[Any]]
    units: dict[int, sa.Row[Any]]
    entities: dict[int, sa.Row[Any]]
    promises: dict[int, sa.Row[Any]]
    partners: dict[int, tuple[int, ...]]
    #: (activity_id, entity_id) -> sorted done_on of the completions that count
    done: dict[tuple[int, int | None], list[dt.date]]
    #: (activity_id, entity_id, period_key) -> planned (shown, non-deadline) occurrences
    planned: dict[tuple[int, int | None, str], int]


def _read_context(connection: Connection, target: FeedTarget) -> _Context:
    activities_q, promises_q, _ = _target_sets(target)
    activities = {
        row.id: row
        for row in connection.execute(
            sa.select(
                _A.c.id, _A.c.key, _A.c.title, _A.c.sentence, _A.c.rule, _A.c.preferences,
                _A.c.unit_id, _A.c.promise_id, _A.c.retired_at, _A.c.updated_at,
            ).where(_A.c.id.in_(activities_q))
        )
    }  # fmt: skip
    units = {
        row.id: row
        for row in connection.execute(
            sa.select(_U.c.id, _U.c.name, _U.c.retired_at).where(_U.c.promise_id.in_(promises_q))
        )
    }
    entities = {
        row.id: row
        for row in connection.execute(
            sa.select(_E.c.id, _E.c.name, _E.c.retired_at).where(_E.c.promise_id.in_(promises_q))
        )
    }
    promises = {
        row.id: row
        for row in connection.execute(
            sa.select(_P.c.id, _P.c.slug, _P.c.title, _P.c.kommun, _P.c.valid_from, _P.c.valid_until).where(
                _P.c.id.in_(promises_q)
            )
        )
    }
    partners: dict[int, list[int]] = {}
    for row in connection.execute(
        sa.select(_AP.c.activity_id, _AP.c.unit_id).where(_AP.c.activity_id.in_(activities_q)).order_by(_AP.c.id)
    ):
        partners.setdefault(row.activity_id, []).append(row.unit_id)
    done: dict[tuple[int, int | None], list[dt.date]] = {}
    for row in connection.execute(
        sa.select(_C.c.activity_id, _C.c.entity_id, _C.c.done_on)
        .where(_C.c.activity_id.in_(activities_q), _C.c.undone_at.is_(None))
        .order_by(_C.c.done_on)
    ):
        done.setdefault((row.activity_id, row.entity_id), []).append(row.done_on)
    planned = {
        (row.activity_id, row.entity_id, row.period_key): row.n
        for row in connection.execute(
            sa.select(_O.c.activity_id, _O.c.entity_id, _O.c.period_key, sa.func.count().label("n"))
            .where(_O.c.activity_id.in_(activities_q), _O.c.status != _CANCELLED, _O.c.slot >= 0)
            .group_by(_O.c.activity_id, _O.c.entity_id, _O.c.period_key)
        )
    }
    return _Context(
        activities=activities,
        units=units,
        entities=entities,
        promises=promises,
        partners={k: tuple(v) for k, v in partners.items()},
        done=done,
        planned=planned,
    )


def _read_events(connection: Connection, target: FeedTarget, window: _Window) -> list[_EventRow]:
    activities_q, _, _ = _target_sets(target)
    rows = connection.execute(
        sa.select(
            _O.c.uid, _O.c.sequence, _O.c.last_modified, _O.c.status, _O.c.day, _O.c.starts_at, _O.c.ends_at,
            _O.c.is_deadline, _O.c.activity_id, _O.c.entity_id, _O.c.period_key,
        )
        .where(
            _O.c.activity_id.in_(activities_q),
            _O.c.status != _CANCELLED,
            _O.c.day >= window.first,
            _O.c.day <= window.last,
        )
    )  # fmt: skip
    return [_EventRow(*row) for row in rows]


# -- the renderer ------------------------------------------------------------------------------------
_EventKey = tuple[Any, ...]


class FeedRenderer:
    """Renders feeds and answers freshness checks; caches events and feeds (see the module).

    ``base_url`` (no trailing slash needed) is where the web app's pages live, for the
    links back; ``past`` and ``future_months`` set the rolling window. Configuration does
    not change during the life of the object. Thread-safe.
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
        self._events: _LRU[_EventKey, bytes] = _LRU(max_events)
        self._feeds: _LRU[_Key, RenderedFeed] = _LRU(max_feed_bytes, weight=lambda feed: len(feed.body))
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

    # -- internals -----------------------------------------------------------------------------
    def window(self, now: dt.datetime) -> _Window:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        today = now.astimezone(_ZONE).date()
        return _Window(first=today - dt.timedelta(days=self.past.days), last=add_months(today, self.future_months))

    def _feed(self, target: FeedTarget, *, now: dt.datetime) -> RenderedFeed | None:
        window = self.window(now)
        with self._reader.connect() as connection:
            key = _Key.of(target, connection.execute(_version_statement(target, window)).one())
            if not key.exists:
                return None
            with self._lock:
                cached = self._feeds.get(key)
            if cached is not None:
                return cached
            context = _read_context(connection, target)
            events = _read_events(connection, target, window)
        feed = self._build(target, key, context, events)
        if feed is None:
            return None
        with self._lock:
            self._feeds.put(key, feed)
        return feed

    def _name(self, target: FeedTarget, context: _Context) -> str | None:
        if target.scope is FeedScope.UNIT:
            unit = context.units.get(target.unit_id or -1)
            return None if unit is None else f"Löfte – {unit.name}"
        if target.scope is FeedScope.PROMISE:
            promise = context.promises.get(target.promise_id or -1)
            return None if promise is None else f"Löfte – {promise.title}"
        wanted = (target.kommun or "").strip().casefold()
        matching = sorted(p.id for p in context.promises.values() if p.kommun.strip().casefold() == wanted)
        if not matching:
            return None
        return f"Löfte – medborgarlöften i {context.promises[matching[0]].kommun}"

    def _build(self, target: FeedTarget, key: _Key, context: _Context, rows: list[_EventRow]) -> RenderedFeed | None:
        name = self._name(target, context)
        if name is None:  # a kommun whose spelling only matched case-insensitively in ASCII
            return None
        if target.scope is FeedScope.KOMMUN:
            wanted = (target.kommun or "").strip().casefold()
            keep = {p.id for p in context.promises.values() if p.kommun.strip().casefold() == wanted}
            rows = [r for r in rows if context.activities[r.activity_id].promise_id in keep]
        rows.sort(key=lambda r: (r.day, r.starts_at or _local_midnight(r.day), r.uid))
        chunks: list[bytes] = []
        timed = False
        for row in rows:
            event_key = self._event_key(row, context)
            if event_key is None:
                continue
            timed = timed or row.starts_at is not None
            with self._lock:
                chunk = self._events.get(event_key)
            if chunk is None:
                chunk = _serialize_event(event_key)
                with self._lock:
                    self._events.put(event_key, chunk)
            chunks.append(chunk)
        head = _calendar_head(name, timed=timed)
        tail = b"END:VCALENDAR\r\n"
        size = len(head) + len(tail)
        kept = 0
        for chunk in chunks:
            if size + len(chunk) > self.max_body_bytes:
                break
            size += len(chunk)
            kept += 1
        if kept < len(chunks):
            last_day = _dtstart(chunks[kept - 1]) if kept else None
            log.warning(
                "feed %s trimmed to %d of %d events (%d bytes max); the far future after %s is left out",
                name, kept, len(chunks), self.max_body_bytes, last_day,
            )  # fmt: skip
        body = b"".join([head, *chunks[:kept], tail])
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        version = FeedVersion(
            etag=etag, last_modified=key.last_modified(past=self.past, future_months=self.future_months)
        )
        return RenderedFeed(body=body, version=version, name=name)

    def _quota(self, activity: sa.Row[Any], promise: sa.Row[Any]) -> ActivityQuota:
        cache_key = (activity.id, activity.updated_at, promise.valid_from, promise.valid_until)
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

    def _event_key(self, row: _EventRow, context: _Context) -> _EventKey | None:
        """Every value the VEVENT of ``row`` shows, or None when it is not shown."""
        activity = context.activities.get(row.activity_id)
        if activity is None or activity.retired_at is not None:
            return None
        unit = context.units.get(activity.unit_id)
        if unit is None or unit.retired_at is not None:
            return None
        entity = None
        if row.entity_id is not None:
            entity = context.entities.get(row.entity_id)
            if entity is None or entity.retired_at is not None:
                return None
        promise = context.promises[activity.promise_id]
        done = row.status == OccurrenceStatus.DONE.value
        entity_name = entity.name if entity is not None else None
        info = self._quota(activity, promise)
        span = info.span(row.period_key)
        done_count = 0
        if span is not None:
            days = context.done.get((row.activity_id, row.entity_id), ())
            done_count = sum(1 for d in days if span.start <= d <= span.end)
        quota = quota_line(
            info,
            span,
            done=done_count,
            planned=context.planned.get((row.activity_id, row.entity_id, row.period_key), 0),
            entity=entity_name,
        )
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
        if row.starts_at is None or row.ends_at is None or row.is_deadline:
            start: dt.date | dt.datetime = row.day
            end: dt.date | dt.datetime = row.day + dt.timedelta(days=1)
            transparent = True
        else:
            start, end = _local_or_utc(row.starts_at), _local_or_utc(row.ends_at)
            if row.ends_at <= row.starts_at:  # a zero-length plan: Outlook needs DTEND after DTSTART
                end = _local_or_utc(row.starts_at + dt.timedelta(minutes=1))
            transparent = False
        return (
            row.uid,
            row.last_modified,
            row.sequence,
            start,
            end,
            summary(activity.title, entity_name, done=done, deadline=row.is_deadline),
            text,
            str(location) if location else None,
            url,
            transparent,
        )


def _dtstart(chunk: bytes) -> str:
    """The DTSTART value of a serialised VEVENT (for the trim log line)."""
    for line in chunk.split(b"\r\n"):
        if line.startswith(b"DTSTART"):
            return line.split(b":", 1)[1].decode()
    return "?"


def _serialize_event(key: _EventKey) -> bytes:
    uid, stamp, sequence, start, end, title, text, location, url, transparent = key
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("last-modified", stamp)
    event.add("sequence", sequence)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", title)
    event.add("description", text)
    if location:
        event.add("location", location)
    event.add("url", url)
    event.add("status", "CONFIRMED")
    if transparent:
        event.add("transp", "TRANSPARENT")
    chunk: bytes = event.to_ical()
    return chunk


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
    cal.add("x-published-ttl", icalendar.vText(icalendar.vDuration(REFRESH_INTERVAL).to_ical().decode()))
    text: bytes = cal.to_ical()
    head = text.removesuffix(b"END:VCALENDAR\r\n")
    if timed:
        head += VTIMEZONE_STOCKHOLM.encode("ascii")
    return head

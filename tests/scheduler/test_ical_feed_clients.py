"""The feeds of the three examples as clients read them: golden files, the lint, and three
real parsers (icalendar, recurring-ical-events, ical.js under node) whose instants must
equal the engine's plan, including across the DST changes of Europe/Stockholm.

Golden files are ``tests/golden/feeds/<example>-<scope>.ics``, byte for byte (CRLF);
regenerate with ``pytest --force-regen`` after a deliberate change and read the diff.
The same bytes are expected from SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from sqlalchemy import Engine
from sqlmodel import Session, select

from scheduler.db import Activity, FeedScope, Occurrence, OccurrenceStatus, Promise, Unit, session_scope
from scheduler.ical_feed import FeedRenderer, FeedTarget
from scheduler.loader import load_file
from scheduler.store import OccurrenceDraft, upsert_occurrences
from tests.conftest import EXAMPLES, ROOT, need_service
from tests.scheduler.conftest import Seed, empty_tables
from tests.scheduler.test_ical_feed_lint import lint

GOLDEN = ROOT / "tests" / "golden" / "feeds"
STHLM = ZoneInfo("Europe/Stockholm")
JS = ROOT / "tests" / "js"
BASE = "https://lofte.example.se"
#: (example, when it is loaded, when the feed is asked for): each "now" shows a different window edge
CASES = {
    "astorp-2019": (dt.datetime(2018, 12, 1, 8, tzinfo=dt.UTC), dt.datetime(2019, 3, 1, 9, tzinfo=dt.UTC)),
    "hagfors-2022": (dt.datetime(2022, 6, 1, 8, tzinfo=dt.UTC), dt.datetime(2023, 1, 15, 9, tzinfo=dt.UTC)),
    "orkelljunga-2022": (dt.datetime(2022, 2, 20, 8, tzinfo=dt.UTC), dt.datetime(2022, 3, 15, 9, tzinfo=dt.UTC)),
}
SCOPES = ("promise", "kommun", "unit-polisen", "unit-kommunen")


@pytest.fixture(scope="module")
def loaded(migrated: Engine) -> Iterator[Engine]:
    """The three examples, loaded once per backend (read-only for this module's tests)."""
    empty_tables(migrated)
    for name, (load_at, _) in CASES.items():
        load_file(migrated, EXAMPLES / f"{name}.yaml", now=load_at)
    yield migrated
    empty_tables(migrated)


def target(engine: Engine, example: str, scope: str) -> FeedTarget:
    with Session(engine) as s:
        promise = s.exec(select(Promise).where(Promise.slug == example)).one()
        if scope == "promise":
            return FeedTarget(FeedScope.PROMISE, promise_id=promise.id)
        if scope == "kommun":
            return FeedTarget(FeedScope.KOMMUN, kommun=promise.kommun.upper())
        key = scope.removeprefix("unit-")
        unit = s.exec(select(Unit).where(Unit.promise_id == promise.id, Unit.key == key)).one()
        return FeedTarget(FeedScope.UNIT, unit_id=unit.id)


@pytest.fixture(scope="module")
def feeds(loaded: Engine) -> dict[str, bytes]:
    renderer = FeedRenderer(loaded, base_url=BASE)
    out = {}
    for example, (_, now) in CASES.items():
        for scope in SCOPES:
            feed = renderer.render(target(loaded, example, scope), now=now)
            assert feed is not None
            out[f"{example}-{scope}"] = feed.body
    return out


def planned(engine: Engine) -> dict[str, Occurrence]:
    with Session(engine) as s:
        return {o.uid: o for o in s.exec(select(Occurrence))}


# -- golden files and the lint ----------------------------------------------------------------------
@pytest.mark.parametrize("case", [f"{e}-{s}" for e in CASES for s in SCOPES])
def test_golden_feed(case: str, feeds: dict[str, bytes], file_regression: object) -> None:
    file_regression.check(feeds[case], binary=True, fullpath=GOLDEN / f"{case}.ics")  # type: ignore[attr-defined]


def test_every_feed_passes_the_lint(feeds: dict[str, bytes]) -> None:
    assert {case: lint(body) for case, body in feeds.items() if lint(body)} == {}
    assert all(body.count(b"BEGIN:VEVENT") > 0 for case, body in feeds.items() if "unit" not in case)


def test_feeds_show_the_window_of_now(loaded: Engine, feeds: dict[str, bytes]) -> None:
    """Hagfors at 2023-01-15: nothing before 2022-10-17, nothing after 2024-07-15, all in between."""
    stored = planned(loaded)
    uids = set(icalendar_events(feeds["hagfors-2022-promise"]))
    with Session(loaded) as s:
        hagfors = s.exec(select(Promise).where(Promise.slug == "hagfors-2022")).one()
        ids = {a.id for a in s.exec(select(Activity).where(Activity.promise_id == hagfors.id))}
    expected = {
        o.uid
        for o in stored.values()
        if o.activity_id in ids
        and o.status is not OccurrenceStatus.CANCELLED
        and dt.date(2022, 10, 17) <= o.day <= dt.date(2024, 7, 15)
    }
    assert uids == expected
    assert any(o.activity_id in ids and o.day < dt.date(2022, 10, 17) for o in stored.values())  # some were left out


# -- three parsers, one plan --------------------------------------------------------------------------
def icalendar_events(body: bytes) -> dict[str, tuple[object, object]]:
    cal = icalendar.Calendar.from_ical(body)
    assert icalendar.Calendar.from_ical(cal.to_ical()) == cal  # and round-trips
    return {str(e["UID"]): (e["DTSTART"].dt, e["DTEND"].dt) for e in cal.walk("VEVENT")}


def expected_instants(o: Occurrence) -> tuple[object, object]:
    if o.starts_at is None or o.is_deadline:
        return o.day, o.day + dt.timedelta(days=1)
    assert o.ends_at is not None
    return o.starts_at, max(o.ends_at, o.starts_at + dt.timedelta(minutes=1))


def as_utc(value: object) -> object:
    if isinstance(value, dt.datetime):
        assert value.tzinfo is not None, "a floating time"
        return value.astimezone(dt.UTC)
    return value


def check_icalendar(body: bytes, stored: dict[str, Occurrence]) -> int:
    events = icalendar_events(body)
    for uid, (start, end) in events.items():
        assert (as_utc(start), as_utc(end)) == expected_instants(stored[uid]), uid
    return len(events)


def in_the_repeated_hour(o: Occurrence) -> bool:
    """Starts or ends in October's repeated hour (a local time that happens twice)."""

    def ambiguous(value: dt.datetime | None) -> bool:
        local = None if value is None else value.astimezone(STHLM)
        return local is not None and local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()

    return ambiguous(o.starts_at) or ambiguous(o.ends_at)


def check_recurring(body: bytes, stored: dict[str, Occurrence], *, skip: frozenset[str] = frozenset()) -> int:
    cal = icalendar.Calendar.from_ical(body)
    found = recurring_ical_events.of(cal).between(dt.date(2000, 1, 1), dt.date(2100, 1, 1))
    assert len(found) == len(cal.walk("VEVENT"))  # no event expands to more than itself
    for event in found:
        uid = str(event["UID"])
        if uid in skip:
            continue
        assert (as_utc(event["DTSTART"].dt), as_utc(event["DTEND"].dt)) == expected_instants(stored[uid]), uid
    return len(found)


def node_harness() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        need_service("node and npm are needed to run ical.js (tests/js)")
    if not (JS / "node_modules" / "ical.js").is_dir():
        command = [npm, "ci"] if (JS / "package-lock.json").is_file() else [npm, "install"]
        done = subprocess.run([*command, "--no-audit", "--no-fund"], cwd=JS, capture_output=True, text=True,
                              timeout=300, check=False)  # fmt: skip
        if done.returncode != 0:
            need_service(f"npm could not install ical.js in tests/js: {done.stderr[-500:]}")
    return JS / "expand.mjs"


def ical_js(bodies: dict[str, bytes], tmp_path: Path) -> dict[str, dict[str, dict[str, object]]]:
    script = node_harness()
    files = {}
    for name, body in bodies.items():
        path = tmp_path / f"{name}.ics"
        path.write_bytes(body)
        files[str(path)] = name
    done = subprocess.run(["node", str(script), *files], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return {files[path]: events for path, events in json.loads(done.stdout).items()}


def check_ical_js(events: dict[str, dict[str, object]], stored: dict[str, Occurrence]) -> int:
    for uid, event in events.items():
        start, end = expected_instants(stored[uid])
        if event["allDay"]:
            assert (event["start"], event["end"]) == (str(start), str(end)), uid
        else:
            assert isinstance(start, dt.datetime)
            assert isinstance(end, dt.datetime)
            assert (event["start"], event["end"]) == (f"{start:%Y-%m-%dT%H:%M:%SZ}", f"{end:%Y-%m-%dT%H:%M:%SZ}"), uid
    return len(events)


def test_parsers_agree_with_the_plan(loaded: Engine, feeds: dict[str, bytes], tmp_path: Path) -> None:
    stored = planned(loaded)
    js = ical_js(feeds, tmp_path)
    for case, body in feeds.items():
        n = body.count(b"BEGIN:VEVENT")
        assert check_icalendar(body, stored) == n, case
        assert check_recurring(body, stored) == n, case
        assert check_ical_js(js[case], stored) == n, case


# -- the DST changes of Europe/Stockholm ------------------------------------------------------------
# 2025-03-30: 02:00 CET -> 03:00 CEST (01:00 UTC); local 02:00-03:00 does not exist.
# 2025-10-26: 03:00 CEST -> 02:00 CET (01:00 UTC); local 02:00-03:00 happens twice.
# Each instant below is stored in UTC; the feed writes it in local time with TZID, or in
# UTC inside the repeated October hour, and every parser must give back the same instant.
DST = [
    ("2025-03-29T13:00:00+00:00", 120, "DTSTART;TZID=Europe/Stockholm:20250329T140000"),  # CET, day before
    (
        "2025-03-30T00:30:00+00:00",
        60,
        "DTSTART;TZID=Europe/Stockholm:20250330T013000",
    ),  # CET, ends 02:30 UTC+... = 03:30 CEST
    ("2025-03-30T01:30:00+00:00", 60, "DTSTART;TZID=Europe/Stockholm:20250330T033000"),  # CEST, just after
    ("2025-03-31T16:00:00+00:00", 90, "DTSTART;TZID=Europe/Stockholm:20250331T180000"),  # CEST, day after
    ("2025-10-25T16:00:00+00:00", 90, "DTSTART;TZID=Europe/Stockholm:20251025T180000"),  # CEST, day before
    ("2025-10-26T00:30:00+00:00", 60, "DTSTART:20251026T003000Z"),  # 02:30 CEST, first pass
    ("2025-10-26T01:30:00+00:00", 60, "DTSTART:20251026T013000Z"),  # 02:30 CET, second pass
    ("2025-10-26T02:30:00+00:00", 60, "DTSTART;TZID=Europe/Stockholm:20251026T033000"),  # CET
    ("2025-10-26T23:00:00+00:00", 60, "DTSTART;TZID=Europe/Stockholm:20251027T000000"),  # CET, local midnight
]


def test_instants_across_dst_changes(engine: Engine, seed: Seed, tmp_path: Path) -> None:
    drafts = []
    for slot, (start, minutes, _) in enumerate(DST):
        begin = dt.datetime.fromisoformat(start)
        local_day = begin.astimezone(dt.timezone(dt.timedelta(hours=1))).date()
        drafts.append(OccurrenceDraft(activity="mpk", period_key="2025", slot=slot, day=local_day, start=begin,
                                      end=begin + dt.timedelta(minutes=minutes)))  # fmt: skip
    drafts.append(OccurrenceDraft(activity="mpk", period_key="2025", slot=-1, day=dt.date(2025, 10, 26)))
    drafts.append(OccurrenceDraft(activity="mpk", period_key="2025", slot=len(DST), day=dt.date(2025, 3, 30)))
    with session_scope(engine) as s:
        promise = s.get(Promise, seed.promise.id)
        assert promise is not None
        upsert_occurrences(s, promise, drafts, now=dt.datetime(2025, 1, 2, tzinfo=dt.UTC))
    feed = FeedRenderer(engine, base_url=BASE).render(
        FeedTarget(FeedScope.PROMISE, promise_id=seed.promise.id), now=dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    )
    assert feed is not None
    assert lint(feed.body) == []
    text = feed.body.decode()
    for _, _, line in DST:
        assert f"\r\n{line}\r\n" in text
    assert "\r\nDTSTART;VALUE=DATE:20251026\r\nDTEND;VALUE=DATE:20251027\r\n" in text
    assert "Sista dag: Mobila poliskontoret på torget" in text
    stored = planned(engine)
    assert len(stored) == len(DST) + 2
    assert check_icalendar(feed.body, stored) == len(stored)
    crossing = frozenset(uid for uid, o in stored.items() if in_the_repeated_hour(o))
    assert len(crossing) == 2
    assert check_recurring(feed.body, stored, skip=crossing) == len(stored)
    assert check_ical_js(ical_js({"dst": feed.body}, tmp_path)["dst"], stored) == len(stored)


@pytest.mark.xfail(strict=True, reason="recurring-ical-events 3.8 with X-WR-TIMEZONE turns UTC into local times and "
                   "loses the fold: 02:30 CET (01:30Z) comes back as 02:30 CEST (00:30Z)")  # fmt: skip
def test_recurring_ical_events_across_the_repeated_hour() -> None:
    """Upstream limitation, kept visible: when this passes, drop ``skip`` above."""
    from scheduler.ical_plan import VTIMEZONE_STOCKHOLM

    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//SV\r\nX-WR-TIMEZONE:Europe/Stockholm\r\n"
        + VTIMEZONE_STOCKHOLM
        + "BEGIN:VEVENT\r\nUID:u\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20251026T003000Z\r\n"
        "DTEND:20251026T013000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (event,) = recurring_ical_events.of(icalendar.Calendar.from_ical(body)).between(
        dt.date(2025, 1, 1), dt.date(2026, 1, 1)
    )
    assert event["DTSTART"].dt.astimezone(dt.UTC) == dt.datetime(2025, 10, 26, 1, 30, tzinfo=dt.UTC)

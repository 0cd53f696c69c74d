"""``scheduler.ical_feed``: what a feed shows, its versions and its caches, on SQLite and PostgreSQL.

Every test here writes to the database through the store helpers a real load or a
person would use (``load_file``, ``record_completion``, ``upsert_occurrences``) and
reads the feed back through ``FeedRenderer``.
"""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from scheduler.db import (
    Activity,
    Completion,
    Entity,
    FeedScope,
    FeedToken,
    Occurrence,
    OccurrenceStatus,
    Promise,
    Unit,
    session_scope,
)
from scheduler.ical_feed import FeedRenderer, FeedTarget, FeedVersion, add_months
from scheduler.loader import load_file
from scheduler.store import hash_feed_token, new_feed_token, record_completion, undo_completion
from tests.conftest import EXAMPLES

STHLM = ZoneInfo("Europe/Stockholm")
BASE = "https://lofte.example.se"
LOAD_AT = dt.datetime(2019, 1, 2, 8, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2019, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def astorp(engine: Engine) -> Promise:
    load_file(engine, EXAMPLES / "astorp-2019.yaml", now=LOAD_AT)
    with Session(engine) as s:
        return s.exec(select(Promise)).one()


def ids(engine: Engine, model: type, **where: object) -> int:
    with Session(engine) as s:
        row = s.exec(select(model).filter_by(**where)).one()
        return int(row.id)


def events(body: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def by_uid(body: bytes) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in events(body)}


# -- targets ---------------------------------------------------------------------------------
def test_target_of_token_rows() -> None:
    digest = hash_feed_token(new_feed_token())
    unit = FeedToken(scope=FeedScope.UNIT, unit_id=3, promise_id=1, token_hash=digest)
    assert FeedTarget.of(unit) == FeedTarget(FeedScope.UNIT, unit_id=3)
    promise = FeedToken(scope=FeedScope.PROMISE, promise_id=1, token_hash=digest)
    assert FeedTarget.of(promise) == FeedTarget(FeedScope.PROMISE, promise_id=1)
    kommun = FeedToken(scope=FeedScope.KOMMUN, kommun="Åstorp", token_hash=digest)
    assert FeedTarget.of(kommun) == FeedTarget(FeedScope.KOMMUN, kommun="Åstorp")


@pytest.mark.parametrize(
    "fields",
    [{"scope": FeedScope.UNIT}, {"scope": FeedScope.PROMISE, "unit_id": 1}, {"scope": FeedScope.KOMMUN, "kommun": " "},
     {"scope": FeedScope.PROMISE, "promise_id": 1, "kommun": "Åstorp"}],
    ids=["unit-without-id", "promise-with-unit", "blank-kommun", "two-fields"],
)  # fmt: skip
def test_target_rejects_mixed_fields(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="feed needs"):
        FeedTarget(**fields)  # type: ignore[arg-type]


def test_add_months_clips_to_the_month_end() -> None:
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2025, 8, 31), 18) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2025, 3, 15), -18) == dt.date(2023, 9, 15)


# -- what the three scopes show ---------------------------------------------------------------------------
def test_promise_feed_shows_the_shown_occurrences_of_the_window(engine: Engine, astorp: Promise) -> None:
    feed = FeedRenderer(engine, base_url=BASE + "/").render(
        FeedTarget(FeedScope.PROMISE, promise_id=astorp.id), now=NOW
    )
    assert feed is not None
    assert feed.name == "Löfte – Medborgarlöfte Åstorp 2019"
    with Session(engine) as s:
        stored = s.exec(select(Occurrence).where(Occurrence.status != OccurrenceStatus.CANCELLED)).all()
    shown = by_uid(feed.body)
    assert set(shown) == {o.uid for o in stored}  # the whole of 2019 is inside [NOW - 90 d, NOW + 18 months]
    assert len(shown) > 10
    for o in stored:
        event = shown[o.uid]
        assert int(event["SEQUENCE"]) == o.sequence
        assert event["LAST-MODIFIED"].dt == o.last_modified == event["DTSTAMP"].dt
        assert str(event["URL"]).startswith(f"{BASE}/loften/astorp-2019/aktiviteter/")
        assert "Ansvarig: " in str(event["DESCRIPTION"])


def test_unit_feed_shows_only_that_units_activities(engine: Engine, astorp: Promise) -> None:
    renderer = FeedRenderer(engine, base_url=BASE)
    with Session(engine) as s:
        units = {u.key: u for u in s.exec(select(Unit))}
        responsible = {a.id: a.unit_id for a in s.exec(select(Activity))}
        stored = {o.uid: responsible[o.activity_id] for o in s.exec(select(Occurrence))}
    seen: set[str] = set()
    for unit in units.values():
        feed = renderer.render(FeedTarget(FeedScope.UNIT, unit_id=unit.id), now=NOW)
        assert feed is not None
        assert feed.name == f"Löfte – {unit.name}"
        uids = set(by_uid(feed.body))
        assert all(stored[uid] == unit.id for uid in uids)
        seen |= uids
    assert seen == set(stored)


def test_kommun_feed_matches_the_name_in_any_case(engine: Engine, astorp: Promise) -> None:
    load_file(engine, EXAMPLES / "orkelljunga-2022.yaml", now=LOAD_AT)
    renderer = FeedRenderer(engine, base_url=BASE)
    promise_feed = renderer.render(FeedTarget(FeedScope.PROMISE, promise_id=astorp.id), now=NOW)
    assert promise_feed is not None
    for spelling in ("Åstorp", "åstorp", "ÅSTORP", " Åstorp "):
        feed = renderer.render(FeedTarget(FeedScope.KOMMUN, kommun=spelling), now=NOW)
        assert feed is not None, spelling
        assert feed.name == "Löfte – medborgarlöften i Åstorp"
        assert set(by_uid(feed.body)) == set(by_uid(promise_feed.body))  # Örkelljunga's are not in it
    assert renderer.render(FeedTarget(FeedScope.KOMMUN, kommun="Astorp"), now=NOW) is None


def test_a_target_that_is_gone_gives_none(engine: Engine, astorp: Promise) -> None:
    renderer = FeedRenderer(engine, base_url=BASE)
    assert renderer.render(FeedTarget(FeedScope.PROMISE, promise_id=astorp.id + 100), now=NOW) is None
    assert renderer.version(FeedTarget(FeedScope.UNIT, unit_id=10_000), now=NOW) is None
    assert renderer.version(FeedTarget(FeedScope.KOMMUN, kommun="Ingenstans"), now=NOW) is None


# -- versions and bytes ---------------------------------------------------------------------------
def test_body_and_version_are_stable_without_changes(engine: Engine, astorp: Promise) -> None:
    target = FeedTarget(FeedScope.PROMISE, promise_id=astorp.id)
    first = FeedRenderer(engine, base_url=BASE).render(target, now=NOW)
    second = FeedRenderer(engine, base_url=BASE).render(target, now=NOW + dt.timedelta(hours=3))
    assert first is not None
    assert second is not None
    assert first.body == second.body
    assert first.version == second.version
    assert first.version.etag.startswith('"')
    assert first.version.etag.endswith('"')
    assert first.version.last_modified.tzinfo is dt.UTC
    assert first.version.last_modified.microsecond == 0


def test_done_occurrence_is_shown_done_with_a_higher_sequence(engine: Engine, astorp: Promise) -> None:
    renderer = FeedRenderer(engine, base_url=BASE)
    target = FeedTarget(FeedScope.PROMISE, promise_id=astorp.id)
    before = renderer.render(target, now=NOW)
    assert before is not None
    later = NOW + dt.timedelta(days=1)
    with session_scope(engine) as s:
        activity = s.exec(select(Activity).where(Activity.key == "informationskvallar")).one()
        entity = s.exec(select(Entity).where(Entity.key == "bjorkskolan")).one()
        occ = s.exec(
            select(Occurrence).where(Occurrence.activity_id == activity.id, Occurrence.entity_id == entity.id)
            .order_by(Occurrence.day)
        ).first()  # fmt: skip
        assert occ is not None
        uid, old_sequence = occ.uid, occ.sequence
        record_completion(s, activity=activity, entity=entity, occurrence=occ, done_on=occ.day,
                          recorded_by="test", now=later)  # fmt: skip
    version = renderer.version(target, now=NOW)
    after = renderer.render(target, now=NOW)
    assert after is not None
    assert version == after.version != before.version
    # >=, not >: updated_at columns come from the real clock (ORM defaults), and HTTP dates have seconds
    assert after.version.last_modified >= before.version.last_modified
    event = by_uid(after.body)[uid]
    assert int(event["SEQUENCE"]) == old_sequence + 1
    assert event["LAST-MODIFIED"].dt == later
    assert str(event["SUMMARY"]).startswith("✔ Genomförd: ")
    assert "Kvot för Björkskolan: 1 av 1 genomförda under vårterminen 2019" in str(event["DESCRIPTION"])
    assert str(by_uid(before.body)[uid]["SUMMARY"]).startswith("Informationskväll")


def test_concurrent_renders_agree(engine: Engine, astorp: Promise) -> None:
    renderer = FeedRenderer(engine, base_url=BASE)
    target = FeedTarget(FeedScope.PROMISE, promise_id=astorp.id)
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                feed = renderer.render(target, now=NOW)
                assert feed is not None
                results.append(feed.body)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 12
    assert len(set(results)) == 1


def test_version_is_a_feed_version(engine: Engine, astorp: Promise) -> None:
    version = FeedRenderer(engine, base_url=BASE).version(FeedTarget(FeedScope.PROMISE, promise_id=astorp.id), now=NOW)
    assert isinstance(version, FeedVersion)


# -- version() changes exactly when the body does ----------------------------------------------------
def _first(s: Session, activity_key: str) -> tuple[Activity, Occurrence]:
    activity = s.exec(select(Activity).where(Activity.key == activity_key)).one()
    occ = s.exec(select(Occurrence).where(Occurrence.activity_id == activity.id).order_by(Occurrence.day)).first()
    assert occ is not None
    return activity, occ


def _complete(s: Session, at: dt.datetime) -> None:
    activity, occ = _first(s, "informationskvallar")
    entity = s.get(Entity, occ.entity_id)
    record_completion(s, activity=activity, entity=entity, occurrence=occ, done_on=occ.day, recorded_by="t", now=at)


def _undo(s: Session, at: dt.datetime) -> None:
    completion = s.exec(select(Completion).where(Completion.undone_at.is_(None))).first()  # type: ignore[union-attr]
    assert completion is not None
    undo_completion(s, completion, by="t", now=at)


def _move(s: Session, at: dt.datetime) -> None:
    _, occ = _first(s, "informationskvallar")
    assert occ.starts_at is not None
    assert occ.ends_at is not None
    occ.starts_at, occ.ends_at = occ.starts_at + dt.timedelta(hours=1), occ.ends_at + dt.timedelta(hours=1)
    occ.status, occ.manual, occ.sequence, occ.last_modified = OccurrenceStatus.MOVED, True, occ.sequence + 1, at


def _email(s: Session, at: dt.datetime) -> None:
    unit = s.exec(select(Unit).where(Unit.key == "kommunen")).one()
    unit.email = "ny.adress@example.se"  # not shown in a feed


def _rename_entity(s: Session, at: dt.datetime) -> None:
    s.exec(select(Entity).where(Entity.key == "ekskolan")).one().name = "Ekskolan (ny)"


def _retire_activity(s: Session, at: dt.datetime) -> None:
    activity, _ = _first(s, "informationskvallar")
    activity.retired_at = at


def _cancel(s: Session, at: dt.datetime) -> None:
    activity = s.exec(select(Activity).where(Activity.key == "forelasningar")).one()
    occ = s.exec(select(Occurrence).where(Occurrence.activity_id == activity.id)).first()
    assert occ is not None
    occ.status, occ.sequence, occ.last_modified = OccurrenceStatus.CANCELLED, occ.sequence + 1, at


EDITS = [  # (name, edit, does the body change?)
    ("nothing", lambda s, at: None, False),
    ("complete", _complete, True),
    ("undo", _undo, True),
    ("move", _move, True),
    ("unit-email", _email, False),
    ("rename-entity", _rename_entity, True),
    ("cancel", _cancel, True),
    ("retire-activity", _retire_activity, True),
]


def test_version_changes_exactly_when_the_body_does(engine: Engine, astorp: Promise) -> None:
    renderer = FeedRenderer(engine, base_url=BASE)
    target = FeedTarget(FeedScope.PROMISE, promise_id=astorp.id)
    before = renderer.render(target, now=NOW)
    assert before is not None
    for n, (name, edit, changes) in enumerate(EDITS):
        at = NOW + dt.timedelta(days=n + 1)
        with session_scope(engine) as s:
            edit(s, at)
        version = renderer.version(target, now=NOW)
        fresh = FeedRenderer(engine, base_url=BASE).render(target, now=NOW)  # no cache: the truth
        after = renderer.render(target, now=NOW)
        assert fresh is not None
        assert after is not None
        assert after.body == fresh.body, name  # the caches never serve a stale body
        assert (after.body != before.body) is changes, name
        assert version == after.version, name
        assert (after.version.etag != before.version.etag) is changes, name
        assert after.version.last_modified >= before.version.last_modified, name
        old, new = by_uid(before.body), by_uid(after.body)
        assert all(int(new[u]["SEQUENCE"]) >= int(old[u]["SEQUENCE"]) for u in old.keys() & new.keys()), name
        before = after


# Hand-written SQL (psql, sqlite3, a script) that changes what a feed shows without
# touching updated_at: the database's row_version triggers (migration 0007) must bring it
# to the feed. One statement per table of the version key.
HAND_EDITS = [
    ("promise", "UPDATE promise SET title = 'Handändrat löfte'", "Handändrat löfte"),
    ("unit", "UPDATE unit SET name = 'Handändrad enhet'", "Handändrad enhet"),
    ("entity", "UPDATE entity SET name = 'Handändrad skola'", "Handändrad skola"),
    ("activity", "UPDATE activity SET title = 'Handändrad aktivitet'", "Handändrad aktivitet"),
    (
        "occurrence",  # an event moved to another day
        "UPDATE occurrence SET day = '2019-03-20' WHERE id ="
        " (SELECT min(id) FROM occurrence WHERE day > '2019-04-01' AND status = 'planned' AND is_deadline = FALSE)",
        None,
    ),
    (
        "activity_partner",  # another unit as a partner
        "UPDATE activity_partner SET unit_id = (SELECT min(u.id) FROM unit u WHERE u.id NOT IN"
        " (SELECT p.unit_id FROM activity_partner p WHERE p.activity_id = activity_partner.activity_id))"
        " WHERE id = (SELECT min(id) FROM activity_partner)",
        None,
    ),
    ("completion", "UPDATE completion SET undone_at = created_at", "0 av 1 genomförda"),  # no longer counts
]


@pytest.mark.parametrize(("table", "sql", "text"), HAND_EDITS, ids=[edit[0] for edit in HAND_EDITS])
def test_a_hand_written_update_reaches_the_feed(
    engine: Engine, astorp: Promise, table: str, sql: str, text: str | None
) -> None:
    renderer = FeedRenderer(engine, base_url=BASE)
    target = FeedTarget(FeedScope.PROMISE, promise_id=astorp.id)
    with session_scope(engine) as s:  # a completion to edit, through the ORM
        activity, occurrence = _first(s, "informationskvallar")
        record_completion(s, activity=activity, done_on=occurrence.day, recorded_by="test", now=NOW,
                          occurrence=occurrence)  # fmt: skip
    before = renderer.render(target, now=NOW)
    assert before is not None
    with engine.begin() as connection:
        versions = f"SELECT sum(row_version) FROM {table}"  # noqa: S608 - constant names
        old = connection.exec_driver_sql(versions).scalar()
        changed = connection.exec_driver_sql(sql).rowcount
        assert changed, sql
        assert connection.exec_driver_sql(versions).scalar() == old + changed  # one per row, by the trigger
    after = renderer.render(target, now=NOW)
    fresh = FeedRenderer(engine, base_url=BASE).render(target, now=NOW)  # no cache: the truth
    assert after is not None
    assert fresh is not None
    assert after.body == fresh.body, table  # never the stale body from the cache
    assert after.version == renderer.version(target, now=NOW)
    if table != "activity_partner":  # the example's partner activities have no event this feed shows now
        assert after.body != before.body, table
        assert after.version.etag != before.version.etag, table
    if text is not None:
        assert text in after.body.decode(), table


def test_an_orm_update_bumps_the_row_version_once(engine: Engine, astorp: Promise) -> None:
    with session_scope(engine) as s:
        activity = s.exec(select(Activity).where(Activity.key == "informationskvallar")).one()
        assert activity.row_version == 0
        activity.title = "Ny titel"
    with session_scope(engine) as s:
        assert s.exec(select(Activity).where(Activity.key == "informationskvallar")).one().row_version == 1


def test_the_window_rolls(engine: Engine, astorp: Promise) -> None:
    renderer = FeedRenderer(engine, base_url=BASE)
    target = FeedTarget(FeedScope.PROMISE, promise_id=astorp.id)
    with Session(engine) as s:
        days = sorted(o.day for o in s.exec(select(Occurrence)))
    first = days[0]
    # the day before the first occurrence leaves the window, and the day it does
    keep = dt.datetime.combine(first + dt.timedelta(days=90), dt.time(12), tzinfo=STHLM)
    drop = keep + dt.timedelta(days=1)
    a, b = renderer.render(target, now=keep), renderer.render(target, now=keep - dt.timedelta(days=20))
    c = renderer.render(target, now=drop)
    assert a is not None
    assert b is not None
    assert c is not None
    assert a.body == b.body  # the window moved over nothing
    assert a.version == b.version
    assert len(by_uid(c.body)) < len(by_uid(a.body))
    assert c.version.etag != a.version.etag
    assert c.version.last_modified >= dt.datetime.combine(drop.date(), dt.time(0), tzinfo=STHLM)
    assert renderer.window(drop)[0] == first + dt.timedelta(days=1)

"""``scheduler.store`` on SQLite and PostgreSQL: find-or-create, the occurrence upsert
(UIDs stable, SEQUENCE raised only on visible change, manual rows left alone),
completions with undo/correction, and notification decisions recorded once."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from rules.holidays_se import WorkCalendar
from rules.model import Kind, Period, Quota, Rule, Unit, Window
from rules.planner import ActivityPlanInput, PlannedOccurrence, plan
from scheduler.db import AuditEvent, Completion, Entity, Notification, Occurrence, OccurrenceStatus, Promise
from scheduler.db import Unit as UnitRow
from scheduler.ical_plan import occurrence_uid as ical_uid
from scheduler.store import (
    OccurrenceDraft,
    UnknownKeyError,
    content_hash,
    correct_completion,
    decide_notification,
    get_or_create,
    hash_feed_token,
    new_feed_token,
    notification_key,
    occurrence_uid,
    record_completion,
    touch_occurrences,
    undo_completion,
    upsert,
    upsert_occurrences,
)

if TYPE_CHECKING:
    from tests.scheduler.conftest import Seed

STHLM = ZoneInfo("Europe/Stockholm")
T0 = dt.datetime(2025, 2, 1, 8, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)
T2 = T0 + dt.timedelta(days=2)


def mpk_plan() -> list[PlannedOccurrence]:
    """2 per month at 14:00 over March–April 2025 (across the DST change), from the planner."""
    rule = Rule(kind=Kind.QUOTA, quota=Quota(min=2, max=2), period=Period(unit=Unit.MONTH))
    result = plan([ActivityPlanInput(key="mpk", rule=rule, time=dt.time(14, 0))],
                  window=Window(start=dt.date(2025, 3, 1), end=dt.date(2025, 4, 30)), work=WorkCalendar())  # fmt: skip
    return list(result.occurrences)


def draft(slot: int = 0, *, day: dt.date = dt.date(2025, 3, 12), entity: str = "", activity: str = "forelasningar",
          period: str = "2025-vt", hour: int | None = 18) -> OccurrenceDraft:  # fmt: skip
    start = None if hour is None else dt.datetime.combine(day, dt.time(hour), STHLM).astimezone(dt.UTC)
    end = None if start is None else start + dt.timedelta(hours=1)
    return OccurrenceDraft(activity=activity, entity=entity, period_key=period, slot=slot, day=day, start=start,
                           end=end)  # fmt: skip


def stored(session: Session) -> dict[tuple[int, int | None, str, int], Occurrence]:
    session.expire_all()
    rows = session.exec(select(Occurrence)).all()
    return {(o.activity_id, o.entity_id, o.period_key, o.slot): o for o in rows}


# -- helpers ------------------------------------------------------------------------------------------
def test_get_or_create_and_upsert(session: Session, seed: Seed) -> None:
    unit, created = get_or_create(session, UnitRow, promise_id=seed.promise.id, key="polisen",
                                  defaults={"name": "ignored"})  # fmt: skip
    assert (unit.id, created, unit.name) == (seed.polisen.id, False, "Lokalpolisområde Klippan")
    defaults = {"name": "Socialtjänsten i Åstorp", "parent_id": seed.kommunen.id}
    unit, created = get_or_create(session, UnitRow, promise_id=seed.promise.id, key="socialtjänsten",
                                  defaults=defaults)  # fmt: skip
    assert created
    assert unit.id is not None
    session.commit()
    before = unit.updated_at

    row, created, changed = upsert(session, UnitRow, keys={"promise_id": seed.promise.id, "key": "socialtjänsten"},
                                   values={"name": "Socialtjänsten i Åstorp", "email": None})  # fmt: skip
    assert (row.id, created, changed) == (unit.id, False, [])
    session.commit()
    session.refresh(row)
    assert row.updated_at == before  # nothing changed, no UPDATE

    row, created, changed = upsert(session, UnitRow, keys={"promise_id": seed.promise.id, "key": "socialtjänsten"},
                                   values={"name": "Socialtjänsten", "email": "soc@astorp.example.se"})  # fmt: skip
    assert (created, changed) == (False, ["name", "email"])
    session.commit()
    session.refresh(row)
    assert row.updated_at > before


def test_small_helpers() -> None:
    assert (
        content_hash(b"abc")
        == content_hash("abc")
        == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    )
    assert content_hash({"d": dt.date(2025, 3, 30), "t": "Åstorp"}) == content_hash({"t": "Åstorp", "d": "2025-03-30"})
    token = new_feed_token()
    assert len(token) >= 43
    assert token != new_feed_token()
    assert len(hash_feed_token(token)) == 64
    with pytest.raises(ValueError, match=r"'\|' cannot be part"):
        notification_key(recipient="a@b.se", promise="p|q", activity="a", level="due")


def test_uids_are_the_ones_lofte_plan_writes() -> None:
    for o in mpk_plan():
        assert occurrence_uid("astorp-2025", o.activity, o.entity, o.period_key, o.slot) == ical_uid("astorp-2025", o)


# -- upsert_occurrences -------------------------------------------------------------------------------
class TestUpsertOccurrences:
    def test_first_load_creates_rows_with_stable_uids_and_sequence_zero(self, session: Session, seed: Seed) -> None:
        planned = mpk_plan()
        changes = upsert_occurrences(session, seed.promise, planned, now=T0)
        session.commit()
        assert (len(changes.created), changes.updated, changes.cancelled, changes.unchanged) == (4, [], [], 0)
        rows = sorted(stored(session).values(), key=lambda o: o.day)
        assert [o.uid for o in rows] == [ical_uid("astorp-2025", o) for o in planned]
        assert {(o.sequence, o.last_modified, o.status) for o in rows} == {(0, T0, OccurrenceStatus.PLANNED)}
        # 14:00 in Stockholm is 13:00 UTC in March before the 30th and 12:00 UTC after it.
        assert [o.starts_at.isoformat() for o in rows if o.starts_at] == [
            f"{o.day.isoformat()}T{13 if o.day < dt.date(2025, 3, 30) else 12}:00:00+00:00" for o in rows
        ]

    def test_reloading_the_same_plan_changes_nothing(self, session: Session, seed: Seed) -> None:
        upsert_occurrences(session, seed.promise, mpk_plan(), now=T0)
        session.commit()
        before = {k: (o.id, o.uid, o.sequence, o.last_modified, o.updated_at) for k, o in stored(session).items()}
        changes = upsert_occurrences(session, seed.promise, mpk_plan(), now=T1)
        session.commit()
        assert not changes.changed
        assert changes.unchanged == 4
        after = {k: (o.id, o.uid, o.sequence, o.last_modified, o.updated_at) for k, o in stored(session).items()}
        assert after == before

    def test_a_visible_change_raises_sequence_once_and_keeps_the_uid(self, session: Session, seed: Seed) -> None:
        upsert_occurrences(session, seed.promise, [draft(0), draft(1, day=dt.date(2025, 4, 2))], now=T0)
        session.commit()
        uid = next(o.uid for o in stored(session).values() if o.slot == 0)
        moved = draft(0, day=dt.date(2025, 3, 13))
        changes = upsert_occurrences(session, seed.promise, [moved, draft(1, day=dt.date(2025, 4, 2))], now=T1)
        session.commit()
        assert ([o.slot for o in changes.updated], changes.unchanged) == ([0], 1)
        rows = {o.slot: o for o in stored(session).values()}
        assert (rows[0].uid, rows[0].day, rows[0].sequence, rows[0].last_modified) == (uid, moved.day, 1, T1)
        assert (rows[1].sequence, rows[1].last_modified) == (0, T0)
        # A new time on the same day is visible too; all-day is a change as well.
        upsert_occurrences(session, seed.promise, [draft(0, day=moved.day, hour=19), draft(1, hour=None,
                           day=dt.date(2025, 4, 2))], now=T2)  # fmt: skip
        session.commit()
        rows = {o.slot: o for o in stored(session).values()}
        assert (rows[0].sequence, rows[1].sequence, rows[1].starts_at, rows[1].all_day) == (2, 1, None, True)

    def test_entities_are_resolved_by_key(self, session: Session, seed: Seed) -> None:
        upsert_occurrences(session, seed.promise, [draft(entity="bjorkskolan"), draft(entity="ekskolan")], now=T0)
        session.commit()
        assert {k[1] for k in stored(session)} == {seed.bjorkskolan.id, seed.ekskolan.id}
        with pytest.raises(UnknownKeyError, match="unknown entity 'tallskolan' in promise 'astorp-2025'"):
            upsert_occurrences(session, seed.promise, [draft(entity="tallskolan")], now=T1)
        with pytest.raises(UnknownKeyError, match="unknown activity 'nattvandring'"):
            upsert_occurrences(session, seed.promise, [draft(activity="nattvandring")], now=T1)
        with pytest.raises(ValueError, match="planned twice"):
            upsert_occurrences(session, seed.promise, [draft(0), draft(0)], now=T1)

    def test_gone_from_the_plan_is_cancelled_and_can_come_back(self, session: Session, seed: Seed) -> None:
        upsert_occurrences(session, seed.promise, [draft(0), draft(1)], now=T0)
        session.commit()
        changes = upsert_occurrences(session, seed.promise, [draft(0)], now=T1)
        session.commit()
        assert [o.slot for o in changes.cancelled] == [1]
        rows = {o.slot: o for o in stored(session).values()}
        assert (rows[1].status, rows[1].sequence, rows[1].last_modified) == (OccurrenceStatus.CANCELLED, 1, T1)
        # Cancelled stays cancelled (no second bump); back in the plan, it is planned again.
        assert not upsert_occurrences(session, seed.promise, [draft(0)], now=T2).changed
        changes = upsert_occurrences(session, seed.promise, [draft(0), draft(1)], now=T2)
        session.commit()
        rows = {o.slot: o for o in stored(session).values()}
        assert [o.slot for o in changes.updated] == [1]
        assert (rows[1].status, rows[1].sequence, rows[1].uid) == (OccurrenceStatus.PLANNED, 2, changes.updated[0].uid)

    def test_manual_and_done_rows_are_never_moved_or_cancelled(self, session: Session, seed: Seed) -> None:
        upsert_occurrences(session, seed.promise, [draft(0), draft(1), draft(2)], now=T0)
        session.commit()
        rows = {o.slot: o for o in stored(session).values()}
        rows[0].day, rows[0].manual, rows[0].status = dt.date(2025, 3, 20), True, OccurrenceStatus.MOVED
        rows[0].starts_at = rows[0].ends_at = None
        rows[1].status = OccurrenceStatus.DONE
        session.commit()
        changes = upsert_occurrences(session, seed.promise, [draft(0, day=dt.date(2025, 3, 14))], now=T1)
        session.commit()
        assert ([o.slot for o in changes.kept], [o.slot for o in changes.cancelled]) == ([0], [2])
        rows = {o.slot: o for o in stored(session).values()}
        assert (rows[0].day, rows[0].status, rows[0].sequence) == (dt.date(2025, 3, 20), OccurrenceStatus.MOVED, 0)
        assert (rows[1].status, rows[1].sequence) == (OccurrenceStatus.DONE, 0)

    def test_deadline_markers(self, session: Session, seed: Seed) -> None:
        upsert_occurrences(session, seed.promise, [draft(-1, day=dt.date(2025, 6, 13), hour=None)], now=T0)
        session.commit()
        row = next(iter(stored(session).values()))
        assert (row.slot, row.is_deadline, row.all_day) == (-1, True, True)
        with pytest.raises(ValueError, match="slot must be -1"):
            draft(-2)

    def test_only_the_given_promise_is_touched(self, session: Session, seed: Seed) -> None:
        upsert_occurrences(session, seed.promise, [draft(0)], now=T0)
        other = Promise(slug="bjuv-2025", kommun="Bjuv", lan="Skåne", title="x", valid_from=dt.date(2025, 1, 1),
                        valid_until=dt.date(2025, 12, 31))  # fmt: skip
        session.add(other)
        session.flush()
        changes = upsert_occurrences(session, other, [], now=T1)
        session.commit()
        assert not changes.changed
        assert [o.status for o in stored(session).values()] == [OccurrenceStatus.PLANNED]

    def test_touching_an_activity_raises_the_sequence_of_its_shown_occurrences(self, session: Session,
                                                                               seed: Seed) -> None:  # fmt: skip
        upsert_occurrences(session, seed.promise, [draft(0), draft(1), draft(0, activity="mpk", period="2025-03")],
                           now=T0)  # fmt: skip
        upsert_occurrences(session, seed.promise, [draft(0), draft(0, activity="mpk", period="2025-03")], now=T1)
        session.commit()
        touched = touch_occurrences(session, seed.forelasningar, now=T2)
        session.commit()
        assert [o.slot for o in touched] == [0]
        rows = {(o.activity_id, o.slot): o for o in stored(session).values()}
        assert [(rows[k].sequence, rows[k].last_modified) for k in sorted(rows)] == [
            (1, T2), (1, T1), (0, T0)  # forelasningar slot 0 touched, slot 1 cancelled at T1; mpk untouched
        ]  # fmt: skip

    def test_last_modified_never_goes_back(self, session: Session, seed: Seed) -> None:
        upsert_occurrences(session, seed.promise, [draft(0)], now=T2)
        session.commit()
        upsert_occurrences(session, seed.promise, [draft(0, day=dt.date(2025, 3, 13))], now=T0)
        session.commit()
        row = next(iter(stored(session).values()))
        assert (row.sequence, row.last_modified) == (1, T2)


# -- completions --------------------------------------------------------------------------------------
def test_complete_undo_and_correct_with_an_audit_trail(session: Session, seed: Seed) -> None:
    upsert_occurrences(session, seed.promise, [draft(0, entity="bjorkskolan")], now=T0)
    session.commit()
    occ = next(iter(stored(session).values()))
    entity = session.get(Entity, seed.bjorkskolan.id)
    completion = record_completion(session, activity=seed.forelasningar, entity=entity, occurrence=occ,
                                   done_on=dt.date(2025, 3, 12), recorded_by="anna@polisen.example.se", now=T1,
                                   note="Föreläsning i aulan, 120 elever")  # fmt: skip
    session.commit()
    assert (occ.status, occ.sequence) == (OccurrenceStatus.DONE, 1)

    corrected = correct_completion(session, completion, by="bo@polisen.example.se", now=T2,
                                   done_on=dt.date(2025, 3, 11))  # fmt: skip
    session.commit()
    assert (corrected.replaces_id, corrected.done_on, corrected.note) == (
        completion.id, dt.date(2025, 3, 11), "Föreläsning i aulan, 120 elever"
    )  # fmt: skip
    assert completion.undone_at == T2
    with pytest.raises(ValueError, match="is undone"):
        correct_completion(session, completion, by="x", now=T2)

    undo_completion(session, corrected, by="bo@polisen.example.se", now=T2)
    session.commit()
    counting = session.exec(select(Completion).where(col(Completion.undone_at).is_(None))).all()
    assert counting == []
    session.refresh(occ)
    assert (occ.status, occ.sequence) == (OccurrenceStatus.PLANNED, 2)

    events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert [(e.action, e.object_id, e.promise_id) for e in events] == [
        ("completion.create", completion.id, seed.promise.id),
        ("completion.correct", corrected.id, seed.promise.id),
        ("completion.undo", corrected.id, seed.promise.id),
    ]
    assert events[1].details["done_on"] == ["2025-03-12", "2025-03-11"]


# -- notifications ------------------------------------------------------------------------------------
def test_a_notification_is_decided_once(session: Session, seed: Seed) -> None:
    key = notification_key(recipient="polisen.klippan@example.se", promise="astorp-2025", activity="mpk",
                           period_key="2025-03", level="due")  # fmt: skip
    first = decide_notification(session, key=key, recipient="polisen.klippan@example.se", level="due", now=T0,
                                activity=seed.mpk, unit_id=seed.polisen.id, period_key="2025-03",
                                payload={"ämne": "Påminnelse: MPK på torget i Åstorp"})  # fmt: skip
    session.commit()
    assert first is not None
    assert first.id is not None
    again = decide_notification(session, key=key, recipient="polisen.klippan@example.se", level="due", now=T1)
    session.commit()
    assert again is None
    session.expire_all()
    row = session.exec(select(Notification)).one()
    assert (row.id, row.next_attempt_at, row.payload["ämne"]) == (first.id, T0, "Påminnelse: MPK på torget i Åstorp")
    assert session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar_one() == 1

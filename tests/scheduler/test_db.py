"""The tables on SQLite and PostgreSQL: UTC datetimes, keys, cascades, JSON.

Every test here runs once per backend (``conftest.py``): one migrated database per
module, emptied before each test.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, col, select

from rules.errors import NaiveDatetimeError
from rules.model import Kind, Period, Quota, Rule, Unit, Window
from scheduler.db import (
    Activity,
    ActivityPartner,
    AuditEvent,
    Completion,
    Entity,
    FeedScope,
    FeedToken,
    Notification,
    NotificationState,
    Occurrence,
    OccurrenceStatus,
    Promise,
    UTCDateTime,
    session_scope,
)
from scheduler.db import Unit as UnitRow
from scheduler.store import hash_feed_token
from tests.scheduler.conftest import Seed

STHLM = ZoneInfo("Europe/Stockholm")
UTC = dt.UTC


def occurrence(seed: Seed, **fields: object) -> Occurrence:
    values: dict[str, object] = {
        "activity_id": seed.mpk.id,
        "period_key": "2025-03",
        "slot": 0,
        "day": dt.date(2025, 3, 30),
        "uid": f"uid-{fields.get('period_key', '2025-03')}-{fields.get('slot', 0)}-{fields.get('entity_id')}",
    }
    values.update(fields)
    return Occurrence(**values)  # type: ignore[arg-type]


def count(session: Session, model: type) -> int:
    return session.exec(select(sa.func.count()).select_from(model)).one()


# -- UTC datetimes ---------------------------------------------------------------------------------
class TestDstRoundTrip:
    # Europe/Stockholm 2025:
    #   2025-03-30 02:00 CET (+01:00) -> 03:00 CEST (+02:00): 02:00–02:59 does not exist
    #   2025-10-26 03:00 CEST (+02:00) -> 02:00 CET (+01:00): 02:00–02:59 happens twice
    # zoneinfo reads a nonexistent 02:30 with fold=0 at the old offset (+01:00), and an
    # ambiguous 02:30 with fold=0 as the first (+02:00), fold=1 as the second (+01:00).
    CASES: ClassVar = [
        (dt.datetime(2025, 3, 30, 1, 59, 59, tzinfo=STHLM), "2025-03-30T00:59:59+00:00", "2025-03-30T01:59:59+01:00"),
        (dt.datetime(2025, 3, 30, 2, 30, tzinfo=STHLM), "2025-03-30T01:30:00+00:00", "2025-03-30T03:30:00+02:00"),
        (dt.datetime(2025, 3, 30, 3, 0, tzinfo=STHLM), "2025-03-30T01:00:00+00:00", "2025-03-30T03:00:00+02:00"),
        (dt.datetime(2025, 10, 26, 2, 30, tzinfo=STHLM), "2025-10-26T00:30:00+00:00", "2025-10-26T02:30:00+02:00"),
        (dt.datetime(2025, 10, 26, 2, 30, fold=1, tzinfo=STHLM), "2025-10-26T01:30:00+00:00",
         "2025-10-26T02:30:00+01:00"),
        (dt.datetime(2025, 10, 26, 3, 0, tzinfo=STHLM), "2025-10-26T02:00:00+00:00", "2025-10-26T03:00:00+01:00"),
        (dt.datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
         "2025-06-01T17:00:00.123456+00:00", "2025-06-01T19:00:00.123456+02:00"),
    ]  # fmt: skip

    @pytest.mark.parametrize(("value", "utc", "local"), CASES, ids=lambda v: v.isoformat() if isinstance(v, dt.datetime)
                             else "")  # fmt: skip
    def test_round_trip_is_aware_utc(self, session: Session, seed: Seed, value: dt.datetime, utc: str,
                                     local: str) -> None:  # fmt: skip
        # Add elapsed time in UTC: aware arithmetic in one zone is wall-clock arithmetic
        # (nonexistent 02:30 + 1 h = 03:30 CEST, the same instant).
        row = occurrence(seed, starts_at=value, ends_at=value.astimezone(UTC) + dt.timedelta(hours=1))
        session.add(row)
        session.commit()
        session.expunge_all()
        stored = session.exec(select(Occurrence)).one()
        assert stored.starts_at is not None
        assert stored.ends_at is not None
        assert stored.starts_at.isoformat() == utc
        assert stored.starts_at.tzinfo is UTC
        assert stored.starts_at.astimezone(STHLM).isoformat() == local
        assert stored.ends_at - stored.starts_at == dt.timedelta(hours=1)

    def test_the_two_ambiguous_half_past_twos_stay_apart_and_sort_by_instant(self, session: Session,
                                                                            seed: Seed) -> None:  # fmt: skip
        # Wall-clock order 02:15 (second, CET) < 02:30 (first, CEST); instant order is the reverse.
        second = dt.datetime(2025, 10, 26, 2, 15, fold=1, tzinfo=STHLM)
        first = dt.datetime(2025, 10, 26, 2, 30, tzinfo=STHLM)
        for slot, start in enumerate([second, first]):
            session.add(occurrence(seed, slot=slot, starts_at=start, ends_at=start))
        session.commit()
        ordered = session.exec(select(Occurrence).order_by(col(Occurrence.starts_at))).all()
        assert [o.starts_at.isoformat() for o in ordered if o.starts_at] == [
            "2025-10-26T00:30:00+00:00",
            "2025-10-26T01:15:00+00:00",
        ]
        # An aware bound in local time is compared as an instant too.
        later = session.exec(select(Occurrence).where(col(Occurrence.starts_at) > first)).all()
        assert [o.slot for o in later] == [0]

    def test_created_and_updated_timestamps_are_utc(self, session: Session, seed: Seed) -> None:
        promise = session.get(Promise, seed.promise.id)
        assert promise is not None
        created, updated = promise.created_at, promise.updated_at
        assert created.tzinfo is UTC
        assert updated.tzinfo is UTC
        promise.title = "Medborgarlöfte Åstorp 2025 (reviderat)"
        session.commit()
        session.refresh(promise)
        assert promise.created_at == created
        assert promise.updated_at > updated


class TestNaiveDatetimes:
    NAIVE = dt.datetime(2025, 3, 30, 2, 30)  # noqa: DTZ001 - the point of these tests

    def test_assignment_is_refused_with_the_attribute_name(self, seed: Seed) -> None:
        row = occurrence(seed)
        with pytest.raises(NaiveDatetimeError, match=r"^Occurrence\.starts_at must be timezone-aware$"):
            row.starts_at = self.NAIVE

    def test_constructor_is_refused(self, seed: Seed) -> None:
        with pytest.raises(NaiveDatetimeError, match=r"Notification\.next_attempt_at"):
            Notification(key="k", recipient="a@example.se", level="due", next_attempt_at=self.NAIVE)

    def test_core_insert_and_where_clause_are_refused(self, session: Session, seed: Seed) -> None:
        # Below the ORM the type decorator refuses it; SQLAlchemy wraps the error.
        statement = sa.insert(AuditEvent).values(at=self.NAIVE, actor="x", action="x", object_type="x", details={})
        with pytest.raises(StatementError) as info:
            session.execute(statement)
        assert isinstance(info.value.orig, NaiveDatetimeError)
        session.rollback()
        with pytest.raises(StatementError) as info:
            session.exec(select(Occurrence).where(col(Occurrence.starts_at) < self.NAIVE)).all()
        assert isinstance(info.value.orig, NaiveDatetimeError)

    def test_type_refuses_non_datetimes(self) -> None:
        with pytest.raises(TypeError, match="must be a datetime, not date"):
            UTCDateTime().process_bind_param(dt.date(2025, 1, 1), sa.create_engine("sqlite://").dialect)


# -- keys ---------------------------------------------------------------------------------------------
class TestUniqueKeys:
    def test_a_second_notification_with_the_same_key_is_refused(self, session: Session) -> None:
        session.add(Notification(key="polisen@example.se|astorp|mpk||2025-03|due", recipient="polisen@example.se",
                                 level="due"))  # fmt: skip
        session.commit()
        session.add(Notification(key="polisen@example.se|astorp|mpk||2025-03|due", recipient="other@example.se",
                                 level="overdue"))  # fmt: skip
        with pytest.raises(IntegrityError, match=r"(?i)unique"):
            session.commit()
        session.rollback()
        assert count(session, Notification) == 1

    @pytest.mark.parametrize("with_entity", [True, False], ids=["entity", "no-entity"])
    def test_occurrence_natural_key_is_unique_with_and_without_entity(
        self, session: Session, seed: Seed, with_entity: bool
    ) -> None:
        entity_id = seed.bjorkskolan.id if with_entity else None
        session.add(occurrence(seed, entity_id=entity_id, uid="a"))
        session.commit()
        # Same (activity, entity, period, slot), another UID: refused, also when entity is NULL.
        session.add(occurrence(seed, entity_id=entity_id, uid="b"))
        with pytest.raises(IntegrityError, match=r"(?i)unique"):
            session.commit()
        session.rollback()
        # Another slot, or the other entity, is a different occurrence.
        session.add(occurrence(seed, entity_id=entity_id, uid="c", slot=1))
        session.add(occurrence(seed, entity_id=seed.ekskolan.id, uid="d"))
        session.commit()
        assert count(session, Occurrence) == 3

    @pytest.mark.parametrize(
        "make",
        [
            pytest.param(lambda s: Promise(slug=s.promise.slug, kommun="Bjuv", lan="Skåne", title="x",
                                           valid_from=dt.date(2025, 1, 1), valid_until=dt.date(2025, 1, 2)),
                         id="promise.slug"),
            pytest.param(lambda s: UnitRow(promise_id=s.promise.id, key="polisen", name="x"), id="unit.key"),
            pytest.param(lambda s: Entity(promise_id=s.promise.id, key="ekskolan", kind="x", name="x"),
                         id="entity.key"),
            pytest.param(lambda s: Activity(promise_id=s.promise.id, key="mpk", title="x", sentence="x", rule={},
                                            unit_id=s.kommunen.id), id="activity.key"),
            pytest.param(lambda s: occurrence(s, uid="same", slot=5), id="occurrence.uid"),
        ],
    )  # fmt: skip
    def test_natural_keys_are_unique(self, session: Session, seed: Seed, make: object) -> None:
        session.add(occurrence(seed, uid="same"))
        session.commit()
        session.add(make(seed))  # type: ignore[operator]
        with pytest.raises(IntegrityError, match=r"(?i)unique"):
            session.commit()

    def test_the_same_unit_key_in_another_promise_is_fine(self, session: Session, seed: Seed) -> None:
        other = Promise(slug="bjuv-2025", kommun="Bjuv", lan="Skåne", title="x", valid_from=dt.date(2025, 1, 1),
                        valid_until=dt.date(2025, 12, 31))  # fmt: skip
        session.add(other)
        session.flush()
        session.add(UnitRow(promise_id=other.id, key="polisen", name="Lokalpolisområde Bjuv"))  # type: ignore[arg-type]
        session.commit()
        assert count(session, UnitRow) == 3


class TestCheckConstraints:
    @pytest.mark.parametrize(
        "fields",
        [
            pytest.param({"slot": -1}, id="deadline-slot-without-flag"),
            pytest.param({"slot": 0, "is_deadline": True}, id="deadline-flag-on-a-slot"),
            pytest.param({"starts_at": dt.datetime(2025, 3, 30, 12, tzinfo=UTC)}, id="start-without-end"),
            pytest.param({"starts_at": dt.datetime(2025, 3, 30, 12, tzinfo=UTC),
                          "ends_at": dt.datetime(2025, 3, 30, 11, tzinfo=UTC)}, id="end-before-start"),
            pytest.param({"sequence": -1}, id="negative-sequence"),
        ],
    )  # fmt: skip
    def test_impossible_occurrences_are_refused(self, session: Session, seed: Seed, fields: dict[str, object]) -> None:
        session.add(occurrence(seed, **fields))
        with pytest.raises(IntegrityError, match=r"(?i)check"):
            session.commit()

    def test_a_deadline_marker_is_slot_minus_one(self, session: Session, seed: Seed) -> None:
        session.add(occurrence(seed, slot=-1, is_deadline=True))
        session.commit()
        assert session.exec(select(Occurrence)).one().is_deadline

    def test_promise_validity_must_not_end_before_it_starts(self, session: Session) -> None:
        session.add(Promise(slug="x", kommun="x", lan="x", title="x", valid_from=dt.date(2025, 2, 1),
                            valid_until=dt.date(2025, 1, 31)))  # fmt: skip
        with pytest.raises(IntegrityError, match=r"(?i)check"):
            session.commit()

    def test_a_feed_token_names_exactly_its_scope(self, session: Session, seed: Seed) -> None:
        session.add(FeedToken(scope=FeedScope.KOMMUN, kommun="Åstorp", token_hash=hash_feed_token("a")))
        session.add(FeedToken(scope=FeedScope.UNIT, unit_id=seed.polisen.id, promise_id=seed.promise.id,
                              token_hash=hash_feed_token("b")))  # fmt: skip
        session.commit()
        session.add(FeedToken(scope=FeedScope.UNIT, kommun="Åstorp", token_hash=hash_feed_token("c")))
        with pytest.raises(IntegrityError, match=r"(?i)check"):
            session.commit()

    def test_enum_columns_come_back_as_enums(self, session: Session, seed: Seed) -> None:
        session.add(occurrence(seed, status=OccurrenceStatus.MOVED, manual=True))
        session.commit()
        session.expunge_all()
        row = session.exec(select(Occurrence)).one()
        assert row.status is OccurrenceStatus.MOVED
        raw = session.execute(sa.text("SELECT status FROM occurrence")).scalar_one()
        assert raw == "moved"


# -- what a delete does ----------------------------------------------------------------------------
def _history(session: Session, seed: Seed) -> Occurrence:
    """Occurrences, a completion, a partner, a notification, a token and an audit event."""
    done = occurrence(seed, activity_id=seed.forelasningar.id, entity_id=seed.bjorkskolan.id, uid="f-b-0",
                      status=OccurrenceStatus.DONE)  # fmt: skip
    session.add_all([done, occurrence(seed, uid="mpk-0")])
    session.flush()
    assert seed.forelasningar.id is not None
    assert done.id is not None
    session.add_all(
        [
            Completion(activity_id=seed.forelasningar.id, entity_id=seed.bjorkskolan.id, occurrence_id=done.id,
                       done_on=dt.date(2025, 3, 30), recorded_by="anna@polisen.example.se"),
            ActivityPartner(activity_id=seed.forelasningar.id, unit_id=seed.kommunen.id),  # type: ignore[arg-type]
            Notification(key="k", recipient="polisen@example.se", level="due", activity_id=seed.mpk.id),
            FeedToken(scope=FeedScope.PROMISE, promise_id=seed.promise.id, token_hash=hash_feed_token("t")),
            AuditEvent(actor="anna", action="completion.create", object_type="completion", object_id=1,
                       promise_id=seed.promise.id),
        ]
    )  # fmt: skip
    session.commit()
    return done


class TestDeletes:
    def test_deleting_a_promise_removes_everything_under_it_and_keeps_the_audit_log(
        self, session: Session, seed: Seed
    ) -> None:
        _history(session, seed)
        session.execute(sa.delete(Promise).where(col(Promise.id) == seed.promise.id))
        session.commit()
        for model in (UnitRow, Entity, Activity, ActivityPartner, Occurrence, Completion, Notification, FeedToken):
            assert count(session, model) == 0, model.__name__
        event = session.exec(select(AuditEvent)).one()
        session.refresh(event)
        assert (event.action, event.promise_id) == ("completion.create", None)

    def test_a_unit_with_activities_cannot_be_deleted_alone(self, session: Session, seed: Seed) -> None:
        session.execute(sa.delete(UnitRow).where(col(UnitRow.id) == seed.polisen.id))
        with pytest.raises(IntegrityError, match=r"(?i)foreign key"):  # checked at commit (deferred)
            session.commit()

    def test_an_entity_with_recorded_work_cannot_be_deleted_alone(self, session: Session, seed: Seed) -> None:
        _history(session, seed)
        session.execute(sa.delete(Entity).where(col(Entity.id) == seed.bjorkskolan.id))
        with pytest.raises(IntegrityError, match=r"(?i)foreign key"):  # checked at commit (deferred)
            session.commit()

    def test_an_entity_without_completions_takes_its_occurrences_along(self, session: Session, seed: Seed) -> None:
        session.add(occurrence(seed, activity_id=seed.forelasningar.id, entity_id=seed.ekskolan.id, uid="e"))
        session.add(occurrence(seed, uid="mpk"))
        session.commit()
        session.execute(sa.delete(Entity).where(col(Entity.id) == seed.ekskolan.id))
        session.commit()
        assert session.exec(select(Occurrence.uid)).all() == ["mpk"]

    def test_deleting_an_occurrence_keeps_its_completion(self, session: Session, seed: Seed) -> None:
        done = _history(session, seed)
        session.execute(sa.delete(Occurrence).where(col(Occurrence.id) == done.id))
        session.commit()
        completion = session.exec(select(Completion)).one()
        session.refresh(completion)
        assert completion.occurrence_id is None

    def test_a_corrected_completion_can_be_deleted_and_its_correction_stays(self, session: Session,
                                                                           seed: Seed) -> None:  # fmt: skip
        first = Completion(activity_id=seed.mpk.id, done_on=dt.date(2025, 3, 3), recorded_by="x")  # type: ignore[arg-type]
        session.add(first)
        session.flush()
        session.add(Completion(activity_id=seed.mpk.id, done_on=dt.date(2025, 3, 4), recorded_by="x",  # type: ignore[arg-type]
                               replaces_id=first.id))  # fmt: skip
        session.commit()
        session.execute(sa.delete(Completion).where(col(Completion.id) == first.id))
        session.commit()
        remaining = session.exec(select(Completion)).one()
        session.refresh(remaining)
        assert (remaining.done_on, remaining.replaces_id) == (dt.date(2025, 3, 4), None)

    def test_a_deleted_parent_unit_leaves_the_child_unit_on_its_own(self, session: Session, seed: Seed) -> None:
        child = UnitRow(promise_id=seed.promise.id, key="socialtjänsten", name="Socialtjänsten i Åstorp",  # type: ignore[arg-type]
                        parent_id=seed.kommunen.id)  # fmt: skip
        session.add(child)
        session.commit()
        session.execute(sa.delete(UnitRow).where(col(UnitRow.id) == seed.kommunen.id))
        session.commit()
        session.refresh(child)
        assert child.parent_id is None


# -- JSON --------------------------------------------------------------------------------------------
class TestJson:
    RULE = Rule(
        text="Minst två gånger per termin på Åsbyskolan och Östra fritidsgården, även på lördagar",
        kind=Kind.QUOTA,
        quota=Quota(min=2, max=None),
        period=Period(unit=Unit.TERM),
        per=("högstadieskola",),
        window=Window(start=dt.date(2025, 1, 7), end=dt.date(2025, 6, 13)),
        responsible=("Lokalpolisområde Klippan", "Åstorps kommun"),
        lov="sportlov",
    )

    def test_rule_json_round_trips_with_swedish_text(self, session: Session, seed: Seed) -> None:
        activity = session.get(Activity, seed.mpk.id)
        assert activity is not None
        data = self.RULE.to_json()
        activity.rule = data
        activity.preferences = {"location": "Torget nedanför Systembolaget, Åstorp", "weekdays": [3, 4],
                                "time": "14:00", "school_bound": False}  # fmt: skip
        session.commit()
        session.expunge_all()
        stored = session.get(Activity, seed.mpk.id)
        assert stored is not None
        assert stored.rule == data
        assert Rule.from_json(stored.rule) == self.RULE
        assert stored.preferences["location"] == "Torget nedanför Systembolaget, Åstorp"

    def test_swedish_text_is_stored_as_text_and_queryable_in_sql(self, session: Session, seed: Seed,
                                                                engine: Engine) -> None:  # fmt: skip
        session.add(Notification(key="k", recipient="x@example.se", level="due",
                                 payload={"ämne": "Påminnelse: föreläsning på Åsbyskolan"}))  # fmt: skip
        session.commit()
        if engine.dialect.name == "postgresql":
            query = "SELECT payload ->> 'ämne', payload::text FROM notification"
        else:
            query = "SELECT json_extract(payload, '$.ämne'), payload FROM notification"
        value, raw = session.execute(sa.text(query)).one()
        assert value == "Påminnelse: föreläsning på Åsbyskolan"
        assert "Åsbyskolan" in raw  # not \\u00c5sbyskolan

    def test_notification_defaults(self, session: Session) -> None:
        session.add(Notification(key="k", recipient="x@example.se", level="due"))
        session.commit()
        session.expunge_all()
        row = session.exec(select(Notification)).one()
        assert (row.state, row.attempts, row.payload, row.sent_at) == (NotificationState.DECIDED, 0, {}, None)


# -- session_scope ---------------------------------------------------------------------------------
def test_session_scope_commits_or_rolls_back(engine: Engine) -> None:
    def promise(slug: str) -> Promise:
        return Promise(slug=slug, kommun="Åstorp", lan="Skåne", title="x", valid_from=dt.date(2025, 1, 1),
                       valid_until=dt.date(2025, 12, 31))  # fmt: skip

    with session_scope(engine) as session:
        session.add(promise("kept"))

    def fail() -> None:
        with session_scope(engine) as session:
            session.add(promise("dropped"))
            session.flush()
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        fail()
    with session_scope(engine) as session:
        assert session.exec(select(Promise.slug)).all() == ["kept"]

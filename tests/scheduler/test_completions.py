"""scheduler/completions.py on SQLite and PostgreSQL: validation, double submits, occurrences, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from scheduler.completions import (
    NOTE_MAX_CHARS,
    CompletionError,
    CompletionLookupError,
    correct,
    local_today,
    record,
    undo,
)
from scheduler.db import Activity, AuditEvent, Completion, Occurrence, OccurrenceStatus, Promise
from scheduler.loader import load_file
from tests.conftest import EXAMPLES

NOW = dt.datetime(2022, 6, 1, 10, 0, tzinfo=dt.UTC)
D = dt.date.fromisoformat


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    for name in ("orkelljunga-2022", "astorp-2019"):
        load_file(engine, EXAMPLES / f"{name}.yaml", now=NOW - dt.timedelta(days=400))
    return engine


def _occurrences(session: Session, key: str) -> list[Occurrence]:
    activity = session.exec(select(Activity).where(Activity.key == key)).one()
    rows = session.exec(select(Occurrence).where(Occurrence.activity_id == activity.id))
    return sorted(rows, key=lambda o: o.day)


def _count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Completion)).one()


def test_record_marks_the_earliest_open_occurrence_of_the_period_and_audits(loaded: Engine) -> None:
    with Session(loaded) as session:
        april = [o for o in _occurrences(session, "mobila-poliskontoret") if o.period_key == "2022-04"]
        assert [o.status for o in april] == [OccurrenceStatus.PLANNED, OccurrenceStatus.PLANNED]
        before = april[0].sequence
        result = record(
            session, promise_slug="orkelljunga-2022", activity_key="mobila-poliskontoret",
            done_on=D("2022-04-21"), by="Anna", note="  Bra uppslutning  ", now=NOW,
        )  # fmt: skip
        session.commit()
        assert result.created
        assert result.occurrence is not None
        assert result.occurrence.id == april[0].id  # the earliest open one, though done later
        completion = result.completion
        assert (completion.done_on, completion.recorded_by, completion.note) == (
            D("2022-04-21"),
            "Anna",
            "Bra uppslutning",
        )
        session.refresh(april[0])
        assert april[0].status is OccurrenceStatus.DONE
        assert april[0].sequence == before + 1
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "completion.create")).one()
        assert (event.actor, event.object_id, event.details["done_on"]) == ("Anna", completion.id, "2022-04-21")


def test_record_prefers_the_occurrence_planned_on_that_day(loaded: Engine) -> None:
    with Session(loaded) as session:
        april = [o for o in _occurrences(session, "mobila-poliskontoret") if o.period_key == "2022-04"]
        result = record(
            session, promise_slug="orkelljunga-2022", activity_key="mobila-poliskontoret",
            done_on=april[1].day, by="Anna", now=NOW,
        )  # fmt: skip
        assert result.occurrence is not None
        assert result.occurrence.id == april[1].id


def test_an_extra_completion_links_no_occurrence_and_still_counts(loaded: Engine) -> None:
    with Session(loaded) as session:
        for day in ("2022-04-01", "2022-04-04", "2022-04-05"):
            result = record(
                session, promise_slug="orkelljunga-2022", activity_key="mobila-poliskontoret",
                done_on=D(day), by="Anna", now=NOW,
            )  # fmt: skip
        assert result.occurrence is None
        assert _count(session) == 3


def test_a_double_submit_is_stored_once(loaded: Engine) -> None:
    kwargs = {
        "promise_slug": "orkelljunga-2022", "activity_key": "insatser-alkohol", "done_on": D("2022-04-01"),
        "by": "Anna", "note": "Torget",
    }  # fmt: skip
    with Session(loaded) as session:
        first = record(session, now=NOW, **kwargs)  # type: ignore[arg-type]
        session.commit()
        again = record(session, now=NOW + dt.timedelta(seconds=5), **kwargs)  # type: ignore[arg-type]
        session.commit()
        assert first.created
        assert not again.created
        assert again.completion.id == first.completion.id
        assert _count(session) == 1
        # the same words much later, or with another note, are a second occurrence of the work
        later = record(session, now=NOW + dt.timedelta(hours=1), **kwargs)  # type: ignore[arg-type]
        other = record(session, now=NOW, **{**kwargs, "note": "Stationen"})  # type: ignore[arg-type]
        assert later.created
        assert other.created
        assert _count(session) == 3


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"promise_slug": "okand"},
            CompletionLookupError,
            "okänt löfte 'okand' (kända: astorp-2019, orkelljunga-2022)",
        ),
        ({"activity_key": "mpk"}, CompletionLookupError, "okänd aktivitet 'mpk' i orkelljunga-2022 (kända: "),
        (
            {"done_on": D("2022-06-02")},
            CompletionError,
            "datumet 2022-06-02 ligger i framtiden (i dag är det 2022-06-01)",
        ),
        ({"done_on": D("2022-02-28")}, CompletionError, "ligger utanför löftets giltighetstid 2022-03-01 – 2022-05-31"),
        ({"entity_key": "bjorkskolan"}, CompletionError, "räknas inte per verksamhet"),
        ({"note": "x" * (NOTE_MAX_CHARS + 1)}, CompletionError, "anteckningen är för lång"),
        ({"note": "a\x00b"}, CompletionError, "otillåtna kontrolltecken"),
        ({"by": "  "}, CompletionError, "ange vem som registrerar"),
    ],
    ids=["promise", "activity", "future", "outside-validity", "entity-not-wanted", "note-long", "note-nul", "by"],
)
def test_bad_input_is_refused_in_swedish_and_nothing_is_stored(
    loaded: Engine, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    base: dict[str, object] = {
        "promise_slug": "orkelljunga-2022", "activity_key": "insatser-alkohol", "done_on": D("2022-04-01"),
        "by": "Anna",
    }  # fmt: skip
    with Session(loaded) as session:
        with pytest.raises(error) as caught:
            record(session, now=NOW, **{**base, **kwargs})  # type: ignore[arg-type]
        assert message in caught.value.message_sv  # type: ignore[attr-defined]
        session.rollback()
        assert _count(session) == 0


def test_entities_are_required_and_checked(loaded: Engine) -> None:
    base = {"promise_slug": "astorp-2019", "activity_key": "forelasningar", "done_on": D("2019-10-01"), "by": "Anna"}
    with Session(loaded) as session:
        with pytest.raises(CompletionError, match="räknas per högstadieskola: ange vilken"):
            record(session, now=NOW, **base)  # type: ignore[arg-type]
        with pytest.raises(CompletionLookupError, match="okänd högstadieskola 'eks'"):
            record(session, now=NOW, entity_key="eks", **base)  # type: ignore[arg-type]
        result = record(session, now=NOW, entity_key="ekskolan", **base)  # type: ignore[arg-type]
        assert result.completion.entity_id is not None
        assert result.occurrence is not None
        assert result.occurrence.entity_id == result.completion.entity_id


def test_the_future_is_judged_in_the_promises_zone(loaded: Engine) -> None:
    # 23:30 UTC on 31 May is already 1 June in Stockholm
    late = dt.datetime(2022, 5, 31, 23, 30, tzinfo=dt.UTC)
    with Session(loaded) as session:
        promise = session.exec(select(Promise).where(Promise.slug == "orkelljunga-2022")).one()
        assert local_today(promise, late) == D("2022-06-01")


def test_undo_plans_the_occurrence_again_and_stops_counting(loaded: Engine) -> None:
    with Session(loaded) as session:
        result = record(
            session, promise_slug="orkelljunga-2022", activity_key="mobila-poliskontoret",
            done_on=D("2022-04-21"), by="Anna", now=NOW,
        )  # fmt: skip
        assert result.completion.id is not None
        undone = undo(session, completion_id=result.completion.id, by="Bo", now=NOW)
        assert undone.undone_by == "Bo"
        assert result.occurrence is not None
        assert result.occurrence.status is OccurrenceStatus.PLANNED
        with pytest.raises(CompletionError, match="redan ångrad"):
            undo(session, completion_id=result.completion.id, by="Bo", now=NOW)
        with pytest.raises(CompletionLookupError, match="ingen registrering med nummer 999"):
            undo(session, completion_id=999, by="Bo", now=NOW)
        actions = session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
        assert actions[-2:] == ["completion.create", "completion.undo"]


def test_correct_moves_the_occurrence_link_to_the_new_period(loaded: Engine) -> None:
    with Session(loaded) as session:
        result = record(
            session, promise_slug="orkelljunga-2022", activity_key="mobila-poliskontoret",
            done_on=D("2022-04-21"), by="Anna", now=NOW,
        )  # fmt: skip
        assert result.completion.id is not None
        old = result.occurrence
        assert old is not None
        fixed = correct(session, completion_id=result.completion.id, by="Bo", now=NOW, done_on=D("2022-05-03"))
        assert fixed.replaces_id == result.completion.id
        assert result.completion.undone_at is not None
        assert old.status is OccurrenceStatus.PLANNED
        new = session.get(Occurrence, fixed.occurrence_id)
        assert new is not None
        assert (new.period_key, new.status) == ("2022-05", OccurrenceStatus.DONE)
        with pytest.raises(CompletionError, match="ligger i framtiden"):
            correct(session, completion_id=fixed.id or 0, by="Bo", now=NOW, done_on=D("2022-06-05"))


def _feed_events(engine: Engine, now: dt.datetime) -> dict[str, object]:
    import icalendar

    from scheduler.db import FeedScope
    from scheduler.ical_feed import FeedRenderer, FeedTarget

    with Session(engine) as session:
        promise = session.exec(select(Promise).where(Promise.slug == "orkelljunga-2022")).one()
    feed = FeedRenderer(engine, base_url="https://lofte.example.se").render(
        FeedTarget(FeedScope.PROMISE, promise_id=promise.id), now=now
    )
    assert feed is not None
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(feed.body).walk("VEVENT")}


def test_a_changed_done_count_moves_sequence_and_last_modified_of_the_periods_events(loaded: Engine) -> None:
    """Every event of a period shows its quota line ("Kvot: 1 av 2 genomförda under april 2022"):
    when the count changes, each of them changes visibly, so SEQUENCE and LAST-MODIFIED move
    (ical-feeds.md §18), and only theirs."""
    with Session(loaded) as session:
        occurrences = _occurrences(session, "mobila-poliskontoret")
        april = [o.uid for o in occurrences if o.period_key == "2022-04"]
        may = [o.uid for o in occurrences if o.period_key == "2022-05"]
    before = _feed_events(loaded, NOW)
    assert "0 av 2" in str(before[april[1]]["DESCRIPTION"])

    def moved(uids: list[str], old: dict[str, object], new: dict[str, object]) -> bool:
        return all(
            int(new[u]["SEQUENCE"]) > int(old[u]["SEQUENCE"])  # type: ignore[index]
            and new[u]["LAST-MODIFIED"].dt > old[u]["LAST-MODIFIED"].dt  # type: ignore[index]
            for u in uids
        )

    def same(uids: list[str], old: dict[str, object], new: dict[str, object]) -> bool:
        return all(new[u].to_ical() == old[u].to_ical() for u in uids)  # type: ignore[attr-defined]

    with Session(loaded) as session:
        done = record(session, promise_slug="orkelljunga-2022", activity_key="mobila-poliskontoret",
                      done_on=D("2022-04-21"), by="Anna", now=NOW)  # fmt: skip
        session.commit()
        completion_id = done.completion.id
    recorded = _feed_events(loaded, NOW)
    assert "1 av 2" in str(recorded[april[1]]["DESCRIPTION"])  # the other April event, still planned
    assert moved(april, before, recorded)
    assert same(may, before, recorded)

    later = NOW + dt.timedelta(hours=1)
    with Session(loaded) as session:
        corrected = correct(session, completion_id=completion_id, by="Anna", now=later, done_on=D("2022-05-10"))
        session.commit()
        corrected_id = corrected.id
    moved_to_may = _feed_events(loaded, later)
    assert "0 av 2" in str(moved_to_may[april[1]]["DESCRIPTION"])
    assert "1 av 2" in str(moved_to_may[may[1]]["DESCRIPTION"])
    assert moved(april + may, recorded, moved_to_may)

    latest = later + dt.timedelta(hours=1)
    with Session(loaded) as session:
        undo(session, completion_id=corrected_id, by="Anna", now=latest)  # type: ignore[arg-type]
        session.commit()
    undone = _feed_events(loaded, latest)
    assert "0 av 2" in str(undone[may[1]]["DESCRIPTION"])
    assert moved(may, moved_to_may, undone)
    assert same(april, moved_to_may, undone)

"""scheduler/status.py on SQLite and PostgreSQL: DB rows → plan → quota states, filters, notes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from rules.quota import QuotaState
from scheduler.completions import record, undo
from scheduler.db import Promise
from scheduler.loader import load_file
from scheduler.status import StatusLookupError, clear_plan_cache, evaluate_promises
from tests.conftest import EXAMPLES

NOW = dt.datetime(2022, 6, 1, 10, 0, tzinfo=dt.UTC)
D = dt.date.fromisoformat


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    clear_plan_cache()
    for name in ("orkelljunga-2022", "astorp-2019"):
        load_file(engine, EXAMPLES / f"{name}.yaml", now=NOW - dt.timedelta(days=1000))
    return engine


def _mpk(engine: Engine, today: str, period: str = "2022-04") -> QuotaState:
    report = evaluate_promises(engine, today=D(today), promise="orkelljunga-2022")
    (item,) = [i for i in report.items if i.status.activity == "mobila-poliskontoret" and i.status.span.key == period]
    return item.status.state


def _done(session: Session, day: str, activity: str = "mobila-poliskontoret") -> int:
    result = record(session, promise_slug="orkelljunga-2022", activity_key=activity, done_on=D(day), by="Anna", now=NOW)
    session.commit()
    assert result.completion.id is not None
    return result.completion.id


def test_the_warning_clears_when_work_is_recorded(loaded: Engine) -> None:
    assert _mpk(loaded, "2022-04-20") is QuotaState.BEHIND
    with Session(loaded) as session:
        _done(session, "2022-04-07")
        assert _mpk(loaded, "2022-04-20") is QuotaState.ON_TRACK
        second = _done(session, "2022-04-19")
        assert _mpk(loaded, "2022-04-20") is QuotaState.FULFILLED
        # undone completions do not count
        undo(session, completion_id=second, by="Anna", now=NOW)
        session.commit()
    assert _mpk(loaded, "2022-04-20") is QuotaState.ON_TRACK
    # a day that was recorded after --at does not count then
    assert _mpk(loaded, "2022-04-06") is QuotaState.ON_TRACK


def test_report_lists_warnings_first_and_untracked_apart(loaded: Engine) -> None:
    report = evaluate_promises(loaded, today=D("2022-04-20"), promise="orkelljunga-2022")
    states = [i.status.state for i in report.items]
    first_rest = next(i for i, s in enumerate(states) if not s.is_warning)
    assert all(s.is_warning for s in states[:first_rest])
    assert not any(s.is_warning for s in states[first_rest:])
    assert states[0] is QuotaState.AT_RISK or states[0] is QuotaState.MISSED
    assert {u.untracked.reason for u in report.untracked} <= {"untimed", "event", "vague", "conditional"}
    assert len(report.untracked) == 5
    relevant = report.relevant()
    keys = {(i.status.activity, i.status.span.key) for i in relevant}
    assert ("mobila-poliskontoret", "2022-04") in keys
    assert ("mobila-poliskontoret", "2022-03") in keys  # missed within the last month
    assert ("mobila-poliskontoret", "2022-05") not in keys
    data = report.to_json(items=relevant)
    assert data["today"] == "2022-04-20"
    assert data["warnings"] == sum(1 for i in relevant if i.status.is_warning)


def test_school_calendar_is_stored_and_used(loaded: Engine) -> None:
    with Session(loaded) as session:
        promise = session.exec(select(Promise).where(Promise.slug == "astorp-2019")).one()
        assert promise.school_calendar is not None
        assert "höstlov 2019" in promise.school_calendar
    report = evaluate_promises(loaded, today=D("2019-10-14"), promise="astorp-2019")
    (item,) = [
        i for i in report.items
        if i.status.activity == "forelasningar" and i.status.entity == "bjorkskolan" and i.status.span.key == "2019-HT"
    ]  # fmt: skip
    assert item.status.school_bound
    assert item.status.lov_days_left >= 5  # höstlov lies ahead
    assert "lovveck" in item.summary
    assert item.summary.startswith("Föreläsningar om droger för elever, föräldrar och skolpersonal, Björkskolan, ")
    assert report.notes == ()


def test_a_promise_without_stored_calendar_is_estimated_and_noted(loaded: Engine) -> None:
    with Session(loaded) as session:
        promise = session.exec(select(Promise).where(Promise.slug == "astorp-2019")).one()
        promise.school_calendar = None
        session.add(promise)
        session.commit()
    report = evaluate_promises(loaded, today=D("2019-10-14"), promise="astorp-2019")
    assert report.items
    assert len(report.notes) == 1
    assert "lofte load" in report.notes[0]


def test_filters_and_unknown_names(loaded: Engine) -> None:
    everything = evaluate_promises(loaded, today=D("2022-04-20"))
    assert {i.promise for i in everything.items} == {"orkelljunga-2022", "astorp-2019"}
    police = evaluate_promises(loaded, today=D("2022-04-20"), unit="Lokalpolisområde Ängelholm")
    assert police.items
    assert {i.unit for i in police.items} == {"polisen"}
    with pytest.raises(StatusLookupError) as caught:
        evaluate_promises(loaded, today=D("2022-04-20"), promise="nope")
    assert caught.value.message_sv == "okänt löfte 'nope' (kända: astorp-2019, orkelljunga-2022)"
    with pytest.raises(StatusLookupError, match="unknown unit"):
        evaluate_promises(loaded, today=D("2022-04-20"), unit="brandkåren")


def test_evaluation_reads_only(loaded: Engine) -> None:
    with Session(loaded) as session:
        before = session.exec(select(Promise.updated_at)).all()
        evaluate_promises(session, today=D("2022-04-20"))
        assert not session.dirty
        assert not session.new
        assert session.exec(select(Promise.updated_at)).all() == before

"""Stored plans (``promise_plan``) on SQLite and PostgreSQL: the loader writes them, evaluation
reads them instead of planning, and the statuses equal those of planning from the rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import scheduler.status as status_module
from bench.national import generate
from rules.planner import Plan
from rules.quota import DaySet
from scheduler.db import Activity, Completion, Entity, Occurrence, Promise
from scheduler.db.models import PromisePlan
from scheduler.loader import load_file
from scheduler.status import StatusReport, clear_plan_cache, evaluate_promises, plan_key
from tests.conftest import EXAMPLES

NOW = dt.datetime(2019, 1, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    """The three examples and two generated kommuner, with a random completion history."""
    clear_plan_cache()
    for path in [*sorted(EXAMPLES.glob("*.yaml")), *generate(tmp_path, kommuner=2, seed=5)]:
        load_file(engine, path, now=NOW)
    rng = random.Random(3)  # noqa: S311 - a reproducible history, not a secret
    with Session(engine) as session:
        rows = session.execute(
            sa.select(col(Occurrence.activity_id), col(Occurrence.entity_id), col(Occurrence.day))
        ).all()
        stamp = NOW
        values = [
            {
                "activity_id": a, "entity_id": e, "occurrence_id": None,
                "done_on": d + dt.timedelta(days=rng.choice([0, 0, 2, -3])), "recorded_by": "test", "note": None,
                "undone_at": None, "undone_by": None, "replaces_id": None, "created_at": stamp, "updated_at": stamp,
            }
            for a, e, d in rows
            if rng.random() < 0.7
        ]  # fmt: skip
        session.connection().execute(sa.insert(Completion.__table__), values)  # type: ignore[attr-defined]
        session.commit()
    return engine


def _evaluate(engine: Engine, today: dt.date, *, promise: str | None = None, unit: str | None = None) -> StatusReport:
    clear_plan_cache()  # a fresh process: nothing cached
    return evaluate_promises(engine, today=today, promise=promise, unit=unit)


def _no_planning(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("planned although a stored plan matches")

    monkeypatch.setattr(status_module, "plan", refuse)


def test_the_loader_stores_a_plan_per_promise(loaded: Engine) -> None:
    with Session(loaded) as session:
        promises = session.exec(select(Promise)).all()
        stored = {row.promise_id: row for row in session.exec(select(PromisePlan))}
        assert len(stored) == len(promises) == 5
        for promise in promises:
            activities = session.exec(
                select(Activity).where(Activity.promise_id == promise.id).order_by(col(Activity.id))
            ).all()
            entities = session.exec(select(Entity).where(Entity.promise_id == promise.id))
            assert promise.id is not None
            assert stored[promise.id].plan_key == plan_key(promise, activities, list(entities))


def test_stored_plans_give_the_statuses_planning_gives(loaded: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    days = [
        dt.date(2019, 1, 1),
        dt.date(2019, 12, 17),
        dt.date(2022, 4, 20),
        dt.date(2022, 5, 30),
        dt.date(2023, 12, 18),
    ]
    days += [dt.date(2024, 6, 13)]
    with monkeypatch.context() as patch:
        _no_planning(patch)
        from_stored = {today: _evaluate(loaded, today) for today in days}
        one = _evaluate(loaded, days[2], promise="orkelljunga-2022")
    with Session(loaded) as session:
        session.execute(sa.delete(PromisePlan))
        session.commit()
    states = set()
    for today in days:
        planned = _evaluate(loaded, today)
        assert from_stored[today] == planned
        assert len(planned.items) > 500
        states |= {i.status.state.value for i in planned.items}
    assert states == {"kommande", "i fas", "efter", "i fara", "missad", "uppfylld"}
    assert one == _evaluate(loaded, days[2], promise="orkelljunga-2022")
    # without stored plans the evaluation plans (the fallback is real)
    with monkeypatch.context() as patch:
        _no_planning(patch)
        with pytest.raises(AssertionError, match="planned although"):
            _evaluate(loaded, days[2])


def test_a_stale_stored_plan_is_not_used(loaded: Engine) -> None:
    """Rows changed without a reload (here: a rule edited in place) make the key differ."""
    today = dt.date(2022, 4, 20)
    before = _evaluate(loaded, today, promise="orkelljunga-2022")
    with Session(loaded) as session:
        activity = session.exec(select(Activity).where(Activity.key == "mobila-poliskontoret")).one()
        rule = dict(activity.rule)
        quota = rule["quota"]
        rule["quota"] = {**quota, "min": quota["min"] + 1, "max": quota["max"] and quota["max"] + 1}
        activity.rule = rule
        session.commit()
    after = _evaluate(loaded, today, promise="orkelljunga-2022")
    assert after != before
    assert max(i.status.required for i in after.items if i.status.activity == "mobila-poliskontoret") == 3
    with Session(loaded) as session:
        session.execute(sa.delete(PromisePlan))
        session.commit()
    assert _evaluate(loaded, today, promise="orkelljunga-2022") == after


def test_unit_filter_equals_the_whole_report_narrowed(loaded: Engine) -> None:
    today = dt.date(2023, 9, 1)
    whole = _evaluate(loaded, today)
    polisen = _evaluate(loaded, today, unit="polisen")
    assert polisen.items
    assert {i.status for i in polisen.items} <= {i.status for i in whole.items}


def test_reloading_keeps_one_row_and_deleting_the_promise_removes_it(loaded: Engine) -> None:
    with Session(loaded) as session:
        promise = session.exec(select(Promise).where(Promise.slug == "astorp-2019")).one()
        session.delete(promise)
        session.commit()
        assert session.exec(select(sa.func.count()).select_from(PromisePlan)).one() == 4
    load_file(loaded, EXAMPLES / "astorp-2019.yaml", now=NOW)
    load_file(loaded, EXAMPLES / "astorp-2019.yaml", now=NOW)
    with Session(loaded) as session:
        assert session.exec(select(sa.func.count()).select_from(PromisePlan)).one() == 5


def _without_occurrences(made: Plan) -> list[tuple[object, ...]]:
    """What a stored plan keeps of ``made``: every period without its occurrences and
    last feasible day, the activities' problems and why an activity is not planned."""
    return [
        (
            a.key, a.unscheduled, a.problems,
            [dataclasses.replace(p, occurrences=(), last_feasible_day=None) for p in a.periods],
        )
        for a in made.activities
    ]  # fmt: skip


def test_a_decoded_plan_equals_the_plan_made_fresh(loaded: Engine) -> None:
    """Differential: per promise, what the stored body decodes to (plan, day sets, lov days,
    notes) equals what planning from the same rows makes, also without a school calendar."""
    with Session(loaded) as session:
        promise = session.exec(select(Promise).where(Promise.slug == "hagfors-2022")).one()
        promise.school_calendar = None  # as if stored before migration 0003: estimated, with a note
        session.add(promise)
        session.flush()
        status_module.store_plan(session, promise)
        session.commit()
        checked = 0
        for promise in session.exec(select(Promise)).all():
            activities = list(
                session.exec(select(Activity).where(Activity.promise_id == promise.id).order_by(col(Activity.id))).all()
            )
            entities = list(session.exec(select(Entity).where(Entity.promise_id == promise.id)))
            body = session.exec(select(PromisePlan.body).where(PromisePlan.promise_id == promise.id)).one()
            fresh = status_module._make_planned(promise, activities, entities)
            decoded = status_module._make_planned(promise, activities, entities, stored=body)
            assert decoded.plan.window == fresh.plan.window
            assert decoded.plan.problems == fresh.plan.problems
            assert decoded.plan.unscheduled == fresh.plan.unscheduled
            assert _without_occurrences(decoded.plan) == _without_occurrences(fresh.plan)
            planned_keys = {a.key for a in fresh.plan.activities if a.periods}
            assert {k: decoded.days[k] for k in planned_keys} == {k: fresh.days[k] for k in planned_keys}
            assert decoded.lov == fresh.lov
            assert decoded.notes == fresh.notes
            assert decoded.inputs == fresh.inputs
            checked += 1
            if promise.slug == "hagfors-2022":
                assert any("ingen skolkalender sparad" in n for n in decoded.notes)
                assert decoded.lov is not None
                assert decoded.lov.ordinals
        assert checked == 5


def test_day_set_runs_round_trip() -> None:
    days = DaySet((1, 2, 3, 5, 5, 7, 8, 20))
    assert DaySet.from_runs(days.runs()) == days
    assert DaySet.from_runs(DaySet(()).runs()) == DaySet(())


def test_a_damaged_stored_plan_is_planned_instead(loaded: Engine) -> None:
    """A row whose key matches but whose body cannot be read (cut short, or another shape) is
    not trusted: the promise is planned, and the statuses are those of planning."""
    today = dt.date(2022, 4, 20)
    expected = _evaluate(loaded, today, promise="orkelljunga-2022")
    with Session(loaded) as session:
        promise = session.exec(select(Promise).where(Promise.slug == "orkelljunga-2022")).one()
        row = session.exec(select(PromisePlan).where(PromisePlan.promise_id == promise.id)).one()
        for body in (row.body[: len(row.body) // 2], '{"window": [1, 2]}', "[]"):
            row.body = body
            session.add(row)
            session.commit()
            assert _evaluate(loaded, today, promise="orkelljunga-2022") == expected

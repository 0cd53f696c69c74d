"""Differential tests of ``rules.quota.evaluate``'s bulk path.

``evaluate`` settles the periods that are over or still to come in a fast path
(``_Settled``, shared numbers per span) and counts lov days from a precomputed set.
Here every status it gives is compared with ``evaluate_period`` of the same period (the
straightforward path) and every ``lov_days_left`` with a day-by-day count, on the
three example promises and on generated completion histories, at many ``today``.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from bench.national import generate
from rules.planner import ActivityPlanInput, Plan
from rules.quota import DaySet, QuotaStatus, evaluate, evaluate_period
from rules.school import SchoolCalendar
from scheduler.planning import plan_inputs, plan_spec
from scheduler.promise_file import load_promise_file

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def _history(plan: Plan, rng: random.Random, *, rate: float) -> dict[tuple[str, str], list[dt.date]]:
    """Completions near the planned days: some on the day, some late, some early, some twice."""
    done: dict[tuple[str, str], list[dt.date]] = {}
    for occurrence in plan.occurrences:
        if rng.random() >= rate:
            continue
        shift = rng.choice([0, 0, 0, 1, 3, 9, -2, -5])
        days = done.setdefault((occurrence.activity, occurrence.entity), [])
        days.append(occurrence.day + dt.timedelta(days=shift))
        if rng.random() < 0.05:
            days.append(occurrence.day)
    return done


def _planned(plan: Plan, today: dt.date, rng: random.Random) -> dict[tuple[str, str, str], list[dt.date]]:
    """The feed's planned days from ``today`` on, a few moved, in no particular order."""
    out: dict[tuple[str, str, str], list[dt.date]] = {}
    for occurrence in reversed(plan.occurrences):
        if occurrence.day >= today:
            day = occurrence.day + dt.timedelta(days=rng.choice([0, 0, 0, 0, 2, -1]))
            out.setdefault((occurrence.activity, occurrence.entity, occurrence.period_key), []).append(day)
    return out


def _reference(
    plan: Plan,
    inputs: list[ActivityPlanInput],
    *,
    completions: dict[tuple[str, str], list[dt.date]],
    planned: dict[tuple[str, str, str], list[dt.date]] | None,
    today: dt.date,
    school: SchoolCalendar | None,
) -> list[QuotaStatus]:
    """Every non-average status through ``evaluate_period``, sorted as ``evaluate`` sorts."""
    by_key = {i.key: i for i in inputs}
    work = school.work if school is not None else None
    assert work is not None
    out: list[QuotaStatus] = []
    for activity in plan.activities:
        if activity.unscheduled is not None or not activity.periods:
            continue
        item = by_key[activity.key]
        days = DaySet.for_activity(item, plan.window, work=work, school=school)
        for period in activity.periods:
            if period.average:
                continue
            wanted = None if planned is None else planned.get((period.activity, period.entity, period.span.key), ())
            out.append(
                evaluate_period(
                    period,
                    done=completions.get((period.activity, period.entity), ()),
                    today=today,
                    days=days,
                    planned=wanted,
                    school=school if item.school_bound else None,
                )
            )
    out.sort(key=QuotaStatus.sort_key)
    return out


def _naive_lov(school: SchoolCalendar, start: dt.date, end: dt.date) -> int:
    days = (start + dt.timedelta(days=n) for n in range((end - start).days + 1))
    return sum(1 for d in days if d.weekday() < 5 and school.is_lov(d))


def _compare(path: Path, *, step: int) -> int:
    """Compare at every ``step``-th day of the validity (and before and after it)."""
    spec = load_promise_file(path)
    assert spec.calendar is not None
    inputs = plan_inputs(spec)
    the_plan = plan_spec(spec)
    rng = random.Random(path.stem)  # noqa: S311 - a reproducible history, not a secret
    start, end = spec.validity.start, spec.validity.end
    days = [
        start - dt.timedelta(days=3),
        *(start + dt.timedelta(days=n) for n in range(0, (end - start).days + 40, step)),
    ]
    compared = 0
    for today in days:
        completions = _history(the_plan, rng, rate=rng.choice([0.0, 0.5, 0.8, 1.0]))
        for planned in (None, _planned(the_plan, today, rng)):
            report = evaluate(
                the_plan, inputs, completions=completions, today=today, work=spec.calendar.work,
                school=spec.calendar, planned=planned,
            )  # fmt: skip
            bulk = [s for s in report.statuses if not s.average]
            reference = _reference(
                the_plan, inputs, completions=completions, planned=planned, today=today, school=spec.calendar
            )
            assert bulk == reference
            compared += len(bulk)
            for status in report.statuses:
                running = status.school_bound and status.running
                expected = _naive_lov(spec.calendar, today, status.span.end) if running else 0
                assert status.lov_days_left == expected, status
    return compared


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_bulk_evaluation_equals_period_by_period_on_the_examples(path: Path) -> None:
    assert _compare(path, step=5) > 50


def test_bulk_evaluation_equals_period_by_period_on_a_generated_set(tmp_path: Path) -> None:
    compared = sum(_compare(path, step=17) for path in generate(tmp_path, kommuner=3, seed=7))
    assert compared > 50_000

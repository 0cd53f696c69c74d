"""From a validated promise file to the planner's inputs and a plan (shared by ``plan`` and ``load``)."""

from __future__ import annotations

from rules.holidays_se import WorkCalendar
from rules.planner import ActivityPlanInput, PinnedOccurrence, Plan, plan
from scheduler.promise_file import PromiseSpec

__all__ = ["plan_inputs", "plan_spec"]


def plan_inputs(spec: PromiseSpec) -> list[ActivityPlanInput]:
    """One planner input per activity of the file, in file order."""
    return [
        ActivityPlanInput(
            key=a.key,
            rule=a.rule,
            entities=tuple(e.key for e in a.entities),
            weekdays=a.weekdays,
            time=a.time,
            duration_minutes=a.duration_minutes,
            school_bound=a.school_bound,
            tracked=a.tracked,
        )
        for a in spec.activities
    ]


def plan_spec(spec: PromiseSpec, *, pinned: tuple[PinnedOccurrence, ...] = ()) -> Plan:
    """The plan of a whole promise over its validity, keeping the occurrences people fixed."""
    work = spec.calendar.work if spec.calendar is not None else WorkCalendar()
    return plan(plan_inputs(spec), window=spec.validity, work=work, school=spec.calendar, pinned=pinned)

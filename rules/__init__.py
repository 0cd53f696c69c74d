"""Löfte's pure core: Swedish parsing, the rule model, calendars, planning and quotas.

Nothing here touches a database, the network or the clock: ``now`` and ``today``
are always parameters.
"""

from rules.errors import (
    CalendarFileError,
    NaiveDatetimeError,
    PlanError,
    RuleError,
    RuleValueError,
)
from rules.explain_sv import explain_sv
from rules.holidays_se import WorkCalendar, klamdagar, swedish_holidays
from rules.model import Kind, Measure, Period, Quota, Rule, Unit, Window
from rules.parse_sv import parse_many, parse_sv
from rules.periods import (
    PeriodRequirement,
    PeriodSpan,
    available_share,
    default_available,
    local_to_utc,
    periods,
    required_in,
    requirements,
    utc_range,
)
from rules.planner import (
    ActivityPlan,
    ActivityPlanInput,
    PeriodPlan,
    PinnedOccurrence,
    Plan,
    PlannedOccurrence,
    PlanProblem,
    Unscheduled,
    plan,
)
from rules.school import (
    Break,
    SchoolCalendar,
    Term,
    TermKind,
    canonical_lan,
    estimated_school_calendar,
    parse_school_calendar,
)

__all__ = [
    "ActivityPlan",
    "ActivityPlanInput",
    "Break",
    "CalendarFileError",
    "Kind",
    "Measure",
    "NaiveDatetimeError",
    "Period",
    "PeriodPlan",
    "PeriodRequirement",
    "PeriodSpan",
    "PinnedOccurrence",
    "Plan",
    "PlanError",
    "PlanProblem",
    "PlannedOccurrence",
    "Quota",
    "Rule",
    "RuleError",
    "RuleValueError",
    "SchoolCalendar",
    "Term",
    "TermKind",
    "Unit",
    "Unscheduled",
    "Window",
    "WorkCalendar",
    "available_share",
    "canonical_lan",
    "default_available",
    "estimated_school_calendar",
    "explain_sv",
    "klamdagar",
    "local_to_utc",
    "parse_many",
    "parse_school_calendar",
    "parse_sv",
    "periods",
    "plan",
    "required_in",
    "requirements",
    "swedish_holidays",
    "utc_range",
]

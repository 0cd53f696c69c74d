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
from rules.model import Kind, Measure, Period, Quota, Rule, Unit, Window
from rules.parse_sv import parse_sv

__all__ = [
    "CalendarFileError",
    "Kind",
    "Measure",
    "NaiveDatetimeError",
    "Period",
    "PlanError",
    "Quota",
    "Rule",
    "RuleError",
    "RuleValueError",
    "Unit",
    "Window",
    "explain_sv",
    "parse_sv",
]

"""Errors of the pure core.

::

    RuleError                      base of everything raised by ``rules``
    ├── RuleValueError(ValueError)     an invalid value object (quota min > max, ...)
    ├── NaiveDatetimeError(ValueError) a datetime without tzinfo at a public boundary
    ├── CalendarFileError(ValueError)  a malformed school-calendar file (file, line, field)
    └── PlanError(ValueError)          a rule that cannot be planned as written

Every error carries structured fields so the shell can render a Swedish
message; ``str()`` is for logs. ``message_sv`` is the Swedish text a user sees.
"""

from __future__ import annotations

__all__ = [
    "CalendarFileError",
    "NaiveDatetimeError",
    "PlanError",
    "RuleError",
    "RuleValueError",
]


class RuleError(Exception):
    """Base class of every error raised by the ``rules`` package."""

    @property
    def message_sv(self) -> str:
        """The message in Swedish, for people; subclasses override."""
        return str(self)


class RuleValueError(RuleError, ValueError):
    """A value object was built with inconsistent fields."""


class NaiveDatetimeError(RuleError, ValueError):
    """A naive datetime reached a public function. Use an aware datetime (``ZoneInfo``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"{name} must be timezone-aware")

    @property
    def message_sv(self) -> str:
        return f"{self.name} saknar tidszon"


class CalendarFileError(RuleError, ValueError):
    """A school-calendar file could not be read. The message names file, line and field."""

    def __init__(self, path: str, line: int | None, field: str | None, problem: str) -> None:
        self.path, self.line, self.field, self.problem = path, line, field, problem
        where = path if line is None else f"{path}, rad {line}"
        if field:
            where += f", fält '{field}'"
        super().__init__(f"{where}: {problem}")

    @property
    def message_sv(self) -> str:
        return str(self)


class PlanError(RuleError, ValueError):
    """A rule cannot be planned as written (for example a quota that cannot fit its period)."""

    def __init__(self, problem_sv: str, *, activity: str | None = None) -> None:
        self.problem_sv, self.activity = problem_sv, activity
        super().__init__(f"{activity}: {problem_sv}" if activity else problem_sv)

    @property
    def message_sv(self) -> str:
        return str(self)

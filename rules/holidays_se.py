"""Swedish public holidays, de-facto holidays and klämdagar, and a working-day calendar.

Sources and policy
------------------
* Holidays come from the ``holidays`` package, pinned to 0.109 in ``pyproject.toml``
  because its Swedish categories changed between releases (see
  ``../shared/reference/school-year.md``). Two categories are used:

  - ``PUBLIC``: the allmänna helgdagar of lag (1989:253) (Nyårsdagen, Trettondedag jul,
    Långfredagen, Påskdagen, Annandag påsk, Första maj, Kristi himmelsfärdsdag,
    Nationaldagen, Pingstdagen, Midsommardagen, Alla helgons dag, Juldagen, Annandag jul);
  - ``DE_FACTO``: Midsommarafton, Julafton and Nyårsafton, which are not official
    holidays but are non-working days in practice.

  Names are the package's Swedish names. Ordinary Sundays are *not* holidays
  (``include_sundays`` is off); they are weekend days.
* The package covers 1953–2100 for Sweden; outside that range it silently returns
  nothing, so every function here raises ``RuleValueError`` for such a year instead.
* **Klämdagar** are computed here, because the package only knows the Friday after
  Kristi himmelsfärd. A klämdag is a weekday (Monday–Friday) that is not itself a
  holiday and whose two neighbours are both non-working days (a weekend day or a
  holiday). Because Saturday–Sunday is the only weekend, one neighbour is always a
  weekday holiday: the Friday after a Thursday holiday, the Monday before a Tuesday
  holiday, or a weekday between two holidays. Klämdagar are official working days, so
  ``WorkCalendar.is_working_day`` counts them as working unless ``klamdagar_off`` is set.
  Extra non-working dates of a ``WorkCalendar`` never create klämdagar.

Speed
-----
The planner asks about every day of a plan, so each year is computed once
(``functools.lru_cache``) into a dict and a frozenset; a question is then a weekday
test plus one or two hash lookups.

>>> cal = WorkCalendar()
>>> cal.holiday_name(dt.date(2025, 6, 6))
'Nationaldagen'
>>> cal.is_klamdag(dt.date(2025, 5, 2)), cal.is_working_day(dt.date(2025, 5, 2))
(True, True)
>>> [d.isoformat() for d in cal.working_days(dt.date(2025, 12, 22), dt.date(2026, 1, 2))]
['2025-12-22', '2025-12-23', '2025-12-29', '2025-12-30', '2026-01-02']
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import holidays
from holidays.constants import DE_FACTO, PUBLIC

from rules.errors import RuleValueError

__all__ = [
    "FIRST_HOLIDAY_YEAR",
    "LAST_HOLIDAY_YEAR",
    "WorkCalendar",
    "klamdagar",
    "swedish_holidays",
]

#: First and last year the pinned ``holidays`` package has Swedish data for.
FIRST_HOLIDAY_YEAR = 1953
LAST_HOLIDAY_YEAR = 2100

_ONE_DAY = dt.timedelta(days=1)
_SATURDAY = 5


def _check_year(year: int) -> None:
    if not FIRST_HOLIDAY_YEAR <= year <= LAST_HOLIDAY_YEAR:
        raise RuleValueError(f"Swedish holiday data covers {FIRST_HOLIDAY_YEAR}–{LAST_HOLIDAY_YEAR}, not {year}")


@functools.lru_cache(maxsize=512)
def swedish_holidays(year: int) -> Mapping[dt.date, str]:
    """The PUBLIC and DE_FACTO holidays of ``year``, date → Swedish name (read-only).

    >>> swedish_holidays(2026)[dt.date(2026, 5, 14)]
    'Kristi himmelsfärdsdag'
    """
    _check_year(year)
    found = holidays.country_holidays("SE", years=year, categories=(PUBLIC, DE_FACTO), language="sv")
    return MappingProxyType({day: str(name) for day, name in sorted(found.items())})


def _is_off(day: dt.date) -> bool:
    """Weekend or PUBLIC/DE_FACTO holiday (the neighbours' test for klämdagar)."""
    return day.weekday() >= _SATURDAY or day in swedish_holidays(day.year)


@functools.lru_cache(maxsize=512)
def klamdagar(year: int) -> frozenset[dt.date]:
    """The klämdagar of ``year``: weekdays, not holidays, between two non-working days.

    Neighbours across New Year are looked up in the adjacent year (when it has data).

    >>> sorted(d.isoformat() for d in klamdagar(2026))
    ['2026-01-02', '2026-01-05', '2026-05-15']
    """
    _check_year(year)
    found: set[dt.date] = set()
    for holiday in swedish_holidays(year):
        for candidate in (holiday - _ONE_DAY, holiday + _ONE_DAY):
            if candidate.year != year or candidate.weekday() >= _SATURDAY:
                continue
            if candidate in swedish_holidays(year):
                continue
            before, after = candidate - _ONE_DAY, candidate + _ONE_DAY
            if all(FIRST_HOLIDAY_YEAR <= n.year <= LAST_HOLIDAY_YEAR and _is_off(n) for n in (before, after)):
                found.add(candidate)
    return frozenset(found)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkCalendar:
    """Which days are working days in Sweden.

    A working day is a Monday–Friday that is neither a PUBLIC/DE_FACTO holiday nor in
    ``extra_non_working``, nor (when ``klamdagar_off``) a klämdag.

    ``extra_non_working``: local days off (a kommun's or a unit's own closed days); they
    are not holidays, so ``is_holiday`` and ``holiday_name`` ignore them. Any iterable of
    dates is accepted and stored as a frozenset.
    """

    extra_non_working: frozenset[dt.date] = frozenset()
    klamdagar_off: bool = False

    def __post_init__(self) -> None:
        extra = frozenset(self.extra_non_working)
        for day in extra:
            if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
                raise RuleValueError(f"extra_non_working holds a non-date: {day!r}")
        object.__setattr__(self, "extra_non_working", extra)

    def is_holiday(self, day: dt.date) -> bool:
        """True on a PUBLIC or DE_FACTO holiday (Påskdagen too, though it is a Sunday)."""
        return day in swedish_holidays(day.year)

    def holiday_name(self, day: dt.date) -> str | None:
        """The Swedish name of the holiday on ``day``, or None."""
        return swedish_holidays(day.year).get(day)

    def is_klamdag(self, day: dt.date) -> bool:
        """True on a klämdag (see the module docstring)."""
        return day in klamdagar(day.year)

    def is_working_day(self, day: dt.date) -> bool:
        """True on a working day (see the class docstring)."""
        if day.weekday() >= _SATURDAY or day in swedish_holidays(day.year):
            return False
        if day in self.extra_non_working:
            return False
        return not (self.klamdagar_off and day in klamdagar(day.year))

    def iter_working_days(self, start: dt.date, end: dt.date) -> Iterator[dt.date]:
        """Working days from ``start`` to ``end``, both inclusive, in order (empty if end < start)."""
        day = start
        while day <= end:  # bounded: one step per day of the inclusive span
            if self.is_working_day(day):
                yield day
            if day == dt.date.max:
                return
            day += _ONE_DAY

    def working_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Working days from ``start`` to ``end``, both inclusive, as a list."""
        return list(self.iter_working_days(start, end))

    def count_working_days(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie from ``start`` to ``end``, both inclusive."""
        return sum(1 for _ in self.iter_working_days(start, end))

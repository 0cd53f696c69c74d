"""Periods inside a window: which spans a quota such as "2 per månad" is counted over.

Enumeration
-----------
``periods(period, window)`` cuts a window (both ends inclusive) into consecutive spans
of ``period.every`` calendar units:

========== ================================ ===================== =========================
unit       one unit                         key                   label
========== ================================ ===================== =========================
day        one date                         ``2025-03-14``        ``14 mars 2025``
week       ISO week, Monday–Sunday          ``2025-W12``          ``vecka 12 2025``
month      calendar month                   ``2025-03``           ``mars 2025``
quarter    Jan–Mar, Apr–Jun, Jul–Sep, Oct–  ``2025-Q1``           ``1:a kvartalet 2025``
tertial    Jan–Apr, May–Aug, Sep–Dec        ``2025-T1``           ``1:a tertialet 2025``
half_year  Jan–Jun, Jul–Dec                 ``2025-H1``           ``1:a halvåret 2025``
term       VT = Jan–Jun, HT = Jul–Dec       ``2025-VT``           ``vårterminen 2025``
school_year 1 July – 30 June                ``2025/26``           ``läsåret 2025/26``
year       calendar year                    ``2025``              ``2025``
========== ================================ ===================== =========================

* Week keys use the ISO week-year (``2026-W01`` starts on 2025-12-29) and are
  zero-padded, so keys of one unit sort like their dates, except ``term``, whose keys
  are ``YYYY-VT`` then ``YYYY-HT``. ``PeriodSpan.index`` always increases.
* Term and läsår periods tile the calendar (HT = 1 July–31 December, VT = 1 January–
  30 June, läsår = 1 July–30 June) so that a quota "per termin" has a home for every
  date, summer included. Which days of those spans are teaching days comes from a
  ``SchoolCalendar``; pass ``school=`` and each term/läsår span lists the calendar's
  ``terms`` inside it (a planner then uses ``SchoolCalendar.is_school_day``).
* ``every`` N: N consecutive units make one period, anchored at the unit containing
  ``window.start`` (varannan vecka = ISO weeks in pairs from the window's first week).
  The key is ``first..last`` (``2025-W12..2025-W13``) and the label a range
  (``vecka 12–13 2025``); key and label name the full group even when it is clipped.
* The spans tile the window exactly: the first starts at ``window.start``, the last ends
  at ``window.end``, each starts the day after the previous one ends. ``start``/``end``
  are clipped to the window, ``full_start``/``full_end`` are not; ``partial`` says they
  differ.

Partial periods: the policy
---------------------------
A window rarely starts on the first of a month. What does "2 per månad" require of a
window that starts on 15 March? **Pro rata by available days, rounded half up**:

1. ``share = available days in the clipped span / available days in the full period``,
   where *available* is the planner's notion of a usable day: working days
   (``WorkCalendar.is_working_day``) by default, school days
   (``SchoolCalendar.is_school_day``) for ``term`` and ``school_year`` when a school
   calendar is given, or every calendar day when no filter is passed
   (``available_share``, ``default_available``). A full period has share 1. If the full
   period has no available day at all, the share of calendar days is used instead.
2. ``required = floor(quota_min × share + ½)`` (``required_in``): the nearest integer,
   halves up. A full period therefore requires exactly ``quota_min``; a window covering
   half a month of a 2-per-month quota requires 1; a sliver may require 0.
3. The share is exposed (``PeriodRequirement.share``) so a UI can say "delperiod
   (11 av 21 arbetsdagar)".

Worked example: 2 per month, window 2025-03-15 – 2025-05-31. March 2025 has 21 working
days, 11 of them on or after Saturday 15 March, so ``share = 11/21`` and March requires
``floor(2 × 11/21 + ½) = floor(1.55) = 1``; April and May are full and require 2 each.
Starting on 26 March instead leaves 4 of 21 working days: ``floor(0.38 + ½) = 0``.

>>> from rules.model import Period, Unit, Window
>>> spans = periods(Period(unit=Unit.MONTH), Window(start=dt.date(2025, 3, 15), end=dt.date(2025, 5, 31)))
>>> [(s.key, s.label, s.partial) for s in spans]
[('2025-03', 'mars 2025', True), ('2025-04', 'april 2025', False), ('2025-05', 'maj 2025', False)]
>>> [(str(r.share), r.required) for r in requirements(spans, 2)]
[('11/21', 1), ('1', 2), ('1', 2)]

Local times and DST
-------------------
``local_to_utc(day, time, tz)`` turns a wall-clock time into an aware UTC datetime.
Policy, as in ``zoneinfo`` with ``fold=0``: a **nonexistent** wall time (the spring gap,
Europe/Stockholm 2025-03-30 02:00–03:00) moves **forward** by the gap (02:30 → 03:30
CEST); an **ambiguous** one (2025-10-26 02:00–03:00 occurs twice) takes the **first**
occurrence (fold=0, CEST, +02:00). ``utc_range(span, tz=...)`` gives the half-open UTC
interval ``[start 00:00, day after end 00:00)`` for counting completions into a span.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction

from rules.errors import RuleValueError
from rules.holidays_se import WorkCalendar
from rules.model import Period, Unit, Window
from rules.school import SchoolCalendar, Term

__all__ = [
    "MAX_PERIODS",
    "PeriodRequirement",
    "PeriodSpan",
    "available_share",
    "default_available",
    "local_to_utc",
    "periods",
    "required_in",
    "requirements",
    "utc_range",
]

#: Upper bound on the spans one call may produce (a century of days fits).
MAX_PERIODS = 100_000

MONTHS_SV = (
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)  # fmt: skip
_ONE_DAY = dt.timedelta(days=1)


def _ordinal_sv(n: int) -> str:
    """1:a, 2:a, 3:e, 4:e (only 1–4 are needed: quarters, tertials, halves)."""
    return f"{n}:{'a' if n in (1, 2) else 'e'}"


# -- one unit -----------------------------------------------------------------------------
# Every unit is numbered by an integer index that increases with time; a group of
# ``every`` units is then plain integer arithmetic.
_MONTHS_PER = {Unit.MONTH: 1, Unit.QUARTER: 3, Unit.TERTIAL: 4, Unit.HALF_YEAR: 6, Unit.TERM: 6}


def _index_of(unit: Unit, day: dt.date) -> int:
    if unit is Unit.DAY:
        return day.toordinal()
    if unit is Unit.WEEK:
        return (day.toordinal() - 1) // 7  # ordinal 1 (0001-01-01) is a Monday
    if unit in _MONTHS_PER:
        per = _MONTHS_PER[unit]
        return day.year * (12 // per) + (day.month - 1) // per
    if unit is Unit.SCHOOL_YEAR:
        return day.year if day.month >= 7 else day.year - 1
    return day.year  # Unit.YEAR


def _bounds(unit: Unit, index: int) -> tuple[dt.date, dt.date]:
    if unit is Unit.DAY:
        day = dt.date.fromordinal(index)
        return day, day
    if unit is Unit.WEEK:
        monday = dt.date.fromordinal(index * 7 + 1)
        return monday, monday + dt.timedelta(days=6)
    if unit in _MONTHS_PER:
        per = _MONTHS_PER[unit]
        year, part = divmod(index, 12 // per)
        first, last = part * per + 1, part * per + per
        return dt.date(year, first, 1), dt.date(year, last, calendar.monthrange(year, last)[1])
    if unit is Unit.SCHOOL_YEAR:
        return dt.date(index, 7, 1), dt.date(index + 1, 6, 30)
    return dt.date(index, 1, 1), dt.date(index, 12, 31)


def _safe_bounds(unit: Unit, index: int) -> tuple[dt.date, dt.date]:
    try:
        return _bounds(unit, index)
    except (ValueError, OverflowError):
        raise RuleValueError(f"a {unit.value} period reaches outside the supported dates") from None


def _key(unit: Unit, index: int) -> str:
    start, _ = _bounds(unit, index)
    if unit is Unit.DAY:
        return start.isoformat()
    if unit is Unit.WEEK:
        iso = start.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    if unit is Unit.MONTH:
        return f"{start.year:04d}-{start.month:02d}"
    if unit in (Unit.QUARTER, Unit.TERTIAL, Unit.HALF_YEAR):
        letter = {Unit.QUARTER: "Q", Unit.TERTIAL: "T", Unit.HALF_YEAR: "H"}[unit]
        return f"{start.year:04d}-{letter}{(start.month - 1) // _MONTHS_PER[unit] + 1}"
    if unit is Unit.TERM:
        return f"{start.year:04d}-{'VT' if start.month == 1 else 'HT'}"
    if unit is Unit.SCHOOL_YEAR:
        return f"{start.year:04d}/{(start.year + 1) % 100:02d}"
    return f"{start.year:04d}"


def _label_parts(unit: Unit, index: int) -> tuple[str, int]:
    """(the label without its year, the year), e.g. ('vecka 12', 2025)."""
    start, _ = _bounds(unit, index)
    if unit is Unit.DAY:
        return f"{start.day} {MONTHS_SV[start.month - 1]}", start.year
    if unit is Unit.WEEK:
        iso = start.isocalendar()
        return f"vecka {iso.week}", iso.year
    if unit is Unit.MONTH:
        return MONTHS_SV[start.month - 1], start.year
    if unit in (Unit.QUARTER, Unit.TERTIAL, Unit.HALF_YEAR):
        noun = {Unit.QUARTER: "kvartalet", Unit.TERTIAL: "tertialet", Unit.HALF_YEAR: "halvåret"}[unit]
        return f"{_ordinal_sv((start.month - 1) // _MONTHS_PER[unit] + 1)} {noun}", start.year
    if unit is Unit.TERM:
        return ("vårterminen" if start.month == 1 else "höstterminen"), start.year
    return "", start.year


def _label(unit: Unit, index: int) -> str:
    if unit is Unit.SCHOOL_YEAR:
        return f"läsåret {_key(unit, index)}"
    text, year = _label_parts(unit, index)
    return f"{text} {year}" if text else str(year)


def _label_range(unit: Unit, first: int, last: int) -> str:
    """A Swedish label for units ``first``..``last``: 'vecka 12–13 2025', 'mars–april 2025'."""
    if unit is Unit.SCHOOL_YEAR:
        return f"läsåren {_key(unit, first)}–{_key(unit, last)}"
    if unit is Unit.YEAR:
        return f"{_key(unit, first)}–{_key(unit, last)}"
    text_a, year_a = _label_parts(unit, first)
    text_b, year_b = _label_parts(unit, last)
    if year_a == year_b:
        if unit is Unit.DAY:
            start_a, start_b = _bounds(unit, first)[0], _bounds(unit, last)[0]
            if start_a.month == start_b.month:
                return f"{start_a.day}–{text_b} {year_b}"
            return f"{text_a} – {text_b} {year_b}"
        if unit is Unit.WEEK:
            return f"{text_a}–{text_b.removeprefix('vecka ')} {year_b}"
        if unit is Unit.MONTH:
            return f"{text_a}–{text_b} {year_b}"
        if unit in (Unit.QUARTER, Unit.TERTIAL, Unit.HALF_YEAR):
            number_a, noun = text_a.split(" ", 1)
            return f"{number_a}–{text_b.split(' ', 1)[0]} {noun} {year_b}"
    return f"{_label(unit, first)} – {_label(unit, last)}"


# -- spans --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodSpan:
    """One period of a window: ``every`` units, clipped to the window.

    ``start``/``end`` (inclusive) are clipped, ``full_start``/``full_end`` are not.
    ``index`` numbers the first unit of the group and increases along a window.
    ``terms``: for ``term`` and ``school_year`` periods enumerated with a school
    calendar, its terms inside ``full_start``..``full_end``; otherwise empty.
    """

    key: str
    label: str
    unit: Unit
    index: int
    start: dt.date
    end: dt.date
    full_start: dt.date
    full_end: dt.date
    terms: tuple[Term, ...] = ()

    def __post_init__(self) -> None:
        if not self.full_start <= self.start <= self.end <= self.full_end:
            raise RuleValueError(
                f"span {self.key}: need full_start <= start <= end <= full_end, got "
                f"{self.full_start} {self.start} {self.end} {self.full_end}"
            )

    @property
    def partial(self) -> bool:
        """True when the window cuts this period (a "delperiod")."""
        return self.start != self.full_start or self.end != self.full_end

    @property
    def days(self) -> int:
        """Calendar days in the clipped span."""
        return (self.end - self.start).days + 1

    @property
    def full_days(self) -> int:
        """Calendar days in the full period."""
        return (self.full_end - self.full_start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "label": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "full_start": self.full_start.isoformat(),
            "full_end": self.full_end.isoformat(),
            "partial": self.partial,
        }


def periods(period: Period, window: Window, *, school: SchoolCalendar | None = None) -> list[PeriodSpan]:
    """The spans of ``period`` that tile ``window`` (see the module docstring).

    >>> from rules.model import Period, Unit, Window
    >>> w = Window(start=dt.date(2025, 3, 12), end=dt.date(2025, 4, 6))
    >>> [(s.key, s.label, str(s.start), str(s.end)) for s in periods(Period(unit=Unit.WEEK, every=2), w)]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('2025-W11..2025-W12', 'vecka 11–12 2025', '2025-03-12', '2025-03-23'),
     ('2025-W13..2025-W14', 'vecka 13–14 2025', '2025-03-24', '2025-04-06')]

    Raises ``RuleValueError`` when more than ``MAX_PERIODS`` spans would result.
    """
    unit, every = period.unit, period.every
    first_index = _index_of(unit, window.start)
    last_index = _index_of(unit, window.end)
    groups = (last_index - first_index) // every + 1
    if groups > MAX_PERIODS:
        raise RuleValueError(f"{groups} {unit.value} periods in one window (at most {MAX_PERIODS})")
    with_terms = school is not None and unit in (Unit.TERM, Unit.SCHOOL_YEAR)
    spans: list[PeriodSpan] = []
    for group in range(groups):  # bounded by MAX_PERIODS
        first = first_index + group * every
        last = first + every - 1
        full_start = _safe_bounds(unit, first)[0]
        full_end = _safe_bounds(unit, last)[1]
        if every == 1:
            key, label = _key(unit, first), _label(unit, first)
        else:
            key, label = f"{_key(unit, first)}..{_key(unit, last)}", _label_range(unit, first, last)
        spans.append(
            PeriodSpan(
                key=key,
                label=label,
                unit=unit,
                index=first,
                start=max(full_start, window.start),
                end=min(full_end, window.end),
                full_start=full_start,
                full_end=full_end,
                terms=school.terms_between(full_start, full_end) if with_terms and school else (),
            )
        )
    return spans


# -- the partial-period policy ------------------------------------------------------------
def default_available(
    unit: Unit, *, work: WorkCalendar | None = None, school: SchoolCalendar | None = None
) -> Callable[[dt.date], bool]:
    """The planner's usable days for ``unit``: school days for term/läsår with a school
    calendar, otherwise working days of ``work`` (the default ``WorkCalendar``)."""
    if school is not None and unit in (Unit.TERM, Unit.SCHOOL_YEAR):
        return school.is_school_day
    return (work or WorkCalendar()).is_working_day


def _count(start: dt.date, end: dt.date, available: Callable[[dt.date], bool]) -> int:
    total, day = 0, start
    while day <= end:  # bounded by the span
        total += bool(available(day))
        day += _ONE_DAY
    return total


def available_share(span: PeriodSpan, *, available: Callable[[dt.date], bool] | None = None) -> Fraction:
    """The share of the full period's available days that lie inside the clipped span.

    ``available=None`` counts calendar days. A full span has share 1; a period with no
    available day at all falls back to calendar days.
    """
    if not span.partial:
        return Fraction(1)
    if available is not None:
        total = _count(span.full_start, span.full_end, available)
        if total:
            return Fraction(_count(span.start, span.end, available), total)
    return Fraction(span.days, span.full_days)


def required_in(span: PeriodSpan, quota_min: int, *, available_share: Fraction) -> int:
    """How many of ``quota_min`` the span requires: ``floor(quota_min × share + ½)``.

    A full (non-partial) span requires exactly ``quota_min`` whatever the share.

    >>> s = periods(Period(unit=Unit.MONTH), Window(start=dt.date(2025, 3, 16), end=dt.date(2025, 3, 31)))[0]
    >>> required_in(s, 2, available_share=Fraction(1, 2)), required_in(s, 1, available_share=Fraction(1, 2))
    (1, 1)
    >>> required_in(s, 2, available_share=Fraction(1, 5))
    0
    """
    if quota_min < 0:
        raise RuleValueError(f"quota_min cannot be negative: {quota_min}")
    if not 0 <= available_share <= 1:
        raise RuleValueError(f"available_share must lie in [0, 1], not {available_share}")
    if not span.partial:
        return quota_min
    return math.floor(quota_min * available_share + Fraction(1, 2))


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodRequirement:
    """What one span requires under the partial-period policy."""

    span: PeriodSpan
    share: Fraction
    required: int

    @property
    def partial(self) -> bool:
        """A "delperiod": the UI should show ``share``."""
        return self.span.partial


def requirements(
    spans: Iterable[PeriodSpan], quota_min: int, *, available: Callable[[dt.date], bool] | None = None
) -> list[PeriodRequirement]:
    """``required_in`` for every span; ``available=None`` uses ``default_available(unit)``."""
    out: list[PeriodRequirement] = []
    for span in spans:
        usable = available or default_available(span.unit)
        share = available_share(span, available=usable)
        out.append(
            PeriodRequirement(span=span, share=share, required=required_in(span, quota_min, available_share=share))
        )
    return out


# -- local times --------------------------------------------------------------------------
def local_to_utc(day: dt.date, time: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The aware UTC instant of wall-clock ``time`` on ``day`` in ``tz``.

    Nonexistent wall times move forward by the gap; ambiguous ones take the first
    occurrence (fold=0); ``time.fold`` is ignored. ``time`` must be naive.

    >>> from zoneinfo import ZoneInfo
    >>> local_to_utc(dt.date(2025, 3, 30), dt.time(2, 30), ZoneInfo("Europe/Stockholm")).isoformat()
    '2025-03-30T01:30:00+00:00'
    """
    if time.tzinfo is not None:
        raise RuleValueError("local_to_utc needs a naive wall-clock time")
    local = dt.datetime.combine(day, time.replace(fold=0), tzinfo=tz)
    return local.astimezone(dt.UTC)


def utc_range(span: PeriodSpan, *, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The half-open UTC interval ``[span.start 00:00, day after span.end 00:00)`` in ``tz``."""
    return (
        local_to_utc(span.start, dt.time(0, 0), tz),
        local_to_utc(span.end + _ONE_DAY, dt.time(0, 0), tz),
    )

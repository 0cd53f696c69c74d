"""Period enumeration, the partial-period policy and local-time helpers (rules/periods.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rules.errors import RuleValueError
from rules.model import Period, Unit, Window
from rules.periods import (
    MAX_PERIODS,
    PeriodSpan,
    available_share,
    default_available,
    local_to_utc,
    periods,
    required_in,
    requirements,
    utc_range,
)
from rules.school import EXAMPLE, estimated_school_calendar, parse_school_calendar

D = dt.date.fromisoformat
STHLM = ZoneInfo("Europe/Stockholm")


def window(start: str, end: str) -> Window:
    return Window(start=D(start), end=D(end))


def spans_of(unit: Unit, start: str, end: str, every: int = 1) -> list[PeriodSpan]:
    return periods(Period(unit=unit, every=every), window(start, end))


# -- one unit: keys, labels and full bounds ---------------------------------------------------
@pytest.mark.parametrize(
    ("unit", "day", "key", "label", "full_start", "full_end"),
    [
        (Unit.DAY, "2025-03-14", "2025-03-14", "14 mars 2025", "2025-03-14", "2025-03-14"),
        (Unit.WEEK, "2025-03-19", "2025-W12", "vecka 12 2025", "2025-03-17", "2025-03-23"),
        (Unit.WEEK, "2025-12-31", "2026-W01", "vecka 1 2026", "2025-12-29", "2026-01-04"),
        (Unit.WEEK, "2021-01-03", "2020-W53", "vecka 53 2020", "2020-12-28", "2021-01-03"),
        (Unit.MONTH, "2025-03-14", "2025-03", "mars 2025", "2025-03-01", "2025-03-31"),
        (Unit.MONTH, "2024-02-10", "2024-02", "februari 2024", "2024-02-01", "2024-02-29"),
        (Unit.QUARTER, "2025-03-14", "2025-Q1", "1:a kvartalet 2025", "2025-01-01", "2025-03-31"),
        (Unit.QUARTER, "2025-11-14", "2025-Q4", "4:e kvartalet 2025", "2025-10-01", "2025-12-31"),
        (Unit.TERTIAL, "2025-03-14", "2025-T1", "1:a tertialet 2025", "2025-01-01", "2025-04-30"),
        (Unit.TERTIAL, "2025-05-01", "2025-T2", "2:a tertialet 2025", "2025-05-01", "2025-08-31"),
        (Unit.TERTIAL, "2025-12-31", "2025-T3", "3:e tertialet 2025", "2025-09-01", "2025-12-31"),
        (Unit.HALF_YEAR, "2025-03-14", "2025-H1", "1:a halvåret 2025", "2025-01-01", "2025-06-30"),
        (Unit.HALF_YEAR, "2025-07-01", "2025-H2", "2:a halvåret 2025", "2025-07-01", "2025-12-31"),
        (Unit.TERM, "2025-03-14", "2025-VT", "vårterminen 2025", "2025-01-01", "2025-06-30"),
        (Unit.TERM, "2025-07-01", "2025-HT", "höstterminen 2025", "2025-07-01", "2025-12-31"),
        (Unit.SCHOOL_YEAR, "2025-08-18", "2025/26", "läsåret 2025/26", "2025-07-01", "2026-06-30"),
        (Unit.SCHOOL_YEAR, "2026-06-30", "2025/26", "läsåret 2025/26", "2025-07-01", "2026-06-30"),
        (Unit.SCHOOL_YEAR, "1999-09-01", "1999/00", "läsåret 1999/00", "1999-07-01", "2000-06-30"),
        (Unit.YEAR, "2025-03-14", "2025", "2025", "2025-01-01", "2025-12-31"),
    ],
    ids=str,
)
def test_single_unit(  # noqa: PLR0917 - one argument per table column
    unit: Unit, day: str, key: str, label: str, full_start: str, full_end: str
) -> None:
    (span,) = spans_of(unit, day, day)
    assert (span.key, span.label) == (key, label)
    assert (span.start, span.end) == (D(day), D(day))
    assert (span.full_start, span.full_end) == (D(full_start), D(full_end))
    assert span.partial is (full_start != full_end)


@pytest.mark.parametrize(
    ("unit", "every", "start", "end", "keys", "labels"),
    [
        (
            Unit.WEEK,
            2,
            "2025-03-12",
            "2025-04-06",
            ["2025-W11..2025-W12", "2025-W13..2025-W14"],
            ["vecka 11–12 2025", "vecka 13–14 2025"],
        ),
        (Unit.WEEK, 2, "2025-12-22", "2026-01-04", ["2025-W52..2026-W01"], ["vecka 52 2025 – vecka 1 2026"]),
        (
            Unit.MONTH,
            2,
            "2025-03-15",
            "2025-06-30",
            ["2025-03..2025-04", "2025-05..2025-06"],
            ["mars–april 2025", "maj–juni 2025"],
        ),
        (Unit.MONTH, 3, "2025-12-01", "2026-02-28", ["2025-12..2026-02"], ["december 2025 – februari 2026"]),
        (
            Unit.DAY,
            3,
            "2025-03-30",
            "2025-04-04",
            ["2025-03-30..2025-04-01", "2025-04-02..2025-04-04"],
            ["30 mars – 1 april 2025", "2–4 april 2025"],
        ),
        (
            Unit.QUARTER,
            2,
            "2025-01-01",
            "2025-12-31",
            ["2025-Q1..2025-Q2", "2025-Q3..2025-Q4"],
            ["1:a–2:a kvartalet 2025", "3:e–4:e kvartalet 2025"],
        ),
        (Unit.TERM, 2, "2025-07-01", "2026-06-30", ["2025-HT..2026-VT"], ["höstterminen 2025 – vårterminen 2026"]),
        (Unit.SCHOOL_YEAR, 2, "2025-08-01", "2027-06-30", ["2025/26..2026/27"], ["läsåren 2025/26–2026/27"]),
        (Unit.YEAR, 2, "2025-01-01", "2027-12-31", ["2025..2026", "2027..2028"], ["2025–2026", "2027–2028"]),
    ],
    ids=str,
)
def test_every_n(  # noqa: PLR0917 - one argument per table column
    unit: Unit, every: int, start: str, end: str, keys: list[str], labels: list[str]
) -> None:
    spans = spans_of(unit, start, end, every)
    assert [s.key for s in spans] == keys
    assert [s.label for s in spans] == labels


def test_varannan_vecka_is_anchored_at_the_windows_first_week() -> None:
    a = spans_of(Unit.WEEK, "2025-03-10", "2025-04-06", 2)  # starts in week 11
    b = spans_of(Unit.WEEK, "2025-03-17", "2025-04-06", 2)  # starts in week 12
    assert [s.full_start for s in a] == [D("2025-03-10"), D("2025-03-24")]
    assert [s.full_start for s in b] == [D("2025-03-17"), D("2025-03-31")]
    assert b[-1].partial
    assert b[-1].full_end == D("2025-04-13")


def test_terms_tile_the_calendar_and_carry_the_school_terms() -> None:
    school = estimated_school_calendar(kommun="Hagfors", lan="Värmland", first_year=2022, last_year=2024)
    spans = periods(Period(unit=Unit.TERM), window("2022-08-01", "2024-06-30"), school=school)
    assert [(s.key, str(s.start), str(s.end), s.partial) for s in spans] == [
        ("2022-HT", "2022-08-01", "2022-12-31", True),
        ("2023-VT", "2023-01-01", "2023-06-30", False),
        ("2023-HT", "2023-07-01", "2023-12-31", False),
        ("2024-VT", "2024-01-01", "2024-06-30", False),
    ]
    assert [[t.key for t in s.terms] for s in spans] == [["2022-HT"], ["2023-VT"], ["2023-HT"], ["2024-VT"]]
    years = periods(Period(unit=Unit.SCHOOL_YEAR), window("2022-07-01", "2024-06-30"), school=school)
    assert [[t.key for t in s.terms] for s in years] == [["2022-HT", "2023-VT"], ["2023-HT", "2024-VT"]]
    assert all(s.terms == () for s in periods(Period(unit=Unit.MONTH), window("2023-01-01", "2023-02-28")))


def test_too_many_periods_are_refused() -> None:
    with pytest.raises(RuleValueError, match=f"at most {MAX_PERIODS}"):
        spans_of(Unit.DAY, "1900-01-01", "2199-12-31")


def test_span_validates_and_serialises() -> None:
    with pytest.raises(RuleValueError, match="full_start <= start"):
        PeriodSpan(key="x", label="x", unit=Unit.DAY, index=0, start=D("2025-01-02"), end=D("2025-01-01"),
                   full_start=D("2025-01-01"), full_end=D("2025-01-02"))  # fmt: skip
    (span,) = spans_of(Unit.MONTH, "2025-03-15", "2025-03-31")
    assert span.to_json() == {
        "key": "2025-03", "label": "mars 2025", "start": "2025-03-15", "end": "2025-03-31",
        "full_start": "2025-03-01", "full_end": "2025-03-31", "partial": True,
    }  # fmt: skip
    assert D("2025-03-20") in span
    assert D("2025-03-14") not in span
    with pytest.raises(dataclasses.FrozenInstanceError):
        span.key = "y"  # type: ignore[misc]


# -- properties --------------------------------------------------------------------------------
windows = st.tuples(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)),
    st.integers(min_value=0, max_value=3 * 366),
).map(lambda t: Window(start=t[0], end=t[0] + dt.timedelta(days=t[1])))


@settings(max_examples=300, deadline=None)
@given(window=windows, unit=st.sampled_from(list(Unit)), every=st.integers(min_value=1, max_value=6))
@example(window=window("2025-03-30", "2025-10-26"), unit=Unit.WEEK, every=2)
@example(window=window("2020-12-31", "2021-01-01"), unit=Unit.WEEK, every=1)  # ISO week 53
@example(window=window("2024-02-29", "2024-02-29"), unit=Unit.SCHOOL_YEAR, every=3)
def test_periods_tile_any_window(window: Window, unit: Unit, every: int) -> None:
    spans = periods(Period(unit=unit, every=every), window)
    assert spans[0].start == window.start
    assert spans[-1].end == window.end
    for before, after in itertools.pairwise(spans):
        assert after.start == before.end + dt.timedelta(days=1)  # no gap, no overlap
        assert after.full_start == before.full_end + dt.timedelta(days=1)
        assert after.index == before.index + every
    assert len({s.key for s in spans}) == len(spans)
    if unit is not Unit.TERM:  # term keys run YYYY-VT, YYYY-HT
        assert [s.key for s in spans] == sorted(s.key for s in spans)
    for span in spans:
        assert span.full_start <= span.start <= span.end <= span.full_end
        assert span.partial is ((span.start, span.end) != (span.full_start, span.full_end))
        assert span.unit is unit
        assert span.label
    for span in spans[1:-1]:
        assert not span.partial  # only the ends can be cut
    # each group is exactly `every` whole units
    group = spans[len(spans) // 2]
    units = periods(Period(unit=unit), Window(start=group.full_start, end=group.full_end))
    assert len(units) == every
    assert not any(u.partial for u in units)
    if every > 1:
        assert group.key == f"{units[0].key}..{units[-1].key}"


@settings(max_examples=100, deadline=None)
@given(
    window=windows,
    unit=st.sampled_from(list(Unit)),
    cut=st.integers(min_value=0, max_value=3 * 366),
)
def test_splitting_a_window_splits_its_periods(window: Window, unit: Unit, cut: int) -> None:
    """periods(a..c) equals periods(a..b) + periods(b+1..c), joining the span cut at b."""
    middle = window.start + dt.timedelta(days=cut % window.days)
    if middle == window.end:
        return
    whole = periods(Period(unit=unit), window)
    left = periods(Period(unit=unit), Window(start=window.start, end=middle))
    right = periods(Period(unit=unit), Window(start=middle + dt.timedelta(days=1), end=window.end))
    if left[-1].key == right[0].key:
        joined = dataclasses.replace(left[-1], end=right[0].end)
        left, right = [*left[:-1], joined], right[1:]
    assert whole == left + right


# -- the partial-period policy ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "share", "required"),
    [
        ("2025-03-01", Fraction(1), 2),  # the full month
        ("2025-03-15", Fraction(11, 21), 1),  # the docstring's worked example
        ("2025-03-20", Fraction(8, 21), 1),  # 0.76 → 1
        ("2025-03-26", Fraction(4, 21), 0),  # 0.38 → 0
        ("2025-03-31", Fraction(1, 21), 0),
    ],
    ids=str,
)
def test_two_per_month_from_a_date_in_march(start: str, share: Fraction, required: int) -> None:
    (span,) = spans_of(Unit.MONTH, start, "2025-03-31")
    got = available_share(span, available=default_available(Unit.MONTH))
    assert got == share
    assert required_in(span, 2, available_share=got) == required


@pytest.mark.parametrize(
    ("quota", "share", "required"),
    [
        (2, Fraction(1, 2), 1),  # half a month of "2 per month" still requires 1
        (1, Fraction(1, 2), 1),  # halves go up
        (3, Fraction(1, 2), 2),  # 1.5 → 2
        (2, Fraction(1, 4), 1),  # 0.5 → 1
        (2, Fraction(6, 25), 0),  # 0.48 → 0
        (4, Fraction(0), 0),
        (4, Fraction(1), 4),
        (0, Fraction(1, 2), 0),
    ],
    ids=str,
)
def test_rounding_is_half_up(quota: int, share: Fraction, required: int) -> None:
    (span,) = spans_of(Unit.MONTH, "2025-03-16", "2025-03-31")
    assert required_in(span, quota, available_share=share) == required


def test_a_full_span_requires_the_whole_quota_whatever_the_share() -> None:
    (span,) = spans_of(Unit.MONTH, "2025-03-01", "2025-03-31")
    assert required_in(span, 5, available_share=Fraction(1, 10)) == 5


@pytest.mark.parametrize(
    ("quota", "share", "problem"),
    [(-1, Fraction(1), "negative"), (2, Fraction(3, 2), r"\[0, 1\]"), (2, Fraction(-1, 2), r"\[0, 1\]")],
    ids=str,
)
def test_required_in_rejects(quota: int, share: Fraction, problem: str) -> None:
    (span,) = spans_of(Unit.MONTH, "2025-03-16", "2025-03-31")
    with pytest.raises(RuleValueError, match=problem):
        required_in(span, quota, available_share=share)


def test_requirements_over_a_window_and_the_share_for_a_ui() -> None:
    spans = spans_of(Unit.MONTH, "2025-03-15", "2025-05-31")
    got = [(r.span.key, r.share, r.required, r.partial) for r in requirements(spans, 2)]
    assert got == [
        ("2025-03", Fraction(11, 21), 1, True),
        ("2025-04", Fraction(1), 2, False),
        ("2025-05", Fraction(1), 2, False),
    ]
    calendar_days = requirements(spans, 2, available=lambda _day: True)
    assert calendar_days[0].share == Fraction(17, 31)


def test_term_share_counts_school_days() -> None:
    school = parse_school_calendar(EXAMPLE, source="x")
    (span,) = periods(Period(unit=Unit.TERM), window("2025-10-01", "2025-12-31"), school=school)
    usable = default_available(Unit.TERM, school=school)
    inside = len(school.school_days(D("2025-10-01"), D("2025-12-31")))
    total = len(school.school_days(D("2025-07-01"), D("2025-12-31")))
    assert available_share(span, available=usable) == Fraction(inside, total)
    assert (inside, total) == (53, 84)  # 58 weekdays from 1 Oct minus höstlov; 90 - studiedag - höstlov
    assert required_in(span, 1, available_share=Fraction(inside, total)) == 1
    assert default_available(Unit.MONTH, school=school) != school.is_school_day


def test_share_falls_back_to_calendar_days_when_nothing_is_available() -> None:
    (span,) = spans_of(Unit.MONTH, "2025-03-16", "2025-03-31")
    assert available_share(span, available=lambda _day: False) == Fraction(16, 31)
    assert available_share(span) == Fraction(16, 31)


@settings(max_examples=150, deadline=None)
@given(
    quota=st.integers(min_value=0, max_value=50),
    a=st.fractions(min_value=0, max_value=1),
    b=st.fractions(min_value=0, max_value=1),
)
def test_required_is_monotone_and_bounded(quota: int, a: Fraction, b: Fraction) -> None:
    (span,) = spans_of(Unit.MONTH, "2025-03-16", "2025-03-31")
    low, high = sorted((a, b))
    r_low = required_in(span, quota, available_share=low)
    r_high = required_in(span, quota, available_share=high)
    assert 0 <= r_low <= r_high <= quota
    assert abs(r_low - quota * low) <= Fraction(1, 2)
    assert required_in(span, quota, available_share=Fraction(1)) == quota


# -- DST ----------------------------------------------------------------------------------------
# Europe/Stockholm transitions in 2025:
#   2025-03-30 02:00 CET (+01:00) → 03:00 CEST (+02:00): 02:00–02:59 does not exist;
#              a nonexistent wall time moves forward by the gap (02:30 → 03:30 CEST).
#   2025-10-26 03:00 CEST (+02:00) → 02:00 CET (+01:00): 02:00–02:59 occurs twice;
#              an ambiguous wall time takes the first occurrence (fold=0, +02:00).
class TestDstTransitions:
    @pytest.mark.parametrize(
        ("day", "time", "utc", "local"),
        [
            ("2025-03-30", "01:59", "2025-03-30T00:59:00+00:00", "2025-03-30T01:59:00+01:00"),
            ("2025-03-30", "02:00", "2025-03-30T01:00:00+00:00", "2025-03-30T03:00:00+02:00"),
            ("2025-03-30", "02:30", "2025-03-30T01:30:00+00:00", "2025-03-30T03:30:00+02:00"),
            ("2025-03-30", "03:00", "2025-03-30T01:00:00+00:00", "2025-03-30T03:00:00+02:00"),
            ("2025-03-30", "18:00", "2025-03-30T16:00:00+00:00", "2025-03-30T18:00:00+02:00"),
            ("2025-10-26", "01:59", "2025-10-25T23:59:00+00:00", "2025-10-26T01:59:00+02:00"),
            ("2025-10-26", "02:30", "2025-10-26T00:30:00+00:00", "2025-10-26T02:30:00+02:00"),
            ("2025-10-26", "03:00", "2025-10-26T02:00:00+00:00", "2025-10-26T03:00:00+01:00"),
            ("2025-10-26", "18:00", "2025-10-26T17:00:00+00:00", "2025-10-26T18:00:00+01:00"),
        ],
        ids=str,
    )
    def test_local_to_utc(self, day: str, time: str, utc: str, local: str) -> None:
        got = local_to_utc(D(day), dt.time.fromisoformat(time), STHLM)
        assert got.isoformat() == utc
        assert got.astimezone(STHLM).isoformat() == local

    def test_fold_of_the_input_is_ignored(self) -> None:
        second = dt.time(2, 30, fold=1)
        assert local_to_utc(D("2025-10-26"), second, STHLM).isoformat() == "2025-10-26T00:30:00+00:00"

    def test_aware_time_is_refused(self) -> None:
        with pytest.raises(RuleValueError, match="naive"):
            local_to_utc(D("2025-10-26"), dt.time(2, 30, tzinfo=dt.UTC), STHLM)

    @pytest.mark.parametrize(
        ("day", "start", "stop", "hours"),
        [
            ("2025-03-30", "2025-03-29T23:00:00+00:00", "2025-03-30T22:00:00+00:00", 23),
            ("2025-10-26", "2025-10-25T22:00:00+00:00", "2025-10-26T23:00:00+00:00", 25),
            ("2025-06-01", "2025-05-31T22:00:00+00:00", "2025-06-01T22:00:00+00:00", 24),
        ],
        ids=str,
    )
    def test_utc_range_of_a_day(self, day: str, start: str, stop: str, hours: int) -> None:
        (span,) = spans_of(Unit.DAY, day, day)
        begin, end = utc_range(span, tz=STHLM)
        assert (begin.isoformat(), end.isoformat()) == (start, stop)
        assert end - begin == dt.timedelta(hours=hours)

    def test_utc_range_of_march_2025(self) -> None:
        (span,) = spans_of(Unit.MONTH, "2025-03-01", "2025-03-31")
        begin, end = utc_range(span, tz=STHLM)
        assert (begin.isoformat(), end.isoformat()) == ("2025-02-28T23:00:00+00:00", "2025-03-31T22:00:00+00:00")

    @settings(max_examples=100, deadline=None)
    @given(
        day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31)),
        time=st.times(),
    )
    @example(day=dt.date(2025, 3, 30), time=dt.time(2, 30))  # nonexistent
    @example(day=dt.date(2025, 10, 26), time=dt.time(2, 30))  # ambiguous
    def test_round_trip_except_in_the_gap(self, day: dt.date, time: dt.time) -> None:
        got = local_to_utc(day, time, STHLM)
        assert got.utcoffset() == dt.timedelta(0)
        back = got.astimezone(STHLM)
        wall = dt.datetime.combine(day, time)
        if back.replace(tzinfo=None) != wall:  # only a nonexistent time moves, and forward by the gap
            assert back.replace(tzinfo=None) - wall == dt.timedelta(hours=1)
            assert (back.month, back.hour) == (3, 3)
        else:
            assert back.fold == 0

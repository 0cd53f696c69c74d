"""Swedish holidays, klämdagar and WorkCalendar (rules/holidays_se.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.errors import RuleValueError
from rules.holidays_se import (
    FIRST_HOLIDAY_YEAR,
    LAST_HOLIDAY_YEAR,
    WorkCalendar,
    klamdagar,
    swedish_holidays,
)

D = dt.date.fromisoformat
CAL = WorkCalendar()

# -- pinned lists from ../shared/reference/school-year.md (holidays 0.109) -----------------
PUBLIC_2025 = ["01-01", "01-06", "04-18", "04-20", "04-21", "05-01", "05-29", "06-06", "06-08", "06-21",
               "11-01", "12-25", "12-26"]  # fmt: skip
PUBLIC_2026 = ["01-01", "01-06", "04-03", "04-05", "04-06", "05-01", "05-14", "05-24", "06-06", "06-20",
               "10-31", "12-25", "12-26"]  # fmt: skip
DE_FACTO_2025 = ["06-20", "12-24", "12-31"]
DE_FACTO_2026 = ["06-19", "12-24", "12-31"]


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2025, PUBLIC_2025 + DE_FACTO_2025), (2026, PUBLIC_2026 + DE_FACTO_2026)],
    ids=str,
)
def test_holiday_list_is_pinned(year: int, expected: list[str]) -> None:
    assert sorted(swedish_holidays(year)) == sorted(D(f"{year}-{md}") for md in expected)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        ("2025-01-01", "Nyårsdagen"),
        ("2025-01-06", "Trettondedag jul"),
        ("2025-04-18", "Långfredagen"),
        ("2025-04-20", "Påskdagen"),
        ("2025-04-21", "Annandag påsk"),
        ("2025-05-01", "Första maj"),
        ("2025-05-29", "Kristi himmelsfärdsdag"),
        ("2025-06-06", "Nationaldagen"),
        ("2025-06-08", "Pingstdagen"),
        ("2025-06-20", "Midsommarafton"),
        ("2025-06-21", "Midsommardagen"),
        ("2025-11-01", "Alla helgons dag"),
        ("2025-12-24", "Julafton"),
        ("2025-12-25", "Juldagen"),
        ("2025-12-26", "Annandag jul"),
        ("2025-12-31", "Nyårsafton"),
        ("2026-10-31", "Alla helgons dag"),
        ("2025-05-02", None),  # a klämdag is not a holiday
        ("2025-03-09", None),  # an ordinary Sunday is not a holiday
    ],
    ids=str,
)
def test_swedish_names(day: str, name: str | None) -> None:
    assert CAL.holiday_name(D(day)) == name
    assert CAL.is_holiday(D(day)) is (name is not None)


def test_holiday_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        swedish_holidays(2025)[D("2025-03-03")] = "x"  # type: ignore[index]


@pytest.mark.parametrize("year", [FIRST_HOLIDAY_YEAR - 1, LAST_HOLIDAY_YEAR + 1], ids=str)
def test_years_without_data_are_refused(year: int) -> None:
    with pytest.raises(RuleValueError, match=r"covers 1953–2100"):
        swedish_holidays(year)
    with pytest.raises(RuleValueError, match=r"covers 1953–2100"):
        CAL.is_working_day(dt.date(year, 3, 3))


# -- klämdagar -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "klamdag", "why"),
    [
        ("2025-05-02", True, "Friday after Första maj on a Thursday"),
        ("2025-05-30", True, "Friday after Kristi himmelsfärd"),
        ("2026-05-15", True, "Friday after Kristi himmelsfärd"),
        ("2026-01-05", True, "Monday before Trettondedag jul on a Tuesday"),
        ("2026-01-02", True, "Friday after Nyårsdagen on a Thursday"),
        ("2025-01-02", False, "Thursday after a Wednesday holiday: Friday is a working day"),
        ("2025-06-19", False, "Thursday before Midsommarafton: Wednesday is a working day"),
        ("2025-05-29", False, "a holiday is not a klämdag"),
        ("2025-05-31", False, "a Saturday is not a klämdag"),
        ("2025-12-23", False, "Tuesday before Julafton on a Wednesday"),
    ],
    ids=str,
)
def test_klamdagar(day: str, klamdag: bool, why: str) -> None:
    assert CAL.is_klamdag(D(day)) is klamdag, why


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2025, ["2025-05-02", "2025-05-30"]),
        (2026, ["2026-01-02", "2026-01-05", "2026-05-15"]),
    ],
    ids=str,
)
def test_klamdagar_of_a_year_are_pinned(year: int, expected: list[str]) -> None:
    assert sorted(klamdagar(year)) == [D(d) for d in expected]


def _off(day: dt.date) -> bool:
    return day.weekday() >= 5 or day in swedish_holidays(day.year)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=FIRST_HOLIDAY_YEAR + 1, max_value=LAST_HOLIDAY_YEAR - 1))
def test_klamdagar_are_weekdays_between_a_holiday_and_a_weekend(year: int) -> None:
    for day in klamdagar(year):
        before, after = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
        assert day.weekday() < 5
        assert not CAL.is_holiday(day)
        assert _off(before)
        assert _off(after)
        assert CAL.is_holiday(before) or CAL.is_holiday(after)
        assert CAL.is_working_day(day)  # a klämdag is officially a working day


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=dt.date(1954, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_klamdag_matches_its_definition_on_any_day(day: dt.date) -> None:
    before, after = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
    expected = day.weekday() < 5 and not _off(day) and _off(before) and _off(after)
    assert CAL.is_klamdag(day) is expected


# -- WorkCalendar --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2025-03-14", True),  # a Friday
        ("2025-03-15", False),  # Saturday
        ("2025-03-16", False),  # Sunday
        ("2025-04-18", False),  # Långfredagen
        ("2025-04-21", False),  # Annandag påsk
        ("2025-06-20", False),  # Midsommarafton (DE_FACTO)
        ("2025-12-24", False),  # Julafton (DE_FACTO)
        ("2025-05-02", True),  # klämdag: working unless klamdagar_off
    ],
    ids=str,
)
def test_is_working_day(day: str, working: bool) -> None:
    assert CAL.is_working_day(D(day)) is working


def test_extra_non_working_days_and_klamdagar_off() -> None:
    cal = WorkCalendar(extra_non_working=frozenset({D("2025-03-14")}), klamdagar_off=True)
    assert not cal.is_working_day(D("2025-03-14"))
    assert not cal.is_holiday(D("2025-03-14"))
    assert cal.holiday_name(D("2025-03-14")) is None
    assert not cal.is_working_day(D("2025-05-02"))
    assert cal.is_working_day(D("2025-03-13"))


def test_extra_non_working_accepts_any_iterable_and_rejects_datetimes() -> None:
    cal = WorkCalendar(extra_non_working=[D("2025-03-14")])  # type: ignore[arg-type]
    assert cal.extra_non_working == frozenset({D("2025-03-14")})
    assert hash(cal) == hash(WorkCalendar(extra_non_working=frozenset({D("2025-03-14")})))
    with pytest.raises(RuleValueError, match="non-date"):
        WorkCalendar(extra_non_working=frozenset({dt.datetime(2025, 3, 14)}))  # noqa: DTZ001


def test_work_calendar_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CAL.klamdagar_off = True  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2025-12-22", "2026-01-02", ["2025-12-22", "2025-12-23", "2025-12-29", "2025-12-30", "2026-01-02"]),
        ("2025-04-17", "2025-04-22", ["2025-04-17", "2025-04-22"]),  # påsk
        ("2025-03-14", "2025-03-14", ["2025-03-14"]),  # both ends inclusive
        ("2025-03-15", "2025-03-16", []),
        ("2025-03-20", "2025-03-10", []),  # end before start
    ],
    ids=str,
)
def test_working_days(start: str, end: str, expected: list[str]) -> None:
    assert CAL.working_days(D(start), D(end)) == [D(d) for d in expected]
    assert CAL.count_working_days(D(start), D(end)) == len(expected)


def test_working_days_in_a_year() -> None:
    # 2025: 261 weekdays, minus the 9 PUBLIC holidays on a weekday (Påskdagen, Pingstdagen,
    # Midsommardagen and Alla helgons dag fall on weekends) and the 3 eves (Midsommarafton
    # is a Friday, Julafton and Nyårsafton Wednesdays): 261 - 9 - 3 = 249.
    assert CAL.count_working_days(D("2025-01-01"), D("2025-12-31")) == 249


@settings(max_examples=80, deadline=None)
@given(
    st.dates(min_value=dt.date(1954, 1, 1), max_value=dt.date(2099, 1, 1)),
    st.integers(min_value=0, max_value=400),
)
def test_working_days_are_never_holidays_or_weekends(start: dt.date, length: int) -> None:
    end = start + dt.timedelta(days=length)
    days = CAL.working_days(start, end)
    assert days == sorted(set(days))
    for day in days:
        assert start <= day <= end
        assert day.weekday() < 5
        assert not CAL.is_holiday(day)
        assert CAL.holiday_name(day) is None
    weekday_non_holidays = [
        start + dt.timedelta(days=i) for i in range(length + 1) if not _off(start + dt.timedelta(days=i))
    ]
    assert days == weekday_non_holidays


def test_a_lookup_is_cheap() -> None:
    """The planner asks millions of times: one year of lookups, 200 times, stays well under a second."""
    import time

    days = [D("2025-01-01") + dt.timedelta(days=i) for i in range(365)]
    started = time.perf_counter()
    for _ in range(200):
        for day in days:
            CAL.is_working_day(day)
    assert time.perf_counter() - started < 2.0

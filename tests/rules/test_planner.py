"""The occurrence planner (rules/planner.py): named cases, DST, pins and Hypothesis properties."""

from __future__ import annotations

import dataclasses
import datetime as dt
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rules import PlanError, parse_sv
from rules.errors import NaiveDatetimeError, RuleValueError
from rules.holidays_se import WorkCalendar, klamdagar, swedish_holidays
from rules.model import Kind, Measure, Period, Quota, Rule, Unit, Window
from rules.periods import local_to_utc
from rules.planner import (
    DEADLINE_LEAD,
    ActivityPlanInput,
    PinnedOccurrence,
    Plan,
    PlannedOccurrence,
    ProblemCode,
    UnscheduledReason,
    available_days,
    entity_phase,
    is_quiet_day,
    occurrences,
    plan,
)
from rules.school import estimated_school_calendar

D = dt.date.fromisoformat
STHLM = ZoneInfo("Europe/Stockholm")
WORK = WorkCalendar()
#: Estimated Skåne calendar, hösttermin 2023 to vårtermin 2029 (covers every property window).
SKANE = estimated_school_calendar(kommun="Åstorp", lan="Skåne", first_year=2023, last_year=2029)
SCHOOLS = ("bjorkskolan", "ekskolan")


def window(start: str, end: str) -> Window:
    return Window(start=D(start), end=D(end))


def quota(n: int | None, unit: Unit | None, *, every: int = 1, maximum: int | None = None, **kw: object) -> Rule:
    return Rule(
        kind=Kind.QUOTA,
        quota=Quota(min=n, max=maximum if maximum is not None else n),
        period=Period(unit=unit, every=every) if unit else None,
        **kw,  # type: ignore[arg-type]
    )


def days(p: Plan | tuple[PlannedOccurrence, ...]) -> list[str]:
    items = p.occurrences if isinstance(p, Plan) else p
    return [o.day.isoformat() for o in items]


def is_planning_day(day: dt.date) -> bool:
    return WORK.is_working_day(day) and day not in klamdagar(day.year)


# -- named cases -------------------------------------------------------------------------------
class TestNamedCases:
    def test_two_per_month_from_15_march(self) -> None:
        rule = parse_sv("Mobila poliskontoret på torget 2 gånger per månad", today=D("2025-03-15"))
        p = plan([ActivityPlanInput(key="mpk", rule=rule)], window=window("2025-03-15", "2025-05-31"), work=WORK)
        periods = p.activity("mpk").periods
        assert [(pp.span.key, pp.share, pp.required) for pp in periods] == [
            ("2025-03", Fraction(11, 21), 1),  # the worked example of rules/periods.py
            ("2025-04", Fraction(1), 2),
            ("2025-05", Fraction(1), 2),
        ]
        assert days(p) == ["2025-03-21", "2025-04-07", "2025-04-23", "2025-05-08", "2025-05-21"]
        # May 2025 has 18 days: 1 May, Kristi himmelsfärd 29 May and the klämdagar 2 and 30 May are skipped.
        assert [pp.last_feasible_day for pp in periods] == [D("2025-03-31"), D("2025-04-29"), D("2025-05-27")]
        assert all(o.start is None and o.end is None and o.all_day for o in p.occurrences)
        assert not p.problems

    def test_once_per_term_and_school_over_a_school_year(self) -> None:
        rule = parse_sv("Informationskvällar minst en gång per termin och högstadieskola", today=D("2025-07-01"))
        item = ActivityPlanInput(key="info", rule=rule, entities=SCHOOLS, school_bound=True, time=dt.time(18, 30),
                                 duration_minutes=90)  # fmt: skip
        p = plan([item], window=window("2025-07-01", "2026-06-30"), work=WORK, school=SKANE)
        periods = p.activity("info").periods
        assert [(pp.span.key, pp.entity, pp.required) for pp in periods] == [
            ("2025-HT", "bjorkskolan", 1),
            ("2025-HT", "ekskolan", 1),
            ("2026-VT", "bjorkskolan", 1),
            ("2026-VT", "ekskolan", 1),
        ]
        for pp in periods:
            (occ,) = pp.occurrences
            assert SKANE.is_school_day(occ.day)
            assert occ.end is not None
            assert occ.start is not None
            assert occ.end - occ.start == dt.timedelta(minutes=90)
            assert occ.start.astimezone(STHLM).time() == dt.time(18, 30)
            assert pp.last_feasible_day == SKANE.term_at(occ.day).end  # type: ignore[union-attr]
        ht = [pp.occurrences[0].day for pp in periods if pp.span.key == "2025-HT"]
        vt = [pp.occurrences[0].day for pp in periods if pp.span.key == "2026-VT"]
        assert ht[0] != ht[1], "two schools should not share a day"
        assert vt[0] != vt[1], "two schools should not share a day"

    def test_every_third_month(self) -> None:
        rule = parse_sv("Trygghetsvandring var tredje månad", today=D("2025-01-01"))
        p = plan([ActivityPlanInput(key="vandring", rule=rule)], window=window("2025-01-01", "2025-12-31"), work=WORK)
        periods = p.activity("vandring").periods
        assert [pp.span.key for pp in periods] == ["2025-01..2025-03", "2025-04..2025-06", "2025-07..2025-09",
                                                   "2025-10..2025-12"]  # fmt: skip
        assert [pp.required for pp in periods] == [1, 1, 1, 1]
        # The same phase in each quarter's days, the quiet weeks (summer, jul och nyår) left out:
        # the third quarter's walk is in late August, not in the middle of the semester.
        assert days(p) == ["2025-02-03", "2025-04-28", "2025-08-27", "2025-10-28"]

    def test_a_yearly_follow_up_avoids_the_summer_but_a_monthly_quota_keeps_july(self) -> None:
        yearly = parse_sv("Årligen följas upp i Trygghetsrådet", today=D("2025-01-01"))
        monthly = parse_sv("Två gånger per månad", today=D("2025-01-01"))
        p = plan(
            [ActivityPlanInput(key="uppfoljning", rule=yearly), ActivityPlanInput(key="mpk", rule=monthly)],
            window=window("2025-01-01", "2026-12-31"),
            work=WORK,
        )
        follow_ups = p.activity("uppfoljning").occurrences
        assert [o.day.year for o in follow_ups] == [2025, 2026]
        assert not any(is_quiet_day(o.day) for o in follow_ups)
        july = [o.day for o in p.activity("mpk").occurrences if o.day.month == 7 and o.day.year == 2025]
        assert len(july) == 2

    def test_five_per_week_in_a_two_day_partial_week_is_a_problem(self) -> None:
        # Week 17 2025: Annandag påsk on Monday 21 April, so the full week has 4 working days.
        # From Thursday 24 April: 2 of 4 → share 1/2 → floor(5 × 1/2 + ½) = 3 > 2 days.
        rule = parse_sv("Fotpatrull 5 gånger per vecka", today=D("2025-04-24"))
        p = plan([ActivityPlanInput(key="fot", rule=rule)], window=window("2025-04-24", "2025-05-04"), work=WORK)
        first, second = p.activity("fot").periods
        assert (first.span.key, first.share, first.required, first.available) == ("2025-W17", Fraction(1, 2), 3, 2)
        assert days(first.occurrences) == ["2025-04-24", "2025-04-25"]
        assert not first.feasible
        assert first.last_feasible_day is None
        assert first.problem is not None
        assert first.problem.code is ProblemCode.INFEASIBLE
        assert first.problem.message_sv == (
            "kvoten ryms inte: vecka 17 2025 kräver 3 tillfällen men har bara 2 möjliga dagar (2025-04-24 – 2025-04-27)"
        )
        assert isinstance(first.problem.to_error(), PlanError)
        # Week 18: 1 May is a holiday and Friday 2 May a klämdag: 3 days for a count of 5.
        assert second.required == 5
        assert second.available == 3
        assert not second.feasible
        assert [pr.period_key for pr in p.problems] == ["2025-W17", "2025-W18"]

    def test_a_bad_activity_does_not_stop_the_others(self) -> None:
        bad = ActivityPlanInput(key="fot", rule=quota(5, Unit.WEEK))
        good = ActivityPlanInput(key="mpk", rule=quota(2, Unit.MONTH))
        p = plan([bad, good], window=window("2025-04-14", "2025-04-30"), work=WORK)
        assert p.problems
        assert all(pr.activity == "fot" for pr in p.problems)
        assert len(p.activity("mpk").occurrences) == 1  # April from the 14th: 12 of 20 days → 1

    def test_deadline_one_off(self) -> None:
        rule = parse_sv("Kommunen ska lägga en plan till beslut senast i november 2019", today=D("2019-01-01"))
        assert rule.kind is Kind.UNTIMED
        assert rule.deadline == D("2019-11-30")
        p = plan([ActivityPlanInput(key="plan", rule=rule)], window=window("2019-01-01", "2019-12-31"), work=WORK)
        (pp,) = p.activity("plan").periods
        assert pp.span.key == "2019-01-01..2019-11-30"
        assert pp.span.label == "1 januari – 30 november 2019"
        assert pp.required == 1
        assert pp.last_feasible_day == D("2019-11-29")
        # DEADLINE_LEAD available days before the last one (30 November is a Saturday).
        assert DEADLINE_LEAD == 10
        assert days(p) == ["2019-11-19"]

    def test_quota_with_deadline_and_count(self) -> None:
        rule = Rule(kind=Kind.QUOTA, quota=Quota(min=1, max=1), deadline=D("2019-11-30"))
        p = plan([ActivityPlanInput(key="plan", rule=rule)], window=window("2019-01-01", "2019-12-31"), work=WORK)
        assert days(p) == ["2019-11-19"]

    def test_quota_without_period_spreads_over_the_rule_window(self) -> None:
        rule = quota(3, None, window=window("2022-03-01", "2022-05-31"))
        p = plan([ActivityPlanInput(key="insatser", rule=rule)], window=window("2022-01-01", "2022-12-31"), work=WORK)
        (pp,) = p.activity("insatser").periods
        assert (pp.span.key, pp.span.label, pp.required) == ("2022-03-01..2022-05-31", "1 mars – 31 maj 2022", 3)
        assert days(p) == ["2022-03-14", "2022-04-12", "2022-05-12"]

    def test_rule_window_clips_the_validity(self) -> None:
        rule = quota(2, Unit.MONTH, window=window("2022-03-01", "2022-05-31"))
        p = plan([ActivityPlanInput(key="mpk", rule=rule)], window=window("2022-04-01", "2022-12-31"), work=WORK)
        assert [pp.span.key for pp in p.activity("mpk").periods] == ["2022-04", "2022-05"]

    def test_rule_window_outside_the_validity(self) -> None:
        rule = quota(2, Unit.MONTH, window=window("2021-03-01", "2021-05-31"))
        p = plan([ActivityPlanInput(key="mpk", rule=rule)], window=window("2022-01-01", "2022-12-31"), work=WORK)
        assert not p.occurrences
        (problem,) = p.problems
        assert problem.code is ProblemCode.OUTSIDE_VALIDITY
        assert "2021-03-01 – 2021-05-31" in problem.message_sv

    def test_average_quota_is_planned_and_marked(self) -> None:
        rule = parse_sv("Möten i snitt 2 gånger per månad över året", today=D("2025-01-01"))
        p = plan([ActivityPlanInput(key="snitt", rule=rule)], window=window("2025-01-01", "2025-12-31"), work=WORK)
        assert len(p.occurrences) == 24
        assert all(o.average for o in p.occurrences)
        assert all(pp.average for pp in p.activity("snitt").periods)

    def test_only_a_maximum_plans_the_maximum(self) -> None:
        rule = parse_sv("högst 4 gånger per år", today=D("2025-01-01"))
        p = plan([ActivityPlanInput(key="max", rule=rule)], window=window("2025-01-01", "2025-12-31"), work=WORK)
        assert len(p.occurrences) == 4

    def test_hours_become_occurrences_of_the_duration(self) -> None:
        hours = Quota(min=10, max=None, measure=Measure.HOURS)
        rule = Rule(kind=Kind.QUOTA, quota=hours, period=Period(unit=Unit.MONTH))
        item = ActivityPlanInput(key="timmar", rule=rule, duration_minutes=180, time=dt.time(9, 0))
        p = plan([item], window=window("2025-09-01", "2025-09-30"), work=WORK)
        assert len(p.occurrences) == 4  # ceil(600 / 180)
        without = plan([dataclasses.replace(item, duration_minutes=None)], window=p.window, work=WORK)
        assert without.unscheduled[0].reason is UnscheduledReason.HOURS_WITHOUT_DURATION

    @pytest.mark.parametrize(
        ("sentence", "reason"),
        [
            ("Polisen ska arbeta regelbundet med trafikkontroller", UnscheduledReason.VAGUE),
            ("Polisen deltar vid behov", UnscheduledReason.CONDITIONAL),
            ("Polisen deltar vid föräldramöten", UnscheduledReason.EVENT),
            ("Polisen ska genomföra trafikkontroller.", UnscheduledReason.UNTIMED),
        ],
        ids=str,
    )
    def test_unscheduled_kinds_stay_visible(self, sentence: str, reason: UnscheduledReason) -> None:
        rule = parse_sv(sentence, today=D("2025-01-01"))
        p = plan([ActivityPlanInput(key="a", rule=rule)], window=window("2025-01-01", "2025-12-31"), work=WORK)
        assert not p.occurrences
        assert not p.problems
        (item,) = p.unscheduled
        assert (item.activity, item.reason) == ("a", reason)
        assert p.activity("a").unscheduled == item
        assert item.message_sv

    def test_not_tracked_is_unscheduled(self) -> None:
        item = ActivityPlanInput(key="a", rule=quota(2, Unit.MONTH), tracked=False)
        p = plan([item], window=window("2025-01-01", "2025-12-31"), work=WORK)
        assert p.unscheduled[0].reason is UnscheduledReason.NOT_TRACKED
        assert not p.occurrences

    def test_school_bound_without_school_calendar(self) -> None:
        item = ActivityPlanInput(key="a", rule=quota(1, Unit.TERM), school_bound=True)
        p = plan([item], window=window("2025-01-01", "2025-12-31"), work=WORK)
        assert [pr.code for pr in p.problems] == [ProblemCode.NO_SCHOOL_CALENDAR]
        assert len(p.occurrences) == 2

    def test_school_bound_month_on_sommarlov_requires_nothing(self) -> None:
        item = ActivityPlanInput(key="a", rule=quota(2, Unit.MONTH), school_bound=True)
        p = plan([item], window=window("2025-06-01", "2025-08-31"), work=WORK, school=SKANE)
        assert [(pp.span.key, pp.required, len(pp.occurrences)) for pp in p.activity("a").periods] == [
            ("2025-06", 2, 2),
            ("2025-07", 0, 0),
            ("2025-08", 2, 2),
        ]
        assert not p.problems

    def test_daily_quota_requires_nothing_on_days_off(self) -> None:
        item = ActivityPlanInput(key="dag", rule=quota(1, Unit.DAY))
        p = plan([item], window=window("2025-04-14", "2025-04-27"), work=WORK)
        assert not p.problems
        # Långfredagen 18 April and Annandag påsk 21 April are off, as are the weekends.
        assert days(p) == ["2025-04-14", "2025-04-15", "2025-04-16", "2025-04-17", "2025-04-22", "2025-04-23",
                           "2025-04-24", "2025-04-25"]  # fmt: skip

    def test_school_bound_outside_the_school_calendar_is_reported(self) -> None:
        item = ActivityPlanInput(key="a", rule=quota(2, Unit.MONTH), school_bound=True)
        p = plan([item], window=window("2029-07-01", "2029-07-31"), work=WORK, school=SKANE)
        (problem,) = p.problems
        assert problem.code is ProblemCode.INFEASIBLE
        assert problem.message_sv == (
            "kvoten ryms inte: juli 2029 kräver 2 tillfällen men har bara inga skoldagar (2029-07-01 – 2029-07-31); "
            "skolkalendern täcker inte hela perioden"
        )

    def test_preferred_weekdays_narrow_when_they_leave_enough_days(self) -> None:
        item = ActivityPlanInput(key="a", rule=quota(2, Unit.MONTH), weekdays=(3, 4))
        p = plan([item], window=window("2025-09-01", "2025-11-30"), work=WORK)
        assert {o.day.weekday() for o in p.occurrences} <= {3, 4}
        # Six per week cannot be held on Thursdays alone: every working day is used instead.
        many = ActivityPlanInput(key="b", rule=quota(4, Unit.WEEK), weekdays=(3,))
        q = plan([many], window=window("2025-09-01", "2025-09-07"), work=WORK)
        assert len({o.day for o in q.occurrences}) == 4

    def test_weekend_preference_adds_weekend_days(self) -> None:
        item = ActivityPlanInput(key="helg", rule=quota(2, Unit.MONTH), weekdays=(5,), time=dt.time(22, 0))
        p = plan([item], window=window("2025-01-01", "2025-12-31"), work=WORK)
        assert len(p.occurrences) == 24
        assert {o.day.weekday() for o in p.occurrences} == {5}
        assert not any(o.day in swedish_holidays(2025) for o in p.occurrences)

    def test_weekend_preference_is_ignored_when_school_bound(self) -> None:
        item = ActivityPlanInput(key="a", rule=quota(1, Unit.MONTH), weekdays=(5,), school_bound=True)
        p = plan([item], window=window("2025-09-01", "2025-12-31"), work=WORK, school=SKANE)
        assert all(SKANE.is_school_day(o.day) for o in p.occurrences)

    def test_available_days_skip_holidays_and_klamdagar(self) -> None:
        got = available_days(D("2025-05-26"), D("2025-06-08"), work=WORK)
        # 29 May Kristi himmelsfärd, 30 May klämdag, 6 June Nationaldagen.
        assert [d.isoformat() for d in got] == ["2025-05-26", "2025-05-27", "2025-05-28", "2025-06-02",
                                                "2025-06-03", "2025-06-04", "2025-06-05"]  # fmt: skip
        assert available_days(D("2025-06-08"), D("2025-06-01"), work=WORK) == []

    def test_entity_phase_is_stable_and_inside_its_band(self) -> None:
        assert 0.3 <= entity_phase("x", "") < 0.7
        assert entity_phase("x", "") != entity_phase("y", "")  # same rule, different activity: other days
        phases = [entity_phase("info", f"skola-{i}") for i in range(200)]
        assert all(0.1 <= phase < 0.9 for phase in phases)
        assert len(set(phases)) == 200
        assert entity_phase("info", "skola-1") == 0.1 + 0.8 * int.from_bytes(
            __import__("hashlib").blake2b(b"info\x00skola-1", digest_size=8).digest(), "big"
        ) / 2**64


# -- input validation --------------------------------------------------------------------------
class TestValidation:
    def test_duplicate_activity_keys(self) -> None:
        item = ActivityPlanInput(key="a", rule=quota(1, Unit.MONTH))
        with pytest.raises(RuleValueError, match="given twice"):
            plan([item, item], window=window("2025-01-01", "2025-12-31"), work=WORK)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"weekdays": (7,)}, "weekday must be 0–6"),
            ({"entities": ("a", "a")}, "given twice"),
            ({"entities": ("",)}, "cannot be empty"),
            ({"time": dt.time(18, tzinfo=dt.UTC)}, "naive local"),
            ({"duration_minutes": 0}, "positive"),
            ({"tz": "Europe/Nowhere"}, "unknown time zone"),
        ],
        ids=str,
    )
    def test_bad_input(self, kwargs: dict[str, object], match: str) -> None:
        with pytest.raises(RuleValueError, match=match):
            ActivityPlanInput(key="a", rule=quota(1, Unit.MONTH), **kwargs)  # type: ignore[arg-type]

    def test_pinned_needs_aware_datetimes(self) -> None:
        naive = dt.datetime(2025, 3, 3, 18)  # noqa: DTZ001 - the point of the test
        with pytest.raises(NaiveDatetimeError):
            PinnedOccurrence(activity="a", period_key="2025-03", slot=0, day=D("2025-03-03"), start=naive,
                             end=naive + dt.timedelta(hours=1))  # fmt: skip

    def test_two_pins_for_one_slot(self) -> None:
        pin = PinnedOccurrence(activity="a", period_key="2025-03", slot=0, day=D("2025-03-03"))
        with pytest.raises(RuleValueError, match="two pinned"):
            plan([], window=window("2025-01-01", "2025-12-31"), work=WORK, pinned=[pin, pin])


# -- DST ---------------------------------------------------------------------------------------
class TestDstTransitions:
    # Europe/Stockholm:
    #   2025-03-30 02:00 CET  → 03:00 CEST (spring forward; 02:00–02:59 does not exist)
    #   2025-10-26 03:00 CEST → 02:00 CET  (fall back; 02:00–02:59 happens twice)
    # Policy: a nonexistent time moves forward by the gap, an ambiguous one takes fold=0
    # (the first, CEST). Weekend days are used here because the activity prefers Sundays.
    @staticmethod
    def sunday_at(time: dt.time, start: str, end: str) -> PlannedOccurrence:
        item = ActivityPlanInput(key="natt", rule=quota(1, Unit.WEEK), weekdays=(6,), time=time)
        (occ,) = plan([item], window=window(start, end), work=WORK).occurrences
        return occ

    def test_nonexistent_time_moves_forward(self) -> None:
        occ = self.sunday_at(dt.time(2, 30), "2025-03-24", "2025-03-30")
        assert occ.day == D("2025-03-30")
        assert occ.start is not None
        assert occ.end is not None
        assert occ.start.isoformat() == "2025-03-30T01:30:00+00:00"
        assert occ.start.astimezone(STHLM).isoformat() == "2025-03-30T03:30:00+02:00"
        assert occ.end.isoformat() == "2025-03-30T02:30:00+00:00"

    def test_ambiguous_time_takes_the_first(self) -> None:
        occ = self.sunday_at(dt.time(2, 30), "2025-10-20", "2025-10-26")
        assert occ.start is not None
        assert occ.end is not None
        assert occ.start.isoformat() == "2025-10-26T00:30:00+00:00"
        assert occ.start.astimezone(STHLM).isoformat() == "2025-10-26T02:30:00+02:00"
        # The end is one hour of elapsed time later: 02:30 again, now in CET.
        assert occ.end.astimezone(STHLM).isoformat() == "2025-10-26T02:30:00+01:00"

    @pytest.mark.parametrize(
        ("start", "end", "utc"),
        [
            ("2025-03-24", "2025-03-30", "2025-03-30T16:00:00+00:00"),  # Sunday, CEST from 03:00
            ("2025-03-17", "2025-03-23", "2025-03-23T17:00:00+00:00"),  # the Sunday before, CET
            ("2025-10-20", "2025-10-26", "2025-10-26T17:00:00+00:00"),  # Sunday, CET from 03:00
            ("2025-10-13", "2025-10-19", "2025-10-19T16:00:00+00:00"),  # the Sunday before, CEST
        ],
    )
    def test_evening_offsets_around_the_transitions(self, start: str, end: str, utc: str) -> None:
        occ = self.sunday_at(dt.time(18, 0), start, end)
        assert occ.start is not None
        assert occ.start.isoformat() == utc
        assert occ.start.astimezone(STHLM).time() == dt.time(18, 0)

    def test_all_day_has_no_instants(self) -> None:
        item = ActivityPlanInput(key="dag", rule=quota(1, Unit.WEEK), weekdays=(6,))
        (occ,) = plan([item], window=window("2025-03-24", "2025-03-30"), work=WORK).occurrences
        assert occ.day == D("2025-03-30")
        assert occ.start is None
        assert occ.end is None


# -- pins --------------------------------------------------------------------------------------
class TestPinned:
    W = window("2025-01-01", "2025-12-31")

    def base(self) -> tuple[ActivityPlanInput, Plan]:
        item = ActivityPlanInput(key="mpk", rule=quota(3, Unit.MONTH), time=dt.time(14, 0))
        return item, plan([item], window=self.W, work=WORK)

    def test_a_moved_occurrence_stays_and_the_others_keep_their_days(self) -> None:
        item, before = self.base()
        march = [o for o in before.occurrences if o.period_key == "2025-03"]
        start = dt.datetime(2025, 3, 4, 9, 0, tzinfo=STHLM)
        pin = PinnedOccurrence(activity="mpk", period_key="2025-03", slot=1, day=D("2025-03-04"), start=start,
                               end=start + dt.timedelta(hours=2))  # fmt: skip
        after = plan([item], window=self.W, work=WORK, pinned=[pin])
        got = [o for o in after.occurrences if o.period_key == "2025-03"]
        assert [(o.slot, o.day.isoformat(), o.pinned) for o in got] == [
            (1, "2025-03-04", True),
            (0, march[0].day.isoformat(), False),
            (2, march[2].day.isoformat(), False),
        ]
        assert got[0].start == start
        assert got[0].start is not None
        assert got[0].start.tzinfo == dt.UTC
        others = [o for o in after.occurrences if o.period_key != "2025-03"]
        assert others == [o for o in before.occurrences if o.period_key != "2025-03"]

    def test_a_pin_on_a_planned_day_pushes_that_slot_aside(self) -> None:
        item, before = self.base()
        march = [o for o in before.occurrences if o.period_key == "2025-03"]
        pin = PinnedOccurrence(activity="mpk", period_key="2025-03", slot=0, day=march[1].day)
        after = plan([item], window=self.W, work=WORK, pinned=[pin])
        got = [o for o in after.occurrences if o.period_key == "2025-03"]
        assert len(got) == 3
        assert len({o.day for o in got}) == 3
        assert march[1].day in {o.day for o in got if o.pinned}
        moved = next(o for o in got if o.slot == 1)
        assert abs((moved.day - march[1].day).days) <= 3  # the nearest free day

    def test_pins_reaching_the_count_leave_nothing_to_plan(self) -> None:
        item, _ = self.base()
        pins = [PinnedOccurrence(activity="mpk", period_key="2025-03", slot=s, day=D(f"2025-03-0{s + 3}"))
                for s in range(4)]  # fmt: skip
        after = plan([item], window=self.W, work=WORK, pinned=pins)
        (march,) = [pp for pp in after.activity("mpk").periods if pp.span.key == "2025-03"]
        assert [o.pinned for o in march.occurrences] == [True] * 4
        assert march.last_feasible_day is None
        assert march.feasible

    def test_unmatched_pins_are_kept_and_reported(self) -> None:
        item, _ = self.base()
        pin = PinnedOccurrence(activity="mpk", period_key="2024-12", slot=0, day=D("2024-12-02"))
        after = plan([item], window=self.W, work=WORK, pinned=[pin])
        assert after.occurrences[0].pinned
        assert after.occurrences[0].day == D("2024-12-02")
        assert [pr.code for pr in after.problems] == [ProblemCode.PINNED_UNMATCHED]

    def test_pins_of_an_unscheduled_activity_are_kept_silently(self) -> None:
        item = ActivityPlanInput(key="vag", rule=Rule(kind=Kind.VAGUE))
        pin = PinnedOccurrence(activity="vag", period_key="-", slot=0, day=D("2025-02-03"))
        after = plan([item], window=self.W, work=WORK, pinned=[pin])
        assert len(after.occurrences) == 1
        assert not after.problems


# -- the query ---------------------------------------------------------------------------------
class TestOccurrencesQuery:
    P = plan(
        [
            ActivityPlanInput(key="kväll", rule=quota(2, Unit.MONTH), time=dt.time(18, 0)),
            ActivityPlanInput(key="dag", rule=quota(1, Unit.MONTH)),
        ],
        window=window("2025-01-01", "2025-12-31"),
        work=WORK,
    )

    def test_dates_are_half_open(self) -> None:
        first = self.P.occurrences[0].day
        assert occurrences(self.P, first, first) == []
        assert occurrences(self.P, first, first + dt.timedelta(days=1))[0] == self.P.occurrences[0]
        assert occurrences(self.P, D("2025-01-01"), D("2026-01-01")) == list(self.P.occurrences)

    def test_datetimes_use_the_start_or_local_midnight(self) -> None:
        timed = next(o for o in self.P.occurrences if o.start is not None)
        assert timed.start is not None
        assert occurrences(self.P, timed.start, timed.start + dt.timedelta(seconds=1)) == [timed]
        assert timed not in occurrences(self.P, timed.start - dt.timedelta(hours=1), timed.start)
        allday = next(o for o in self.P.occurrences if o.start is None)
        midnight = local_to_utc(allday.day, dt.time(0, 0), STHLM)
        assert allday in occurrences(self.P, midnight, midnight + dt.timedelta(minutes=1))
        assert allday not in occurrences(self.P, midnight - dt.timedelta(minutes=1), midnight)

    def test_naive_or_mixed_bounds_are_rejected(self) -> None:
        naive = dt.datetime(2025, 1, 1)  # noqa: DTZ001 - the point of the test
        with pytest.raises(NaiveDatetimeError):
            occurrences(self.P, naive, dt.datetime(2025, 2, 1, tzinfo=dt.UTC))
        with pytest.raises(RuleValueError):
            occurrences(self.P, D("2025-01-01"), dt.datetime(2025, 2, 1, tzinfo=dt.UTC))


# -- Hypothesis properties ---------------------------------------------------------------------
UNITS = [Unit.WEEK, Unit.MONTH, Unit.QUARTER, Unit.TERM, Unit.YEAR]
ENTITY_POOL = ("a", "b", "c", "d", "e")
TIMES = [None, dt.time(2, 30), dt.time(10, 0), dt.time(18, 30)]


@st.composite
def activity_inputs(draw: st.DrawFn, key: str = "A") -> ActivityPlanInput:
    unit = draw(st.sampled_from(UNITS))
    count = draw(st.integers(1, 3 if unit is Unit.WEEK else 6))
    return ActivityPlanInput(
        key=key,
        rule=quota(count, unit, every=draw(st.integers(1, 2)), average=draw(st.booleans())),
        entities=tuple(draw(st.lists(st.sampled_from(ENTITY_POOL), max_size=3, unique=True))),
        weekdays=tuple(draw(st.lists(st.integers(0, 4), max_size=3, unique=True))),
        time=draw(st.sampled_from(TIMES)),
        school_bound=draw(st.booleans()),
    )


@st.composite
def windows(draw: st.DrawFn) -> Window:
    start = draw(st.dates(D("2024-01-01"), D("2026-12-31")))
    return Window(start=start, end=start + dt.timedelta(days=draw(st.integers(0, 600))))


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def plan_one(item: ActivityPlanInput, w: Window, **kw: object) -> Plan:
    return plan([item], window=w, work=WORK, school=SKANE, **kw)  # type: ignore[arg-type]


@PROPERTY
@given(item=activity_inputs(), w=windows())
@example(
    item=ActivityPlanInput(key="A", rule=quota(2, Unit.MONTH), time=dt.time(2, 30)),
    w=window("2025-03-01", "2025-10-31"),
)
def test_each_period_meets_its_quota_when_it_fits(item: ActivityPlanInput, w: Window) -> None:
    p = plan_one(item, w)
    count = item.rule.quota.min  # type: ignore[union-attr]
    for pp in p.activity("A").periods:
        if not pp.span.partial and pp.available:
            assert pp.required == count
        assert len(pp.occurrences) == min(pp.required, pp.available)
        assert pp.feasible == (pp.required <= pp.available)
        assert len({o.day for o in pp.occurrences}) == len(pp.occurrences), "one a day"
        if pp.required and pp.feasible:
            assert pp.last_feasible_day is not None
            assert max(o.day for o in pp.occurrences) <= pp.span.end
            assert pp.last_feasible_day in pp.span
    assert len(p.occurrences) == sum(len(pp.occurrences) for pp in p.activity("A").periods)


@PROPERTY
@given(item=activity_inputs(), w=windows())
def test_only_usable_days_inside_the_window_and_sorted(item: ActivityPlanInput, w: Window) -> None:
    p = plan_one(item, w)
    for occ in p.occurrences:
        assert occ.day in w
        assert occ.day.weekday() < 5
        assert not WORK.is_holiday(occ.day)
        assert occ.day not in klamdagar(occ.day.year)
        if item.school_bound:
            assert SKANE.is_school_day(occ.day)
            assert not SKANE.is_lov(occ.day)
        if occ.start is not None:
            assert occ.start.tzinfo == dt.UTC
            assert occ.end is not None
            assert occ.end > occ.start
            assert item.time is not None
            local = occ.start.astimezone(STHLM)
            assert local.date() == occ.day
            if item.time != dt.time(2, 30) or occ.day not in (D("2025-03-30"), D("2026-03-29")):
                assert local.time() == item.time
    keys = [(o.day, o.start or dt.datetime.min.replace(tzinfo=dt.UTC), o.activity, o.entity, o.slot)
            for o in p.occurrences]  # fmt: skip
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


@PROPERTY
@given(a=activity_inputs("A"), b=activity_inputs("B"), b2=activity_inputs("B"), w=windows())
def test_an_activity_ignores_the_others(
    a: ActivityPlanInput, b: ActivityPlanInput, b2: ActivityPlanInput, w: Window
) -> None:
    alone = plan([a], window=w, work=WORK, school=SKANE).activity("A")
    assert plan([a, b], window=w, work=WORK, school=SKANE).activity("A") == alone
    assert plan([b2, a], window=w, work=WORK, school=SKANE).activity("A") == alone


@PROPERTY
@given(item=activity_inputs(), w=windows(), extra=st.integers(1, 400))
def test_extending_the_validity_keeps_earlier_periods(item: ActivityPlanInput, w: Window, extra: int) -> None:
    short = plan_one(item, w).activity("A").periods
    longer = plan_one(item, Window(start=w.start, end=w.end + dt.timedelta(days=extra))).activity("A").periods
    last_key = short[-1].span.key
    for pp in short:
        if pp.span.key == last_key and pp.span.partial:
            continue  # the last period grows and its share with it
        assert pp in longer


@PROPERTY
@given(item=activity_inputs(), w=windows(), more=st.sampled_from((*ENTITY_POOL, "f", "g")))
def test_adding_an_entity_moves_no_other(item: ActivityPlanInput, w: Window, more: str) -> None:
    before = plan_one(item, w).activity("A").periods
    wider = dataclasses.replace(item, entities=tuple(dict.fromkeys((*item.entities, more))))
    after = plan_one(wider, w).activity("A").periods
    for pp in before:
        if pp.entity:  # the unnamed entity disappears once there are named ones
            assert pp in after


@PROPERTY
@given(item=activity_inputs(), w=windows(), data=st.data())
def test_pins_are_kept_and_counted(item: ActivityPlanInput, w: Window, data: st.DataObject) -> None:
    before = plan_one(item, w)
    if not before.occurrences:
        return
    chosen = data.draw(st.lists(st.sampled_from(before.occurrences), min_size=1, max_size=3, unique_by=lambda o: o.key))
    shift = data.draw(st.integers(-3, 3))
    pins = [
        PinnedOccurrence(activity=o.activity, entity=o.entity, period_key=o.period_key, slot=o.slot,
                         day=o.day + dt.timedelta(days=shift), start=o.start and o.start + dt.timedelta(days=shift),
                         end=o.end and o.end + dt.timedelta(days=shift))
        for o in chosen
    ]  # fmt: skip
    after = plan_one(item, w, pinned=pins)
    pinned_out = {o.key: o for o in after.occurrences if o.pinned}
    assert set(pinned_out) == {p.key for p in pins}
    for pin in pins:
        assert pinned_out[pin.key].day == pin.day
        assert pinned_out[pin.key].start == pin.start
    periods_before = {(pp.entity, pp.span.key): pp for pp in before.activity("A").periods}
    for pp in after.activity("A").periods:
        pinned_here = [o for o in pp.occurrences if o.pinned]
        planned_here = [o for o in pp.occurrences if not o.pinned]
        if pp.feasible:
            assert len(pp.occurrences) == max(pp.required, len(pinned_here))
        assert not {o.day for o in planned_here} & {o.day for o in pinned_here}
        if not pinned_here:
            assert pp == periods_before[(pp.entity, pp.span.key)]
    assert not after.problems or all(pr.code is ProblemCode.INFEASIBLE for pr in after.problems)


@PROPERTY
@given(item=activity_inputs(), w=windows(), cut=st.integers(0, 600))
def test_queries_split_at_any_point(item: ActivityPlanInput, w: Window, cut: int) -> None:
    p = plan_one(item, w)
    a, b, c = w.start, w.start + dt.timedelta(days=cut), w.end + dt.timedelta(days=1)
    b = min(b, c)
    assert occurrences(p, a, b) + occurrences(p, b, c) == list(p.occurrences)
    ta, tb, tc = (local_to_utc(x, dt.time(0, 0), STHLM) for x in (a, b, c))
    assert occurrences(p, ta, tb) + occurrences(p, tb, tc) == list(p.occurrences)

"""Quota evaluation (rules/quota.py): states on constructed histories, words, thresholds, properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.errors import RuleValueError
from rules.holidays_se import WorkCalendar
from rules.model import Kind, Period, Quota, Rule, Unit, Window
from rules.planner import ActivityPlanInput, plan
from rules.quota import (
    DEFAULT_THRESHOLDS,
    STATE_ORDER,
    DaySet,
    QuotaReport,
    QuotaState,
    QuotaStatus,
    QuotaThresholds,
    evaluate,
    evaluate_period,
    summary_sv,
)
from rules.school import estimated_school_calendar

D = dt.date.fromisoformat
WORK = WorkCalendar()
SKANE = estimated_school_calendar(kommun="Åstorp", lan="Skåne", first_year=2024, last_year=2027)
YEAR_2025 = Window(start=D("2025-01-01"), end=D("2025-12-31"))


def quota_rule(count: int, unit: Unit | None, *, average: bool = False) -> Rule:
    period = Period(unit=unit) if unit is not None else None
    return Rule(kind=Kind.QUOTA, quota=Quota(min=count, max=None), period=period, average=average)


def run(
    item: ActivityPlanInput,
    done: list[str],
    today: str,
    *,
    window: Window = YEAR_2025,
    thresholds: QuotaThresholds = DEFAULT_THRESHOLDS,
) -> QuotaReport:
    p = plan([item], window=window, work=WORK, school=SKANE)
    completions = {(item.key, e): [D(d) for d in done] for e in (item.entities or ("",))}
    return evaluate(p, [item], completions=completions, today=D(today), work=WORK, school=SKANE, thresholds=thresholds)


def status_of(report: QuotaReport, period_key: str, entity: str = "") -> QuotaStatus:
    found = [s for s in report.statuses if s.span.key == period_key and s.entity == entity]
    assert len(found) == 1, [s.span.key for s in report.statuses]
    return found[0]


MPK = ActivityPlanInput(key="mpk", rule=quota_rule(2, Unit.MONTH), weekdays=(3,))
INFO = ActivityPlanInput(
    key="info", rule=quota_rule(1, Unit.TERM), entities=("nyhem", "bjork"), school_bound=True, weekdays=(1, 3)
)


# -- the table of cases -------------------------------------------------------------------------
# (id, activity, completions, today, period key, expected state, done, required)
CASES = [
    ("before-the-period", MPK, [], "2025-02-20", "2025-03", QuotaState.UPCOMING, 0, 2),
    ("start-of-period", MPK, [], "2025-03-03", "2025-03", QuotaState.ON_TRACK, 0, 2),
    ("one-done-early", MPK, ["2025-03-04"], "2025-03-12", "2025-03", QuotaState.ON_TRACK, 1, 2),
    # 62 % of March's 21 available days gone, nothing done: behind pace, still feasible.
    ("behind-pace", MPK, [], "2025-03-20", "2025-03", QuotaState.BEHIND, 0, 2),
    # one more to do, two days left (28 and 31 March): the last feasible day is near.
    ("last-feasible-day-near", MPK, ["2025-03-04"], "2025-03-28", "2025-03", QuotaState.AT_RISK, 1, 2),
    # two to do on the last day: cannot be met at one a day.
    ("infeasible", MPK, [], "2025-03-31", "2025-03", QuotaState.AT_RISK, 0, 2),
    ("missed", MPK, ["2025-03-04"], "2025-04-01", "2025-03", QuotaState.MISSED, 1, 2),
    ("fulfilled-mid-period", MPK, ["2025-03-04", "2025-03-06"], "2025-03-10", "2025-03", QuotaState.FULFILLED, 2, 2),
    ("fulfilled-after-the-end", MPK, ["2025-03-04", "2025-03-27"], "2025-06-01", "2025-03", QuotaState.FULFILLED, 2, 2),
    # a Saturday is no planned (nor available) day, and still counts.
    ("unplanned-day-counts", MPK, ["2025-03-08", "2025-03-15"], "2025-03-17", "2025-03", QuotaState.FULFILLED, 2, 2),
    # a completion after `today` does not count yet; one in another period never does.
    ("later-days-not-counted", MPK, ["2025-02-27", "2025-03-25"], "2025-03-20", "2025-03", QuotaState.BEHIND, 0, 2),
    # two on one day count twice
    ("two-on-one-day", MPK, ["2025-03-05", "2025-03-05"], "2025-03-06", "2025-03", QuotaState.FULFILLED, 2, 2),
    # nothing done by mid-October, 1 per term: more than a third of the term's school days gone.
    ("term-behind", INFO, [], "2025-10-20", "2025-HT", QuotaState.BEHIND, 0, 1),
    ("term-on-track", INFO, [], "2025-09-01", "2025-HT", QuotaState.ON_TRACK, 0, 1),
    # a week before the last school day (19 December): the 5-school-day window.
    ("term-at-risk", INFO, [], "2025-12-15", "2025-HT", QuotaState.AT_RISK, 0, 1),
    # after the last school day, before the period's end: no day left, still not missed.
    ("term-after-last-school-day", INFO, [], "2025-12-22", "2025-HT", QuotaState.AT_RISK, 0, 1),
    ("term-missed", INFO, [], "2026-01-02", "2025-HT", QuotaState.MISSED, 0, 1),
    ("term-fulfilled-on-lov", INFO, ["2025-10-29"], "2025-11-03", "2025-HT", QuotaState.FULFILLED, 1, 1),
]


@pytest.mark.parametrize(
    ("item", "done", "today", "period_key", "state", "count", "required"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_state_on_constructed_history(  # noqa: PLR0917 - one argument per table column
    item: ActivityPlanInput,
    done: list[str],
    today: str,
    period_key: str,
    state: QuotaState,
    count: int,
    required: int,
) -> None:
    entity = item.entities[0] if item.entities else ""
    found = status_of(run(item, done, today), period_key, entity)
    assert (found.state, found.done, found.required) == (state, count, required), found.reasons
    assert found.remaining == max(0, required - count)
    if state.is_warning:
        assert found.reasons, "a warning says why"


def test_term_counts_school_days_only_and_lov_left() -> None:
    found = status_of(run(INFO, [], "2025-10-20"), "2025-HT", "nyhem")
    # HT 2025: 18 Aug – 19 Dec, höstlov 27–31 Oct, no klämdag in the term: 84 school days.
    assert found.available == len(SKANE.school_days(D("2025-08-18"), D("2025-12-19")))
    assert found.gone == len(SKANE.school_days(D("2025-08-18"), D("2025-10-19")))
    assert found.left == found.available - found.gone
    # höstlov (5 weekdays) and jullov from 22 December (8 weekdays) lie ahead
    assert found.lov_days_left == 13
    assert found.school_bound
    plan_days = [o.day for o in plan([INFO], window=YEAR_2025, work=WORK, school=SKANE).occurrences
                 if o.entity == "nyhem" and o.period_key == "2025-HT"]  # fmt: skip
    assert found.planned_left == tuple(d for d in plan_days if d >= D("2025-10-20"))


def test_partial_periods_at_the_window_edges() -> None:
    window = Window(start=D("2025-03-15"), end=D("2025-05-14"))
    report = run(MPK, ["2025-03-20"], "2025-04-01", window=window)
    march = status_of(report, "2025-03")
    assert march.span.partial
    assert march.required == 1
    assert march.state is QuotaState.FULFILLED
    may = status_of(report, "2025-05")
    assert may.span.partial
    assert may.state is QuotaState.UPCOMING
    assert may.required == 1  # 1–14 May: 9 of 20 available days (1 May, Kristi himmelsfärd 29 May off)
    assert may.share < 1


def test_period_without_available_days_requires_nothing() -> None:
    school_monthly = ActivityPlanInput(key="lektion", rule=quota_rule(2, Unit.MONTH), school_bound=True)
    july = status_of(run(school_monthly, [], "2025-07-15"), "2025-07")
    assert (july.required, july.available, july.state) == (0, 0, QuotaState.FULFILLED)
    assert not july.is_warning


def test_quota_without_period_spans_the_window() -> None:
    item = ActivityPlanInput(key="insatser", rule=quota_rule(3, None))
    window = Window(start=D("2022-03-01"), end=D("2022-05-31"))
    early = run(item, ["2022-03-10"], "2022-03-20", window=window)
    assert len(early.statuses) == 1
    (only,) = early.statuses
    assert (only.span.start, only.span.end, only.required, only.done) == (window.start, window.end, 3, 1)
    assert only.state is QuotaState.ON_TRACK
    late = run(item, ["2022-03-10"], "2022-05-27", window=window).statuses[0]
    assert late.state is QuotaState.AT_RISK  # two left, three days (27, 30, 31 May)


def test_average_quota_is_judged_over_the_whole_window() -> None:
    item = ActivityPlanInput(key="snitt", rule=quota_rule(2, Unit.MONTH, average=True))
    window = Window(start=D("2025-03-01"), end=D("2025-05-31"))
    # nothing in March, three in April: a per-period quota would have missed March
    report = run(item, ["2025-04-02", "2025-04-09", "2025-04-16"], "2025-04-30", window=window)
    assert len(report.statuses) == 1
    (total,) = report.statuses
    assert total.average
    assert total.span.start == window.start
    assert total.span.end == window.end
    assert (total.required, total.done) == (6, 3)
    assert total.state is QuotaState.ON_TRACK
    assert "i snitt" in summary_sv(total, title="Snitt")
    done = run(item, [f"2025-04-0{d}" for d in range(1, 7)], "2025-04-30", window=window).statuses[0]
    assert done.state is QuotaState.FULFILLED


@pytest.mark.parametrize(
    "rule",
    [
        Rule(kind=Kind.VAGUE),
        Rule(kind=Kind.CONDITIONAL),
        Rule(kind=Kind.EVENT),
        Rule(kind=Kind.UNTIMED),
    ],
    ids=lambda r: r.kind.value,
)
def test_unscheduled_kinds_are_listed_never_warned(rule: Rule) -> None:
    item = ActivityPlanInput(key="x", rule=rule)
    report = run(item, [], "2025-06-01")
    assert report.statuses == ()
    (listed,) = report.untracked
    assert listed.activity == "x"
    assert listed.reason == rule.kind.value
    assert listed.message_sv
    assert listed.to_json()["state"] is None


def test_not_tracked_quota_is_listed() -> None:
    item = ActivityPlanInput(key="x", rule=quota_rule(2, Unit.MONTH), tracked=False)
    report = run(item, [], "2025-06-01")
    assert report.statuses == ()
    assert report.untracked[0].reason == "not_tracked"


def test_rule_window_outside_validity_is_listed_with_the_problem() -> None:
    rule = Rule(
        kind=Kind.QUOTA, quota=Quota(min=1, max=None), window=Window(start=D("2030-01-01"), end=D("2030-02-01"))
    )
    report = run(ActivityPlanInput(key="x", rule=rule), [], "2025-06-01")
    assert report.statuses == ()
    assert report.untracked[0].reason == "problem"
    assert "utanför giltighetstiden" in report.untracked[0].message_sv


def test_statuses_come_warnings_first() -> None:
    report = run(MPK, ["2025-02-05", "2025-02-06", "2025-04-02"], "2025-04-29")
    states = [s.state for s in report.statuses]
    assert states == sorted(states, key=STATE_ORDER.index)
    assert states[:2] == [QuotaState.AT_RISK, QuotaState.MISSED]  # April: one left on 29–30 April; March
    assert report.warnings == tuple(s for s in report.statuses if s.state.is_warning)


# -- words ----------------------------------------------------------------------------------------
def test_summary_in_swedish() -> None:
    found = status_of(run(INFO, [], "2025-10-20"), "2025-HT", "nyhem")
    text = summary_sv(found, title="Informationskväll", entity_name="Nyhemsskolan")
    assert text.startswith("Informationskväll, Nyhemsskolan, höstterminen 2025: 0 av 1, 10 veckor kvar")
    assert "varav 3 lovveckor" in text
    assert "skoldagar)" in text
    upcoming = status_of(run(MPK, [], "2025-02-20"), "2025-03")
    assert summary_sv(upcoming, title="MPK") == "MPK, mars 2025: 2 tillfällen krävs, börjar 1 mars 2025"
    missed = status_of(run(MPK, ["2025-03-04"], "2025-04-01"), "2025-03")
    assert summary_sv(missed, title="MPK") == "MPK, mars 2025: 1 av 2, slutade 31 mars 2025"
    assert missed.reasons == ("perioden slutade 31 mars 2025 med 1 av 2",)


def test_reasons_name_the_numbers() -> None:
    infeasible = status_of(run(MPK, [], "2025-03-31"), "2025-03")
    assert infeasible.reasons == ("2 tillfällen återstår men bara 1 möjlig dag finns kvar",)
    near = status_of(run(MPK, ["2025-03-04"], "2025-03-28"), "2025-03")
    assert near.reasons == ("sista dagen då kvoten kan nås är 31 mars 2025",)
    behind = status_of(run(MPK, [], "2025-03-20"), "2025-03")
    assert behind.reasons == ("62 % av periodens möjliga dagar har gått, 0 av 2 är gjorda",)


def test_json_is_stable() -> None:
    found = status_of(run(MPK, ["2025-03-04"], "2025-03-28"), "2025-03")
    data = found.to_json()
    assert list(data) == [
        "activity", "entity", "period", "state", "warning", "required", "done", "remaining", "available_days",
        "available_days_gone", "available_days_left", "lov_days_left", "last_feasible_day", "planned_left",
        "share", "average", "school_bound", "reasons", "problem",
    ]  # fmt: skip
    assert data["state"] == "i fara"
    assert data["entity"] is None
    assert data["last_feasible_day"] == "2025-03-31"


# -- thresholds ----------------------------------------------------------------------------------------
def test_thresholds_are_configurable() -> None:
    lenient = QuotaThresholds(pace_slack=0.9)
    assert status_of(run(MPK, [], "2025-03-20", thresholds=lenient), "2025-03").state is QuotaState.ON_TRACK
    strict = QuotaThresholds(critical_days=10, critical_share=1.0)
    found = status_of(run(MPK, ["2025-03-04"], "2025-03-21"), "2025-03")
    assert found.state is QuotaState.ON_TRACK
    assert status_of(run(MPK, ["2025-03-04"], "2025-03-21", thresholds=strict), "2025-03").state is QuotaState.AT_RISK


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pace_slack": 1.0}, "pace_slack"),
        ({"pace_slack": -0.1}, "pace_slack"),
        ({"risk_rate": 0}, "risk_rate"),
        ({"critical_days": 0}, "critical_days"),
        ({"critical_days": 2.5}, "critical_days"),
        ({"critical_share": 1.5}, "critical_share"),
    ],
)
def test_thresholds_are_validated(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(RuleValueError, match=match):
        QuotaThresholds(**kwargs)  # type: ignore[arg-type]


def test_critical_window_scales_with_the_period() -> None:
    assert [DEFAULT_THRESHOLDS.critical_window(n) for n in (5, 21, 84, 250)] == [1, 2, 5, 5]


def test_day_set_counts() -> None:
    days = DaySet.available(Window(start=D("2025-12-22"), end=D("2026-01-09")), work=WORK)
    assert days.between(D("2025-12-22"), D("2025-12-31")) == [D("2025-12-22"), D("2025-12-23"), D("2025-12-29"),
                                                              D("2025-12-30")]  # fmt: skip
    assert days.nth_back(D("2025-12-31"), 2, floor=D("2025-12-22")) == D("2025-12-29")
    assert days.nth_back(D("2025-12-31"), 5, floor=D("2025-12-22")) is None


def test_evaluate_period_defaults_to_the_plans_own_occurrences() -> None:
    p = plan([MPK], window=YEAR_2025, work=WORK)
    march = p.activity("mpk").periods[2]
    days = DaySet.for_activity(MPK, YEAR_2025, work=WORK, school=None)
    found = evaluate_period(march, done=[], today=D("2025-03-01"), days=days)
    assert found.planned_left == tuple(o.day for o in march.occurrences)


# -- properties ------------------------------------------------------------------------------------
RULES = st.sampled_from(
    [
        quota_rule(1, Unit.WEEK),
        quota_rule(2, Unit.MONTH),
        quota_rule(3, Unit.MONTH),
        quota_rule(1, Unit.TERM),
        quota_rule(6, Unit.YEAR),
        quota_rule(4, None),
        quota_rule(2, Unit.MONTH, average=True),
    ]
)
DAYS = st.dates(min_value=D("2025-02-01"), max_value=D("2025-07-31"))
WINDOW = Window(start=D("2025-02-10"), end=D("2025-06-20"))


def _statuses(rule: Rule, school_bound: bool, done: list[dt.date], today: dt.date) -> dict[str, QuotaStatus]:
    item = ActivityPlanInput(key="a", rule=rule, school_bound=school_bound)
    p = plan([item], window=WINDOW, work=WORK, school=SKANE)
    report = evaluate(p, [item], completions={("a", ""): done}, today=today, work=WORK, school=SKANE)
    return {s.span.key: s for s in report.statuses}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=RULES, school_bound=st.booleans(), done=st.lists(DAYS, max_size=8), today=DAYS, extra=DAYS)
def test_adding_a_completion_never_worsens_a_state(
    rule: Rule, school_bound: bool, done: list[dt.date], today: dt.date, extra: dt.date
) -> None:
    before = _statuses(rule, school_bound, done, today)
    after = _statuses(rule, school_bound, [*done, extra], today)
    assert before.keys() == after.keys()
    for key, old in before.items():
        new = after[key]
        assert new.done >= old.done
        assert new.state.badness <= old.state.badness, (key, old.state, new.state, extra)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=RULES, school_bound=st.booleans(), done=st.lists(DAYS, max_size=8), today=DAYS)
def test_fulfilled_iff_done_reaches_required(
    rule: Rule, school_bound: bool, done: list[dt.date], today: dt.date
) -> None:
    for status in _statuses(rule, school_bound, done, today).values():
        if today < status.span.start:
            assert status.state is QuotaState.UPCOMING
            assert status.done == 0
            continue
        assert (status.state is QuotaState.FULFILLED) == (status.done >= status.required)
        assert status.done == sum(1 for d in done if status.span.start <= d <= min(status.span.end, today))
        assert status.gone + status.left == status.available or not status.running


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from([Kind.VAGUE, Kind.CONDITIONAL, Kind.EVENT, Kind.UNTIMED]),
    done=st.lists(DAYS, max_size=5),
    today=DAYS,
)
def test_no_warning_for_unscheduled_kinds(kind: Kind, done: list[dt.date], today: dt.date) -> None:
    item = ActivityPlanInput(key="a", rule=Rule(kind=kind))
    p = plan([item], window=WINDOW, work=WORK, school=SKANE)
    report = evaluate(p, [item], completions={("a", ""): done}, today=today, work=WORK, school=SKANE)
    assert report.statuses == ()
    assert report.warnings == ()
    assert [u.activity for u in report.untracked] == ["a"]

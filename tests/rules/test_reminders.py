"""The reminder policy: levels per state and lead time, escalation, and sending hours."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.holidays_se import WorkCalendar
from rules.model import Unit
from rules.reminders import QuotaFact, ReminderPolicy, decide, send_at

D = dt.date.fromisoformat
STOCKHOLM = ZoneInfo("Europe/Stockholm")
COORDINATOR = "samordnare@example.se"


def fact(**changes: object) -> QuotaFact:
    values: dict[str, object] = {
        "promise": "astorp-2019", "activity": "info", "entity": "bjorkskolan", "period_key": "2019-ht",
        "period_unit": Unit.TERM, "period_end": D("2019-12-20"), "state": "i fas", "done": 0, "required": 1,
        "days_left": 30, "unit": "kommunen", "unit_email": "kommunen@example.se",
    }  # fmt: skip
    values.update(changes)
    return QuotaFact(**values)  # type: ignore[arg-type]


def levels(today: str, *facts: QuotaFact) -> list[tuple[str, str]]:
    return [(d.recipient, d.level) for d in decide(facts, today=D(today), escalate_to=[COORDINATOR])]


@pytest.mark.parametrize(
    ("today", "changes", "expected"),
    [
        # on pace, far from the end: nothing
        ("2019-10-01", {}, []),
        # 42 days before the term ends: the first lead time
        ("2019-11-08", {}, [("kommunen@example.se", "paminnelse-42d")]),
        # 20 days before: only the latest lead time, never the stale one too
        ("2019-11-30", {}, [("kommunen@example.se", "paminnelse-21d")]),
        # at risk: the unit hears it at once, with the current lead time
        ("2019-11-30", {"state": "i fara", "days_left": 14},
         [("kommunen@example.se", "i-fara"), ("kommunen@example.se", "paminnelse-21d")]),
        # at risk with almost no days left: the coordinator hears it too
        ("2019-12-16", {"state": "i fara", "days_left": 4},
         [("kommunen@example.se", "i-fara"), ("kommunen@example.se", "paminnelse-21d"), (COORDINATOR, "kritisk")]),
        # met: silence, whatever the date
        ("2019-12-16", {"state": "uppfylld", "done": 1}, []),
        # not started
        ("2019-06-01", {"state": "kommande"}, []),
        # missed: the coordinator, within two weeks of the end
        ("2019-12-23", {"state": "missad", "days_left": 0}, [(COORDINATOR, "missad")]),
        # missed long ago (a restart after an outage): nothing stale
        ("2020-02-01", {"state": "missad", "days_left": 0}, []),
        # no count to follow (vague, conditional, event, untimed): never warned about
        ("2019-12-16", {"state": None, "required": 0}, []),
        # a unit without an address: no unit mail, the coordinator still hears the critical state
        ("2019-12-16", {"state": "i fara", "days_left": 2, "unit_email": None}, [(COORDINATOR, "kritisk")]),
        # a monthly quota: ten days before the month ends
        ("2019-03-22", {"period_unit": Unit.MONTH, "period_key": "2019-03", "period_end": D("2019-03-31"),
                        "required": 2, "done": 1}, [("kommunen@example.se", "paminnelse-10d")]),
    ],
    ids=lambda v: str(v)[:40],
)
def test_levels(today: str, changes: dict[str, object], expected: list[tuple[str, str]]) -> None:
    assert levels(today, fact(**changes)) == expected


def test_decision_keys_are_unique_per_recipient_quota_and_level() -> None:
    decisions = decide(
        [fact(state="i fara", days_left=3), fact(entity="ekskolan", state="i fara", days_left=3)],
        today=D("2019-12-17"),
        escalate_to=[COORDINATOR, COORDINATOR.upper()],
    )
    keys = [d.key for d in decisions]
    assert len(keys) == len(set(keys)) == 6  # per school: i-fara, the lead time, one escalation
    assert ("kommunen@example.se", "astorp-2019", "info", "ekskolan", "2019-ht", "i-fara") in keys


def test_lead_times_are_configurable() -> None:
    policy = ReminderPolicy(lead_days={Unit.TERM: (7,)})
    assert decide([fact()], today=D("2019-11-30"), policy=policy) == []
    assert [d.level for d in decide([fact()], today=D("2019-12-14"), policy=policy)] == ["paminnelse-7d"]


@settings(deadline=None)
@given(st.dates(min_value=D("2019-08-01"), max_value=D("2020-01-31")))
def test_at_most_one_lead_level_a_day_and_none_after_the_end(today: dt.date) -> None:
    leads = [d for d in decide([fact()], today=today) if d.level.startswith("paminnelse")]
    assert len(leads) <= 1
    if today > D("2019-12-20"):
        assert leads == []


# -- sending hours --------------------------------------------------------------------------------
@settings(deadline=None)  # the first call builds a year's holidays
# Hypothesis wants naive bounds and adds the zone itself.
@given(st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(dt.UTC)))  # noqa: DTZ001
def test_send_at_is_the_next_moment_inside_working_hours(now: dt.datetime) -> None:
    when = send_at(now)
    local = when.astimezone(STOCKHOLM)
    assert when >= now
    assert WorkCalendar().is_working_day(local.date())
    assert dt.time(8, 0) <= local.time() < dt.time(17, 0)
    assert when - now < dt.timedelta(days=6)  # even across påsk or jul
    if when != now:
        assert local.time() == dt.time(8, 0)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Saturday 30 March 2024, and the night DST starts: Monday is Annandag påsk
        ("2024-03-30T12:00:00+01:00", "2024-04-02T08:00:00+02:00"),
        # Sunday 27 October 2024 (DST ends at 03:00): Monday morning in winter time
        ("2024-10-27T02:30:00+02:00", "2024-10-28T08:00:00+01:00"),
        ("2024-10-28T07:59:00+01:00", "2024-10-28T08:00:00+01:00"),
        ("2024-10-28T16:59:00+01:00", "2024-10-28T16:59:00+01:00"),
        ("2024-10-28T17:00:00+01:00", "2024-10-29T08:00:00+01:00"),
    ],
)
def test_send_at_across_dst_and_holidays(now: str, expected: str) -> None:
    assert send_at(dt.datetime.fromisoformat(now)).isoformat() == expected


def test_send_at_refuses_a_naive_datetime() -> None:
    from rules.errors import NaiveDatetimeError

    with pytest.raises(NaiveDatetimeError):
        send_at(dt.datetime(2024, 1, 1, 9, 0))  # noqa: DTZ001 - the point of the test

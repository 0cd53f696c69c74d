"""The reminder policy: which quota to tell whom about, at what level, and when to send.

Pure: the caller passes the quota facts and ``now``; the policy returns decisions. The
shell (``scheduler.reminders``) records each decision once under its key (recipient,
promise, activity, entity, period, level), so running the policy again, after a
restart or on a second instance, decides nothing new for what is already recorded.

Levels
------
To the **responsible unit** (its e-mail address):

* ``i-fara``: the quota has entered *i fara* (behind pace or hard to fit: see
  ``rules.quota``). Once per quota and period.
* ``paminnelse-<N>d``: a lead time before the period ends, ``N`` calendar days, as long
  as the quota is not met. The lead times suit the period (``DEFAULT_LEAD_DAYS``): a
  monthly quota hears 10 days before the month ends, a term quota 42 and 21 days before,
  a yearly one 60 and 30. Only the **latest** lead time that has passed is decided:
  after downtime the unit gets one current reminder, not every missed one.

To the **coordinator** (``escalate_to``):

* ``kritisk``: the quota is *i fara* and cannot be met without using nearly every
  remaining day (``remaining`` ≥ ``critical_ratio`` × available days left), or fewer
  than ``critical_days_left`` available days remain.
* ``missad``: the period ended without the quota met; decided only within
  ``missed_grace_days`` of the period's end (a restart after a long outage does not
  escalate last year's misses).

Nothing is decided for a quota that is met (*uppfylld*) or not yet started
(*kommande*), nor for activities without a count (vague, conditional, event, untimed:
their ``state`` is None).

When to send
------------
``send_at(now, ...)``: messages go out on working days between ``day_start`` and
``day_end`` local time; a decision taken at night, at a weekend or on a holiday is
held until the next working morning. Several decisions for one recipient that are
due together are sent as **one digest** (the shell groups them by recipient).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from rules.errors import NaiveDatetimeError
from rules.holidays_se import WorkCalendar
from rules.model import Unit

__all__ = [
    "DEFAULT_LEAD_DAYS",
    "Decision",
    "QuotaFact",
    "ReminderPolicy",
    "decide",
    "send_at",
]

#: States as ``rules.quota`` writes them (Swedish values).
_MET, _UPCOMING, _AT_RISK, _MISSED = "uppfylld", "kommande", "i fara", "missad"

#: Days before a period's end at which the unit is reminded, by the period's unit.
#: ``None`` is a quota over the whole validity (no period).
DEFAULT_LEAD_DAYS: Mapping[Unit | None, tuple[int, ...]] = {
    Unit.DAY: (),
    Unit.WEEK: (2,),
    Unit.MONTH: (10,),
    Unit.QUARTER: (30, 14),
    Unit.TERTIAL: (30, 14),
    Unit.HALF_YEAR: (45, 21),
    Unit.TERM: (42, 21),
    Unit.SCHOOL_YEAR: (60, 30),
    Unit.YEAR: (60, 30),
    None: (60, 30),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderPolicy:
    """The thresholds of the policy; every default is documented in the module docstring."""

    lead_days: Mapping[Unit | None, tuple[int, ...]] = field(default_factory=lambda: dict(DEFAULT_LEAD_DAYS))
    #: escalate when what remains needs at least this share of the available days left
    critical_ratio: float = 0.8
    #: escalate when fewer available days than this remain and the quota is not met
    critical_days_left: int = 5
    #: escalate a missed period only this many days after it ended
    missed_grace_days: int = 14
    #: local sending hours on working days
    day_start: dt.time = dt.time(8, 0)
    day_end: dt.time = dt.time(17, 0)
    tz: str = "Europe/Stockholm"


@dataclass(frozen=True, slots=True, kw_only=True)
class QuotaFact:
    """What the policy needs to know about one activity × entity × period."""

    promise: str
    activity: str
    entity: str = ""
    period_key: str
    #: the period's unit, None for a quota over the whole validity
    period_unit: Unit | None
    #: the period's last day (clipped to the validity)
    period_end: dt.date
    #: ``rules.quota`` state value ("i fas", "i fara", ...); None for an activity without a count
    state: str | None
    done: int
    required: int
    #: available days (working or school days) left in the period, today included
    days_left: int
    #: the responsible unit's key and address (None: the unit has no address)
    unit: str
    unit_email: str | None

    @property
    def remaining(self) -> int:
        return max(0, self.required - self.done)


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """Tell ``recipient`` about ``fact`` at ``level`` (unique by ``key``)."""

    recipient: str
    #: "unit" or "coordinator"
    audience: str
    level: str
    fact: QuotaFact

    @property
    def key(self) -> tuple[str, str, str, str, str, str]:
        """(recipient, promise, activity, entity, period, level): recorded once."""
        f = self.fact
        return (self.recipient.strip().casefold(), f.promise, f.activity, f.entity, f.period_key, self.level)


def _lead_level(fact: QuotaFact, today: dt.date, policy: ReminderPolicy) -> str | None:
    """The latest lead time that has passed, as a level name, or None."""
    leads = sorted(policy.lead_days.get(fact.period_unit, ()))
    days_to_end = (fact.period_end - today).days
    passed = [lead for lead in leads if days_to_end <= lead]
    return f"paminnelse-{passed[0]}d" if passed else None


def _critical(fact: QuotaFact, policy: ReminderPolicy) -> bool:
    if fact.state != _AT_RISK:
        return False
    if fact.days_left < policy.critical_days_left:
        return True
    return fact.remaining >= policy.critical_ratio * fact.days_left


def decide(
    facts: Iterable[QuotaFact],
    *,
    today: dt.date,
    escalate_to: Iterable[str] = (),
    policy: ReminderPolicy | None = None,
) -> list[Decision]:
    """Every decision due on ``today`` for ``facts``, in input order (unit first, then coordinators).

    A unit without an address gets no decision (the shell reports it); the coordinators
    still hear about critical and missed quotas.
    """
    policy = policy or ReminderPolicy()
    coordinators = tuple({e.strip().casefold(): e.strip() for e in escalate_to if e and e.strip()}.values())
    out: list[Decision] = []
    for fact in facts:
        if fact.state is None or fact.state in (_MET, _UPCOMING) or fact.remaining == 0:
            continue
        if fact.state == _MISSED:
            if 0 <= (today - fact.period_end).days <= policy.missed_grace_days:
                out += [Decision(recipient=c, audience="coordinator", level="missad", fact=fact) for c in coordinators]
            continue
        if fact.period_end < today:
            continue
        if fact.unit_email:
            if fact.state == _AT_RISK:
                out.append(Decision(recipient=fact.unit_email, audience="unit", level="i-fara", fact=fact))
            lead = _lead_level(fact, today, policy)
            if lead is not None:
                out.append(Decision(recipient=fact.unit_email, audience="unit", level=lead, fact=fact))
        if _critical(fact, policy):
            out += [Decision(recipient=c, audience="coordinator", level="kritisk", fact=fact) for c in coordinators]
    return out


def send_at(now: dt.datetime, *, work: WorkCalendar | None = None, policy: ReminderPolicy | None = None) -> dt.datetime:
    """``now`` if it is inside sending hours on a working day, else the next working
    morning at ``policy.day_start`` local time (aware, in the policy's zone).

    >>> stockholm = ZoneInfo("Europe/Stockholm")
    >>> send_at(dt.datetime(2025, 11, 21, 22, 30, tzinfo=stockholm)).isoformat()  # Friday night
    '2025-11-24T08:00:00+01:00'
    >>> send_at(dt.datetime(2025, 12, 23, 10, 0, tzinfo=stockholm)).isoformat()  # a Tuesday morning
    '2025-12-23T10:00:00+01:00'
    >>> send_at(dt.datetime(2025, 12, 24, 9, 0, tzinfo=stockholm)).isoformat()  # julafton
    '2025-12-29T08:00:00+01:00'
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError("send_at needs an aware datetime")
    policy = policy or ReminderPolicy()
    work = work or WorkCalendar(klamdagar_off=False)
    zone = ZoneInfo(policy.tz)
    local = now.astimezone(zone)
    day = local.date()
    if work.is_working_day(day) and policy.day_start <= local.time() < policy.day_end:
        return local
    if work.is_working_day(day) and local.time() < policy.day_start:
        return dt.datetime.combine(day, policy.day_start, tzinfo=zone)
    day += dt.timedelta(days=1)
    while not work.is_working_day(day):
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, policy.day_start, tzinfo=zone)

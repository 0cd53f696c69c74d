"""Reminders: evaluate every quota, decide who to tell (``rules.reminders``), deliver once.

One run (``run_once``; ``lofte remind`` and the scheduler job in ``lofte serve`` both
call it) has two steps, each safe to repeat and safe to run on two instances at once:

1. **Decide** (``decide_due``): ``scheduler.status.evaluate_promises`` as of the local
   date, the facts go through ``rules.reminders.decide``, and every decision is
   recorded with ``scheduler.store.decide_notifications`` under its unique key
   (recipient, promise, activity, entity, period, level): ``INSERT ... ON CONFLICT DO
   NOTHING``, so a rerun, a restart or a second instance records nothing twice. The
   row keeps the message's content (``payload``) and ``next_attempt_at``: the next
   moment inside sending hours (``rules.reminders.send_at``), so a decision taken at
   night or at a weekend waits for the next working morning. A recipient that already
   got a message today waits for the next working morning too: **one message per
   recipient per day**, holding every quota due for them (a digest).
2. **Deliver** (``deliver_due``): the rows due by ``now`` are grouped by recipient and
   audience; each group is **claimed** with ``UPDATE ... SET state='sending' WHERE id IN
   (...) AND state='decided'`` and delivered only by the transaction whose update
   changed every row of the group (another instance that claimed first wins). Then one
   message per group: a digest to a unit (``scheduler.emails.compose_digest``), an
   escalation to a coordinator per promise (``compose_escalation``). On success the
   rows become ``sent``; a ``TemporaryFailure`` puts them back to ``decided`` with
   exponential backoff (``RETRY_BACKOFF``, from 5 minutes up to 6 hours); a
   ``PermanentFailure`` or ``MAX_ATTEMPTS`` attempts make them ``failed`` with the
   reason, which the dashboard shows.

A process killed after deciding and before sending leaves ``decided`` rows that the
next run delivers, once. A process killed *while* sending leaves ``sending`` rows: they
are retried after ``SENDING_LEASE`` (the message may then arrive twice, the only
duplicate possible; SMTP gives no way to know whether the server accepted it).

After downtime the first run decides only what is due *now*: the policy picks the
latest lead time and ignores periods missed more than two weeks ago, so no burst of
stale reminders goes out.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from notifiers.base import Notifier, NotifierError
from rules.holidays_se import WorkCalendar
from rules.model import Unit as PeriodUnit
from rules.reminders import Decision, QuotaFact, ReminderPolicy, decide, send_at
from scheduler.db import MailOptOut, Notification, NotificationState, Promise, Unit, User, UserKommun
from scheduler.emails import DigestItem, EmailInputError, compose_digest, compose_escalation
from scheduler.signing import sign_completion_link
from scheduler.status import QuotaItem, evaluate_promises, gc_paused
from scheduler.store import NotificationDraft, decide_notifications, notification_key

__all__ = [
    "MAX_ATTEMPTS",
    "RETRY_BACKOFF",
    "SENDING_LEASE",
    "DeliveryResult",
    "RemindResult",
    "decide_due",
    "deliver_due",
    "run_once",
    "unsubscribe_recipient",
    "unsubscribe_url",
]

log = logging.getLogger(__name__)

TZ = ZoneInfo("Europe/Stockholm")
#: Delays before the 1st, 2nd, ... retry of a temporary failure; the last one repeats.
RETRY_BACKOFF: tuple[dt.timedelta, ...] = tuple(dt.timedelta(minutes=m) for m in (5, 15, 60, 180, 360))
#: After this many failed attempts a message is given up (about three days of retries).
MAX_ATTEMPTS = 15
#: A row left in ``sending`` longer than this (its sender died) is tried again.
SENDING_LEASE = dt.timedelta(minutes=15)
_LEVEL_ORDER = {"missad": 0, "kritisk": 1, "i-fara": 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class MailContext:
    """What messages need besides the data: addresses, the sender and the signing key."""

    base_url: str
    sender: str
    secret: str
    #: the unit's feed address by unit id, when known (``scheduler.feeds.unit_feed_urls``)
    feed_urls: Callable[[Session, int], str | None] = lambda _session, _unit_id: None


@dataclass(slots=True)
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    #: (recipient, Swedish reason) of each failure in this run
    errors: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "errors": [{"recipient": r, "reason": e} for r, e in self.errors],
        }


@dataclass(slots=True)
class RemindResult:
    today: dt.date
    decided: list[dict[str, object]] = field(default_factory=list)
    #: units that would be told but have no address (Swedish lines for the log and the dashboard)
    without_address: list[str] = field(default_factory=list)
    delivery: DeliveryResult = field(default_factory=DeliveryResult)

    def to_json(self) -> dict[str, object]:
        return {
            "today": self.today.isoformat(),
            "decided": self.decided,
            "without_address": self.without_address,
            "delivery": self.delivery.to_json(),
        }


# -- step 1: decide -----------------------------------------------------------------------------------
def _period_unit(item: QuotaItem) -> PeriodUnit | None:
    """The period's unit as the lead times see it, from the span's length (an "every
    N" period and a whole-validity span get the lead times of their length)."""
    span = item.status.span
    days = (span.full_end - span.full_start).days + 1
    if days <= 1:
        return PeriodUnit.DAY
    if days <= 7:
        return PeriodUnit.WEEK
    if days <= 31:
        return PeriodUnit.MONTH
    if days <= 123:
        return PeriodUnit.QUARTER
    if days <= 190:
        return PeriodUnit.TERM
    return PeriodUnit.YEAR


def _coordinators(session: Session) -> Callable[[str], list[tuple[str, str]]]:
    """(address, name) of the active users with an address who see a kommun, by kommun.

    Two queries a run (users, grants), then a lookup per kommun. Kommun names are
    compared case-folded in Python: SQLite's ``lower()`` leaves Å, Ä and Ö alone.
    """
    grants: dict[int, set[str]] = defaultdict(set)
    for user_id, name in session.exec(select(UserKommun.user_id, UserKommun.kommun)):
        grants[user_id].add(name.casefold())
    users = session.exec(
        select(User.id, User.email, User.name, User.is_admin).where(col(User.is_active), col(User.email).is_not(None))
    ).all()
    found: dict[str, list[tuple[str, str]]] = {}

    def of(kommun: str) -> list[tuple[str, str]]:
        wanted = kommun.casefold()
        if wanted not in found:
            found[wanted] = [
                (email, name) for user_id, email, name, is_admin in users
                if email and (is_admin or wanted in grants.get(user_id or 0, ()))
            ]  # fmt: skip
        return found[wanted]

    return of


def _payload(
    item: QuotaItem, decision: Decision, *, today: dt.date, context: MailContext, now: dt.datetime
) -> dict[str, Any]:
    status = item.status
    done_url = None
    if decision.audience == "unit":
        token = sign_completion_link(
            context.secret, promise=item.promise, activity=status.activity, entity=status.entity or None,
            period_key=status.period_key, recipient=decision.recipient, now=now,
        )  # fmt: skip
        done_url = f"{context.base_url}/klart/{token}"
    return {
        "audience": decision.audience,
        "promise": item.promise,
        "promise_title": item.promise_title,
        "unit_name": item.unit_name,
        "item": {
            "activity": item.activity_title,
            "entity": item.entity_name,
            "period_label": status.span.label,
            "done": status.done,
            "required": status.required,
            "state": status.state.value,
            "period_end": status.span.end.isoformat(),
            "days_left": max(0, (status.span.end - today).days),
            "lov_days_left": status.lov_days_left,
            "planned": [d.isoformat() for d in status.planned_left],
            "done_url": done_url,
            "responsible": item.unit_name,
        },
    }


def decide_due(
    session: Session,
    *,
    now: dt.datetime,
    context: MailContext,
    policy: ReminderPolicy | None = None,
    work: WorkCalendar | None = None,
) -> RemindResult:
    """Record every decision due at ``now`` (step 1). Works in ``session``; the caller commits.

    The cyclic collector stays paused for the whole step, as during the evaluation it
    starts with (``scheduler.status``): the evaluation's objects (a status per period,
    about 78,000 on the national set) are alive until the decisions are made, and a
    collection triggered by the deciding would walk them all (0.15-0.65 s CPU a run on
    the national set, the most after a fresh evaluation). They are freed, by reference
    counting, before the collector resumes.
    """
    with gc_paused():
        return _decide_due(session, now=now, context=context, policy=policy, work=work)


def _decide_due(
    session: Session,
    *,
    now: dt.datetime,
    context: MailContext,
    policy: ReminderPolicy | None,
    work: WorkCalendar | None,
) -> RemindResult:
    policy = policy or ReminderPolicy()
    today = now.astimezone(TZ).date()
    result = RemindResult(today=today)
    report = evaluate_promises(session, today=today)
    promises = {
        slug: (id_, kommun) for slug, id_, kommun in session.exec(select(Promise.slug, Promise.id, Promise.kommun))
    }
    active = select(Unit.promise_id, Unit.key, Unit.id, Unit.email).where(col(Unit.retired_at).is_(None))
    units: dict[tuple[int | None, str], tuple[int | None, str | None]] = {
        (promise_id, key): (id_, email) for promise_id, key, id_, email in session.exec(active)
    }
    coordinators = _coordinators(session)
    escalate_by_kommun: dict[str, list[str]] = {}
    optouts = _optouts(session)
    due_at = send_at(now, work=work, policy=policy)
    sent = _sent_on(session, due_at)
    drafts: dict[str, tuple[NotificationDraft, dict[str, object]]] = {}

    for item in report.relevant():
        promise = promises.get(item.promise)
        if promise is None:
            continue
        promise_id, kommun = promise
        unit_id, email = units.get((promise_id, item.unit), (None, None))
        status = item.status
        fact = QuotaFact(
            promise=item.promise, activity=status.activity, entity=status.entity, period_key=status.period_key,
            period_unit=_period_unit(item), period_end=status.span.end, state=status.state.value,
            done=status.done, required=status.required, days_left=status.left, unit=item.unit,
            unit_email=None if email and email.casefold() in optouts else email,
        )  # fmt: skip
        if kommun not in escalate_by_kommun:
            escalate_by_kommun[kommun] = [
                address for address, _name in coordinators(kommun) if address.casefold() not in optouts
            ]
        decisions = decide([fact], today=today, escalate_to=escalate_by_kommun[kommun], policy=policy)
        if not email and any(True for _ in decide([_with_email(fact)], today=today, policy=policy)):
            result.without_address.append(
                f"{item.unit_name} ({item.promise}) har ingen e-postadress: påminnelsen om "
                f"{item.activity_title} kan inte skickas. Lägg till en adress i löftesfilen."
            )
        for decision in decisions:
            key = notification_key(
                recipient=decision.recipient, promise=item.promise, activity=status.activity,
                entity=status.entity, period_key=status.period_key, level=decision.level,
            )  # fmt: skip
            if key in drafts:  # the same decision twice in one run: recorded once, from the first
                continue
            when = _next_slot(decision.recipient, due_at, sent=sent, now=now, work=work, policy=policy)
            draft = NotificationDraft(
                key=key, recipient=decision.recipient, level=decision.level, next_attempt_at=when,
                payload=_payload(item, decision, today=today, context=context, now=now),
                unit_id=unit_id if decision.audience == "unit" else None, period_key=status.period_key,
            )  # fmt: skip
            drafts[key] = (
                draft,
                {"recipient": decision.recipient, "level": decision.level, "promise": item.promise,
                 "activity": status.activity, "entity": status.entity, "period": status.period_key,
                 "send_at": when.isoformat()},
            )  # fmt: skip
    # One statement for every decision; a key decided before (a rerun, a restart, a
    # second instance) inserts nothing and is not reported.
    recorded = decide_notifications(session, (draft for draft, _line in drafts.values()), now=now)
    result.decided = [line for key, (_draft, line) in drafts.items() if key in recorded]
    for line in result.without_address:
        log.warning("%s", line)
    return result


def _with_email(fact: QuotaFact) -> QuotaFact:
    return replace(fact, unit_email="saknas@example.invalid")


def _optouts(session: Session) -> frozenset[str]:
    return frozenset(r.casefold() for r in session.exec(select(MailOptOut.recipient)))


def _sent_on(session: Session, due_at: dt.datetime) -> frozenset[str]:
    """The recipients (case-folded) who were sent a message on ``due_at``'s local day:
    one query a run instead of one a decision."""
    start = dt.datetime.combine(due_at.astimezone(TZ).date(), dt.time(0), tzinfo=TZ)
    rows = session.exec(
        select(Notification.recipient).where(
            col(Notification.state) == NotificationState.SENT,
            col(Notification.sent_at) >= start,
            col(Notification.sent_at) < start + dt.timedelta(days=1),
        )
    )
    return frozenset(r.casefold() for r in rows)


def _next_slot(
    recipient: str,
    due_at: dt.datetime,
    *,
    sent: frozenset[str],
    now: dt.datetime,
    work: WorkCalendar | None,
    policy: ReminderPolicy,
) -> dt.datetime:
    """``due_at``, or the next working morning after it when ``recipient`` already got a
    message that day (``sent``, from ``_sent_on``: one message per recipient per day)."""
    if recipient.casefold() not in sent:
        return due_at.astimezone(dt.UTC)
    evening = dt.datetime.combine(due_at.astimezone(TZ).date(), policy.day_end, tzinfo=TZ)
    return send_at(max(evening, now), work=work, policy=policy).astimezone(dt.UTC)


# -- step 2: deliver ------------------------------------------------------------------------------------
def _item(payload: dict[str, Any]) -> DigestItem:
    data = dict(payload["item"])
    return DigestItem(
        activity=data["activity"],
        entity=data["entity"],
        period_label=data["period_label"],
        done=int(data["done"]),
        required=int(data["required"]),
        state=data["state"],
        period_end=dt.date.fromisoformat(data["period_end"]),
        days_left=int(data["days_left"]),
        lov_days_left=int(data.get("lov_days_left") or 0),
        planned=tuple(dt.date.fromisoformat(d) for d in data.get("planned") or ()),
        done_url=data.get("done_url"),
        responsible=data.get("responsible"),
    )


def _claim(engine: Engine, ids: Sequence[int], *, now: dt.datetime) -> bool:
    """Move ``ids`` from decided to sending, all or nothing; False if another run has any."""
    with Session(engine) as session:
        claimed: sa.CursorResult[Any] = session.execute(  # type: ignore[assignment]  # an UPDATE's result
            sa.update(Notification)
            .where(col(Notification.id).in_(ids), col(Notification.state) == NotificationState.DECIDED)
            .values(state=NotificationState.SENDING, updated_at=now)
        )
        if claimed.rowcount != len(ids):
            session.rollback()
            return False
        session.commit()
        return True


def _finish(engine: Engine, ids: Sequence[int], *, now: dt.datetime, error: NotifierError | None) -> str:
    with Session(engine) as session:
        rows = session.exec(select(Notification).where(col(Notification.id).in_(ids))).all()
        outcome = "sent"
        for row in rows:
            row.attempts += 1
            row.updated_at = now
            if error is None:
                row.state = NotificationState.SENT
                row.sent_at = now
                row.last_error = None
            elif error.permanent or row.attempts >= MAX_ATTEMPTS:
                row.state = NotificationState.FAILED
                row.last_error = error.reason
                outcome = "failed"
            else:
                row.state = NotificationState.DECIDED
                row.last_error = error.reason
                row.next_attempt_at = now + RETRY_BACKOFF[min(row.attempts, len(RETRY_BACKOFF)) - 1]
                outcome = "retried"
        session.commit()
        return outcome


def _sweep(engine: Engine, *, now: dt.datetime) -> None:
    """Rows stuck in ``sending`` (their sender died) go back to ``decided``."""
    with Session(engine) as session:
        session.execute(
            sa.update(Notification)
            .where(
                col(Notification.state) == NotificationState.SENDING,
                col(Notification.updated_at) < now - SENDING_LEASE,
            )
            .values(state=NotificationState.DECIDED, next_attempt_at=now, updated_at=now)
        )
        session.commit()


def deliver_due(engine: Engine, *, now: dt.datetime, notifier: Notifier, context: MailContext) -> DeliveryResult:
    """Deliver every decided notification due by ``now``: one message per recipient and
    audience (and per promise for coordinators)."""
    result = DeliveryResult()
    _sweep(engine, now=now)
    with Session(engine) as session:
        due = session.exec(
            select(Notification)
            .where(col(Notification.state) == NotificationState.DECIDED, col(Notification.next_attempt_at) <= now)
            .order_by(col(Notification.id))
        ).all()
        groups: dict[tuple[str, str, str], list[Notification]] = defaultdict(list)
        for row in due:
            audience = str(row.payload.get("audience", "unit"))
            promise = str(row.payload.get("promise", "")) if audience == "coordinator" else ""
            groups[(row.recipient.casefold(), audience, promise)].append(row)
        feed_urls: dict[int, str | None] = {}
        for rows in groups.values():
            unit_id = next((r.unit_id for r in rows if r.unit_id is not None), None)
            if unit_id is not None and unit_id not in feed_urls:
                feed_urls[unit_id] = context.feed_urls(session, unit_id)
    with notifier:
        for (_recipient, audience, _promise), group in groups.items():
            ids = [r.id for r in group if r.id is not None]
            if not _claim(engine, ids, now=now):
                continue
            rows = sorted(group, key=lambda r: (_LEVEL_ORDER.get(r.level, 9), r.id or 0))
            items = _unique_items(rows)
            key = rows[0].key
            try:
                if audience == "coordinator":
                    message = compose_escalation(
                        to=rows[0].recipient, coordinator_name=_coordinator_name(engine, rows[0].recipient),
                        promise_name=str(rows[0].payload.get("promise_title", "")), items=items,
                        dashboard_url=f"{context.base_url}/oversikt", now=now, sender=context.sender, key=key,
                    )  # fmt: skip
                else:
                    unit_id = next((r.unit_id for r in rows if r.unit_id is not None), None)
                    message = compose_digest(
                        to=rows[0].recipient, unit_name=str(rows[0].payload.get("unit_name", "")), items=items,
                        feed_url=feed_urls.get(unit_id) if unit_id is not None else None,
                        dashboard_url=f"{context.base_url}/", now=now, sender=context.sender, key=key,
                        unsubscribe_url=unsubscribe_url(context, rows[0].recipient),
                    )  # fmt: skip
            except (EmailInputError, ValueError) as exc:
                error = _Permanent(f"meddelandet kunde inte skrivas: {exc}")
                _finish(engine, ids, now=now, error=error)
                result.failed += 1
                result.errors.append((rows[0].recipient, error.reason))
                log.error("reminder to %s not composed: %s", rows[0].recipient, exc)
                continue
            try:
                notifier.send(message)
            except NotifierError as exc:
                outcome = _finish(engine, ids, now=now, error=exc)
                result.errors.append((rows[0].recipient, exc.reason))
                if outcome == "failed":
                    result.failed += 1
                    log.error("reminder to %s failed for good: %s", rows[0].recipient, exc.reason)
                else:
                    result.retried += 1
                    log.warning("reminder to %s will be retried: %s", rows[0].recipient, exc.reason)
                continue
            _finish(engine, ids, now=now, error=None)
            result.sent += 1
    return result


class _Permanent(NotifierError):
    permanent = True


def _unique_items(rows: Iterable[Notification]) -> list[DigestItem]:
    """One item per quota (a quota decided at two levels the same day is listed once)."""
    seen: set[tuple[str, str, str, str]] = set()
    items: list[DigestItem] = []
    for row in rows:
        item = row.payload.get("item", {})
        quota = (
            str(row.payload.get("promise")),
            str(item.get("activity")),
            str(item.get("entity")),
            str(row.period_key),
        )
        if quota in seen:
            continue
        seen.add(quota)
        items.append(_item(row.payload))
    return items


def _coordinator_name(engine: Engine, address: str) -> str:
    with Session(engine) as session:
        user = session.exec(select(User).where(sa.func.lower(User.email) == address.casefold())).first()
        return user.name if user is not None else "samordnare"


def unsubscribe_url(context: MailContext, recipient: str) -> str:
    """The one-click unsubscribe address of ``recipient`` (signed, never expires)."""
    token = URLSafeSerializer(context.secret, salt="lofte-unsubscribe").dumps(recipient.casefold())
    return f"{context.base_url}/avregistrera/{token}"


def unsubscribe_recipient(secret: str, token: str) -> str | None:
    """The address an unsubscribe token was made for, or None if it is not genuine."""
    try:
        return str(URLSafeSerializer(secret, salt="lofte-unsubscribe").loads(token))
    except BadSignature:
        return None


# -- both ---------------------------------------------------------------------------------------------------
def run_once(
    engine: Engine,
    *,
    now: dt.datetime,
    notifier: Notifier,
    context: MailContext,
    dry_run: bool = False,
    policy: ReminderPolicy | None = None,
) -> RemindResult:
    """Decide, commit, then deliver what is due (``dry_run``: decide, roll back, send nothing)."""
    with Session(engine) as session:
        result = decide_due(session, now=now, context=context, policy=policy)
        if dry_run:
            session.rollback()
            return result
        session.commit()
    result.delivery = deliver_due(engine, now=now, notifier=notifier, context=context)
    return result

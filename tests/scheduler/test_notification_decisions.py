"""``store.decide_notifications``: every decision of a run recorded in one statement, each once.

Runs on SQLite and PostgreSQL (the ``engine`` fixture). The guarantee under test is the
unique key: a key decided before, twice in one call, or by two transactions at the same
moment, is recorded once, and no call fails because of it.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from rules.errors import NaiveDatetimeError
from scheduler.db import Notification, NotificationState, make_engine
from scheduler.store import NotificationDraft, decide_notifications, notification_key

if TYPE_CHECKING:
    from tests.scheduler.conftest import Seed

STHLM = ZoneInfo("Europe/Stockholm")
T0 = dt.datetime(2025, 3, 3, 7, 0, tzinfo=dt.UTC)
MORNING = dt.datetime(2025, 3, 4, 8, 0, tzinfo=STHLM)  # 07:00 UTC


def draft(recipient: str, period: str, *, level: str = "due", unit_id: int | None = None) -> NotificationDraft:
    key = notification_key(recipient=recipient, promise="astorp-2025", activity="mpk", period_key=period, level=level)
    return NotificationDraft(
        key=key, recipient=recipient, level=level, next_attempt_at=MORNING, unit_id=unit_id, period_key=period,
        payload={"ämne": f"Påminnelse: MPK på torget i Åstorp ({period})"},
    )  # fmt: skip


def count(session: Session) -> int:
    counted: int = session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar_one()
    return counted


def test_new_keys_are_recorded_and_known_keys_skipped(session: Session, seed: Seed) -> None:
    first = [draft("Polisen.Klippan@example.se", f"2025-{m:02}", unit_id=seed.polisen.id) for m in (3, 4, 5)]
    recorded = decide_notifications(session, first, now=T0)
    session.commit()
    assert sorted(recorded) == sorted(d.key for d in first)

    again = [*first[1:], draft("kommunen@example.se", "2025-03")]
    recorded_again = decide_notifications(session, again, now=T0 + dt.timedelta(days=1))
    session.commit()
    assert list(recorded_again) == ["kommunen@example.se|astorp-2025|mpk||2025-03|due"]
    assert count(session) == 4

    row = session.exec(select(Notification).where(Notification.key == first[0].key)).one()
    assert row.id == recorded[first[0].key]
    assert (row.recipient, row.level, row.state, row.attempts) == (
        "Polisen.Klippan@example.se", "due", NotificationState.DECIDED, 0,
    )  # fmt: skip
    assert (row.unit_id, row.period_key, row.sent_at, row.last_error) == (seed.polisen.id, "2025-03", None, None)
    assert row.next_attempt_at is not None
    assert row.next_attempt_at.isoformat() == "2025-03-04T07:00:00+00:00"
    assert (row.created_at, row.payload) == (T0, {"ämne": "Påminnelse: MPK på torget i Åstorp (2025-03)"})


def test_a_key_drafted_twice_in_one_call_is_recorded_once_from_the_first(session: Session) -> None:
    one = draft("polisen@example.se", "2025-03")
    other = NotificationDraft(key=one.key, recipient="polisen@example.se", level="due", next_attempt_at=T0)
    recorded = decide_notifications(session, [one, other], now=T0)
    session.commit()
    assert list(recorded) == [one.key]
    row = session.exec(select(Notification)).one()
    assert row.next_attempt_at == MORNING


def test_nothing_to_decide_runs_no_statement(session: Session) -> None:
    assert decide_notifications(session, [], now=T0) == {}
    assert count(session) == 0


def test_a_naive_time_is_refused_before_anything_is_written() -> None:
    naive = dt.datetime(2025, 3, 4, 8)  # noqa: DTZ001 - the mistake under test
    with pytest.raises(NaiveDatetimeError, match="next_attempt_at"):
        NotificationDraft(key="k", recipient="a@example.se", level="due", next_attempt_at=naive)


def test_two_transactions_deciding_the_same_keys_at_once_record_each_once(engine: Engine) -> None:
    """The second writer waits for the first one's transaction, then skips its keys. The
    two get the keys in opposite orders: rows are inserted in key order, so PostgreSQL's
    row locks are taken in the same order and the two cannot deadlock (3000 keys: enough
    for the two statements to overlap; inserted in the given order they deadlock)."""
    drafts = [draft(f"enhet{i:04}@example.se", "2025-03") for i in range(3000)]
    engines = [make_engine(engine.url) for _ in range(2)]
    barrier = threading.Barrier(2)
    recorded: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def instance(own: Engine, order: list[NotificationDraft]) -> None:
        try:
            with Session(own) as session:
                barrier.wait(timeout=10)
                recorded.append(decide_notifications(session, order, now=T0))
                session.commit()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [
        threading.Thread(target=instance, args=(engines[0], drafts)),
        threading.Thread(target=instance, args=(engines[1], drafts[::-1])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in engines:
        e.dispose()
    assert errors == []
    assert len(recorded) == 2
    assert sorted([*recorded[0], *recorded[1]]) == sorted(d.key for d in drafts)
    with Session(engine) as session:
        assert count(session) == 3000

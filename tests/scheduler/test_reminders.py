"""Reminder runs end to end: the examples in a real database, a real SMTP server on loopback.

Every test runs on SQLite and PostgreSQL (the ``engine`` fixture). The clock is a
parameter: 28 November 2019 at 09:00 in Stockholm, when Åstorp's autumn-term quotas
are behind and the plan for 2020 is due within days.
"""

from __future__ import annotations

import datetime as dt
import email
import threading
from collections.abc import Iterator
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from notifiers import OutboxNotifier, SmtpConfig, SmtpNotifier
from notifiers.smtp import Security
from scheduler.auth import add_user
from scheduler.completions import record
from scheduler.db import MailOptOut, Notification, NotificationState, Unit, make_engine
from scheduler.loader import load_file
from scheduler.reminders import MailContext, decide_due, run_once, unsubscribe_recipient
from tests.notifiers.conftest import Recorder, free_port

ROOT = Path(__file__).resolve().parents[2]
ASTORP = ROOT / "examples" / "astorp-2019.yaml"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
MORNING = dt.datetime(2019, 11, 28, 9, 0, tzinfo=STOCKHOLM).astimezone(dt.UTC)
CONTEXT = MailContext(base_url="https://lofte.example.se", sender="Löfte <lofte@example.se>", secret="k" * 40)
KOMMUNEN, POLISEN = "kommunen.astorp@example.se", "polisen.klippan@example.se"


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    load_file(engine, ASTORP, now=MORNING - dt.timedelta(days=400))
    return engine


class Smtp:
    def __init__(self, **options: object) -> None:
        self.recorder = Recorder(**options)  # type: ignore[arg-type]
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=free_port())
        self.controller.start()

    def notifier(self) -> SmtpNotifier:
        return SmtpNotifier(
            SmtpConfig(host="127.0.0.1", port=int(self.controller.port), security=Security.NONE, timeout=5)
        )

    def recipients(self) -> list[str]:
        return sorted(r for m in self.recorder.received for r in m.rcpt_tos)

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(m.content, policy=policy.default) for m in self.recorder.received]


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    yield server
    server.controller.stop()


def plain(message: email.message.EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def states(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(select(Notification)).all()
    out: dict[str, int] = {}
    for row in rows:
        out[row.state.value] = out.get(row.state.value, 0) + 1
    return out


def test_one_digest_per_unit_sent_once_across_reruns(loaded: Engine, smtp: Smtp) -> None:
    result = run_once(loaded, now=MORNING, notifier=smtp.notifier(), context=CONTEXT)
    assert result.delivery.sent == 2
    assert smtp.recipients() == [KOMMUNEN, POLISEN]
    decided = len(result.decided)
    assert decided >= 4
    assert states(loaded) == {"sent": decided}

    kommunen = next(m for m in smtp.messages() if KOMMUNEN in m["To"])
    body = plain(kommunen)
    assert "Informationskvällar för vårdnadshavare på Björkskolan är inte genomförd än" in body
    assert "Markera som genomförd: https://lofte.example.se/klart/" in body
    assert kommunen["List-Unsubscribe"].startswith("<https://lofte.example.se/avregistrera/")

    # A rerun the same morning, and one an hour later: nothing new, nothing twice.
    for later in (MORNING, MORNING + dt.timedelta(hours=1)):
        again = run_once(loaded, now=later, notifier=smtp.notifier(), context=CONTEXT)
        assert again.decided == []
        assert again.delivery.sent == 0
    assert len(smtp.recorder.received) == 2


def test_killed_between_deciding_and_sending_sends_exactly_once_after_restart(loaded: Engine, smtp: Smtp) -> None:
    with Session(loaded) as session:
        decided = decide_due(session, now=MORNING, context=CONTEXT)
        session.commit()  # the process dies here, before delivering
    assert states(loaded) == {"decided": len(decided.decided)}

    restarted = make_engine(loaded.url)  # a new process: a new engine on the same database
    try:
        result = run_once(restarted, now=MORNING + dt.timedelta(minutes=5), notifier=smtp.notifier(), context=CONTEXT)
        assert result.decided == []  # nothing decided twice
        assert result.delivery.sent == 2
        run_once(restarted, now=MORNING + dt.timedelta(minutes=20), notifier=smtp.notifier(), context=CONTEXT)
    finally:
        restarted.dispose()
    assert smtp.recipients() == [KOMMUNEN, POLISEN]


def test_two_instances_at_once_send_exactly_once(loaded: Engine, smtp: Smtp) -> None:
    engines = [make_engine(loaded.url) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def instance(engine: Engine) -> None:
        try:
            barrier.wait(timeout=10)
            run_once(engine, now=MORNING, notifier=smtp.notifier(), context=CONTEXT)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=instance, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in engines:
        e.dispose()
    # SQLite may refuse one writer ("database is locked"); the survivor and a rerun finish the job.
    if errors:
        assert all("locked" in str(e) for e in errors), errors
        run_once(loaded, now=MORNING, notifier=smtp.notifier(), context=CONTEXT)
    assert smtp.recipients() == [KOMMUNEN, POLISEN]
    assert states(loaded).keys() == {"sent"}


def test_a_temporary_failure_is_retried_with_backoff_then_sent_once(loaded: Engine) -> None:
    failing = Smtp(mail_reply="451 4.3.0 Try again later")
    try:
        result = run_once(loaded, now=MORNING, notifier=failing.notifier(), context=CONTEXT)
        assert result.delivery.retried == 2
        assert result.delivery.sent == 0
        with Session(loaded) as session:
            rows = session.exec(select(Notification)).all()
            assert {r.state for r in rows} == {NotificationState.DECIDED}
            assert all(r.attempts == 1 and r.last_error for r in rows)
            assert {r.next_attempt_at for r in rows} == {MORNING + dt.timedelta(minutes=5)}
        # Before the backoff has passed nothing is tried.
        early = run_once(loaded, now=MORNING + dt.timedelta(minutes=2), notifier=failing.notifier(), context=CONTEXT)
        assert early.delivery.retried == 0
        failing.recorder.mail_reply = None  # the server recovers
        later = run_once(loaded, now=MORNING + dt.timedelta(minutes=6), notifier=failing.notifier(), context=CONTEXT)
        assert later.delivery.sent == 2
        assert failing.recipients() == [KOMMUNEN, POLISEN]
    finally:
        failing.controller.stop()


def test_a_permanent_refusal_is_recorded_with_its_reason(loaded: Engine) -> None:
    refusing = Smtp(rcpt_replies={KOMMUNEN: "550 5.1.1 No such user"})
    try:
        result = run_once(loaded, now=MORNING, notifier=refusing.notifier(), context=CONTEXT)
        assert result.delivery.sent == 1
        assert result.delivery.failed == 1
        assert refusing.recipients() == [POLISEN]
        with Session(loaded) as session:
            failed = session.exec(select(Notification).where(Notification.state == NotificationState.FAILED)).all()
            assert {r.recipient for r in failed} == {KOMMUNEN}
            assert all("550" in (r.last_error or "") for r in failed)
        # A rerun does not try a failed message again.
        again = run_once(loaded, now=MORNING + dt.timedelta(hours=2), notifier=refusing.notifier(), context=CONTEXT)
        assert again.delivery.sent == again.delivery.failed == 0
    finally:
        refusing.controller.stop()


def test_at_night_decisions_wait_for_the_next_working_morning(loaded: Engine, tmp_path: Path) -> None:
    friday_night = dt.datetime(2019, 11, 29, 22, 0, tzinfo=STOCKHOLM).astimezone(dt.UTC)
    outbox = OutboxNotifier(tmp_path / "outbox")
    result = run_once(loaded, now=friday_night, notifier=outbox, context=CONTEXT)
    assert result.decided
    assert result.delivery.sent == 0
    monday = dt.datetime(2019, 12, 2, 8, 0, tzinfo=STOCKHOLM).astimezone(dt.UTC)
    assert {d["send_at"] for d in result.decided} == {monday.isoformat()}
    saturday = run_once(loaded, now=friday_night + dt.timedelta(hours=12), notifier=outbox, context=CONTEXT)
    assert saturday.delivery.sent == 0
    assert run_once(loaded, now=monday, notifier=outbox, context=CONTEXT).delivery.sent == 2
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2


def test_every_decision_is_stored_with_its_send_time_in_one_run_and_none_twice(loaded: Engine) -> None:
    friday_night = dt.datetime(2019, 11, 29, 22, 0, tzinfo=STOCKHOLM).astimezone(dt.UTC)
    with Session(loaded) as session:
        result = decide_due(session, now=friday_night, context=CONTEXT)
        session.commit()
    with Session(loaded) as session:
        rows = session.exec(select(Notification)).all()
    fields = ("recipient", "level", "activity", "entity", "period")
    lines = {tuple(d[f] for f in fields): d["send_at"] for d in result.decided}
    stored = {(r.recipient, r.level, *r.key.split("|")[2:4], r.period_key): r.next_attempt_at for r in rows}
    assert len(rows) == len(result.decided) >= 4
    assert {k: v.isoformat() for k, v in stored.items() if v is not None} == lines
    assert {r.state for r in rows} == {NotificationState.DECIDED}
    assert all(r.created_at == friday_night and r.payload["promise"] == "astorp-2019" for r in rows)
    # The same decisions a minute later, and on another instance's engine: nothing recorded again.
    other = make_engine(loaded.url)
    try:
        with Session(other) as session:
            assert decide_due(session, now=friday_night + dt.timedelta(minutes=1), context=CONTEXT).decided == []
            session.commit()
    finally:
        other.dispose()
    assert states(loaded) == {"decided": len(rows)}


def test_done_stops_reminders_and_a_unit_without_address_is_reported(loaded: Engine, smtp: Smtp) -> None:
    with Session(loaded) as session:
        for school in ("bjorkskolan", "ekskolan"):
            record(
                session, promise_slug="astorp-2019", activity_key="informationskvallar", entity_key=school,
                done_on=dt.date(2019, 11, 26), by="anna", now=MORNING,
            )  # fmt: skip
        polisen = session.exec(select(Unit).where(Unit.key == "polisen")).one()
        polisen.email = None
        session.commit()
    result = run_once(loaded, now=MORNING, notifier=smtp.notifier(), context=CONTEXT)
    assert not any(d["activity"] == "informationskvallar" for d in result.decided)
    assert any(
        "Lokalpolisområde Klippan (astorp-2019) har ingen e-postadress" in line for line in result.without_address
    )
    assert smtp.recipients() == [KOMMUNEN]


def test_coordinators_hear_critical_quotas_and_unsubscribed_addresses_hear_nothing(loaded: Engine, smtp: Smtp) -> None:
    with Session(loaded) as session:
        add_user(session, username="sara", name="Sara Samordnare", password="ett långt lösenord", now=MORNING,
                 email="sara@example.se", kommuner=["Åstorp"])  # fmt: skip
        add_user(session, username="other", name="Annan kommun", password="ett långt lösenord", now=MORNING,
                 email="other@example.se", kommuner=["Hagfors"])  # fmt: skip
        session.add(MailOptOut(recipient=POLISEN))
        session.commit()
    result = run_once(loaded, now=MORNING, notifier=smtp.notifier(), context=CONTEXT)
    assert {d["recipient"] for d in result.decided} == {KOMMUNEN, "sara@example.se"}
    assert smtp.recipients() == [KOMMUNEN, "sara@example.se"]
    escalation = next(m for m in smtp.messages() if "sara@example.se" in m["To"])
    assert "Plan för Medborgarlöftet 2020 till beslut" in plain(escalation)


def test_unsubscribe_tokens_name_their_address_and_refuse_forgeries() -> None:
    from scheduler.reminders import unsubscribe_url

    url = unsubscribe_url(CONTEXT, "Rektor@Example.se")
    token = url.rsplit("/", 1)[1]
    assert unsubscribe_recipient(CONTEXT.secret, token) == "rektor@example.se"
    assert unsubscribe_recipient("another secret " * 3, token) is None
    assert unsubscribe_recipient(CONTEXT.secret, token[:-2] + "xx") is None


def test_the_scheduler_in_lofte_serve_runs_at_start_up_and_writes_the_outbox(loaded: Engine, tmp_path: Path) -> None:
    """The APScheduler job (its store in the same database) runs once at start-up."""
    import time

    from scheduler.config import load_settings
    from scheduler.jobs import JOB_ID, start_scheduler

    settings = load_settings(environ={"LOFTE_DATA_DIR": str(tmp_path), "LOFTE_SECRET_KEY": "s" * 40})
    jobs = start_scheduler(loaded, settings, base_url="https://lofte.example.se", clock=lambda: MORNING)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list((tmp_path / "outbox").glob("*.eml"))) < 2:
            time.sleep(0.2)
        assert jobs.get_job(JOB_ID) is not None
    finally:
        jobs.shutdown(wait=True)
    messages = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(messages) == 2
    recipients = sorted(email.message_from_bytes(p.read_bytes(), policy=policy.default)["To"] for p in messages)
    assert recipients == [f"Lokalpolisområde Klippan <{POLISEN}>", f"Åstorps kommun <{KOMMUNEN}>"]
    assert set(states(loaded)) == {"sent"}


def test_the_digest_carries_the_units_feed_address(loaded: Engine, smtp: Smtp, tmp_path: Path) -> None:
    from scheduler.config import load_settings
    from scheduler.feeds import ensure_feeds
    from scheduler.jobs import mail_context

    settings = load_settings(environ={"LOFTE_DATA_DIR": str(tmp_path), "LOFTE_SECRET_KEY": "f" * 40})
    with Session(loaded) as session:
        issued = ensure_feeds(session, now=MORNING, secret=settings.secret_key)
        session.commit()
    context = mail_context(settings, "https://lofte.example.se")
    run_once(loaded, now=MORNING, notifier=smtp.notifier(), context=context)
    polisen = next(m for m in smtp.messages() if POLISEN in m["To"])
    body = plain(polisen)
    unit_feed = next(f for f in issued if f.info.name.startswith("Lokalpolisområde Klippan"))
    assert f"https://lofte.example.se/feeds/{unit_feed.token}.ics" in body


def test_lofte_remind_dry_run_shows_the_decisions_and_records_nothing(
    loaded: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from scheduler.cli import main

    url = loaded.url.render_as_string(hide_password=False)
    assert main(["remind", "--at", "2019-11-28", "--dry-run", "--url", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Påminnelser 2019-11-28 (provkörning: inget sparas eller skickas):\n")
    assert f"  {KOMMUNEN}: astorp-2019/informationskvallar (bjorkskolan), 2019-HT: påminnelse 42 dagar före\n" in out
    assert main(["remind", "--at", "2019-11-28", "--dry-run", "--json", "--url", url]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["recipient"] for d in data["decided"]} == {KOMMUNEN, POLISEN}
    assert states(loaded) == {}

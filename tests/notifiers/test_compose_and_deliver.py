"""A composed digest through a real SMTP server and through the outbox arrives intact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from notifiers import OutboxNotifier, Security, SmtpConfig, SmtpNotifier
from scheduler.emails import DigestItem, compose_digest
from scheduler.signing import sign_completion_link, verify
from tests.notifiers.conftest import Server

KEY = "nyckel-för-test-0123456789-0123456789"
NOW = dt.datetime(2025, 11, 28, 6, 30, tzinfo=dt.UTC)


def composed(to: str) -> EmailMessage:
    token = sign_completion_link(
        KEY, promise="astorp-2025", activity="info", entity="nyhem", period_key="2025-HT", recipient=to, now=NOW
    )
    item = DigestItem(
        activity="Informationskväll för vårdnadshavare",
        entity="Nyhemsskolan",
        period_label="höstterminen 2025",
        done=0,
        required=1,
        state="i fara",
        period_end=dt.date(2025, 12, 19),
        days_left=21,
        lov_days_left=7,
        planned=(dt.date(2025, 12, 3),),
        done_url=f"https://lofte.astorp.example.se/klart/{token}",
    )
    return compose_digest(
        to=to,
        unit_name="Nyhemsskolans rektor",
        items=[item],
        feed_url="https://lofte.astorp.example.se/feeds/x.ics",
        dashboard_url="https://lofte.astorp.example.se/",
        unsubscribe_url="https://lofte.astorp.example.se/avregistrera/x",
        now=NOW,
        sender="Löfte i Åstorp <lofte@astorp.example.se>",
    )


def check_arrived(raw: bytes, original: EmailMessage) -> None:
    got = message_from_bytes(raw, policy=default)
    assert isinstance(got, EmailMessage)
    assert got["Subject"] == original["Subject"]
    assert got["Message-ID"] == original["Message-ID"]
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = got.get_body(("plain",))
    assert text is not None
    link = next(line.split(": ", 1)[1] for line in text.get_content().splitlines() if "Markera som genomförd:" in line)
    claims = verify(KEY, link.rsplit("/", 1)[1], now=NOW)  # the link survived quoted-printable line folding
    assert (claims.activity, claims.recipient) == ("info", "rektor@nyhem.astorp.example.se")


def test_digest_over_smtp(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    original = composed("rektor@nyhem.astorp.example.se")
    SmtpNotifier(SmtpConfig(host="127.0.0.1", port=server.port, security=Security.NONE, timeout=5)).send(original)
    [got] = server.recorder.received
    check_arrived(got.content, original)


def test_digest_to_outbox(tmp_path: Path) -> None:
    original = composed("rektor@nyhem.astorp.example.se")
    OutboxNotifier(tmp_path).send(original)
    [path] = tmp_path.iterdir()
    check_arrived(path.read_bytes(), original)

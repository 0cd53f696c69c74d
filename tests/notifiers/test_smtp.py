"""SmtpNotifier against real aiosmtpd servers on loopback: delivery, TLS, login, refusals."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from notifiers import (
    Notifier,
    NotifierError,
    OutboxNotifier,
    PermanentFailure,
    Security,
    SmtpConfig,
    SmtpNotifier,
    TemporaryFailure,
    notifier_from_settings,
)
from scheduler.config import load_settings
from tests.notifiers.conftest import PASSWORD, USER, Server, authenticator, free_port

ServerFactory = Callable[..., Server]


def message(to: str = "kalle@nyhem.example.se", *, n: int = 1, bcc: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Löfte i Åstorp <lofte@astorp.example.se>"
    msg["To"] = to
    if bcc:
        msg["Bcc"] = bcc
    msg["Subject"] = f"Påminnelse {n}: informationskvällen på Nyhemsskolan"
    msg["Message-ID"] = f"<test-{n}@astorp.example.se>"
    msg.set_content(f"Hej! Meddelande nummer {n}, med å, ä och ö.\n", cte="quoted-printable")
    return msg


def plain(server: Server, **options: object) -> SmtpNotifier:
    return SmtpNotifier(SmtpConfig(host="127.0.0.1", port=server.port, security=Security.NONE, timeout=5, **options))


def parsed(content: bytes) -> EmailMessage:
    msg = message_from_bytes(content, policy=default)
    assert isinstance(msg, EmailMessage)
    return msg


# -- delivery and batches -------------------------------------------------------------------------
def test_delivers_one_message_with_envelope_and_utf8_subject(smtp_server: ServerFactory) -> None:
    server = smtp_server()
    plain(server).send(message())
    [got] = server.recorder.received
    assert got.mail_from == "lofte@astorp.example.se"
    assert got.rcpt_tos == ["kalle@nyhem.example.se"]
    assert got.content.isascii()  # RFC 2047 headers, quoted-printable body: no SMTPUTF8 needed
    msg = parsed(got.content)
    assert msg["Subject"] == "Påminnelse 1: informationskvällen på Nyhemsskolan"
    assert msg.get_content().splitlines() == ["Hej! Meddelande nummer 1, med å, ä och ö."]


def test_batch_reuses_one_connection(smtp_server: ServerFactory) -> None:
    server = smtp_server()
    notifier = plain(server)
    outcomes = notifier.send_many(message(f"enhet{n}@example.se", n=n) for n in range(40))
    assert [o.delivered for o in outcomes] == [True] * 40
    assert [o.message_id for o in outcomes[:2]] == ["<test-0@astorp.example.se>", "<test-1@astorp.example.se>"]
    assert notifier.connections_opened == 1
    assert {r.connection for r in server.recorder.received} == {0}
    assert [r.rcpt_tos[0] for r in server.recorder.received] == [f"enhet{n}@example.se" for n in range(40)]


def test_with_block_shares_the_connection_and_send_alone_does_not(smtp_server: ServerFactory) -> None:
    server = smtp_server()
    notifier = plain(server)
    with notifier:
        notifier.send(message(n=1))
        notifier.send(message(n=2))
    notifier.send(message(n=3))
    assert notifier.connections_opened == 2
    assert [r.connection for r in server.recorder.received] == [0, 0, 1]


def test_reconnects_when_the_server_limits_messages_per_connection(smtp_server: ServerFactory) -> None:
    server = smtp_server(per_connection=3)
    notifier = plain(server)
    outcomes = notifier.send_many(message(n=n) for n in range(7))
    assert all(o.delivered for o in outcomes)
    assert len(server.recorder.received) == 7  # each message exactly once
    assert [r.connection for r in server.recorder.received] == [0, 0, 0, 1, 1, 1, 2]
    assert notifier.connections_opened == 3


def test_bcc_is_a_recipient_but_not_a_header(smtp_server: ServerFactory) -> None:
    server = smtp_server()
    original = message(bcc="samordnare@astorp.example.se")
    plain(server).send(original)
    [got] = server.recorder.received
    assert got.rcpt_tos == ["kalle@nyhem.example.se", "samordnare@astorp.example.se"]
    assert "Bcc" not in parsed(got.content)
    assert original["Bcc"] == "samordnare@astorp.example.se"  # the caller's message is untouched


def test_message_without_recipient_is_refused_before_connecting(smtp_server: ServerFactory) -> None:
    server = smtp_server()
    msg = message()
    del msg["To"]
    with pytest.raises(PermanentFailure, match=r"saknar mottagare"):
        plain(server).send(msg)
    assert server.recorder.connections == 0


@pytest.mark.parametrize("to", ["räktor@nyhem.example.se", "rektor@nyhém.example.se"])
def test_non_ascii_address_is_permanent_and_the_batch_goes_on(smtp_server: ServerFactory, to: str) -> None:
    server = smtp_server()
    outcomes = plain(server).send_many([message(to, n=1), message(n=2)])
    assert isinstance(outcomes[0].error, PermanentFailure)
    assert "utanför ASCII" in str(outcomes[0].error)
    assert outcomes[1].delivered


# -- TLS and login --------------------------------------------------------------------------------
def test_starttls_with_login(
    smtp_server: ServerFactory, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    server = smtp_server(tls_context=server_tls, require_starttls=True, authenticator=authenticator, auth_required=True)
    notifier = SmtpNotifier(
        SmtpConfig(host="127.0.0.1", port=server.port, user=USER, password=PASSWORD, ssl_context=client_tls, timeout=5)
    )
    assert notifier.config.security is Security.STARTTLS
    notifier.send(message())
    [got] = server.recorder.received
    assert got.authenticated
    assert got.tls


def test_wrong_password_is_a_temporary_failure_of_the_channel(
    smtp_server: ServerFactory, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    server = smtp_server(tls_context=server_tls, require_starttls=True, authenticator=authenticator, auth_required=True)
    notifier = SmtpNotifier(
        SmtpConfig(host="127.0.0.1", port=server.port, user=USER, password="fel", ssl_context=client_tls, timeout=5)
    )
    outcomes = notifier.send_many([message(n=1), message(n=2)])
    errors = [o.error for o in outcomes]
    assert all(isinstance(e, TemporaryFailure) and e.affects_all for e in errors)
    assert errors[0] is errors[1]  # the second was not tried against a channel known to be broken
    assert "godtog inte inloggningen för 'lofte'" in str(errors[0])
    assert "LOFTE_SMTP_PASSWORD" in str(errors[0])
    assert server.recorder.received == []


def test_untrusted_certificate_is_refused(smtp_server: ServerFactory, server_tls: ssl.SSLContext) -> None:
    server = smtp_server(tls_context=server_tls, require_starttls=True)
    notifier = SmtpNotifier(SmtpConfig(host="127.0.0.1", port=server.port, timeout=5))  # system trust store
    with pytest.raises(TemporaryFailure, match=r"certifikat som inte kan verifieras") as info:
        notifier.send(message())
    assert info.value.affects_all
    assert server.recorder.received == []


def test_starttls_required_but_not_offered(smtp_server: ServerFactory) -> None:
    server = smtp_server()  # no tls_context: the server does not offer STARTTLS
    notifier = SmtpNotifier(SmtpConfig(host="127.0.0.1", port=server.port, timeout=5))
    with pytest.raises(TemporaryFailure, match=r"erbjuder inte STARTTLS; sätt LOFTE_SMTP_SECURITY"):
        notifier.send(message())
    assert server.recorder.received == []


def test_implicit_tls(smtp_server: ServerFactory, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    server = smtp_server(ssl_context=server_tls)
    notifier = SmtpNotifier(
        SmtpConfig(host="127.0.0.1", port=server.port, security=Security.TLS, ssl_context=client_tls, timeout=5)
    )
    notifier.send_many([message(n=1), message(n=2)])
    assert [r.tls for r in server.recorder.received] == [True, True]
    assert notifier.connections_opened == 1


# -- refusals ---------------------------------------------------------------------------------------
def test_451_on_data_is_temporary(smtp_server: ServerFactory) -> None:
    server = smtp_server(data_reply="451 4.3.0 Greylisted, try again later")
    with pytest.raises(TemporaryFailure, match=r"tog inte emot meddelandet: 451 4\.3\.0 Greylisted") as info:
        plain(server).send(message())
    assert not info.value.affects_all
    assert not info.value.permanent


def test_451_on_recipient_is_temporary(smtp_server: ServerFactory) -> None:
    server = smtp_server(rcpt_replies={"kalle@nyhem.example.se": "451 4.2.0 Mailbox busy"})
    with pytest.raises(TemporaryFailure, match=r"mottagaren avvisades \(kalle@nyhem\.example\.se: 451"):
        plain(server).send(message())


def test_550_on_recipient_is_permanent_and_the_batch_goes_on(smtp_server: ServerFactory) -> None:
    server = smtp_server(rcpt_replies={"finns.inte@example.se": "550 5.1.1 No such user"})
    outcomes = plain(server).send_many([message("finns.inte@example.se", n=1), message(n=2)])
    error = outcomes[0].error
    assert isinstance(error, PermanentFailure)
    assert error.permanent
    assert str(error) == (
        f"SMTP-servern 127.0.0.1:{server.port}: mottagaren avvisades (finns.inte@example.se: 550 5.1.1 No such user)."
    )
    assert outcomes[1].delivered
    assert [r.rcpt_tos for r in server.recorder.received] == [["kalle@nyhem.example.se"]]


def test_partial_refusal_names_the_refused_recipient(smtp_server: ServerFactory) -> None:
    server = smtp_server(rcpt_replies={"finns.inte@example.se": "550 5.1.1 No such user"})
    msg = message()
    msg.replace_header("To", "kalle@nyhem.example.se, finns.inte@example.se")
    with pytest.raises(PermanentFailure, match=r"gick till övriga mottagare, men mottagaren avvisades \(finns\.inte"):
        plain(server).send(msg)
    assert [r.rcpt_tos for r in server.recorder.received] == [["kalle@nyhem.example.se"]]


def test_554_on_data_is_permanent(smtp_server: ServerFactory) -> None:
    server = smtp_server(data_reply="554 5.6.0 Message content rejected")
    with pytest.raises(PermanentFailure, match=r"554 5\.6\.0 Message content rejected"):
        plain(server).send(message())


def test_refused_sender_stops_the_batch(smtp_server: ServerFactory) -> None:
    server = smtp_server(mail_reply="550 5.7.1 Sender not allowed")
    outcomes = plain(server).send_many(message(n=n) for n in range(3))
    errors = [o.error for o in outcomes]
    assert all(isinstance(e, TemporaryFailure) for e in errors)
    assert "godtog inte avsändaren lofte@astorp.example.se: 550 5.7.1 Sender not allowed" in str(errors[0])
    assert "LOFTE_MAIL_FROM" in str(errors[0])
    assert errors[1] is errors[0]


# -- a server that is not there ---------------------------------------------------------------------
def test_server_down_is_temporary_and_fails_a_batch_fast() -> None:
    notifier = SmtpNotifier(SmtpConfig(host="127.0.0.1", port=free_port(), security=Security.NONE, timeout=5))
    start = time.monotonic()
    outcomes = notifier.send_many(message(n=n) for n in range(200))
    assert time.monotonic() - start < 2
    first = outcomes[0].error
    assert isinstance(first, TemporaryFailure)
    assert str(first).endswith("tar inte emot anslutningar (anslutningen nekades).")
    assert all(o.error is first for o in outcomes)


def test_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = silent.getsockname()[1]
        notifier = SmtpNotifier(SmtpConfig(host="127.0.0.1", port=port, security=Security.NONE, timeout=0.3))
        start = time.monotonic()
        with pytest.raises(TemporaryFailure, match=r"svarade inte inom 0\.3 sekunder") as info:
            notifier.send(message())
        assert 0.25 < time.monotonic() - start < 3
    assert info.value.affects_all


def test_unknown_host_is_temporary() -> None:
    notifier = SmtpNotifier(SmtpConfig(host="smtp.invalid", port=25, security=Security.NONE, timeout=2))
    with pytest.raises(TemporaryFailure, match=r"smtp\.invalid") as info:
        notifier.send(message())
    assert isinstance(info.value, NotifierError)


# -- configuration ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"host": ""}, "is not a host name"),
        ({"host": "smtp.example.se", "port": 0}, "outside 1–65535"),
        ({"host": "smtp.example.se", "timeout": 0}, "must be positive"),
        ({"host": "smtp.example.se", "user": "lofte"}, "without a password"),
    ],
)
def test_smtp_config_validation(options: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        SmtpConfig(**options)  # type: ignore[arg-type]


def test_notifier_from_settings(tmp_path: object) -> None:
    outbox = notifier_from_settings(load_settings(environ={"LOFTE_DATA_DIR": str(tmp_path)}))
    assert isinstance(outbox, OutboxNotifier)
    assert isinstance(outbox, Notifier)
    assert str(outbox.directory) == f"{tmp_path}/outbox"
    smtp = notifier_from_settings(
        load_settings(
            environ={
                "LOFTE_SMTP_HOST": "smtp.kommun.se",
                "LOFTE_SMTP_SECURITY": "tls",
                "LOFTE_SMTP_USER": "lofte",
                "LOFTE_SMTP_PASSWORD": "hemligt",
                "LOFTE_SMTP_TIMEOUT": "12.5",
                "LOFTE_MAIL_FROM": "Löfte <lofte@kommun.se>",
            }
        )
    )
    assert isinstance(smtp, SmtpNotifier)
    assert isinstance(smtp, Notifier)
    assert smtp.config == SmtpConfig(
        host="smtp.kommun.se",
        port=465,
        security=Security.TLS,
        user="lofte",
        password="hemligt",
        timeout=12.5,
    )
    assert "hemligt" not in repr(smtp.config)

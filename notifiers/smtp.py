"""Email over SMTP: STARTTLS or implicit TLS, login, timeouts, one connection per batch.

>>> config = SmtpConfig(host="smtp.example.se", security=Security.TLS)
>>> (config.port, config.timeout)
(465, 30.0)
>>> SmtpConfig(host="smtp.example.se", user="lofte")
Traceback (most recent call last):
...
ValueError: SMTP user 'lofte' is set without a password

Connecting: ``security`` is ``starttls`` (port 587: plain connect, then ``STARTTLS``,
refused if the server does not offer it), ``tls`` (port 465: TLS from the first byte)
or ``none`` (port 25, a relay on a trusted network; no login is sent in the clear
unless the server offers AUTH there). Certificates are verified with
``ssl.create_default_context()`` unless a ``ssl_context`` is given (tests pass one
that trusts their self-signed certificate).

Sending: the envelope sender is the ``From`` address, the recipients are ``To``, ``Cc``
and ``Bcc`` (``Bcc`` is stripped from what is sent). The transaction is written out
(``MAIL``, ``RCPT``, ``DATA``) rather than left to ``smtplib.sendmail`` so each reply
maps to the right failure (``notifiers.base``), and so a connection the server has
closed between two messages of a batch (idle timeout, a per-connection message limit,
``421``) is reopened and the message retried once, which is safe because it fails
before any of the message was sent.

Delivery is at least once: if the connection breaks after the message was sent but
before the server's ``250``, the message may have been delivered and is reported as a
``TemporaryFailure``; a retry may deliver it twice, as with any SMTP client.
"""

from __future__ import annotations

import base64
import copy
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from enum import StrEnum
from types import TracebackType
from typing import Self

from notifiers.base import BaseNotifier, NotifierError, PermanentFailure, TemporaryFailure, wire_bytes

__all__ = ["DEFAULT_PORTS", "Security", "SmtpConfig", "SmtpNotifier"]


class Security(StrEnum):
    """How the connection is protected (``LOFTE_SMTP_SECURITY``)."""

    STARTTLS = "starttls"  #: plain connect, then upgrade with STARTTLS (required)
    TLS = "tls"  #: implicit TLS from the first byte ("SMTPS")
    NONE = "none"  #: no encryption: only for a relay on a trusted network


#: The port each security mode uses when none is given.
DEFAULT_PORTS = {Security.STARTTLS: 587, Security.TLS: 465, Security.NONE: 25}


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpConfig:
    """Where and how to connect; validated on construction, unchanged for the notifier's life."""

    host: str
    #: None: the default port of ``security`` (``DEFAULT_PORTS``)
    port: int | None = None
    security: Security = Security.STARTTLS
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    #: seconds for connecting and for each reply
    timeout: float = 30.0
    #: trust store and TLS settings; None means ``ssl.create_default_context()``
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    #: the name sent in EHLO; None lets smtplib use the machine's fully qualified name
    local_hostname: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "security", Security(self.security))
        if self.port is None:
            object.__setattr__(self, "port", DEFAULT_PORTS[self.security])
        if not self.host or any(c.isspace() for c in self.host):
            raise ValueError(f"SMTP host {self.host!r} is not a host name")
        if not 0 < int(self.port or 0) < 65536:
            raise ValueError(f"SMTP port {self.port} is outside 1–65535")
        if self.timeout <= 0:
            raise ValueError(f"SMTP timeout {self.timeout} must be positive")
        if self.user and self.password is None:
            raise ValueError(f"SMTP user {self.user!r} is set without a password")

    @property
    def address(self) -> str:
        """``host:port``, as the failure reasons name the server."""
        return f"{self.host}:{self.port}"


class SmtpNotifier(BaseNotifier):
    """Deliver messages to an SMTP server. Inside ``with notifier:`` one connection is reused.

    ``send`` outside a ``with`` block opens a connection, sends and closes it. Not
    thread-safe (an SMTP connection is a conversation): use one notifier per thread.
    """

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._conn: smtplib.SMTP | None = None
        self._depth = 0
        self._context: ssl.SSLContext | None = None
        #: connections opened so far (a batch of any size should need one)
        self.connections_opened = 0

    def __repr__(self) -> str:
        return f"SmtpNotifier({self.config.address}, {self.config.security})"

    # -- connection ----------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._depth += 1
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._close(polite=True)

    def _close(self, *, polite: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if polite:
                conn.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            conn.close()

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        context = self._ssl_context() if cfg.security is not Security.NONE else None
        with self._translating(stage="connect"):
            conn: smtplib.SMTP
            if cfg.security is Security.TLS:
                conn = smtplib.SMTP_SSL(
                    cfg.host, cfg.port or 0, local_hostname=cfg.local_hostname, timeout=cfg.timeout, context=context
                )
            else:
                conn = smtplib.SMTP(cfg.host, cfg.port or 0, local_hostname=cfg.local_hostname, timeout=cfg.timeout)
            try:
                conn.ehlo()
                if cfg.security is Security.STARTTLS:
                    if not conn.has_extn("starttls"):
                        raise TemporaryFailure(
                            f"SMTP-servern {cfg.address} erbjuder inte STARTTLS; sätt LOFTE_SMTP_SECURITY "
                            "till tls (port 465) eller, bara i ett betrott nät, none.",
                            affects_all=True,
                        )
                    conn.starttls(context=context)
                    conn.ehlo()
                if cfg.user:
                    if not conn.has_extn("auth"):
                        raise TemporaryFailure(
                            f"SMTP-servern {cfg.address} erbjuder ingen inloggning (AUTH) på den här "
                            "förbindelsen; kontrollera LOFTE_SMTP_SECURITY och LOFTE_SMTP_USER.",
                            affects_all=True,
                        )
                    _login(conn, cfg.user, cfg.password or "")
            except BaseException:
                conn.close()
                raise
        self.connections_opened += 1
        return conn

    def _ssl_context(self) -> ssl.SSLContext:
        # Loading the system trust store takes tens of milliseconds: once per notifier.
        if self._context is None:
            self._context = self.config.ssl_context or ssl.create_default_context()
        return self._context

    @contextmanager
    def _translating(self, *, stage: str) -> Iterator[None]:
        """Turn smtplib/socket/ssl exceptions into ``NotifierError`` with a Swedish reason."""
        cfg = self.config
        where = f"SMTP-servern {cfg.address}"
        try:
            yield
        except NotifierError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure(
                f"{where} godtog inte inloggningen för {cfg.user!r}: {_reply(exc.smtp_code, exc.smtp_error)}; "
                "kontrollera LOFTE_SMTP_USER och LOFTE_SMTP_PASSWORD.",
                affects_all=True,
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise TemporaryFailure(f"{where} stöder inte det som krävs: {exc}.", affects_all=True) from exc
        except smtplib.SMTPServerDisconnected as exc:
            if isinstance(exc.__context__, TimeoutError):  # smtplib wraps a read timeout
                raise TemporaryFailure(
                    f"{where} svarade inte inom {cfg.timeout:g} sekunder.", affects_all=True
                ) from exc
            raise TemporaryFailure(f"{where} stängde förbindelsen oväntat.", affects_all=True) from exc
        except smtplib.SMTPResponseException as exc:  # greeting, EHLO or STARTTLS refused
            raise TemporaryFailure(
                f"{where} vägrade ta emot e-post ({stage}): {_reply(exc.smtp_code, exc.smtp_error)}.",
                affects_all=True,
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise TemporaryFailure(
                f"{where} har ett certifikat som inte kan verifieras: {exc.verify_message or exc.reason}.",
                affects_all=True,
            ) from exc
        except ssl.SSLError as exc:
            raise TemporaryFailure(
                f"TLS-förhandlingen med {where} misslyckades: {exc.reason or exc}; kontrollera LOFTE_SMTP_SECURITY.",
                affects_all=True,
            ) from exc
        except ConnectionRefusedError as exc:
            raise TemporaryFailure(
                f"{where} tar inte emot anslutningar (anslutningen nekades).", affects_all=True
            ) from exc
        except TimeoutError as exc:
            raise TemporaryFailure(f"{where} svarade inte inom {cfg.timeout:g} sekunder.", affects_all=True) from exc
        except socket.gaierror as exc:
            raise TemporaryFailure(
                f"SMTP-servern {cfg.host} hittades inte (namnuppslagningen misslyckades: {exc.strerror}).",
                affects_all=True,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"Kunde inte nå {where}: {exc}.", affects_all=True) from exc

    # -- sending -------------------------------------------------------------------------------
    def send(self, message: EmailMessage) -> None:
        """Deliver one message; see the module docstring for how replies map to failures."""
        sender, recipients = _envelope(message)
        payload = _flatten(message)
        with self:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = self._connect()
                try:
                    with self._translating(stage="send"):
                        self._transaction(self._conn, sender, recipients, payload)
                    return
                except _StaleConnection:
                    self._close(polite=False)
                    if attempt == 2:
                        raise TemporaryFailure(
                            f"SMTP-servern {self.config.address} stängde förbindelsen innan meddelandet kunde skickas.",
                            affects_all=True,
                        ) from None
                except NotifierError as exc:
                    if exc.affects_all:  # the connection is in an unknown state
                        self._close(polite=False)
                    raise

    def _transaction(self, conn: smtplib.SMTP, sender: str, recipients: list[str], payload: bytes) -> None:
        where = f"SMTP-servern {self.config.address}"
        try:
            code, text = conn.mail(sender)
        except smtplib.SMTPServerDisconnected:
            raise _StaleConnection from None
        if code == 421:
            raise _StaleConnection
        if code != 250:
            _rset(conn)
            # Every message has this sender, so the channel is unusable until the setting changes.
            raise TemporaryFailure(
                f"{where} godtog inte avsändaren {sender}: {_reply(code, text)}; kontrollera LOFTE_MAIL_FROM.",
                affects_all=True,
            )
        refused: dict[str, tuple[int, bytes]] = {}
        for rcpt in recipients:
            code, text = conn.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = (code, text)
        if len(refused) == len(recipients):
            _rset(conn)
            raise _refusal(where, refused)
        reply: bytes | str
        try:
            code, reply = conn.data(payload)
        except smtplib.SMTPDataError as exc:  # DATA itself refused, before the content
            code, reply = exc.smtp_code, exc.smtp_error
        if code != 250:
            _rset(conn)
            raise _failure(code, f"{where} tog inte emot meddelandet: {_reply(code, reply)}.")
        if refused:  # delivered to the others; report the refused ones
            raise _refusal(where, refused, partial=True)


class _StaleConnection(Exception):
    """The server closed a reused connection before this message's transaction began."""


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """Log in; UTF-8 credentials (RFC 4616 PLAIN) where smtplib would only take ASCII.

    ``smtplib.SMTP.login`` encodes the credentials as ASCII, so a Swedish password
    ("hemligt-lösenord") would fail with a UnicodeEncodeError before reaching the server.
    """
    if (user + password).isascii():
        conn.login(user, password)
        return
    mechanisms = (conn.esmtp_features.get("auth") or "").upper().split()
    if "PLAIN" not in mechanisms:
        raise TemporaryFailure(
            f"Användarnamnet eller lösenordet för SMTP innehåller tecken utanför ASCII, och servern "
            f"erbjuder inte AUTH PLAIN (bara {', '.join(mechanisms) or 'inget'}); byt till ett lösenord med bara "
            "ASCII-tecken.",
            affects_all=True,
        )
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode("ascii")
    code, text = conn.docmd("AUTH", f"PLAIN {token}")
    if code == 334:  # the server wants the credentials after the command, not with it
        code, text = conn.docmd(token)
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, text)


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


def _failure(code: int, reason: str) -> NotifierError:
    return PermanentFailure(reason) if 500 <= code < 600 else TemporaryFailure(reason)


def _refusal(where: str, refused: dict[str, tuple[int, bytes]], *, partial: bool = False) -> NotifierError:
    details = "; ".join(f"{addr}: {_reply(code, text)}" for addr, (code, text) in refused.items())
    lead = "meddelandet gick till övriga mottagare, men " if partial else ""
    reason = f"{where}: {lead}mottagaren avvisades ({details})."
    permanent = all(500 <= code < 600 for code, _ in refused.values())
    return PermanentFailure(reason) if permanent else TemporaryFailure(reason)


def _rset(conn: smtplib.SMTP) -> None:
    with suppress(smtplib.SMTPException, OSError):
        conn.rset()


def _addresses(message: EmailMessage, name: str) -> list[str]:
    addresses: list[str] = []
    for header in message.get_all(name, []):
        for address in getattr(header, "addresses", ()):
            if not isinstance(address, Address) or not address.addr_spec or "@" not in address.addr_spec:
                raise PermanentFailure(f"Meddelandet har en ogiltig adress i {name}: {str(header)!r}.")
            if not address.addr_spec.isascii():  # would need SMTPUTF8, which Löfte does not use
                raise PermanentFailure(
                    f"Adressen {address.addr_spec} i {name} har tecken utanför ASCII; skriv domänen i "
                    "IDNA-form (xn--...) och en adress utan å, ä och ö före @."
                )
            addresses.append(address.addr_spec)
    return addresses


def _envelope(message: EmailMessage) -> tuple[str, list[str]]:
    senders = _addresses(message, "Sender") or _addresses(message, "From")
    if len(senders) != 1:
        raise PermanentFailure("Meddelandet saknar en entydig avsändare (From).")
    recipients = [a for name in ("To", "Cc", "Bcc") for a in _addresses(message, name)]
    if not recipients:
        raise PermanentFailure("Meddelandet saknar mottagare (To).")
    return senders[0], list(dict.fromkeys(recipients))


def _flatten(message: EmailMessage) -> bytes:
    if "Bcc" in message:
        message = copy.copy(message)
        del message["Bcc"]
    return wire_bytes(message)

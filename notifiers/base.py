"""The delivery interface every channel implements, and the two ways delivery fails.

A notifier takes a finished ``email.message.EmailMessage`` (written by
``scheduler.emails``) and delivers it, or raises one of::

    NotifierError                   (Exception; .reason is Swedish, .permanent says retry or not)
     ├── TemporaryFailure           retry later: 4xx replies, refused or dropped connections,
     │                              timeouts, a full disk; .affects_all: the channel itself
     │                              is unusable (server down, login refused, TLS broken), so
     │                              every other message would fail the same way
     └── PermanentFailure           this message will never go: a 5xx reply to its sender,
                                    recipient or content (healthchecks' TransportError)

Notifiers never touch the database (style.md §5): the shell records the outcome of
each delivery, retries a ``TemporaryFailure`` with backoff, and records a
``PermanentFailure`` as failed and shows it on the dashboard.

Why a rejected login is temporary: a wrong password or a missing STARTTLS is a fault of
the configuration, not of the message. Calling it permanent would mark every pending
reminder as failed for good; as a temporary failure with ``affects_all`` the reminders
wait until an administrator fixes the settings, and the reason tells them what to fix.

Batches
-------
``send_many(messages)`` delivers a batch over one connection (``SmtpNotifier``) and
returns one ``Outcome`` per message, in order, instead of raising: a refused recipient
does not stop the others. When a failure ``affects_all``, the rest of the batch is
not tried and gets that same failure, so a server that is down costs one timeout, not
a thousand. A notifier is also a context manager: inside ``with notifier:`` repeated
``send`` calls share one connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

__all__ = [
    "BaseNotifier",
    "Notifier",
    "NotifierError",
    "Outcome",
    "PermanentFailure",
    "TemporaryFailure",
    "wire_bytes",
]


class NotifierError(Exception):
    """Delivery failed; ``reason`` is a Swedish sentence fit for the dashboard and the log.

    Catch the subclasses: ``TemporaryFailure`` (try again later) and ``PermanentFailure``
    (do not try again).
    """

    permanent: bool = False

    def __init__(self, reason: str, *, affects_all: bool = False) -> None:
        self.reason = reason
        #: the channel itself failed (not this message): the rest of a batch fails too
        self.affects_all = affects_all
        super().__init__(reason)


class TemporaryFailure(NotifierError):
    """Try again later: a 4xx reply, a refused or dropped connection, a timeout, a full disk."""

    permanent = False


class PermanentFailure(NotifierError):
    """This message will never be delivered as it is: a 5xx reply to it or its recipient."""

    permanent = True


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one message of a batch: ``error`` is None when it was delivered."""

    message_id: str | None
    error: NotifierError | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None


@runtime_checkable
class Notifier(Protocol):
    """A delivery channel. ``send`` returns None on success and raises ``NotifierError``."""

    def send(self, message: EmailMessage) -> None:
        """Deliver one message, or raise ``TemporaryFailure`` / ``PermanentFailure``."""
        ...

    def send_many(self, messages: Iterable[EmailMessage]) -> list[Outcome]:
        """Deliver a batch (one connection where the channel has one); one ``Outcome`` each."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class BaseNotifier:
    """``send_many`` and a no-op context manager on top of a subclass's ``send``."""

    def send(self, message: EmailMessage) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def send_many(self, messages: Iterable[EmailMessage]) -> list[Outcome]:
        """Send each message in order inside one ``with self:``; never raises ``NotifierError``."""
        outcomes: list[Outcome] = []
        channel_down: NotifierError | None = None
        with self:
            for message in messages:
                message_id = message.get("Message-ID")
                if channel_down is not None:
                    outcomes.append(Outcome(message_id, channel_down))
                    continue
                try:
                    self.send(message)
                except NotifierError as exc:
                    outcomes.append(Outcome(message_id, exc))
                    if exc.affects_all:
                        channel_down = exc
                else:
                    outcomes.append(Outcome(message_id))
        return outcomes


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as sent over SMTP: CRLF line ends, non-ASCII headers as RFC 2047 words.

    Raises ``PermanentFailure`` when the message cannot be written (a header the
    standard library cannot encode, say).
    """
    try:
        return message.as_bytes(policy=SMTP)
    except (UnicodeError, ValueError, TypeError) as exc:
        raise PermanentFailure(f"Meddelandet kan inte skrivas ut som e-post: {exc}.") from exc

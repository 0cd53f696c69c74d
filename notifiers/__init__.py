"""Delivery channels behind one small interface (SMTP email; a file outbox by default).

``notifier_from_settings(settings)`` picks the channel: ``SmtpNotifier`` when
``LOFTE_SMTP_HOST`` is set, else ``OutboxNotifier`` writing ``.eml`` files to
``LOFTE_OUTBOX_DIR`` (default ``DATA_DIR/outbox``). Messages are composed by
``scheduler.emails``; how delivery fails is described in ``notifiers.base``.

>>> from scheduler.config import load_settings
>>> notifier_from_settings(load_settings(environ={"LOFTE_DATA_DIR": "/srv/lofte"}))
OutboxNotifier('/srv/lofte/outbox')
>>> notifier_from_settings(load_settings(environ={
...     "LOFTE_SMTP_HOST": "smtp.kommun.se", "LOFTE_MAIL_FROM": "Löfte <lofte@kommun.se>"}))
SmtpNotifier(smtp.kommun.se:587, starttls)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifiers.base import (
    BaseNotifier,
    Notifier,
    NotifierError,
    Outcome,
    PermanentFailure,
    TemporaryFailure,
    wire_bytes,
)
from notifiers.outbox import OutboxNotifier
from notifiers.smtp import Security, SmtpConfig, SmtpNotifier

if TYPE_CHECKING:
    from scheduler.config import Settings

__all__ = [
    "BaseNotifier",
    "Notifier",
    "NotifierError",
    "OutboxNotifier",
    "Outcome",
    "PermanentFailure",
    "Security",
    "SmtpConfig",
    "SmtpNotifier",
    "TemporaryFailure",
    "notifier_from_settings",
    "wire_bytes",
]


def notifier_from_settings(settings: Settings) -> SmtpNotifier | OutboxNotifier:
    """The channel the settings ask for: SMTP if a host is configured, else the file outbox."""
    smtp = settings.smtp
    if smtp is None:
        return OutboxNotifier(settings.outbox_dir)
    return SmtpNotifier(
        SmtpConfig(
            host=smtp.host,
            port=smtp.port,
            security=Security(smtp.security),
            user=smtp.user,
            password=smtp.password,
            timeout=smtp.timeout,
        )
    )

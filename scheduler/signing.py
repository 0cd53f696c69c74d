"""Signed, expiring tokens for one-click "Markera som genomförd" links in emails.

A reminder lists each quota at risk with a link such as
``{LOFTE_BASE_URL}/klart/{token}``. The token carries what the click means (promise,
activity, entity, period) and who it was sent to, signed with HMAC-SHA256 under the
secret key (``Settings.secret_key``), so nobody can forge a link for another activity
or stretch its life.

Intended use by the web route (built separately)
-------------------------------------------------
1. ``GET /klart/{token}``: ``verify(secret, token, now=clock.now())``; on success show a
   confirmation page ("Markera Informationskväll på Nyhemsskolan, höstterminen 2025
   som genomförd?") with a form that POSTs the same token, a date (default today) and
   an optional note. A GET never records anything: mail scanners and link previews
   follow links.
2. ``POST /klart/{token}``: verify again (the link may have expired in between), then
   record the completion with ``recorded_by = claims.recipient`` (via the link) in one
   transaction. A second POST (double click, or two people with the same email) finds
   the completion already there and shows "redan markerad" instead of storing twice.
3. ``LinkExpired`` / ``LinkInvalid`` render their Swedish ``message`` on the page
   (status 410 / 400) with a pointer to the dashboard; never a traceback.

Tokens are not secret from their recipient and not single-use: the database decides
whether a completion already exists. They are signed, not encrypted; the payload
(keys, never names or notes) is readable by whoever holds the link.

Keys can be rotated: pass a list of secrets, oldest first; tokens are signed with the
last and verified with any of them (itsdangerous' key rotation).

>>> import datetime as dt
>>> now = dt.datetime(2025, 11, 3, 7, 0, tzinfo=dt.UTC)
>>> key = "k" * 40
>>> token = sign_completion_link(key, promise="astorp-2019", activity="info-kvall",
...     entity="nyhemsskolan", period_key="2025-HT", recipient="kalle@astorp.se", now=now)
>>> claims = verify(key, token, now=now + dt.timedelta(days=3))
>>> (claims.activity, claims.entity, claims.period_key, claims.expires_at.date().isoformat())
('info-kvall', 'nyhemsskolan', '2025-HT', '2026-01-02')
>>> verify(key, token, now=now + dt.timedelta(days=61))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
scheduler.signing.LinkExpired: Länken gick ut den 2 januari 2026. Öppna Löfte och markera ...
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from itsdangerous import BadSignature, URLSafeSerializer

from rules.errors import NaiveDatetimeError

__all__ = [
    "DEFAULT_EXPIRES_DAYS",
    "LinkClaims",
    "LinkError",
    "LinkExpired",
    "LinkInvalid",
    "sign_completion_link",
    "verify",
]

#: How long a link works: long enough for a term's reminders, short enough that an old
#: forwarded email stops working. The reminder policy may pass its own (period end + grace).
DEFAULT_EXPIRES_DAYS = 60
#: Separates these tokens from any other use of the same secret (sessions, CSRF).
SALT = "lofte.completion-link.v1"


class LinkError(ValueError):
    """A link cannot be used; ``message`` is the Swedish text for the page."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class LinkInvalid(LinkError):
    """The token is malformed, was altered, or was signed with another key."""

    def __init__(self) -> None:
        super().__init__(
            "Länken är ogiltig: den kan ha kopierats ofullständigt eller ändrats. "
            "Öppna Löfte och markera aktiviteten där."
        )


class LinkExpired(LinkError):
    """The token is genuine but its time is up (``expires_at``)."""

    def __init__(self, expires_at: dt.datetime) -> None:
        self.expires_at = expires_at
        day = format_date(expires_at.astimezone(_STOCKHOLM).date(), format="long", locale="sv_SE")
        super().__init__(
            f"Länken gick ut den {day}. Öppna Löfte och markera aktiviteten där, eller vänta på nästa påminnelse."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkClaims:
    """What a verified link says: which quota to mark done, and to whom the link was sent."""

    promise: str
    activity: str
    #: None for an activity without entities
    entity: str | None
    period_key: str
    recipient: str
    issued_at: dt.datetime
    expires_at: dt.datetime


#: Expiry dates are shown in Swedish local time.
_STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _serializer(secret: str | Sequence[str]) -> URLSafeSerializer:
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets or any(len(s) < 16 for s in secrets):
        raise ValueError("a signing secret must be at least 16 characters")
    return URLSafeSerializer(secrets, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})


def _aware(name: str, value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(name)
    return value.astimezone(dt.UTC)


def sign_completion_link(
    secret: str | Sequence[str],
    *,
    promise: str,
    activity: str,
    entity: str | None,
    period_key: str,
    recipient: str,
    now: dt.datetime,
    expires_days: int = DEFAULT_EXPIRES_DAYS,
) -> str:
    """A URL-safe token for "mark this activity × entity × period done", valid ``expires_days``.

    Identify rows by their natural keys (promise slug, activity and entity keys, period
    key), which survive ``lofte load``. ``now`` is the shell's clock.
    """
    issued = _aware("now", now).replace(microsecond=0)
    if expires_days < 1:
        raise ValueError(f"expires_days must be at least 1, not {expires_days}")
    for name, value in (("promise", promise), ("activity", activity), ("period_key", period_key)):
        if not value:
            raise ValueError(f"{name} must not be empty")
    if "@" not in recipient:
        raise ValueError(f"recipient {recipient!r} is not an email address")
    expires = issued + dt.timedelta(days=expires_days)
    payload = {
        "p": promise,
        "a": activity,
        "e": entity,
        "k": period_key,
        "r": recipient,
        "i": int(issued.timestamp()),
        "x": int(expires.timestamp()),
    }
    return str(_serializer(secret).dumps(payload))


def verify(secret: str | Sequence[str], token: str, *, now: dt.datetime) -> LinkClaims:
    """The claims of ``token``; raise ``LinkInvalid`` (forged, altered) or ``LinkExpired``.

    The signature is checked before the expiry, so an altered expiry is ``LinkInvalid``.
    """
    current = _aware("now", now)
    try:
        payload: Any = _serializer(secret).loads(token)
    except BadSignature:
        raise LinkInvalid from None
    try:
        claims = LinkClaims(
            promise=str(payload["p"]),
            activity=str(payload["a"]),
            entity=None if payload["e"] is None else str(payload["e"]),
            period_key=str(payload["k"]),
            recipient=str(payload["r"]),
            issued_at=dt.datetime.fromtimestamp(int(payload["i"]), dt.UTC),
            expires_at=dt.datetime.fromtimestamp(int(payload["x"]), dt.UTC),
        )
    except (KeyError, TypeError, ValueError, OverflowError):  # signed by us, but not a link token
        raise LinkInvalid from None
    if current >= claims.expires_at:
        raise LinkExpired(claims.expires_at)
    return claims

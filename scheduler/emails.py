"""Compose reminder emails: a digest to a responsible unit, an escalation to the coordinator.

The reminder policy decides *who* hears about *which* quotas; this module only writes
the message, from a typed context, so the policy never touches a template. Delivery
is ``notifiers`` (SMTP or the file outbox).

Each message is rendered from a template triplet in ``templates/email/``
(``NAME-subject.txt``, ``NAME-body.txt``, ``NAME-body.html``; healthchecks'
``make_message``): Jinja2 with ``StrictUndefined`` (a missing variable fails instead
of sending a blank) and autoescape for ``.html`` only. The wording of one quota lives
in ``_item.txt`` and is shared by both bodies. Dates are written with Babel
(``sv_SE``): "onsdag 12 november".

Headers
-------
``From`` (``LOFTE_MAIL_FROM``), ``To`` (the unit's name and address), ``Subject`` (UTF-8,
written as RFC 2047 words: the policy is ``email.policy.SMTP``, SMTPUTF8 off), ``Date``
(``now`` in Swedish local time), ``Message-ID`` (domain taken from the sender; derived
from ``key`` when given, so a retried decision keeps its Message-ID and mail clients
show it once), ``Auto-Submitted: auto-generated`` and ``X-Auto-Response-Suppress``
(no out-of-office replies back to Löfte), ``Content-Language: sv``; on digests
``List-Unsubscribe`` with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
(RFC 8058). Bodies are quoted-printable, so the message is 7-bit clean for any relay.

Bad input
---------
Every name and address is checked before anything is rendered, and a problem raises
``EmailInputError`` (a ``ValueError``) whose message says in Swedish what is wrong and
where, so nothing is sent: a carriage return or line feed (header injection:
``"Skolan\\r\\nBcc: x@y.se"``), another control character, an address that is not
``namn@domän.se``, a non-ASCII local part (would need SMTPUTF8), a link that is not
``http(s)://``. A domain with å, ä or ö is written in IDNA form (``åre.se`` →
``xn--re-xia.se``).

>>> import datetime as dt
>>> item = DigestItem(activity="Informationskväll för vårdnadshavare", entity="Nyhemsskolan",
...     period_label="höstterminen 2025", done=0, required=1, state="i fara",
...     period_end=dt.date(2025, 12, 19), days_left=21, lov_days_left=7)
>>> msg = compose_digest(to="rektor@nyhem.astorp.se", unit_name="Nyhemsskolans rektor", items=[item],
...     feed_url="https://lofte.astorp.se/feeds/abc.ics", dashboard_url="https://lofte.astorp.se/",
...     unsubscribe_url="https://lofte.astorp.se/avregistrera/xyz",
...     now=dt.datetime(2025, 11, 28, 7, 0, tzinfo=dt.UTC), sender="Löfte <lofte@astorp.se>")
>>> msg["Subject"]
'Påminnelse: Informationskväll för vårdnadshavare på Nyhemsskolan, höstterminen 2025'
>>> body = msg.get_body(("plain",)).get_content()
>>> "på Nyhemsskolan är inte genomförd än; höstterminen 2025 slutar om 3 veckor, varav en är lov." in body
True
>>> msg["To"], msg["Date"]
('Nyhemsskolans rektor <rektor@nyhem.astorp.se>', 'Fri, 28 Nov 2025 08:00:00 +0100')
>>> compose_digest(to="rektor@nyhem.astorp.se", unit_name="Skolan\\r\\nBcc: alla@astorp.se", items=[item],
...     feed_url=None, dashboard_url="https://lofte.astorp.se/", unsubscribe_url="https://lofte.astorp.se/a",
...     now=dt.datetime(2025, 11, 28, 7, 0, tzinfo=dt.UTC), sender="Löfte <lofte@astorp.se>")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
scheduler.emails.EmailInputError: mottagarens namn innehåller en radbrytning (...); e-posten skickas inte.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date

from rules.errors import NaiveDatetimeError

__all__ = [
    "TEMPLATE_DIR",
    "DigestItem",
    "EmailInputError",
    "compose_digest",
    "compose_escalation",
    "parse_address",
]

#: ``templates/email`` beside the packages.
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "email"
#: Dates in emails are Swedish local dates.
TZ = ZoneInfo("Europe/Stockholm")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUMBER_WORDS = ["noll", "en", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio", "tio", "elva", "tolv"]


class EmailInputError(ValueError):
    """A name, address or link cannot go into an email; ``message`` says what and where in Swedish.

    Fix the data the message names (the unit's email address in the promise file, say);
    nothing was sent.
    """

    def __init__(self, what: str, value: object, problem: str) -> None:
        self.what, self.value, self.problem = what, value, problem
        self.message = f"{what} {problem} ({value!r}); e-posten skickas inte."
        super().__init__(self.message)


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestItem:
    """One quota at risk, as a reminder shows it. Built by the reminder policy.

    ``days_left`` counts the calendar days from today to ``period_end`` (0 on the last
    day), lov and holidays included; ``lov_days_left`` says how many of them are lov.
    """

    activity: str
    #: the school, fritidsgård or tätort; None for an activity without entities
    entity: str | None
    #: "höstterminen 2025", "mars 2025" (``rules.periods`` labels)
    period_label: str
    done: int
    required: int
    #: the quota state in Swedish: "i fara", "efter", "missad", ...
    state: str
    period_end: dt.date
    days_left: int
    lov_days_left: int = 0
    #: planned occurrences still ahead, in order
    planned: tuple[dt.date, ...] = ()
    #: the signed one-click link (``scheduler.signing``), or None
    done_url: str | None = None
    #: the responsible unit's name (shown in escalations)
    responsible: str | None = None
    #: "på Nyhemsskolan", "i Bjuv": the preposition before the entity
    entity_preposition: str = "på"

    def __post_init__(self) -> None:
        for name in ("activity", "period_label", "state", "entity_preposition"):
            _line(f"aktivitetens {name}", getattr(self, name))
        if not self.activity.strip():
            raise EmailInputError("aktivitetens namn", self.activity, "är tomt")
        if self.entity is not None:
            _line("enhetens namn", self.entity)
        if self.responsible is not None:
            _line("den ansvariges namn", self.responsible)
        if self.done < 0 or self.required < 0 or self.days_left < 0 or not 0 <= self.lov_days_left <= self.days_left:
            raise EmailInputError(
                f"siffrorna för {self.activity}",
                (self.done, self.required, self.days_left, self.lov_days_left),
                "går inte ihop (negativa, eller fler lovdagar än dagar kvar)",
            )
        if self.done_url is not None:
            _url("länken Markera som genomförd", self.done_url)

    @property
    def weeks_left(self) -> int:
        """Whole weeks left, rounded to the nearest (used from 14 days on)."""
        return (self.days_left + 3) // 7

    @property
    def lov_weeks_left(self) -> int:
        return (self.lov_days_left + 3) // 7


# -- validation ------------------------------------------------------------------------------------
def _line(what: str, value: str) -> str:
    if not isinstance(value, str):
        raise EmailInputError(what, value, "är ingen text")
    if "\r" in value or "\n" in value:
        raise EmailInputError(what, value, "innehåller en radbrytning")
    if _CONTROL.search(value):
        raise EmailInputError(what, value, "innehåller ett styrtecken")
    return value


def _url(what: str, value: str) -> str:
    _line(what, value)
    if not re.fullmatch(r"https?://[^\s<>\"]+", value):
        raise EmailInputError(what, value, "är ingen webbadress som börjar med https://")
    return value


def parse_address(value: str | Address, *, what: str, name: str | None = None) -> Address:
    """A validated ``Address`` from ``"namn@domän.se"``, ``"Namn <namn@domän.se>"`` or an Address.

    ``name`` replaces the display name. The domain is written in IDNA form (ASCII).
    """
    if isinstance(value, Address):
        display, addr_spec = value.display_name, value.addr_spec
    else:
        _line(what, value)
        match = re.fullmatch(r"\s*(?:(.*?)\s*<([^<>]*)>|([^<>]*?))\s*", value)
        if match is None:
            raise EmailInputError(what, value, "är ingen e-postadress (skriv namn@domän.se)")
        display = (match.group(1) or "").strip().strip('"')
        addr_spec = (match.group(2) if match.group(2) is not None else match.group(3) or "").strip()
    if name is not None:
        display = name
    _line(what, display)
    _line(what, addr_spec)
    local, at, domain = addr_spec.rpartition("@")
    if not at or not local or not domain or " " in addr_spec or "@" in local:
        raise EmailInputError(what, addr_spec, "är ingen e-postadress (skriv namn@domän.se)")
    if not local.isascii():
        raise EmailInputError(
            what, addr_spec, "har tecken utanför ASCII före @, vilket e-post utan SMTPUTF8 inte klarar"
        )
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise EmailInputError(what, addr_spec, "har ett ogiltigt domännamn") from None
    labels = ascii_domain.split(".")
    if (len(labels) < 2 and ascii_domain != "localhost") or not all(
        re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", label) for label in labels
    ):
        raise EmailInputError(what, addr_spec, "har ett ogiltigt domännamn")
    try:
        return Address(display_name=display, username=local, domain=ascii_domain)
    except (ValueError, TypeError) as exc:  # the stdlib's own check of the local part
        raise EmailInputError(what, addr_spec, f"är ingen giltig e-postadress ({exc})") from None


# -- rendering -------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)  # Babel parses the pattern on every call; digests repeat dates
def _date_sv(day: dt.date, pattern: str = "d MMMM yyyy") -> str:
    return str(format_date(day, pattern, locale="sv_SE"))


def _number_word(n: int) -> str:
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


@functools.cache
def _environment(directory: Path = TEMPLATE_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["date_sv"] = _date_sv
    env.filters["number_word"] = _number_word
    return env


def _render(name: str, context: dict[str, Any]) -> tuple[str, str, str]:
    env = _environment()
    subject = " ".join(env.get_template(f"{name}-subject.txt").render(context).split())
    text = env.get_template(f"{name}-body.txt").render(context)
    html = env.get_template(f"{name}-body.html").render(context)
    return subject, text, html


def _message_id(sender: Address, key: str | None) -> str:
    if key is None:
        return make_msgid(idstring="lofte", domain=sender.domain)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<lofte.{digest}@{sender.domain}>"


def _message(
    *,
    sender: Address,
    to: Address,
    subject: str,
    text: str,
    html: str,
    now: dt.datetime,
    key: str | None,
    unsubscribe_url: str | None,
) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = _line("ämnesraden", subject)
    msg["Date"] = format_datetime(now.astimezone(TZ))
    msg["Message-ID"] = _message_id(sender, key)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    if unsubscribe_url is not None:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    msg["Content-Language"] = "sv"  # after the content: set_content clears Content-* headers
    return msg


def _aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError("now")
    return now


def compose_digest(
    *,
    to: str | Address,
    unit_name: str,
    items: Sequence[DigestItem],
    feed_url: str | None,
    dashboard_url: str,
    unsubscribe_url: str,
    now: dt.datetime,
    sender: str | Address,
    key: str | None = None,
) -> EmailMessage:
    """The daily digest to one responsible unit: every quota of ``items``, in the given order.

    ``feed_url`` is the unit's calendar feed (None when it has none), ``unsubscribe_url``
    the one-click opt-out (``List-Unsubscribe``); ``key`` (the policy's decision key)
    makes the Message-ID stable. Raises ``EmailInputError`` on bad input, ``ValueError``
    when ``items`` is empty.
    """
    if not items:
        raise ValueError("a digest needs at least one item")
    context = {
        "unit_name": _line("mottagarens namn", unit_name),
        "items": list(items),
        "feed_url": None if feed_url is None else _url("kalenderflödets adress", feed_url),
        "dashboard_url": _url("adressen till Löfte", dashboard_url),
        "unsubscribe_url": _url("avregistreringslänken", unsubscribe_url),
        "today": _aware(now).astimezone(TZ).date(),
    }
    recipient = parse_address(to, what="mottagarens adress", name=unit_name)
    from_ = parse_address(sender, what="avsändaren (LOFTE_MAIL_FROM)")
    subject, text, html = _render("digest", context)
    return _message(
        sender=from_, to=recipient, subject=subject, text=text, html=html, now=now, key=key,
        unsubscribe_url=unsubscribe_url,
    )  # fmt: skip


def compose_escalation(
    *,
    to: str | Address,
    coordinator_name: str,
    promise_name: str,
    items: Sequence[DigestItem],
    dashboard_url: str,
    now: dt.datetime,
    sender: str | Address,
    unsubscribe_url: str | None = None,
    key: str | None = None,
) -> EmailMessage:
    """The coordinator's message about quotas that are critical or missed in one promise.

    Items are grouped by ``DigestItem.responsible`` (in order of first appearance) so
    the coordinator sees whom to call. ``List-Unsubscribe`` only when ``unsubscribe_url``
    is given.
    """
    if not items:
        raise ValueError("an escalation needs at least one item")
    groups: dict[str, list[DigestItem]] = {}
    for item in items:
        groups.setdefault(item.responsible or "Ingen ansvarig angiven", []).append(item)
    context = {
        "coordinator_name": _line("mottagarens namn", coordinator_name),
        "promise_name": _line("löftets namn", promise_name),
        "items": list(items),
        "groups": list(groups.items()),
        "missed": sum(1 for item in items if item.state == "missad"),
        "dashboard_url": _url("adressen till Löfte", dashboard_url),
        "today": _aware(now).astimezone(TZ).date(),
    }
    if unsubscribe_url is not None:
        _url("avregistreringslänken", unsubscribe_url)
    recipient = parse_address(to, what="samordnarens adress", name=coordinator_name)
    from_ = parse_address(sender, what="avsändaren (LOFTE_MAIL_FROM)")
    subject, text, html = _render("escalation", context)
    return _message(
        sender=from_, to=recipient, subject=subject, text=text, html=html, now=now, key=key,
        unsubscribe_url=unsubscribe_url,
    )  # fmt: skip

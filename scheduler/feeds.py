"""Feed tokens: create, list, rotate and resolve the secrets in ``/feeds/<token>.ics``.

Every feed is one ``FeedToken`` row: one per responsible unit, one per promise and one
per kommun (ical-feeds.md §2). A token is ``store.new_feed_token()`` (256 bits,
URL-safe base64, 43 characters) and only its SHA-256 is stored
(``store.hash_feed_token``), so the plaintext exists only at the moment it is created
or rotated: ``ensure_feeds`` and ``rotate`` return it, and whoever called them shows it
once (``lofte feeds``, ``lofte serve --demo``). A lost URL is replaced by rotating,
which also kills the old one.

With ``secret`` (the installation's ``settings.secret_key``) a token is not random but
derived: ``HMAC-SHA256(secret, "lofte-feed/<id>/<stamp>")`` in URL-safe base64, where
``stamp`` is the second the feed was created or last rotated. The database still
holds only the hash, so a leaked database alone opens nothing; but whoever holds the
secret can rebuild any current address (``feed_token``, ``unit_feed_url``), so
reminder emails carry the unit's feed and logged-in coordinators see every address.
Rotating changes the stamp and so the token; changing the secret key changes no
stored hash, so the old addresses keep working until each feed is rotated, and
``feed_token`` returns None for them (a reminder then goes without the feed link).

``resolve`` checks the token's shape before hashing (a malformed token costs no
query), looks the row up by its hash and compares the hashes with
``hmac.compare_digest``. Like ``scheduler.store`` these functions work inside the
caller's transaction and never commit.

>>> looks_like_token("x" * 43), looks_like_token("../secret_key"), looks_like_token("a b")
(True, False, False)
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from scheduler.db import FeedScope, FeedToken, Promise, Unit, as_utc
from scheduler.ical_feed import FeedTarget
from scheduler.store import hash_feed_token, new_feed_token

__all__ = [
    "FEED_PATH_PREFIX",
    "SCOPE_SV",
    "FeedInfo",
    "IssuedFeed",
    "UnknownFeedError",
    "derive_token",
    "ensure_feeds",
    "feed_info",
    "feed_token",
    "feed_urls",
    "list_feeds",
    "looks_like_token",
    "lookup",
    "resolve",
    "rotate",
    "unit_feed_url",
]

#: Where feeds are served: ``/feeds/<token>.ics``.
FEED_PATH_PREFIX = "/feeds/"
#: What a token may look like: URL-safe base64, 22 (128 bits) to 128 characters.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{22,128}")

#: Swedish names of the scopes, as lists and pages show them.
SCOPE_SV = {FeedScope.UNIT: "enhet", FeedScope.PROMISE: "löfte", FeedScope.KOMMUN: "kommun"}


class UnknownFeedError(LookupError):
    """No feed has this id (``rotate``)."""

    def __init__(self, feed_id: int) -> None:
        self.feed_id = feed_id
        super().__init__(f"no feed with id {feed_id}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedInfo:
    """One feed as lists show it: never the token, which is not stored."""

    id: int
    scope: FeedScope
    #: what the feed holds, in Swedish ("Lokalpolisområde Klippan – Medborgarlöfte Åstorp 2019")
    name: str
    kommun: str
    #: the promise's slug for unit and promise feeds; None for a kommun feed
    promise_slug: str | None
    created_at: dt.datetime
    rotated_at: dt.datetime | None

    @property
    def scope_sv(self) -> str:
        return SCOPE_SV[self.scope]


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedFeed:
    """A feed with its plaintext token, returned only when the token was just made."""

    info: FeedInfo
    token: str

    @property
    def path(self) -> str:
        return f"{FEED_PATH_PREFIX}{self.token}.ics"


def feed_urls(base_url: str, token: str) -> tuple[str, str]:
    """The feed's ``https://`` (or ``http://``) address and its ``webcal://`` twin.

    >>> feed_urls("https://lofte.example.se/", "abc")
    ('https://lofte.example.se/feeds/abc.ics', 'webcal://lofte.example.se/feeds/abc.ics')
    """
    url = f"{base_url.rstrip('/')}{FEED_PATH_PREFIX}{token}.ics"
    return url, "webcal://" + url.split("://", 1)[1]


def looks_like_token(token: str) -> bool:
    """True if ``token`` has the shape of a feed token (checked before any hashing or query)."""
    return _TOKEN_SHAPE.fullmatch(token) is not None


# -- create, list, rotate ---------------------------------------------------------------------------
def _names(session: Session) -> tuple[dict[int, Promise], dict[int, Unit]]:
    promises = {p.id: p for p in session.exec(select(Promise)).all() if p.id is not None}
    units = {u.id: u for u in session.exec(select(Unit)).all() if u.id is not None}
    return promises, units


def _info(row: FeedToken, promises: dict[int, Promise], units: dict[int, Unit]) -> FeedInfo:
    assert row.id is not None  # noqa: S101 - rows come from the database
    promise = promises.get(row.promise_id) if row.promise_id is not None else None
    if row.scope is FeedScope.UNIT:
        unit = units[row.unit_id] if row.unit_id is not None else None
        promise = promise or (promises.get(unit.promise_id) if unit else None)
        name = f"{unit.name if unit else '?'} – {promise.title if promise else '?'}"
    elif row.scope is FeedScope.PROMISE:
        name = promise.title if promise else "?"
    else:
        name = f"{row.kommun} (hela kommunen)"
    kommun = row.kommun or (promise.kommun if promise else "")
    return FeedInfo(
        id=row.id,
        scope=row.scope,
        name=name,
        kommun=kommun,
        promise_slug=promise.slug if promise else None,
        created_at=row.created_at,
        rotated_at=row.rotated_at,
    )


def _order(info: FeedInfo) -> tuple[str, int, str, int]:
    rank = {FeedScope.KOMMUN: 0, FeedScope.PROMISE: 1, FeedScope.UNIT: 2}[info.scope]
    return (info.kommun, rank, info.name, info.id)


def list_feeds(session: Session) -> list[FeedInfo]:
    """Every feed, by kommun: the kommun feed first, then each promise's, then its units'."""
    promises, units = _names(session)
    rows = session.exec(select(FeedToken)).all()
    return sorted((_info(row, promises, units) for row in rows), key=_order)


def _stamp(row: FeedToken) -> int:
    moment = row.rotated_at or row.created_at
    return int(as_utc(moment, "stamp").timestamp())


def derive_token(secret: str, feed_id: int, stamp: int) -> str:
    """The token of feed ``feed_id`` created or rotated at second ``stamp`` (see the module docstring)."""
    digest = hmac.new(secret.encode(), f"lofte-feed/{feed_id}/{stamp}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def feed_token(row: FeedToken, *, secret: str) -> str | None:
    """The current token of ``row`` rebuilt from ``secret``, or None if it was not derived from it."""
    if row.id is None:
        return None
    token = derive_token(secret, row.id, _stamp(row))
    return token if hmac.compare_digest(hash_feed_token(token), row.token_hash) else None


def unit_feed_url(session: Session, unit_id: int, *, secret: str, base_url: str) -> str | None:
    """The https address of the unit's feed, when it can be rebuilt from ``secret``."""
    row = session.exec(select(FeedToken).where(FeedToken.scope == FeedScope.UNIT, FeedToken.unit_id == unit_id)).first()
    token = feed_token(row, secret=secret) if row is not None else None
    return feed_urls(base_url, token)[0] if token else None


def ensure_feeds(session: Session, *, now: dt.datetime, secret: str | None = None) -> list[IssuedFeed]:
    """Create a feed for each unit, promise and kommun that has none; returns only the new ones.

    Retired units get no new feed (an existing one stays until its unit is deleted).
    The plaintext tokens exist only in the returned list: show them now.
    """
    now = as_utc(now, "now")
    existing = session.exec(select(FeedToken)).all()
    have_units = {row.unit_id for row in existing if row.scope is FeedScope.UNIT}
    have_promises = {row.promise_id for row in existing if row.scope is FeedScope.PROMISE}
    have_kommuner = {row.kommun for row in existing if row.scope is FeedScope.KOMMUN}
    promises = session.exec(select(Promise).order_by(col(Promise.kommun), col(Promise.slug))).all()
    units = session.exec(select(Unit).where(col(Unit.retired_at).is_(None)).order_by(col(Unit.id))).all()
    created: list[tuple[FeedToken, str]] = []

    stamped = now.replace(microsecond=0)

    def add(
        scope: FeedScope, *, kommun: str | None = None, promise_id: int | None = None, unit_id: int | None = None
    ) -> None:
        token = new_feed_token()  # replaced by the derived one below when there is a secret
        row = FeedToken(
            scope=scope,
            kommun=kommun,
            promise_id=promise_id,
            unit_id=unit_id,
            token_hash=hash_feed_token(token),
            created_at=stamped,
            updated_at=now,
        )
        session.add(row)
        created.append((row, token))

    for kommun in dict.fromkeys(p.kommun for p in promises):
        if kommun not in have_kommuner:
            add(FeedScope.KOMMUN, kommun=kommun)
    for promise in promises:
        if promise.id not in have_promises:
            add(FeedScope.PROMISE, promise_id=promise.id)
    for unit in units:
        if unit.id not in have_units:
            add(FeedScope.UNIT, unit_id=unit.id, promise_id=unit.promise_id)
    session.flush()
    if secret is not None:
        for index, (row, _random) in enumerate(created):
            assert row.id is not None  # noqa: S101 - flushed above
            token = derive_token(secret, row.id, _stamp(row))
            row.token_hash = hash_feed_token(token)
            created[index] = (row, token)
        session.flush()
    names = _names(session)
    issued = [IssuedFeed(info=_info(row, *names), token=token) for row, token in created]
    return sorted(issued, key=lambda feed: _order(feed.info))


def rotate(session: Session, feed_id: int, *, now: dt.datetime, secret: str | None = None) -> str:
    """Give feed ``feed_id`` a new token and return it; the old URL stops working.

    Raises ``UnknownFeedError`` if there is no such feed. With ``secret`` the new token
    is derived (see the module docstring); a second rotation within the same second
    waits for the stamp to differ by using the next second.
    """
    row = session.get(FeedToken, feed_id)
    if row is None:
        raise UnknownFeedError(feed_id)
    moment = as_utc(now, "now").replace(microsecond=0)
    if secret is not None and moment.timestamp() <= _stamp(row):
        moment = dt.datetime.fromtimestamp(_stamp(row) + 1, dt.UTC)
    token = new_feed_token() if secret is None else derive_token(secret, feed_id, int(moment.timestamp()))
    row.token_hash = hash_feed_token(token)
    row.rotated_at = moment
    row.updated_at = as_utc(now, "now")
    session.add(row)
    session.flush()
    return token


def feed_info(session: Session, feed_id: int) -> FeedInfo | None:
    """One feed's ``FeedInfo``, or None."""
    row = session.get(FeedToken, feed_id)
    return None if row is None else _info(row, *_names(session))


# -- resolve ------------------------------------------------------------------------------------------
def lookup(session: Session, token: str) -> FeedToken | None:
    """The ``FeedToken`` row ``token`` opens, or None (malformed, unknown or rotated away)."""
    if not looks_like_token(token):
        return None
    digest = hash_feed_token(token)
    row = session.exec(select(FeedToken).where(FeedToken.token_hash == digest)).one_or_none()
    # The lookup is by hash; compare again in constant time so that no code path
    # ever decides on a secret with an early-exit comparison.
    if row is None or not hmac.compare_digest(row.token_hash.encode(), digest.encode()):
        return None
    return row


def resolve(session: Session, token: str) -> FeedTarget | None:
    """What ``token`` opens, or None for a malformed, unknown or rotated-away token."""
    row = lookup(session, token)
    return None if row is None else FeedTarget.of(row)

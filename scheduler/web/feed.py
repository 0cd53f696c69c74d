"""The thin feed path: ``GET``/``HEAD /feeds/<token>.ics`` as a bare ASGI callable.

``LofteApp`` (``scheduler.web.app``) hands every request whose path starts with
``/feeds/`` to a ``FeedEndpoint`` before FastAPI's routing and middleware see it: the
issue measured a plain FastAPI route at ~1,450 req/s where a bare ASGI callable on the
same uvicorn gave ~5,600. What a request does:

1. Only ``GET`` and ``HEAD`` (else 405 with ``Allow``). A query string is ignored, but
   one longer than ``MAX_QUERY_BYTES`` is refused with 400.
2. The path must be exactly ``/feeds/<token>.ics`` with a token of the right shape
   (``scheduler.feeds.looks_like_token``), else 404 without touching the database.
   Traversal (``/feeds/../x``, ``%2e%2e``, encoded slashes) fails this check.
3. The feed clock is read (``scheduler.feed_clock``: one primary-key lookup on a raw
   connection, a few microseconds on SQLite): its ``Stamp`` moves with every commit, by
   any instance, that can change a feed or a token. Every request reads it; nothing
   about freshness is cached by time.
4. The token is resolved to a ``FeedTarget``: by the SHA-256 of the token, from an
   in-process cache of *positive* lookups that holds while the clock has not moved
   (a rotation anywhere moves it, so the old token is looked up again and no longer
   found on the very next request), else from the database
   (``scheduler.feeds.lookup``: by hash, then ``hmac.compare_digest``). Unknown tokens
   are never cached, so a new feed works at once everywhere. Without a clock row
   (tables emptied by hand, until the next write) entries live ``token_ttl`` seconds.
   404 for an unknown token is a plain Swedish text and never carries
   ``WWW-Authenticate`` (ical-feeds.md §2).
5. If the target's prepared response was made under the same stamp and the same local
   day (the rolling window moves with the day), it is current: no SQLAlchemy, no
   render. Otherwise ``FeedRenderer.version(target, now=...)`` decides (its ETag is the
   hash of the body, so the ETag still changes exactly when the body does) and the
   prepared response is stamped with the clock as read *before* that check. When
   ``If-None-Match`` (or, without it, ``If-Modified-Since``) matches, the answer is 304.
6. Else 200 with ``text/calendar; charset=utf-8``, ``ETag``, ``Last-Modified``,
   ``Cache-Control: private, no-cache`` (store, but revalidate every time),
   ``Content-Length``, ``Content-Disposition`` and ``Vary: Accept-Encoding``. The body is
   sent as is unless the client asks for ``gzip`` in ``Accept-Encoding`` (some Outlook
   versions fail on compression they did not ask for, §4); the gzip bytes are made
   once per version and carry their own ETag (``"<etag>-gz"``). Responses are
   prepared (headers included) once per version and kept in a bounded LRU.

Database access: on SQLite (a local file, a statement takes microseconds to a few
milliseconds) the calls run in the event loop, which is the fastest; a dedicated
engine with a short busy timeout (``LOCKED_TIMEOUT_MS``) bounds how long a writer's
lock can hold the loop. Any other backend runs them in a worker thread. A database
that is locked or unreachable (the clock included) gives 503 with ``Retry-After``;
any other failure gives a plain 500 (logged with its traceback, never sent to the
client).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import functools
import gzip
import logging
import time
import unicodedata
import zoneinfo
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from scheduler.db import DEFAULT_TZ
from scheduler.feed_clock import FeedClockError, FeedClockReader, Stamp
from scheduler.feeds import FEED_PATH_PREFIX, looks_like_token, lookup
from scheduler.ical_feed import FeedRenderer, FeedTarget, FeedVersion, RenderedFeed
from scheduler.store import hash_feed_token

__all__ = ["LOCKED_TIMEOUT_MS", "MAX_QUERY_BYTES", "FeedEndpoint"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
T = TypeVar("T")

#: A longer query string is refused with 400; a shorter one is ignored.
MAX_QUERY_BYTES = 1024
#: How long the feed path waits for a SQLite writer's lock before answering 503.
LOCKED_TIMEOUT_MS = 200
#: Seconds a client is told to wait after a 503.
RETRY_AFTER_SECONDS = 5
_SUFFIX = ".ics"
#: the fast path's map of raw paths to token hashes is emptied when it reaches this size
_MAX_PATHS = 100_000
_ZONE = zoneinfo.ZoneInfo(DEFAULT_TZ)

_TEXT = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store")]
_NOT_FOUND = b"Kalendern finns inte. Adressen kan vara felskriven eller ersatt av en ny adress.\n"
_BAD_QUERY = "Felaktig förfrågan: frågesträngen är för lång.\n".encode()
_NOT_ALLOWED = "Metoden stöds inte. Kalendern kan bara hämtas (GET eller HEAD).\n".encode()
_UNAVAILABLE = "Kalendern kan inte hämtas just nu: databasen är upptagen. Försök igen om en stund.\n".encode()
_FAILED = "Internt fel: kalendern kunde inte skapas. Felet är loggat.\n".encode()


@dataclass(slots=True)
class _Prepared:
    """One version of one feed, ready to send: bodies and header lists."""

    etag: str
    etag_bytes: bytes  # the ETag header's value as sent
    last_modified: dt.datetime
    body: bytes
    gzip_body: bytes | None
    headers: list[tuple[bytes, bytes]]  # 200 identity, without content-length
    gzip_headers: list[tuple[bytes, bytes]] | None
    not_modified: list[tuple[bytes, bytes]]
    not_modified_gzip: list[tuple[bytes, bytes]]
    #: the clock and the local day under which ``version()`` last confirmed this response
    stamp: Stamp | None = None
    day: dt.date | None = None
    #: the fast path's serialized header blocks (``_raw_head``), made when first needed
    raw: dict[int, bytes] | None = None

    @property
    def weight(self) -> int:
        return len(self.body) + len(self.gzip_body or b"")


# Keys of ``_Prepared.raw``: 200 or 304, identity or gzip.
_RAW_200, _RAW_200_GZ, _RAW_304, _RAW_304_GZ = range(4)


def _raw_head(prepared: _Prepared, key: int) -> bytes | None:
    """The header lines and the blank line after them, as the fast path sends them (None: no gzip body yet)."""
    raw = prepared.raw
    if raw is None:
        raw = prepared.raw = {}
    head = raw.get(key)
    if head is not None:
        return head
    if key == _RAW_200:
        headers, body = prepared.headers, prepared.body
    elif key == _RAW_200_GZ:
        if prepared.gzip_headers is None or prepared.gzip_body is None:
            return None
        headers, body = prepared.gzip_headers, prepared.gzip_body
    else:
        headers, body = (prepared.not_modified if key == _RAW_304 else prepared.not_modified_gzip), None
    lines = [name + b": " + value + b"\r\n" for name, value in headers]
    if body is not None:
        lines.append(b"content-length: " + str(len(body)).encode() + b"\r\n")
    head = raw[key] = b"".join(lines) + b"\r\n"
    return head


def _gzip_etag(etag: str) -> str:
    return etag[:-1] + '-gz"' if etag.endswith('"') else etag + "-gz"


def _content_disposition(name: str) -> bytes:
    """``attachment`` with an ASCII fallback name and the Swedish name in ``filename*`` (RFC 6266).

    >>> print(_content_disposition("Löfte – Åstorp").decode())
    attachment; filename="Lofte - Astorp.ics"; filename*=UTF-8''L%C3%B6fte%20%E2%80%93%20%C3%85storp.ics
    """
    plain = unicodedata.normalize("NFKD", name.replace("–", "-").replace("—", "-"))
    ascii_name = "".join(c for c in plain if c.isascii() and (c.isalnum() or c in " -_.")).strip() or "kalender"
    quoted = "".join(f"%{b:02X}" if not (chr(b).isalnum() and b < 128) else chr(b) for b in name.encode())
    return f"attachment; filename=\"{ascii_name}.ics\"; filename*=UTF-8''{quoted}.ics".encode("ascii")


def _prepare(feed: RenderedFeed) -> _Prepared:
    version = feed.version
    last_modified = email.utils.format_datetime(version.last_modified.astimezone(dt.UTC), usegmt=True).encode()
    common = [
        (b"last-modified", last_modified),
        (b"cache-control", b"private, no-cache"),
        (b"vary", b"Accept-Encoding"),
    ]
    etag = version.etag.encode()
    gz_etag = _gzip_etag(version.etag).encode()
    headers = [
        (b"content-type", b"text/calendar; charset=utf-8"),
        (b"etag", etag),
        *common,
        (b"content-disposition", _content_disposition(feed.name)),
        (b"x-content-type-options", b"nosniff"),
    ]
    return _Prepared(
        etag=version.etag,
        etag_bytes=etag,
        last_modified=version.last_modified,
        body=feed.body,
        gzip_body=None,
        headers=headers,
        gzip_headers=None,
        not_modified=[(b"etag", etag), *common],
        not_modified_gzip=[(b"etag", gz_etag), *common],
    )


def _add_gzip(prepared: _Prepared) -> None:
    # mtime=0: the same body always gives the same bytes (and so a stable ETag).
    prepared.gzip_body = gzip.compress(prepared.body, compresslevel=6, mtime=0)
    prepared.gzip_headers = [
        (b"etag", _gzip_etag(prepared.etag).encode()) if name == b"etag" else (name, value)
        for name, value in prepared.headers
    ] + [(b"content-encoding", b"gzip")]


def _wants_gzip(accept_encoding: bytes) -> bool:
    """True if ``Accept-Encoding`` names gzip with a quality above zero.

    >>> _wants_gzip(b"gzip, deflate"), _wants_gzip(b"br;q=1, gzip;q=0"), _wants_gzip(b"identity"), _wants_gzip(b"")
    (True, False, False, False)
    """
    for part in accept_encoding.decode("latin-1").lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() not in ("gzip", "x-gzip"):
            continue
        quality = params.strip()
        if quality.startswith("q="):
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _etag_matches(if_none_match: bytes, prepared: _Prepared) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): either variant's tag, with or without ``W/``."""
    text = if_none_match.decode("latin-1").strip()
    if text == "*":
        return True
    ours = {prepared.etag, _gzip_etag(prepared.etag)}
    return any(tag.strip().removeprefix("W/") in ours for tag in text.split(","))


def _conditions(headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, bytes | None, bytes | None]:
    """A request's ``If-None-Match``, ``If-Modified-Since`` and ``Accept-Encoding`` (names in lower case)."""
    if_none_match = if_modified_since = accept_encoding = None
    for name, value in headers:
        if name == b"if-none-match":
            if_none_match = value
        elif name == b"if-modified-since":
            if_modified_since = value
        elif name == b"accept-encoding":
            accept_encoding = value
    return if_none_match, if_modified_since, accept_encoding


def _not_modified(prepared: _Prepared, if_none_match: bytes | None, if_modified_since: bytes | None) -> bool:
    """304 or not: ``If-None-Match`` decides when sent, else ``If-Modified-Since`` (RFC 9110 §13.2.2)."""
    if if_none_match is not None:
        return if_none_match == prepared.etag_bytes or _etag_matches(if_none_match, prepared)
    return if_modified_since is not None and _not_modified_since(if_modified_since, prepared.last_modified)


def _not_modified_since(if_modified_since: bytes, last_modified: dt.datetime) -> bool:
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since.decode("latin-1"))
    except (TypeError, ValueError, IndexError):
        return False  # an unreadable date is ignored (RFC 9110 §13.1.3)
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return last_modified.replace(microsecond=0) <= since


class _LRU:
    """Prepared responses by target, bounded by their bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.items: OrderedDict[FeedTarget, _Prepared] = OrderedDict()

    def get(self, target: FeedTarget) -> _Prepared | None:
        prepared = self.items.get(target)
        if prepared is not None:
            self.items.move_to_end(target)
        return prepared

    def put(self, target: FeedTarget, prepared: _Prepared) -> None:
        old = self.items.pop(target, None)
        if old is not None:
            self.bytes -= old.weight
        self.items[target] = prepared
        self.bytes += prepared.weight
        while self.bytes > self.max_bytes and len(self.items) > 1:
            _, dropped = self.items.popitem(last=False)
            self.bytes -= dropped.weight

    def grew(self, target: FeedTarget, before: int) -> None:
        prepared = self.items.get(target)
        if prepared is not None:
            self.bytes += prepared.weight - before


class FeedEndpoint:
    """The ASGI callable behind ``/feeds/``; see the module docstring for what it does.

    ``engine`` is used for token lookups; ``renderer`` should use an engine with the
    same short lock timeout (``scheduler.web.app`` builds both). ``clock`` gives the
    aware ``now`` passed to the renderer on every request.
    """

    def __init__(
        self,
        renderer: FeedRenderer,
        engine: Engine,
        *,
        clock: Callable[[], dt.datetime] | None = None,
        token_ttl: float = 5.0,
        max_cache_bytes: int = 64 * 1024 * 1024,
        inline: bool | None = None,
        feed_clock: FeedClockReader | None = None,
    ) -> None:
        self.renderer = renderer
        self.engine = engine
        #: the real clock unless one is given (tests, the demo)
        self.clock: Callable[[], dt.datetime] = clock or (lambda: dt.datetime.now(dt.UTC))
        self._realtime = clock is None
        #: the local day on the real clock and the epoch seconds it starts and ends at
        self._day: tuple[dt.date, float, float] = (dt.date.min, 0.0, 0.0)
        #: ``Accept-Encoding`` values seen -> whether they ask for gzip
        self._gzip_asked: dict[bytes, bool] = {}
        self.token_ttl = token_ttl
        #: run database calls in the event loop (default: on SQLite only)
        self.inline = engine.dialect.name == "sqlite" if inline is None else inline
        self.feed_clock = feed_clock or FeedClockReader(engine)
        #: token hash -> (target, feed id, expiry on the monotonic clock, stamp when looked up)
        self._tokens: dict[str, tuple[FeedTarget, int, float, Stamp | None]] = {}
        #: for the fast path: the raw path of a token found in ``_tokens`` -> that token's hash
        self._paths: dict[bytes, str] = {}
        self._prepared = _LRU(max_cache_bytes)
        self._locks: dict[FeedTarget, asyncio.Lock] = {}

    # -- cache control ----------------------------------------------------------------------------
    def forget_feed(self, feed_id: int) -> None:
        """Drop cached lookups of feed ``feed_id`` (call after rotating it in this process)."""
        for digest in [d for d, entry in self._tokens.items() if entry[1] == feed_id]:
            self._tokens.pop(digest, None)
        self._paths = {path: digest for path, digest in self._paths.items() if digest in self._tokens}

    def close(self) -> None:
        """Close the feed clock's connections (opened again when needed)."""
        self.feed_clock.close()

    async def _call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.inline:
            return func(*args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(func, *args, **kwargs))

    def _lookup(self, token: str) -> tuple[FeedTarget, int] | None:
        with Session(self.engine) as session:
            row = lookup(session, token)
            if row is None or row.id is None:
                return None
            return FeedTarget.of(row), row.id

    async def _target(self, token: str, stamp: Stamp | None) -> FeedTarget | None:
        digest = hash_feed_token(token)
        cached = self._tokens.get(digest)
        if cached is not None and (cached[3] == stamp if stamp is not None else cached[2] > time.monotonic()):
            return cached[0]
        found = await self._call(self._lookup, token)
        if found is None:
            self._tokens.pop(digest, None)
            return None
        self._tokens[digest] = (found[0], found[1], time.monotonic() + self.token_ttl, stamp)
        if len(self._paths) >= _MAX_PATHS:  # only real tokens get here; rotations leave old ones behind
            self._paths.clear()
        self._paths[f"{FEED_PATH_PREFIX}{token}{_SUFFIX}".encode()] = digest
        return found[0]

    async def _prepared_for(self, target: FeedTarget, version: FeedVersion, now: dt.datetime) -> _Prepared | None:
        prepared = self._prepared.get(target)
        if prepared is not None and prepared.etag == version.etag:
            return prepared
        lock = self._locks.setdefault(target, asyncio.Lock())
        async with lock:  # one render per target at a time; the others then find it cached
            prepared = self._prepared.get(target)
            if prepared is not None and prepared.etag == version.etag:
                return prepared
            feed = await self._call(self.renderer.render, target, now=now)
            if feed is None:
                return None
            prepared = _prepare(feed)
            self._prepared.put(target, prepared)
            return prepared

    # -- the fast path (scheduler.web.fastpath) ----------------------------------------------------
    def _today(self) -> dt.date:
        """The local day now (on the real clock without building a datetime for each request)."""
        if not self._realtime:
            return self.clock().astimezone(_ZONE).date()
        day, start, end = self._day
        now = time.time()
        if start <= now < end:
            return day
        day = dt.datetime.fromtimestamp(now, _ZONE).date()
        start = dt.datetime.combine(day, dt.time(), tzinfo=_ZONE).timestamp()
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=_ZONE).timestamp()
        self._day = (day, start, end)
        return day

    def _wants_gzip(self, accept_encoding: bytes) -> bool:
        asked = self._gzip_asked.get(accept_encoding)
        if asked is None:
            if len(self._gzip_asked) >= 256:  # a few distinct values in practice; bounded anyway
                self._gzip_asked.clear()
            asked = self._gzip_asked[accept_encoding] = _wants_gzip(accept_encoding)
        return asked

    def answer_now(
        self, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]]
    ) -> tuple[bool, bytes, bytes] | None:
        """``(modified, header block, body)`` if the request can be answered from what is prepared, else None.

        ``url`` is the raw request target, ``headers`` the request's headers with lower-case
        names. The answer is the one ``__call__`` would give: the feed clock is read here too
        and must equal the stamp under which the token was looked up and the response was
        confirmed, and the local day must be the same. None (the caller then goes through the
        ASGI path, which does the rest) for anything else: another method, a query string,
        a token not looked up under this stamp, a response not confirmed under it, a gzip body
        not made yet, a database error.
        """
        if not self.inline or method not in (b"GET", b"HEAD"):
            return None
        digest = self._paths.get(url)
        if digest is None:
            return None
        try:
            stamp = self.feed_clock.read()
        except FeedClockError:
            return None  # the ASGI path reads it again and answers 503
        if stamp is None:
            return None
        cached = self._tokens.get(digest)
        # ``is`` first: while nothing is committed the reader returns the very stamp both were confirmed under
        if cached is None or (cached[3] is not stamp and cached[3] != stamp):
            return None
        prepared = self._prepared.get(cached[0])
        if prepared is None or prepared.day != self._today():
            return None
        if prepared.stamp is not stamp and prepared.stamp != stamp:
            return None
        if_none_match, if_modified_since, accept_encoding = _conditions(headers)
        gz = accept_encoding is not None and self._wants_gzip(accept_encoding)
        if _not_modified(prepared, if_none_match, if_modified_since):
            head = _raw_head(prepared, _RAW_304_GZ if gz else _RAW_304)
            return None if head is None else (False, head, b"")
        if gz:
            head = _raw_head(prepared, _RAW_200_GZ)
            return None if head is None or prepared.gzip_body is None else (True, head, prepared.gzip_body)
        head = _raw_head(prepared, _RAW_200)
        return None if head is None else (True, head, prepared.body)

    # -- ASGI ---------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # websockets and lifespan never reach here (see LofteApp)
            return
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await _send(send, 405, [*_TEXT, (b"allow", b"GET, HEAD")], _NOT_ALLOWED, method)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
            await _send(send, 400, _TEXT, _BAD_QUERY, method)
            return
        path: str = scope["path"]
        token = path[len(FEED_PATH_PREFIX) : -len(_SUFFIX)]
        if not (path.startswith(FEED_PATH_PREFIX) and path.endswith(_SUFFIX) and looks_like_token(token)):
            await _send(send, 404, _TEXT, _NOT_FOUND, method)
            return
        try:
            status, headers, body = await self._answer(scope, token)
        except (OperationalError, DBAPIError, FeedClockError) as exc:
            log.warning("feed request failed on the database: %s", exc.orig if isinstance(exc, DBAPIError) else exc)
            retry = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
            await _send(send, 503, _TEXT + retry, _UNAVAILABLE, method)
            return
        except Exception:
            log.exception("feed request failed")
            await _send(send, 500, _TEXT, _FAILED, method)
            return
        await _send(send, status, headers, body, method)

    async def _answer(self, scope: Scope, token: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        # The clock first: whatever is read after it is at least as new as the stamp.
        stamp = self.feed_clock.read() if self.inline else await self._call(self.feed_clock.read)
        target = await self._target(token, stamp)
        if target is None:
            return 404, _TEXT, _NOT_FOUND
        now = self.clock()
        day = now.astimezone(_ZONE).date()
        prepared = self._prepared.get(target)
        if prepared is None or stamp is None or prepared.stamp != stamp or prepared.day != day:
            version = await self._call(self.renderer.version, target, now=now)
            if version is None:  # the unit, promise or kommun is gone
                return 404, _TEXT, _NOT_FOUND
            prepared = await self._prepared_for(target, version, now)
            if prepared is None:
                return 404, _TEXT, _NOT_FOUND
            prepared.stamp, prepared.day = stamp, day
        if_none_match, if_modified_since, accept_encoding = _conditions(scope["headers"])
        gz = accept_encoding is not None and self._wants_gzip(accept_encoding)
        if _not_modified(prepared, if_none_match, if_modified_since):
            return 304, prepared.not_modified_gzip if gz else prepared.not_modified, b""
        if gz:
            if prepared.gzip_body is None:
                before = prepared.weight
                _add_gzip(prepared)
                self._prepared.grew(target, before)
            assert prepared.gzip_headers is not None  # noqa: S101 - set just above
            assert prepared.gzip_body is not None  # noqa: S101
            return 200, prepared.gzip_headers, prepared.gzip_body
        return 200, prepared.headers, prepared.body


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, method: str) -> None:
    if status == 304:
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})

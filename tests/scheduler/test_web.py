"""The web app through a real uvicorn server on loopback, on SQLite and PostgreSQL.

The database holds ``examples/astorp-2019.yaml`` loaded by ``lofte load``'s own code
and every feed (``ensure_feeds``); the app's clock is fixed inside the promise's year.
Requests go through ``http.client``, which sends exactly the path and headers given
(no path normalisation, no ``Accept-Encoding`` unless asked).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import gzip
import http.client
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa
import uvicorn
from sqlmodel import Session, col, select

from scheduler.config import load_settings
from scheduler.db import Activity, Occurrence, OccurrenceStatus, make_engine, session_scope
from scheduler.feeds import IssuedFeed, ensure_feeds, rotate
from scheduler.ical_feed import FeedRenderer
from scheduler.loader import load_file
from scheduler.store import record_completion
from scheduler.web import LofteApp, create_app
from scheduler.web.fastpath import server_config
from scheduler.web.feed import FeedEndpoint
from tests.conftest import EXAMPLES

LOADED_AT = dt.datetime(2019, 1, 2, 8, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2019, 3, 1, 8, 0, tzinfo=dt.UTC)


@dataclass
class Running:
    port: int
    app: LofteApp

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            body = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        finally:
            conn.close()

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, {k.replace("_", "-"): v for k, v in headers.items()})


@contextlib.contextmanager
def serve(app: LofteApp, *, fast_path: bool = True, **config: Any) -> Iterator[Running]:
    """``app`` on uvicorn in a thread, on a free loopback port, configured as ``lofte serve``
    does it (``server_config``: the feed fast path in front unless ``fast_path`` is false)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(server_config(app, fast_path=fast_path, log_level="warning", lifespan="off", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield Running(sock.getsockname()[1], app)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        app.close()


@dataclass
class World:
    engine: sa.Engine
    feeds: dict[str, IssuedFeed]  # by name
    settings: object

    def feed(self, scope: str, contains: str = "") -> IssuedFeed:
        return next(f for f in self.feeds.values() if f.info.scope.value == scope and contains in f.info.name)


@pytest.fixture
def world(engine: sa.Engine, tmp_path: Path) -> World:
    load_file(engine, EXAMPLES / "astorp-2019.yaml", now=LOADED_AT)
    with session_scope(engine) as session:
        issued = ensure_feeds(session, now=LOADED_AT)
    settings = load_settings(environ={"LOFTE_DATA_DIR": str(tmp_path)})
    return World(engine, {f.info.name: f for f in issued}, settings)


@pytest.fixture(params=["fast-path", "asgi"])
def server(world: World, request: pytest.FixtureRequest) -> Iterator[Running]:
    """The app as ``lofte serve`` runs it, and without the feed fast path: both must answer alike."""
    app = create_app(world.settings, engine=world.engine, now=lambda: NOW, base_url="https://lofte.example.se",  # type: ignore[arg-type]
                     issued=world.feeds.values(), token_ttl=0.3)  # fmt: skip
    with serve(app, fast_path=request.param == "fast-path") as running:
        yield running


# -- 200, 304, HEAD ---------------------------------------------------------------------------------
def test_feed_200_has_headers_and_a_calendar(server: Running, world: World) -> None:
    status, headers, body = server.get(world.feed("promise").path)
    assert status == 200
    assert headers["content-type"] == "text/calendar; charset=utf-8"
    assert headers["etag"].startswith('"')
    assert headers["etag"].endswith('"')
    assert headers["last-modified"].endswith(" GMT")
    assert headers["cache-control"] == "private, no-cache"
    assert int(headers["content-length"]) == len(body)
    assert "content-encoding" not in headers
    assert "www-authenticate" not in headers
    assert 'filename="Lofte - Medborgarlofte Astorp 2019.ics"' in headers["content-disposition"]
    calendar = icalendar.Calendar.from_ical(body)
    events = calendar.walk("VEVENT")
    assert len(events) >= 5
    assert {str(e["UID"]) for e in events} <= _uids(world.engine)


def _uids(engine: sa.Engine, unit_id: int | None = None) -> set[str]:
    with Session(engine) as session:
        query = select(Occurrence.uid).join(Activity, col(Activity.id) == Occurrence.activity_id)
        if unit_id is not None:
            query = query.where(Activity.unit_id == unit_id)
        return set(session.exec(query).all())


def test_unit_feed_shows_only_that_units_occurrences(server: Running, world: World) -> None:
    for feed in (f for f in world.feeds.values() if f.info.scope.value == "unit"):
        status, _, body = server.get(feed.path)
        assert status == 200
        from scheduler.db import FeedToken

        with Session(world.engine) as session:
            unit_id = session.get(FeedToken, feed.info.id).unit_id  # type: ignore[union-attr]
        uids = {str(e["UID"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}
        assert uids <= _uids(world.engine, unit_id), feed.info.name


def test_304_on_if_none_match(server: Running, world: World) -> None:
    path = world.feed("promise").path
    _, headers, body = server.get(path)
    etag = headers["etag"]
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        status, again, rest = server.get(path, if_none_match=sent)
        assert (status, rest) == (304, b""), sent
        assert again["etag"] == etag
        assert again["last-modified"] == headers["last-modified"]
    status, _, full = server.get(path, if_none_match='"not-the-etag"')
    assert (status, full) == (200, body)


def test_304_on_if_modified_since_only_when_it_really_matches(server: Running, world: World) -> None:
    path = world.feed("promise").path
    _, headers, _ = server.get(path)
    last = headers["last-modified"]
    assert server.get(path, if_modified_since=last)[0] == 304
    earlier = email.utils.format_datetime(
        email.utils.parsedate_to_datetime(last) - dt.timedelta(seconds=1), usegmt=True
    )
    assert server.get(path, if_modified_since=earlier)[0] == 200
    assert server.get(path, if_modified_since="inte ett datum")[0] == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2)
    assert server.get(path, if_none_match='"x"', if_modified_since=last)[0] == 200


def test_head_sends_the_headers_without_a_body(server: Running, world: World) -> None:
    path = world.feed("kommun").path
    _, get_headers, body = server.get(path)
    status, headers, head_body = server.request("HEAD", path)
    assert status == 200
    assert head_body == b""
    assert headers["content-length"] == str(len(body))
    assert headers["etag"] == get_headers["etag"]
    assert headers["content-type"] == "text/calendar; charset=utf-8"
    assert server.request("HEAD", path, {"If-None-Match": headers["etag"]})[0] == 304


def test_gzip_only_when_asked(server: Running, world: World) -> None:
    path = world.feed("promise").path
    _, plain_headers, plain = server.get(path)
    status, headers, body = server.get(path, accept_encoding="gzip, deflate")
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == plain
    assert headers["etag"] != plain_headers["etag"]
    assert int(headers["content-length"]) == len(body)
    assert server.get(path, accept_encoding="gzip", if_none_match=headers["etag"])[0] == 304
    for refused in ("gzip;q=0", "identity", "br", ""):
        _, headers, body = server.get(path, accept_encoding=refused)
        assert "content-encoding" not in headers, refused
        assert body == plain


# -- bad input ---------------------------------------------------------------------------------------
BAD_PATHS = [
    "/feeds/" + "A" * 43 + ".ics",  # well-formed, unknown
    "/feeds/short.ics",
    "/feeds/" + "A" * 43,
    "/feeds/" + "A" * 43 + ".ics/",
    "/feeds/" + "A" * 43 + ".ICS",
    "/feeds/" + "A" * 200 + ".ics",
    "/feeds/../secret_key",
    "/feeds/..%2Fsecret_key.ics",
    "/feeds/%2e%2e/%2e%2e/etc/passwd.ics",
    "/feeds/" + "A" * 40 + "%00.ics",
    "/feeds/",
    "/feeds/%C3%A5%C3%A4%C3%B6" + "A" * 40 + ".ics",
]


def test_unknown_or_malformed_token_is_a_plain_404(server: Running) -> None:
    for path in BAD_PATHS:
        status, headers, body = server.get(path)
        assert status == 404, path
        assert "www-authenticate" not in headers
        assert headers["content-type"] == "text/plain; charset=utf-8"
        assert "Kalendern finns inte" in body.decode()


def test_a_token_followed_by_traversal_is_404(server: Running, world: World) -> None:
    token = world.feed("promise").token
    for path in (f"/feeds/{token}.ics/../../secret_key", f"/feeds/{token}/../x.ics", f"/feeds/x/../{token}.ics"):
        assert server.get(path)[0] == 404, path


def test_query_strings(server: Running, world: World) -> None:
    path = world.feed("promise").path
    assert server.get(path + "?utm=1&x=%00")[0] == 200  # ignored
    status, headers, body = server.get(path + "?" + "a=" + "x" * 5000)
    assert status == 400
    assert "frågesträngen" in body.decode()
    assert "www-authenticate" not in headers


def test_other_methods_are_405(server: Running, world: World) -> None:
    status, headers, _ = server.request("POST", world.feed("promise").path)
    assert status == 405
    assert headers["allow"] == "GET, HEAD"


# -- the feed fast path (scheduler.web.fastpath) --------------------------------------------------------
def _raw_exchange(port: int, data: bytes, *, methods: list[str]) -> list[tuple[bytes, dict[bytes, bytes], bytes]]:
    """Send ``data`` as is and read the responses to its requests (``methods``, in order) off the socket."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        buffer = b""
        out: list[tuple[bytes, dict[bytes, bytes], bytes]] = []
        for method in methods:
            while b"\r\n\r\n" not in buffer:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed after {len(out)} responses"
                buffer += chunk
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            status, *lines = head.split(b"\r\n")
            headers = {k.lower(): v for k, _, v in (line.partition(b": ") for line in lines)}
            length = 0 if status.split()[1] == b"304" or method == "HEAD" else int(headers[b"content-length"])
            while len(buffer) < length:
                chunk = sock.recv(65536)
                assert chunk
                buffer += chunk
            out.append((status, headers, buffer[:length]))
            buffer = buffer[length:]
        return out


def _asgi_calls(app: LofteApp) -> list[int]:
    """Counts the feed requests that reach the ASGI path (the fast path answers the others)."""
    calls = [0]
    inner = app.feeds._answer

    async def counted(*args: object) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        calls[0] += 1
        return await inner(*args)  # type: ignore[arg-type]

    app.feeds._answer = counted  # type: ignore[method-assign]
    return calls


def test_the_fast_path_answers_current_feeds_and_sees_changes(world: World) -> None:
    if world.engine.dialect.name != "sqlite":
        pytest.skip("the fast path answers on SQLite only: PostgreSQL's clock read is a round trip, off the loop")
    app = create_app(world.settings, engine=world.engine, now=lambda: NOW,  # type: ignore[arg-type]
                     base_url="https://lofte.example.se")  # fmt: skip
    calls = _asgi_calls(app)
    path = world.feed("promise").path
    with serve(app) as running:
        status, headers, body = running.get(path)  # the first request renders, on the ASGI path
        assert (status, calls[0]) == (200, 1)
        etag = headers["etag"]
        for _ in range(3):
            assert running.get(path, if_none_match=etag)[:2:2] == (304,)
            again = running.get(path)
            assert (again[0], again[2], again[1]["etag"]) == (200, body, etag)
            assert running.request("HEAD", path)[1]["content-length"] == str(len(body))
        assert calls[0] == 1  # every later request was answered in the protocol
        with session_scope(make_engine(world.engine.url)) as session:  # another instance changes the feed
            occurrence = session.exec(
                select(Occurrence).where(Occurrence.status == OccurrenceStatus.PLANNED).order_by(col(Occurrence.day))
            ).first()
            assert occurrence is not None
            occurrence.day += dt.timedelta(days=1)
        status, changed, _ = running.get(path, if_none_match=etag)
        assert (status, calls[0]) == (200, 2)  # the very next request saw it, through the ASGI path
        assert changed["etag"] != etag
        assert running.get(path, if_none_match=changed["etag"])[0] == 304
        assert calls[0] == 2
        assert running.get(path, accept_encoding="gzip")[1]["content-encoding"] == "gzip"  # made once, then fast
        assert running.get(path, accept_encoding="gzip")[1]["content-encoding"] == "gzip"
        assert calls[0] == 3


def test_fast_and_asgi_paths_send_the_same_bytes(world: World) -> None:
    path = world.feed("kommun").path
    answers = []
    for fast in (True, False):
        app = create_app(world.settings, engine=world.engine, now=lambda: NOW,  # type: ignore[arg-type]
                         base_url="https://lofte.example.se")  # fmt: skip
        with serve(app, fast_path=fast) as running:
            etag = running.get(path)[1]["etag"]  # the first request renders
            requests = (
                f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"
                f"GET {path} HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n"
                f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n"
            ).encode()
            got = _raw_exchange(running.port, requests, methods=["GET", "GET", "HEAD"])
        for _, headers, _ in got:
            headers.pop(b"date")
        answers.append(got)
    assert answers[0] == answers[1]
    assert [status for status, _, _ in answers[0]] == [b"HTTP/1.1 200 OK", b"HTTP/1.1 304 Not Modified",
                                                       b"HTTP/1.1 200 OK"]  # fmt: skip


def test_the_fast_path_keeps_order_and_connection_semantics(world: World) -> None:
    app = create_app(world.settings, engine=world.engine, now=lambda: NOW,  # type: ignore[arg-type]
                     base_url="https://lofte.example.se")  # fmt: skip
    path = world.feed("promise").path
    with serve(app) as running:
        body = running.get(path)[2]
        # pipelined: a page (ASGI, slower) then the feed: the answers come in the order asked
        pipelined = f"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        (first, _, _), (_, _, feed) = _raw_exchange(running.port, pipelined, methods=["GET", "GET"])
        assert first.startswith(b"HTTP/1.1 200")
        assert feed == body
        # HTTP/1.0 and Connection: close get their answer, then the connection is closed
        for request in (f"GET {path} HTTP/1.0\r\n\r\n", f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
                sock.sendall(request.encode())
                received = b""
                while chunk := sock.recv(65536):
                    received += chunk
            assert received.endswith(body), request
            assert b"connection: close" in received.split(b"\r\n\r\n", 1)[0].lower()


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "asgi"])
def test_an_idle_connection_is_closed_after_the_keep_alive_timeout_and_not_before(world: World, fast: bool) -> None:
    """The fast path keeps one idle timer per connection (not a new one per request): a connection that
    asks again within the timeout stays open however long it lives, and one that goes quiet is closed
    the timeout after its last answer, as uvicorn does it."""
    app = create_app(world.settings, engine=world.engine, now=lambda: NOW,  # type: ignore[arg-type]
                     base_url="https://lofte.example.se")  # fmt: skip
    path = world.feed("promise").path
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    with serve(app, fast_path=fast, timeout_keep_alive=1) as running:
        running.get(path)  # rendered: the next ones are answered on the fast path (if on)
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
            for _ in range(8):  # 8 x 0.3 s: longer than the timeout, but never idle that long
                sock.sendall(request)
                _read_response(sock)
                time.sleep(0.3)
            sock.sendall(request)
            _read_response(sock)
            answered = time.monotonic()
            sock.settimeout(5)
            assert sock.recv(1) == b""  # closed by the server
            idle = time.monotonic() - answered
        assert 0.9 <= idle < 3, idle


def test_one_connection_gets_the_right_status_line_and_a_current_date(world: World) -> None:
    """The fast path keeps a connection's last status line and headers: 200 and 304 alternate
    correctly on one connection, and the Date header still moves with the clock."""
    app = create_app(world.settings, engine=world.engine, now=lambda: NOW,  # type: ignore[arg-type]
                     base_url="https://lofte.example.se")  # fmt: skip
    path = world.feed("promise").path
    with serve(app) as running:
        etag = running.get(path)[1]["etag"]
        plain = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        conditional = f"GET {path} HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
            seen = []
            for request in (plain, conditional, plain, plain, conditional):
                sock.sendall(request)
                seen.append(_read_head(sock)[:2])
            time.sleep(1.1)
            sock.sendall(plain)
            seen.append(_read_head(sock)[:2])
    assert [status for status, _ in seen] == [b"200", b"304", b"200", b"200", b"304", b"200"]
    assert all(headers[b"etag"] == etag.encode() for _, headers in seen)
    assert seen[-1][1][b"date"] != seen[0][1][b"date"]


def _read_head(sock: socket.socket) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """The status code, headers and body of the next response on ``sock`` (exactly that: nothing more sent)."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, "closed before the answer"
        buffer += chunk
    head, body = buffer.split(b"\r\n\r\n", 1)
    status, *lines = head.split(b"\r\n")
    headers = {k.lower(): v for k, _, v in (line.partition(b": ") for line in lines)}
    length = int(headers.get(b"content-length", b"0")) if status.split()[1] == b"200" else 0
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    assert len(body) == length  # nothing more: the next answer comes only after the next request
    return status.split()[1], headers, body


def _read_response(sock: socket.socket) -> bytes:
    status, _, body = _read_head(sock)
    assert status == b"200", status
    return body


# -- freshness across changes and instances ------------------------------------------------------------
def test_a_change_gives_200_with_a_new_etag_on_every_instance(server: Running, world: World) -> None:
    other_engine = make_engine(world.engine.url)
    other = create_app(world.settings, engine=other_engine, now=lambda: NOW,  # type: ignore[arg-type]
                       base_url="https://lofte.example.se")  # fmt: skip
    path = world.feed("promise").path
    with contextlib.ExitStack() as stack:
        stack.callback(other_engine.dispose)
        second = stack.enter_context(serve(other))
        _, first_headers, _ = server.get(path)
        etag = first_headers["etag"]
        assert second.get(path)[1]["etag"] == etag
        with session_scope(world.engine) as session:
            occurrence = session.exec(
                select(Occurrence)
                .where(Occurrence.status == OccurrenceStatus.PLANNED, col(Occurrence.day) >= NOW.date())
                .order_by(col(Occurrence.day))
            ).first()
            assert occurrence is not None
            activity = session.get(Activity, occurrence.activity_id)
            assert activity is not None
            record_completion(session, activity=activity, done_on=occurrence.day, recorded_by="test",
                              now=NOW, occurrence=occurrence)  # fmt: skip
            uid = occurrence.uid
        for running in (server, second):
            status, headers, body = running.get(path, if_none_match=etag)
            assert status == 200
            assert headers["etag"] != etag
            event = next(e for e in icalendar.Calendar.from_ical(body).walk("VEVENT") if str(e["UID"]) == uid)
            assert int(event["SEQUENCE"]) >= 1


def test_a_hand_written_update_reaches_the_served_feed(server: Running, world: World) -> None:
    """An UPDATE by hand (psql, sqlite3) that does not set updated_at: the next request gets the new body."""
    path = world.feed("promise").path
    status, headers, _ = server.get(path)
    assert status == 200
    assert server.get(path, if_none_match=headers["etag"])[0] == 304
    with world.engine.begin() as connection:
        hand = sa.text("UPDATE activity SET title = :title WHERE key = :key")  # plain SQL, no updated_at
        connection.execute(hand, {"title": "Handändrad aktivitet", "key": "informationskvallar"})
    status, changed, new_body = server.get(path, if_none_match=headers["etag"])
    assert status == 200
    assert changed["etag"] != headers["etag"]
    assert "Handändrad aktivitet" in new_body.decode()
    assert server.get(path, if_none_match=changed["etag"])[0] == 304


def test_rotation_kills_the_old_url(server: Running, world: World) -> None:
    feed = world.feed("promise")
    assert server.get(feed.path)[0] == 200  # now cached in the server
    with session_scope(world.engine) as session:
        new = rotate(session, feed.info.id, now=NOW)
    time.sleep(0.35)  # the server's token_ttl is 0.3 s (a rotation by another process)
    assert server.get(feed.path)[0] == 404
    assert server.get(f"/feeds/{new}.ics")[0] == 200


def test_deleted_promise_gives_404(server: Running, world: World) -> None:
    feed = world.feed("kommun")
    assert server.get(feed.path)[0] == 200
    with session_scope(world.engine) as session:
        session.exec(sa.delete(sa.table("promise")))  # type: ignore[call-overload]
    assert server.get(feed.path)[0] == 404


def test_locked_sqlite_gives_503_with_retry_after(server: Running, world: World) -> None:
    if world.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's file lock; PostgreSQL readers are never blocked by writers")
    path = world.feed("promise").path
    # In WAL mode readers are blocked only by an exclusive lock (a writer in
    # locking_mode EXCLUSIVE, as during some maintenance), and only while no pooled
    # connection is open: close them, then take the lock.
    world.engine.dispose()
    server.app.feeds.engine.dispose()
    locker = sqlite3.connect(world.engine.url.database, isolation_level=None)  # type: ignore[arg-type]
    try:
        locker.execute("PRAGMA locking_mode=EXCLUSIVE")
        locker.execute("BEGIN EXCLUSIVE")
        locker.execute("UPDATE promise SET notes = 'låst' WHERE 1 = 0")
        started = time.monotonic()
        status, headers, body = server.get(path)
        assert time.monotonic() - started < 2  # the feed path gives up quickly (LOCKED_TIMEOUT_MS)
        assert status == 503
        assert headers["retry-after"] == "5"
        assert "databasen är upptagen" in body.decode()
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert server.get(path)[0] == 200


# -- pages ------------------------------------------------------------------------------------------------
def test_pages_render_swedish(server: Running, world: World) -> None:
    status, headers, body = server.get("/")
    text = body.decode()
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert '<html lang="sv">' in text
    assert 'href="/loften/astorp-2019"' in text
    assert "Medborgarlöfte Åstorp 2019" in text

    text = server.get("/loften/astorp-2019")[2].decode()
    assert "Tolkning:" in text
    key = text.split('href="/loften/astorp-2019/aktiviteter/', 1)[1].split('"', 1)[0]
    status, _, body = server.get(f"/loften/astorp-2019/aktiviteter/{key}")
    assert status == 200
    assert "Så förstår Löfte meningen" in body.decode()
    assert "Kommande tillfällen" in body.decode()

    status, _, body = server.get("/kalendrar")
    text = body.decode()
    assert status == 200
    for words in ("Prenumerera från webben", "Google Kalender", "Apple Kalender", "Klassiska Outlook", "Nya Outlook"):
        assert words in text
    feed = world.feed("promise")
    assert f"https://lofte.example.se/feeds/{feed.token}.ics" in text
    assert f"webcal://lofte.example.se/feeds/{feed.token}.ics" in text
    assert "Skapa ny adress" not in text  # rotating from the page is for the demo only (no login yet)

    status, _, body = server.get("/loften/finns-inte")
    assert status == 404
    assert "Sidan finns inte" in body.decode()
    assert server.get("/healthz")[:3:2] == (200, b"ok\n")
    assert server.get("/static/lofte.css")[0] == 200


def test_upcoming_occurrences_follow_the_clock(server: Running, world: World) -> None:
    with Session(world.engine) as session:
        occurrence = session.exec(
            select(Occurrence).where(col(Occurrence.day) >= NOW.date()).order_by(col(Occurrence.day))
        ).first()
        assert occurrence is not None
        activity = session.get(Activity, occurrence.activity_id)
        assert activity is not None
    text = server.get(f"/loften/astorp-2019/aktiviteter/{activity.key}")[2].decode()
    assert "Från och med 1 mars 2019" in text
    assert str(occurrence.day.day) in text


def test_rotating_from_the_demo_page(world: World) -> None:
    app = create_app(world.settings, engine=world.engine, now=lambda: NOW, base_url="http://127.0.0.1:1",  # type: ignore[arg-type]
                     issued=world.feeds.values(), allow_rotate=True, demo=True)  # fmt: skip
    feed = world.feed("promise")
    with serve(app) as running:
        assert running.get(feed.path)[0] == 200
        page = running.get("/kalendrar")[2].decode()
        assert "Demoläge" in page
        assert "Skapa ny adress" in page
        status, _, body = running.request("POST", f"/kalendrar/{feed.info.id}/ny-adress")
        assert status == 200
        assert "En ny adress är skapad" in body.decode()
        assert running.get(feed.path)[0] == 404  # at once: the page rotated through this process
        new = body.decode().split(f'id="kalender-{feed.info.id}"', 1)[1].split("/feeds/", 1)[1].split(".ics", 1)[0]
        assert running.get(f"/feeds/{new}.ics")[0] == 200
        assert running.request("POST", "/kalendrar/999999/ny-adress")[0] == 404


# -- the feed path's own real clock ---------------------------------------------------------------------
def test_the_real_clocks_local_day_turns_at_stockholm_midnight(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With the real clock (``lofte serve``), the feed path reads the local day from ``time.time``
    and a cached day span; it must turn exactly at midnight in Stockholm, DST days included."""
    from scheduler.web import feed as feed_module

    engine = make_engine(sa.URL.create("sqlite+pysqlite", database=str(tmp_path / "clock.sqlite3")))
    endpoint = FeedEndpoint(FeedRenderer(engine, base_url="https://x"), engine)  # no clock: the real one
    stockholm = ZoneInfo("Europe/Stockholm")
    now = [0.0]
    monkeypatch.setattr(feed_module.time, "time", lambda: now[0])
    for day in (dt.date(2026, 3, 28), dt.date(2026, 3, 29), dt.date(2026, 10, 24), dt.date(2026, 10, 25),
                dt.date(2026, 12, 31)):  # fmt: skip
        midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=stockholm).timestamp()
        for offset in (-86_000.0, -3_600.5, -1.0, -0.001, 0.0, 0.001, 3_600.0):
            now[0] = midnight + offset
            expected = dt.datetime.fromtimestamp(now[0], stockholm).date()
            assert endpoint._today() == expected, (day, offset)
    engine.dispose()

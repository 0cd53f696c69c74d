"""The feed fast path: current feeds answered inside uvicorn's HTTP protocol, before ASGI.

A calendar client asks for its feed every few minutes to hours, and nearly every answer
is "unchanged" (304) or the same bytes as last time. On uvicorn even a bare ASGI callable
pays for a scope, a request/response cycle object, an asyncio task and two ``send``
awaits per request, and that per-request cost, not the feed, is what limited throughput
(bench/bench_feed_http.py: 0.32× nginx for 200, 0.18× for 304).

``feed_protocol(endpoint)`` returns a subclass of uvicorn's httptools protocol that,
when the request line and headers are parsed, asks ``FeedEndpoint.answer_now`` whether
the request can be answered from what is already prepared. ``answer_now`` does the
same checks as the ASGI path (``scheduler.web.feed``), including reading the feed clock
on every request, so a change made by another instance is seen by the very next
request. If it can, the protocol writes the prepared status line, headers and body to
the transport at once; if not (an unknown or new token, a version not yet rendered, a
database error, any method other than GET or HEAD, a query string or percent-encoding,
a request pipelined behind one still in flight), the request goes on to uvicorn's
usual path and the ASGI app answers it, exactly as without the fast path. Both paths
answer with the same status, headers and body; ``tests/scheduler/test_web.py`` runs its
feed tests on both.

Not used when uvicorn's access log is on (those requests would be missing from it) or
when the app is mounted under a root path.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from scheduler.web.feed import FeedEndpoint

__all__ = ["feed_protocol"]

_FEEDS = b"/feeds/"
_304 = STATUS_LINE[304]
_200 = STATUS_LINE[200]
_CLOSE = b"connection: close\r\n"


def feed_protocol(endpoint: FeedEndpoint) -> type[HttpToolsProtocol]:
    """A uvicorn ``http`` protocol class (``uvicorn.Config(http=...)``) with the fast path to ``endpoint``."""

    class FeedFastPathProtocol(HttpToolsProtocol):
        # Set when the current request was answered by the fast path: its body (if any)
        # and its end are then ignored, as uvicorn ignores them after a response.
        _answered = False

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._fast = not self.access_log and not self.root_path
            self._defaults_for: object = None
            self._defaults = b""
            self._last: tuple[bytes, bytes] | None = None
            # The keep-alive timeout after a fast answer: one timer per connection, moved on
            # only when it fires early, instead of a new timer for every request (cancelling
            # one and making another costs about 1.5 µs, some 7 % of a whole 200).
            self._idle_since: float | None = None  # None: busy (a request arrived and is not answered)
            self._idle_timer: asyncio.TimerHandle | None = None

        def connection_lost(self, exc: Exception | None) -> None:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
            super().connection_lost(exc)

        def _unset_keepalive_if_required(self) -> None:
            self._idle_since = None  # uvicorn calls this when data arrives and before it answers
            super()._unset_keepalive_if_required()

        def _idle(self) -> None:
            """The connection waits for its next request from now: close it after ``timeout_keep_alive`` of that."""
            self._idle_since = self.loop.time()
            if self._idle_timer is None:
                self._idle_timer = self.loop.call_later(self.timeout_keep_alive, self._idle_check)

        def _idle_check(self) -> None:
            self._idle_timer = None
            since = self._idle_since
            if since is None:
                return  # busy now; the answer arms a timeout again (this one or uvicorn's own)
            left = since + self.timeout_keep_alive - self.loop.time()
            if left > 0:
                self._idle_timer = self.loop.call_later(left, self._idle_check)
            else:
                self.timeout_keep_alive_handler()

        def on_message_begin(self) -> None:
            # What uvicorn's on_message_begin does minus the ASGI scope, which only a
            # request that goes on to the app needs (made in _begin_asgi).
            self._answered = False
            self.url = b""
            self.expect_100_continue = False
            self.headers = []

        def _begin_asgi(self) -> None:
            # Busy until the app answers (then uvicorn arms its own timeout): also when this request
            # came in the same read as one the fast path answered, which armed the idle timer.
            self._unset_keepalive_if_required()
            url, headers, expect = self.url, self.headers, self.expect_100_continue
            super().on_message_begin()  # the scope, with a new (empty) headers list in it
            self.url, self.expect_100_continue = url, expect
            self.headers.extend(headers)

        def on_headers_complete(self) -> None:
            url = self.url
            if (
                self._fast
                and url.startswith(_FEEDS)
                and (self.cycle is None or self.cycle.response_complete)
                and not self.pipeline
                and not self.parser.should_upgrade()
            ):
                parser = self.parser
                method = parser.get_method()
                answer = endpoint.answer_now(method, url, self.headers)
                if answer is not None:
                    keep_alive = parser.should_keep_alive() and parser.get_http_version() != "1.0"
                    self._send_fast(answer, method == b"HEAD", keep_alive)
                    return
            self._begin_asgi()
            super().on_headers_complete()

        def _send_fast(self, answer: tuple[bool, bytes, bytes], head_only: bool, keep_alive: bool) -> None:
            modified, head, body = answer
            defaults = self.server_state.default_headers  # the Date header, renewed every second
            if defaults is not self._defaults_for:
                self._defaults_for = defaults
                self._defaults = b"".join(name + b": " + value + b"\r\n" for name, value in defaults)
                self._last = None
            # A connection asks for the same feed again and again: its last status line and
            # headers are kept (for this second's Date), keyed by the prepared header block.
            last = self._last
            if keep_alive and last is not None and last[0] is head:
                full = last[1]
            else:
                full = (_200 if modified else _304) + self._defaults + (b"" if keep_alive else _CLOSE) + head
                if keep_alive:
                    self._last = (head, full)
            transport = self.transport
            if modified and not head_only:
                transport.writelines((full, body))
            else:
                transport.write(full)
            self._answered = True
            self.server_state.total_requests += 1
            if not keep_alive:
                transport.close()
            elif not transport.is_closing():
                self._idle()  # data_received marked the connection busy before parsing this request

        def on_body(self, body: bytes) -> None:
            if not self._answered:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self._answered:
                super().on_message_complete()

    return FeedFastPathProtocol


def server_config(app: Any, *, access_log: bool = False, fast_path: bool = True, **kwargs: Any) -> Any:
    """``uvicorn.Config`` for ``app`` (a ``LofteApp``): httptools, with the feed fast path unless
    ``fast_path`` is false or the access log is on (then uvicorn's own protocol)."""
    import uvicorn  # noqa: PLC0415 - only the server needs it

    http: Any = feed_protocol(app.feeds) if fast_path and not access_log else "httptools"
    return uvicorn.Config(app, http=http, access_log=access_log, **kwargs)

"""The web app: ``create_app(settings)`` builds the FastAPI application ``lofte serve`` runs.

Routes (pages are Swedish HTML from ``templates/pages``, Jinja2 with autoescape on):

=========================================  ======================================================
``/``                                      start page: the promises, with links
``/kalendrar``                             the calendar feeds, with subscription instructions
``/loften/{slug}``                         one promise: its activities and how each is read
``/loften/{slug}/aktiviteter/{key}``       one activity: sentence, reading, upcoming occurrences
``/healthz``                               ``ok`` when the database answers (503 otherwise)
``/static/...``                            the stylesheet
``/feeds/{token}.ics``                     the feeds: a bare ASGI path (``scheduler.web.feed``)
=========================================  ======================================================

``LofteApp`` is a ``FastAPI`` whose ``__call__`` hands ``/feeds/`` to the
``FeedEndpoint`` before FastAPI's middleware stack and router, so a calendar client's
poll costs a few function calls plus the freshness query.

Feed addresses on ``/kalendrar``: only token hashes are stored, so a feed's address is
known only when its token was just created or rotated. The page therefore lists every
feed and shows the full https and webcal links only for the tokens this process
issued (``issued``: ``lofte serve --demo`` creates all of them at start-up, so the
demo page shows every link). With ``allow_rotate`` (the demo) each feed has a button
that rotates its token and then shows the new link; outside the demo, rotating is
``lofte feeds --rotate ID`` until coordinators can log in.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from scheduler.config import Settings
from scheduler.db import make_engine
from scheduler.db.engine import _on_sqlite_connect
from scheduler.feeds import FEED_PATH_PREFIX, IssuedFeed
from scheduler.ical_feed import FeedRenderer
from scheduler.web import api, dashboard, import_page, pages, report, session
from scheduler.web.feed import LOCKED_TIMEOUT_MS, RETRY_AFTER_SECONDS, FeedEndpoint, Receive, Scope, Send

__all__ = ["TEMPLATES_DIR", "LofteApp", "create_app", "feed_engine"]

log = logging.getLogger(__name__)

#: ``templates/`` at the root of the checkout (pages are under ``pages/``).
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


class LofteApp(FastAPI):
    """FastAPI with the feed path in front: ``/feeds/...`` never enters the middleware stack."""

    feeds: FeedEndpoint

    def close(self) -> None:
        """Close the database connections the app opened itself (the feed path's engine and clock)."""
        self.feeds.close()
        if self.feeds.engine is not self.state.engine:
            self.feeds.engine.dispose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(FEED_PATH_PREFIX):
            await self.feeds(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def feed_engine(engine: sa.Engine) -> sa.Engine:
    """The engine the feed path uses: on SQLite a second engine on the same file whose
    connections give up on a writer's lock after ``LOCKED_TIMEOUT_MS`` (the feed path
    runs in the event loop and answers 503); on other backends ``engine`` itself."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return engine
    fast = make_engine(engine.url)
    # make_engine's connection setup waits up to 5 s for a lock (and switching to WAL
    # takes one); a reader only needs a short busy timeout: the file is already in WAL
    # mode, put there by the main engine.
    sa.event.remove(fast, "connect", _on_sqlite_connect)

    @sa.event.listens_for(fast, "do_connect")
    def _short_connect_timeout(_dialect: Any, _record: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        kwargs["timeout"] = LOCKED_TIMEOUT_MS / 1000

    @sa.event.listens_for(fast, "connect")
    def _reader_setup(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={LOCKED_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    return fast


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "pages"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


def create_app(
    settings: Settings,
    *,
    engine: sa.Engine | None = None,
    now: Callable[[], dt.datetime] | None = None,
    base_url: str | None = None,
    issued: Iterable[IssuedFeed] = (),
    allow_rotate: bool = False,
    token_ttl: float = 5.0,
    demo: bool = False,
) -> LofteApp:
    """The web app over ``engine`` (default: the configured database).

    ``now`` is the clock (default: the real one, aware UTC); ``base_url`` the public
    address (default: ``settings.base_url``, else ``http://127.0.0.1:8000``);
    ``issued`` the feeds whose plaintext tokens this process knows (shown on
    ``/kalendrar``); ``allow_rotate`` lets ``/kalendrar`` rotate tokens (the demo only,
    until login exists); ``token_ttl`` how long a token lookup is cached.
    """
    engine = engine or make_engine(settings=settings)
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    base = (base_url or settings.base_url or "http://127.0.0.1:8000").rstrip("/")
    fast_engine = feed_engine(engine)
    renderer = FeedRenderer(fast_engine, base_url=base)

    app = LofteApp(title="Löfte", docs_url=None, redoc_url=None, openapi_url=None)
    # now=None: the feed path keeps its own real clock, which reads the local day without a datetime
    app.feeds = FeedEndpoint(renderer, fast_engine, clock=now, token_ttl=token_ttl)
    app.state.settings = settings
    app.state.engine = engine
    app.state.clock = clock
    app.state.base_url = base
    app.state.templates = _templates()
    app.state.known_tokens = {feed.info.id: feed.token for feed in issued}
    app.state.allow_rotate = allow_rotate
    app.state.demo = demo
    app.state.zone = ZoneInfo("Europe/Stockholm")
    app.mount("/static", StaticFiles(directory=TEMPLATES_DIR / "pages" / "static"), name="static")
    # Login, sessions and the coordinator's pages first: their "/" sends a logged-in user
    # to the overview and otherwise shows pages.start.
    session.install(app, secret_key=settings.secret_key, https=base.startswith("https://"))
    app.include_router(dashboard.router)
    app.include_router(report.router)
    app.include_router(import_page.router)
    app.mount("/api/v1", api.create_api(app))
    app.include_router(pages.router)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "Sidan finns inte.", 405: "Metoden stöds inte här."}
        text = messages.get(exc.status_code, str(exc.detail) if exc.detail else "Förfrågan kunde inte utföras.")
        return _error_page(request, exc.status_code, text)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        log.warning("page request failed on the database: %s", exc.orig)
        response = _error_page(
            request, 503, "Databasen är upptagen eller svarar inte just nu. Försök igen om en stund."
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("page request failed", exc_info=exc)
        return PlainTextResponse("Internt fel: sidan kunde inte visas. Felet är loggat.\n", status_code=500)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except DBAPIError:
            return PlainTextResponse("databasen svarar inte\n", status_code=503)
        return PlainTextResponse("ok\n")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.post("/kalendrar/{feed_id}/ny-adress", include_in_schema=False)
    def rotate_feed(request: Request, feed_id: int) -> Response:
        return pages.rotate_feed(request, feed_id)

    app.add_api_route("/kalendrar/", lambda: RedirectResponse("/kalendrar", status_code=308), include_in_schema=False)
    return app


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "title": "Fel", "demo": request.app.state.demo},
        status_code=status,
    )

"""Login, the signed session cookie, CSRF tokens, API keys and the throttle on failed logins.

Sessions
--------
Starlette's ``SessionMiddleware`` keeps the session in a cookie signed with a key
derived from ``settings.secret_key`` (HMAC with a purpose string, so the cookie and
the one-click links never share a key): ``lofte_session``, HttpOnly, SameSite=Lax,
``Secure`` when the public base URL is https, and a lifetime of
``SESSION_MAX_AGE`` (8 hours, a working day). The cookie holds the user's id, name
and the CSRF token; each protected request loads the user again, so a deactivated
account is out at once. Logging in starts a new session (no fixation); logging out
clears it.

CSRF
----
Every form carries ``csrf_token(request)`` (``scheduler.auth.new_csrf_token``, kept
in the session); every POST checks it with ``scheduler.auth.csrf_ok``. The JSON API
takes the same token in the ``X-CSRF-Token`` header when called with the session
cookie; calls with an API key (``Authorization: Bearer ...``) need none.

API keys
--------
``issue_api_key(secret, user)`` signs ``{user id, fingerprint of the password hash,
random nonce}`` (itsdangerous, its own salt). Nothing is stored: a key is valid while
the account is active and its password unchanged, so ``lofte user passwd`` (or a
new password) revokes every key of that user.

Throttling
----------
``LoginThrottle``: after ``MAX_FAILURES`` failed logins for one username within
``FAILURE_WINDOW``, or ``MAX_FAILURES_PER_ADDRESS`` from one client address, further
attempts are refused for the rest of the window with a Swedish message, before any
password is checked. The per-address limit is higher because behind a reverse proxy
(unless uvicorn is told to trust ``X-Forwarded-For``) every user shares the proxy's
address. Kept per process: a restart forgets it.

Forms are read with ``read_form`` (URL-encoded bodies only, at most
``MAX_FORM_BYTES``), so no multipart parser is needed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from scheduler.auth import authenticate, csrf_ok, new_csrf_token, visible_kommuner
from scheduler.db import User

__all__ = [
    "API_KEY_PREFIX",
    "FAILURE_WINDOW",
    "MAX_FAILURES",
    "MAX_FAILURES_PER_ADDRESS",
    "MAX_FORM_BYTES",
    "SESSION_COOKIE",
    "SESSION_MAX_AGE",
    "CurrentUser",
    "FormError",
    "LoginRequired",
    "LoginThrottle",
    "api_key_user",
    "check_csrf",
    "csrf_token",
    "current_user",
    "install",
    "issue_api_key",
    "read_form",
    "render",
    "require_user",
    "router",
]

SESSION_COOKIE = "lofte_session"
#: Seconds a session lasts: one working day.
SESSION_MAX_AGE = 8 * 60 * 60
#: Failed logins per username before the throttle refuses.
MAX_FAILURES = 5
#: Failed logins per client address before the throttle refuses.
MAX_FAILURES_PER_ADDRESS = 50
#: The window the failures are counted in, and how long the refusal lasts at most.
FAILURE_WINDOW = dt.timedelta(minutes=15)
#: The largest form body read.
MAX_FORM_BYTES = 64 * 1024
#: API keys start with this, so a leaked one is recognisable in logs and code.
API_KEY_PREFIX = "lofte_"
_API_KEY_SALT = "lofte.api-key.v1"

router = APIRouter()


class LoginRequired(Exception):
    """Raised by ``require_user`` on a page: the handler answers with a redirect to the login."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__(next_path)


class FormError(ValueError):
    """A form body that cannot be read; ``message_sv`` for the page."""

    def __init__(self, message_sv: str) -> None:
        self.message_sv = message_sv
        super().__init__(message_sv)


@dataclass(frozen=True, slots=True, kw_only=True)
class CurrentUser:
    """The logged-in coordinator, as every handler sees them."""

    id: int
    username: str
    name: str
    #: None: every kommun (an admin)
    kommuner: frozenset[str] | None

    @property
    def label(self) -> str:
        """Who recorded something, as the history shows it: "Anna Berg (anna)"."""
        return f"{self.name} ({self.username})"

    def sees(self, kommun: str) -> bool:
        return self.kommuner is None or kommun in self.kommuner


# -- throttle -----------------------------------------------------------------------------------------
class LoginThrottle:
    """Counts failed logins per key in a sliding window (thread-safe, in-process)."""

    def __init__(
        self, *, max_failures: int = MAX_FAILURES, window: dt.timedelta = FAILURE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.max_failures, self.window, self.clock = max_failures, window.total_seconds(), clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked_for(self, *keys: str) -> float:
        """Seconds until any of ``keys`` may try again (0 when none is blocked)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                if len(failures) >= self.max_failures:
                    wait = max(wait, failures[0] + self.window - now)
        return wait

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # a flood of random usernames must not grow memory
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def succeeded(self, username_key: str) -> None:
        with self._lock:
            self._failures.pop(username_key, None)


# -- helpers for handlers -------------------------------------------------------------------------------
def derived_key(secret: str, purpose: str) -> str:
    """A key for one purpose derived from the secret key (HMAC-SHA256, hex)."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, given: str | None) -> bool:
    return csrf_ok(request.session.get("csrf"), given)


async def read_form(request: Request) -> dict[str, str]:
    """The URL-encoded form body as a dict (the last value of a repeated field wins)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormError("Formuläret skickades i ett format som inte stöds.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError("Formuläret är för stort.")
    try:
        text = body.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=50))
    except (UnicodeDecodeError, ValueError):
        raise FormError("Formuläret kunde inte läsas.") from None


def db_session(request: Request) -> Session:
    return Session(request.app.state.engine, expire_on_commit=False)


def _load(session: Session, user_id: Any) -> CurrentUser | None:
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    assert user.id is not None  # noqa: S101 - loaded rows have ids
    return CurrentUser(id=user.id, username=user.username, name=user.name, kommuner=visible_kommuner(session, user))


def current_user(request: Request, session: Session) -> CurrentUser | None:
    """The logged-in user of this request's session cookie, or None."""
    return _load(session, request.session.get("uid"))


def require_user(request: Request, session: Session) -> CurrentUser:
    """The logged-in user; ``LoginRequired`` (a redirect to the login page) otherwise."""
    user = current_user(request, session)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return user


def issue_api_key(secret: str, user: User) -> str:
    """A new API key for ``user`` (module docstring); shown once, never stored."""
    serializer = URLSafeSerializer(derived_key(secret, "api-key"), salt=_API_KEY_SALT)
    payload = {"u": user.id, "p": _fingerprint(user.password_hash), "n": new_csrf_token()[:16]}
    return API_KEY_PREFIX + str(serializer.dumps(payload))


def api_key_user(secret: str, session: Session, key: str) -> CurrentUser | None:
    """The user an API key belongs to, if the key is genuine and still valid."""
    if not key.startswith(API_KEY_PREFIX) or len(key) > 512:
        return None
    serializer = URLSafeSerializer(derived_key(secret, "api-key"), salt=_API_KEY_SALT)
    try:
        payload = serializer.loads(key[len(API_KEY_PREFIX) :])
    except BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return None
    user = session.get(User, payload["u"])
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(str(payload.get("p", "")), _fingerprint(user.password_hash)):
        return None
    return _load(session, user.id)


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:24]


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """A page from ``templates/pages`` with the site-wide values (demo flag, user, CSRF)."""
    state = request.app.state
    response: HTMLResponse = state.templates.TemplateResponse(
        request, name, {"demo": state.demo, **context}, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def flash(request: Request, message: str) -> None:
    """A message shown once on the next page."""
    request.session["flash"] = message


def _site_context(request: Request) -> dict[str, Any]:
    """Every page's template sees ``me`` (name of the logged-in user or None), ``csrf`` and ``flash``."""
    session = request.scope.get("session")
    if session is None:
        return {"me": None, "csrf": "", "flash": None}
    return {
        "me": session.get("name") if session.get("uid") else None,
        "csrf": csrf_token(request) if session.get("uid") else "",
        "flash": session.pop("flash", None),
    }


def _safe_next(target: str | None) -> str:
    """Only a local path (``/...``, not ``//host``) may be a redirect target after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/oversikt"
    return target


# -- routes ---------------------------------------------------------------------------------------------
@router.get("/logga-in", response_class=HTMLResponse)
def login_page(request: Request, nasta: str | None = None) -> Response:
    return render(
        request,
        "login.html",
        {
            "title": "Logga in",
            "error": None,
            "username": "",
            "next": _safe_next(nasta),
            "login_csrf": csrf_token(request),
        },
    )


@router.post("/logga-in", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    try:
        form = await read_form(request)
    except FormError as exc:
        return _login_error(request, exc.message_sv, "", "/oversikt", 400)
    username = form.get("anvandarnamn", "")[:200]
    next_path = _safe_next(form.get("nasta"))
    if not check_csrf(request, form.get("csrf")):
        return _login_error(
            request, "Formuläret har gått ut. Ladda om sidan och försök igen.", username, next_path, 400
        )
    throttle: LoginThrottle = request.app.state.login_throttle
    by_address: LoginThrottle = request.app.state.login_throttle_address
    client = request.client.host if request.client else "okänd"
    user_key, address_key = f"u:{username.strip().casefold()}", f"ip:{client}"
    wait = max(throttle.blocked_for(user_key), by_address.blocked_for(address_key))
    if wait > 0:
        minutes = max(1, round(wait / 60))
        return _login_error(
            request,
            f"För många misslyckade inloggningar. Försök igen om {minutes} {'minut' if minutes == 1 else 'minuter'}.",
            username,
            next_path,
            429,
        )
    now = request.app.state.clock()

    def check() -> tuple[int, str] | None:
        with db_session(request) as session:
            user = authenticate(session, username, form.get("losenord", ""), now=now)
            if user is None:
                return None
            session.commit()
            assert user.id is not None  # noqa: S101
            return user.id, user.name

    found = await run_in_threadpool(check)
    if found is None:
        throttle.failed(user_key)
        by_address.failed(address_key)
        return _login_error(request, "Fel användarnamn eller lösenord.", username, next_path, 401)
    throttle.succeeded(user_key)
    request.session.clear()  # a new session: nothing from before the login carries over
    request.session.update({"uid": found[0], "name": found[1], "csrf": new_csrf_token()})
    return RedirectResponse(next_path, status_code=303)


def _login_error(request: Request, message: str, username: str, next_path: str, status: int) -> Response:
    return render(
        request,
        "login.html",
        {"title": "Logga in", "error": message, "username": username, "next": next_path,
         "login_csrf": csrf_token(request)},
        status,
    )  # fmt: skip


@router.post("/logga-ut")
async def logout(request: Request) -> Response:
    try:
        form = await read_form(request)
    except FormError:
        form = {}
    if check_csrf(request, form.get("csrf")):
        request.session.clear()
        request.session["flash"] = "Du är utloggad."
    return RedirectResponse("/logga-in", status_code=303)


def install(app: FastAPI, *, secret_key: str, https: bool) -> None:
    """Session middleware, the login routes, the redirect to the login page, the page context."""
    app.state.login_throttle = LoginThrottle()
    app.state.login_throttle_address = LoginThrottle(max_failures=MAX_FAILURES_PER_ADDRESS)
    app.add_middleware(
        SessionMiddleware,
        secret_key=derived_key(secret_key, "session-cookie"),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=https,
    )
    app.state.templates.context_processors.append(_site_context)
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def to_login(_request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/logga-in?nasta={quote(exc.next_path, safe='')}", status_code=303)

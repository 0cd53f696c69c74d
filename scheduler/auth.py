"""Coordinator accounts: Argon2id password hashes, kommun grants, CSRF tokens.

A coordinator logs in with a username and password (``lofte user add`` creates the
account). Passwords are hashed with Argon2id (``argon2-cffi``'s defaults, RFC 9106's
second recommended option); a hash made with older parameters is upgraded on the next
successful login (``authenticate``). A login for an unknown user still runs one hash
verification, so response time does not tell which usernames exist.

A user sees the promises of the kommuner granted to them (``UserKommun``); an admin
sees all. ``visible_kommuner`` returns None for "all", else the set of names, and
every page and API call filters by it.

CSRF: a form carries ``csrf_token(session_secret)``, a random per-session value the
web layer keeps in the signed session cookie; ``csrf_ok`` compares in constant time.

Everything here works in the caller's session and never commits.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, col, select

from scheduler.db import User, UserKommun
from scheduler.store import record_event

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "AccountError",
    "add_user",
    "authenticate",
    "csrf_ok",
    "grant",
    "hash_password",
    "new_csrf_token",
    "normalise_username",
    "set_password",
    "verify_password",
    "visible_kommuner",
]

#: NIST SP 800-63B asks for at least 8; a shared municipal account deserves a little more.
MIN_PASSWORD_LENGTH = 10
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
_HASHER = PasswordHasher()
#: verified against when the username is unknown, so both paths cost one hash
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A Swedish message about an account a user can fix."""


def normalise_username(username: str) -> str:
    """Case-folded and stripped; ``AccountError`` if it is not a plausible username."""
    name = username.strip().casefold()
    if not _USERNAME.match(name):
        raise AccountError(
            f"användarnamnet {username!r} går inte att använda: 2–64 tecken, bokstäverna a–z, siffror och . _ @ -"
        )
    return name


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``; ``AccountError`` if the password is too weak."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"lösenordet är för kort: minst {MIN_PASSWORD_LENGTH} tecken")
    if password.strip() != password:
        raise AccountError("lösenordet börjar eller slutar med mellanslag; ta bort dem")
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches ``password_hash`` (constant time inside argon2)."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def add_user(
    session: Session,
    *,
    username: str,
    name: str,
    password: str,
    now: dt.datetime,
    email: str | None = None,
    kommuner: Iterable[str] = (),
    admin: bool = False,
    actor: str = "lofte user add",
) -> User:
    """Create an account; ``AccountError`` if the username is taken or a value is invalid."""
    key = normalise_username(username)
    if session.exec(select(User).where(User.username == key)).first() is not None:
        raise AccountError(f"användaren {key!r} finns redan")
    if not name.strip():
        raise AccountError("namnet saknas: ange --namn")
    if email is not None and ("@" not in email or any(c in email for c in "\r\n <>")):
        raise AccountError(f"e-postadressen {email!r} ser inte ut som en e-postadress")
    user = User(
        username=key,
        name=name.strip(),
        email=email,
        password_hash=hash_password(password),
        is_admin=admin,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    for kommun in kommuner:
        grant(session, user, kommun, now=now)
    record_event(
        session, actor=actor, action="user.create", row=user, now=now,
        details={"username": key, "admin": admin, "kommuner": sorted(set(kommuner))},
    )  # fmt: skip
    return user


def grant(session: Session, user: User, kommun: str, *, now: dt.datetime) -> None:
    """Let ``user`` see ``kommun`` (idempotent)."""
    kommun = kommun.strip()
    if not kommun:
        raise AccountError("kommunens namn saknas")
    existing = session.exec(
        select(UserKommun).where(UserKommun.user_id == user.id, UserKommun.kommun == kommun)
    ).first()
    if existing is None:
        session.add(UserKommun(user_id=user.id, kommun=kommun, created_at=now))  # type: ignore[arg-type]


def set_password(session: Session, user: User, password: str, *, now: dt.datetime, actor: str) -> None:
    """Replace the user's password."""
    user.password_hash = hash_password(password)
    user.updated_at = now
    record_event(session, actor=actor, action="user.password", row=user, now=now)


def authenticate(session: Session, username: str, password: str, *, now: dt.datetime) -> User | None:
    """The active user with these credentials, or None. Upgrades an old hash; notes the login."""
    try:
        key = normalise_username(username)
    except AccountError:
        key = ""
    user = session.exec(select(User).where(User.username == key)).first() if key else None
    if user is None or not user.is_active:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    user.last_login_at = now
    return user


def visible_kommuner(session: Session, user: User) -> frozenset[str] | None:
    """The kommuner ``user`` may see; None means every kommun (an admin)."""
    if user.is_admin:
        return None
    rows = session.exec(select(UserKommun.kommun).where(col(UserKommun.user_id) == user.id)).all()
    return frozenset(rows)


def new_csrf_token() -> str:
    """A random CSRF token to keep in the session and put in every form."""
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    """True if the form's token equals the session's (constant time; missing is False)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())

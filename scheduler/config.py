"""Configuration, read once (starlette-style) and passed on as a frozen ``Settings``.

``Config`` reads names from the environment (and, if given, a ``.env``-style file; the
environment wins). A secret may be given in a file instead: when ``NAME_FILE`` is set,
the file it names is read and its content (without the trailing newline) is the value of
``NAME``, healthchecks' ``*_FILE`` convention for Docker/Kubernetes secrets. Setting both
``NAME`` and ``NAME_FILE`` is an error, so nobody wonders which one won.

>>> config = Config(environ={"LOFTE_DATA_DIR": "/srv/lofte"})
>>> config("LOFTE_DATA_DIR")
'/srv/lofte'
>>> config("LOFTE_DATABASE_URL", default=None) is None
True
>>> config("LOFTE_PORT", cast=int)
Traceback (most recent call last):
...
scheduler.config.ConfigError: Config 'LOFTE_PORT' is missing, and has no default.

Names Löfte reads (``load_settings``):

======================  =====================================================================
``LOFTE_DATABASE_URL``  SQLAlchemy URL: ``sqlite:///path.sqlite3`` or
                        ``postgresql+psycopg://user@host/db``. Default: ``lofte.sqlite3``
                        in the data dir. A URL with a password belongs in
                        ``LOFTE_DATABASE_URL_FILE``
``LOFTE_DATA_DIR``      where local state lives (the default SQLite file). Default ``./var``,
                        relative to the working directory; created on demand
``LOFTE_BASE_URL``      the public address of the web app as users and calendar clients reach
                        it (``https://lofte.kommun.se``, no trailing slash): feed URLs and links
                        in emails are built from it. Default: None (``lofte serve`` then uses
                        ``http://HOST:PORT``)
``LOFTE_SECRET_KEY``    the key for signed links and sessions (at least 32 characters; put it
                        in ``LOFTE_SECRET_KEY_FILE``). Default: a random key generated once and
                        kept in ``DATA_DIR/secret_key`` (mode 0600), so restarts keep sessions
``LOFTE_SMTP_HOST``     the SMTP relay for email. Default: none, and every message is written
                        as an ``.eml`` file to ``LOFTE_OUTBOX_DIR`` instead
``LOFTE_SMTP_PORT``     Default: 587 for ``starttls``, 465 for ``tls``, 25 for ``none``
``LOFTE_SMTP_SECURITY`` ``starttls`` (default), ``tls`` (implicit TLS) or ``none``
``LOFTE_SMTP_USER``     login name; then ``LOFTE_SMTP_PASSWORD`` (or ``_FILE``) is required
``LOFTE_SMTP_TIMEOUT``  seconds for connecting and each reply. Default 30
``LOFTE_MAIL_FROM``     the From of every email (``Löfte <lofte@kommun.se>``); required with
                        an SMTP host. Default without one: ``Löfte <lofte@localhost>``
``LOFTE_OUTBOX_DIR``    where messages go without an SMTP host. Default ``DATA_DIR/outbox``
======================  =====================================================================

Settings are read once per process (``get_settings()`` caches them): configuration
must not change during the lifetime of the objects built from it (Radicale). Tests
build their own with ``load_settings(environ={...})``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any, TypeVar, overload

__all__ = [
    "DEFAULT_DATA_DIR",
    "SQLITE_FILENAME",
    "Config",
    "ConfigError",
    "Settings",
    "SmtpSettings",
    "get_settings",
    "load_settings",
]

T = TypeVar("T")

#: ``LOFTE_DATA_DIR`` when unset, relative to the working directory.
DEFAULT_DATA_DIR = "./var"
#: ``LOFTE_MAIL_FROM`` when unset and no SMTP relay is configured (the file outbox).
DEFAULT_MAIL_FROM = "Löfte <lofte@localhost>"
#: The SQLite file under the data dir used when ``LOFTE_DATABASE_URL`` is unset.
SQLITE_FILENAME = "lofte.sqlite3"
#: The generated secret key's file under the data dir, used when ``LOFTE_SECRET_KEY`` is unset.
SECRET_KEY_FILENAME = "secret_key"  # noqa: S105 - a file name, not a secret
#: The shortest ``LOFTE_SECRET_KEY`` accepted (``secrets.token_urlsafe(32)`` gives 43).
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""

    def __init__(self, name: str, problem: str) -> None:
        self.name, self.problem = name, problem
        super().__init__(f"Config '{name}' {problem}")


class _Undefined:
    def __repr__(self) -> str:
        return "<undefined>"


_UNDEFINED: Any = _Undefined()


class Config:
    """Look up configuration names in the environment and an optional env file.

    ``env_file`` holds ``NAME=value`` lines (``#`` comments, optional quotes); a missing
    file is not an error, so a checkout works without one.
    """

    def __init__(
        self, env_file: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
    ) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.file_values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            self.file_values = _read_env_file(Path(env_file))

    def _raw(self, name: str) -> str | None:
        if name in self.environ:
            return self.environ[name]
        return self.file_values.get(name)

    def get(self, name: str) -> str | None:
        """The raw value of ``name`` (or of the file ``NAME_FILE`` names), or None."""
        value = self._raw(name)
        secret_path = self._raw(f"{name}_FILE")
        if secret_path is None:
            return value
        if value is not None:
            raise ConfigError(name, f"and '{name}_FILE' are both set; set only one of them.")
        try:
            text = Path(secret_path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{name}_FILE", f"names a file that cannot be read: {exc}") from None
        return text.rstrip("\r\n")

    @overload
    def __call__(self, name: str) -> str: ...
    @overload
    def __call__(self, name: str, *, cast: Callable[[str], T]) -> T: ...
    @overload
    def __call__(self, name: str, *, default: T) -> str | T: ...
    @overload
    def __call__(self, name: str, *, cast: Callable[[str], T], default: Any) -> T: ...

    def __call__(self, name: str, *, cast: Callable[[str], Any] | None = None, default: Any = _UNDEFINED) -> Any:
        """The value of ``name`` passed through ``cast``; ``default`` (not cast) when unset."""
        value = self.get(name)
        if value is None:
            if default is _UNDEFINED:
                raise ConfigError(name, "is missing, and has no default.")
            return default
        if cast is None:
            return value
        try:
            return cast(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(name, f"has value {value!r}, not a valid {getattr(cast, '__name__', cast)}.") from exc


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the shell reads from the environment, validated once."""

    #: the database URL as given, or None for the default SQLite file under ``data_dir``
    database_url: str | None
    data_dir: Path
    #: public base URL without trailing slash (``LOFTE_BASE_URL``), or None: see ``lofte serve``
    base_url: str | None = None
    #: ``LOFTE_SECRET_KEY`` as given, or None for the generated one (use ``secret_key``)
    configured_secret_key: str | None = None
    #: the SMTP relay (``LOFTE_SMTP_*``), or None: messages go to ``outbox_dir`` as files
    smtp: SmtpSettings | None = None
    #: ``LOFTE_MAIL_FROM``: the From of every email
    mail_from: str = DEFAULT_MAIL_FROM
    #: ``LOFTE_OUTBOX_DIR`` as given, or None for ``data_dir/outbox`` (use ``outbox_dir``)
    configured_outbox_dir: Path | None = None

    @property
    def outbox_dir(self) -> Path:
        """The folder of the file outbox: ``LOFTE_OUTBOX_DIR``, else ``data_dir/outbox``."""
        return self.configured_outbox_dir or self.data_dir / "outbox"

    @property
    def sqlite_path(self) -> Path:
        """The default SQLite file (used when ``database_url`` is None)."""
        return self.data_dir / SQLITE_FILENAME

    @property
    def secret_key(self) -> str:
        """The key for signed links and sessions: ``LOFTE_SECRET_KEY``, else the generated one.

        The generated key is created on first use in ``data_dir/secret_key`` (mode 0600)
        and read from there afterwards, so every process on the same data dir agrees.
        """
        if self.configured_secret_key is not None:
            return self.configured_secret_key
        return _stored_secret_key(self.data_dir.resolve() / SECRET_KEY_FILENAME)

    def __repr__(self) -> str:  # never print a password that may sit in the URL, nor the secret
        url = "None" if self.database_url is None else "'***'"
        return f"Settings(database_url={url}, data_dir={str(self.data_dir)!r}, base_url={self.base_url!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpSettings:
    """``LOFTE_SMTP_*``: where ``notifiers.smtp`` connects (``notifiers.notifier_from_settings``)."""

    host: str
    port: int
    #: ``starttls``, ``tls`` or ``none``
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0


#: ``LOFTE_SMTP_PORT`` when unset, by ``LOFTE_SMTP_SECURITY``.
SMTP_SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def _smtp_settings(config: Config) -> SmtpSettings | None:
    host = config("LOFTE_SMTP_HOST", default="").strip()
    if not host:
        return None
    security = config("LOFTE_SMTP_SECURITY", default="starttls").strip().lower()
    if security not in SMTP_SECURITY_PORTS:
        raise ConfigError("LOFTE_SMTP_SECURITY", f"has value {security!r}; write starttls, tls or none.")
    port = config("LOFTE_SMTP_PORT", cast=int, default=SMTP_SECURITY_PORTS[security])
    if not 0 < port < 65536:
        raise ConfigError("LOFTE_SMTP_PORT", f"has value {port}, outside 1-65535.")
    timeout = config("LOFTE_SMTP_TIMEOUT", cast=float, default=30.0)
    if not timeout > 0:
        raise ConfigError("LOFTE_SMTP_TIMEOUT", f"has value {timeout}; give a positive number of seconds.")
    user = config("LOFTE_SMTP_USER", default="").strip() or None
    password = config("LOFTE_SMTP_PASSWORD", default=None)
    if user is not None and password is None:
        raise ConfigError("LOFTE_SMTP_PASSWORD", "is missing, and LOFTE_SMTP_USER is set; set both or neither.")
    return SmtpSettings(host=host, port=port, security=security, user=user, password=password, timeout=timeout)


def _mail_from(config: Config, *, smtp: SmtpSettings | None) -> str:
    value = config("LOFTE_MAIL_FROM", default="").strip()
    if not value:
        if smtp is not None:
            raise ConfigError(
                "LOFTE_MAIL_FROM", "is missing; an SMTP relay needs a sender such as 'Löfte <lofte@kommun.se>'."
            )
        return DEFAULT_MAIL_FROM
    _name, address = parseaddr(value)
    if any(c in value for c in "\r\n") or "@" not in address:
        raise ConfigError(
            "LOFTE_MAIL_FROM", f"has value {value!r}; write an address such as 'Löfte <lofte@kommun.se>'."
        )
    return value


@functools.cache
def _stored_secret_key(path: Path) -> str:
    """Read ``path``, or create it with a new random key (mode 0600) if it does not exist.

    Two processes starting at once agree: the key is written to a private temporary
    file and linked into place (``os.link`` fails if the file exists), so nobody ever
    reads a half-written key.
    """
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):  # another process won the race: use its key
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError("LOFTE_SECRET_KEY", f"is unset and the generated key in {path} is damaged; delete the file.")
    return key


def _base_url(value: str) -> str | None:
    value = value.strip().rstrip("/")
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise ConfigError(
            "LOFTE_BASE_URL", f"has value {value!r}; write the address users reach, e.g. https://lofte.kommun.se."
        )
    return value


def load_settings(
    env_file: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read ``Settings`` from the environment (or ``environ``) and ``env_file``."""
    config = Config(env_file, environ=environ)
    url = config("LOFTE_DATABASE_URL", default="").strip()
    if url and "://" not in url:  # an empty value means "unset", as in a blank .env line
        raise ConfigError(
            "LOFTE_DATABASE_URL",
            "is not a URL; write sqlite:///var/lofte.sqlite3 or postgresql+psycopg://user@host/db.",
        )
    secret = config("LOFTE_SECRET_KEY", default=None)
    if secret is not None and len(secret.strip()) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            "LOFTE_SECRET_KEY",
            f"is shorter than {MIN_SECRET_KEY_LENGTH} characters; generate one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'.",
        )
    smtp = _smtp_settings(config)
    return Settings(
        database_url=url or None,
        data_dir=Path(config("LOFTE_DATA_DIR", default=DEFAULT_DATA_DIR)),
        base_url=_base_url(config("LOFTE_BASE_URL", default="")),
        configured_secret_key=secret.strip() if secret is not None else None,
        smtp=smtp,
        mail_from=_mail_from(config, smtp=smtp),
        configured_outbox_dir=Path(outbox) if (outbox := config("LOFTE_OUTBOX_DIR", default="").strip()) else None,
    )


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read from ``os.environ`` and ``.env`` on first use."""
    return load_settings(".env")

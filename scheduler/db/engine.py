"""Engines, sessions and migrations.

``make_engine(url=None)`` connects to ``LOFTE_DATABASE_URL`` or, by default, to a SQLite
file under ``LOFTE_DATA_DIR`` (``./var/lofte.sqlite3``), created on demand. On SQLite
every new connection gets ``PRAGMA foreign_keys=ON`` (off by default in SQLite, and
the ``ON DELETE`` rules depend on it), WAL journal mode (readers do not block the
writer) and a busy timeout (a second writer waits instead of failing at once).

``upgrade(engine_or_url)`` runs the Alembic migrations shipped in
``scheduler/migrations`` up to ``head``; no ``alembic.ini`` is needed, the
configuration is built here. ``current_revision`` reads where a database stands.

``session_scope(engine)`` is the unit of work: one transaction, committed when the
block ends, rolled back if it raises.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Engine, make_url
from sqlmodel import Session

from scheduler.config import Settings, get_settings

__all__ = [
    "MIGRATIONS_DIR",
    "SQLITE_BUSY_TIMEOUT_MS",
    "MigrationError",
    "Session",
    "alembic_config",
    "current_revision",
    "database_url",
    "default_engine",
    "head_revision",
    "make_engine",
    "session_scope",
    "upgrade",
]

#: The Alembic script directory, inside the package so an installed ``lofte`` can migrate.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
#: How long a SQLite connection waits for another writer before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5_000


class MigrationError(RuntimeError):
    """A migration left the database inconsistent (for SQLite: a foreign key check failed)."""


def _json_dumps(value: Any) -> str:
    # Swedish text stays readable in the SQLite file and in psql.
    return json.dumps(value, ensure_ascii=False)


def database_url(url: str | URL | None = None, *, settings: Settings | None = None) -> URL:
    """The URL ``make_engine`` uses: ``url``, else ``LOFTE_DATABASE_URL``, else the default file.

    The default SQLite file's directory is created here, so a fresh checkout just works.
    """
    if url is None:
        settings = settings or get_settings()
        if settings.database_url is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            return URL.create("sqlite+pysqlite", database=str(settings.sqlite_path))
        url = settings.database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # the driver we depend on, not psycopg2
    return parsed


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")  # stays "memory" for :memory:, which is fine
        cursor.execute("PRAGMA synchronous=NORMAL")  # the recommended pairing with WAL
    finally:
        cursor.close()


def make_engine(url: str | URL | None = None, *, settings: Settings | None = None, echo: bool = False) -> Engine:
    """An engine for ``url`` (default: see ``database_url``), with Löfte's connection setup.

    >>> engine = make_engine("sqlite://")
    >>> with engine.connect() as c:
    ...     c.exec_driver_sql("PRAGMA foreign_keys").scalar()
    1
    """
    parsed = database_url(url, settings=settings)
    kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _json_dumps}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True  # a restarted server must not break the long-running scheduler
    engine = sa.create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _on_sqlite_connect)
    return engine


@functools.cache
def default_engine() -> Engine:
    """The process's engine for the configured database (``make_engine()``), made once."""
    return make_engine()


@contextlib.contextmanager
def session_scope(engine: Engine | None = None, *, expire_on_commit: bool = False) -> Iterator[Session]:
    """One transaction: commit at the end of the block, roll back if it raises.

    ``engine`` defaults to ``default_engine()``. Objects stay usable after the block
    (``expire_on_commit=False``), so a command can print what it stored without
    another query.
    """
    with Session(engine or default_engine(), expire_on_commit=expire_on_commit) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# -- migrations ------------------------------------------------------------------------------------
def alembic_config(connection: sa.Connection | None = None) -> AlembicConfig:
    """An Alembic ``Config`` built in code: ``script_location`` inside the package.

    With ``connection``, ``env.py`` migrates over that connection (and its transaction).
    """
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision shipped with this version of Löfte."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _engine(engine_or_url: Engine | str | URL | None) -> tuple[Engine, bool]:
    if isinstance(engine_or_url, Engine):
        return engine_or_url, False
    return make_engine(engine_or_url), True


def current_revision(engine_or_url: Engine | str | URL | None = None) -> str | None:
    """The revision the database is at, or None for a database never migrated."""
    engine, owned = _engine(engine_or_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def upgrade(engine_or_url: Engine | str | URL | None = None, revision: str = "head") -> str | None:
    """Migrate the database up to ``revision`` (default ``head``); returns the revision reached.

    One transaction on both backends, so a failing migration changes nothing. On SQLite
    the migration runs with foreign keys off, as SQLite's own procedure for schema
    changes says: batch mode copies a table and drops the original, and with foreign
    keys on that DROP would cascade into the child tables. Before the commit,
    ``PRAGMA foreign_key_check`` must find nothing (else ``MigrationError``), and
    foreign keys are switched on again before the connection goes back to the pool.
    """
    engine, owned = _engine(engine_or_url)
    try:
        if engine.dialect.name == "sqlite":
            _upgrade_sqlite(engine, revision)
        else:
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection), revision)
        return current_revision(engine)
    finally:
        if owned:
            engine.dispose()


def _upgrade_sqlite(engine: Engine, revision: str) -> None:
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        legacy_mode = driver.isolation_level  # type: ignore[union-attr]
        # pysqlite opens transactions only before INSERT/UPDATE/DELETE and lets DDL run
        # in autocommit; take control so the whole migration is one transaction.
        driver.isolation_level = None  # type: ignore[union-attr]
        try:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction
            connection.exec_driver_sql("BEGIN")
            try:
                command.upgrade(alembic_config(connection), revision)
                problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise MigrationError(f"foreign key check failed after migrating: {problems[:5]}")
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
            driver.isolation_level = legacy_mode  # type: ignore[union-attr]

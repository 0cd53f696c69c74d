"""Database fixtures: every DB test runs on SQLite (a temp file) and on PostgreSQL.

* ``db_url`` (per module, parametrised ``sqlite`` / ``postgres``): an empty database.
  SQLite is a file in a temp dir. PostgreSQL is a fresh database
  ``lofte_t_<random>`` created over an AUTOCOMMIT connection to the server's
  ``postgres`` database and dropped (``WITH (FORCE)``) after the module; the server
  comes from ``LOFTE_TEST_POSTGRES_URL`` (default, as in CI:
  ``postgresql+psycopg://postgres@127.0.0.1:5432/test``). When it cannot be reached,
  ``need_service`` skips (locally) or fails (CI, ``LOFTE_REQUIRE_SERVICES=1``).
* ``migrated`` (per module): an engine on ``db_url``, migrated to head once.
* ``engine`` (per test): ``migrated`` with every table emptied first, so tests may
  commit, and cascades and constraints are exercised for real.
* ``fresh_db_url`` (per test): another empty database of the same backend, for the
  migration tests that must start from nothing.
* ``seed``: one promise with two units, two entities and two activities, committed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

from scheduler.db import Activity, Entity, Promise, Unit, make_engine, upgrade
from tests.conftest import need_service

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


def postgres_server_url() -> sa.URL:
    return make_url(os.environ.get("LOFTE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the server's ``postgres`` database (CREATE/DROP DATABASE)."""
    url = postgres_server_url()
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        need_service(f"PostgreSQL not reachable at {url.render_as_string(hide_password=True)}: {exc.orig}")
    yield admin
    admin.dispose()


@contextlib.contextmanager
def _postgres_database(admin: Engine) -> Iterator[sa.URL]:
    name = f"lofte_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    try:
        yield postgres_server_url().set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def _database(backend: str, request: pytest.FixtureRequest, tmp: Path) -> Iterator[sa.URL]:
    if backend == "sqlite":
        yield sa.URL.create("sqlite+pysqlite", database=str(tmp / "lofte.sqlite3"))
    else:
        with _postgres_database(request.getfixturevalue("postgres_admin")) as url:
            yield url


@pytest.fixture(scope="module", params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.URL]:
    with _database(request.param, request, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def fresh_db_url(db_url: sa.URL, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.URL]:
    with _database(db_url.get_backend_name().replace("postgresql", "postgres"), request, tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def migrated(db_url: sa.URL) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def empty_tables(engine: Engine) -> None:
    """Delete every row of every table (not ``alembic_version``), restarting ids on PostgreSQL."""
    tables = SQLModel.metadata.sorted_tables
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            for table in reversed(tables):
                connection.execute(table.delete())


@pytest.fixture
def engine(migrated: Engine) -> Engine:
    empty_tables(migrated)
    return migrated


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@dataclass(frozen=True, slots=True)
class Seed:
    promise: Promise
    polisen: Unit
    kommunen: Unit
    bjorkskolan: Entity
    ekskolan: Entity
    #: per högstadieskola, school-bound, at 18:00
    forelasningar: Activity
    #: no entities, at 14:00
    mpk: Activity


@pytest.fixture
def seed(session: Session) -> Seed:
    promise = Promise(
        slug="astorp-2025",
        kommun="Åstorp",
        lan="Skåne",
        title="Medborgarlöfte Åstorp 2025",
        valid_from=dt.date(2025, 1, 1),
        valid_until=dt.date(2025, 12, 31),
        source_path="examples/astorp-2025.yaml",
    )
    session.add(promise)
    session.flush()
    assert promise.id is not None
    polisen = Unit(promise_id=promise.id, key="polisen", name="Lokalpolisområde Klippan", role="polis",
                   email="polisen.klippan@example.se")  # fmt: skip
    kommunen = Unit(promise_id=promise.id, key="kommunen", name="Åstorps kommun", role="kommun")
    bjork = Entity(promise_id=promise.id, kind="högstadieskola", key="bjorkskolan", name="Björkskolan")
    ek = Entity(promise_id=promise.id, kind="högstadieskola", key="ekskolan", name="Ekskolan")
    session.add_all([polisen, kommunen, bjork, ek])
    session.flush()
    assert polisen.id is not None
    assert kommunen.id is not None
    forelasningar = Activity(
        promise_id=promise.id, key="forelasningar", title="Föreläsningar om droger",
        sentence="Föreläsningar för högstadieelever. Minst en gång per termin och högstadieskola.",
        rule={"text": "minst en gång per termin och högstadieskola", "kind": "quota"},
        unit_id=polisen.id, entity_kind="högstadieskola",
        preferences={"time": "18:00", "school_bound": True},
    )  # fmt: skip
    mpk = Activity(
        promise_id=promise.id, key="mpk", title="Mobila poliskontoret på torget",
        sentence="MPK på torget 2 gånger per månad.", rule={"text": "2 gånger per månad", "kind": "quota"},
        unit_id=polisen.id, preferences={"weekdays": [3, 4], "time": "14:00", "duration_minutes": 180},
    )  # fmt: skip
    session.add_all([forelasningar, mpk])
    session.commit()
    return Seed(promise, polisen, kommunen, bjork, ek, forelasningar, mpk)

"""The feed clock (migration 0005, ``scheduler.feed_clock``) and the feed path's gate on it.

On SQLite and PostgreSQL: every table a feed reads has the triggers; every write path
that can change a feed moves the clock (occurrence upsert, completion record / undo /
correct, a reload, a unit rename, a token rotation, plain SQL on each table); reads
never do; an emptied clock row comes back with a new epoch. Through uvicorn: a change
made by another instance (another engine) is seen by the very next request, repeated
requests skip ``FeedRenderer.version`` while the clock stands still, and a new day
checks again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from scheduler import ical_feed
from scheduler.completions import correct, record, undo
from scheduler.config import load_settings
from scheduler.db import (
    MIGRATIONS_DIR,
    Activity,
    Entity,
    FeedScope,
    FeedToken,
    Occurrence,
    OccurrenceStatus,
    Promise,
    Unit,
    session_scope,
)
from scheduler.feed_clock import FEED_TABLES, FeedClockReader, Stamp, read_stamp
from scheduler.feeds import ensure_feeds, lookup, resolve, rotate
from scheduler.ical_feed import FeedRenderer, FeedTarget
from scheduler.loader import load_file
from scheduler.store import OccurrenceDraft, upsert_occurrences
from scheduler.web import create_app
from tests.conftest import EXAMPLES
from tests.scheduler.test_web import Running, serve

LOADED_AT = dt.datetime(2019, 1, 2, 8, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2019, 3, 1, 8, 0, tzinfo=dt.UTC)
SLUG = "astorp-2019"


def stamp(engine: sa.Engine) -> Stamp:
    with engine.connect() as connection:
        found = read_stamp(connection)
    assert found is not None
    return found


@contextlib.contextmanager
def moves(engine: sa.Engine) -> Iterator[None]:
    before = stamp(engine)
    yield
    after = stamp(engine)
    assert after.epoch == before.epoch
    assert after.seq > before.seq


@contextlib.contextmanager
def stands_still(engine: sa.Engine) -> Iterator[None]:
    before = stamp(engine)
    yield
    assert stamp(engine) == before


@pytest.fixture
def loaded(engine: sa.Engine, tmp_path: Path) -> Path:
    path = tmp_path / f"{SLUG}.yaml"
    shutil.copyfile(EXAMPLES / f"{SLUG}.yaml", path)
    load_file(engine, path, now=LOADED_AT)
    with session_scope(engine) as session:
        ensure_feeds(session, now=LOADED_AT)
    return path


# -- the tables and triggers ------------------------------------------------------------------------
def test_feed_tables_cover_every_table_a_feed_reads() -> None:
    read = {value.name for value in vars(ical_feed).values() if isinstance(value, sa.Table)}
    assert read  # the renderer's tables are module globals (_O, _A, ...)
    assert read | {"feed_token"} == set(FEED_TABLES)
    spec = importlib.util.spec_from_file_location("m0005", MIGRATIONS_DIR / "versions" / "0005_feed_clock.py")
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.FEED_TABLES == FEED_TABLES


def test_every_feed_table_has_the_triggers(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
            wanted = {(t, f"feed_clock_{t}_{op}") for t in FEED_TABLES for op in ("insert", "update", "delete")}
        else:
            rows = connection.exec_driver_sql(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE t.tgname LIKE 'feed_clock%%' AND NOT t.tgisinternal"
            )
            wanted = {(t, f"feed_clock_{t}") for t in FEED_TABLES} | {
                (t, f"feed_clock_{t}_truncate") for t in FEED_TABLES
            }
        assert {(r[0], r[1]) for r in rows} >= wanted


# -- writes move it, reads do not ----------------------------------------------------------------------
@pytest.mark.parametrize("table", FEED_TABLES)
def test_plain_sql_on_each_feed_table_moves_the_clock(engine: sa.Engine, loaded: Path, table: str) -> None:
    with moves(engine), session_scope(engine) as session:  # the example has no completion yet: add one
        record(session, promise_slug=SLUG, activity_key=_activity_key(session), done_on=dt.date(2019, 2, 20),
               by="test", now=NOW)  # fmt: skip
    with engine.connect() as connection:
        assert connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()  # noqa: S608
    with moves(engine), engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE {table} SET id = id WHERE id = (SELECT min(id) FROM {table})")  # noqa: S608


def test_deleting_moves_the_clock(engine: sa.Engine, loaded: Path) -> None:
    with moves(engine), engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM activity_partner")
    with moves(engine), engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM promise")  # cascades


def test_a_write_elsewhere_or_a_rolled_back_write_does_not(engine: sa.Engine, loaded: Path) -> None:
    with stands_still(engine):
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO mail_optout (recipient, created_at) VALUES ('a@b.se', '2019-01-01')"
            )
        with engine.connect() as connection:
            connection.exec_driver_sql("UPDATE occurrence SET sequence = sequence + 1")
            connection.rollback()


def test_load_upsert_completions_rename_and_rotation_move_the_clock(engine: sa.Engine, loaded: Path) -> None:
    with moves(engine), session_scope(engine) as session:  # occurrence upsert (Core bulk insert and updates)
        promise = session.exec(select(Promise)).one()
        draft = OccurrenceDraft(
            activity=_activity_key(session), period_key="2019-extra", slot=0, day=dt.date(2019, 6, 1)
        )
        changes = upsert_occurrences(session, promise, [draft], now=NOW)
        assert changes.created
        assert changes.cancelled
    with moves(engine), session_scope(engine) as session:
        done = record(session, promise_slug=SLUG, activity_key=_activity_key(session), done_on=dt.date(2019, 2, 20),
                      by="test", now=NOW)  # fmt: skip
        completion_id = done.completion.id
    assert completion_id is not None
    with moves(engine), session_scope(engine) as session:
        corrected = correct(session, completion_id=completion_id, by="test", now=NOW, done_on=dt.date(2019, 2, 21))
        corrected_id = corrected.id
    assert corrected_id is not None
    with moves(engine), session_scope(engine) as session:
        undo(session, completion_id=corrected_id, by="test", now=NOW)
    with moves(engine), session_scope(engine) as session:  # a unit renamed through the ORM
        unit = session.exec(select(Unit).order_by(col(Unit.id))).first()
        assert unit is not None
        unit.name = "Lokalpolisområde Klippan-Bjuv"
    with moves(engine):  # a reload of an edited file
        loaded.write_text(loaded.read_text(encoding="utf-8").replace("Björkskolan", "Björkhagsskolan"), "utf-8")
        load_file(engine, loaded, now=NOW)
    with moves(engine), session_scope(engine) as session:
        feed_id = session.exec(select(FeedToken.id).where(FeedToken.scope == FeedScope.PROMISE)).one()
        rotate(session, feed_id, now=NOW)


def _activity_key(session: Session) -> str:
    return next(a.key for a in session.exec(select(Activity).order_by(col(Activity.id))) if a.entity_kind is None)


def test_reads_and_an_unchanged_reload_do_not_move_the_clock(engine: sa.Engine, loaded: Path) -> None:
    renderer = FeedRenderer(engine, base_url="https://lofte.example.se")
    with stands_still(engine):
        load_file(engine, loaded, now=NOW)  # the same bytes: nothing is written
        with Session(engine) as session:
            tokens = session.exec(select(FeedToken)).all()
            for row in tokens:
                target = FeedTarget.of(row)
                assert renderer.version(target, now=NOW) is not None
                assert renderer.render(target, now=NOW) is not None
            assert lookup(session, "x" * 43) is None
            assert resolve(session, "x" * 43) is None


def test_an_emptied_clock_row_comes_back_with_a_new_epoch(engine: sa.Engine, loaded: Path) -> None:
    before = stamp(engine)
    reader = FeedClockReader(engine)
    try:
        assert reader.read() == before
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM feed_clock")
        assert reader.read() is None  # nothing may be concluded
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE unit SET name = name || '.'")
        after = reader.read()
        assert after is not None
        assert after.epoch != before.epoch
    finally:
        reader.close()


def test_the_reader_sees_each_commit_and_reopens_after_dispose(engine: sa.Engine, loaded: Path) -> None:
    reader = FeedClockReader(engine)
    try:
        first = reader.read()
        assert first == stamp(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE promise SET notes = 'ny'")
        second = reader.read()
        assert second is not None
        assert first is not None
        assert second.seq > first.seq
        engine.dispose()  # closes the reader's connection too
        assert reader.read() == second
    finally:
        reader.close()


def test_on_sqlite_an_unchanged_wal_index_answers_without_a_query(engine: sa.Engine, loaded: Path) -> None:
    """SQLite rewrites the WAL-index header at every commit by anyone: while it stands still the
    reader answers from its last query; any commit, even one by a plain sqlite3 connection that
    changes no feed table, makes it query again (and a feed-table change gives a new stamp)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the WAL index is SQLite's; on PostgreSQL every read is a query")
    import sqlite3

    reader = FeedClockReader(engine)
    queries: list[str] = []
    try:
        first = reader.read()
        reader._local.connection.set_trace_callback(queries.append)
        for _ in range(5):
            assert reader.read() == first
        assert len(queries) == 1  # the read after opening the -shm file notes its header; then none
        before = len(queries)
        other = sqlite3.connect(engine.url.database, isolation_level=None)  # type: ignore[arg-type]
        try:
            other.execute("CREATE TABLE IF NOT EXISTS scratch (x)")  # a commit outside the feed tables
            assert reader.read() == first
            assert len(queries) == before + 1
            assert reader.read() == first
            assert len(queries) == before + 1
            other.execute("UPDATE promise SET notes = 'ändrad'")
            second = reader.read()
            assert second is not None
            assert first is not None
            assert second.seq > first.seq
            assert len(queries) == before + 2
            assert all("feed_clock" in q for q in queries), queries
        finally:
            other.close()
    finally:
        reader.close()


def _mapped(path: str) -> bool:
    """A read-only shared mapping of ``path`` (the reader's; SQLite maps the file read-write)."""
    with open("/proc/self/maps", encoding="utf-8") as maps:
        return any(line.split()[1] == "r--s" and line.rstrip().endswith(path) for line in maps)


def test_the_wal_index_is_mapped_only_while_the_readers_connection_is_open(engine: sa.Engine, loaded: Path) -> None:
    """The ``-shm`` mapping lives exactly as long as the reader's own connection, which keeps SQLite
    from truncating the file under it; a disposed engine (maintenance) unmaps it, the next read maps it again."""
    if engine.dialect.name != "sqlite" or not Path("/proc/self/maps").exists():
        pytest.skip("the WAL index is SQLite's, and /proc/self/maps is Linux's")
    shm = f"{engine.url.database}-shm"
    reader = FeedClockReader(engine)
    try:
        first = reader.read()
        assert _mapped(shm)
        engine.dispose()
        assert not _mapped(shm)
        assert reader.read() == first
        assert _mapped(shm)
    finally:
        reader.close()
    assert not _mapped(shm)


# -- the feed path through uvicorn ------------------------------------------------------------------------
class Counted:
    """``FeedRenderer.version`` of a real renderer, counting its calls."""

    def __init__(self, renderer: FeedRenderer) -> None:
        self.calls = 0
        self.inner: Callable[..., Any] = renderer.version
        renderer.version = self  # type: ignore[method-assign]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.inner(*args, **kwargs)


def test_the_next_request_sees_a_change_made_by_another_instance(
    engine: sa.Engine, loaded: Path, tmp_path: Path
) -> None:
    settings = load_settings(environ={"LOFTE_DATA_DIR": str(tmp_path)})
    today = [NOW]
    app = create_app(settings, engine=engine, now=lambda: today[0], base_url="https://lofte.example.se")
    counted = Counted(app.feeds.renderer)
    other = sa.create_engine(engine.url)  # another instance: its own engine, plain connections
    with contextlib.ExitStack() as stack:
        stack.callback(other.dispose)
        running: Running = stack.enter_context(serve(app))
        with session_scope(other) as session:
            issued = ensure_feeds(session, now=NOW)  # all exist: nothing written
            feed_id = session.exec(select(FeedToken.id).where(FeedToken.scope == FeedScope.PROMISE)).one()
            token = rotate(session, feed_id, now=NOW)
        assert issued == []
        path = f"/feeds/{token}.ics"
        status, headers, body = running.get(path)
        assert status == 200
        etag = headers["etag"]
        calls = counted.calls
        for _ in range(5):  # the clock stands still: no version() per request
            assert running.get(path, if_none_match=etag)[0] == 304
            assert running.get(path)[2] == body
        assert counted.calls == calls

        with session_scope(other) as session:  # another instance records a completion
            occurrence = session.exec(
                select(Occurrence)
                .where(Occurrence.status == OccurrenceStatus.PLANNED, col(Occurrence.day) >= NOW.date())
                .order_by(col(Occurrence.day))
            ).first()
            assert occurrence is not None
            activity = session.get(Activity, occurrence.activity_id)
            assert activity is not None
            entity_key = None if occurrence.entity_id is None else _entity_key(session, occurrence.entity_id)
            record(session, promise_slug=SLUG, activity_key=activity.key, entity_key=entity_key, done_on=NOW.date(),
                   by="test", now=NOW)  # fmt: skip
        status, headers, new_body = running.get(path, if_none_match=etag)
        assert status == 200  # no stale 304
        assert headers["etag"] != etag
        assert new_body != body
        assert counted.calls == calls + 1
        assert running.get(path, if_none_match=headers["etag"])[0] == 304
        assert counted.calls == calls + 1

        with session_scope(other) as session:  # an edit the body does not show: one check, same ETag
            session.exec(sa.update(Unit).values(email="ny@example.se"))  # type: ignore[call-overload]
        assert running.get(path, if_none_match=headers["etag"])[0] == 304
        assert counted.calls == calls + 2

        today[0] = NOW + dt.timedelta(days=1)  # a new day: the window moved, check again
        assert running.get(path, if_none_match=headers["etag"])[0] in (200, 304)
        assert counted.calls == calls + 3

        with session_scope(other) as session:  # rotated by another instance: dead on the next request
            new_token = rotate(session, feed_id, now=NOW)
        assert running.get(path)[0] == 404
        assert running.get(f"/feeds/{new_token}.ics")[0] == 200


def _entity_key(session: Session, entity_id: int) -> str:
    entity = session.get(Entity, entity_id)
    assert entity is not None
    return entity.key

"""The feed clock: has anything a feed shows changed since we last looked?

Every commit that writes a row of ``FEED_TABLES`` moves the single ``feed_clock`` row
(``seq`` grows by at least one), in the same transaction, through database triggers
(migration 0005): the ORM, Core bulk inserts, ``lofte load``, another instance and a
hand-written ``psql`` statement all count, and nothing in Python has to remember to.
The row also holds a random ``epoch``, new whenever the row itself is created again
(emptied tables), so an ``(epoch, seq)`` pair is never seen twice for different data.

``FeedClockReader(engine).read()`` returns that pair as a ``Stamp`` (or None when the
row is missing: then nothing may be concluded) with one primary-key lookup on a raw
DBAPI connection the reader keeps, without SQLAlchemy's pool or ORM in the way: a few
microseconds on SQLite, one round trip on PostgreSQL. The feed path
(``scheduler.web.feed``) compares it with the stamp its cached feed was made under: equal
means the cached bytes are still the feed (and the token still opens it); different
means "ask ``FeedRenderer.version``". The stamp must be read *before* the data it
vouches for, so that a commit landing in between makes the next check miss rather than
hide itself.

Reads never move the clock; writes that change nothing a feed shows (a unit's e-mail)
still move it, which only costs one ``version()`` per feed afterwards.

On SQLite in WAL mode (how ``make_engine`` opens it) a read first compares the
WAL-index header, the first 48 bytes of the ``-shm`` file that every connection to the
database shares, with the header seen just before the last query. SQLite rewrites that
header at the end of every commit, by any connection of any process (its ``iChange``
counter grows, and ``mxFrame`` or the salts change: https://sqlite.org/walformat.html,
§2.2), and never when a connection only reads. Equal bytes therefore mean nothing was
committed since that query, and the stamp it returned is still the clock: a 48-byte
memory read instead of a query, with the same answer. Different bytes (or no ``-shm`` file, or
bytes that are not an initialised header) mean: query. The header is read *before*
the query, so a commit landing in between makes the next read query again. The ``-shm``
file is mapped read-only and shared, as every SQLite connection maps it, and only while
the reader's own connection is open: SQLite truncates or removes the file only when no
connection has it open (its "DMS" lock), so the mapping never outlives the file's pages.

Connections: one per thread that reads (SQLite in the event loop: one), opened from the
engine (its connect arguments and events, e.g. the feed engine's short busy timeout) and
detached from its pool, in autocommit mode. ``engine.dispose()`` closes them (an
``engine_disposed`` listener), so a maintenance job that closes the pool to lock the
SQLite file can do so; the next read opens a new one. A failing read drops its
connection and raises ``FeedClockError``.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

__all__ = ["FEED_TABLES", "FeedClockError", "FeedClockReader", "Stamp", "read_stamp"]

#: The tables whose rows a feed shows or that decide which feed a token opens; each has
#: the clock's triggers (migration 0005).
FEED_TABLES = ("promise", "unit", "entity", "activity", "activity_partner", "occurrence", "completion", "feed_token")

_QUERY = "SELECT epoch, seq FROM feed_clock WHERE id = 1"
#: The first copy of SQLite's WAL-index header (``WalIndexHdr``) at the start of the
#: ``-shm`` file, and the offset of its ``isInit`` byte.
_WAL_HEADER_BYTES = 48
_WAL_IS_INIT = 12


@dataclass(frozen=True, slots=True)
class Stamp:
    """One reading of the clock; equal stamps mean no feed changed in between."""

    epoch: str
    seq: int


class FeedClockError(RuntimeError):
    """The clock could not be read (the database is locked or unreachable)."""


def read_stamp(connection: sa.Connection) -> Stamp | None:
    """The clock as seen by ``connection`` (for tests and tools; the feed path uses ``FeedClockReader``)."""
    row = connection.exec_driver_sql(_QUERY).first()
    return None if row is None else Stamp(str(row[0]), int(row[1]))


class _PerThread(threading.local):
    """A reading thread's connection, its mapping of the ``-shm`` file and what the last query saw."""

    def __init__(self) -> None:
        self.connection: Any = None
        self.generation = -1
        self.shm: mmap.mmap | None = None
        self.header: bytes | None = None
        self.stamp: Stamp | None = None


class FeedClockReader:
    """Reads the clock on raw connections of ``engine``; thread-safe (a connection per thread)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._local = _PerThread()
        self._lock = threading.Lock()
        self._open: list[Any] = []  # every connection handed out, to close on dispose
        self._generation = 0
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        #: the ``-shm`` file of a SQLite database file (see the module docstring), else None
        self._shm_path = (
            f"{database}-shm"
            if database and database != ":memory:" and not database.startswith("file:") and hasattr(mmap, "PROT_READ")
            else None
        )
        sa.event.listen(engine, "engine_disposed", self._on_dispose)

    def read(self) -> Stamp | None:
        """``(epoch, seq)`` now, or None when the row is missing. Raises ``FeedClockError``."""
        local = self._local
        connection = local.connection
        if connection is None or local.generation != self._generation:
            connection = self._connect()
        shm = local.shm
        header = None
        if shm is not None:
            header = shm[:_WAL_HEADER_BYTES]
            if header == local.header:
                return local.stamp  # nothing committed since the query that read it
            if header[_WAL_IS_INIT] != 1:
                header = None
        try:
            if self._postgres:
                row = connection.execute(_QUERY, prepare=True).fetchone()
            else:
                row = connection.execute(_QUERY).fetchone()
        except Exception as exc:
            self._drop(connection)
            raise FeedClockError(str(exc)) from exc
        stamp = None if row is None else Stamp(str(row[0]), int(row[1]))
        if stamp is not None and stamp == local.stamp:
            stamp = local.stamp  # the same object: callers compare with ``is`` before ``==``
        if shm is None and self._shm_path is not None:
            local.shm = self._open_shm()  # after the first query: the connection has the file open now
        local.header = header if stamp is not None else None
        local.stamp = stamp
        return stamp

    def close(self) -> None:
        """Close every connection the reader opened (they are opened again when needed)."""
        self._on_dispose(self.engine)

    # -- internals ---------------------------------------------------------------------------------
    def _connect(self) -> Any:
        stale = getattr(self._local, "connection", None)
        if stale is not None:
            self._drop(stale)
        self._close_shm()
        try:
            fairy = self.engine.raw_connection()
            connection = fairy.driver_connection
            assert connection is not None  # noqa: S101 - a checked-out connection has its DBAPI one
            fairy.detach()  # ours now: the pool neither resets nor closes it
            if self._postgres:
                connection.autocommit = True  # no transaction left open between reads
            else:
                connection.isolation_level = None  # autocommit: each read sees the latest commit
        except Exception as exc:
            raise FeedClockError(str(exc)) from exc
        with self._lock:
            self._open.append(connection)
            self._local.generation = self._generation
        self._local.connection = connection
        self._local.header = None
        return connection

    def _open_shm(self) -> mmap.mmap | None:
        assert self._shm_path is not None  # noqa: S101 - checked by the caller
        try:
            fd = os.open(self._shm_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None  # not in WAL mode: every read queries
        try:
            if os.fstat(fd).st_size < _WAL_HEADER_BYTES:
                return None  # not initialised yet: tried again after the next query
            return mmap.mmap(fd, _WAL_HEADER_BYTES, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        except (OSError, ValueError):
            return None
        finally:
            os.close(fd)  # the mapping keeps what it needs

    def _close_shm(self) -> None:
        shm, self._local.shm, self._local.header = getattr(self._local, "shm", None), None, None
        if shm is not None:
            shm.close()

    def _drop(self, connection: Any) -> None:
        if getattr(self._local, "connection", None) is connection:
            self._local.connection = None
            self._close_shm()
        with self._lock:
            if connection in self._open:
                self._open.remove(connection)
        with contextlib.suppress(Exception):  # a broken connection may fail to close; it is gone either way
            connection.close()

    def _on_dispose(self, _engine: Engine) -> None:
        with self._lock:
            connections, self._open = self._open, []
            self._generation += 1
        for connection in connections:
            with contextlib.suppress(Exception):  # see _drop
                connection.close()

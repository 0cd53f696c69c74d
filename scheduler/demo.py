"""``lofte serve --demo``: a fresh database with the examples, their feeds and a demo clock.

``prepare_demo(data_dir, now=...)``:

1. deletes ``data_dir/demo.sqlite3`` (and its WAL files) and creates it anew, migrated;
2. loads every ``examples/*.yaml`` with ``scheduler.loader.load_file``, exactly as
   ``lofte load`` does;
3. marks the example promises public (they are signed public documents; the kommun
   feed shows public promises only);
4. creates every feed (``scheduler.feeds.ensure_feeds``) and returns the plaintext
   tokens, which exist only in this process.

The demo clock: the examples are real promises from 2019 and 2022–2024, so on today's
date every feed window (the last 90 days and the next 18 months) would be empty. The
demo therefore runs as if today were ``demo_today`` (default: the day the newest
example starts, 14 June 2022, so Hagfors shows its coming occurrences and
Örkelljunga its recent ones), unless ``--today`` says otherwise. Pages and feeds read
this clock; the rows themselves are stored with the real time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select

from rules.planner import DEFAULT_TZ
from scheduler.db import Promise, make_engine, session_scope, upgrade
from scheduler.feeds import IssuedFeed, ensure_feeds
from scheduler.loader import LoadResult, load_file

__all__ = ["DEMO_FILENAME", "EXAMPLES_DIR", "Demo", "demo_clock", "prepare_demo"]

#: The demo's SQLite file under the data dir, recreated on every start.
DEMO_FILENAME = "demo.sqlite3"
#: The promise files the demo loads.
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
#: The wall-clock time of day the demo clock shows.
_DEMO_TIME = dt.time(9, 0)


@dataclass(slots=True)
class Demo:
    """What ``prepare_demo`` made."""

    engine: sa.Engine
    path: Path
    today: dt.date
    loaded: list[LoadResult] = field(default_factory=list)
    feeds: list[IssuedFeed] = field(default_factory=list)


def demo_clock(today: dt.date) -> dt.datetime:
    """The demo's fixed ``now``: 09:00 in Stockholm on ``today``, as aware UTC."""
    return dt.datetime.combine(today, _DEMO_TIME, tzinfo=ZoneInfo(DEFAULT_TZ)).astimezone(dt.UTC)


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def prepare_demo(
    data_dir: Path,
    *,
    now: dt.datetime,
    today: dt.date | None = None,
    examples: Path = EXAMPLES_DIR,
    secret: str | None = None,
) -> Demo:
    """Recreate the demo database under ``data_dir`` and fill it (see the module docstring).

    ``now`` is the real time the rows are stored with; ``today`` the demo clock's date
    (default: the newest example's first day).
    """
    path = data_dir / DEMO_FILENAME
    data_dir.mkdir(parents=True, exist_ok=True)
    _remove(path)
    engine = make_engine(sa.URL.create("sqlite+pysqlite", database=str(path)))
    upgrade(engine)
    loaded = [load_file(engine, file, now=now, actor="lofte serve --demo") for file in sorted(examples.glob("*.yaml"))]
    with session_scope(engine) as session:
        promises = session.exec(select(Promise).order_by(col(Promise.valid_from))).all()
        for promise in promises:
            promise.public = True
            session.add(promise)
        session.flush()
        feeds = ensure_feeds(session, now=now, secret=secret)
    if today is None:
        today = promises[-1].valid_from if promises else now.astimezone(ZoneInfo(DEFAULT_TZ)).date()
    return Demo(engine=engine, path=path, today=today, loaded=loaded, feeds=feeds)

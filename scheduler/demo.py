"""``lofte serve --demo``: a fresh database with the examples, their feeds and a demo clock.

``prepare_demo(data_dir, now=...)``:

1. deletes ``data_dir/demo.sqlite3`` (and its WAL files) and creates it anew, migrated;
2. loads every ``examples/*.yaml`` with ``scheduler.loader.load_file``, exactly as
   ``lofte load`` does;
3. marks the example promises public (they are signed public documents; the kommun
   feed shows public promises only);
4. creates every feed (``scheduler.feeds.ensure_feeds``) and returns the plaintext
   tokens, which exist only in this process;
5. creates the coordinator ``demo`` (every kommun) with a random password, printed
   at start-up, and a completion history (``add_demo_history``): about two of three
   planned occurrences before the demo's today done, some with notes, one corrected
   and one undone, so the overview shows fulfilled and missed periods next to
   running ones, and each activity's page a history with its audit trail.

The demo clock: the examples are real promises from 2019 and 2022–2024, so on today's
date every feed window (the last 90 days and the next 18 months) would be empty. The
demo therefore runs as if today were ``demo_today`` (default: the day the newest
example starts, 14 June 2022, so Hagfors shows its coming occurrences and
Örkelljunga its recent ones), unless ``--today`` says otherwise. Pages and feeds read
this clock; the rows themselves are stored with the real time.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select

from rules.planner import DEFAULT_TZ
from scheduler.auth import add_user
from scheduler.db import Activity, Entity, Occurrence, OccurrenceStatus, Promise, make_engine, session_scope, upgrade
from scheduler.feeds import IssuedFeed, ensure_feeds
from scheduler.loader import LoadResult, load_file

__all__ = ["DEMO_FILENAME", "DEMO_USERNAME", "EXAMPLES_DIR", "Demo", "add_demo_history", "demo_clock", "prepare_demo"]

#: The demo coordinator's username (its password is random, printed at start-up).
DEMO_USERNAME = "demo"

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
    #: the demo coordinator's password (username ``DEMO_USERNAME``)
    password: str = ""


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
    password = secrets.token_urlsafe(12)
    with session_scope(engine) as session:
        # An address, so the reminder job's escalations (missed and critical quotas) land in the outbox too.
        add_user(session, username=DEMO_USERNAME, name="Demo Samordnare", password=password, now=now, admin=True,
                 email="samordnare@example.se", actor="lofte serve --demo")  # fmt: skip
    add_demo_history(engine, today=today, now=now)
    return Demo(engine=engine, path=path, today=today, loaded=loaded, feeds=feeds, password=password)


_NOTES = ("Genomfört enligt plan.", "Flyttat en vecka på grund av sjukdom.", "Välbesökt, ett 40-tal deltagare.")


def add_demo_history(engine: sa.Engine, *, today: dt.date, now: dt.datetime) -> int:
    """Record a plausible history before ``today`` (module docstring, step 5); returns how many."""
    from scheduler import completions  # noqa: PLC0415 - status/planning code only the demo needs here

    by = f"Demo Samordnare ({DEMO_USERNAME})"
    made = 0
    with session_scope(engine) as session:
        rows = session.exec(
            select(Occurrence, Activity, Promise, Entity)
            .join(Activity, col(Activity.id) == col(Occurrence.activity_id))
            .join(Promise, col(Promise.id) == col(Activity.promise_id))
            .outerjoin(Entity, col(Entity.id) == col(Occurrence.entity_id))
            .where(col(Occurrence.day) < today, col(Occurrence.slot) >= 0,
                   col(Occurrence.status) == OccurrenceStatus.PLANNED)
            .order_by(col(Occurrence.day), col(Occurrence.id))
        ).all()  # fmt: skip
        for n, (occurrence, activity, promise, entity) in enumerate(rows):
            if n % 3 == 2:  # every third one was not done: those periods end missed
                continue
            result = completions.record(
                session, promise_slug=promise.slug, activity_key=activity.key,
                entity_key=entity.key if entity is not None else None, done_on=occurrence.day, by=by,
                note=_NOTES[n % len(_NOTES)] if n % 2 == 0 else None, now=now,
            )  # fmt: skip
            made += result.created
            if made == 2:
                completions.correct(session, completion_id=result.completion.id or 0, by=by, now=now,
                                    note="Rättad: det var två skolor samma kväll.")  # fmt: skip
            elif made == 4:
                completions.undo(session, completion_id=result.completion.id or 0, by=by, now=now)
    return made

"""Re-rendering a feed of 1,000 events after one event changed (issue 4's figure: ≤ 10 ms).

In one run, on a SQLite file in a temp dir:

1. one promise, one unit, 10 activities (5 with entities, 5 without) and 1,000
   occurrences (timed and all-day, spread over 15 months), stored with
   ``store.upsert_occurrences``;
2. cold render of the promise feed (every VEVENT serialised by ``icalendar``);
3. ``rounds`` times: move one occurrence by an hour (SEQUENCE + 1, as a person's move
   does), then time ``FeedRenderer.render`` (the freshness query, the reads, the texts,
   the one new VEVENT and the join of the cached bytes);
4. the baseline: ``icalendar``'s ``Calendar.to_ical()`` over the same 1,000 events
   (the feed parsed back into one ``Calendar``), timed the same number of times.

It prints the median warm re-render, the median baseline and their ratio.

    .venv/bin/python -m bench.bench_feed_render [--events 1000] [--rounds 15] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

import icalendar
from sqlmodel import Session, select

from scheduler.db import Activity, Entity, FeedScope, Occurrence, Promise, Unit, make_engine, upgrade
from scheduler.ical_feed import FeedRenderer, FeedTarget
from scheduler.store import OccurrenceDraft, upsert_occurrences

NOW = dt.datetime(2025, 1, 15, 8, 0, tzinfo=dt.UTC)
GOAL_MS = 10.0


def build(path: Path, events: int) -> int:
    """A promise with ``events`` occurrences; returns its id."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with Session(engine) as s:
        promise = Promise(slug="bench-2025", kommun="Benchby", lan="Skåne", title="Medborgarlöfte Benchby 2025",
                          valid_from=dt.date(2025, 1, 1), valid_until=dt.date(2026, 3, 31))  # fmt: skip
        s.add(promise)
        s.flush()
        unit = Unit(promise_id=promise.id, key="polisen", name="Lokalpolisområde Benchby")  # type: ignore[arg-type]
        s.add(unit)
        schools = [
            Entity(promise_id=promise.id, kind="högstadieskola", key=f"skola-{i}", name=f"Skola {i}")  # type: ignore[arg-type]
            for i in range(4)
        ]
        s.add_all(schools)
        s.flush()
        rule = {"text": "2 gånger per månad", "kind": "quota", "quota": {"min": 2, "max": 2, "measure": "times"},
                "period": {"unit": "month", "every": 1}}  # fmt: skip
        activities = [
            Activity(
                promise_id=promise.id,  # type: ignore[arg-type]
                key=f"aktivitet-{i}",
                title=f"Aktivitet nummer {i} på torget",
                sentence=f"Polisen ska genomföra aktivitet {i} på torget två gånger per månad.",
                rule=rule,
                unit_id=unit.id,  # type: ignore[arg-type]
                entity_kind="högstadieskola" if i < 5 else None,
                preferences={"location": "Torget", "time": "14:00"} if i % 2 else {},
            )
            for i in range(10)
        ]
        s.add_all(activities)
        s.flush()
        drafts = []
        per_activity = events // len(activities)
        for i, activity in enumerate(activities):
            for n in range(per_activity):
                day = dt.date(2025, 1, 1) + dt.timedelta(days=(n * 457) // per_activity)
                entity = schools[n % 4].key if i < 5 else ""
                start = dt.datetime.combine(day, dt.time(13, 0), tzinfo=dt.UTC) if i % 2 else None
                drafts.append(OccurrenceDraft(activity=activity.key, entity=entity, period_key=f"{day:%Y-%m}",
                                              slot=n, day=day, start=start,
                                              end=start + dt.timedelta(hours=2) if start else None))  # fmt: skip
        upsert_occurrences(s, promise, drafts, now=NOW)
        s.commit()
        assert promise.id is not None
        return promise.id


def bump(engine: object, round_: int) -> None:
    """Move one timed occurrence by an hour, as a person's move does (SEQUENCE + 1)."""
    with Session(engine) as s:  # type: ignore[call-overload]
        row = s.exec(select(Occurrence).where(Occurrence.starts_at.is_not(None)).order_by(Occurrence.id)).first()  # type: ignore[union-attr]
        row.starts_at = row.starts_at + dt.timedelta(hours=1)
        row.ends_at = row.ends_at + dt.timedelta(hours=1)
        row.sequence += 1
        row.last_modified = NOW + dt.timedelta(minutes=round_ + 1)
        row.manual = True
        s.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        promise_id = build(path, args.events)
        engine = make_engine(f"sqlite:///{path}")
        renderer = FeedRenderer(engine, base_url="https://lofte.example.se")
        target = FeedTarget(FeedScope.PROMISE, promise_id=promise_id)
        t0 = time.perf_counter()
        feed = renderer.render(target, now=NOW)
        cold_ms = (time.perf_counter() - t0) * 1000
        assert feed is not None
        count = feed.body.count(b"BEGIN:VEVENT")
        warm = []
        for round_ in range(args.rounds):
            bump(engine, round_)
            t0 = time.perf_counter()
            new = renderer.render(target, now=NOW)
            warm.append((time.perf_counter() - t0) * 1000)
            assert new is not None
            assert new.body != feed.body
            feed = new
        t0 = time.perf_counter()
        for _ in range(args.rounds):
            renderer.version(target, now=NOW)
        version_ms = (time.perf_counter() - t0) * 1000 / args.rounds
        cal = icalendar.Calendar.from_ical(feed.body)
        baseline = []
        for _ in range(max(3, args.rounds // 3)):
            t0 = time.perf_counter()
            cal.to_ical()
            baseline.append((time.perf_counter() - t0) * 1000)
        engine.dispose()
    result = {
        "events": count,
        "body_bytes": len(feed.body),
        "cold_render_ms": round(cold_ms, 1),
        "warm_rerender_ms": round(statistics.median(warm), 2),
        "warm_rerender_max_ms": round(max(warm), 2),
        "version_check_ms": round(version_ms, 2),
        "baseline_icalendar_to_ical_ms": round(statistics.median(baseline), 1),
        "goal_ms": GOAL_MS,
    }
    result["ratio_baseline_over_warm"] = round(result["baseline_icalendar_to_ical_ms"] / result["warm_rerender_ms"], 1)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"feed of {count} events, {len(feed.body):,} bytes (SQLite file)")
        print(f"cold render:                      {result['cold_render_ms']:8.1f} ms")
        print(f"warm re-render, one event moved:  {result['warm_rerender_ms']:8.2f} ms median, "
              f"{result['warm_rerender_max_ms']:.2f} ms max (goal ≤ {GOAL_MS:.0f} ms)")  # fmt: skip
        print(f"version() on a cached feed:       {result['version_check_ms']:8.2f} ms")
        print(f"baseline icalendar to_ical:       {result['baseline_icalendar_to_ical_ms']:8.1f} ms")
        print(f"ratio baseline / warm re-render:  {result['ratio_baseline_over_warm']:8.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

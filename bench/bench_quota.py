"""Every quota of the national data set, with a realistic completion history, evaluated.

Generates the national data set (``bench/national.py``: 290 kommuner, 12 mixed
activities, 3 years, 4 schools, 3 fritidsgårdar), loads it into SQLite with
``lofte load``'s loader, then writes a completion history as of ``TODAY`` (the middle
of the validity): 80 % of the past planned occurrences done, of those 70 % on the
planned day, 20 % one to ten days late, 10 % on another day of the same period, and
the matching occurrence marked done; 3 % of the completions undone.

Figures (goal: every quota evaluated in ≤ 2 s):

1. ``read``: the DB reads of ``scheduler.status.read_inputs`` (promises, activities,
   entities, units, the completions that count, the planned occurrences ahead);
2. ``evaluate (cold)``: ``evaluate_inputs`` on the rows already in memory, plan cache
   empty: every promise planned, every quota evaluated (the CLI's case);
3. ``evaluate (warm)``: the same with the plans cached (the web app's and the
   scheduler's case: a promise is re-planned only when it is reloaded);
4. ``total``: ``evaluate_promises`` end to end, cold and warm.

Baseline, measured in the same run: ``rules.planner.plan`` of every promise from the
same rows (what any evaluation from the database must at least do once).

    .venv/bin/python -m bench.bench_quota [--kommuner 290] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bench.national import generate
from rules.model import Window
from rules.planner import plan
from rules.quota import QuotaState
from scheduler.db import Activity, Completion, Occurrence, OccurrenceStatus, Promise, make_engine, upgrade
from scheduler.loader import load_file
from scheduler.status import (
    _school_calendar,
    clear_plan_cache,
    evaluate_inputs,
    evaluate_promises,
    plan_inputs_from_rows,
    read_inputs,
)

NOW = dt.datetime(2025, 1, 1, 8, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 10, 14)
GOAL_SECONDS = 2.0


def write_history(engine: sa.Engine, *, seed: int = 1) -> int:
    """Completions for 80 % of the past planned occurrences (see the module docstring)."""
    rng = random.Random(seed)
    occ = Occurrence.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        rows = session.exec(
            select(Occurrence.id, Occurrence.activity_id, Occurrence.entity_id, Occurrence.day, Promise.valid_from)
            .join(Activity, col(Occurrence.activity_id) == col(Activity.id))
            .join(Promise, col(Activity.promise_id) == col(Promise.id))
            .where(col(Occurrence.day) < TODAY, col(Occurrence.slot) >= 0)
        ).all()
        completions, done_ids = [], []
        stamp = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
        for occurrence_id, activity_id, entity_id, day, valid_from in rows:
            if rng.random() >= 0.8:
                continue
            roll = rng.random()
            if roll < 0.7:
                done_on = day
            elif roll < 0.9:
                done_on = min(day + dt.timedelta(days=rng.randint(1, 10)), TODAY - dt.timedelta(days=1))
            else:
                done_on = max(valid_from, day - dt.timedelta(days=rng.randint(1, 6)))
            undone = rng.random() < 0.03
            completions.append(
                {
                    "activity_id": activity_id, "entity_id": entity_id,
                    "occurrence_id": None if undone else occurrence_id, "done_on": done_on,
                    "recorded_by": "bench", "note": None, "undone_at": stamp if undone else None,
                    "undone_by": "bench" if undone else None, "replaces_id": None,
                    "created_at": stamp, "updated_at": stamp,
                }
            )  # fmt: skip
            if not undone:
                done_ids.append(occurrence_id)
        connection = session.connection()
        connection.execute(sa.insert(Completion.__table__), completions)  # type: ignore[attr-defined]
        for start in range(0, len(done_ids), 5000):
            chunk = done_ids[start : start + 5000]
            connection.execute(occ.update().where(occ.c.id.in_(chunk)).values(status=OccurrenceStatus.DONE.value))
        session.commit()
    return len(completions)


def baseline_plan(inputs) -> float:  # type: ignore[no-untyped-def]
    """Seconds to plan every promise from the rows already read (the same inputs)."""
    started = time.perf_counter()
    for promise in inputs.promises:
        school, _ = _school_calendar(promise)
        work = school.work if school is not None else None
        items = plan_inputs_from_rows(
            inputs.activities_of.get(promise.id, []), inputs.entities_of.get(promise.id, []), tz=promise.tz
        )
        assert work is not None
        plan(items, window=Window(start=promise.valid_from, end=promise.valid_until), work=work, school=school)
    return time.perf_counter() - started


def bench(kommuner: int, folder: Path) -> dict[str, object]:
    paths = generate(folder / "promises", kommuner=kommuner)
    engine = make_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
    try:
        upgrade(engine)
        started = time.perf_counter()
        for path in paths:
            load_file(engine, path, now=NOW)
        load_seconds = time.perf_counter() - started
        completions = write_history(engine)

        with Session(engine) as session:
            started = time.perf_counter()
            inputs = read_inputs(session, today=TODAY)
            read_seconds = time.perf_counter() - started
            base = baseline_plan(inputs)
            clear_plan_cache()
            started = time.perf_counter()
            report = evaluate_inputs(inputs)
            cold = time.perf_counter() - started
            started = time.perf_counter()
            evaluate_inputs(inputs)
            warm = time.perf_counter() - started
        clear_plan_cache()
        started = time.perf_counter()
        evaluate_promises(engine, today=TODAY)
        total_cold = time.perf_counter() - started
        started = time.perf_counter()
        evaluate_promises(engine, today=TODAY)
        total_warm = time.perf_counter() - started
    finally:
        engine.dispose()
    states = {state.value: sum(1 for i in report.items if i.status.state is state) for state in QuotaState}
    return {
        "kommuner": kommuner,
        "quotas": len(report.items),
        "untracked": len(report.untracked),
        "completions": completions,
        "states": states,
        "load_seconds": round(load_seconds, 1),
        "read_seconds": round(read_seconds, 3),
        "evaluate_cold_seconds": round(cold, 3),
        "evaluate_warm_seconds": round(warm, 3),
        "total_cold_seconds": round(total_cold, 3),
        "total_warm_seconds": round(total_warm, 3),
        "baseline_plan_seconds": round(base, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Every quota of the national data set, evaluated.")
    parser.add_argument("--kommuner", type=int, default=290)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        r = bench(args.kommuner, Path(folder))
    if args.json:
        print(json.dumps(r))
        return 0
    base = float(r["baseline_plan_seconds"])  # type: ignore[arg-type]
    print(
        f"{r['kommuner']} kommuner, {r['quotas']} quotas (+{r['untracked']} untracked), "
        f"{r['completions']} completions; states {r['states']}"
    )
    for name, key in [
        ("read (DB rows)", "read_seconds"),
        ("evaluate, rows in memory, cold plans", "evaluate_cold_seconds"),
        ("evaluate, rows in memory, cached plans", "evaluate_warm_seconds"),
        ("total incl. DB reads, cold plans", "total_cold_seconds"),
        ("total incl. DB reads, cached plans", "total_warm_seconds"),
    ]:
        seconds = float(r[key])  # type: ignore[arg-type]
        print(
            f"  {name}: {seconds:.3f} s (goal ≤ {GOAL_SECONDS:.0f} s: {seconds / GOAL_SECONDS:.2f}× the goal; "
            f"{seconds / base:.2f}× the baseline)"
        )
    print(f"  baseline: rules.planner.plan of every promise from the same rows: {base:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Every quota of the national data set, with a realistic completion history, evaluated.

Generates the national data set (``bench/national.py``: 290 kommuner, 12 mixed
activities, 3 years, 4 schools, 3 fritidsgårdar), loads it into SQLite with
``lofte load``'s loader, then writes a completion history as of ``TODAY`` (the middle
of the validity): 80 % of the past planned occurrences done, of those 70 % on the
planned day, 20 % one to ten days late, 10 % on another day of the same period, and
the matching occurrence marked done; 3 % of the completions undone.

Figures (goal: every quota evaluated in ≤ 2 s), each the best of ``--repeat`` runs
with the median beside it, wall time and CPU time (``time.process_time``: less
disturbed by other work on the machine); the load average is printed with them:

1. ``read``: the DB reads of ``scheduler.status.read_inputs`` (promises, activities,
   entities, units, the completions that count, the planned occurrences ahead, the
   stored plans of the promises not cached);
2. ``evaluate (cold)``: ``evaluate_inputs`` on the rows already in memory, plan cache
   empty: plans from ``promise_plan`` (stored by the loader), every quota evaluated;
3. ``evaluate (warm)``: the same with the plans cached (the web app's and the
   scheduler's case);
4. ``total``: ``evaluate_promises`` end to end, cold (a fresh ``lofte status``) and warm;
5. ``total, re-planned``: cold without stored plans (a database loaded before
   migration 0006): every promise planned, as before.

Baseline, measured in the same run: ``rules.planner.plan`` of every promise from the
same rows (what an evaluation without stored plans must at least do).

    .venv/bin/python -m bench.bench_quota [--kommuner 290] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
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
from scheduler.db.models import PromisePlan
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


def _best(runs: list[float]) -> tuple[float, float]:
    return round(min(runs), 3), round(statistics.median(runs), 3)


def bench(kommuner: int, folder: Path, repeat: int = 3) -> dict[str, object]:
    paths = generate(folder / "promises", kommuner=kommuner)
    engine = make_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
    runs: dict[str, list[float]] = {}

    def timed(name: str, work):  # type: ignore[no-untyped-def]
        started, cpu = time.perf_counter(), time.process_time()
        result = work()
        runs.setdefault(name, []).append(time.perf_counter() - started)
        runs.setdefault(f"{name}_cpu", []).append(time.process_time() - cpu)
        return result

    try:
        upgrade(engine)
        started = time.perf_counter()
        for path in paths:
            load_file(engine, path, now=NOW)
        load_seconds = time.perf_counter() - started
        completions = write_history(engine)

        for _ in range(repeat):
            with Session(engine) as session:
                clear_plan_cache()
                inputs = timed("read", lambda: read_inputs(session, today=TODAY))
                timed("baseline", lambda: baseline_plan(inputs))  # noqa: B023 - called at once
                report = timed("evaluate_cold", lambda: evaluate_inputs(inputs))  # noqa: B023
                timed("evaluate_warm", lambda: evaluate_inputs(inputs))  # noqa: B023
            clear_plan_cache()
            timed("total_cold", lambda: evaluate_promises(engine, today=TODAY))
            timed("total_warm", lambda: evaluate_promises(engine, today=TODAY))
        with Session(engine) as session:  # as if loaded before migration 0006
            session.execute(sa.delete(PromisePlan))
            session.commit()
        for _ in range(repeat):
            clear_plan_cache()
            replanned = timed("total_replanned", lambda: evaluate_promises(engine, today=TODAY))
        assert replanned.items == report.items, "stored plans must give the statuses planning gives"
    finally:
        engine.dispose()
    states = {state.value: sum(1 for i in report.items if i.status.state is state) for state in QuotaState}
    out: dict[str, object] = {
        "kommuner": kommuner,
        "quotas": len(report.items),
        "untracked": len(report.untracked),
        "completions": completions,
        "states": states,
        "repeat": repeat,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "load_seconds": round(load_seconds, 1),
    }
    for name, values in runs.items():
        out[f"{name}_seconds"], out[f"{name}_median_seconds"] = _best(values)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Every quota of the national data set, evaluated.")
    parser.add_argument("--kommuner", type=int, default=290)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        r = bench(args.kommuner, Path(folder), args.repeat)
    if args.json:
        print(json.dumps(r))
        return 0
    base = float(r["baseline_seconds"])  # type: ignore[arg-type]
    print(
        f"{r['kommuner']} kommuner, {r['quotas']} quotas (+{r['untracked']} untracked), "
        f"{r['completions']} completions; states {r['states']}; best / median of {r['repeat']}; "
        f"load average {r['load_average']}"
    )
    print("  wall best / median, then CPU (process time) best / median:")
    for name, key in [
        ("read (DB rows)", "read"),
        ("evaluate, rows in memory, stored plans", "evaluate_cold"),
        ("evaluate, rows in memory, cached plans", "evaluate_warm"),
        ("total incl. DB reads, stored plans (fresh process)", "total_cold"),
        ("total incl. DB reads, cached plans", "total_warm"),
        ("total incl. DB reads, no stored plans (re-planned)", "total_replanned"),
    ]:
        seconds = float(r[f"{key}_seconds"])  # type: ignore[arg-type]
        print(
            f"  {name}: {seconds:.3f} s / {r[f'{key}_median_seconds']} s, CPU {r[f'{key}_cpu_seconds']} s / "
            f"{r[f'{key}_cpu_median_seconds']} s (goal ≤ {GOAL_SECONDS:.0f} s: "
            f"{seconds / GOAL_SECONDS:.2f}× the goal; {seconds / base:.2f}× the baseline)"
        )
    print(f"  baseline: rules.planner.plan of every promise from the same rows: {base:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

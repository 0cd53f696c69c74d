"""One evaluate-and-decide run of the reminder job over the national data set.

The national data set (``bench/national.py``: 290 kommuner) is loaded with ``lofte
load``'s loader and given the completion history of ``bench/bench_quota.py`` (80 % of
the past planned occurrences done, as of ``TODAY``), plus one admin coordinator with an
address (escalations). Then ``scheduler.reminders.decide_due`` runs as ``lofte remind``
does it at 08:30 on ``TODAY`` (a Wednesday): evaluate every quota, decide with
``rules.reminders.decide``, record every decision (``store.decide_notifications``, one statement), commit.
Every repeat starts from no notifications, so each one decides and records the same set.

Figures (goal: one evaluate-and-decide run in ≤ 5 s):

* ``decide (fresh process)``: the plan cache emptied first, as in ``lofte remind``
  (plans come from ``promise_plan``, stored by the loader);
* ``decide (cached plans)``: as the job inside ``lofte serve`` runs it.

Baseline, measured in the same run: ``scheduler.status.evaluate_promises`` alone (the
evaluation the decision starts from), fresh and cached; the difference in CPU seconds is
what deciding and recording add (``rules.reminders.decide``, the payloads, and one
``store.decide_notifications`` statement for all the decisions). Each figure is the best
of ``--repeat`` runs, the median beside it; CPU seconds too, steadier on a busy machine.

    .venv/bin/python -m bench.bench_remind [--kommuner 290] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from bench.bench_quota import NOW, TODAY, write_history
from bench.national import generate
from scheduler.db import Notification, User, make_engine, upgrade
from scheduler.loader import load_file
from scheduler.reminders import MailContext, decide_due
from scheduler.status import clear_plan_cache, evaluate_promises

GOAL_SECONDS = 5.0
AT = dt.datetime.combine(TODAY, dt.time(8, 30), tzinfo=ZoneInfo("Europe/Stockholm"))
CONTEXT = MailContext(
    base_url="https://lofte.example.se",
    sender="lofte@example.se",
    secret="bench-only-signing-key-0123456789",  # noqa: S106 - a benchmark's key
)


def _timed(runs: int, setup: Callable[[], None], work: Callable[[], object]) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(runs):
        setup()
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {
        "best": round(min(walls), 3),
        "median": round(statistics.median(walls), 3),
        "cpu_best": round(min(cpus), 3),
        "cpu_median": round(statistics.median(cpus), 3),
    }


def bench(kommuner: int, folder: Path, repeat: int) -> dict[str, object]:
    paths = generate(folder / "promises", kommuner=kommuner)
    engine = make_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
    decided: list[int] = []
    try:
        upgrade(engine)
        for path in paths:
            load_file(engine, path, now=NOW)
        completions = write_history(engine)
        with Session(engine) as session:
            session.add(
                User(username="samordnare", name="Sam Ordnare", email="samordnare@example.se", is_admin=True,
                     password_hash="-", created_at=NOW, updated_at=NOW)  # noqa: S106 - cannot log in
            )  # fmt: skip
            session.commit()

        def forget_notifications() -> None:
            with engine.begin() as connection:
                connection.execute(sa.delete(Notification))

        def decide() -> None:
            with Session(engine) as session:
                result = decide_due(session, now=AT, context=CONTEXT)
                session.commit()
            decided.append(len(result.decided))

        def fresh() -> None:
            forget_notifications()
            clear_plan_cache()

        def warm_up() -> None:
            forget_notifications()
            evaluate_promises(engine, today=TODAY)

        def evaluate() -> None:
            evaluate_promises(engine, today=TODAY)

        figures = {
            "decide_fresh": _timed(repeat, fresh, decide),
            "decide_cached": _timed(repeat, warm_up, decide),
            "evaluate_fresh": _timed(repeat, clear_plan_cache, evaluate),
            "evaluate_cached": _timed(repeat, lambda: None, evaluate),
        }
        with Session(engine) as session:
            notifications = session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar_one()
    finally:
        engine.dispose()
    return {
        "kommuner": kommuner,
        "completions": completions,
        "decisions": sorted(set(decided)),
        "notifications": notifications,
        "repeat": repeat,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        **figures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="One evaluate-and-decide run over the national data set.")
    parser.add_argument("--kommuner", type=int, default=290)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        r = bench(args.kommuner, Path(folder), args.repeat)
    if args.json:
        print(json.dumps(r))
        return 0
    print(
        f"{r['kommuner']} kommuner, {r['completions']} completions, decisions per run {r['decisions']}; "
        f"best / median of {r['repeat']}; load average {r['load_average']}"
    )
    for name, key, base_key in [
        ("decide_due, fresh process (stored plans)", "decide_fresh", "evaluate_fresh"),
        ("decide_due, cached plans", "decide_cached", "evaluate_cached"),
    ]:
        f, b = r[key], r[base_key]
        assert isinstance(f, dict)
        assert isinstance(b, dict)
        print(
            f"  {name}: {f['best']:.3f} s / {f['median']:.3f} s (cpu {f['cpu_best']:.3f} s; "
            f"goal ≤ {GOAL_SECONDS:.0f} s: {f['best'] / GOAL_SECONDS:.2f}× the goal; "
            f"{f['best'] / b['best']:.2f}× the baseline)"
        )
        print(
            f"    baseline: evaluate_promises alone: {b['best']:.3f} s / {b['median']:.3f} s "
            f"(cpu {b['cpu_best']:.3f} s); deciding and recording on top: "
            f"{f['cpu_best'] - b['cpu_best']:+.3f} s cpu (best minus best)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Planner throughput: every kommun's plan in one process.

Generates the national data set (``bench/national.py``: 290 kommuner, 12 mixed
activities, 3 years, 4 schools, 3 fritidsgårdar) into a temporary folder, loads the
promise files (timed separately: that is the loader's cost, not the planner's), then
plans every file over its validity with ``rules.planner.plan``, exactly as
``lofte plan`` does. The planner's caches start cold.

    .venv/bin/python -m bench.bench_plan [--kommuner 290] [--json]

Goal: ≤ 5 s for planning all 290 kommuner.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.national import generate
from scheduler.planning import plan_spec
from scheduler.promise_file import load_promise_file


def bench(kommuner: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        paths = generate(Path(folder), kommuner=kommuner)
        started = time.perf_counter()
        specs = [load_promise_file(path) for path in paths]
        loaded = time.perf_counter() - started
    started = time.perf_counter()
    plans = [plan_spec(spec) for spec in specs]
    seconds = time.perf_counter() - started
    total = sum(len(p.occurrences) for p in plans)
    return {
        "kommuner": kommuner,
        "load_seconds": round(loaded, 3),
        "plan_seconds": round(seconds, 3),
        "occurrences": total,
        "occurrences_per_s": round(total / seconds) if seconds else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Planner throughput on the national data set.")
    parser.add_argument("--kommuner", type=int, default=290)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = bench(args.kommuner)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['kommuner']} kommuner: planned in {result['plan_seconds']} s "
            f"({result['occurrences']} occurrences, {result['occurrences_per_s']}/s; goal ≤ 5 s); "
            f"loading the files took {result['load_seconds']} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

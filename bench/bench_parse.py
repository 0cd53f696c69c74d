"""Parser throughput: sentences per second in one process, with peak memory.

Runs ``parse_sv`` over the development set (../shared/phrases/dev.jsonl) repeated
to at least 10,000 sentences, and, as the baseline named by the issue, dateparser
turning Swedish date phrases into dates in the same run (if it is installed:
``pip install -e '.[bench]'``).

    .venv/bin/python -m bench.bench_parse [--n 10000] [--repeat 5] [--json]

Each figure is the best of ``--repeat`` timed runs (the median is printed beside it): on a
machine shared with other work the best run is the one least disturbed by it. The process's
CPU time is printed too: it leaves out the time the process waited for a core.

Goal: ≥ 10,000 sentences/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from rules import parse_sv

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "phrases" / "dev.jsonl"
DATE_PHRASES = [
    "1 mars 2022",
    "31 maj 2022",
    "den 15 maj 2025",
    "i november 2019",
    "30 juni 2026",
    "1 september 2025",
    "31 augusti 2027",
    "15 januari 2026",
    "28 februari 2026",
    "1 april 2026",
]


def _sentences(n: int) -> list[tuple[str, dt.date]]:
    cases = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    base = [(c["text"], dt.date.fromisoformat(c["today"])) for c in cases]
    return (base * (n // len(base) + 1))[:n]


def _best_of(repeat: int, run: Callable[[], None]) -> tuple[float, float, float]:
    """(best, median) wall-clock seconds and best CPU seconds of `repeat` runs."""
    times, cpu = [], []
    for _ in range(max(repeat, 1)):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(times), statistics.median(times), min(cpu)


def bench_parser(n: int, repeat: int = 5) -> dict[str, float]:
    items = _sentences(n)
    parse_sv(items[0][0], today=items[0][1])  # import-time work and caches warm, as in a long-running process

    def run() -> None:
        for text, today in items:
            parse_sv(text, today=today)

    elapsed, median, cpu = _best_of(repeat, run)
    tracemalloc.start()
    for text, today in items[:2000]:
        parse_sv(text, today=today)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "sentences": n,
        "seconds": elapsed,
        "per_second": n / elapsed,
        "median_per_second": n / median,
        "cpu_per_second": n / cpu,
        "peak_traced_kib": peak / 1024,
    }


def bench_dateparser(n: int, repeat: int = 5) -> dict[str, float] | None:
    try:
        import dateparser  # noqa: PLC0415 - optional baseline
    except ImportError:
        return None
    parser = dateparser.DateDataParser(languages=["sv"])
    phrases = (DATE_PHRASES * (n // len(DATE_PHRASES) + 1))[:n]
    parser.get_date_data(phrases[0])

    def run() -> None:
        for phrase in phrases:
            parser.get_date_data(phrase)

    elapsed, median, cpu = _best_of(repeat, run)
    return {
        "phrases": n,
        "seconds": elapsed,
        "per_second": n / elapsed,
        "median_per_second": n / median,
        "cpu_per_second": n / cpu,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs; the best is reported")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not DEV.exists():
        print(f"missing {DEV}", file=sys.stderr)
        return 2
    ours = bench_parser(max(args.n, 10_000), args.repeat)
    baseline = bench_dateparser(2000, args.repeat)
    result = {
        "parse_sv": ours,
        "dateparser_sv": baseline,
        "ratio_vs_dateparser": ours["per_second"] / baseline["per_second"] if baseline else None,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "goal_per_second": 10_000,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"parse_sv: {ours['sentences']} sentences in {ours['seconds']:.2f} s = {ours['per_second']:,.0f}/s "
            f"(best of {args.repeat}, median {ours['median_per_second']:,.0f}/s, "
            f"by CPU time {ours['cpu_per_second']:,.0f}/s; goal 10,000/s); "
            f"peak traced {ours['peak_traced_kib']:.0f} KiB; max RSS {result['max_rss_mib']:.0f} MiB"
        )
        if baseline:
            print(
                f"dateparser (sv): {baseline['per_second']:,.0f} phrases/s "
                f"(median {baseline['median_per_second']:,.0f}/s, by CPU time {baseline['cpu_per_second']:,.0f}/s); "
                f"ratio parse_sv/dateparser = {result['ratio_vs_dateparser']:.1f}x"
            )
        else:
            print("dateparser not installed: pip install -e '.[bench]' for the baseline")
    return 0 if ours["per_second"] >= 10_000 else 1


if __name__ == "__main__":
    sys.exit(main())

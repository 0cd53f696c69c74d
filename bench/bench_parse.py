"""Parser throughput: sentences per second in one process, with peak memory.

Runs the parser over the development set (../shared/phrases/dev.jsonl) repeated to at least
10,000 sentences, two ways: ``parse_many`` (the batch parser that documents, promise files
and ``lofte parse -`` go through: the passes run over `BATCH` sentences at a time; the
development set has more sentences than a batch, so no batch holds a sentence twice) and
``parse_sv`` called once per sentence (as a form does). As the baseline named by the issue,
dateparser turns Swedish date phrases into dates in the same run (if it is installed:
``pip install -e '.[bench]'``).

    .venv/bin/python -m bench.bench_parse [--n 10000] [--repeat 5] [--json]

Each figure is the best of ``--repeat`` timed runs (the median is printed beside it): on a
machine shared with other work the best run is the one least disturbed by it. The process's
CPU time is printed too: it leaves out the time the process waited for a core.

Goal: ≥ 10,000 sentences/s where dateparser does about 800 phrases/s: 12.5 times dateparser.
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

from rules import parse_many, parse_sv
from rules.parse_sv import BATCH

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


def bench_parser(n: int, repeat: int = 5) -> dict[str, dict[str, float]]:
    items = _sentences(n)
    texts, todays = [t for t, _ in items], [d for _, d in items]
    # import-time work and the per-word caches warm, as in a long-running process
    parse_many(texts[:BATCH], today=todays[:BATCH])

    def batch() -> None:
        parse_many(texts, today=todays)

    def one_by_one() -> None:
        for text, today in items:
            parse_sv(text, today=today)

    out = {}
    for name, run in (("parse_many", batch), ("parse_sv", one_by_one)):
        elapsed, median, cpu = _best_of(repeat, run)
        out[name] = {
            "sentences": n,
            "seconds": elapsed,
            "per_second": n / elapsed,
            "median_per_second": n / median,
            "cpu_per_second": n / cpu,
        }
    tracemalloc.start()
    parse_many(texts[:2000], today=todays[:2000])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out["parse_many"]["peak_traced_kib"] = peak / 1024
    return out


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
    per_second = {name: figures["per_second"] for name, figures in ours.items()}
    result = {
        **ours,
        "dateparser_sv": baseline,
        "ratio_vs_dateparser": (
            {name: v / baseline["per_second"] for name, v in per_second.items()} if baseline else None
        ),
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "goal_per_second": 10_000,
        "goal_ratio_vs_dateparser": 10_000 / 800,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, how in (("parse_many", f"batches of {BATCH}"), ("parse_sv", "one call per sentence")):
            figures = ours[name]
            print(
                f"{name} ({how}): {figures['sentences']} sentences in {figures['seconds']:.2f} s = "
                f"{figures['per_second']:,.0f}/s (best of {args.repeat}, median {figures['median_per_second']:,.0f}/s, "
                f"by CPU time {figures['cpu_per_second']:,.0f}/s; goal 10,000/s)"
                + (f" = {per_second[name] / baseline['per_second']:.1f}x dateparser (goal 12.5x)" if baseline else "")
            )
        print(
            f"peak traced {ours['parse_many']['peak_traced_kib']:.0f} KiB over 2,000 sentences; "
            f"max RSS {result['max_rss_mib']:.0f} MiB"
        )
        if baseline:
            print(
                f"dateparser (sv): {baseline['per_second']:,.0f} phrases/s "
                f"(median {baseline['median_per_second']:,.0f}/s, by CPU time {baseline['cpu_per_second']:,.0f}/s)"
            )
        else:
            print("dateparser not installed: pip install -e '.[bench]' for the baseline")
    return 0 if ours["parse_many"]["per_second"] >= 10_000 else 1


if __name__ == "__main__":
    sys.exit(main())

"""`lofte load` of the national data set into SQLite and PostgreSQL.

Generates the national data set (``bench/national.py``: 290 kommuner, each one
promise of 12 mixed activities over 3 years with 4 schools and 3 fritidsgårdar),
then, per database:

1. loads every file, each in its own transaction, exactly as ``lofte load`` does
   (validation, parsing, planning and storing included): goal ≤ 30 s on SQLite,
   ≤ 60 s on PostgreSQL;
2. reloads every file unchanged and checks that nothing was written (row counts,
   the newest ``updated_at`` and the audit log are the same).

PostgreSQL comes from ``LOFTE_TEST_POSTGRES_URL`` (a scratch database is created and
dropped); it is skipped with a message when unreachable.

    .venv/bin/python -m bench.bench_load [--kommuner 290] [--json] [--no-postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, func, select

from bench.national import generate
from scheduler.db import make_engine, upgrade
from scheduler.loader import load_file

NOW = dt.datetime(2025, 1, 1, 8, 0, tzinfo=dt.UTC)


def _fingerprint(engine: sa.Engine) -> dict[str, object]:
    with Session(engine) as session:
        out: dict[str, object] = {}
        for table in SQLModel.metadata.sorted_tables:
            out[table.name] = session.exec(select(func.count()).select_from(table)).one()
            if "updated_at" in table.c:
                out[table.name + ".updated_at"] = session.exec(select(func.max(table.c.updated_at))).one()
        return out


def bench_backend(name: str, url: sa.URL | str, paths: list[Path]) -> dict[str, object]:
    engine = make_engine(url)
    try:
        upgrade(engine)
        started = time.perf_counter()
        occurrences = 0
        for path in paths:
            occurrences += load_file(engine, path, now=NOW).occurrences
        first = time.perf_counter() - started
        before = _fingerprint(engine)
        started = time.perf_counter()
        unchanged = sum(load_file(engine, path, now=NOW + dt.timedelta(days=1)).unchanged for path in paths)
        reload = time.perf_counter() - started
        wrote_nothing = _fingerprint(engine) == before and unchanged == len(paths)
    finally:
        engine.dispose()
    return {
        "backend": name,
        "files": len(paths),
        "occurrences": occurrences,
        "load_seconds": round(first, 2),
        "reload_seconds": round(reload, 2),
        "reload_wrote_nothing": wrote_nothing,
    }


def _postgres(paths: list[Path]) -> dict[str, object] | None:
    server = sa.make_url(os.environ.get("LOFTE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    name = f"lofte_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL not reachable at {server.render_as_string()}: {exc.orig}", file=sys.stderr)
        return None
    try:
        return bench_backend("postgresql", server.set(database=name), paths)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="lofte load of the national data set.")
    parser.add_argument("--kommuner", type=int, default=290)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        paths = generate(Path(folder) / "promises", kommuner=args.kommuner)
        results.append(bench_backend("sqlite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}", paths))
        if not args.no_postgres:
            pg = _postgres(paths)
            if pg:
                results.append(pg)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    goals = {"sqlite": 30.0, "postgresql": 60.0}
    if args.json:
        print(json.dumps({"results": results, "peak_rss_mib": round(peak_mib)}))
    else:
        for r in results:
            goal = goals[str(r["backend"])]
            print(
                f"{r['backend']}: {r['files']} files, {r['occurrences']} occurrences loaded in {r['load_seconds']} s "
                f"(goal ≤ {goal:.0f} s, {float(r['load_seconds']) / goal:.2f}× the goal); unchanged reload "
                f"{r['reload_seconds']} s, wrote nothing: {r['reload_wrote_nothing']}"
            )
        print(f"peak RSS {peak_mib:.0f} MiB")
    ok = all(float(r["load_seconds"]) <= goals[str(r["backend"])] and r["reload_wrote_nothing"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""One kommun's warning page (``/oversikt``) on the national data set: server time per request.

1. Generates the national data set (``bench/national.py``: 290 kommuner, each one
   promise of 12 activities over 2025–2027) and loads it into a fresh SQLite file
   (or ``--postgres``) with ``lofte load``'s code.
2. Adds a realistic completion history to every promise: about 70 % of the planned
   occurrences before "today" (20 May 2026, late in the spring term) are done, each
   with a completion row, the rest open; so the page shows every state.
3. Creates a coordinator granted one kommun, logs in through the login form, and
   requests ``/oversikt`` ``--n`` times through the whole app (session middleware,
   routing, the status evaluation, the template). Server time is measured inside
   the ASGI stack by a wrapper around the app, from the call to the last body byte.
   The first request (plans not cached yet) is reported on its own.

Baseline in the same run: ``/healthz`` (the same stack and one ``SELECT 1``).
Goal: median ≤ 100 ms.

    .venv/bin/python -m bench.bench_dashboard [--kommuner 290] [--n 50] [--postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from bench.national import generate
from scheduler.auth import add_user
from scheduler.config import load_settings
from scheduler.db import Completion, Occurrence, OccurrenceStatus, make_engine, session_scope, upgrade
from scheduler.loader import load_file
from scheduler.web import create_app

LOADED_AT = dt.datetime(2025, 1, 1, 8, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 5, 20)
NOW = dt.datetime.combine(TODAY, dt.time(9, 0), tzinfo=ZoneInfo("Europe/Stockholm")).astimezone(dt.UTC)
GOAL_MS = 100.0
PASSWORD = secrets.token_urlsafe(16)


class Timed:
    """ASGI wrapper: server time of each request, from the call to the last body message."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: dict[str, list[float]] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.times.setdefault(scope["path"], []).append(time.perf_counter() - started)

        await self.app(scope, receive, timed_send)


def add_history(engine: sa.Engine, *, share: float = 0.7, seed: int = 1) -> int:
    """Mark ``share`` of the planned occurrences before ``TODAY`` done, with completions."""
    rng = random.Random(seed)
    with Session(engine) as session:
        rows = session.exec(
            select(Occurrence.id, Occurrence.activity_id, Occurrence.entity_id, Occurrence.day).where(
                col(Occurrence.day) < TODAY, col(Occurrence.slot) >= 0,
                Occurrence.status == OccurrenceStatus.PLANNED,
            )
        ).all()  # fmt: skip
    done = [r for r in rows if rng.random() < share]
    values = [
        {"activity_id": a, "entity_id": e, "occurrence_id": o, "done_on": d, "recorded_by": "bench",
         "note": "Genomfört enligt plan", "created_at": NOW, "updated_at": NOW}
        for o, a, e, d in done
    ]  # fmt: skip
    with session_scope(engine) as session:
        for start in range(0, len(values), 5000):
            session.execute(sa.insert(Completion), values[start : start + 5000])
        ids = [r[0] for r in done]
        for start in range(0, len(ids), 5000):
            session.execute(
                sa.update(Occurrence)
                .where(col(Occurrence.id).in_(ids[start : start + 5000]))
                .values(status=OccurrenceStatus.DONE)
            )
    return len(values)


def run(url: sa.URL | str, *, kommuner: int, n: int, folder: Path) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    paths = generate(folder / "promises", kommuner=kommuner)
    started = time.perf_counter()
    for path in paths:
        load_file(engine, path, now=LOADED_AT)
    load_s = time.perf_counter() - started
    history = add_history(engine)
    if engine.dialect.name == "postgresql":
        # A server that has been running has planner statistics (autovacuum's ANALYZE); a
        # database filled a second ago has none, and its plans would measure that instead.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
    kommun = "Exempelby 001"
    with session_scope(engine) as session:
        add_user(session, username="bench", name="Bench Mark", password=PASSWORD, now=LOADED_AT, kommuner=[kommun])
    settings = load_settings(environ={"LOFTE_DATA_DIR": str(folder), "LOFTE_SECRET_KEY": secrets.token_urlsafe(32)})
    app = create_app(settings, engine=engine, now=lambda: NOW, base_url="http://127.0.0.1")
    timed = Timed(app)
    with TestClient(timed, base_url="http://127.0.0.1") as client:
        page = client.get("/logga-in").text
        csrf = re.search(r'name="csrf" value="([^"]*)"', page)
        assert csrf
        login = client.post("/logga-in", data={"csrf": csrf.group(1), "anvandarnamn": "bench", "losenord": PASSWORD},
                            follow_redirects=False)  # fmt: skip
        assert login.status_code == 303, login.text
        first = client.get("/oversikt")
        assert first.status_code == 200
        assert "Varningar (" in first.text
        warnings = int(re.search(r"Varningar \((\d+)\)", first.text).group(1))  # type: ignore[union-attr]
        for _ in range(n):
            assert client.get("/oversikt").status_code == 200
            assert client.get("/healthz").status_code == 200
    app.close()
    engine.dispose()
    page_ms = [t * 1000 for t in timed.times["/oversikt"]]
    health_ms = [t * 1000 for t in timed.times["/healthz"]]
    return {
        "kommuner": kommuner,
        "load_s": load_s,
        "completions": history,
        "warnings": warnings,
        "bytes": len(first.content),
        "first_ms": page_ms[0],
        "median_ms": statistics.median(page_ms[1:]),
        "p90_ms": statistics.quantiles(page_ms[1:], n=10)[-1] if n >= 10 else max(page_ms[1:]),
        "healthz_ms": statistics.median(health_ms),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Server time of one kommun's /oversikt on the national data set.")
    parser.add_argument("--kommuner", type=int, default=290)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--postgres", action="store_true", help="use LOFTE_TEST_POSTGRES_URL's server (scratch db)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.postgres:
            server = sa.make_url(os.environ.get("LOFTE_TEST_POSTGRES_URL",
                                                "postgresql+psycopg://postgres@127.0.0.1:5432/test"))  # fmt: skip
            name = f"lofte_bench_{secrets.token_hex(4)}"
            admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            try:
                result = run(server.set(database=name), kommuner=args.kommuner, n=args.n, folder=folder)
            finally:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.dispose()
            backend = "postgresql"
        else:
            result = run(f"sqlite:///{folder / 'bench.sqlite3'}", kommuner=args.kommuner, n=args.n, folder=folder)
            backend = "sqlite"
    r = result
    print(f"{backend}: {r['kommuner']} kommuner loaded in {r['load_s']:.1f} s, {r['completions']} completions")
    print(f"/oversikt for a user granted one kommun ({r['warnings']} warnings, {r['bytes']} bytes):")
    print(f"  first request (plans not cached): {r['first_ms']:.1f} ms")
    print(f"  median of {args.n}: {r['median_ms']:.1f} ms (p90 {r['p90_ms']:.1f} ms); goal ≤ {GOAL_MS:.0f} ms, "
          f"{r['median_ms'] / GOAL_MS:.2f}× the goal")  # fmt: skip
    print(f"  baseline /healthz (same stack, SELECT 1): median {r['healthz_ms']:.2f} ms; "
          f"ratio {r['median_ms'] / r['healthz_ms']:.0f}×")  # fmt: skip
    return 0 if r["median_ms"] <= GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())

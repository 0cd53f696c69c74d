"""Feed HTTP throughput: ``lofte serve`` against nginx serving the same bytes, with wrk.

1. Generates the national data set (``bench/national.py``) and loads it into a fresh
   SQLite file exactly as ``lofte load`` does, then creates every feed.
2. Picks one kommun feed (the first kommun) and starts ``lofte serve`` on it
   (uvicorn with httptools and uvloop, one worker, access log off, no reminder job)
   on a free loopback port.
3. Fetches the feed and writes the same bytes as a static file for nginx
   (``/usr/sbin/nginx``, non-daemon, one worker, a temporary config, sendfile on),
   and keeps both servers running.
4. Runs wrk against both, alternating, ``--repeat`` times: a full 200 and a 304
   (``If-None-Match`` with the server's own ETag). Every request to Löfte still checks
   that the feed is current: it reads the feed clock (``scheduler.feed_clock``, one
   primary-key lookup), because another instance may have changed the feed.
5. Proves it: another connection renames a unit of the kommun, and the very next
   request with the old ETag must get 200 with a new ETag.

Prints req/s and median latency per case (best and median of the repeats) and the
ratios Löfte/nginx of the bests and of the medians, and each server's CPU time per
request (from /proc, the median of the repeats): on two cores shared by the server and
wrk, req/s also depends on where the scheduler puts the two, the CPU time much less. Goals (issue 4): 200 ≥ 1.0×
nginx's 200, 304 ≥ 0.3× nginx's 304.

    .venv/bin/python -m bench.bench_feed_http [--kommuner 290] [--seconds 5] [--connections 32] [--repeat 3]
                                              [--pin] [--json]

``--pin`` puts each server on the last CPU and wrk on the others (with two cores, one
each): without it, the scheduler decides, per run, whether a server shares a core with wrk.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from bench.national import generate
from scheduler.db import Activity, FeedScope, FeedToken, Promise, make_engine, session_scope, upgrade
from scheduler.feeds import ensure_feeds
from scheduler.loader import load_file

NGINX = "/usr/sbin/nginx"
WRK = "/usr/bin/wrk"
NOW = dt.datetime.now(dt.UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


@contextlib.contextmanager
def _running(cmd: list[str], url: str, **kwargs: object) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    try:
        _wait(url, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _nginx_conf(root: Path, port: int) -> str:
    temp = root / "scratch"
    return f"""
worker_processes 1;
daemon off;
user root;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {temp};
    proxy_temp_path {temp};
    fastcgi_temp_path {temp};
    uwsgi_temp_path {temp};
    scgi_temp_path {temp};
    types {{ text/calendar ics; }}
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
    }}
}}
"""


def _family(pid: int) -> list[int]:
    """``pid`` and its children (nginx's master and worker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [pid, *(int(child) for child in children.read_text().split())] if children.exists() else [pid]


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` so far (from /proc; 0 where there is none)."""
    total = 0
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists():
            fields = stat.read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _on_cpus(cpus: set[int] | None) -> dict[str, Any]:
    """``subprocess`` arguments that start a process on ``cpus`` only (None: anywhere)."""
    if cpus is None:
        return {}
    return {"preexec_fn": lambda: os.sched_setaffinity(0, cpus)}


def _wrk(
    url: str, *, seconds: int, connections: int, headers: dict[str, str], pids: list[int], cpus: set[int] | None
) -> dict[str, Any]:
    cmd = [WRK, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cpu = _cpu_seconds(pids)
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True, **_on_cpus(cpus)).stdout
    cpu = _cpu_seconds(pids) - cpu
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    median = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    assert median is not None, out
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[median[2]]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": round(rps),
        "server_cpu_us": round(cpu / max(requests, 1) * 1e6, 1),  # the server's CPU time per request
        "median_ms": round(float(median[1]) * factor, 3),
        "non_2xx_3xx": int(bad[1]) if bad else 0,
        "socket_errors": errors[1] if errors else "",
    }


def _status(url: str, headers: dict[str, str]) -> tuple[int, str, int]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310
            return response.status, response.headers.get("ETag", ""), len(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("ETag", ""), 0


def _best_and_median(rows: list[dict[str, Any]]) -> dict[str, object]:
    rates = sorted(row["rps"] for row in rows)
    best = max(rows, key=lambda row: row["rps"])
    return {
        "rps_best": rates[-1],
        "rps_median": statistics.median(rates),
        "server_cpu_us_median": statistics.median(row["server_cpu_us"] for row in rows),
        "median_ms_of_best": best["median_ms"],
        "non_2xx_3xx": sum(int(row["non_2xx_3xx"]) for row in rows),
        "all_rps": rates,
    }


def _fresh_after_change(db: Path, kommun: str, url: str, etag: str) -> bool:
    """Another instance (its own engine) renames the activities of ``kommun``: the next request must see it."""
    other = make_engine(sa.URL.create("sqlite+pysqlite", database=str(db)))
    try:
        with session_scope(other) as session:
            promises = select(Promise.id).where(Promise.kommun == kommun)
            for activity in session.exec(select(Activity).where(col(Activity.promise_id).in_(promises))):
                activity.title += " (ny)"
    finally:
        other.dispose()
    status, new_etag, _ = _status(url, {"If-None-Match": etag})
    return status == 200 and new_etag not in ("", etag)


def run(*, kommuner: int, seconds: int, connections: int, repeat: int = 3, pin: bool = False) -> dict[str, object]:
    # --pin: each server on the last CPU, wrk on the others (with two cores: one each), so
    # neither shares a core with the load generator by the scheduler's choice
    last = max(os.sched_getaffinity(0))
    server_cpus, wrk_cpus = ({last}, os.sched_getaffinity(0) - {last}) if pin else (None, None)
    for tool in (NGINX, WRK):
        if not Path(tool).exists():
            raise SystemExit(f"{tool} is missing (apt-get install nginx wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="lofte-bench-http-"))
    try:
        db = tmp / "national.sqlite3"
        engine = make_engine(sa.URL.create("sqlite+pysqlite", database=str(db)))
        upgrade(engine)
        started = time.perf_counter()
        for path in generate(tmp / "files", kommuner=kommuner):
            load_file(engine, path, now=NOW)
        with session_scope(engine) as session:
            issued = ensure_feeds(session, now=NOW)
            kommun_ids = set(session.exec(select(FeedToken.id).where(FeedToken.scope == FeedScope.KOMMUN)).all())
        engine.dispose()
        load_seconds = time.perf_counter() - started
        feed = next(f for f in issued if f.info.id in kommun_ids)

        port = _free_port()
        lofte = str(Path(sys.executable).with_name("lofte"))
        serve = [lofte, "serve", "--port", str(port), "--url", f"sqlite:///{db}"]
        help_text = subprocess.run([lofte, "serve", "--help"], capture_output=True, text=True, check=False).stdout
        if "--no-reminders" in help_text:
            serve.append("--no-reminders")  # measure the feed path, not the reminder job
        feed_url = f"http://127.0.0.1:{port}{feed.path}"
        env = {**os.environ, "LOFTE_DATA_DIR": str(tmp / "var")}
        results: dict[str, object] = {"kommuner": kommuner, "load_seconds": round(load_seconds, 1), "pinned": pin}
        www = tmp / "www"
        www.mkdir()
        (tmp / "scratch").mkdir()
        nginx_port = _free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(_nginx_conf(tmp, nginx_port))
        nginx_url = f"http://127.0.0.1:{nginx_port}/feed.ics"
        with _running(serve, feed_url, env=env, cwd=tmp, **_on_cpus(server_cpus)) as lofte_proc:
            with urllib.request.urlopen(feed_url) as response:
                body = response.read()
                lofte_etag = response.headers["ETag"]
            results["feed"] = feed.info.name
            results["feed_bytes"] = len(body)
            results["lofte_check"] = {
                "200": _status(feed_url, {})[0],
                "304": _status(feed_url, {"If-None-Match": lofte_etag})[0],
            }
            (www / "feed.ics").write_bytes(body)
            with _running([NGINX, "-c", str(conf), "-p", str(tmp)], nginx_url, **_on_cpus(server_cpus)) as nginx_proc:
                pids = {"lofte": [lofte_proc.pid], "nginx": _family(nginx_proc.pid)}
                status, nginx_etag, size = _status(nginx_url, {})
                assert (status, size) == (200, len(body)), (status, size)
                results["nginx_check"] = {"200": status, "304": _status(nginx_url, {"If-None-Match": nginx_etag})[0]}
                runs: dict[str, list[dict[str, Any]]] = {}
                for _ in range(repeat):  # alternate, so both see the same load from the rest of the machine
                    for case, lofte_h, nginx_h in (
                        ("200", {}, {}),
                        ("304", {"If-None-Match": lofte_etag}, {"If-None-Match": nginx_etag}),
                    ):
                        for server, url, headers in (("lofte", feed_url, lofte_h), ("nginx", nginx_url, nginx_h)):
                            row = _wrk(url, seconds=seconds, connections=connections, headers=headers,
                                       pids=pids[server], cpus=wrk_cpus)  # fmt: skip
                            runs.setdefault(f"{server}_{case}", []).append(row)
            for name, rows in runs.items():
                results[name] = _best_and_median(rows)
            results["fresh_after_change"] = _fresh_after_change(db, feed.info.kommun, feed_url, lofte_etag)
        for case in ("200", "304"):
            ours: Any = results[f"lofte_{case}"]
            theirs: Any = results[f"nginx_{case}"]
            results[f"ratio_{case}"] = round(ours["rps_best"] / theirs["rps_best"], 2)
            results[f"ratio_{case}_median"] = round(ours["rps_median"] / theirs["rps_median"], 2)
            results[f"cpu_ratio_{case}"] = round(theirs["server_cpu_us_median"] / ours["server_cpu_us_median"], 2)
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kommuner", type=int, default=290)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="wrk runs per case and server (best and median)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--pin", action="store_true", help="each server on the last CPU, wrk on the others")
    args = parser.parse_args()
    results = run(
        kommuner=args.kommuner, seconds=args.seconds, connections=args.connections, repeat=args.repeat, pin=args.pin
    )
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
        return
    print(f"national data set: {results['kommuner']} kommuner loaded in {results['load_seconds']} s")
    pinned = "; servers pinned to the last CPU, wrk to the others" if args.pin else ""
    wrk = f"wrk -t1 -c{args.connections} -d{args.seconds}s"
    print(f"feed: {results['feed']}, {results['feed_bytes']} bytes; {wrk}{pinned}")
    print(f"checks: Löfte {results['lofte_check']}, nginx {results['nginx_check']}")
    print(
        f"{'case':<12}{'best req/s':>12}{'median req/s':>14}{'latency ms':>12}{'server CPU µs/req':>19}"
        f"{'non-2xx/3xx':>13}  all runs"
    )
    for name in ("lofte_200", "nginx_200", "lofte_304", "nginx_304"):
        row: dict[str, object] = results[name]  # type: ignore[assignment]
        print(
            f"{name:<12}{row['rps_best']:>12}{row['rps_median']:>14}{row['median_ms_of_best']:>12}"
            f"{row['server_cpu_us_median']:>19}{row['non_2xx_3xx']:>13}  {row['all_rps']}"
        )
    print(f"ratio 200 Löfte/nginx: {results['ratio_200']} best, {results['ratio_200_median']} median (goal ≥ 1.0)")
    print(f"ratio 304 Löfte/nginx: {results['ratio_304']} best, {results['ratio_304_median']} median (goal ≥ 0.3)")
    print(
        f"server CPU per request, nginx/Löfte (medians; above 1: Löfte spends less): "
        f"200 {results['cpu_ratio_200']}, 304 {results['cpu_ratio_304']}"
    )
    print(f"a change by another connection seen by the next request: {results['fresh_after_change']}")


if __name__ == "__main__":
    main()

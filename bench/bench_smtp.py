"""Digest delivery: 1,000 digests composed and delivered to a local SMTP server.

Each digest has 5 realistic items (Swedish names, planned dates, a signed one-click
link per item) and goes to its own address. The server is aiosmtpd on loopback in a
thread of this process (it shares the GIL with the client, so the figure is
pessimistic). Measured in the same run, as baselines:

* ``smtplib floor``: the same, already composed, messages sent with plain
  ``smtplib.SMTP.send_message`` over one connection: the cost of SMTP itself;
* ``connection per message``: ``SmtpNotifier.send`` without a batch, one connection
  each, which is what batching avoids.

    .venv/bin/python -m bench.bench_smtp [--n 1000] [--items 5] [--json]

Goal: 1,000 digests composed and delivered in ≤ 30 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import smtplib
import socket
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from notifiers import Security, SmtpConfig, SmtpNotifier
from scheduler.emails import DigestItem, compose_digest
from scheduler.signing import sign_completion_link

NOW = dt.datetime(2025, 11, 28, 6, 30, tzinfo=dt.UTC)
KEY = "bench-nyckel-0123456789-0123456789-abcdef"
BASE = "https://lofte.kommun.example.se"
ACTIVITIES = [
    "Informationskväll för vårdnadshavare",
    "Trygghetsvandring",
    "Föräldravandring",
    "Medborgardialog",
    "Besök av kommunpolis",
    "Lägesbild för trygghetsrådet",
    "Samverkansmöte med fritidsgårdarna",
]
ENTITIES = ["Nyhemsskolan", "Björnekulla skola", "Hyllinge skola", "Kvidinge skola", "Fritidsgården Pulsen", None]
STATES = ["i fara", "efter", "i fara", "efter", "i fara"]


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _digest(n: int, items: int, rng: random.Random) -> EmailMessage:
    to = f"enhet{n}@kommun{n % 290}.example.se"
    chosen = []
    for i in range(items):
        days_left = rng.randint(3, 60)
        end = NOW.date() + dt.timedelta(days=days_left)
        entity = rng.choice(ENTITIES)
        token = sign_completion_link(
            KEY, promise=f"kommun-{n % 290}", activity=f"a{i}", entity=entity and entity.lower().replace(" ", "-"),
            period_key="2025-HT", recipient=to, now=NOW,
        )  # fmt: skip
        chosen.append(
            DigestItem(
                activity=rng.choice(ACTIVITIES),
                entity=entity,
                period_label="höstterminen 2025",
                done=rng.randint(0, 1),
                required=2,
                state=STATES[i % len(STATES)],
                period_end=end,
                days_left=days_left,
                lov_days_left=rng.randint(0, min(days_left, 7)),
                planned=tuple(NOW.date() + dt.timedelta(days=d) for d in sorted(rng.sample(range(1, days_left), 2))),
                done_url=f"{BASE}/klart/{token}",
            )
        )
    return compose_digest(
        to=to, unit_name=f"Enhet {n}", items=chosen, feed_url=f"{BASE}/feeds/u{n}.ics", dashboard_url=f"{BASE}/",
        unsubscribe_url=f"{BASE}/avregistrera/u{n}", now=NOW, sender="Löfte <lofte@kommun.example.se>",
        key=f"{to}/2025-11-28/digest",
    )  # fmt: skip


def run(n: int, items: int) -> dict[str, float]:
    counter = _Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        config = SmtpConfig(host="127.0.0.1", port=controller.port, security=Security.NONE, timeout=30)
        rng = random.Random(6)

        start, cpu_start = time.perf_counter(), time.process_time()
        messages = [_digest(i, items, rng) for i in range(n)]
        composed, cpu_composed = time.perf_counter(), time.process_time()
        notifier = SmtpNotifier(config)
        outcomes = notifier.send_many(messages)
        end, cpu_end = time.perf_counter(), time.process_time()
        assert all(o.delivered for o in outcomes), [o.error for o in outcomes if o.error][:3]
        assert counter.count == n
        assert notifier.connections_opened == 1

        floor_start, cpu_floor_start = time.perf_counter(), time.process_time()
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=30) as smtp:
            for message in messages:
                smtp.send_message(message)
        floor, cpu_floor = time.perf_counter() - floor_start, time.process_time() - cpu_floor_start

        few = messages[: max(1, n // 10)]
        single_start = time.perf_counter()
        single = SmtpNotifier(config)
        for message in few:
            single.send(message)
        per_connection = (time.perf_counter() - single_start) / len(few) * n
        assert counter.count == 2 * n + len(few)
    finally:
        controller.stop()
    return {
        "digests": n,
        "items_per_digest": items,
        "compose_s": composed - start,
        "deliver_s": end - composed,
        "total_s": end - start,
        "per_second": n / (end - start),
        "smtplib_floor_s": floor,
        "cpu_compose_s": cpu_composed - cpu_start,
        "cpu_deliver_s": cpu_end - cpu_composed,
        "cpu_smtplib_floor_s": cpu_floor,
        "connection_per_message_s": per_connection,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.n, args.items)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"lofte: {result['digests']} digests × {result['items_per_digest']} items composed and delivered in "
        f"{result['total_s']:.2f} s = {result['per_second']:,.0f} messages/s "
        f"(compose {result['compose_s']:.2f} s, deliver over one connection {result['deliver_s']:.2f} s); goal ≤ 30 s"
    )
    print(
        f"baseline smtplib floor (same messages, one connection): {result['smtplib_floor_s']:.2f} s; "
        f"ratio deliver/floor = {result['deliver_s'] / result['smtplib_floor_s']:.2f}"
    )
    print(
        f"CPU time of this process (client and server; steadier on a busy machine): compose "
        f"{result['cpu_compose_s']:.2f} s, deliver {result['cpu_deliver_s']:.2f} s, smtplib floor "
        f"{result['cpu_smtplib_floor_s']:.2f} s; ratio deliver/floor = "
        f"{result['cpu_deliver_s'] / result['cpu_smtplib_floor_s']:.2f}"
    )
    print(
        f"baseline connection per message (extrapolated from {max(1, args.n // 10)}): "
        f"{result['connection_per_message_s']:.2f} s; ratio = "
        f"{result['connection_per_message_s'] / result['deliver_s']:.1f}× slower than one connection"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

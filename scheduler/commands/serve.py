"""``lofte serve [--host 127.0.0.1] [--port 8000] [--demo [--today DATE]] [--url DB]``: run the web app.

One process: uvicorn (one worker, httptools and uvloop when installed) serving the
pages and the feeds of ``scheduler.web``. The database (``LOFTE_DATABASE_URL`` or
``--url``) is migrated first. The listening socket is bound before anything is
printed, so a busy port is a Swedish error, and ``--port 0`` picks a free port (the
addresses printed name the real one).

``--demo`` uses a fresh database ``DATA_DIR/demo.sqlite3`` with the examples loaded and
every feed created (``scheduler.demo``), and prints the start page's address and every
feed's https and webcal address. Feed addresses are built from ``LOFTE_BASE_URL`` when
set, else from ``http://HOST:PORT``. Access logging is off unless ``--access-log``: in
production the reverse proxy logs requests, and logging costs the feed path throughput.
"""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import sys

from sqlalchemy.exc import OperationalError

from scheduler.cli import UserError
from scheduler.commands.db import _shown, _url
from scheduler.config import ConfigError, get_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="starta webbappen med sidor och kalenderflöden",
        description="Starta Löftes webbserver: sidorna och kalenderflödena. Databasen uppgraderas först. "
        "Med --demo skapas en ny databas med exemplen och alla kalenderadresser skrivs ut.",
    )
    p.add_argument("--host", default="127.0.0.1", help="adress att lyssna på (standard: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (standard: 8000; 0 väljer en ledig port)")
    p.add_argument("--demo", action="store_true", help="ny demodatabas med exemplen; skriver ut alla adresser")
    p.add_argument(
        "--today", type=dt.date.fromisoformat, default=None, metavar="DATUM",
        help="bara med --demo: kör som om i dag vore DATUM (ÅÅÅÅ-MM-DD)",
    )  # fmt: skip
    p.add_argument("--access-log", action="store_true", help="skriv en rad per förfrågan")
    p.add_argument(
        "--no-reminders", action="store_true",
        help="kör inte påminnelsejobbet i denna process (till exempel när en annan instans gör det)",
    )  # fmt: skip
    p.add_argument("--url", default=None, metavar="URL", help="databas-URL (standard: LOFTE_DATABASE_URL)")
    p.set_defaults(func=run)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if port and exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise UserError(f"porten {port} på {host} används redan; välj en annan med --port") from None
        raise UserError(f"kan inte lyssna på {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run(args: argparse.Namespace) -> int:
    if args.today is not None and not args.demo:
        raise UserError("--today går bara att använda med --demo")
    if not 0 <= args.port <= 65535:
        raise UserError(f"ogiltig port {args.port}: välj 1–65535 (eller 0 för en ledig port)")
    try:
        settings = get_settings()
    except ConfigError as exc:
        raise UserError(f"felaktig inställning: {exc}") from None
    sock = _bind(args.host, args.port)
    # Imported after the quick checks, so a busy port is reported at once.
    import uvicorn  # noqa: PLC0415 - the server is only needed by this command

    from scheduler.db import make_engine, upgrade  # noqa: PLC0415
    from scheduler.web import create_app  # noqa: PLC0415
    from scheduler.web.fastpath import server_config  # noqa: PLC0415

    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "") else host  # noqa: S104 - only for display
    base = (settings.base_url or f"http://{shown_host}:{port}").rstrip("/")
    now = dt.datetime.now(dt.UTC)
    out = sys.stdout
    try:
        if args.demo:
            from scheduler.demo import EXAMPLES_DIR, demo_clock, prepare_demo  # noqa: PLC0415

            if not any(EXAMPLES_DIR.glob("*.yaml")):
                raise UserError(
                    f"demodata saknas: {EXAMPLES_DIR} finns inte eller har inga löftesfiler (.yaml). "
                    "Kör --demo från en klon av Löfte, eller läs in egna löften med lofte load."
                )
            demo = prepare_demo(settings.data_dir, now=now, today=args.today, secret=settings.secret_key)
            engine = demo.engine
            fixed = demo_clock(demo.today)
            app = create_app(
                settings,
                engine=engine,
                now=lambda: fixed,
                base_url=base,
                issued=demo.feeds,
                allow_rotate=True,
                demo=True,
            )
            out.write(_demo_banner(base, demo))
            clock = lambda: fixed  # noqa: E731 - the demo's fixed clock
        else:
            url = _url(args)
            engine = make_engine(url)
            try:
                upgrade(engine)
            except OperationalError as exc:
                raise UserError(f"kan inte nå databasen {_shown(url)}: {exc.orig}") from None
            app = create_app(settings, engine=engine, base_url=base)
            out.write(f"Löfte körs på {base}/ (databas: {_shown(url)}).\n")
            out.write("Kalenderflödenas adresser visas när de skapas: lofte feeds. Avsluta med Ctrl+C.\n")
            clock = None
        jobs = None
        if not args.no_reminders:
            from scheduler.jobs import REMIND_EVERY, start_scheduler  # noqa: PLC0415

            jobs = start_scheduler(engine, settings, base_url=base, clock=clock)
            channel = (
                f"SMTP via {settings.smtp.host}:{settings.smtp.port}"
                if settings.smtp is not None
                else f"som .eml-filer i {settings.outbox_dir} (ingen SMTP-server inställd)"
            )
            minutes = int(REMIND_EVERY.total_seconds() // 60)
            out.write(f"Påminnelser: bedöms nu och var {minutes}:e minut; e-post skickas {channel}.\n")
        out.flush()
        config = server_config(
            app,
            log_level="warning",
            access_log=args.access_log,
            server_header=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        try:
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            if jobs is not None:
                jobs.shutdown(wait=False)
    finally:
        sock.close()
    return 0


def _demo_banner(base: str, demo: object) -> str:
    from rules.explain_sv import date_sv  # noqa: PLC0415
    from scheduler.demo import Demo  # noqa: PLC0415
    from scheduler.feeds import feed_urls  # noqa: PLC0415

    assert isinstance(demo, Demo)  # noqa: S101
    lines = [
        f"Löfte körs i demoläge på {base}/",
        f"Databasen {demo.path} är nyskapad med {len(demo.loaded)} exempellöften; den skapas på nytt vid varje start.",
        f"Demot räknar som om i dag vore {date_sv(demo.today)} (exemplen är från 2019–2024; ändra med --today).",
        "",
        f"Översikt:   {base}/oversikt (logga in som demo med lösenordet {demo.password})",
        f"Kalendrar:  {base}/kalendrar (med instruktioner för Outlook, Google och Apple)",
        "",
        "Kalenderflöden (https för Outlook på webben, nya Outlook och Google; webcal för Apple och klassiska Outlook):",
    ]
    kommun = None
    for feed in demo.feeds:
        if feed.info.kommun != kommun:
            kommun = feed.info.kommun
            lines.append(f"  {kommun}")
        https, webcal = feed_urls(base, feed.token)
        lines.append(f"    {feed.info.name} ({feed.info.scope_sv}, id {feed.info.id})")
        lines.append(f"      {https}")
        lines.append(f"      {webcal}")
    lines += ["", "Avsluta med Ctrl+C.", ""]
    return "\n".join(lines)

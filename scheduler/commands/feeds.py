"""``lofte feeds [--rotate ID] [--url DB]``: list the calendar feeds, create missing ones, rotate one.

Every run first creates the feeds that are missing (one per unit, promise and kommun,
``scheduler.feeds.ensure_feeds``) and prints their full addresses: this is the only
time they can be shown, since only hashes are stored. Then it lists every feed by id.
``--rotate ID`` gives that feed a new address (printed once) and kills the old one;
running servers stop accepting the old address within a few seconds (their token
cache, ``scheduler.web.feed``). Addresses are built from ``LOFTE_BASE_URL``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from sqlalchemy.exc import OperationalError

from scheduler.cli import UserError
from scheduler.commands.db import _shown, _url
from scheduler.config import ConfigError, get_settings
from scheduler.db import make_engine, session_scope, upgrade
from scheduler.feeds import UnknownFeedError, ensure_feeds, feed_info, feed_urls, list_feeds, rotate

#: Where addresses point when LOFTE_BASE_URL is unset (``lofte serve``'s default).
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "feeds",
        help="lista kalenderflöden, skapa saknade och byt adress",
        description="Lista kalenderflödena (ett per enhet, löfte och kommun). Saknade flöden skapas och deras "
        "adresser visas en gång. Adresserna byggs av LOFTE_BASE_URL.",
    )
    p.add_argument(
        "--rotate", type=int, default=None, metavar="ID", help="ge flödet ID en ny adress (den gamla slutar fungera)"
    )
    p.add_argument("--url", default=None, metavar="URL", help="databas-URL (standard: LOFTE_DATABASE_URL)")
    p.set_defaults(func=run)


def _addresses(base: str, token: str) -> str:
    https, webcal = feed_urls(base, token)
    return f"    {https}\n    {webcal}\n"


def run(args: argparse.Namespace) -> int:
    try:
        settings = get_settings()
        base = settings.base_url
        secret = settings.secret_key
    except ConfigError as exc:
        raise UserError(f"felaktig inställning: {exc}") from None
    url = _url(args)
    engine = make_engine(url)
    out = sys.stdout
    try:
        try:
            upgrade(engine)
        except OperationalError as exc:
            raise UserError(f"kan inte nå databasen {_shown(url)}: {exc.orig}") from None
        now = dt.datetime.now(dt.UTC)
        with session_scope(engine) as session:
            if args.rotate is not None:
                try:
                    token = rotate(session, args.rotate, now=now, secret=secret)
                except UnknownFeedError:
                    raise UserError(f"det finns inget kalenderflöde med id {args.rotate} (se lofte feeds)") from None
                info = feed_info(session, args.rotate)
            issued = ensure_feeds(session, now=now, secret=secret)
            feeds = list_feeds(session)
    finally:
        engine.dispose()
    shown_base = base or DEFAULT_BASE_URL
    if args.rotate is not None and info is not None:
        out.write(f"Ny adress för {info.name} (id {info.id}); den gamla fungerar inte längre:\n")
        out.write(_addresses(shown_base, token))
    if issued:
        out.write(f"Nya kalenderflöden ({len(issued)}); spara adresserna nu, de visas bara den här gången:\n")
        for feed in issued:
            out.write(f"  {feed.info.name} ({feed.info.scope_sv}, id {feed.info.id})\n")
            out.write(_addresses(shown_base, feed.token))
    if not feeds:
        out.write("Det finns inga kalenderflöden: läs in ett löfte först (lofte load FIL).\n")
        return 0
    out.write(f"Kalenderflöden ({len(feeds)}):\n")
    width = max(len(str(f.id)) for f in feeds)
    for listed in feeds:
        rotated = f", ny adress {listed.rotated_at:%Y-%m-%d}" if listed.rotated_at else ""
        out.write(f"  {listed.id:>{width}}  {listed.scope_sv:<7} {listed.name}{rotated}\n")
    if (issued or args.rotate is not None) and base is None:
        out.write(f"Obs: LOFTE_BASE_URL är inte satt, så adresserna pekar på {DEFAULT_BASE_URL}.\n")
    out.write("Ge ett flöde en ny adress med: lofte feeds --rotate ID\n")
    return 0

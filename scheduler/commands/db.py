"""``lofte db upgrade`` and ``lofte db current``: the database's schema version.

Both use ``LOFTE_DATABASE_URL`` (default: ``lofte.sqlite3`` under ``LOFTE_DATA_DIR``,
``./var``) unless ``--url`` is given. ``upgrade`` runs the migrations shipped with
this version up to the newest (or ``--revision``) in one transaction; running it
again does nothing. ``current`` prints the revision the database is at;
with ``--check`` it exits 1 when that is not the newest, for deploy scripts.
Passwords in URLs are never printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alembic.util.exc import CommandError
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import ArgumentError, OperationalError

from scheduler.cli import UserError
from scheduler.config import ConfigError
from scheduler.db import current_revision, database_url, head_revision, make_engine, upgrade


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "db",
        help="databasens schema: uppgradera eller visa version",
        description="Hantera databasens schema (migreringar). Databasen anges med LOFTE_DATABASE_URL "
        "eller --url; standard är lofte.sqlite3 i LOFTE_DATA_DIR (./var).",
    )
    actions = p.add_subparsers(dest="db_command", metavar="ÅTGÄRD")
    actions.required = True
    up = actions.add_parser(
        "upgrade", help="kör migreringarna fram till senaste versionen", description="Kör databasens migreringar."
    )
    up.add_argument("--revision", default="head", metavar="VERSION", help="mål (standard: head, den senaste)")
    cur = actions.add_parser(
        "current", help="visa databasens schemaversion", description="Visa vilken migrering databasen står på."
    )
    cur.add_argument("--check", action="store_true", help="avsluta med status 1 om databasen inte är uppgraderad")
    for action in (up, cur):
        action.add_argument("--url", default=None, metavar="URL", help="databas-URL (standard: LOFTE_DATABASE_URL)")
    up.set_defaults(func=run_upgrade)
    cur.set_defaults(func=run_current)


def _url(args: argparse.Namespace) -> URL:
    try:
        return database_url(args.url)
    except ConfigError as exc:
        raise UserError(f"felaktig inställning: {exc}") from None
    except ArgumentError:
        raise UserError(f"ogiltig databas-URL: {args.url!r}") from None


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def migrated_engine(args: argparse.Namespace) -> Engine:
    """An engine on the database ``args`` name (``--url`` or the settings), migrated to
    the newest schema; a Swedish ``UserError`` when it cannot be reached."""
    url = _url(args)
    engine = make_engine(url)
    try:
        upgrade(engine)
    except OperationalError as exc:
        engine.dispose()
        raise UserError(f"kan inte nå databasen {_shown(url)}: {exc.orig}") from None
    return engine


def run_upgrade(args: argparse.Namespace) -> int:
    url = _url(args)
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        reached = upgrade(engine, args.revision)
    except OperationalError as exc:
        raise UserError(f"kan inte nå databasen {_shown(url)}: {exc.orig}") from None
    except CommandError as exc:
        raise UserError(f"kan inte migrera till {args.revision!r}: {exc}") from None
    finally:
        engine.dispose()
    if before == reached:
        sys.stdout.write(f"Databasen {_shown(url)} står redan på {reached}; inget att göra.\n")
    else:
        sys.stdout.write(f"Databasen {_shown(url)} uppgraderad från {before or 'tom'} till {reached}.\n")
    return 0


def run_current(args: argparse.Namespace) -> int:
    url = _url(args)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        # Asking must not create the file (connecting to SQLite would).
        sys.stdout.write(f"{_shown(url)}: databasfilen finns inte (kör lofte db upgrade)\n")
        return 1 if args.check else 0
    try:
        revision = current_revision(url)
    except OperationalError as exc:
        raise UserError(f"kan inte nå databasen {_shown(url)}: {exc.orig}") from None
    head = head_revision()
    if revision is None:
        sys.stdout.write(f"{_shown(url)}: ingen version (inte migrerad; kör lofte db upgrade)\n")
    elif revision == head:
        sys.stdout.write(f"{_shown(url)}: {revision} (senaste)\n")
    else:
        sys.stdout.write(f"{_shown(url)}: {revision} (senaste är {head}; kör lofte db upgrade)\n")
    return 1 if args.check and revision != head else 0

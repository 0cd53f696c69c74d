"""``lofte done``: record that an activity was done.

    lofte done PROMISE ACTIVITY [--entity KEY] [--date DATE] [--by NAME] [--note TEXT] [--url URL]

``PROMISE`` is the promise's id (the file's stem, ``astorp-2019``), ``ACTIVITY`` the
activity's key. ``--date`` defaults to today in the promise's zone; ``--by`` to the
login name. Validation, double-submit protection and the choice of the planned
occurrence marked done are ``scheduler.completions.record``'s. Prints what was stored
and where the quota now stands. Exit status 0 when stored (or already stored by an
identical submission moments ago), 2 with a Swedish message when refused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from scheduler.cli import UserError
from scheduler.commands.status import open_engine, parse_day
from scheduler.completions import CompletionError, CompletionLookupError, record
from scheduler.db import Promise, session_scope
from scheduler.status import evaluate_promises


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "done",
        help="registrera att en aktivitet är genomförd",
        description="Registrera att en aktivitet i ett löfte är genomförd en viss dag. Ett planerat "
        "tillfälle i samma period markeras som genomfört.",
    )
    p.add_argument("promise", metavar="LÖFTE", help="löftets id (filnamnet utan .yaml, t.ex. astorp-2019)")
    p.add_argument("activity", metavar="AKTIVITET", help="aktivitetens nyckel (key i löftesfilen)")
    p.add_argument("--entity", default=None, metavar="NYCKEL", help="verksamheten (skolan, fritidsgården …)")
    p.add_argument("--date", default=None, metavar="DATUM", help="dagen det gjordes (ÅÅÅÅ-MM-DD; standard i dag)")
    p.add_argument("--by", default=None, metavar="NAMN", help="vem som registrerar (standard: inloggningsnamnet)")
    p.add_argument("--note", default=None, metavar="TEXT", help="en anteckning")
    p.add_argument("--url", default=None, metavar="URL", help="databas-URL (standard: LOFTE_DATABASE_URL)")
    p.set_defaults(func=run)


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "lofte done"


def run(args: argparse.Namespace) -> int:
    now = dt.datetime.now(dt.UTC)  # the shell reads the clock
    engine = open_engine(args)
    try:
        with session_scope(engine) as session:
            promise = session.exec(select(Promise).where(Promise.slug == args.promise)).one_or_none()
            tz = ZoneInfo(promise.tz) if promise is not None else ZoneInfo("Europe/Stockholm")
            done_on = parse_day(args.date, "--date") if args.date else now.astimezone(tz).date()
            try:
                result = record(
                    session,
                    promise_slug=args.promise,
                    activity_key=args.activity,
                    entity_key=args.entity,
                    done_on=done_on,
                    by=args.by or _login(),
                    note=args.note,
                    now=now,
                )
            except (CompletionError, CompletionLookupError) as exc:
                raise UserError(exc.message_sv) from None
            completion, occurrence = result.completion, result.occurrence
        day = format_date(completion.done_on, "d MMMM yyyy", locale="sv")
        if result.created:
            lines = [f"Registrerat: {args.activity}" + (f" ({args.entity})" if args.entity else "")
                     + f" genomförd {day} av {completion.recorded_by} (nr {completion.id})."]  # fmt: skip
            if occurrence is not None:
                planned = format_date(occurrence.day, "d MMMM yyyy", locale="sv")
                lines.append(f"Det planerade tillfället {planned} är markerat som genomfört i kalendern.")
            else:
                lines.append("Inget öppet planerat tillfälle i perioden; registreringen räknas ändå.")
        else:
            lines = [f"Redan registrerat (nr {completion.id}, {day}): samma registrering gjordes nyss; inget sparades "
                     "två gånger."]  # fmt: skip
        today = now.astimezone(tz).date()
        report = evaluate_promises(engine, today=max(today, completion.done_on), promise=args.promise)
        for item in report.items:
            status = item.status
            if (
                status.activity == args.activity
                and status.entity == (args.entity or "")
                and (status.span.start <= completion.done_on <= status.span.end)
            ):
                lines.append(f"Läget nu: {status.state.value}. {item.summary}")
        sys.stdout.write("\n".join(lines) + "\n")
    except DBAPIError as exc:
        raise UserError(f"sparades inte: databasfel ({type(exc.orig).__name__}: {exc.orig})") from None
    finally:
        engine.dispose()
    return 0

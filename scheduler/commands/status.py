"""``lofte status``: where every promised quota stands, warnings first, in Swedish.

    lofte status [--at DATE] [--unit NAME] [--promise SLUG] [--all] [--json] [--check] [--url URL]

By default each activity × entity shows its running period (``StatusReport.relevant``:
also periods missed in the last month); ``--all`` shows every period of the validity.
Warnings come first (i fara, missad, efter), then the rest, then the activities that
are not followed up with a count. ``--at`` evaluates as of another day (completions
recorded for later days are not counted). ``--json`` prints
``StatusReport.to_json()``: ``{"today", "warnings", "quotas": [...], "untracked": [...],
"notes": [...]}``, each quota with ``state`` (the Swedish state), ``summary`` and the
numbers (``QuotaStatus.to_json``); the keys are stable for scripts.

Exit status: 0; with ``--check``, 1 when a quota shown is ``i fara`` or ``missad`` (for
cron jobs and monitoring). A bad date, an unknown promise or unit, or a database that
cannot be reached or is not migrated exit 2 with a Swedish message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.exc import DBAPIError, OperationalError

from rules.quota import QuotaState
from scheduler.cli import UserError
from scheduler.commands.db import _shown, _url
from scheduler.db import DEFAULT_TZ, current_revision, head_revision, make_engine
from scheduler.status import QuotaItem, StatusLookupError, StatusReport, evaluate_promises

_LABELS = {
    QuotaState.AT_RISK: "I FARA",
    QuotaState.MISSED: "MISSAD",
    QuotaState.BEHIND: "EFTER",
    QuotaState.ON_TRACK: "i fas",
    QuotaState.UPCOMING: "kommande",
    QuotaState.FULFILLED: "uppfylld",
}
_FAILING = (QuotaState.AT_RISK, QuotaState.MISSED)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "status",
        help="visa hur löftenas kvoter ligger till, varningar först",
        description="Visa läget för varje kvot (aktivitet × verksamhet × period): gjort mot krävt och ett "
        "läge (kommande, i fas, efter, i fara, missad, uppfylld). Varningar visas först.",
    )
    p.add_argument("--at", default=None, metavar="DATUM", help="visa läget för en annan dag (ÅÅÅÅ-MM-DD)")
    p.add_argument("--unit", default=None, metavar="ENHET", help="bara en ansvarig enhet (nyckel eller namn)")
    p.add_argument("--promise", default=None, metavar="LÖFTE", help="bara ett löfte (dess id, t.ex. astorp-2019)")
    p.add_argument("--all", action="store_true", help="visa alla perioder, inte bara de pågående")
    p.add_argument("--json", action="store_true", help="skriv JSON för program")
    p.add_argument("--check", action="store_true", help="avsluta med status 1 om någon kvot är i fara eller missad")
    p.add_argument("--url", default=None, metavar="URL", help="databas-URL (standard: LOFTE_DATABASE_URL)")
    p.set_defaults(func=run)


def parse_day(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{option}: ogiltigt datum '{text}': skriv ÅÅÅÅ-MM-DD, t.ex. 2025-10-20") from None


def open_engine(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """An engine on the database of ``--url``, checked to be reachable and migrated."""
    url = _url(args)
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    except OperationalError as exc:
        engine.dispose()
        raise UserError(f"kan inte nå databasen {_shown(url)}: {exc.orig}") from None
    if revision != head_revision():
        engine.dispose()
        state = "är tom" if revision is None else f"står på version {revision}"
        raise UserError(f"databasen {_shown(url)} {state}: kör 'lofte db upgrade' (eller 'lofte load') först")
    return engine


def run(args: argparse.Namespace) -> int:
    today = parse_day(args.at, "--at") if args.at else dt.datetime.now(ZoneInfo(DEFAULT_TZ)).date()
    engine = open_engine(args)
    try:
        report = evaluate_promises(engine, today=today, promise=args.promise, unit=args.unit)
    except StatusLookupError as exc:
        raise UserError(exc.message_sv) from None
    except DBAPIError as exc:
        raise UserError(f"databasfel: {type(exc.orig).__name__}: {exc.orig}") from None
    finally:
        engine.dispose()
    shown = report.items if args.all else report.relevant()
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(items=shown), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(render(report, shown))
    if args.check and any(i.status.state in _FAILING for i in shown):
        return 1
    return 0


def _line(item: QuotaItem, *, many: bool) -> list[str]:
    label = _LABELS[item.status.state]
    where = f" [{item.kommun}]" if many else ""
    lines = [f"  {label:<9}{item.summary}{where}"]
    details = list(item.status.reasons)
    if item.status.planned_left and item.status.state not in (QuotaState.FULFILLED, QuotaState.MISSED):
        details.append("nästa planerade: " + format_date(item.status.planned_left[0], "d MMMM yyyy", locale="sv"))
    if item.status.problem:
        details.append(item.status.problem)
    if details and item.status.state is not QuotaState.UPCOMING:
        lines.append(" " * 11 + "; ".join(details) + f" (ansvarig: {item.unit_name})")
    return lines


def render(report: StatusReport, shown: Sequence[QuotaItem]) -> str:
    day = format_date(report.today, "EEEE d MMMM yyyy", locale="sv")
    promises = {i.promise for i in shown} | {u.promise for u in report.untracked}
    many = len(promises) > 1
    out = [f"Läget {day}"]
    warnings = [i for i in shown if i.status.is_warning]
    rest = [i for i in shown if not i.status.is_warning]
    if not shown and not report.untracked:
        out.append("Inga kvoter att visa.")
    if warnings:
        out.append(f"\nVarningar ({len(warnings)}):")
        for item in warnings:
            out += _line(item, many=many)
    elif shown:
        out.append("\nInga varningar.")
    if rest:
        out.append(f"\nÖvriga ({len(rest)}):")
        for item in rest:
            out += _line(item, many=many)
    if report.untracked:
        out.append(f"\nFöljs inte upp med antal ({len(report.untracked)}):")
        for untracked in report.untracked:
            where = f" [{untracked.kommun}]" if many else ""
            out.append(f"  {untracked.summary}{where}")
    for note in report.notes:
        out.append(f"\nObs: {note}")
    return "\n".join(out) + "\n"

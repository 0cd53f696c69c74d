"""``lofte remind [--at DATE] [--dry-run] [--json] [--url DB]``: one reminder run.

Evaluates every quota, decides the notifications due (each recorded once), and
delivers them: by SMTP when ``LOFTE_SMTP_HOST`` is set, else as .eml files in the
outbox folder (``LOFTE_OUTBOX_DIR``, default ``var/outbox``). ``--at`` runs as if it
were that date at 09:00 Swedish time (to see what would be sent on a day);
``--dry-run`` decides and shows, but records and sends nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from zoneinfo import ZoneInfo

from notifiers import notifier_from_settings
from scheduler.cli import UserError
from scheduler.commands.db import migrated_engine
from scheduler.config import ConfigError, get_settings

_LEVEL_SV = {"i-fara": "i fara", "kritisk": "kritisk (till samordnare)", "missad": "missad (till samordnare)"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "remind",
        help="skicka påminnelser som är aktuella nu",
        description="Bedöm alla kvoter, bestäm vilka påminnelser som ska skickas och skicka dem "
        "(SMTP om LOFTE_SMTP_HOST är satt, annars som filer i utkorgen). Varje påminnelse skickas en gång.",
    )
    p.add_argument(
        "--at", type=dt.date.fromisoformat, default=None, metavar="DATUM",
        help="kör som om det vore DATUM kl. 09.00 (ÅÅÅÅ-MM-DD)",
    )  # fmt: skip
    p.add_argument("--dry-run", action="store_true", help="visa vad som skulle skickas; spara och skicka inget")
    p.add_argument("--json", action="store_true", help="skriv resultatet som JSON")
    p.add_argument("--url", default=None, metavar="URL", help="databas-URL (standard: LOFTE_DATABASE_URL)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scheduler.jobs import mail_context  # noqa: PLC0415
    from scheduler.reminders import run_once  # noqa: PLC0415

    try:
        settings = get_settings()
    except ConfigError as exc:
        raise UserError(f"felaktig inställning: {exc}") from None
    engine = migrated_engine(args)
    if args.at is not None:
        now = dt.datetime.combine(args.at, dt.time(9, 0), tzinfo=ZoneInfo("Europe/Stockholm")).astimezone(dt.UTC)
    else:
        now = dt.datetime.now(dt.UTC)
    base = settings.base_url or "http://127.0.0.1:8000"
    notifier = notifier_from_settings(settings)
    try:
        result = run_once(
            engine, now=now, notifier=notifier, context=mail_context(settings, base), dry_run=args.dry_run
        )
    finally:
        engine.dispose()
    if args.json:
        json.dump(result.to_json(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(_report(result, dry_run=args.dry_run, where=repr(notifier)))
    return 1 if result.delivery.failed else 0


def _report(result: object, *, dry_run: bool, where: str) -> str:
    from scheduler.reminders import RemindResult  # noqa: PLC0415

    assert isinstance(result, RemindResult)  # noqa: S101
    lines = [
        f"Påminnelser {result.today.isoformat()}{' (provkörning: inget sparas eller skickas)' if dry_run else ''}:"
    ]
    if not result.decided:
        lines.append("  Inga nya beslut: inget är aktuellt att påminna om nu, eller det är redan beslutat.")
    for d in result.decided:
        entity = f" ({d['entity']})" if d["entity"] else ""
        level = _LEVEL_SV.get(
            str(d["level"]), str(d["level"]).replace("paminnelse-", "påminnelse ").replace("d", " dagar före")
        )
        lines.append(f"  {d['recipient']}: {d['promise']}/{d['activity']}{entity}, {d['period']}: {level}")
    for line in result.without_address:
        lines.append(f"  Obs: {line}")
    if not dry_run:
        delivery = result.delivery
        lines.append(
            f"Skickat: {delivery.sent} meddelanden via {where}; {delivery.retried} försöks igen senare; "
            f"{delivery.failed} misslyckades."
        )
        for recipient, reason in delivery.errors:
            lines.append(f"  {recipient}: {reason}")
    return "\n".join(lines) + "\n"

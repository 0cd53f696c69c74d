"""``lofte load FILE...``: store or update promise files in the database.

Each file is validated first and stored in one transaction of its own: a file with
errors changes nothing, and the other files still load. The database is migrated
to the newest schema first. A reload of an unchanged file writes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from scheduler.cli import UserError
from scheduler.commands.db import _shown, _url
from scheduler.db import make_engine, upgrade
from scheduler.loader import LoadResult, load_file
from scheduler.promise_file import PromiseFileError, PromiseFileInvalid


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "load",
        help="spara löftesfiler i databasen",
        description="Validera och spara löftesfiler i databasen (LOFTE_DATABASE_URL eller --url). "
        "Varje fil sparas helt eller inte alls; en oförändrad fil skriver ingenting.",
    )
    p.add_argument("files", nargs="+", metavar="FIL", help="löftesfiler (YAML)")
    p.add_argument("--url", default=None, metavar="URL", help="databas-URL (standard: LOFTE_DATABASE_URL)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    url = _url(args)
    engine = make_engine(url)
    failed = 0
    try:
        try:
            upgrade(engine)
        except OperationalError as exc:
            raise UserError(f"kan inte nå databasen {_shown(url)}: {exc.orig}") from None
        for path in args.files:
            # The shell reads the clock; the core and the store take `now` as a parameter.
            now = dt.datetime.now(dt.UTC)
            try:
                result = load_file(engine, path, now=now)
            except PromiseFileError as exc:
                failed += 1
                errors = exc.errors if isinstance(exc, PromiseFileInvalid) else (exc,)
                listed = "\n".join(f"  {e}" for e in errors)
                sys.stderr.write(f"{path}: sparades inte ({len(errors)} fel, databasen är oförändrad):\n{listed}\n")
                continue
            except IntegrityError:
                failed += 1
                sys.stderr.write(
                    f"{path}: sparades inte: en annan process sparade samma löfte samtidigt. Försök igen.\n"
                )
                continue
            except DBAPIError as exc:
                failed += 1
                sys.stderr.write(f"{path}: sparades inte: databasfel ({type(exc.orig).__name__}: {exc.orig})\n")
                continue
            sys.stdout.write(_summary(path, result))
    finally:
        engine.dispose()
    return 2 if failed else 0


def _summary(path: str, result: LoadResult) -> str:
    if result.unchanged:
        return f"{path}: oförändrad sedan förra inläsningen; inget skrevs ({result.slug}).\n"
    verb = "sparad som nytt löfte" if result.created else "uppdaterad"
    lines = [
        f"{path}: {verb} ({result.slug}), {result.activities} aktiviteter, {result.occurrences} planerade tillfällen: "
        f"{result.occurrences_created} nya, {result.occurrences_updated} ändrade, "
        f"{result.occurrences_cancelled} inställda, {result.occurrences_unchanged} oförändrade"
        + (f", {result.occurrences_kept} fasta (genomförda eller flyttade för hand)" if result.occurrences_kept else "")
        + "."
    ]
    if result.retired:
        lines.append(f"  Finns inte längre i filen (historiken sparas): {', '.join(result.retired)}")
    for problem in result.problems:
        lines.append(f"  Obs: {problem}")
    return "\n".join(lines) + "\n"

"""``lofte import DOKUMENT [-o FIL] [--today DATUM] [--force]``: a signed medborgarlöfte becomes a draft.

Reads a .txt, .md, .docx or .pdf, finds the kommun, the lokalpolisområde, the
validity, the responsible units and every activity (``scheduler/importer.py``), and
writes a draft promise file that opens with what was understood and what a person
must decide. The default file is ``<kommun>-<år>.yaml`` in the current directory.
An existing file is never overwritten without ``--force``; the draft is written
atomically, so a failure leaves no half-written file. Bad input (an empty, scanned
or password-protected file, one that is not a medborgarlöfte, one that is too large
or of an unknown format) exits 2 with a Swedish message and writes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from scheduler.cli import UserError
from scheduler.doc_text import DocumentError, document_text, read_document
from scheduler.importer import import_text, write_draft


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import",
        help="gör ett utkast till löftesfil av ett undertecknat medborgarlöfte",
        description="Läs ett undertecknat medborgarlöfte (.txt, .md, .docx eller .pdf) och skriv ett utkast till "
        "löftesfil: kommun, giltighetstid, ansvariga enheter och alla aktiviteter, med en lista över det som "
        "behöver granskas överst.",
    )
    p.add_argument("document", metavar="DOKUMENT", help="det undertecknade medborgarlöftet")
    p.add_argument(
        "-o", "--output", default=None, metavar="FIL", help="utkastets filnamn (standard: <kommun>-<år>.yaml här)"
    )
    p.add_argument(
        "--today",
        type=_date,
        default=None,
        metavar="DATUM",
        help="dagens datum ÅÅÅÅ-MM-DD, används när dokumentet inte anger när det skrevs under (standard: i dag)",
    )
    p.add_argument("--force", action="store_true", help="skriv över en befintlig fil")
    p.set_defaults(func=run)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"ogiltigt datum {value!r}, skriv ÅÅÅÅ-MM-DD") from None


def run(args: argparse.Namespace) -> int:
    today = args.today or dt.datetime.now(dt.UTC).astimezone().date()  # the shell reads the clock
    try:
        data, shown = read_document(args.document)
        text = document_text(data, filename=shown)
        result = import_text(text, filename=shown, today=today)
    except DocumentError as exc:
        raise UserError(f"{exc} (inget utkast skrevs)") from None
    target = Path(args.output) if args.output else Path(result.suggested_filename)
    if target.is_dir():
        target = target / result.suggested_filename
    if not target.parent.is_dir():
        raise UserError(f"{target}: katalogen {target.parent} finns inte (inget utkast skrevs)")
    try:
        write_draft(result, target, force=args.force)
    except FileExistsError:
        raise UserError(
            f"{target} finns redan: välj ett annat namn med -o FIL eller skriv över med --force (inget utkast skrevs)"
        ) from None
    except OSError as exc:
        raise UserError(f"{target}: kan inte skriva utkastet ({exc.strerror or exc})") from None

    out = [f"Utkast sparat: {target} ({len(result.activities)} aktiviteter ur {shown})", "", "Löfte har förstått:"]
    out.extend(f"  - {line}" for line in result.understood)
    out.append("")
    out.append(f"Behöver granskas ({len(result.review)}):")
    out.extend(f"  {n:>2}. {note}" for n, note in enumerate(result.review, start=1))
    if result.problems:
        out.append("")
        out.append(f"Måste rättas innan filen godkänns ({len(result.problems)}):")
        out.extend(f"  {problem}" for problem in result.problems)
    out.append("")
    out.append(f"Nästa steg: fyll i e-postadresser och namn i {target}, och kontrollera med: lofte check {target}")
    sys.stdout.write("\n".join(out) + "\n")
    return 0

"""``lofte parse``: show how a Swedish activity sentence is understood.

``lofte parse TEXT`` prints a readable Swedish explanation; ``--json`` prints the
contract of ``rule-json.md``; ``-`` reads one sentence a line from standard input
and answers one line each, in order (JSON Lines with ``--json``). Lines from a file or a
pipe are read `BATCH` at a time and parsed together (``parse_many``, the faster way), each
batch's answers written as soon as it is parsed; lines typed at a terminal are answered one
by one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import itertools
import json
import sys
from typing import TYPE_CHECKING

from rules import Kind, parse_many, parse_sv
from rules.explain_sv import describe_sv
from rules.parse_sv import BATCH
from scheduler.cli import UserError

if TYPE_CHECKING:
    from rules.model import Rule


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "parse",
        help="tolka en aktivitetsmening",
        description="Visa hur Löfte förstår en mening ur ett medborgarlöfte.",
    )
    p.add_argument("text", nargs="+", help="meningen, eller - för en mening per rad på standard in")
    p.add_argument("--json", action="store_true", help="skriv regeln som JSON (rule-json.md)")
    p.add_argument("--today", type=_date, default=None, help="referensdatum ÅÅÅÅ-MM-DD (standard: i dag)")
    p.set_defaults(func=run)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"ogiltigt datum {value!r}, skriv ÅÅÅÅ-MM-DD") from None


def run(args: argparse.Namespace) -> int:
    # The CLI is the shell: it may read the clock; the core takes `today` as a parameter.
    today: dt.date = args.today or dt.date.today()  # noqa: DTZ011 - a calendar date in local time is meant
    if args.text == ["-"]:
        # Bytes that are not UTF-8 (a pasted Word document, binary junk) must not stop the batch.
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline="")
        texts = (line.rstrip("\r\n") for line in stdin)
        size = 1 if sys.stdin.isatty() else BATCH
        lineno = 0
        while batch := list(itertools.islice(texts, size)):
            for rule in parse_many(batch, today=today):
                lineno += 1
                _emit(rule, as_json=args.json, lineno=lineno)
            sys.stdout.flush()
        return 0
    text = " ".join(args.text)
    if not text.strip():
        raise UserError("ingen text att tolka: skriv en mening, eller - för att läsa från standard in")
    rule = parse_sv(text, today=today)
    _emit(rule, as_json=args.json, lineno=None)
    return 0


def _emit(rule: Rule, *, as_json: bool, lineno: int | None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(rule.to_json(), ensure_ascii=False) + "\n")
        return
    prefix = f"rad {lineno}: " if lineno is not None else ""
    sys.stdout.write(prefix + describe_sv(rule) + "\n")
    if rule.kind is Kind.UNTIMED and not rule.text.strip():
        sys.stdout.write("  (tom rad: inget att tolka)\n")

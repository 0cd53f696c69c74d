"""The ``lofte`` command line.

Each subcommand lives in ``scheduler/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
``(args) -> int``. Errors a user can fix are raised as ``UserError`` with a
Swedish message; they print without a traceback and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from scheduler import argparse_sv

__all__ = ["COMMANDS", "UserError", "main"]

#: Subcommand modules under scheduler.commands, in the order ``lofte --help`` lists them.
COMMANDS = ["parse", "check", "plan", "db", "load", "user", "feeds", "serve", "import_doc", "done", "status", "remind"]
#: The command a module registers, where the two differ.
_NAMES = {"import_doc": "import"}


class UserError(Exception):
    """Something the user can fix; the message is Swedish and says what and where."""


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or, when ``argv`` names one, of that command only: a
    command imports only what it needs (``lofte parse`` does not load the database layer)."""
    argparse_sv.install()
    parser = argparse.ArgumentParser(
        prog="lofte",
        description="Löfte håller medborgarlöften: regler, planer, kalenderflöden och påminnelser.",
    )
    sub = parser.add_subparsers(dest="command", metavar="KOMMANDO")
    sub.required = True
    modules = COMMANDS
    if argv:
        named = [module for module in COMMANDS if _NAMES.get(module, module) == argv[0]]
        modules = named or COMMANDS  # an unknown command or an option: all, for the full message
    for name in modules:
        importlib.import_module(f"scheduler.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Swedish text on any terminal, pipe or Windows console.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="replace")
    if argv is None:
        argv = sys.argv[1:]
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"lofte: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

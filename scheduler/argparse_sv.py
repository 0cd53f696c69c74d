"""Swedish messages for argparse, so ``lofte --help`` and usage errors speak the users' language.

argparse looks up its messages through ``gettext`` at call time (``argparse._``);
``install()`` points that at a small Swedish catalogue. Messages not in the
catalogue stay as argparse writes them.
"""

from __future__ import annotations

import argparse

__all__ = ["install"]

CATALOGUE = {
    "usage: ": "användning: ",
    "positional arguments": "argument",
    "options": "flaggor",
    "optional arguments": "flaggor",
    "show this help message and exit": "visa den här hjälpen och avsluta",
    "show program's version number and exit": "visa versionen och avsluta",
    "the following arguments are required: %s": "följande argument saknas: %s",
    "unrecognized arguments: %s": "okända argument: %s",
    "expected one argument": "väntade ett värde",
    "expected at most one argument": "väntade högst ett värde",
    "expected at least one argument": "väntade minst ett värde",
    "invalid choice: %(value)r (choose from %(choices)s)": "ogiltigt val: %(value)r (välj bland %(choices)s)",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s: %(message)s",
    "%(prog)s: error: %(message)s\n": "%(prog)s: fel: %(message)s\n",
    "invalid %(type)s value: %(value)r": "ogiltigt värde för %(type)s: %(value)r",
    "ambiguous option: %(option)s could match %(matches)s": "tvetydig flagga: %(option)s kan vara %(matches)s",
    "not allowed with argument %s": "kan inte kombineras med %s",
    "ignored explicit argument %r": "ignorerade argumentet %r",
    "one of the arguments %s is required": "ett av argumenten %s krävs",
}


def _gettext(message: str) -> str:
    return CATALOGUE.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _gettext(singular if n == 1 else plural)


def install() -> None:
    """Make argparse speak Swedish (idempotent)."""
    argparse._ = _gettext  # type: ignore[attr-defined]  # argparse resolves `_` at call time
    argparse.ngettext = _ngettext  # type: ignore[attr-defined]

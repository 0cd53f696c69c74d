"""Swedish activity sentence -> Rule (work in progress)."""

from __future__ import annotations

import datetime as dt

from rules.model import Kind, Rule

__all__ = ["parse_sv"]


def parse_sv(text: str, *, today: dt.date) -> Rule:
    """Parse one Swedish activity sentence. Never raises on any text."""
    return Rule(text=text, kind=Kind.UNTIMED)

"""Rule -> short Swedish sentence (work in progress)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.model import Rule

__all__ = ["explain_sv"]


def explain_sv(rule: Rule) -> str:
    return rule.kind.value

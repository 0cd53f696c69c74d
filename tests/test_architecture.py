"""The pure core stays pure: rules/ imports no IO library and nothing of the shell."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parent.parent / "rules"
ALLOWED_THIRD_PARTY = {"dateutil", "holidays"}
FORBIDDEN = {
    "scheduler", "notifiers", "sqlmodel", "sqlalchemy", "apscheduler", "smtplib", "httpx",
    "requests", "fastapi", "socket", "urllib", "http", "yaml", "jinja2", "icalendar", "time",
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(RULES.rglob("*.py")), ids=lambda p: p.name)
def test_rules_imports_only_stdlib_dateutil_holidays(path: Path) -> None:
    import sys

    for name in _imports(path):
        assert name not in FORBIDDEN, f"{path.name} imports {name}"
        assert name in sys.stdlib_module_names or name in ALLOWED_THIRD_PARTY or name in {
            "rules", "__future__"
        }, f"{path.name} imports third-party {name}"


@pytest.mark.parametrize("path", sorted(RULES.rglob("*.py")), ids=lambda p: p.name)
def test_rules_never_reads_the_clock(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    for call in ("datetime.now(", "date.today(", "dt.datetime.now(", "dt.date.today(", "utcnow("):
        assert call not in source, f"{path.name} calls {call}: take `now`/`today` as a parameter"

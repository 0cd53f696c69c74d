"""A wheel carries what the code reads at run time: every template and migration file.

Checked against pyproject.toml's setuptools settings rather than by building a wheel
(slow, and it would need network for the build backend in a fresh venv)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setuptools() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def _covered(package: str, relative: str) -> bool:
    globs: list[str] = _setuptools()["package-data"].get(package, [])  # type: ignore[index, attr-defined]
    return any(fnmatch.fnmatch(relative, pattern) for pattern in globs)


def test_every_template_is_package_data() -> None:
    find = _setuptools()["packages"]["find"]  # type: ignore[index]
    assert "templates*" in find["include"]
    assert find["namespaces"] is True  # templates/ has no __init__.py
    files = [p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*") if p.is_file()]
    assert files
    assert [f for f in files if not _covered("templates", f)] == []


def test_every_non_python_file_of_the_code_is_package_data() -> None:
    for package in ("rules", "scheduler", "notifiers"):
        base = ROOT / package
        data = [
            p.relative_to(base).as_posix()
            for p in base.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
        ]
        assert [f for f in data if not _covered(package, f)] == [], package

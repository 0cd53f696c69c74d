"""Shared fixtures: paths, and the rule for tests that need a real service.

A test that needs PostgreSQL, Chromium or node calls ``need_service(reason)``
when the service is missing: on a developer's machine it skips with that
reason; in CI (``LOFTE_REQUIRE_SERVICES=1``, set by ``.ci/run``) it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DEV_PHRASES = SHARED / "phrases" / "dev.jsonl"
SEEDS = SHARED / "seeds"
EXAMPLES = ROOT / "examples"


def need_service(reason: str) -> None:
    """Skip (developer machine) or fail (CI) because a real service is missing."""
    if os.environ.get("LOFTE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        need_service(f"../shared is not beside the checkout ({SHARED})")
    return SHARED

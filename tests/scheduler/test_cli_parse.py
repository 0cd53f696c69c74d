"""`lofte parse` as a user runs it: the installed console script, real pipes."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rules import parse_sv
from rules.parse_sv import BATCH
from tests.conftest import DEV_PHRASES

LOFTE = shutil.which("lofte", path=str(Path(sys.executable).parent)) or "lofte"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([LOFTE, *args], input=stdin, capture_output=True, timeout=60, check=False)


def test_json_follows_the_contract() -> None:
    proc = run("parse", "--json", "--today", "2019-01-15", "Minst en gång per termin och högstadieskola.")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got == {
        "text": "Minst en gång per termin och högstadieskola.",
        "kind": "quota",
        "quota": {"min": 1, "max": None, "measure": "times"},
        "period": {"unit": "term", "every": 1},
        "average": False,
        "per": ["högstadieskola"],
        "window": None,
        "deadline": None,
        "responsible": [],
        "summary": "minst 1 gång per termin och högstadieskola",
    }


def test_json_lines_from_standard_input_in_order() -> None:
    lines = ["2 gånger per månad", "", "regelbundna trafikkontroller", "Senast i november 2019 ska planen vara klar."]
    proc = run("parse", "--json", "--today", "2019-01-15", "-", stdin="\n".join(lines).encode() + b"\n")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [o["text"] for o in out] == lines
    assert [o["kind"] for o in out] == ["quota", "untimed", "vague", "untimed"]
    assert out[3]["deadline"] == "2019-11-30"


def test_many_lines_from_standard_input_are_read_in_batches_and_answered_in_order() -> None:
    """More lines than one batch (`BATCH`): every answer is the one ``parse_sv`` gives its line, in order,
    with the line numbers of the readable form counting on across batches."""
    base = [json.loads(line)["text"] for line in DEV_PHRASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = (base * 3)[: 2 * BATCH + 7]
    proc = run("parse", "--json", "--today", "2025-08-15", "-", stdin="\n".join(lines).encode() + b"\n")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert out == [parse_sv(t, today=dt.date(2025, 8, 15)).to_json() for t in lines]
    proc = run("parse", "--today", "2025-08-15", "-", stdin="\n".join(lines).encode() + b"\n")
    numbers = [int(m) for m in re.findall(r"^rad (\d+): ", proc.stdout.decode(), flags=re.MULTILINE)]
    assert numbers == list(range(1, len(lines) + 1))


def test_readable_explanation_is_swedish() -> None:
    proc = run("parse", "--today", "2025-08-15", "Polisen besöker varje fritidsgård två gånger per termin.")
    text = proc.stdout.decode()
    assert proc.returncode == 0
    assert "Tolkning: 2 gånger per termin och fritidsgård (Polisen)" in text
    assert "Per: fritidsgård" in text
    assert "Ansvarig: Polisen" in text


def test_untimed_sentence_says_what_was_not_understood() -> None:
    proc = run("parse", "--today", "2025-08-15", "The police will patrol the square.")
    assert "Löfte hittade inget antal, ingen frekvens och inget datum" in proc.stdout.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["parse", "   "], "ingen text att tolka"),
        (["parse", "--today", "2024-13-01", "två gånger"], "ogiltigt datum '2024-13-01'"),
        (["parse"], "följande argument saknas"),
        (["parse", "--okänd", "x"], "okända argument"),
    ],
    ids=str,
)
def test_usage_errors_are_swedish_without_traceback(args: list[str], message: str) -> None:
    proc = run(*args)
    err = proc.stderr.decode()
    assert proc.returncode == 2
    assert message in err
    assert "Traceback" not in err


def test_junk_on_standard_input_never_crashes() -> None:
    junk = b"\xff\xfe\x00binary\x81\n" + b"x" * 100_000 + b"\n" + "två gånger per år\n".encode()
    proc = run("parse", "--json", "-", stdin=junk)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [o["kind"] for o in out] == ["untimed", "untimed", "quota"]
    assert out[0]["quota"] is None
    assert out[1]["quota"] is None

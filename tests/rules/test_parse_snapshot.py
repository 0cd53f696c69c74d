"""Differential test: the parser's output over a corpus of ~2,000 sentences is pinned.

``tests/data/phrases/parse_snapshot.jsonl`` holds, for each sentence, the rule that the
parser gave when the snapshot was written (before the speed work on the passes). The
sentences are the development set, the held-out set, the phrase tables of
``test_parse_sv.py``, and sentences made from them: fragments of two sentences joined,
diacritics dropped, keywords misspelt, case changed, markdown, bullets, line breaks,
odd dashes and spaces, responsible markers added. A restructured pass must give the
same rule for every line; a deliberate change of what the parser understands regenerates
the file, and its diff is the review:

    .venv/bin/python -m tests.rules.test_parse_snapshot --write
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from rules import parse_sv
from rules.parse_sv import BATCH, parse_many
from tests.conftest import DEV_PHRASES

SNAPSHOT = Path(__file__).resolve().parent.parent / "data" / "phrases" / "parse_snapshot.jsonl"
HELDOUT = SNAPSHOT.parent / "heldout.jsonl"
TODAYS = ("2019-01-15", "2022-06-30", "2025-08-15", "2025-12-31", "2026-02-28")
_STRIP = str.maketrans("åäöÅÄÖé", "aaoAAOe")


def _sources() -> list[tuple[str, str]]:
    """(text, today) of the hand-written sentences: development set, held-out set, phrase tables."""
    out: list[tuple[str, str]] = []
    for path in (DEV_PHRASES, HELDOUT):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                out.append((case["text"], case["today"]))
    from tests.rules import test_parse_sv  # the phrase tables, only when generating

    for name in sorted(vars(test_parse_sv)):
        table = getattr(test_parse_sv, name)
        if name.isupper() and isinstance(table, list):
            out.extend((row[0], "2025-08-15") for row in table if isinstance(row, tuple) and isinstance(row[0], str))
    return out


def _typo(rng: random.Random, text: str) -> str:
    """One edit (swap, doubling, deletion, substitution) in a random word of five letters or more."""
    words = list(re.finditer(r"\w{5,}", text))
    if not words:
        return text
    m = rng.choice(words)
    word, i = m.group(), rng.randrange(len(m.group()) - 1)
    edit = rng.choice(("swap", "double", "delete", "substitute"))
    if edit == "swap":
        word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    elif edit == "double":
        word = word[: i + 1] + word[i:]
    elif edit == "delete":
        word = word[:i] + word[i + 1 :]
    else:
        word = word[:i] + rng.choice("aeinrst") + word[i + 1 :]
    return text[: m.start()] + word + text[m.end() :]


def _perturb(rng: random.Random, text: str) -> str:
    choice = rng.randrange(12)
    if choice == 0:
        return text.translate(_STRIP)
    if choice == 1:
        return _typo(rng, text)
    if choice == 2:
        return text.upper() if rng.random() < 0.3 else text.lower()
    if choice == 3:
        words = text.split(" ")
        i = rng.randrange(len(words))
        words[i] = f"**{words[i]}**"
        return " ".join(words)
    if choice == 4:
        return rng.choice(("- ", "• ", "1. ", "  * ", "# ")) + text
    if choice == 5:
        return text.replace(" ", rng.choice(("  ", "\n", " \u00a0", "\t")), rng.randrange(1, 4))
    if choice == 6:
        return text.replace("-", rng.choice(("—", "−", "‑"))).replace("–", rng.choice(("—", "-", "\u00ad–")))
    if choice == 7:
        return text.rstrip(".") + rng.choice(
            (
                " / **Polisen**",
                " (Kommunen och polisen)",
                ". Ansvarig: Socialtjänsten",
                " / Fältgruppen",
                " (Lokalpolisområde Klippan)",
            )
        )
    if choice == 8:
        return _typo(rng, _typo(rng, text.translate(_STRIP)))
    if choice == 9:
        return rng.choice(("Polisen ska ", "Kommunen lovar att ", "Under 2026 genomför kommunen ", "Vid behov ")) + (
            text[:1].lower() + text[1:]
        )
    if choice == 10:
        return text + rng.choice(
            (
                " senast i november",
                " under hösten 2025",
                " vecka 44",
                " varannan vecka",
                " 2 ggr/mån",
                " på respektive tätort",
                " i samband med skolstart",
            )
        )
    return text.replace("ö", "o").replace("å", "a")


def _fragments(text: str) -> list[str]:
    return [f.strip() for f in re.split(r"(?<=[.;:,])\s+|\s+(?=och\s)", text) if len(f.strip()) > 3]


def corpus() -> list[tuple[str, str]]:
    """The sentences of the snapshot, in a fixed order (seeded)."""
    rng = random.Random(20260214)  # noqa: S311 - a seeded corpus, not a secret
    base = _sources()
    out = list(dict.fromkeys(base))
    frags = [f for text, _ in base for f in _fragments(text)]
    for _ in range(800):  # fragments of two sentences joined
        a, b = rng.choice(frags), rng.choice(frags)
        out.append((f"{a.rstrip('.')} {b[:1].lower() + b[1:]}", rng.choice(TODAYS)))
    for _ in range(1100):  # one or two perturbations of a sentence or a joined pair
        text, today = rng.choice(out)
        text = _perturb(rng, text)
        if rng.random() < 0.3:
            text = _perturb(rng, text)
        out.append((text, rng.choice((today, *TODAYS))))
    return list(dict.fromkeys(out))


def _rule_json(text: str, today: str) -> dict[str, Any]:
    """The rule's JSON without its summary (that is ``explain_sv``'s wording, not what was understood)."""
    rule = parse_sv(text, today=dt.date.fromisoformat(today)).to_json()
    rule.pop("summary", None)
    return rule


def _snapshot() -> list[dict[str, Any]]:
    if not SNAPSHOT.exists():
        return []
    return [json.loads(line) for line in SNAPSHOT.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_snapshot_is_large() -> None:
    assert len(_snapshot()) >= 1500


@pytest.mark.parametrize("chunk", range(10))
def test_parser_gives_the_snapshot_rules(chunk: int) -> None:
    """Every sentence of the snapshot still parses to the same rule (in ten chunks, for readable failures)."""
    rows = _snapshot()[chunk::10]
    assert rows
    wrong = [(row["text"], row["today"]) for row in rows if _rule_json(row["text"], row["today"]) != row["rule"]]
    assert not wrong, f"{len(wrong)} of {len(rows)} sentences changed, first: {wrong[:3]!r}"


def test_parse_many_gives_the_snapshot_rules() -> None:
    """The batch parser reads every sentence of the snapshot as ``parse_sv`` does: the passes run over
    batches of `BATCH` sentences, each with its own date, and no sentence changes another's rule."""
    rows = _snapshot()
    assert len(rows) > 10 * BATCH  # many batches, the last one partial
    rules = parse_many([row["text"] for row in rows], today=[dt.date.fromisoformat(row["today"]) for row in rows])
    assert len(rules) == len(rows)
    wrong = []
    for row, rule in zip(rows, rules, strict=True):
        got = rule.to_json()
        got.pop("summary", None)
        if got != row["rule"] or rule != parse_sv(row["text"], today=dt.date.fromisoformat(row["today"])):
            wrong.append(row["text"])
    assert not wrong, f"{len(wrong)} of {len(rows)} sentences read differently in a batch, first: {wrong[:3]!r}"


def main() -> int:
    if sys.argv[1:] != ["--write"]:
        print("usage: python -m tests.rules.test_parse_snapshot --write", file=sys.stderr)
        return 2
    lines = [
        json.dumps({"text": text, "today": today, "rule": _rule_json(text, today)}, ensure_ascii=False)
        for text, today in corpus()
    ]
    SNAPSHOT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} sentences to {SNAPSHOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

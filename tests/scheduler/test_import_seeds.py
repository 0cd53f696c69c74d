"""`lofte import` of the three signed documents in ../shared/seeds.

Each draft, after only contacts (example.se addresses) and entity names are filled
in, passes `lofte check`, loads (SQLite and PostgreSQL) and plans; and every activity
matches the hand-made promise file in examples/: the same sentences in the same
order, the same responsible unit, the same rule (apart from what the example
overrides), the same validity, kommun, län and entities.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from scheduler.cli import main
from scheduler.importer import ImportResult, import_document
from scheduler.loader import load_file
from scheduler.promise_file import PromiseSpec, load_promise_file
from tests.conftest import EXAMPLES

TODAY = dt.date(2025, 1, 15)
NOW = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
SEEDS = {
    "astorp-2019": "000_d80146badab45a3d.txt",
    "hagfors-2022": "002_2773eea6dee86e61.txt",
    "orkelljunga-2022": "003_f82ca4a2a85bcbc2.txt",
}
# Partners the examples name from knowledge the document does not state in words.
EXAMPLE_ONLY_PARTNERS = {("hagfors-2022", "arlig-uppfoljning"), ("orkelljunga-2022", "uppfoljning-bra")}


def imported(shared_dir: Path, name: str) -> ImportResult:
    path = shared_dir / "seeds" / SEEDS[name]
    return import_document(path.read_bytes(), filename=path.name, today=TODAY)


def filled_in(yaml_text: str) -> str:
    """What a coordinator adds before saving: an email per unit and a name per entity."""
    data: dict[str, Any] = yaml.safe_load(yaml_text)
    for unit in data["units"]:
        unit["email"] = f"{unit['key'].replace('ä', 'a')}@example.se"
    for number, entity in enumerate(data.get("entities", []), start=1):
        assert entity["name"].endswith("(namnge)")
        entity["name"] = f"Skola {number}"
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)


@pytest.mark.parametrize("name", list(SEEDS))
def test_seed_draft_checks_loads_and_plans(
    name: str, shared_dir: Path, tmp_path: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    result = imported(shared_dir, name)
    assert result.problems == ()
    assert result.spec is not None
    assert result.suggested_filename == f"{name}.yaml"
    assert result.yaml_text.startswith("# UTKAST: Medborgarlöfte")
    assert "# GRANSKA (" in result.yaml_text

    path = tmp_path / result.suggested_filename
    path.write_text(filled_in(result.yaml_text), encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert "Filen är giltig" in capsys.readouterr().out

    loaded = load_file(engine, path, now=NOW)
    assert loaded.created
    assert loaded.activities == len(result.activities)

    assert main(["plan", str(path), "--format", "json"]) == 0
    assert capsys.readouterr().out.strip().startswith(("{", "["))


def _rule_json(activity: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in activity.rule.to_json().items() if k not in overrides and k != "summary"}
    if "quota" in overrides:  # a quota given by hand also decides the kind
        data.pop("kind", None)
    return data


@pytest.mark.parametrize("name", list(SEEDS))
def test_seed_draft_matches_the_hand_made_example(name: str, shared_dir: Path) -> None:
    result = imported(shared_dir, name)
    draft: PromiseSpec | None = result.spec
    assert draft is not None
    example = load_promise_file(EXAMPLES / f"{name}.yaml")

    assert (draft.kommun, draft.lan, draft.validity) == (example.kommun, example.lan, example.validity)
    assert [a.sentence for a in draft.activities] == [a.sentence for a in example.activities]
    assert sorted(e.kind for e in draft.entities) == sorted(e.kind for e in example.entities)
    assert {u.key for u in example.units} <= {u.key for u in draft.units}
    police = next(u for u in draft.units if u.key == "polisen")
    assert police.name == next(u for u in example.units if u.key == "polisen").name

    for mine, theirs in zip(draft.activities, example.activities, strict=True):
        assert mine.unit.key == theirs.unit.key, mine.sentence
        assert _rule_json(mine, theirs.overrides) == _rule_json(theirs, theirs.overrides), mine.sentence
        assert mine.per_kind == theirs.per_kind
        assert mine.tracked == theirs.tracked or "quota" in theirs.overrides
        if (name, theirs.key) not in EXAMPLE_ONLY_PARTNERS:
            assert [p.key for p in mine.partners] == [p.key for p in theirs.partners], mine.sentence


def test_spans_point_at_each_activity_in_the_source(shared_dir: Path) -> None:
    result = imported(shared_dir, "orkelljunga-2022")
    for activity in result.activities:
        pieces = [result.source_text[a:b] for a, b in activity.spans]
        assert " ".join(pieces) == activity.sentence
    bullet = next(a for a in result.activities if a.sentence.startswith("**En polisär satsning mot"))
    assert len(bullet.spans) == 2  # the bold lead and the line under it


def test_hagfors_validity_counts_from_the_last_signature(shared_dir: Path) -> None:
    result = imported(shared_dir, "hagfors-2022")
    assert result.signed_on == dt.date(2022, 6, 14)
    assert "räknat från sista underskriften 2022-06-14" in result.validity_source
    assert result.notes is not None
    assert result.notes.startswith("Polisen och Hagfors kommun lovar att gemensamt")


def test_astorp_proposes_the_two_schools_and_flags_the_guessed_validity(shared_dir: Path) -> None:
    result = imported(shared_dir, "astorp-2019")
    assert [e.name for e in result.entities] == ["Högstadieskola 1 (namnge)", "Högstadieskola 2 (namnge)"]
    review = "\n".join(str(n) for n in result.review)
    assert "namnge de 2 verksamheterna av sorten högstadieskola" in review
    assert "giltighetstiden 2019-01-01 – 2019-12-31 är tolkad ur 'Det fokusområde som under 2019" in review
    assert "ange e-postadress (email) för varje enhet under units: polisen, kommunen, skolan, socialtjänsten" in review

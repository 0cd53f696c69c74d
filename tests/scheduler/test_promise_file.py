"""Promise files: the three examples, one broken file per error kind, review items, round trips."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from rules import Kind, Unit
from scheduler.promise_file import (
    RULE_KEYS,
    PromiseFileError,
    PromiseFileInvalid,
    dump_promise_file,
    load_promise_file,
    parse_promise_file,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DATA = ROOT / "tests" / "data" / "promises"
SEED_OF = {
    "astorp-2019": "000_d80146badab45a3d.txt",
    "hagfors-2022": "002_2773eea6dee86e61.txt",
    "orkelljunga-2022": "003_f82ca4a2a85bcbc2.txt",
}


def _squash(text: str) -> str:
    return " ".join(text.split())


# -- the examples ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SEED_OF))
def test_example_loads(name: str) -> None:
    spec = load_promise_file(EXAMPLES / f"{name}.yaml")
    assert spec.activities
    assert {a.unit.key for a in spec.activities} <= {u.key for u in spec.units}
    assert all(u.email and u.email.endswith("@example.se") for u in spec.units)
    assert spec.calendar is not None


@pytest.mark.parametrize("name", sorted(SEED_OF))
def test_example_sentences_are_verbatim(name: str, shared_dir: Path) -> None:
    seed = _squash((shared_dir / "seeds" / SEED_OF[name]).read_text(encoding="utf-8"))
    spec = load_promise_file(EXAMPLES / f"{name}.yaml")
    for activity in spec.activities:
        assert _squash(activity.sentence) in seed, activity.key


def test_astorp_example() -> None:
    spec = load_promise_file(EXAMPLES / "astorp-2019.yaml")
    assert (spec.validity.start, spec.validity.end) == (dt.date(2019, 1, 1), dt.date(2019, 12, 31))
    assert len(spec.activities) == 14
    per_school = [a for a in spec.activities if a.rule.per == ("högstadieskola",)]
    assert [a.key for a in per_school] == ["informationskvallar", "forelasningar", "genomsokning-polishund"]
    for activity in per_school:
        assert [e.name for e in activity.entities] == ["Björkskolan", "Ekskolan"]
        assert activity.school_bound
        assert activity.rule.quota is not None
        assert activity.rule.quota.min == 1
        assert activity.rule.period is not None
        assert activity.rule.period.unit is Unit.TERM
    assert spec.activity("informationskvallar").unit.key == "kommunen"
    assert spec.activity("genomsokning-polishund").unit.name == "Lokalpolisområde Klippan"
    plan = spec.activity("plan-medborgarlofte-2020")
    assert plan.overrides == {"kind": "quota", "quota": {"min": 1, "max": 1, "measure": "times"}}
    assert plan.rule.deadline == dt.date(2019, 11, 30)
    assert spec.calendar_source.kind == "inline"
    assert spec.calendar is not None
    assert [t.key for t in spec.calendar.terms] == ["2019-VT", "2019-HT"]
    # The only review item: the inline calendar is not confirmed yet.
    assert [r.field for r in spec.review] == ["school_calendar"]


def test_hagfors_example() -> None:
    spec = load_promise_file(EXAMPLES / "hagfors-2022.yaml")
    assert (spec.validity.start, spec.validity.end) == (dt.date(2022, 6, 14), dt.date(2024, 6, 13))
    assert spec.lan == "Värmland"
    assert spec.calendar_source.kind == "file"
    assert spec.calendar_source.path == (EXAMPLES / "calendars" / "hagfors-2022-2024.txt").resolve()
    followup = spec.activity("arlig-uppfoljning")
    assert followup.rule.period is not None
    assert followup.rule.period.unit is Unit.YEAR
    assert [p.key for p in spec.activity("ssp-moten").partners] == ["kommunen", "skolan", "socialtjänsten"]
    assert spec.review == ()


def test_orkelljunga_example() -> None:
    spec = load_promise_file(EXAMPLES / "orkelljunga-2022.yaml")
    assert (spec.validity.start, spec.validity.end) == (dt.date(2022, 3, 1), dt.date(2022, 5, 31))
    mpk = spec.activity("mobila-poliskontoret")
    assert mpk.rule.quota is not None
    assert (mpk.rule.quota.min, mpk.rule.quota.max) == (2, 2)
    assert mpk.rule.window is not None
    assert mpk.rule.window.end == dt.date(2022, 5, 31)
    assert mpk.weekdays == (3, 4)
    assert mpk.time == dt.time(14, 0)
    assert spec.activity("socialtjansten-vid-mpk").unit.key == "socialtjänsten"
    assert spec.unit("socialtjänsten").part_of == "kommunen"
    assert spec.calendar_source.kind == "estimated"
    assert spec.review == ()


# -- broken files: one per error kind ---------------------------------------------------------
BROKEN = [
    ("invalid-yaml.yaml", 6, None, r"ett kolon \(:\) står där det inte får stå: kontrollera indraget"),
    ("unknown-key.yaml", 12, "activities[0].weekday", r"okänd nyckel 'weekday' \(menade du 'weekdays'\?\)"),
    ("unknown-unit.yaml", 24, "activities[3].unit", r"okänd enhet 'polis' .*\(kända: polisen, kommunen\)"),
    ("unknown-entity-kind.yaml", 14, "activities[0].entity_kind", r"okänd sort 'högstadium'"),
    ("bad-date.yaml", 6, "validity.end", r"ogiltigt datum '2019-13-01': skriv ÅÅÅÅ-MM-DD"),
    (
        "window-outside.yaml",
        13,
        "activities[0].rule.window",
        r"perioden 2022-03-01 – 2022-06-30 ligger utanför giltighetstiden 2022-03-01 – 2022-05-31",
    ),
    (
        "window-outside-sentence.yaml",
        10,
        "activities[0].sentence",
        r"perioden 2023-03-01 – 2023-05-31 ligger utanför giltighetstiden .*rätta med rule.window",
    ),
    ("overlapping-terms.yaml", 10, "school_calendar.HT 2019", r"'HT 2019' anges redan \(rad 9\)"),
]


@pytest.mark.parametrize(("name", "line", "field", "problem"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file(name: str, line: int, field: str | None, problem: str) -> None:
    path = DATA / name
    where = re.escape(f"{path}, rad {line}") + (re.escape(f", fält '{field}'") if field else "")
    with pytest.raises(PromiseFileError, match=f"{where}: {problem}") as info:
        load_promise_file(path)
    assert (info.value.path, info.value.line, info.value.field) == (str(path), line, field)


def test_brief_example_message() -> None:
    path = DATA / "unknown-unit.yaml"
    with pytest.raises(PromiseFileInvalid) as info:
        load_promise_file(path)
    assert [str(e) for e in info.value.errors] == [
        f"{path}, rad 24, fält 'activities[3].unit': okänd enhet 'polis' (menade du 'polisen'?)"
        " (kända: polisen, kommunen)"
    ]


def test_calendar_file_error_names_the_calendar_file() -> None:
    with pytest.raises(PromiseFileError) as info:
        load_promise_file(DATA / "overlapping-terms-file.yaml")
    error = info.value
    assert error.path == str(DATA / "calendars" / "overlapping.txt")
    assert (error.line, error.field) == (6, "ht 2019")
    assert "anges redan (rad 4)" in error.problem


def test_every_error_of_a_file_is_reported_in_line_order() -> None:
    with pytest.raises(PromiseFileInvalid) as info:
        load_promise_file(DATA / "many-errors.yaml")
    found = [(e.line, e.field) for e in info.value.errors]
    assert found == [
        (6, "units[0].email"),
        (13, "activities[0].weekdays[1]"),
        (14, "activities[0].time"),
        (15, "activities[1].key"),
        (19, "activities[1].partners[0]"),
        (20, "activities[1].rule"),
    ]
    assert len(str(info.value).splitlines()) == 6


MINIMAL = """\
title: T
kommun: Åstorp
lan: Skåne
validity: {start: 2019-01-01, end: 2019-12-31}
units: [{key: polisen, name: Polisen, email: p@example.se}]
activities:
  - key: a
    title: A
    sentence: "Polisen ska genomföra trafikkontroller."
    unit: polisen
"""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", r"filen är tom"),
        ("# bara en kommentar\n", r"filen är tom"),
        ("- a\n- b\n", r"rad 1: filen ska bestå av nycklar"),
        ("title: 'öppen\n", r"filen tar slut mitt i ett värde"),
        ("a: 1\n---\nb: 2\n", r"flera YAML-dokument"),
        ("title: x\ntitle: y\n", r"rad 2: nyckeln 'title' finns redan på rad 1"),
        ("x: &a [1]\ny: *a\n", r"rad 2: alias"),
        ("a:\n\t- b\n", r"rad 2: "),
        ("title: !!python/object/apply:os.system ['echo hej']\n", r"fält 'title': ska vara text"),
        (MINIMAL.replace("lan: Skåne", "lan: Skånia"), r"fält 'lan': okänt län 'Skånia' \(menade du 'Skåne'\?\)"),
        (MINIMAL.replace("lan: Skåne\n", ""), r"fält 'lan': saknas"),
        (MINIMAL.replace("title: T", "title:"), r"rad 1, fält 'title': värde saknas"),
        (MINIMAL.replace("email: p@example.se", "email: p@"), r"ogiltig e-postadress 'p@'"),
        (MINIMAL.replace("unit: polisen\n", "unit: polisen\n    time: 25:00\n"), r"ogiltig tid '25:00'"),
        (MINIMAL.replace("unit: polisen\n", "unit: polisen\n    tracked: kanske\n"), r"skriv true eller false"),
        (MINIMAL.replace("unit: polisen\n", "unit: polisen\n    duration_minutes: 0\n"), r"ska vara minst 1"),
        (MINIMAL.replace("activities:", "activities: []\nx:"), r"fält 'activities': listan är tom"),
        (MINIMAL.replace("end: 2019-12-31", "end: 2018-12-31"), r"slutdatum 2018-12-31 före startdatum"),
        (MINIMAL + "    rule: {kind: sometimes}\n", r"okänt värde 'sometimes' \(tillåtna: quota, vague"),
        (MINIMAL + "    rule: {quota: {min: 3, max: 2}}\n", r"fält 'activities\[0\].rule.quota': min \(3\)"),
        (MINIMAL + "    rule: {period: {unit: fortnight}}\n", r"rule.period.unit': okänt värde 'fortnight'"),
        (MINIMAL + "    rule: {kind: quota}\n", r"kind 'quota' kräver quota"),
        (MINIMAL + "    rule: {deadline: 2020-02-01}\n", r"sista dagen 2020-02-01 ligger utanför"),
        (MINIMAL + "    rule: {per: [fritidsgård]}\n", r"rule.per': okänd sort 'fritidsgård'"),
        (MINIMAL + "    partners: [polisen]\n", r"'polisen' är redan ansvarig enhet"),
        (MINIMAL.replace("activities:", "school_calendar: finns-inte.txt\nactivities:"), r"finns-inte.txt' finns inte"),
        (MINIMAL.replace("activities:", "school_calendar: [a]\nactivities:"), r"ska vara en sökväg"),
        (MINIMAL.replace("activities:", "school_calendar: {ht 2019: igår}\nactivities:"), r"school_calendar.ht 2019"),
    ],
    ids=str,
)
def test_bad_input_gives_a_swedish_error_never_a_traceback(text: str, problem: str) -> None:
    with pytest.raises(PromiseFileInvalid, match=problem):
        parse_promise_file(text, source="x.yaml", base_dir=DATA)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(PromiseFileError, match=r"saknas\.yaml: filen finns inte"):
        load_promise_file(tmp_path / "saknas.yaml")
    with pytest.raises(PromiseFileError, match=r"är en katalog"):
        load_promise_file(tmp_path)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("kommun: Åstorp\n".encode("latin-1"))
    with pytest.raises(PromiseFileError, match=r"inte sparad som UTF-8"):
        load_promise_file(latin1)


# -- values are read as written, not as YAML 1.1 guesses ---------------------------------------
def test_values_are_read_as_written() -> None:
    text = MINIMAL.replace(
        "unit: polisen\n",
        "unit: polisen\n    time: 18:00\n    weekdays: Tisdag, torsdagar\n    location: no\n    tracked: ja\n",
    )
    activity = parse_promise_file(text, source="x.yaml").activities[0]
    assert activity.time == dt.time(18, 0)
    assert activity.weekdays == (1, 3)
    assert activity.location == "no"
    assert activity.tracked is True


def test_calendar_path_is_relative_to_the_file_and_inline_takes_kommun_from_the_promise() -> None:
    spec = load_promise_file(DATA / "valid-minimal.yaml")
    assert spec.calendar is not None
    assert spec.calendar.kommun == "Åstorp"
    assert not spec.calendar.estimated
    assert spec.calendar.lovdagar == (dt.date(2019, 5, 31), dt.date(2019, 6, 7))


# -- rules: parser output and the file's overrides ---------------------------------------------
def test_overrides_and_defaults() -> None:
    spec = load_promise_file(DATA / "valid-minimal.yaml")
    info = spec.activity("informationskvallar")
    assert info.overrides == {}
    assert info.school_bound
    assert [e.key for e in info.entities] == ["bjorkskolan", "ekskolan"]
    search = spec.activity("genomsokning")
    assert search.overrides == {"quota": {"min": 2, "max": None, "measure": "times"}}
    assert search.rule.quota is not None
    assert search.rule.quota.min == 2
    assert search.rule.period is not None
    assert search.rule.period.unit is Unit.TERM
    assert search.school_bound is False  # "nej" overrides the school default


def test_quota_given_to_an_untimed_sentence_makes_it_a_quota() -> None:
    text = MINIMAL + "    rule:\n      quota: {min: 4}\n      period: {unit: year}\n"
    rule = parse_promise_file(text, source="x.yaml").activities[0].rule
    assert rule.kind is Kind.QUOTA
    assert rule.quota is not None
    assert rule.quota.min == 4


def test_kind_vague_drops_the_parsers_quota() -> None:
    text = MINIMAL.replace("trafikkontroller.", "trafikkontroller två gånger per månad.")
    text += "    rule: {kind: vague}\n"
    rule = parse_promise_file(text, source="x.yaml").activities[0].rule
    assert rule.kind is Kind.VAGUE
    assert rule.quota is None


def test_entity_kind_contradicting_rule_per_is_an_error() -> None:
    text = MINIMAL.replace("activities:", "entities: [{kind: skola, key: s, name: S}]\nactivities:")
    text += "    entity_kind: skola\n    rule: {per: [tätort]}\n"
    with pytest.raises(PromiseFileInvalid, match=r"rule.per \['tätort'\] motsäger entity_kind 'skola'"):
        parse_promise_file(text, source="x.yaml")


# -- review items: valid, but a person should look -----------------------------------------------
def test_tracked_activity_without_anything_measurable_needs_review() -> None:
    spec = load_promise_file(DATA / "needs-review.yaml")
    fields = [r.field for r in spec.review]
    assert fields == ["units[0]", "activities[0].sentence"]
    item = spec.activity("patrullering").review[0]
    assert "inget antal, ingen frekvens och inget datum" in item.message
    assert "tracked: false" in item.message
    assert item.line == 11


def test_tracked_false_needs_no_review() -> None:
    spec = parse_promise_file(MINIMAL + "    tracked: false\n", source="x.yaml")
    assert spec.review == ()


def test_per_entity_sentence_without_entities_needs_review() -> None:
    text = MINIMAL.replace("trafikkontroller.", "trafikkontroller minst en gång per termin och högstadieskola.")
    spec = parse_promise_file(text, source="x.yaml")
    messages = [r.message for r in spec.review]
    assert any("räknas per 'högstadieskola', men filen har inga entities" in m for m in messages)
    assert any("ingen skolkalender anges" in m for m in messages)  # a term quota needs the calendar


def test_calendar_that_misses_a_term_of_the_validity_needs_review() -> None:
    text = MINIMAL.replace("activities:", "school_calendar: {ht 2019: 2019-08-19 – 2019-12-20}\nactivities:")
    text = text.replace("trafikkontroller.", "trafikkontroller en gång per termin.")
    spec = parse_promise_file(text, source="x.yaml")
    assert any("saknar vårterminen 2019" in r.message for r in spec.review)


# -- round trip ------------------------------------------------------------------------------
ROUND_TRIP = [EXAMPLES / f"{name}.yaml" for name in sorted(SEED_OF)] + [DATA / "valid-minimal.yaml"]


@pytest.mark.parametrize("path", ROUND_TRIP, ids=lambda p: p.name)
@pytest.mark.parametrize("pin_rules", [False, True], ids=["overrides", "pinned"])
def test_round_trip(path: Path, pin_rules: bool, tmp_path: Path) -> None:
    spec = load_promise_file(path)
    copy = tmp_path / "copy.yaml"
    copy.write_text(dump_promise_file(spec, base_dir=tmp_path, pin_rules=pin_rules), encoding="utf-8")
    again = load_promise_file(copy)
    assert [a.rule for a in again.activities] == [a.rule for a in spec.activities]
    if pin_rules:  # pinning writes every rule key: the same rules, more overrides
        assert all(set(a.overrides) == set(RULE_KEYS) for a in again.activities)
        pairs = zip(again.activities, spec.activities, strict=True)
        activities = tuple(dataclasses.replace(a, overrides=b.overrides) for a, b in pairs)
        again = dataclasses.replace(again, activities=activities)
    assert again == spec

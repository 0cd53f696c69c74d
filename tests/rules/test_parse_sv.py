"""The Swedish parser: the development set, a phrase table per pattern family, noise and bad input."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import Kind, parse_sv
from rules.parse_sv import parse_many
from rules.sv_lexicon import fold
from tests.conftest import DEV_PHRASES

D = dt.date


# --- the development set (../shared/phrases/dev.jsonl), scored as ../shared/tools/score-phrases does ---

def _norm(field: str, value: Any) -> Any:
    if field in ("per", "responsible"):
        return sorted({str(v).strip().lower() for v in (value or [])})
    if field == "quota" and value is not None:
        out = {k: value.get(k) for k in ("min", "max")}
        if value.get("measure", "times") != "times":
            out["measure"] = value["measure"]
        return out
    if field == "period" and value is not None:
        return {"unit": value.get("unit"), "every": value.get("every", 1)}
    if field == "average":
        return bool(value)
    return value


def _matches(field: str, got: Any, want: Any) -> bool:
    if field == "quota" and got is not None and want is not None:
        g, w = _norm(field, got), _norm(field, want)
        return all(g.get(k) == v for k, v in w.items()) and g.get("measure", "times") == w.get("measure", "times")
    return bool(_norm(field, got) == _norm(field, want))


def _dev_cases() -> list[dict[str, Any]]:
    if not DEV_PHRASES.exists():
        return []
    return [json.loads(line) for line in DEV_PHRASES.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("case", _dev_cases(), ids=lambda c: c["id"])
def test_development_set(case: dict[str, Any]) -> None:
    got = parse_sv(case["text"], today=D.fromisoformat(case["today"])).to_json()
    for field, want in case.get("expect", {}).items():
        assert _matches(field, got.get(field), want), f"{field}: want {want!r}, got {got.get(field)!r}"
    for field, options in case.get("accept", {}).items():
        assert any(_matches(field, got.get(field), o) for o in options), f"{field}: got {got.get(field)!r}"


HELDOUT = Path(__file__).resolve().parent.parent / "data" / "phrases" / "heldout.jsonl"


def _heldout_cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("case", _heldout_cases(), ids=lambda c: c["id"])
def test_heldout_set(case: dict[str, Any]) -> None:
    """Sentences written in the style of other kommuners' documents, never tuned on one by one."""
    got = parse_sv(case["text"], today=D.fromisoformat(case["today"])).to_json()
    for field, want in case.get("expect", {}).items():
        assert _matches(field, got.get(field), want), f"{field}: want {want!r}, got {got.get(field)!r}"


def test_development_set_is_present() -> None:
    if not DEV_PHRASES.exists():
        pytest.skip(f"{DEV_PHRASES} not beside the checkout")
    assert len(_dev_cases()) >= 100


# --- phrase tables: each family of the grammar, in sentences not taken from the development set ---

T = D(2025, 8, 15)  # the reference date of every row below unless the row says otherwise


def q(lo: int | None, hi: int | None, measure: str = "times") -> dict[str, Any]:
    return {"min": lo, "max": hi, "measure": measure}


def p(unit: str, every: int = 1) -> dict[str, Any]:
    return {"unit": unit, "every": every}


def w(a: str, b: str) -> dict[str, str]:
    return {"start": a, "end": b}


QUOTAS = [
    # numbers in digits and words, up to tolv and beyond
    ("Polisen genomför tolv trafikkontroller per år vid skolorna.", q(12, 12), p("year")),
    ("Kommunen anordnar elva föräldraträffar per läsår.", q(11, 11), p("school_year")),
    ("Socialtjänsten ordnar tjugofem samtalsträffar per år.", q(25, 25), p("year")),
    ("Polisen håller sju lektioner per termin.", q(7, 7), p("term")),
    ("Minst 1 200 timmar per år ska ordningsvakterna vara i tjänst.", q(1200, None, "hours"), p("year")),
    # ranges
    ("Polisen genomför fem till sju hastighetskontroller i månaden.", q(5, 7), p("month")),
    ("Socialtjänsten genomför 2-4 hembesök i månaden.", q(2, 4), p("month")),
    ("Fältgruppen är ute två–tre kvällar i veckan.", q(2, 3), p("week")),
    ("Kontroller sker mellan två och fyra gånger per kvartal.", q(2, 4), p("quarter")),
    ("Polisen besöker varje klass minst en och högst två gånger per läsår.", q(1, 2), p("school_year")),
    # qualifiers
    ("Högst två gånger per kvartal.", q(None, 2), p("quarter")),
    ("Polisen ska genomföra cirka 20 alkoholkontroller per månad.", q(20, 20), p("month")),
    ("Polisen lovar att genomföra minst fyra insatser/år mot narkotika.", q(4, None), p("year")),
    ("Kommunen ska genomföra åtminstone tre trygghetsvandringar per år.", q(3, None), p("year")),
    # slash and abbreviated forms
    ("1 kontakt/vecka med rektor.", q(1, 1), p("week")),
    ("Polisen besöker stadens äldreboenden två ggr/år.", q(2, 2), p("year")),
    ("Minst 3 ggr/mån.", q(3, None), p("month")),
    ("Två insatser per mån.", q(2, 2), p("month")),
    # frequency words without a number mean once
    ("Polisen ska kvartalsvis rapportera till kommunstyrelsen.", q(1, 1), p("quarter")),
    ("Kommunen ansvarar för att en trygghetsmätning genomförs årligen.", q(1, 1), p("year")),
    ("Varje vecka patrullerar polisen i centrum.", q(1, 1), p("week")),
    ("Lägesbilden uppdateras halvårsvis.", q(1, 1), p("half_year")),
    # varannan, var tredje, var N:e
    ("Socialtjänsten deltar i SSP-möten varannan vecka.", q(1, 1), p("week", 2)),
    ("Polisen håller medborgardialog var sjätte vecka.", q(1, 1), p("week", 6)),
    ("Vartannat år genomförs en trygghetsmätning.", q(1, 1), p("year", 2)),
    ("Ledningsgruppen möts var 3:e månad.", q(1, 1), p("month", 3)),
    ("Samverkansmöte var fjärde vecka.", q(1, 1), p("week", 4)),
    # in the week, in the month, about the year
    ("Kommunens trygghetsvärdar går ronder fem gånger i veckan.", q(5, 5), p("week")),
    ("Trygghetsvandringar genomförs två gånger om året, vår och höst.", q(2, 2), p("year")),
    ("Polisen ska fyra gånger under läsåret besöka skolorna.", q(4, 4), p("school_year")),
    # counts before a period marker, fillers, weekday lists
    ("Polisen genomför riktade kontroller (minst 4 per år).", q(4, None), p("year")),
    ("Polisen kommer att genomföra 6 st. riktade insatser per år.", q(6, 6), p("year")),
    ("Fältassistenter är ute varje fredag och lördag.", q(2, 2), p("week")),
    ("Polis och kommun ska tillsammans genomföra minst fyra (4) trygghetsvandringar per år.", q(4, None), p("year")),
    # measures
    ("Ordningsvakter är i tjänst tre dagar i veckan vid stationen.", q(3, 3, "days"), p("week")),
    ("Polisen ska genomföra 30 timmar fotpatrullering per månad i centrum.", q(30, 30, "hours"), p("month")),
]


@pytest.mark.parametrize(("phrase", "quota", "period"), QUOTAS, ids=str)
def test_quota_phrases(phrase: str, quota: dict[str, Any], period: dict[str, Any] | None) -> None:
    got = parse_sv(phrase, today=T).to_json()
    assert got["kind"] == "quota"
    assert got["quota"] == quota
    assert got["period"] == period


PER_ENTITY = [
    ("Minst två gånger per termin och skola.", ["skola"]),
    ("Polisen håller minst två lektioner per skola och termin.", ["skola"]),
    ("Kommunen erbjuder föräldrautbildning på respektive tätort minst en gång per år.", ["tätort"]),
    ("Informationsmöte på kommunens tre högstadieskolor varje termin.", ["högstadieskola"]),
    ("Samtliga högstadieskolor ska besökas av polisen minst en gång per termin.", ["högstadieskola"]),
    ("Polisen besöker varje fritidsgård två gånger per termin.", ["fritidsgård"]),
    ("Kontrollköp görs en gång per år och försäljningsställe.", ["försäljningsställe"]),
    ("En trygghetsvandring i varje stadsdel per halvår.", ["stadsdel"]),
    ("Polisen besöker alla fritidsgårdar varannan månad.", ["fritidsgård"]),
    ("Polisen genomför två insatser per månad i centrum.", []),
]


@pytest.mark.parametrize(("phrase", "per"), PER_ENTITY, ids=str)
def test_per_entity_phrases(phrase: str, per: list[str]) -> None:
    assert list(parse_sv(phrase, today=T).per) == per


RESPONSIBLE = [
    ("Polisen genomför två insatser per månad.", ["Polisen"]),
    ("Trygghetsvandring två gånger per år / **Polisen och kommunen**", ["Polisen", "Kommunen"]),
    ("Trygghetsvandring två gånger per år (Kommunen)", ["Kommunen"]),
    ("Socialtjänsten ska delta i varje SSP-möte.", ["Socialtjänsten"]),
    ("Örkelljunga kommun lovar att genomföra tre insatser.", ["Örkelljunga kommun"]),
    ("Lokalpolisområde Ängelholm ska genomföra två riktade insatser per månad.", ["Lokalpolisområde Ängelholm"]),
    ("Under 2026 genomför räddningstjänsten fyra övningar.", ["Räddningstjänsten"]),
    ("Vid behov kallar kommunen till extra möte med polisen.", ["Kommunen"]),
    ("Samverkan med polisen och skolan kring unga.", []),
    ("Kommunpolisen och fältgruppen besöker skolorna.", ["Kommunpolisen", "Fältgruppen"]),
    ("Trygghetsvandring i centrum. Ansvarig: Kommunen", ["Kommunen"]),
    ("Trygghetsvandring två gånger per år. Ansvar: Polisen och kommunen", ["Polisen", "Kommunen"]),
    ("Polis och kommun ska tillsammans genomföra fyra trygghetsvandringar.", ["Polis", "Kommun"]),
    ("Resultaten redovisas för kommunstyrelsen.", []),
]


@pytest.mark.parametrize(("phrase", "responsible"), RESPONSIBLE, ids=str)
def test_responsible_phrases(phrase: str, responsible: list[str]) -> None:
    assert list(parse_sv(phrase, today=T).responsible) == responsible


WINDOWS = [
    ("Minst 5 insatser under perioden 1 april 2023 - 30 september 2023.", D(2023, 1, 1),
     w("2023-04-01", "2023-09-30")),
    ("Två gånger per månad under perioden mars 2022 – maj 2022.", D(2022, 1, 1),
     w("2022-03-01", "2022-05-31")),
    ("Insatserna pågår 2024-01-15 -- 2024-06-14.", D(2024, 1, 1), w("2024-01-15", "2024-06-14")),
    ("Sex trygghetsvandringar under 2023.", D(2023, 1, 1), w("2023-01-01", "2023-12-31")),
    ("Löftet gäller 8 maj 2019 t.o.m. 30 april 2020.", D(2019, 5, 8), w("2019-05-08", "2020-04-30")),
    ("Under hösten genomförs tre trygghetsvandringar.", D(2025, 9, 1), w("2025-08-01", "2025-12-31")),
    ("Under våren genomförs tre trygghetsvandringar.", D(2025, 9, 1), w("2026-01-01", "2026-06-30")),
    ("Minst två trygghetsvandringar ska genomföras under vecka 12.", D(2023, 1, 10), w("2023-03-20", "2023-03-26")),
    ("Nattvandring varje helg under sommaren 2024.", D(2024, 1, 1), w("2024-06-01", "2024-08-31")),
    ("Polisen och kommunen håller två dialoger per år under 2024 och 2025.", D(2024, 1, 1),
     w("2024-01-01", "2025-12-31")),
    ("Aktiviteterna genomförs från den 1 september 2025 till den 31 maj 2026.", D(2025, 1, 1),
     w("2025-09-01", "2026-05-31")),
    ("Löftet gäller från 1 oktober till 31 december.", D(2025, 8, 15), w("2025-10-01", "2025-12-31")),
    ("Under läsåret 2024/2025 ska polisen besöka varje skola två gånger.", D(2024, 1, 1),
     w("2024-07-01", "2025-06-30")),
    ("Polisen ska ha närvaro i centrum under juni–augusti.", D(2024, 1, 10), w("2024-06-01", "2024-08-31")),
    ("Kontroller vid skolorna veckorna 34–36 2025.", D(2025, 1, 10), w("2025-08-18", "2025-09-07")),
    ("Nattvandring v. 51 till v. 2, varje fredag.", D(2025, 1, 10), w("2025-12-15", "2026-01-11")),
]


@pytest.mark.parametrize(("phrase", "today", "window"), WINDOWS, ids=str)
def test_window_phrases(phrase: str, today: dt.date, window: dict[str, str]) -> None:
    assert parse_sv(phrase, today=today).to_json()["window"] == window


DEADLINES = [
    ("Kommunen ska senast 31 mars 2024 redovisa resultatet.", D(2024, 1, 1), "2024-03-31"),
    ("Kommunen ska i januari presentera en plan.", D(2016, 9, 1), "2017-01-31"),
    ("Planen ska vara klar senast i november 2019.", D(2019, 1, 15), "2019-11-30"),
    ("Fram till och med den 30 oktober samlas synpunkter in.", D(2025, 8, 15), "2025-10-30"),
    ("Rapporten lämnas senast den 15 maj.", D(2025, 6, 1), "2026-05-15"),
    ("Aktiviteten genomförs i september 2023.", D(2023, 1, 10), "2023-09-30"),
]


@pytest.mark.parametrize(("phrase", "today", "deadline"), DEADLINES, ids=str)
def test_deadline_phrases(phrase: str, today: dt.date, deadline: str) -> None:
    got = parse_sv(phrase, today=today).to_json()
    assert got["deadline"] == deadline
    assert got["window"] is None


KINDS = [
    ("Arbetet följs upp vid varje möte i Trygghetsrådet.", "event"),
    ("Vid större evenemang samverkar polisen och kommunen kring trygghet.", "event"),
    ("Polisen genomför en insats mot langning i samband med skolavslutningen.", "event"),
    ("Inför jullovet skickar skolan ett brev till vårdnadshavare.", "event"),
    ("Om det finns behov genomför polisen extra insatser.", "conditional"),
    ("Polisen ska vid behov delta i föräldramöten.", "conditional"),
    ("Polisen deltar på begäran i skolornas temadagar.", "conditional"),
    ("I mån av resurser genomför polisen extra kontroller.", "conditional"),
    ("Socialtjänsten ska kontinuerligt följa upp orosanmälningar.", "vague"),
    ("Polisen patrullerar med jämna mellanrum i parken.", "vague"),
    ("Flera insatser genomförs återkommande i centrum.", "vague"),
    ("Kommunen ska utreda möjligheten till kameraövervakning.", "untimed"),
    ("Trygghetsvandring i Björkhagen tillsammans med bostadsbolaget.", "untimed"),
    ("Polisen ska övervaka trafiken på väg 225 och riksväg 73.", "untimed"),
    ("Kommunen driver ett tvåårigt projekt med nattvandrare.", "untimed"),
]


@pytest.mark.parametrize(("phrase", "kind"), KINDS, ids=str)
def test_kind_phrases(phrase: str, kind: str) -> None:
    rule = parse_sv(phrase, today=T)
    assert rule.kind.value == kind
    if kind in ("vague", "untimed"):
        assert rule.quota is None


NOISE = [
    # missing diacritics
    ("Minst en gang per manad ska polisen besoka fritidsgarden.", q(1, None), p("month")),
    ("Tva ganger per lasar.", q(2, 2), p("school_year")),
    # misspelt words
    ("Minst två gånnger per termin och skola.", q(2, None), p("term")),
    ("Tre gagner per temrin.", q(3, 3), p("term")),
    ("Minnst 4 insatser per år.", q(4, None), p("year")),
    # line breaks, extra spaces, stray markdown, bullets
    ("Kommunpolisen besöker    varje   högstadieskola\nminst en gång per\ntermin.", q(1, None), p("term")),
    ("- **Polisen** ska genomföra __två__ insatser per månad.", q(2, 2), p("month")),
    ("  *   Tre gånger per år\t(Kommunen)  ", q(3, 3), p("year")),
    ("MINST TVÅ GÅNGER PER MÅNAD.", q(2, None), p("month")),
]


@pytest.mark.parametrize(("phrase", "quota", "period"), NOISE, ids=str)
def test_noisy_phrases(phrase: str, quota: dict[str, Any], period: dict[str, Any]) -> None:
    got = parse_sv(phrase, today=T).to_json()
    assert (got["kind"], got["quota"], got["period"]) == ("quota", quota, period)
    assert got["text"] == phrase


# --- bad input: a result object, never a crash, never an invented quota ---

BAD = [
    "",
    "   \n\t ",
    "x" * 100_000,
    "Två gånger per månad. " * 5000,
    "\x00\x01\x02\xff\ufffd binary \x7f junk 12 34",
    "asdf qwer 123 zxcv !!! ### 55555",
    "The police will conduct two traffic controls per month.",
    "Die Polizei führt zweimal im Monat Kontrollen durch.",
    "SELECT * FROM rules; DROP TABLE promises; --",
    "<script>alert(1)</script>",
    "2024-13-45 – 2024-99-99",
    "var 0:e vecka",
]


@pytest.mark.parametrize("text", BAD, ids=lambda t: repr(t[:30]))
def test_bad_input_gives_untimed_without_quota(text: str) -> None:
    rule = parse_sv(text, today=T)
    assert rule.kind is Kind.UNTIMED
    assert rule.quota is None
    assert rule.text == text


# A quota is only ever found where the text counts something: a digit, a number word or a frequency word
# (an adverb or adjective of frequency, e.g. "årligen", "årlig", "veckovis").
_TRIGGER = re.compile(
    r"\d|(?<![a-z])(?:en|ett|tva|tre|fyra|fem|sex|sju|atta|nio|tio|elva|tolv|\w*ton|tjugo\w*|\w*tio|\w*hundra\w*|"
    r"tusen)(?![a-z])|var|lig|vis|varje|per|/|i (?:veckan|manaden|kvartalet|aret)|om (?:aret|dagen)|dag|helg|kvall"
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_nor_invents_a_quota(text: str) -> None:
    rule = parse_sv(text, today=T)
    assert rule.text == text
    if rule.quota is not None:
        assert _TRIGGER.search(fold(text)), text


_WORDS = st.sampled_from(
    "polisen kommunen ska genomföra trygghetsvandringar i centrum med skolan och socialtjänsten under "
    "hösten arbetet mot narkotika för unga samverkan kring brott föräldrar information".split()
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS, max_size=25).map(" ".join))
def test_swedish_prose_without_counts_has_no_quota(text: str) -> None:
    rule = parse_sv(text, today=T)
    assert rule.quota is None
    assert rule.kind in (Kind.UNTIMED, Kind.VAGUE)


def test_missing_year_is_the_next_occurrence() -> None:
    assert parse_sv("i januari", today=D(2016, 9, 1)).deadline == D(2017, 1, 31)
    assert parse_sv("i januari", today=D(2016, 1, 20)).deadline == D(2016, 1, 31)
    assert parse_sv("senast den 1 mars", today=D(2024, 3, 2)).deadline == D(2025, 3, 1)


def test_typo_correction_does_not_depend_on_the_hash_seed() -> None:
    """A misspelling two keywords are equally near ("månadéi": månaden or månader) must be read
    the same way in every process, whatever order Python's hash seed gives a set."""
    import subprocess
    import sys

    code = (
        "import datetime, json, sys; from rules import parse_sv; "
        "print(json.dumps([parse_sv(t, today=datetime.date(2024, 1, 10)).to_json() "
        "for t in sys.argv[1:]], sort_keys=True))"
    )
    texts = ["Minst en gång per månadéi under 2024.", "Två gagner per temrin", "minnst 3 insatsre per åar"]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code, *texts],
            env={"PYTHONHASHSEED": str(seed), "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (0, 1, 2, 3)
    }
    assert len(outputs) == 1


def test_a_frequency_adjective_alone_is_a_yearly_quota_and_the_property_allows_it() -> None:
    """Hypothesis found "ARLIG" (årlig without its ring): read as once a year, which the
    no-invented-quota property must count as a frequency word, not as an invention."""
    rule = parse_sv("ARLIG", today=T)
    assert rule.quota is not None
    assert _TRIGGER.search(fold("ARLIG"))


def test_positional_constructors_give_the_same_objects_and_checks() -> None:
    """The parser builds rules with `new_rule`, `new_quota`, `new_period` (slots set directly):
    they cover every field and give objects equal, with equal hashes and reprs, to the keyword
    constructors'; they refuse what those refuse, with the same message."""
    import dataclasses

    from rules.errors import RuleValueError
    from rules.model import _RULE_FIELDS, Measure, Period, Quota, Rule, Unit, Window, new_period, new_quota, new_rule

    assert tuple(f.name for f in dataclasses.fields(Rule)) == _RULE_FIELDS
    assert new_quota(2, None, Measure.HOURS) == Quota(min=2, max=None, measure=Measure.HOURS)
    assert repr(new_quota(1, 1)) == repr(Quota(min=1, max=1))
    assert new_period(Unit.WEEK, 2) == Period(unit=Unit.WEEK, every=2)
    window = Window(start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30))
    quota, period, deadline = Quota(min=1, max=2), Period(unit=Unit.TERM), dt.date(2025, 5, 1)
    per, responsible = ("skola",), ("Polisen",)
    fast = new_rule("t", Kind.QUOTA, quota, period, True, per, window, deadline, responsible, "sportlov", ("n",))
    slow = Rule(
        text="t",
        kind=Kind.QUOTA,
        quota=quota,
        period=period,
        average=True,
        per=per,
        window=window,
        deadline=deadline,
        responsible=responsible,
        lov="sportlov",
        notes=("n",),
    )
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
    assert fast.notes == slow.notes
    for lo, hi in ((None, None), (-1, 2), (1, -2), (None, -1), (3, 2)):
        with pytest.raises(RuleValueError) as slow_error:
            Quota(min=lo, max=hi)
        with pytest.raises(RuleValueError, match=re.escape(str(slow_error.value))):
            new_quota(lo, hi)
    with pytest.raises(RuleValueError, match="every must be at least 1"):
        new_period(Unit.WEEK, 0)
    for kind, q, p, average in (
        (Kind.QUOTA, None, None, False),
        (Kind.VAGUE, quota, None, False),
        (Kind.EVENT, None, None, True),
    ):
        with pytest.raises(RuleValueError) as slow_error:
            Rule(kind=kind, quota=q, period=p, average=average)
        with pytest.raises(RuleValueError, match=re.escape(str(slow_error.value))):
            new_rule("", kind, q, p, average, (), None, None, (), None, ())


# --- many sentences at once ------------------------------------------------------------------


def test_parse_many_takes_one_date_or_one_per_text() -> None:
    texts = ["Minst 2 gånger per termin.", "", "Vid behov.", "i januari", 42]
    one = parse_many(texts, today=D(2025, 8, 15))  # type: ignore[list-item]
    assert [r.kind.value for r in one] == ["quota", "untimed", "conditional", "untimed", "untimed"]
    assert one == [parse_sv(t, today=D(2025, 8, 15)) for t in texts]  # type: ignore[arg-type]
    assert one[1].notes == ("tom text",)
    assert one[4].text == "42"
    each = parse_many(["senast i januari", "senast i januari"], today=[D(2025, 8, 15), D(2026, 2, 1)])
    assert [r.deadline for r in each] == [D(2026, 1, 31), D(2027, 1, 31)]
    assert parse_many([], today=D(2025, 8, 15)) == []
    assert parse_many(iter(["2 ggr/mån"]), today=D(2025, 8, 15))[0].quota is not None  # any iterable
    with pytest.raises(ValueError, match="2 texts but 1 dates"):
        parse_many(["a", "b"], today=[D(2025, 8, 15)])


_PHRASE_PARTS = st.sampled_from(
    "Polisen Kommunen och ska minst högst 2 tre 2025 per termin månad vecka 44 varannan på varje skola i "
    "samband med senast oktober under hösten vid behov / ** ( ) – - , . år gånger".split()
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.lists(_PHRASE_PARTS, max_size=20).map(" ".join), st.text(max_size=60)), max_size=300))
def test_parse_many_reads_each_text_as_parse_sv_does(texts: list[str]) -> None:
    """No sentence of a batch changes another's rule: any texts, many batches or one."""
    one_by_one = [parse_sv(t, today=T) for t in texts]
    batched = parse_many(texts, today=T)
    assert batched == one_by_one
    assert [r.notes for r in batched] == [r.notes for r in one_by_one]  # (notes are left out of ==)


def test_parse_many_keeps_a_failing_sentence_to_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parser bug on one sentence of a batch gives that sentence an untimed rule with a note; the
    batch is read again one sentence at a time, so every other sentence keeps its own rule."""
    module = sys.modules["rules.parse_sv"]
    texts = [f"Minst {n} gånger per år." for n in range(1, 300)]
    texts[200] = "Boom 3 gånger per år."
    extract_period = module._extract_period

    def failing(w: Any) -> Any:
        if w.text.startswith("Boom"):
            raise RuntimeError("a bug")
        return extract_period(w)

    monkeypatch.setattr(module, "_extract_period", failing)
    rules = parse_many(texts, today=D(2025, 8, 15))
    assert rules[200].kind is Kind.UNTIMED
    assert rules[200].notes == ("internt fel i tolkningen: RuntimeError",)
    assert [r.quota.min for i, r in enumerate(rules) if i != 200] == [n for n in range(1, 300) if n != 201]  # type: ignore[union-attr]

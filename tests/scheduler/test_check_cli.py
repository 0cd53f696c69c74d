"""``lofte check`` through ``scheduler.cli.main``: Swedish output and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DATA = ROOT / "tests" / "data" / "promises"


def test_valid_example_exits_0_with_a_swedish_report(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(EXAMPLES / "astorp-2019.yaml")])
    out, err = capsys.readouterr()
    assert code == 0
    assert err == ""
    assert out.startswith(f"Medborgarlöfte Åstorp 2019 ({EXAMPLES / 'astorp-2019.yaml'})\n")
    assert "Kommun: Åstorp, Skåne län\n" in out
    assert "Giltigt: 2019-01-01 – 2019-12-31 (365 dagar)\n" in out
    assert "Skolkalender: i löftesfilen, uppskattad; terminer inom giltighetstiden: " in out
    assert "  polisen         Lokalpolisområde Klippan <polisen.klippan@example.se>\n" in out
    assert "  högstadieskola: Björkskolan, Ekskolan\n" in out
    assert "Aktiviteter (14):" in out
    # One activity in full: unit, how the sentence was understood, entities, calendar, plans.
    block = out.split(" 2. informationskvallar: Informationskvällar för vårdnadshavare\n")[1].split("\n\n")[0]
    assert "    Ansvarig enhet: Åstorps kommun (kommunen)\n" in block
    assert "    Så förstår Löfte meningen:\n      Tolkning: minst 1 gång per termin och högstadieskola" in block
    assert "    Räknas per högstadieskola: Björkskolan, Ekskolan\n" in block
    assert "    Följer skolkalendern: ja\n" in block
    assert "    Planering: tisdag, onsdag eller torsdag, kl. 18:30, 90 minuter, Skolans aula" in block
    assert "    Ändrat i filen (rule): kind, quota\n" in out
    assert "Behöver granskas (1):\n" in out
    assert out.endswith("Filen är giltig: 14 aktiviteter, 4 följs upp mot antal eller datum, 1 att granska.\n")


@pytest.mark.parametrize("name", ["hagfors-2022.yaml", "orkelljunga-2022.yaml"])
def test_other_examples_are_valid_with_nothing_to_review(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES / name)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.rstrip().endswith("inget att granska.")
    assert ("Kommun: Hagfors, Värmlands län\n" in out) == (name == "hagfors-2022.yaml")
    assert "Behöver granskas" not in out


def test_review_items_are_listed_but_do_not_fail(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "needs-review.yaml"
    assert main(["check", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert "    Behöver granskas: meningen anger inget antal, ingen frekvens och inget datum" in out
    assert "Behöver granskas (2):\n" in out
    assert f"  {path}, rad 11, fält 'activities[0].sentence': meningen anger inget antal" in out
    assert "  polisen  Lokalpolisområde Torsby (ingen e-postadress)\n" in out


def test_invalid_file_exits_2_with_every_error_in_swedish(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "many-errors.yaml"
    assert main(["check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == f"lofte: {path} är inte giltig (6 fel):"
    assert lines[1] == f"  {path}, rad 6, fält 'units[0].email': ogiltig e-postadress 'inte-en-adress'"
    assert len(lines) == 7
    assert "Traceback" not in err


def test_brief_example_error(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "unknown-unit.yaml"
    assert main(["check", str(path)]) == 2
    _, err = capsys.readouterr()
    assert (
        f"  {path}, rad 24, fält 'activities[3].unit': okänd enhet 'polis' (menade du 'polisen'?)"
        " (kända: polisen, kommunen)\n"
    ) in err


def test_several_files_report_each_and_fail_if_any_fails(capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = EXAMPLES / "orkelljunga-2022.yaml", DATA / "bad-date.yaml"
    assert main(["check", str(good), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert "Medborgarlöfte Örkelljunga" in out
    assert f"lofte: {bad} är inte giltig (1 fel):" in err
    assert "ogiltigt datum '2019-13-01'" in err


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("finns-inte.yaml", "filen finns inte"),
        ("invalid-yaml.yaml", "rad 6: ett kolon (:) står där det inte får stå"),
        ("overlapping-terms-file.yaml", "fält 'ht 2019': 'ht 2019' anges redan (rad 4)"),
    ],
)
def test_unreadable_input_never_gives_a_traceback(
    name: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(DATA / name)]) == 2
    _, err = capsys.readouterr()
    assert problem in err
    assert "Traceback" not in err


def test_check_is_listed_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "kontrollera en löftesfil" in capsys.readouterr().out


def test_a_quota_that_cannot_fit_its_period_is_named_with_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Five a week cannot fit a week with a holiday, nor the validity's first two-day week."""
    text = (DATA / "valid-minimal.yaml").read_text(encoding="utf-8")
    text = text.replace("start: 2019-01-01", "start: 2019-01-04")  # a Friday: a partial first week
    text = text.replace(
        "Genomföra minst en oanmäld genomsökning på kommunens två högstadieskolor per termin.",
        "Minst fem kontroller per vecka.",
    ).replace("      quota: {min: 2}", "      quota: {min: 5}")
    path = tmp_path / "fem-per-vecka.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "key: genomsokning" in row)

    assert main(["check", str(path)]) == 0  # the plan keeps what fits; a person decides the rest
    out = capsys.readouterr().out
    block = out.split("Planeringsproblem (")[1].split("\n\n")[0]
    rows = block.splitlines()[1:]
    assert rows[0] == (
        f"  {path}, rad {line}, fält 'activities[1].sentence': genomsokning: kvoten ryms inte: "
        "vecka 1 2019 kräver 2 tillfällen men har bara 1 möjlig dag (2019-01-04 – 2019-01-06)"
    )
    # Easter week 2019 (Långfredag 19 April, Annandag påsk 22 April) leaves four days, not five.
    assert any("vecka 16 2019 kräver 5 tillfällen men har bara 4 möjliga dagar" in row for row in rows)
    assert rows[-1].startswith("  … och ")
    assert "till för genomsokning" in rows[-1]
    assert "planeringsproblem" in out.splitlines()[-1]

"""`lofte done` and `lofte status` end to end on SQLite and PostgreSQL: load, see the warning, record, see it clear."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine

from scheduler.cli import main
from scheduler.status import clear_plan_cache
from tests.conftest import EXAMPLES


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _status(url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, object]]:
    code = main(["status", "--url", url, "--at", "2022-04-20", "--promise", "orkelljunga-2022", "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def _mpk_april(data: dict[str, object]) -> dict[str, object]:
    quotas = data["quotas"]
    assert isinstance(quotas, list)
    (found,) = [q for q in quotas if q["activity"] == "mobila-poliskontoret" and q["period"]["key"] == "2022-04"]
    return found


def test_load_status_done_status(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    clear_plan_cache()
    url = _url(engine)
    assert main(["load", "--url", url, str(EXAMPLES / "orkelljunga-2022.yaml")]) == 0
    capsys.readouterr()

    assert main(["status", "--url", url, "--at", "2022-04-20"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Läget onsdag 20 april 2022\n\nVarningar (")
    assert (
        "  EFTER    Mobila poliskontoret (MPK) på torget, april 2022: 0 av 2, 11 dagar kvar (8 möjliga dagar)" in text
    )
    assert "Följs inte upp med antal (5):" in text

    code, data = _status(url, capsys, "--check")
    assert code == 1  # March was missed
    assert _mpk_april(data)["state"] == "efter"

    for day in ("2022-04-07", "2022-04-19"):
        assert main(["done", "orkelljunga-2022", "mobila-poliskontoret", "--date", day, "--by", "Anna",
                     "--url", url]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "Registrerat: mobila-poliskontoret genomförd 7 april 2022 av Anna (nr 1)." in out
    assert "är markerat som genomfört i kalendern" in out
    # a double submit stores nothing
    assert main(["done", "orkelljunga-2022", "mobila-poliskontoret", "--date", "2022-04-19", "--by", "Anna",
                 "--url", url]) == 0  # fmt: skip
    assert "Redan registrerat (nr 2" in capsys.readouterr().out

    _, data = _status(url, capsys)
    april = _mpk_april(data)
    assert (april["state"], april["done"], april["warning"]) == ("uppfylld", 2, False)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["done", "orkelljunga-2022", "mpk"], "okänd aktivitet 'mpk' i orkelljunga-2022 (kända: "),
        (["done", "nej", "mpk"], "okänt löfte 'nej' (kända: orkelljunga-2022)"),
        (["done", "orkelljunga-2022", "insatser-alkohol", "--date", "2099-01-01"], "ligger i framtiden"),
        (["done", "orkelljunga-2022", "insatser-alkohol", "--date", "1 april"], "--date: ogiltigt datum '1 april'"),
        (["status", "--at", "i går"], "--at: ogiltigt datum 'i går'"),
        (["status", "--promise", "nej"], "okänt löfte 'nej'"),
        (["status", "--unit", "brandkåren"], "okänd enhet 'brandkåren' (kända: kommunen, polisen, socialtjänsten)"),
    ],
    ids=["activity", "promise", "future", "bad-date", "bad-at", "status-promise", "status-unit"],
)
def test_bad_input_exits_2_with_a_swedish_message(
    engine: Engine, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    url = _url(engine)
    assert main(["load", "--url", url, str(EXAMPLES / "orkelljunga-2022.yaml")]) == 0
    capsys.readouterr()
    assert main([*argv, "--url", url]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_an_unmigrated_database_is_named(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/empty.sqlite3"
    assert main(["status", "--url", url]) == 2
    assert "är tom: kör 'lofte db upgrade'" in capsys.readouterr().err

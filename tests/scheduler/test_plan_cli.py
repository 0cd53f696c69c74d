"""``lofte plan`` through ``scheduler.cli.main``: table, JSON (golden files) and ICS."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from rules.planner import PlannedOccurrence
from scheduler.cli import main
from scheduler.commands.plan import build_view, date_sv, to_ics
from scheduler.ical_plan import NAMESPACE, EventText, occurrence_uid, render_plan_ics

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DATA = ROOT / "tests" / "data" / "promises"
GOLDEN = ROOT / "tests" / "golden" / "plans"
STHLM = ZoneInfo("Europe/Stockholm")
ORKELLJUNGA = EXAMPLES / "orkelljunga-2022.yaml"
ASTORP = EXAMPLES / "astorp-2019.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["plan", *args])
    out, err = capsys.readouterr()
    return code, out, err


# -- golden plans ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["astorp-2019", "hagfors-2022", "orkelljunga-2022"])
def test_golden_plan(name: str, capsys: pytest.CaptureFixture[str], file_regression: object) -> None:
    code, out, err = run(capsys, str(EXAMPLES / f"{name}.yaml"), "--format", "json")
    assert (code, err) == (0, "")
    json.loads(out)
    file_regression.check(out, fullpath=GOLDEN / f"{name}.json")  # type: ignore[attr-defined]


# -- table -------------------------------------------------------------------------------------
def test_table_is_swedish_and_grouped_by_unit_and_activity(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(ORKELLJUNGA))
    assert (code, err) == (0, "")
    assert out.startswith(f"Plan för Medborgarlöfte Örkelljunga mars 2022 – maj 2022 ({ORKELLJUNGA})\n")
    assert "Giltigt: tis 1 mars 2022 – tis 31 maj 2022\n" in out
    assert "\nLokalpolisområde Ängelholm (polisen)\n" in out
    block = out.split("  mobila-poliskontoret: Mobila poliskontoret (MPK) på torget\n")[1].split("\n\n")[0]
    lines = block.splitlines()
    assert lines[0] == "  2 gånger per månad under perioden 2022-03-01 – 2022-05-31 (Polisen)"
    assert lines[1].split() == ["Datum", "Tid", "Verksamhet", "Period", "Tillfälle", "Senast", "möjliga", "dag",
                                "Not"]  # fmt: skip
    assert lines[2].split() == ["tor", "10", "mars", "2022", "14:00–17:00", "–", "mars", "2022", "1", "av", "2",
                                "ons", "30", "mars", "2022"]  # fmt: skip
    assert len(lines) == 2 + 6
    assert "\nPlaneras inte (5):\n" in out
    assert "  socialtjansten-vid-mpk: Socialtjänsten på torget när MPK ställs upp – knuten till andra händelser" in out
    assert out.endswith("12 tillfällen i 3 planerade aktiviteter, 5 planeras inte, 0 problem.\n")


def test_entities_and_all_day_rows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(ASTORP), "--unit", "polisen")
    assert code == 0
    block = out.split("  forelasningar: ")[1].split("\n\n")[0]
    rows = block.splitlines()[3:]
    assert len(rows) == 4
    assert sum("Björkskolan" in r for r in rows) == 2
    assert sum("Ekskolan" in r for r in rows) == 2
    assert all(" heldag " in r for r in rows)
    assert "Åstorps kommun (kommunen)" not in out


def test_range_filters_rows_but_not_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    _, whole, _ = run(capsys, str(ORKELLJUNGA), "--format", "json")
    code, part, _ = run(capsys, str(ORKELLJUNGA), "--format", "json", "--from", "2022-04-01", "--to", "2022-04-30")
    assert code == 0
    april = [o for a in json.loads(part)["activities"] for p in a["periods"] for o in p["occurrences"]]
    every = [o for a in json.loads(whole)["activities"] for p in a["periods"] for o in p["occurrences"]]
    assert april == [o for o in every if o["date"].startswith("2022-04")]
    assert {o["date"] for o in april} == {"2022-04-07", "2022-04-08", "2022-04-28"}


@pytest.mark.parametrize("unit", ["polisen", "Lokalpolisområde Ängelholm", "POLISEN"])
def test_unit_by_key_or_name(unit: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(ORKELLJUNGA), "--format", "json", "--unit", unit)
    assert code == 0
    data = json.loads(out)
    assert data["unit"] == "polisen"
    assert {a["unit"] for a in data["activities"]} == {"polisen"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unit", "brandkåren"], "lofte: okänd enhet 'brandkåren' i "),
        (["--from", "2022-05-01", "--to", "2022-04-01"], "lofte: --to (2022-04-01) ligger före --from (2022-05-01)"),
    ],
)
def test_user_errors_exit_2_in_swedish(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, str(ORKELLJUNGA), *args)
    assert code == 2
    assert out == ""
    assert err.startswith(message)


def test_bad_date_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["plan", str(ORKELLJUNGA), "--from", "2022-13-01"])
    assert exc.value.code == 2
    assert "ogiltigt datum '2022-13-01', skriv ÅÅÅÅ-MM-DD" in capsys.readouterr().err


def test_invalid_file_exits_2_with_its_errors(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "unknown-unit.yaml"
    code, out, err = run(capsys, str(path))
    assert code == 2
    assert out == ""
    assert err.startswith(f"lofte: {path} är inte giltig (")
    assert f"  {path}, rad " in err


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, str(tmp_path / "saknas.yaml"))
    assert code == 2
    assert "filen finns inte" in err


def test_date_sv() -> None:
    assert date_sv(dt.date(2025, 3, 30)) == "sön 30 mars 2025"
    assert date_sv(dt.date(2019, 11, 15)) == "fre 15 november 2019"


# -- ics ---------------------------------------------------------------------------------------
def test_ics_has_one_event_per_occurrence(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, str(ASTORP), "--format", "json")
    planned = [o for a in json.loads(out)["activities"] for p in a["periods"] for o in p["occurrences"]]
    code, ics, err = run(capsys, str(ASTORP), "--format", "ics")
    assert (code, err) == (0, "")
    cal = icalendar.Calendar.from_ical(ics)
    events = list(cal.walk("VEVENT"))
    assert len(events) == len(planned) == 13
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids)
    expected = {
        str(uuid.uuid5(NAMESPACE, f"astorp-2019/{o['activity']}/{o['entity']}/{o['period']}/{o['slot']}"))
        for o in planned
    }
    assert set(uids) == expected
    assert str(cal["METHOD"]) == "PUBLISH"
    assert "Medborgarlöfte Åstorp 2019" in str(cal["X-WR-CALNAME"])
    (tz,) = cal.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Europe/Stockholm"
    assert "RDATE" not in tz.to_ical().decode()
    for event in events:
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        if isinstance(start, dt.datetime):
            assert event["DTSTART"].params["TZID"] == "Europe/Stockholm"
        else:
            assert end == start + dt.timedelta(days=1)


def test_ics_instants_match_the_plan_across_dst() -> None:
    view = build_view(str(ORKELLJUNGA), start=None, end=None, unit=None)
    stamp = dt.datetime(2022, 2, 1, 12, 0, tzinfo=dt.UTC)
    body = to_ics(view, stamp=stamp)
    assert body == to_ics(view, stamp=stamp), "byte-stable"
    cal = icalendar.Calendar.from_ical(body)
    # The validity spans the spring transition (27 March 2022): 14:00 is 13:00 then 12:00 UTC.
    expanded = recurring_ical_events.of(cal).between(dt.date(2022, 3, 1), dt.date(2022, 6, 1))
    starts = [e.decoded("DTSTART") for e in expanded]
    got = sorted(s.astimezone(dt.UTC) for s in starts if isinstance(s, dt.datetime))
    want = sorted(o.start for o in view.plan.occurrences if o.start is not None)
    assert got == want
    assert [t.isoformat() for t in got[:2]] == ["2022-03-10T13:00:00+00:00", "2022-03-25T13:00:00+00:00"]
    assert got[2].isoformat() == "2022-04-08T12:00:00+00:00"
    assert {e.decoded("DTSTAMP") for e in cal.walk("VEVENT")} == {stamp}


def test_render_plan_ics_small() -> None:
    start = dt.datetime(2025, 10, 26, 0, 30, tzinfo=dt.UTC)  # 02:30 CEST, the first of two
    occurrences = [
        PlannedOccurrence(activity="natt", entity="", period_key="2025-W43", slot=0, day=dt.date(2025, 10, 26),
                          start=start, end=start + dt.timedelta(hours=1)),
        PlannedOccurrence(activity="dag", entity="skola", period_key="2025-HT", slot=0, day=dt.date(2025, 10, 27)),
    ]  # fmt: skip
    body = render_plan_ics(occurrences, promise="p", name="Test", stamp=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                           text=lambda o: EventText(summary=o.activity, location="Torget"))  # fmt: skip
    text = body.decode("utf-8")
    assert "DTSTART;TZID=Europe/Stockholm:20251026T023000\r\n" in text
    assert "DTEND;TZID=Europe/Stockholm:20251026T023000\r\n" in text  # an hour later: 02:30 CET
    assert "DTSTART;VALUE=DATE:20251027\r\nDTEND;VALUE=DATE:20251028\r\n" in text
    assert f"UID:{occurrence_uid('p', occurrences[1])}\r\n" in text
    assert text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")
    naive = dt.datetime(2025, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="aware"):
        render_plan_ics([], promise="p", name="x", text=lambda o: EventText(summary=""), stamp=naive)

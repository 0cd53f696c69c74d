"""`lofte load` on a real SQLite file and a real PostgreSQL: one transaction, idempotent,
keeping completions, UIDs and people's fixes; a failed load changes nothing."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

import scheduler.loader as loader_module
from scheduler.cli import main
from scheduler.db import Activity, AuditEvent, Completion, Occurrence, OccurrenceStatus, Promise, Unit
from scheduler.loader import load_file
from scheduler.promise_file import PromiseFileError
from scheduler.store import record_completion
from tests.conftest import EXAMPLES

NOW = dt.datetime(2022, 2, 20, 9, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=3)


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target)
    return target


def snapshot(engine: Engine) -> dict[str, object]:
    """Everything a load could write, in a comparable form."""
    with Session(engine) as s:
        occ = s.exec(select(Occurrence).order_by(Occurrence.uid)).all()
        return {
            "promises": [(p.slug, p.content_hash, p.updated_at) for p in s.exec(select(Promise))],
            "activities": [(a.key, a.content_hash, a.updated_at, a.retired_at) for a in s.exec(select(Activity))],
            "occurrences": [(o.uid, o.day, o.starts_at, o.sequence, o.status, o.last_modified) for o in occ],
            "audit": s.exec(select(func.count()).select_from(AuditEvent)).one(),
            "completions": s.exec(select(func.count()).select_from(Completion)).one(),
        }


def occurrences(engine: Engine, activity: str) -> list[Occurrence]:
    with Session(engine) as s:
        rows = s.exec(
            select(Occurrence).join(Activity).where(Activity.key == activity).order_by(Occurrence.period_key)
        )
        return list(rows)


def test_load_stores_the_whole_promise(engine: Engine, examples: Path) -> None:
    result = load_file(engine, examples / "orkelljunga-2022.yaml", now=NOW)
    assert result.created
    assert result.activities == 8
    assert result.occurrences_created == result.occurrences > 0
    with Session(engine) as s:
        promise = s.exec(select(Promise)).one()
        assert (promise.slug, promise.kommun) == ("orkelljunga-2022", "Örkelljunga")
        assert promise.valid_from == dt.date(2022, 3, 1)
        assert {u.key for u in s.exec(select(Unit))} >= {"polisen", "kommunen"}
        seqs = {o.sequence for o in s.exec(select(Occurrence))}
        assert seqs == {0}


def test_reload_without_change_writes_nothing(engine: Engine, examples: Path) -> None:
    load_file(engine, examples / "orkelljunga-2022.yaml", now=NOW)
    before = snapshot(engine)
    result = load_file(engine, examples / "orkelljunga-2022.yaml", now=LATER)
    assert result.unchanged
    assert snapshot(engine) == before


def test_edit_moves_only_the_edited_activity(engine: Engine, examples: Path) -> None:
    path = examples / "orkelljunga-2022.yaml"
    load_file(engine, path, now=NOW)
    before = {o.uid: o for o in _all(engine)}
    text = path.read_text(encoding="utf-8")
    assert 'time: "14:00"' in text
    path.write_text(text.replace('time: "14:00"', 'time: "15:30"', 1), encoding="utf-8")
    result = load_file(engine, path, now=LATER)
    after = {o.uid: o for o in _all(engine)}
    assert after.keys() == before.keys(), "UIDs are stable"
    changed = {uid for uid in after if after[uid].starts_at != before[uid].starts_at}
    assert changed
    assert result.occurrences_updated == len(changed)
    for uid, row in after.items():
        if uid in changed:
            assert row.sequence == before[uid].sequence + 1
            assert row.last_modified == LATER
        else:
            assert (row.sequence, row.last_modified) == (before[uid].sequence, before[uid].last_modified)
    activities = {occ.activity_id for uid, occ in after.items() if uid in changed}
    assert len(activities) == 1


def test_done_and_moved_occurrences_survive_a_replan(engine: Engine, examples: Path) -> None:
    path = examples / "orkelljunga-2022.yaml"
    load_file(engine, path, now=NOW)
    with Session(engine) as s:
        rows = s.exec(select(Occurrence).where(Occurrence.starts_at.is_not(None)).order_by(Occurrence.uid)).all()  # type: ignore[union-attr]
        done, moved = rows[0], rows[1]
        done.status = OccurrenceStatus.DONE
        moved.day = moved.day + dt.timedelta(days=1)
        moved.starts_at = moved.starts_at + dt.timedelta(days=1)  # type: ignore[operator]
        moved.ends_at = moved.ends_at + dt.timedelta(days=1)  # type: ignore[operator]
        moved.manual = True
        moved.status = OccurrenceStatus.MOVED
        s.add_all([done, moved])
        s.commit()
        fixed = {done.uid: (done.day, done.starts_at), moved.uid: (moved.day, moved.starts_at)}
    text = path.read_text(encoding="utf-8").replace('time: "14:00"', 'time: "10:00"').replace(
        'time: "18:00"', 'time: "09:00"'
    )
    path.write_text(text, encoding="utf-8")
    load_file(engine, path, now=LATER)
    after = {o.uid: o for o in _all(engine)}
    for uid, (day, start) in fixed.items():
        assert (after[uid].day, after[uid].starts_at) == (day, start)
        assert after[uid].status in (OccurrenceStatus.DONE, OccurrenceStatus.MOVED)


def test_removed_activity_is_retired_and_its_completions_kept(engine: Engine, examples: Path) -> None:
    path = examples / "orkelljunga-2022.yaml"
    load_file(engine, path, now=NOW)
    with Session(engine) as s:
        activity = s.exec(select(Activity).where(Activity.key == "mobila-poliskontoret")).one()
        record_completion(s, activity=activity, done_on=dt.date(2022, 3, 10), recorded_by="Kim", now=NOW)
        s.commit()
    text = path.read_text(encoding="utf-8")
    start = text.index("  - key: mobila-poliskontoret")
    end = text.index("  - key:", start + 5)
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    result = load_file(engine, path, now=LATER)
    assert "aktivitet mobila-poliskontoret" in result.retired
    with Session(engine) as s:
        activity = s.exec(select(Activity).where(Activity.key == "mobila-poliskontoret")).one()
        assert activity.retired_at == LATER
        assert s.exec(select(func.count()).select_from(Completion)).one() == 1
    rows = occurrences(engine, "mobila-poliskontoret")
    assert rows
    assert {o.status for o in rows} == {OccurrenceStatus.CANCELLED}


def test_invalid_file_changes_nothing(engine: Engine, examples: Path) -> None:
    path = examples / "orkelljunga-2022.yaml"
    load_file(engine, path, now=NOW)
    before = snapshot(engine)
    path.write_text(path.read_text(encoding="utf-8").replace("unit: polisen", "unit: polis", 1), encoding="utf-8")
    with pytest.raises(PromiseFileError, match=r"okänd enhet 'polis'"):
        load_file(engine, path, now=LATER)
    assert snapshot(engine) == before


def test_failure_midway_rolls_back_everything(
    engine: Engine, examples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = examples / "orkelljunga-2022.yaml"
    load_file(engine, path, now=NOW)
    before = snapshot(engine)
    path.write_text(path.read_text(encoding="utf-8").replace('time: "14:00"', 'time: "15:00"'), encoding="utf-8")

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process died between writing activities and occurrences")

    monkeypatch.setattr(loader_module, "upsert_occurrences", crash)
    with pytest.raises(RuntimeError):
        load_file(engine, path, now=LATER)
    assert snapshot(engine) == before


def test_cli_loads_reloads_and_refuses_bad_files(
    engine: Engine, examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    good = [str(examples / name) for name in ("astorp-2019.yaml", "hagfors-2022.yaml", "orkelljunga-2022.yaml")]
    assert main(["load", "--url", url, *good]) == 0
    out = capsys.readouterr().out
    assert out.count("sparad som nytt löfte") == 3
    assert main(["load", "--url", url, *good]) == 0
    assert capsys.readouterr().out.count("oförändrad sedan förra inläsningen; inget skrevs") == 3
    bad = examples / "trasig.yaml"
    bad.write_text("title: [oavslutad\n", encoding="utf-8")
    assert main(["load", "--url", url, str(bad)]) == 2
    err = capsys.readouterr().err
    assert "sparades inte" in err
    assert "databasen är oförändrad" in err
    assert "Traceback" not in err


def _all(engine: Engine) -> list[Occurrence]:
    with Session(engine) as s:
        return list(s.exec(select(Occurrence)))

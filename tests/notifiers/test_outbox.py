"""OutboxNotifier: one complete, parseable .eml file per message, in order, named by Message-ID."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest

from notifiers import OutboxNotifier, TemporaryFailure

T0 = dt.datetime(2025, 11, 3, 7, 0, tzinfo=dt.UTC)


def message(n: int, *, to: str = "kalle@nyhem.example.se") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Löfte <lofte@astorp.example.se>"
    msg["To"] = to
    msg["Subject"] = f"Påminnelse {n}: två aktiviteter i fara"
    msg["Message-ID"] = f"<lofte.{n}/x@astorp.example.se>"
    msg.set_content(f"Meddelande {n}: Informationskvällen på Nyhemsskolan är inte genomförd än.\n")
    return msg


def fixed_clock() -> dt.datetime:
    return T0


def read(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        msg = BytesParser(policy=default).parse(handle)
    assert isinstance(msg, EmailMessage)
    return msg


def test_writes_one_parseable_file_named_by_time_order_and_message_id(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path / "utkorg", clock=fixed_clock)
    outbox.send(message(1))
    outbox.send(message(2))
    files = sorted((tmp_path / "utkorg").iterdir())
    assert [f.name for f in files] == [
        "20251103T070000000000Z-000001-lofte.1_x@astorp.example.se.eml",
        "20251103T070000000000Z-000002-lofte.2_x@astorp.example.se.eml",
    ]
    got = read(files[0])
    assert got["Subject"] == "Påminnelse 1: två aktiviteter i fara"
    assert got["Message-ID"] == "<lofte.1/x@astorp.example.se>"
    assert "Informationskvällen på Nyhemsskolan" in got.get_content()
    raw = files[0].read_bytes()
    assert raw.startswith(b"From: =?utf-8?q?L=C3=B6fte?= <lofte@astorp.example.se>\r\n")  # as on the wire


def test_real_clock_names_sort_in_sending_order(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path)
    outcomes = outbox.send_many(message(n) for n in range(30))
    assert all(o.delivered for o in outcomes)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [re.search(r"lofte\.(\d+)_", name).group(1) for name in names] == [str(n) for n in range(30)]  # type: ignore[union-attr]
    assert all(re.fullmatch(r"\d{8}T\d{12}Z-\d{6}-lofte\.\d+_x@astorp\.example\.se\.eml", n) for n in names)


def test_message_without_message_id_still_gets_a_file(tmp_path: Path) -> None:
    msg = message(1)
    del msg["Message-ID"]
    OutboxNotifier(tmp_path, clock=fixed_clock).send(msg)
    [path] = tmp_path.iterdir()
    assert path.name == "20251103T070000000000Z-000001-utan-message-id.eml"


def test_concurrent_writers_leave_only_complete_files(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path)
    counter = itertools.count()

    def work() -> None:
        for _ in range(25):
            outbox.send(message(next(counter)))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    files = list(tmp_path.iterdir())
    assert len(files) == 150
    assert not [f for f in files if f.name.startswith(".")]
    ids = {read(f)["Message-ID"] for f in files}
    assert ids == {f"<lofte.{n}/x@astorp.example.se>" for n in range(150)}


def test_unwritable_folder_is_a_temporary_failure_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "utkorg"
    blocker.write_text("en fil där mappen skulle vara\n", encoding="utf-8")
    outbox = OutboxNotifier(blocker / "inne")
    with pytest.raises(TemporaryFailure, match=r"Kunde inte skriva meddelandet till utkorgen .*utkorg/inne") as info:
        outbox.send(message(1))
    assert info.value.affects_all
    assert sorted(p.name for p in tmp_path.iterdir()) == ["utkorg"]


def test_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    outbox = OutboxNotifier(tmp_path, clock=fixed_clock)
    name = outbox.filename(message(1), seq=1, when=T0)
    (tmp_path / name).mkdir()  # os.replace onto a directory fails
    with pytest.raises(TemporaryFailure):
        outbox.send(message(1))
    assert [p.name for p in tmp_path.iterdir()] == [name]

"""The embedded default channel: one ``.eml`` file per message in a folder.

Used when no SMTP server is configured (``LOFTE_SMTP_HOST`` unset), so a fresh install
can run reminders end to end and a coordinator can open the messages in any mail
program. Files are named so that ``ls`` lists them in the order they were written and
shows their Message-ID::

    20251103T070000123456Z-000001-lofte.1a2b3c@kommun.se.eml
    └ UTC time written ───┘ └ seq ┘ └ Message-ID (unsafe characters → _) ┘

``seq`` counts the messages this notifier wrote, so two written in the same microsecond
keep their order. Each file appears complete or not at all: the message is written to
a hidden temporary file in the same folder (``.NAME.tmp``), flushed to disk, and moved
into place with ``os.replace``; readers ignore names starting with a dot. The content is
the message as on the wire (RFC 5322, CRLF line ends, RFC 2047 headers), which
``email.parser.BytesParser`` and mail programs read back.

A folder that cannot be created or written (permissions, a full disk) raises
``TemporaryFailure`` with the folder named; nothing partial is left behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import re
import threading
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from notifiers.base import BaseNotifier, TemporaryFailure, wire_bytes

__all__ = ["OutboxNotifier"]

_UNSAFE = re.compile(r"[^A-Za-z0-9.@+=-]")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OutboxNotifier(BaseNotifier):
    """Write each message as an ``.eml`` file in ``directory`` (created on first use)."""

    def __init__(self, directory: str | os.PathLike[str], *, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self.directory = Path(directory)
        self._clock = clock
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OutboxNotifier({str(self.directory)!r})"

    def filename(self, message: EmailMessage, *, seq: int, when: dt.datetime) -> str:
        """The file name for ``message``; see the module docstring for the pattern."""
        message_id = str(message.get("Message-ID", "")).strip().strip("<>") or "utan-message-id"
        safe_id = _UNSAFE.sub("_", message_id)[:150]
        return f"{when.astimezone(dt.UTC):%Y%m%dT%H%M%S%fZ}-{seq:06d}-{safe_id}.eml"

    def send(self, message: EmailMessage) -> None:
        """Write ``message`` atomically; return once the file is in place and flushed."""
        data = wire_bytes(message)
        with self._lock:
            name = self.filename(message, seq=next(self._seq), when=self._clock())
        target = self.directory / name
        temp = self.directory / f".{name}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(temp, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
            _fsync_dir(self.directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
            raise TemporaryFailure(
                f"Kunde inte skriva meddelandet till utkorgen {self.directory}: {exc.strerror or exc}.",
                affects_all=True,
            ) from exc


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); not possible on Windows, where it is skipped."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

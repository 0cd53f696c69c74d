"""Real SMTP servers on loopback (aiosmtpd), and a self-signed certificate for TLS.

* ``smtp_server(**options)`` starts an aiosmtpd ``Controller`` on 127.0.0.1 at a free
  port with a ``Recorder`` handler and stops it after the test. ``options`` go to
  ``Recorder`` (``mail_reply``, ``rcpt_replies``, ``data_reply``, ``per_connection``)
  and, for the rest, to the controller (``tls_context``, ``require_starttls``,
  ``authenticator``, ``auth_required``, ``ssl_context`` for implicit TLS).
* ``tls_files``: a certificate and key for ``127.0.0.1`` made with the ``openssl``
  command (``need_service`` when it is missing); ``server_tls`` / ``client_tls`` are
  the matching SSL contexts (the client trusts exactly that certificate).
* ``free_port()``: a port nothing listens on (for "server down").
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import need_service

USER, PASSWORD = "lofte", "hemligt-lösenord"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    authenticated: bool
    tls: bool
    connection: int


class Recorder:
    """An aiosmtpd handler that keeps what it accepts and can be told to refuse."""

    def __init__(
        self,
        *,
        mail_reply: str | None = None,
        rcpt_replies: dict[str, str] | None = None,
        data_reply: str | None = None,
        per_connection: int | None = None,
    ) -> None:
        self.mail_reply = mail_reply
        self.rcpt_replies = rcpt_replies or {}
        self.data_reply = data_reply
        #: after this many messages on one connection, MAIL gets "421" (a server's limit)
        self.per_connection = per_connection
        self.received: list[Received] = []
        self._sessions: list[object] = []
        self._counts: dict[int, int] = {}

    def _connection(self, session: object) -> int:
        for index, known in enumerate(self._sessions):
            if known is session:
                return index
        self._sessions.append(session)
        return len(self._sessions) - 1

    @property
    def connections(self) -> int:
        return len(self._sessions)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self._connection(session)
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        index = self._connection(session)
        if self.mail_reply:
            return self.mail_reply
        if self.per_connection is not None and self._counts.get(index, 0) >= self.per_connection:
            return "421 4.7.0 Too many messages on this connection"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        index = self._connection(session)
        self._counts[index] = self._counts.get(index, 0) + 1
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.original_content,
                authenticated=bool(session.authenticated),
                tls=server.transport.get_extra_info("ssl_object") is not None,
                connection=index,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd writes the 235 or 535


@dataclass
class Server:
    controller: Controller
    recorder: Recorder

    @property
    def port(self) -> int:
        return int(self.controller.port)


RECORDER_OPTIONS = {"mail_reply", "rcpt_replies", "data_reply", "per_connection"}


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Server]]:
    started: list[Controller] = []

    def start(**options: Any) -> Server:
        recorder = Recorder(**{k: v for k, v in options.items() if k in RECORDER_OPTIONS})
        rest = {k: v for k, v in options.items() if k not in RECORDER_OPTIONS}
        controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), **rest)
        controller.start()
        started.append(controller)
        return Server(controller, recorder)

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        need_service("the openssl command is needed to make a self-signed certificate for the TLS tests")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            str(openssl), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="session")
def server_tls(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture(scope="session")
def client_tls(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls_files[0]))

"""``lofte serve`` as a real subprocess, and the settings it reads (base URL, secret key)."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest

from scheduler.config import ConfigError, load_settings
from tests.conftest import ROOT

LOFTE = [str(Path(sys.executable).with_name("lofte"))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, float]]:
    env = {**os.environ, "LOFTE_DATA_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1"}
    env.pop("LOFTE_BASE_URL", None)
    env.pop("LOFTE_DATABASE_URL", None)
    started = time.monotonic()
    log = tmp_path / "stdout.txt"
    with log.open("w") as stdout:
        proc = subprocess.Popen(
            [*LOFTE, "serve", "--demo", "--port", "0"],
            cwd=tmp_path, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    out = ""
    try:
        deadline = started + 60
        while "Avsluta med Ctrl+C." not in out:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, out
            time.sleep(0.1)
            out = log.read_text(encoding="utf-8")
        yield proc, out, time.monotonic() - started
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_lofte_serve_demo_prints_every_address_and_serves_them(demo: tuple[subprocess.Popen[str], str, float]) -> None:
    proc, out, seconds = demo
    assert seconds < 30  # "a few seconds" on an idle machine; shared CI cores get slack
    base = re.search(r"Löfte körs i demoläge på (http://127\.0\.0\.1:\d+)/", out)
    assert base is not None, out
    assert f"Översikt:   {base[1]}/" in out
    assert "Demot räknar som om i dag vore 14 juni 2022" in out
    feeds = re.findall(r"(http://127\.0\.0\.1:\d+/feeds/[A-Za-z0-9_-]{43}\.ics)", out)
    webcals = re.findall(r"(webcal://127\.0\.0\.1:\d+/feeds/[A-Za-z0-9_-]{43}\.ics)", out)
    assert len(feeds) == len(webcals) >= 3 + 3 + 3  # a kommun, a promise and units per example
    assert [w.replace("webcal://", "http://") for w in webcals] == feeds

    with urllib.request.urlopen(base[1] + "/") as response:  # noqa: S310 - loopback
        page = response.read().decode()
    assert "Medborgarlöfte Hagfors" in page
    with urllib.request.urlopen(base[1] + "/kalendrar") as response:  # noqa: S310
        page = response.read().decode()
    assert feeds[0] in page
    assert "Skapa ny adress" in page
    events = 0
    for url in feeds:
        with urllib.request.urlopen(url) as response:  # noqa: S310
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
            events += len(icalendar.Calendar.from_ical(response.read()).walk("VEVENT"))
    assert events > 0  # the demo clock puts Hagfors' and Örkelljunga's plans inside the window
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(base[1] + "/feeds/" + "A" * 43 + ".ics")  # noqa: S310
    assert missing.value.code == 404
    assert proc.poll() is None


def test_lofte_serve_refuses_a_busy_port_in_swedish(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        env = {**os.environ, "LOFTE_DATA_DIR": str(tmp_path / "var")}
        result = subprocess.run(
            [*LOFTE, "serve", "--port", str(port), "--url", f"sqlite:///{tmp_path}/x.sqlite3"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"porten {port} på 127.0.0.1 används redan" in result.stderr
    assert "Traceback" not in result.stderr


def test_today_only_with_demo(tmp_path: Path) -> None:
    result = subprocess.run(
        [*LOFTE, "serve", "--today", "2022-01-01", "--port", str(_free_port())],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--today går bara att använda med --demo" in result.stderr


# -- settings -------------------------------------------------------------------------------------------
def test_secret_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = load_settings(environ={"LOFTE_DATA_DIR": str(tmp_path / "data")})
    key = settings.secret_key
    path = tmp_path / "data" / "secret_key"
    assert len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == key
    again = load_settings(environ={"LOFTE_DATA_DIR": str(tmp_path / "data")})
    assert again.secret_key == key
    assert key not in repr(settings)
    # another process on the same data dir reads the same key
    code = "from scheduler.config import load_settings as l; print(l().secret_key)"
    other = subprocess.run([sys.executable, "-c", code], env={**os.environ, "LOFTE_DATA_DIR": str(tmp_path / "data")},
                           capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
    assert other.stdout.strip() == key


def test_secret_key_and_base_url_from_the_environment(tmp_path: Path) -> None:
    secret = "s" * 40
    settings = load_settings(environ={"LOFTE_SECRET_KEY": secret, "LOFTE_BASE_URL": "https://lofte.example.se/",
                                      "LOFTE_DATA_DIR": str(tmp_path)})  # fmt: skip
    assert settings.secret_key == secret
    assert settings.base_url == "https://lofte.example.se"
    assert not (tmp_path / "secret_key").exists()
    with pytest.raises(ConfigError, match="LOFTE_SECRET_KEY"):
        load_settings(environ={"LOFTE_SECRET_KEY": "kort"})
    with pytest.raises(ConfigError, match="LOFTE_BASE_URL"):
        load_settings(environ={"LOFTE_BASE_URL": "lofte.example.se"})

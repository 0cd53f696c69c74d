"""Every ``lofte`` command as a user runs it: the installed console script, each in a fresh process.

``scheduler.cli`` imports only the module of the command asked for (``lofte parse``
starts without the database layer), so each command must import all it needs itself; a
fresh process per command is what shows it (in-process tests share their imports).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLES, SEEDS

LOFTE = shutil.which("lofte", path=str(Path(sys.executable).parent)) or "lofte"
ASTORP = EXAMPLES / "astorp-2019.yaml"


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOFTE_DATA_DIR": str(tmp_path / "var")}
    env.pop("LOFTE_DATABASE_URL", None)  # the embedded SQLite file under LOFTE_DATA_DIR
    return subprocess.run(
        [LOFTE, *args], capture_output=True, text=True, encoding="utf-8", timeout=120, check=False, env=env,
        cwd=tmp_path,
    )  # fmt: skip


def test_each_command_runs_in_a_fresh_process(tmp_path: Path) -> None:
    steps: list[tuple[tuple[str, ...], str]] = [
        (("db", "upgrade"), "uppgraderad"),
        (("db", "current"), "(senaste)"),
        (("load", str(ASTORP)), "sparad som nytt löfte (astorp-2019)"),
        (("feeds",), "Nya kalenderflöden"),
        (("status", "--at", "2019-03-01"), "Läget fredag 1 mars 2019"),
        (("user", "list"), "Inga konton"),
        (("remind", "--at", "2019-03-01", "--dry-run"), "provkörning"),
        (("done", "astorp-2019", "informationskvallar", "--entity", "bjorkskolan", "--date", "2019-02-20"),
         "Registrerat"),
        (("parse", "Minst en gång per termin och högstadieskola."), "Tolkning: minst 1 gång per termin"),
        (("check", str(ASTORP)), "Medborgarlöfte Åstorp 2019"),
        (("plan", str(ASTORP), "--format", "json"), '"kommun": "Åstorp"'),
    ]  # fmt: skip
    for args, expected in steps:
        proc = run(tmp_path, *args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert expected in proc.stdout, (args, proc.stdout[:500])
        assert "Traceback" not in proc.stderr, (args, proc.stderr)


def test_import_of_a_signed_document_in_a_fresh_process(tmp_path: Path) -> None:
    document = sorted(SEEDS.glob("*.txt"))[0]
    draft = tmp_path / "utkast.yaml"
    proc = run(tmp_path, "import", str(document), "-o", str(draft), "--today", "2019-01-15")
    assert proc.returncode == 0, proc.stderr
    assert "Utkast sparat" in proc.stdout
    assert "Löfte har förstått" in proc.stdout
    assert "activities:" in draft.read_text(encoding="utf-8")
    checked = run(tmp_path, "check", str(draft))  # the draft is a promise file the next step reads
    assert "Traceback" not in checked.stderr


def test_parse_starts_without_the_database_layer() -> None:
    code = (
        "import sys; from scheduler.cli import main; "
        "main(['parse', 'Minst en gång per termin.']); "
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'fastapi') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_help_and_an_unknown_command_list_every_command(tmp_path: Path) -> None:
    listed = run(tmp_path, "--help").stdout
    unknown = run(tmp_path, "pars", "x")
    assert unknown.returncode == 2
    for name in ("parse", "check", "plan", "db", "load", "user", "feeds", "serve", "import", "done", "status",
                 "remind"):  # fmt: skip
        assert f"    {name} " in listed, name
        assert f"'{name}'" in unknown.stderr, name

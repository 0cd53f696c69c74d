"""``scheduler.config`` and where ``make_engine`` connects by default; ``lofte db``; the
doctests of the persistence modules (``scheduler/`` is not in pytest's testpaths)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from scheduler.cli import main
from scheduler.config import Config, ConfigError, load_settings
from scheduler.db import database_url, head_revision, make_engine


# -- Config ---------------------------------------------------------------------------------------------
def test_missing_value_without_default_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"^Config 'LOFTE_X' is missing, and has no default\.$"):
        Config(environ={})("LOFTE_X")


def test_cast_and_default() -> None:
    config = Config(environ={"LOFTE_PORT": "8080", "LOFTE_BAD": "many"})
    assert config("LOFTE_PORT", cast=int) == 8080
    assert config("LOFTE_NONE", cast=int, default=None) is None
    with pytest.raises(ConfigError, match=r"Config 'LOFTE_BAD' has value 'many', not a valid int\."):
        config("LOFTE_BAD", cast=int)


def test_secret_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "db_url"
    secret.write_text("postgresql+psycopg://lofte:hemligt@db/lofte\n", encoding="utf-8")
    settings = load_settings(environ={"LOFTE_DATABASE_URL_FILE": str(secret)})
    assert settings.database_url == "postgresql+psycopg://lofte:hemligt@db/lofte"
    assert "hemligt" not in repr(settings)


def test_value_and_file_both_set_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "s").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="'LOFTE_DATABASE_URL_FILE' are both set"):
        load_settings(environ={"LOFTE_DATABASE_URL": "sqlite://", "LOFTE_DATABASE_URL_FILE": str(tmp_path / "s")})
    with pytest.raises(ConfigError, match="LOFTE_DATABASE_URL_FILE' names a file that cannot be read"):
        load_settings(environ={"LOFTE_DATABASE_URL_FILE": str(tmp_path / "missing")})


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text('# local\nLOFTE_DATA_DIR="/srv/lofte"\nLOFTE_DATABASE_URL=\n', encoding="utf-8")
    settings = load_settings(env, environ={})
    assert (settings.data_dir, settings.database_url) == (Path("/srv/lofte"), None)
    assert load_settings(env, environ={"LOFTE_DATA_DIR": "/opt/x"}).data_dir == Path("/opt/x")


def test_defaults_and_a_bad_url() -> None:
    settings = load_settings(environ={})
    assert (settings.data_dir, settings.database_url) == (Path("./var"), None)
    with pytest.raises(ConfigError, match="LOFTE_DATABASE_URL' is not a URL"):
        load_settings(environ={"LOFTE_DATABASE_URL": "var/lofte.sqlite3"})


# -- default database ------------------------------------------------------------------------------------
def test_default_database_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(environ={"LOFTE_DATA_DIR": str(tmp_path / "var")})
    url = database_url(settings=settings)
    assert url.drivername == "sqlite+pysqlite"
    assert url.database == str(tmp_path / "var" / "lofte.sqlite3")
    assert (tmp_path / "var").is_dir()  # created on demand
    engine = make_engine(settings=settings)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_a_plain_postgresql_url_uses_psycopg_3() -> None:
    assert database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert database_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"


# -- lofte db ------------------------------------------------------------------------------------------------
def test_lofte_db_upgrade_and_current(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'lofte.sqlite3'}"
    assert main(["db", "current", "--url", url, "--check"]) == 1
    assert "databasfilen finns inte" in capsys.readouterr().out
    assert not (tmp_path / "lofte.sqlite3").exists()  # asking did not create it

    assert main(["db", "upgrade", "--url", url]) == 0
    assert f"uppgraderad från tom till {head_revision()}" in capsys.readouterr().out
    assert main(["db", "upgrade", "--url", url]) == 0
    assert "inget att göra" in capsys.readouterr().out
    assert main(["db", "current", "--url", url, "--check"]) == 0
    assert capsys.readouterr().out.endswith(f": {head_revision()} (senaste)\n")


def test_lofte_db_errors_are_swedish_and_hide_passwords(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current", "--url", "postgresql://lofte:hemligt@127.0.0.1:9/x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lofte: kan inte nå databasen postgresql+psycopg://lofte:***@127.0.0.1:9/x")
    assert "hemligt" not in err
    assert main(["db", "upgrade", "--url", "sqlite://", "--revision", "9999"]) == 2
    assert "kan inte migrera till '9999'" in capsys.readouterr().err


def test_lofte_db_uses_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    import scheduler.config

    monkeypatch.setenv("LOFTE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LOFTE_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    scheduler.config.get_settings.cache_clear()
    try:
        assert main(["db", "upgrade"]) == 0
    finally:
        scheduler.config.get_settings.cache_clear()
    assert str(tmp_path / "data" / "lofte.sqlite3") in capsys.readouterr().out
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'lofte.sqlite3'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
    engine.dispose()


# -- doctests --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["scheduler.config", "scheduler.db.types", "scheduler.db.engine", "scheduler.store"])
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0

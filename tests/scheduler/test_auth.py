"""Coordinator accounts: hashes, grants, authentication and ``lofte user`` on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from scheduler.auth import (
    AccountError,
    add_user,
    authenticate,
    csrf_ok,
    hash_password,
    new_csrf_token,
    verify_password,
    visible_kommuner,
)
from scheduler.cli import main
from scheduler.db import AuditEvent, User

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
PASSWORD = "rätt häst batteri"


def test_hash_is_argon2id_and_verifies_only_the_right_password() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "x")
    assert not verify_password("inte en hash", PASSWORD)


@pytest.mark.parametrize(
    ("password", "message"),
    [("kort", "för kort: minst 10 tecken"), (" tio tecken minst", "mellanslag")],
)
def test_weak_passwords_are_refused_in_swedish(password: str, message: str) -> None:
    with pytest.raises(AccountError, match=message):
        hash_password(password)


def test_add_authenticate_and_grants(engine: Engine) -> None:
    with Session(engine) as session:
        anna = add_user(
            session, username="Anna.S", name="Anna Samordnare", password=PASSWORD, now=NOW,
            email="anna@example.se", kommuner=["Åstorp"],
        )  # fmt: skip
        add_user(session, username="admin", name="Admin", password=PASSWORD, now=NOW, admin=True)
        session.commit()
        assert anna.username == "anna.s"
        assert visible_kommuner(session, anna) == frozenset({"Åstorp"})
        admin = session.exec(select(User).where(User.username == "admin")).one()
        assert visible_kommuner(session, admin) is None
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "user.create")).all()
        assert len(events) == 2
        assert all("hash" not in str(e.details) for e in events)

    with Session(engine) as session:
        assert authenticate(session, "ANNA.S", PASSWORD, now=NOW) is not None
        assert authenticate(session, "anna.s", "fel lösenord!", now=NOW) is None
        assert authenticate(session, "ingen", PASSWORD, now=NOW) is None
        assert authenticate(session, "<script>", PASSWORD, now=NOW) is None
        session.commit()
        assert session.exec(select(User).where(User.username == "anna.s")).one().last_login_at == NOW


def test_a_taken_username_is_refused_and_nothing_changes(engine: Engine) -> None:
    with Session(engine) as session:
        add_user(session, username="anna", name="Anna", password=PASSWORD, now=NOW)
        session.commit()
        with pytest.raises(AccountError, match="finns redan"):
            add_user(session, username="Anna", name="Anna två", password=PASSWORD, now=NOW)
        session.rollback()
        assert len(session.exec(select(User)).all()) == 1


def test_an_inactive_account_cannot_log_in(engine: Engine) -> None:
    with Session(engine) as session:
        user = add_user(session, username="bo", name="Bo", password=PASSWORD, now=NOW)
        user.is_active = False
        session.commit()
        assert authenticate(session, "bo", PASSWORD, now=NOW) is None


def test_csrf_tokens_compare_in_constant_time_and_refuse_missing_ones() -> None:
    token = new_csrf_token()
    assert len(token) >= 43  # 256 bits, URL-safe
    assert csrf_ok(token, token)
    assert not csrf_ok(token, new_csrf_token())
    assert not csrf_ok(token, None)
    assert not csrf_ok(None, token)


def test_lofte_user_add_list_and_passwd(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = main(["user", "add", "eva", "--namn", "Eva Ek", "--kommun", "Hagfors", "--password-stdin", "--url", url])
    assert code == 0
    assert capsys.readouterr().out == "Kontot eva (Eva Ek) skapades; ser Hagfors.\n"

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["user", "add", "eva", "--namn", "Eva Ek", "--password-stdin", "--url", url]) == 2
    assert "inget konto skapades: användaren 'eva' finns redan" in capsys.readouterr().err

    monkeypatch.setattr("sys.stdin", io.StringIO("kort\n"))
    assert main(["user", "passwd", "eva", "--password-stdin", "--url", url]) == 2
    assert "lösenordet byttes inte: lösenordet är för kort" in capsys.readouterr().err

    assert main(["user", "list", "--url", url]) == 0
    assert capsys.readouterr().out == "eva  Eva Ek  -  Hagfors\n"
    with Session(engine) as session:
        assert authenticate(session, "eva", PASSWORD, now=NOW) is not None

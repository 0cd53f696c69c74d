"""LOFTE_SMTP_*, LOFTE_MAIL_FROM and LOFTE_OUTBOX_DIR as load_settings reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.config import ConfigError, SmtpSettings, load_settings

HOST = {"LOFTE_SMTP_HOST": "smtp.kommun.se", "LOFTE_MAIL_FROM": "Löfte <lofte@kommun.se>"}


def test_defaults_without_a_host_use_the_outbox(tmp_path: Path) -> None:
    settings = load_settings(environ={"LOFTE_DATA_DIR": str(tmp_path)})
    assert settings.smtp is None
    assert settings.outbox_dir == tmp_path / "outbox"
    assert settings.mail_from == "Löfte <lofte@localhost>"
    other = load_settings(environ={"LOFTE_DATA_DIR": str(tmp_path), "LOFTE_OUTBOX_DIR": "/srv/post"})
    assert other.outbox_dir == Path("/srv/post")


@pytest.mark.parametrize(("security", "port"), [("starttls", 587), ("tls", 465), ("none", 25), ("TLS", 465)])
def test_port_follows_security(security: str, port: int) -> None:
    settings = load_settings(environ={**HOST, "LOFTE_SMTP_SECURITY": security})
    assert settings.smtp == SmtpSettings(host="smtp.kommun.se", port=port, security=security.lower())


def test_password_from_a_file_and_never_in_repr(tmp_path: Path) -> None:
    secret = tmp_path / "smtp_password"
    secret.write_text("hemligt-lösenord\n", encoding="utf-8")
    settings = load_settings(
        environ={**HOST, "LOFTE_SMTP_USER": "lofte", "LOFTE_SMTP_PASSWORD_FILE": str(secret), "LOFTE_SMTP_PORT": "2525"}
    )
    assert settings.smtp is not None
    assert (settings.smtp.user, settings.smtp.password, settings.smtp.port) == ("lofte", "hemligt-lösenord", 2525)
    assert "hemligt" not in repr(settings)
    assert "hemligt" not in repr(settings.smtp)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {**HOST, "LOFTE_SMTP_SECURITY": "ssl"},
            r"Config 'LOFTE_SMTP_SECURITY' has value 'ssl'; write starttls, tls or none\.",
        ),
        ({**HOST, "LOFTE_SMTP_PORT": "smtp"}, r"Config 'LOFTE_SMTP_PORT' has value 'smtp', not a valid int\."),
        ({**HOST, "LOFTE_SMTP_PORT": "70000"}, r"Config 'LOFTE_SMTP_PORT' has value 70000, outside 1-65535\."),
        ({**HOST, "LOFTE_SMTP_TIMEOUT": "0"}, r"Config 'LOFTE_SMTP_TIMEOUT' has value 0\.0; give a positive"),
        ({**HOST, "LOFTE_SMTP_USER": "lofte"}, r"Config 'LOFTE_SMTP_PASSWORD' is missing, and LOFTE_SMTP_USER is set"),
        ({"LOFTE_SMTP_HOST": "smtp.kommun.se"}, r"Config 'LOFTE_MAIL_FROM' is missing; an SMTP relay needs a sender"),
        ({"LOFTE_MAIL_FROM": "Löfte"}, r"Config 'LOFTE_MAIL_FROM' has value 'Löfte'; write an address"),
    ],
)
def test_bad_settings_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=environ)

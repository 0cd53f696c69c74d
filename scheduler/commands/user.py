"""``lofte user add|list|passwd``: coordinator accounts for the dashboard.

``add`` asks for the password twice on a terminal, or reads one line from standard
input with ``--password-stdin`` (for scripts; never put a password on the command
line, where ``ps`` shows it). ``--kommun`` may be given several times; ``--admin``
sees every kommun.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys

from sqlmodel import Session, select

from scheduler.auth import AccountError, add_user, normalise_username, set_password
from scheduler.cli import UserError
from scheduler.commands.db import migrated_engine as _engine
from scheduler.db import User, UserKommun


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "user",
        help="konton för samordnare (inloggning på översikten)",
        description="Hantera konton för samordnare som loggar in på Löftes översikt.",
    )
    actions = p.add_subparsers(dest="user_command", metavar="ÅTGÄRD")
    actions.required = True
    add = actions.add_parser("add", help="skapa ett konto", description="Skapa ett konto för en samordnare.")
    add.add_argument("username", metavar="ANVÄNDARNAMN")
    add.add_argument("--namn", required=True, metavar="NAMN", help="för- och efternamn")
    add.add_argument("--email", default=None, metavar="ADRESS", help="e-postadress (får eskaleringar)")
    add.add_argument(
        "--kommun", action="append", default=[], metavar="KOMMUN", help="kommun vars löften kontot ser (flera går)"
    )
    add.add_argument("--admin", action="store_true", help="ser alla kommuner")
    add.add_argument("--password-stdin", action="store_true", help="läs lösenordet från standard in (en rad)")
    add.set_defaults(func=run_add)
    ls = actions.add_parser("list", help="lista konton", description="Lista alla konton.")
    ls.set_defaults(func=run_list)
    pw = actions.add_parser("passwd", help="byt lösenord", description="Byt lösenord för ett konto.")
    pw.add_argument("username", metavar="ANVÄNDARNAMN")
    pw.add_argument("--password-stdin", action="store_true", help="läs lösenordet från standard in (en rad)")
    pw.set_defaults(func=run_passwd)
    for action in (add, ls, pw):
        action.add_argument("--url", default=None, metavar="URL", help="databas-URL (standard: LOFTE_DATABASE_URL)")


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError(
            "inget lösenord: kör i en terminal eller ange --password-stdin och skicka lösenordet på standard in"
        )
    first = getpass.getpass("Lösenord: ")
    if getpass.getpass("Samma lösenord igen: ") != first:
        raise UserError("lösenorden var inte lika; inget konto ändrades")
    return first


def run_add(args: argparse.Namespace) -> int:
    password = _password(args)
    engine = _engine(args)
    now = dt.datetime.now(dt.UTC)
    try:
        with Session(engine) as session:
            user = add_user(
                session,
                username=args.username,
                name=args.namn,
                password=password,
                email=args.email,
                kommuner=args.kommun,
                admin=args.admin,
                now=now,
            )
            session.commit()
            where = "alla kommuner" if user.is_admin else (", ".join(sorted(set(args.kommun))) or "inga kommuner än")
            print(f"Kontot {user.username} ({user.name}) skapades; ser {where}.")
    except AccountError as exc:
        raise UserError(f"inget konto skapades: {exc}") from None
    finally:
        engine.dispose()
    return 0


def run_list(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        with Session(engine) as session:
            users = session.exec(select(User).order_by(User.username)).all()
            if not users:
                print("Inga konton. Skapa ett med: lofte user add ANVÄNDARNAMN --namn NAMN --kommun KOMMUN")
            for user in users:
                grants = session.exec(select(UserKommun.kommun).where(UserKommun.user_id == user.id)).all()
                where = "alla kommuner" if user.is_admin else (", ".join(sorted(grants)) or "inga kommuner")
                state = "" if user.is_active else " (avstängt)"
                print(f"{user.username}  {user.name}  {user.email or '-'}  {where}{state}")
    finally:
        engine.dispose()
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    password = _password(args)
    engine = _engine(args)
    try:
        with Session(engine) as session:
            try:
                key = normalise_username(args.username)
            except AccountError as exc:
                raise UserError(str(exc)) from None
            user = session.exec(select(User).where(User.username == key)).first()
            if user is None:
                raise UserError(f"det finns ingen användare {key!r}; se lofte user list")
            try:
                set_password(session, user, password, now=dt.datetime.now(dt.UTC), actor="lofte user passwd")
            except AccountError as exc:
                raise UserError(f"lösenordet byttes inte: {exc}") from None
            session.commit()
            print(f"Lösenordet för {user.username} är bytt.")
    finally:
        engine.dispose()
    return 0

"""``python -m scheduler.migrations revision -m "message"``: autogenerate a revision.

Compares ``SQLModel.metadata`` with a scratch SQLite database migrated to head, and
writes ``versions/<nnnn>_<slug>.py`` (batch operations, which PostgreSQL runs as plain
ALTERs). For developers in a checkout; an installed ``lofte`` only runs migrations.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command

from scheduler.db.engine import MIGRATIONS_DIR, alembic_config, make_engine, upgrade


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scheduler.migrations")
    sub = parser.add_subparsers(dest="command", required=True)
    rev = sub.add_parser("revision", help="autogenerate a revision from the models")
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args()

    existing = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    number = int(existing[-1][:4]) + 1 if existing else 1
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'scratch.sqlite3'}")
        try:
            upgrade(engine)
            with engine.begin() as connection:
                script = command.revision(
                    alembic_config(connection), message=args.message, autogenerate=True, rev_id=f"{number:04d}"
                )
        finally:
            engine.dispose()
    print(getattr(script, "path", script))  # the file written is the output


if __name__ == "__main__":
    main()

"""Row versions: ``row_version`` on the tables a feed shows, bumped by the database on every UPDATE.

A feed's version (``scheduler.ical_feed``) is a key of aggregates over its rows: counts,
``max(updated_at)``, sums of ``sequence``. ``updated_at`` is set by the ORM, so an
UPDATE written by hand (psql, sqlite3, a script) that does not set it moved the feed
clock (migration 0005) but not the key, and the feed stayed as it was. ``row_version``
grows with every UPDATE of its row, whoever writes it, and the key holds its sum per
table, so any change reaches the feed:

* PostgreSQL: a ``BEFORE UPDATE ... FOR EACH ROW`` trigger adds one to ``NEW.row_version``
  unless the statement itself changed it.
* SQLite (whose triggers cannot change ``NEW``): an ``AFTER UPDATE ... FOR EACH ROW``
  trigger that, unless the statement changed ``row_version``, updates the row's
  ``row_version`` to the old one plus one (recursive triggers are off, and the condition
  holds no more for that inner update anyway).

The ORM never sets the column (its default, 0, on INSERT), so a row the ORM updates is
bumped by the trigger as well. Adding a column on SQLite is an ``ALTER TABLE`` (no table
copy), so the feed clock's triggers stay.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The tables whose rows a feed's version key aggregates (``scheduler.ical_feed._Statements``).
VERSIONED_TABLES = ("promise", "unit", "entity", "activity", "activity_partner", "occurrence", "completion")

_PG_FUNCTION = """
CREATE FUNCTION lofte_row_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.row_version = OLD.row_version THEN
        NEW.row_version := OLD.row_version + 1;
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in VERSIONED_TABLES:
        op.add_column(table, sa.Column("row_version", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    if postgres:
        op.execute(_PG_FUNCTION)
    for table in VERSIONED_TABLES:
        if postgres:
            op.execute(
                f"CREATE TRIGGER row_version_{table} BEFORE UPDATE ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION lofte_row_version_bump()"
            )
        else:
            bump = f"UPDATE {table} SET row_version = OLD.row_version + 1 WHERE id = NEW.id"  # noqa: S608 - constant names
            op.execute(
                f"CREATE TRIGGER row_version_{table} AFTER UPDATE ON {table} FOR EACH ROW"
                f" WHEN NEW.row_version = OLD.row_version BEGIN {bump}; END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in VERSIONED_TABLES:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS row_version_{table} ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS row_version_{table}")
        # SQLite (3.35+) drops a column in place, without the batch copy that would lose the feed clock's triggers
        op.execute(f"ALTER TABLE {table} DROP COLUMN row_version")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS lofte_row_version_bump()")

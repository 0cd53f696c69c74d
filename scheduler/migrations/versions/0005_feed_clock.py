"""The feed clock: one counter row that every commit changing a feed moves (``feed_clock``).

The feed path (``scheduler.web.feed``) reads ``(epoch, seq)`` with one primary-key
lookup per request; while it equals what the cached feed was made under, the feed is
current. Triggers keep it exact, whoever writes (the ORM, Core bulk inserts, another
instance, psql):

* SQLite: ``AFTER INSERT/UPDATE/DELETE ... FOR EACH ROW`` on every table in
  ``FEED_TABLES`` (SQLite has no statement triggers). SQLite has one writer at a time,
  so the counter row adds no lock of its own.
* PostgreSQL: a ``DEFERRABLE INITIALLY DEFERRED`` constraint trigger per table and
  row, so the counter row is locked at COMMIT only (a counter bumped at the first
  write would be held for the whole transaction and could deadlock with rows locked
  ``FOR UPDATE`` before it); the function bumps once per transaction (a transaction-local
  setting remembers it). ``TRUNCATE`` gets a plain statement trigger.

Both upsert: a missing row (emptied tables) comes back with a new random ``epoch``.

A later SQLite migration that copies one of these tables (batch mode) drops its
triggers with it and must create them again (``tests/scheduler/test_feed_clock.py``
checks that every table has them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The tables whose rows a feed shows or that decide which feed a token opens
#: (kept equal to ``scheduler.feed_clock.FEED_TABLES`` by a test).
FEED_TABLES = ("promise", "unit", "entity", "activity", "activity_partner", "occurrence", "completion", "feed_token")

_SQLITE_BUMP = (
    "INSERT INTO feed_clock (id, seq, epoch) VALUES (1, 1, lower(hex(randomblob(16))))"
    " ON CONFLICT (id) DO UPDATE SET seq = seq + 1"
)
_PG_FUNCTION = """
CREATE FUNCTION lofte_feed_clock_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'TRUNCATE' AND current_setting('lofte.feed_clock_bumped', true) = '1' THEN
        RETURN NULL;
    END IF;
    INSERT INTO feed_clock (id, seq, epoch) VALUES (1, 1, md5(random()::text || clock_timestamp()::text))
    ON CONFLICT (id) DO UPDATE SET seq = feed_clock.seq + 1;
    IF TG_OP <> 'TRUNCATE' THEN
        PERFORM set_config('lofte.feed_clock_bumped', '1', true);
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "feed_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_clock")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in FEED_TABLES:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER feed_clock_{table} AFTER INSERT OR UPDATE OR DELETE ON {table}"
                " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION lofte_feed_clock_bump()"
            )
            op.execute(
                f"CREATE TRIGGER feed_clock_{table}_truncate AFTER TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION lofte_feed_clock_bump()"
            )
    else:
        for table in FEED_TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER feed_clock_{table}_{event.lower()} AFTER {event} ON {table}"
                    f" FOR EACH ROW BEGIN {_SQLITE_BUMP}; END"
                )
    op.execute(_initial_row(op.get_bind().dialect.name))


def _initial_row(dialect: str) -> str:
    epoch = (
        "md5(random()::text || clock_timestamp()::text)" if dialect == "postgresql" else "lower(hex(randomblob(16)))"
    )
    return f"INSERT INTO feed_clock (id, seq, epoch) VALUES (1, 1, {epoch})"  # noqa: S608 - constant SQL


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in FEED_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS feed_clock_{table} ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS feed_clock_{table}_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS lofte_feed_clock_bump()")
    else:
        for table in FEED_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS feed_clock_{table}_{event}")
    op.drop_table("feed_clock")

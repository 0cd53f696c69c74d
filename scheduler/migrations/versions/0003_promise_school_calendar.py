"""The school calendar a promise was planned with: ``promise.school_calendar``.

Quota evaluation (``scheduler.status``) re-plans from the database and needs the same
calendar the loader used, without re-reading the promise file. Stored as the
calendar's text format (``rules.school.SchoolCalendar.to_text()``). Existing rows get
NULL and are filled the next time ``lofte load`` stores the promise.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("promise", schema=None) as batch_op:
        batch_op.add_column(sa.Column("school_calendar", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("promise", schema=None) as batch_op:
        batch_op.drop_column("school_calendar")

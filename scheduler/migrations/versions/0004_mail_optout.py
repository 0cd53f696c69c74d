"""Addresses that unsubscribed from reminder digests (``mail_optout``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_optout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_optout")),
        sa.UniqueConstraint("recipient", name=op.f("uq_mail_optout_recipient")),
    )


def downgrade() -> None:
    op.drop_table("mail_optout")

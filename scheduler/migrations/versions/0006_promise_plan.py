"""Stored quota plans (``promise_plan``): what evaluation needs of each promise's plan.

Written by ``lofte load`` in the load's transaction (``scheduler.status.store_plan``);
a promise without a row (loaded before this revision) is planned when evaluated, as
before, until it is loaded again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "promise_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("promise_id", sa.Integer(), nullable=False),
        sa.Column("plan_key", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["promise_id"], ["promise.id"], name=op.f("fk_promise_plan_promise_id_promise"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promise_plan")),
        sa.UniqueConstraint("promise_id", name=op.f("uq_promise_plan_promise_id")),
    )


def downgrade() -> None:
    op.drop_table("promise_plan")

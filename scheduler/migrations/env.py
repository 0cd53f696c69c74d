"""Alembic environment: migrate over a given connection, or one made from the URL.

``scheduler.db.upgrade`` passes its connection in ``config.attributes["connection"]``
(so the migration runs in the caller's transaction); otherwise the URL comes from
the ``sqlalchemy.url`` option or, failing that, ``scheduler.db.database_url()``.
SQLite gets ``render_as_batch=True``: it cannot ALTER most things, so Alembic copies
the table. Revisions write plain SQLAlchemy types: ``UTCDateTime`` is rendered as
``sa.DateTime(timezone=True)`` and ``JSONType`` as JSON with a JSONB variant, so old
revisions never import today's model code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from alembic import context
from sqlmodel import SQLModel

import scheduler.db.models  # noqa: F401 - registers the tables on SQLModel.metadata
from scheduler.db.engine import make_engine
from scheduler.db.types import UTCDateTime

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext

config = context.config
target_metadata = SQLModel.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and getattr(obj, "_variant_mapping", None) and "postgresql" in obj._variant_mapping:
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")'
    return False


def _configure(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
        render_item=render_item,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

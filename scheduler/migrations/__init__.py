"""Alembic migrations of Löfte's database; run them with ``lofte db upgrade``.

``env.py`` compares against ``SQLModel.metadata`` (``scheduler.db.models``). To write a
new revision after changing the models, from the checkout::

    .venv/bin/python -m scheduler.migrations revision -m "what changed"

which autogenerates against a scratch SQLite database migrated to head; review the
file (autogenerate misses renames and data changes) and run the test that compares
the migrated schema with the models on SQLite and PostgreSQL.
"""

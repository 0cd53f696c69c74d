"""Alembic revisions, oldest first: ``<nnnn>_<slug>.py``."""

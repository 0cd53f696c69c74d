"""Persistence: SQLModel tables, the UTC datetime type, engines, sessions and migrations.

SQLite by default (a file under ``LOFTE_DATA_DIR``), PostgreSQL when
``LOFTE_DATABASE_URL`` is a ``postgresql`` URL. See ``models`` for the tables and
their keys, ``types`` for ``UTCDateTime``, ``engine`` for ``make_engine``/``upgrade``.
"""

from __future__ import annotations

from scheduler.db.engine import (
    MIGRATIONS_DIR,
    MigrationError,
    Session,
    alembic_config,
    current_revision,
    database_url,
    default_engine,
    head_revision,
    make_engine,
    session_scope,
    upgrade,
)
from scheduler.db.models import (
    DEADLINE_SLOT,
    DEFAULT_TZ,
    Activity,
    ActivityPartner,
    AuditEvent,
    Completion,
    Entity,
    FeedScope,
    FeedToken,
    MailOptOut,
    Notification,
    NotificationState,
    Occurrence,
    OccurrenceStatus,
    Promise,
    Unit,
    User,
    UserKommun,
    utcnow,
)
from scheduler.db.types import JSONType, UTCDateTime, as_utc

__all__ = [
    "DEADLINE_SLOT",
    "DEFAULT_TZ",
    "MIGRATIONS_DIR",
    "Activity",
    "ActivityPartner",
    "AuditEvent",
    "Completion",
    "Entity",
    "FeedScope",
    "FeedToken",
    "JSONType",
    "MailOptOut",
    "MigrationError",
    "Notification",
    "NotificationState",
    "Occurrence",
    "OccurrenceStatus",
    "Promise",
    "Session",
    "UTCDateTime",
    "Unit",
    "User",
    "UserKommun",
    "alembic_config",
    "as_utc",
    "current_revision",
    "database_url",
    "default_engine",
    "head_revision",
    "make_engine",
    "session_scope",
    "upgrade",
    "utcnow",
]

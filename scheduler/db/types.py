"""Column types that behave the same on SQLite and PostgreSQL.

``UTCDateTime`` is the only datetime type Löfte stores (style.md §3): it refuses naive
values and always returns aware UTC values. PostgreSQL keeps the instant in a
``timestamp with time zone`` (and returns it in the session's zone, which we convert);
SQLite has no datetime type and SQLAlchemy drops ``tzinfo`` when it writes the text
(sqlmodel#539), so on SQLite the value is stored as naive UTC text and read back with
``tzinfo=UTC``. Converting to UTC *before* writing is what makes the SQLite text sort
and compare correctly.

>>> import datetime as dt
>>> from zoneinfo import ZoneInfo
>>> from sqlalchemy.dialects import postgresql, sqlite
>>> t = UTCDateTime()
>>> local = dt.datetime(2025, 10, 26, 2, 30, tzinfo=ZoneInfo("Europe/Stockholm"))  # fold=0: CEST
>>> t.process_bind_param(local, sqlite.dialect()).isoformat()
'2025-10-26T00:30:00'
>>> t.process_result_value(dt.datetime(2025, 10, 26, 0, 30), sqlite.dialect()).isoformat()
'2025-10-26T00:30:00+00:00'
>>> t.process_bind_param(dt.datetime(2025, 1, 1), postgresql.dialect())
Traceback (most recent call last):
...
rules.errors.NaiveDatetimeError: datetime value must be timezone-aware

``JSONType`` is ``sa.JSON`` everywhere and ``JSONB`` on PostgreSQL (comparable,
indexable; key order is not kept, which no caller relies on). ``make_engine`` writes
JSON with ``ensure_ascii=False``, so Swedish text is stored as UTF-8 text, readable
with ``sqlite3``/``psql`` and matched by ``json_extract``/``->>`` as written.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from rules.errors import NaiveDatetimeError

__all__ = ["JSONType", "UTCDateTime", "as_utc"]


def as_utc(value: dt.datetime, name: str = "datetime value") -> dt.datetime:
    """``value`` converted to UTC; ``NaiveDatetimeError`` (naming ``name``) if it has no zone."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(name)
    return value.astimezone(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """``DateTime(timezone=True)`` that stores UTC and returns aware UTC datetimes.

    Binding a naive datetime raises ``NaiveDatetimeError``. Through the ORM the error
    surfaces at flush, wrapped by SQLAlchemy in ``sqlalchemy.exc.StatementError`` whose
    ``orig`` is the ``NaiveDatetimeError``; the models also check on assignment (see
    ``scheduler.db.models``), which raises it directly with the attribute's name.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[dt.datetime]:
        return dt.datetime

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        utc = as_utc(value)
        if dialect.name == "sqlite":
            # SQLite's DATETIME writes the wall time and drops tzinfo: give it UTC wall time.
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        stored: dt.datetime = value
        if stored.tzinfo is None:  # SQLite: stored as naive UTC by process_bind_param
            return stored.replace(tzinfo=dt.UTC)
        return stored.astimezone(dt.UTC)


#: JSON on every backend, JSONB on PostgreSQL.
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

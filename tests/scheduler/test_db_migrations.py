"""Migrations on an empty database, on SQLite and PostgreSQL.

The migrated schema must be exactly ``SQLModel.metadata`` (Alembic's
``compare_metadata`` finds nothing), migrating twice does nothing, and a migration is
one transaction: a failing revision leaves the database as it was. On SQLite a
revision that copies a parent table (batch mode) must not cascade into its children.
"""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import scheduler.db.engine as db_engine
from scheduler.db import MIGRATIONS_DIR, alembic_config, current_revision, head_revision, make_engine, upgrade

TABLES = {t.name for t in SQLModel.metadata.sorted_tables}


def schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def table_names(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


@pytest.fixture
def fresh(fresh_db_url: sa.URL) -> Engine:
    engine = make_engine(fresh_db_url)
    yield engine  # type: ignore[misc]
    engine.dispose()


def test_migrations_ship_inside_the_package() -> None:
    assert Path(db_engine.__file__).resolve().parent.parent / "migrations" == MIGRATIONS_DIR
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert alembic_config().get_main_option("script_location") == str(MIGRATIONS_DIR)
    newest = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))[-1]
    assert head_revision() == newest[:4]


def test_upgrade_an_empty_database_to_exactly_the_models(fresh: Engine) -> None:
    assert current_revision(fresh) is None
    assert table_names(fresh) == set()
    assert upgrade(fresh) == head_revision()
    assert table_names(fresh) == TABLES | {"alembic_version"}
    assert schema_diff(fresh) == []
    assert upgrade(fresh) == head_revision()  # again: nothing to do


def test_the_comparison_is_not_vacuous(fresh: Engine) -> None:
    upgrade(fresh)
    with fresh.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_occurrence_day")
    assert [d[0] for d in schema_diff(fresh)] == ["add_index"]  # type: ignore[index]


def test_downgrade_to_base_and_up_again(fresh: Engine) -> None:
    upgrade(fresh)
    with fresh.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert table_names(fresh) == {"alembic_version"}
    assert current_revision(fresh) is None
    upgrade(fresh)
    assert schema_diff(fresh) == []


def test_upgrade_takes_a_url(fresh_db_url: sa.URL) -> None:
    assert upgrade(fresh_db_url.render_as_string(hide_password=False)) == head_revision()
    assert current_revision(fresh_db_url) == head_revision()


# -- transactions ---------------------------------------------------------------------------------
REVISION_TEST = '''
    """Test revision: copies the promise table{extra}."""
    import sqlalchemy as sa
    from alembic import op

    revision = "9001"
    down_revision = "{head}"
    branch_labels = None
    depends_on = None


    def upgrade():
        op.create_table("scratch", sa.Column("id", sa.Integer, primary_key=True))
        # "always": copy the table on SQLite, as most column changes there do; ALTER elsewhere.
        recreate = "always" if op.get_bind().dialect.name == "sqlite" else "auto"
        with op.batch_alter_table("promise", recreate=recreate) as batch:
            batch.add_column(sa.Column("motto", sa.Text, nullable=True))
        {fail}


    def downgrade():
        pass
'''


@pytest.fixture
def scripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped migrations that ``upgrade`` uses instead; add revisions to it."""
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(db_engine, "MIGRATIONS_DIR", copy)
    return copy


def _seed_rows(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO promise (id, slug, kommun, lan, title, valid_from, valid_until, tz, public,"
                " created_at, updated_at) VALUES (1, 'p', 'Åstorp', 'Skåne', 't', :d, :d, 'Europe/Stockholm',"
                " false, :t, :t)"
            ),
            {"d": dt.date(2025, 1, 1), "t": dt.datetime(2025, 1, 1)},  # noqa: DTZ001 - raw SQL, UTC by convention
        )
        connection.execute(
            sa.text(
                "INSERT INTO unit (promise_id, key, name, created_at, updated_at)"
                " VALUES (1, 'polisen', 'Polisen', :t, :t)"
            ),
            {"t": dt.datetime(2025, 1, 1)},  # noqa: DTZ001
        )


def test_a_failing_revision_changes_nothing(fresh: Engine, scripts: Path) -> None:
    head = upgrade(fresh)
    _seed_rows(fresh)
    revision = textwrap.dedent(REVISION_TEST).format(extra=", then fails", fail='raise RuntimeError("boom")', head=head)
    (scripts / "versions" / "9001_fails.py").write_text(revision, encoding="utf-8")
    with pytest.raises(RuntimeError, match="boom"):
        upgrade(fresh)
    assert current_revision(fresh) == head
    assert "scratch" not in table_names(fresh)
    assert "motto" not in {c["name"] for c in sa.inspect(fresh).get_columns("promise")}
    if fresh.dialect.name == "sqlite":
        with fresh.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_copying_a_parent_table_keeps_its_children(fresh: Engine, scripts: Path) -> None:
    # On SQLite, batch mode drops the old promise table; with foreign keys on, that DROP
    # would delete every unit (ON DELETE CASCADE). upgrade() turns them off meanwhile.
    head = upgrade(fresh)
    _seed_rows(fresh)
    revision = textwrap.dedent(REVISION_TEST).format(extra="", fail="", head=head)
    (scripts / "versions" / "9001_copies.py").write_text(revision, encoding="utf-8")
    assert upgrade(fresh) == "9001"
    with fresh.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM unit").scalar() == 1
        assert connection.exec_driver_sql("SELECT kommun FROM promise").scalar() == "Åstorp"
        if fresh.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


# -- SQLite connection setup --------------------------------------------------------------------------
def test_sqlite_connections_have_foreign_keys_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'lofte.sqlite3'}")
    try:
        upgrade(engine)
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA busy_timeout").scalar() == db_engine.SQLITE_BUSY_TIMEOUT_MS
    finally:
        engine.dispose()
    assert (tmp_path / "nested" / "dir" / "lofte.sqlite3").is_file()

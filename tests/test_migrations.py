"""Migrations build exactly the models' schema, and can go down to nothing and up again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from hki import create_app
from hki.extensions import db
from tests.conftest import PG_URL, _test_config


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own: a file on SQLite, a fresh database on PostgreSQL."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite'}"
        return
    name = "hki_test_migrations"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def schema_differences() -> list[Any]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, db.metadata))


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_migrations_match_models_and_round_trip(scratch_url: str) -> None:
    app = create_app(_test_config(scratch_url))
    with app.app_context():
        flask_migrate.upgrade()
        assert schema_differences() == []
        assert table_names() >= {"plans", "fields", "goals", "measures", "status_updates"}

        flask_migrate.downgrade(revision="base")
        assert table_names() == {"alembic_version"}

        flask_migrate.upgrade()
        assert schema_differences() == []
        db.engine.dispose()

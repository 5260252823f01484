"""Migrations build exactly the models' schema, and can go down to nothing and up again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from hki import create_app
from hki.auth.audit import effective_from
from hki.auth.models import AuditEntry
from hki.dashboard.search import include_name
from hki.extensions import db
from hki.plan.history import HistoryGapError, plan_as_of
from hki.vocab import Role
from tests.conftest import PG_URL, _test_config
from tests.factories import Factories


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
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name})
        return list(compare_metadata(context, db.metadata))


APPEND_ONLY = ("audit_log", "status_updates", "indicator_values", "update_reviews")


def append_only_guards() -> set[str]:
    """Tables whose UPDATE and DELETE triggers are in place."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT tbl_name, sql FROM sqlite_master WHERE type='trigger'"
            )
            found = [(t, s) for t, s in rows]
            return {
                t
                for t in APPEND_ONLY
                if any(x == t and "UPDATE" in s for x, s in found)
                and any(x == t and "DELETE" in s for x, s in found)
            }
        rows = conn.exec_driver_sql(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'"
        )
        return {r[0] for r in rows} & set(APPEND_ONLY)


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_migrations_match_models_and_round_trip(scratch_url: str) -> None:
    app = create_app(_test_config(scratch_url))
    with app.app_context():
        flask_migrate.upgrade()
        assert schema_differences() == []
        assert table_names() >= {"plans", "fields", "goals", "measures", "status_updates"}
        assert append_only_guards() == set(APPEND_ONLY)

        flask_migrate.downgrade(revision="base")
        assert table_names() == {"alembic_version"}

        flask_migrate.upgrade()
        assert schema_differences() == []
        assert append_only_guards() == set(APPEND_ONLY)
        # One step down and up again (the step that rebuilds tables on SQLite).
        flask_migrate.downgrade(revision="721a0f252ba8")  # before update reviews
        assert append_only_guards() == {"audit_log", "status_updates", "indicator_values"}
        flask_migrate.upgrade()
        assert append_only_guards() == set(APPEND_ONLY)
        db.engine.dispose()


def test_history_repair_names_the_lead_of_plans_imported_before_it(scratch_url: str) -> None:
    """Migration 5e1c0a7b9d21 backdates organisations that imported measures refer to."""
    app = create_app(_test_config(scratch_url))
    with app.app_context():
        flask_migrate.upgrade(revision="1ef9aeaafa05")
        # Today's models read columns that later migrations add: lend them for the setup
        # and take them away again, so that the upgrade runs on the schema as it was.
        later = [(table, column) for table in ("fields", "goals")
                 for column in ("origin_id", "merged_into_id")]
        with db.engine.begin() as connection:
            for table, column in later:
                connection.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER"))
        # What an import before the repair left: the measure counts from the plan's start,
        # its lead office only from the day of the import.
        factories = Factories(db.session)
        lead = factories.organisation("Migrationsberatung für Erwachsene (MBE)")
        factories.commit()
        with effective_from(datetime(2020, 5, 1, tzinfo=UTC)):
            plan = factories.plan(valid_from=date(2020, 5, 1))
            factories.measure(factories.goal(factories.field(plan)), lead=lead)
            factories.commit()
        stichtag = datetime(2023, 12, 31, 12, tzinfo=UTC)
        with pytest.raises(HistoryGapError):
            plan_as_of(plan.id, stichtag)
        db.session.remove()
        with db.engine.begin() as connection:
            for table, column in later:
                connection.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))

        flask_migrate.upgrade()
        past = plan_as_of(plan.id, stichtag)
        assert past is not None
        assert past.measures()[0].lead == "Migrationsberatung für Erwachsene (MBE)"
        db.session.remove()
        db.engine.dispose()


def test_session_tokens_leave_the_audit_log_and_it_stays_append_only(
    scratch_url: str,
) -> None:
    """Migration f1b3c5d7e964 redacts tokens written before; new entries never carry one."""
    app = create_app(_test_config(scratch_url))
    with app.app_context():
        flask_migrate.upgrade(revision="e4f6a8c0d253")
        entry = ("INSERT INTO audit_log (at, actor, action, entity, entity_id, after) "
                 "VALUES (CURRENT_TIMESTAMP, 'admin', 'create', 'users', 7, :after)")
        with db.engine.begin() as connection:
            connection.execute(sa.text(entry), {"after": json.dumps(
                {"email": "a@stadt.example", "session_token": "b" * 32})})
        flask_migrate.upgrade()
        with db.engine.begin() as connection:
            after = connection.execute(sa.text(
                "SELECT after FROM audit_log WHERE entity_id = 7")).scalar_one()
        stored = after if isinstance(after, dict) else json.loads(after)
        assert stored == {"email": "a@stadt.example", "session_token": "(geändert)"}
        with pytest.raises(sa.exc.DBAPIError), db.engine.begin() as connection:
            connection.execute(sa.text("UPDATE audit_log SET actor = 'x'"))
        user = Factories(db.session).user(role=Role.READER, session_token="c" * 32)
        db.session.commit()
        logged = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.entity == "users", AuditEntry.entity_id == user.id)).one()
        assert logged.after is not None and logged.after["session_token"] == "(geändert)"
        db.session.remove()
        db.engine.dispose()

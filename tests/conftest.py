"""Fixtures shared by the suite; the backend is chosen by ``HKI_TEST_DATABASE_URL``.

- SQLite (default): the migrated schema is built once per session into a template file
  that each test copies, so every test has a database of its own.
- PostgreSQL: the test database is migrated once per session; each test runs inside an
  outer transaction that is rolled back afterwards (commits in the code become savepoints).
"""

from __future__ import annotations

import contextvars
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_sqlalchemy.session import Session as FsaSession
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import scoped_session, sessionmaker
from werkzeug.test import TestResponse

from hki import create_app
from hki.auth.models import User
from hki.extensions import db
from hki.plan.models import Organisation
from hki.vocab import Role
from tests.factories import Factories

PG_URL = os.environ.get("HKI_TEST_DATABASE_URL")
BACKEND = "postgresql" if PG_URL else "sqlite"


class IsolatedClient(FlaskClient):
    """A test client whose requests never share the test body's app context.

    Flask reuses an already pushed app context for a request; tests push one to build
    data, so without this, requests would share ``g`` and the database session with the
    test (and with each other), which production never does.
    """

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        return contextvars.Context().run(super().open, *args, **kwargs)


def _test_config(url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        # Nothing listens on port 1: a test that sends mail must start its own server.
        "HKI_SMTP_PORT": 1,
        # One backup key for all test apps (a restore checks the source's signature).
        "HKI_BACKUP_KEY_FILE": str(Path(tempfile.gettempdir()) / "hki-test-backup.key"),
    }


def reset_postgres_schema(url: str) -> None:
    """Drop everything in the database's public schema (tests own this database)."""
    app = create_app(_test_config(url))
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.engine.dispose()


def migrate_to_head(url: str) -> None:
    """Build the schema with the project's migrations, never with ``create_all``."""
    app = create_app(_test_config(url))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def _isolated_instance(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep tests away from the real ``instance/`` folder and its secret key."""
    os.environ["HKI_INSTANCE_PATH"] = str(tmp_path_factory.mktemp("instance"))
    os.environ.pop("HKI_DATABASE_URL", None)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL (PostgreSQL) or template file path (SQLite) of a database at migration head."""
    if PG_URL:
        reset_postgres_schema(PG_URL)
        migrate_to_head(PG_URL)
        # Every test's rows are rolled back, so autovacuum would analyze the tables as empty
        # and the planner would then pick plans fit for empty tables (seconds per query).
        # Never-analyzed tables are planned by their real size instead.
        _run_sql(PG_URL, "DO $$ DECLARE t record; BEGIN FOR t IN SELECT tablename FROM "
                         "pg_tables WHERE schemaname = 'public' LOOP EXECUTE format("
                         "'ALTER TABLE %I SET (autovacuum_enabled = false)', t.tablename); "
                         "END LOOP; END $$")
        return PG_URL
    template = tmp_path_factory.mktemp("template") / "hki.sqlite"
    migrate_to_head(f"sqlite:///{template}")
    return str(template)


class _ConnectionSession(FsaSession):
    """A Flask-SQLAlchemy session that always uses the test's outer connection."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Connection:
        assert isinstance(self.bind, Connection)
        return self.bind


@pytest.fixture
def app(migrated_database: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on a database of its own (SQLite copy) or in a rolled-back transaction."""
    if not PG_URL:
        db_file = tmp_path / "hki.sqlite"
        shutil.copyfile(migrated_database, db_file)
        app = create_app(_test_config(f"sqlite:///{db_file}"))
        app.test_client_class = IsolatedClient
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return

    app = create_app(_test_config(PG_URL))
    app.test_client_class = IsolatedClient
    with app.app_context():
        engine = db.engine
        original = db.session
    connection = engine.connect()
    outer = connection.begin()
    db.session = scoped_session(
        sessionmaker(
            class_=_ConnectionSession,
            db=db,
            bind=connection,
            join_transaction_mode="create_savepoint",
        ),
        scopefunc=original.registry.scopefunc,
    )
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()
        engine.dispose()


@pytest.fixture
def fresh_apps(migrated_database: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Make apps on empty databases of their own, committed for real (round trips).

    Not for use with ``app``: on PostgreSQL that fixture rebinds the shared session. Here
    each app gets a schema of its own in the test database (via ``search_path``).
    """
    made: list[tuple[Flask, str | None]] = []

    def make_app(backend: str = BACKEND) -> Flask:
        """An app on an empty database of ``backend`` ("sqlite" works on every run)."""
        n = len(made) + 1
        if backend == "sqlite":
            db_file = tmp_path / f"fresh-{n}.sqlite"
            url = f"sqlite:///{db_file}"
            if PG_URL:  # the session's template is PostgreSQL: migrate a file of its own
                migrate_to_head(url)
            else:
                shutil.copyfile(migrated_database, db_file)
            app = create_app(_test_config(url))
            made.append((app, None))
            return app
        assert PG_URL, "PostgreSQL apps need HKI_TEST_DATABASE_URL"
        schema = f"hki_fresh_{n}"
        _run_sql(PG_URL, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
        migrate_to_head(url)
        app = create_app(_test_config(url))
        made.append((app, schema))
        return app

    yield make_app
    for app, schema in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if schema and PG_URL:
            _run_sql(PG_URL, f"DROP SCHEMA {schema} CASCADE")


def analyze(session: Any) -> None:
    """On PostgreSQL, statistics that include the rows this test inserted.

    The test's transaction is rolled back afterwards; without this, the planner takes the
    tables for empty (as the migrations left them) and picks plans that need seconds.
    """
    if BACKEND == "postgresql":
        session.execute(text("ANALYZE"))


def _run_sql(url: str, sql: str) -> None:
    app = create_app(_test_config(url))
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text(sql))
        db.engine.dispose()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    """Run the test body inside an application context (for direct calls to services)."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def make(app_ctx: Flask) -> Factories:
    """Factories that create plan objects with sensible defaults (flushed, not committed)."""
    return Factories(db.session)


class Auth:
    """Log the test client in as a new user of a role, without the cost of Argon2."""

    def __init__(self, client: FlaskClient, make: Factories) -> None:
        self.client = client
        self.make = make

    def login_as(self, role: Role, organisation: Organisation | None = None) -> User:
        user = self.make.user(role=role, organisation=organisation)
        self.make.commit()
        with self.client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
            session["last_seen"] = session["login_at"] = datetime.now(UTC).timestamp()
        return user

    def logout(self) -> None:
        with self.client.session_transaction() as session:
            session.clear()


@pytest.fixture
def auth(client: FlaskClient, make: Factories) -> Auth:
    return Auth(client, make)


class QueryCounter:
    """Counts SQL statements sent to the database while active."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask) -> Iterator[QueryCounter]:
    """Record every statement the app's engine executes during the test."""
    counter = QueryCounter()
    with app.app_context():
        engine = db.engine

    def record(*args: Any) -> None:
        statement: str = args[2]
        # Savepoints come from the PostgreSQL test harness (commits become savepoints).
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            counter.statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield counter
    event.remove(engine, "before_cursor_execute", record)

"""Declarative base, constraint naming and column types shared by all models."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache
from typing import Any, ClassVar

from sqlalchemy import Date, DateTime, Enum, MetaData, event, inspect
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Mapper,
    Session,
    declared_attr,
    mapped_column,
    scoped_session,
)
from sqlalchemy.types import TypeDecorator

from hki.i18n import FIRST_YEAR, LAST_YEAR

#: Stable constraint names, so that Alembic produces the same migrations on both backends
#: and constraints can be dropped by name later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: A plain session or Flask-SQLAlchemy's scoped ``db.session``: services accept either.
AnySession = Session | scoped_session[Any]


class Audited:
    """Mixin: every change to instances of this model is written to the audit log."""

    #: Attributes whose values are never written to the log (only that they changed).
    __audit_redact__: ClassVar[frozenset[str]] = frozenset()


class Versioned(Audited):
    """Mixin: audited, and each audit entry carries a full snapshot of the object.

    The snapshots are the history by record time: the latest one up to a moment is the
    object as it stood then (see :mod:`hki.plan.history`).
    """


class OptimisticLock:
    """Mixin: a version counter that makes a save over someone else's change fail.

    SQLAlchemy adds ``WHERE version = <loaded version>`` to every UPDATE and raises
    ``StaleDataError`` when another transaction got there first. The counter is moved on
    here (see :func:`_count_versions`) rather than by SQLAlchemy, so that a change of a
    many-to-many list alone (partners) counts as a new version too.
    """

    #: Counts the saved versions of the row, starting at 1.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 (declarative directive)
        return {
            "version_id_col": cls.__table__.c.version,  # type: ignore[attr-defined]
            "version_id_generator": False,
        }


@event.listens_for(Session, "before_flush")
def _count_versions(session: Session, flush_context: Any, instances: Any) -> None:
    """Give every changed optimistically locked object the next version number."""
    for obj in session.dirty:
        if isinstance(obj, OptimisticLock) and session.is_modified(obj):
            obj.version = (obj.version or 0) + 1


class Base(DeclarativeBase):
    """Base class of every model; carries the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ImplausibleDateError(ValueError):
    """A date outside the years hki stores was about to be written; nothing was."""


@cache
def _date_attributes(mapper: Mapper[Any]) -> tuple[str, ...]:
    return tuple(a.key for a in mapper.column_attrs
                 if any(isinstance(c.type, Date) for c in a.columns))


@event.listens_for(Session, "before_flush")
def _plausible_dates(session: Session, flush_context: Any, instances: Any) -> None:
    """Refuse any stored date outside ``FIRST_YEAR``–``LAST_YEAR``, whatever wrote it.

    Forms and imports already refuse such dates in German; this is the one rule behind
    them for every date column (CLI, services, a form someone forgets), because a stored
    0001-01-01 or 9999-12-31 breaks every page that computes with it, for every role.
    Statements that bypass the ORM (bulk ``insert()``/``update()``, raw SQL, a restore) are
    not seen; hki writes dates through the ORM only.
    """
    for instance in (*session.new, *session.dirty):
        state = inspect(instance)
        for key in _date_attributes(state.mapper):
            # New rows: every date; changed rows: only the dates being changed, so that a
            # row still holding an old implausible date can be repaired through the pages.
            values = [state.dict.get(key)] if state.pending else state.attrs[key].history.added
            for value in values:
                if isinstance(value, date) and not FIRST_YEAR <= value.year <= LAST_YEAR:
                    raise ImplausibleDateError(
                        f"{type(instance).__name__}.{key} = {value.isoformat()} liegt nicht "
                        f"zwischen {FIRST_YEAR} und {LAST_YEAR}.")


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime (used as column default)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored as
    naive UTC and marked as UTC again when read. Naive datetimes are refused on the way in,
    because a naive value cannot be placed on the record-time clock without guessing.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """Convert to UTC; SQLite gets a naive UTC value."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime braucht einen Zeitstempel mit Zeitzone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime whatever the backend gave back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def code_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """A closed vocabulary stored as its English code with a CHECK constraint.

    Not a native PostgreSQL ENUM: adding a value later is then a plain constraint change
    that works the same way on SQLite.
    """
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


@event.listens_for(Engine, "connect")
def _sqlite_enforce_foreign_keys(dbapi_connection: Any, connection_record: Any) -> None:
    """Make SQLite enforce foreign keys, as PostgreSQL always does (it is off by default)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

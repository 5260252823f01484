"""The record of an import (which file, by whom, what it created) and its queued job."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from hki.db import Audited, UTCDateTime, code_enum, utcnow
from hki.extensions import Model
from hki.reports.models import ReportState

if TYPE_CHECKING:
    from hki.auth.models import User
    from hki.plan.models import Plan


class DataImport(Audited, Model):
    """One import of a workbook: which file (its SHA-256), by whom, with what result.

    With the audit entries of the same transaction it says what came from which file.
    """

    __tablename__ = "data_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: What the import did, counted by kind: {"Maßnahme neu": 80, "Sachstand neu": 240, …}.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)

    plan: Mapped[Plan] = relationship()
    imported_by: Mapped[User | None] = relationship()


class ImportJob(Model):
    """A confirmed import waiting for, or done by, the worker: the file and who sent it.

    Writing a plan of thousands of measures takes longer than a web request should (and,
    sharing one interpreter, would slow every page the same process serves), so the
    confirmation only queues this row; the worker checks the file again and writes it in
    one transaction, and the page shows how far it is. Its token is the upload's: a
    confirmation sent twice finds the row and queues nothing twice.
    """

    __tablename__ = "import_jobs"
    __table_args__ = (Index(None, "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    #: The plan chosen for a CSV file (a workbook names its own).
    plan_title: Mapped[str | None] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    #: The file until the worker has written it (then emptied; the import keeps its SHA-256).
    data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    state: Mapped[ReportState] = mapped_column(code_enum(ReportState, "import_state"),
                                               default=ReportState.QUEUED)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    data_import_id: Mapped[int | None] = mapped_column(ForeignKey("data_imports.id"))
    #: Why it failed, in German: the file's problems as the check found them then.
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)

    requested_by: Mapped[User] = relationship()
    data_import: Mapped[DataImport | None] = relationship()

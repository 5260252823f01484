"""An issued Sachstandsbericht: requested, rendered in the background, then never changed."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from hki.db import Audited, OptimisticLock, UTCDateTime, code_enum, utcnow
from hki.extensions import Model
from hki.vocab import ReportKind

if TYPE_CHECKING:
    from hki.auth.models import User
    from hki.plan.models import Plan


class ReportState(StrEnum):
    """Where a requested report stands; the row is its own job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Report(Model):
    """One issued report: Stichtag S, Kenntnisstand K (the moment it was requested), base.

    The worker (``flask --app hki hki worker``) renders queued rows and stores the PDF and
    its SHA-256 in one commit, so a report is either complete or not there. Once done, a
    database trigger refuses any change or deletion of the row.
    """

    __tablename__ = "reports"
    __table_args__ = (Index(None, "state", "id"), Index(None, "plan_id", "stichtag"))

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    stichtag: Mapped[date]
    #: Kenntnisstand K: what had been recorded and accepted by this moment counts.
    known_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The comparison base ("Änderungen seit …"), if any.
    compare_with: Mapped[date | None]
    #: Sachstandsbericht, or the Abschlussbericht of a plan at its end (Stichtag: its end).
    kind: Mapped[ReportKind] = mapped_column(code_enum(ReportKind, "report_kind"),
                                             default=ReportKind.PROGRESS,
                                             server_default=ReportKind.PROGRESS.value)
    state: Mapped[ReportState] = mapped_column(code_enum(ReportState, "report_state"),
                                               default=ReportState.QUEUED)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: German message when rendering failed.
    error: Mapped[str] = mapped_column(Text, default="")
    pages: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    #: The coordination's own words (Vorbemerkung, Einschätzung, Ausblick, per field), as
    #: written for this Stichtag when the report was requested; see hki.reports.narrative.
    narrative: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The PDF as delivered; loaded only when downloaded.
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))

    plan: Mapped[Plan] = relationship()
    requested_by: Mapped[User] = relationship()

    @property
    def file_name(self) -> str:
        """Download name, e.g. Sachstandsbericht_2024-12-31_Nr12.pdf."""
        name = "Abschlussbericht" if self.kind is ReportKind.FINAL else "Sachstandsbericht"
        return f"{name}_{self.stichtag.isoformat()}_Nr{self.id}.pdf"


class ReportText(OptimisticLock, Audited, Model):
    """The coordination's texts for the report of one plan and Stichtag, while drafting.

    Kept apart from the issued reports: the texts can be written and changed (every change
    in the audit log) until a report is issued, which takes a copy of them that never
    changes.
    """

    __tablename__ = "report_texts"
    __table_args__ = (UniqueConstraint("plan_id", "stichtag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    stichtag: Mapped[date]
    #: Vorbemerkung: what the report is about, before the figures.
    intro: Mapped[str] = mapped_column(Text, default="")
    #: Einschätzung: the KMuT's assessment, after the figures.
    assessment: Mapped[str] = mapped_column(Text, default="")
    #: Ausblick: what comes next.
    outlook: Mapped[str] = mapped_column(Text, default="")
    #: A short comment per field of action: field id (as text) → text.
    field_notes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    updated_by: Mapped[User] = relationship()

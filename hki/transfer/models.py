"""The record of an import: which file, by whom, what it created."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hki.db import Audited, UTCDateTime, utcnow
from hki.extensions import Model

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

"""The user: a person who writes status updates and, later, logs in."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hki.db import UTCDateTime, code_enum, utcnow
from hki.extensions import Model
from hki.vocab import Role

if TYPE_CHECKING:
    from hki.plan.models import Organisation


class User(Model):
    """A member of staff or of the council; belongs to at most one organisation."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("email <> ''", name="email_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Login name and contact address, stored in lower case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: Name shown as author of updates, e.g. "VHS – Fachbereich Deutsch als Zweitsprache".
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(code_enum(Role, "role"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    #: Deactivated users keep their history but cannot act.
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation | None] = relationship()

    def __repr__(self) -> str:
        return f"<User {self.email}>"

"""Users and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hki.db import Audited, UTCDateTime, code_enum, utcnow
from hki.extensions import Model
from hki.vocab import Role

if TYPE_CHECKING:
    from hki.plan.models import Organisation


class User(Audited, Model):
    """A member of staff or of the council; belongs to at most one organisation.

    Users without a password (e.g. authors of imported history) cannot log in.
    """

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("email <> ''", name="email_not_empty"),)
    #: Written to the audit log as "changed", never as a value (a session token with the
    #: signing key opens a session without the password).
    __audit_redact__: ClassVar[frozenset[str]] = frozenset({"password_hash", "session_token"})

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Login name and contact address, stored in lower case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: Name shown as author of updates, e.g. "VHS – Fachbereich Deutsch als Zweitsprache".
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(code_enum(Role, "role"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    #: Deactivated users keep their history but cannot log in or act.
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Argon2 hash; empty means the account cannot log in.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    #: Part of every session of this user; a new token (logout, new password, new role,
    #: deactivation) ends all of them.
    session_token: Mapped[str] = mapped_column(String(64), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation | None] = relationship()

    @property
    def is_authenticated(self) -> bool:
        """Flask-Login: a loaded user is logged in."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Flask-Login: a loaded user is not anonymous."""
        return False

    def get_id(self) -> str:
        """Flask-Login: what the session stores, so that a new token ends old sessions."""
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class AuditEntry(Model):
    """One recorded change: who changed which entity when, with values before and after.

    Append-only: triggers in the database refuse UPDATE and DELETE (see the migration).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index(None, "entity", "entity_id"),
        Index(None, "user_id"),
        Index("ix_audit_log_history", "entity", "entity_id", "effective_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: The person who acted; empty for the command line and other system actions.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Name of the actor as it was at the time (survives renames), e.g. "Kommandozeile".
    actor: Mapped[str] = mapped_column(String(200))
    #: "create", "update" or "delete".
    action: Mapped[str] = mapped_column(String(20))
    #: Table name of the changed entity, e.g. "measures".
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: For versioned entities: the whole object after the change (columns, and lists of
    #: related ids), so that its state at any moment can be rebuilt.
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: From when the snapshot counts; equal to ``at`` except for imported history.
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User | None] = relationship()

"""The audit log is written by the session itself, so no change can forget it.

After every flush, each new, changed or deleted object of an audited model gets exactly one
:class:`AuditEntry` in the same transaction, with the values before and after (only the
changed ones for an update). Who acted comes from the logged-in user, or, outside a
request, from :func:`acting_as` (command line, imports).
"""

from __future__ import annotations

import contextvars
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Mapper, Session, UOWTransaction
from sqlalchemy.orm.attributes import History
from sqlalchemy.orm.state import InstanceState

from hki.auth.models import AuditEntry, User
from hki.db import Audited, Versioned, utcnow

#: Shown instead of a redacted value (password hashes).
REDACTED = "(geändert)"
#: Bookkeeping columns that are not a change anyone made (the optimistic-lock counter).
NOT_A_CHANGE = frozenset({"version", "session_token"})
#: Actor label when nobody is logged in and nothing else was said.
SYSTEM_ACTOR = "System"

_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("hki_audit_actor", default=None)
_effective: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "hki_history_effective_at", default=None
)


@contextmanager
def acting_as(label: str) -> Iterator[None]:
    """Attribute changes outside a request (CLI, imports) to ``label``."""
    token = _actor.set(label)
    try:
        yield
    finally:
        _actor.reset(token)


@contextmanager
def effective_from(moment: datetime) -> Iterator[None]:
    """Let snapshots written now count from ``moment`` (importing a plan that already was).

    The audit entry still records the true time of writing in ``at``.
    """
    token = _effective.set(moment)
    try:
        yield
    finally:
        _effective.reset(token)


def current_actor() -> tuple[int | None, str]:
    """The user id and name to record for a change made now."""
    label = _actor.get()
    if label is None and has_request_context() and current_user.is_authenticated:
        user: User = current_user._get_current_object()
        return user.id, user.display_name
    return None, label or SYSTEM_ACTOR


def _plain(value: Any) -> Any:
    """Make a column value JSON-friendly."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _label(obj: Any) -> Any:
    """How a related object appears in a list of related objects (its name, else its id)."""
    return getattr(obj, "name", None) or getattr(obj, "id", None)


def _is_audited(obj: object) -> bool:
    return isinstance(obj, Audited)


def _values(state: InstanceState[Any], which: str) -> dict[str, Any]:
    """All column values ("after" of a create, "before" of a delete)."""
    mapper = state.mapper
    redact: frozenset[str] = getattr(mapper.class_, "__audit_redact__", frozenset())
    out: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        history: History = state.attrs[attr.key].history
        if which == "after":
            value = (history.added or history.unchanged or [None])[0]
        else:
            value = (history.deleted or history.unchanged or [None])[0]
        out[attr.key] = REDACTED if attr.key in redact and value else _plain(value)
    return out


def _changes(state: InstanceState[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Before and after of the changed columns and many-to-many lists of an update."""
    mapper = state.mapper
    redact: frozenset[str] = getattr(mapper.class_, "__audit_redact__", frozenset())
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        history = state.attrs[attr.key].history
        if attr.key in NOT_A_CHANGE or not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        if attr.key in redact:
            before[attr.key], after[attr.key] = REDACTED, REDACTED
        else:
            before[attr.key], after[attr.key] = _plain(old), _plain(new)
    for rel in mapper.relationships:
        if rel.secondary is None:
            continue
        history = state.attrs[rel.key].history
        if not history.has_changes():
            continue
        old_items = list(history.unchanged) + list(history.deleted)
        new_items = list(history.unchanged) + list(history.added)
        before[rel.key] = sorted(map(str, map(_label, old_items)))
        after[rel.key] = sorted(map(str, map(_label, new_items)))
    return before, after


def _snapshot(obj: Any, state: InstanceState[Any]) -> dict[str, Any]:
    """The whole object as it is now: every column, and related ids of many-to-many lists."""
    data = {attr.key: _plain(getattr(obj, attr.key)) for attr in state.mapper.column_attrs}
    for rel in state.mapper.relationships:
        if rel.secondary is not None:
            data[rel.key] = sorted(item.id for item in getattr(obj, rel.key))
    return data


def _keep_old_value(target: object, value: Any, oldvalue: Any, initiator: Any) -> Any:
    return value


@event.listens_for(Audited, "mapper_configured", propagate=True)
def _load_old_values(mapper: Mapper[Any], class_: type) -> None:
    """Load a column's old value before it is overwritten, even if it was expired.

    Without this, setting an attribute after a commit (which expires everything) would
    leave the audit log without the value before the change.
    """
    for attr in mapper.column_attrs:
        event.listen(getattr(class_, attr.key), "set", _keep_old_value, active_history=True,
                     retval=True)


@event.listens_for(Session, "after_flush")
def _write_audit_entries(session: Session, flush_context: UOWTransaction) -> None:
    """Record every flushed change of an audited model in the same transaction."""
    rows: list[dict[str, Any]] = []
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if not _is_audited(obj):
                continue
            state: InstanceState[Any] = inspect(obj)
            if action == "create":
                before, after = None, _values(state, "after")
            elif action == "delete":
                before, after = _values(state, "before"), None
            else:
                before, after = _changes(state)
                if not before and not after:
                    continue
            snapshot = None
            if isinstance(obj, Versioned) and action != "delete":
                with session.no_autoflush:
                    snapshot = _snapshot(obj, state)
            rows.append(
                {"action": action, "entity": state.mapper.class_.__tablename__,
                 "entity_id": state.mapper.primary_key_from_instance(obj)[0],
                 "before": before, "after": after, "snapshot": snapshot}
            )
    if not rows:
        return
    user_id, actor = current_actor()
    now = utcnow()
    effective = _effective.get() or now
    for row in rows:
        row.update(user_id=user_id, actor=actor, at=now,
                   effective_at=effective if row["snapshot"] is not None else None)
    session.connection().execute(insert(AuditEntry), rows)

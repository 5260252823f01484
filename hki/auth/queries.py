"""Reads for the administration pages and the audit log."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from hki.auth.models import AuditEntry, User
from hki.extensions import db
from hki.plan.models import Organisation

#: Audited tables and their German names, for the filter of the audit log.
AUDIT_ENTITIES: dict[str, LazyString] = {
    "plans": _l("Handlungskonzepte"),
    "fields": _l("Handlungsfelder"),
    "goals": _l("Ziele"),
    "measures": _l("Maßnahmen"),
    "indicators": _l("Indikatoren"),
    "indicator_values": _l("Indikatorwerte"),
    "status_updates": _l("Sachstände"),
    "update_rounds": _l("Sachstandsabfragen"),
    "organisations": _l("Organisationen"),
    "target_groups": _l("Zielgruppen"),
    "users": _l("Benutzerkonten"),
    "report_texts": _l("Berichtstexte"),
}
AUDIT_ACTIONS: dict[str, LazyString] = {
    "create": _l("angelegt"),
    "update": _l("geändert"),
    "delete": _l("gelöscht"),
    "backdate": _l("im Verlauf vorgezogen"),
    "gesperrt": _l("Anmeldung von einer Adresse gesperrt"),
    "fehlversuche": _l("ungewöhnlich viele Fehlversuche"),
}
#: German names of the recorded attributes; unknown keys are shown as they are.
AUDIT_FIELDS: dict[str, LazyString] = {
    "id": _l("Nr."), "title": _l("Titel"), "name": _l("Name"), "number": _l("Nummer"),
    "description": _l("Beschreibung"), "email": _l("E-Mail"), "adresse": _l("Adresse"),
    "display_name": _l("Name"),
    "role": _l("Rolle"), "organisation_id": _l("Organisation (Nr.)"),
    "is_active": _l("aktiv"), "password_hash": _l("Passwort"), "created_at": _l("angelegt am"),
    "status": _l("Umsetzungsstand"), "progress": _l("Fortschritt (%)"), "note": _l("Erläuterung"),
    "as_of": _l("Stand vom"), "recorded_at": _l("erfasst am"), "author_id": _l("Verfasser (Nr.)"),
    "measure_id": _l("Maßnahme (Nr.)"), "corrects_id": _l("korrigiert Sachstand (Nr.)"),
    "goal_id": _l("Ziel (Nr.)"), "field_id": _l("Handlungsfeld (Nr.)"), "plan_id": _l("Plan (Nr.)"),
    "lead_organisation_id": _l("Federführung (Nr.)"), "partners": _l("Kooperationspartner"),
    "target_groups": _l("Zielgruppen"), "start_date": _l("Beginn"), "end_date": _l("Ende"),
    "priority": _l("Priorität"), "position": _l("Reihenfolge"), "state": _l("Stand des Plans"),
    "update_id": _l("Sachstand (Nr.)"), "decision": _l("Entscheidung"), "comment": _l("Kommentar"),
    "reviewer_id": _l("entschieden von (Nr.)"), "decided_at": _l("entschieden am"),
    "period_start": _l("Zeitraum ab"), "stichtag": _l("Stichtag"), "due_date": _l("Frist"),
    "opened_by_id": _l("eröffnet von (Nr.)"), "opened_at": _l("eröffnet am"),
    "closed_at": _l("abgeschlossen am"), "round_id": _l("Abfrage (Nr.)"),
    "effective_at": _l("gilt im Verlauf ab"),
    "intro": _l("Vorbemerkung"), "assessment": _l("Einschätzung"), "outlook": _l("Ausblick"),
    "field_notes": _l("Anmerkungen zu Handlungsfeldern"),
}
AUDIT_PAGE_SIZE = 50


def all_users() -> list[User]:
    """Every account with its organisation, by name."""
    stmt = select(User).options(joinedload(User.organisation)).order_by(User.display_name)
    return list(db.session.scalars(stmt))


def all_organisations() -> list[Organisation]:
    """Every organisation, active first, then by name."""
    stmt = select(Organisation).order_by(Organisation.is_active.desc(), Organisation.name)
    return list(db.session.scalars(stmt))


def audit_page(*, entity: str | None, user_id: int | None, page: int) -> Pagination:
    """One page of the audit log, newest first, optionally filtered."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if user_id:
        stmt = stmt.where(AuditEntry.user_id == user_id)
    return db.paginate(stmt, page=max(page, 1), per_page=AUDIT_PAGE_SIZE, error_out=False)


def audit_people() -> list[User]:
    """The people who appear in the audit log, for its filter."""
    ids = select(AuditEntry.user_id).where(AuditEntry.user_id.is_not(None)).distinct()
    stmt = select(User).where(User.id.in_(ids)).order_by(User.display_name)
    return list(db.session.scalars(stmt))

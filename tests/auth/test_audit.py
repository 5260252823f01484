"""Every change leaves exactly one audit entry, with the right values before and after."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hki.auth.models import AuditEntry, User
from hki.extensions import db
from hki.plan.models import Organisation
from hki.vocab import Role
from tests.conftest import Auth
from tests.factories import Factories


def entries(app: Flask, **filters: Any) -> list[AuditEntry]:
    with app.app_context():
        stmt = select(AuditEntry).filter_by(**filters).order_by(AuditEntry.id)
        return list(db.session.scalars(stmt))


def test_user_change_via_admin_page(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    admin = auth.login_as(Role.ADMIN)
    target = make.user(role=Role.READER, display_name="Rita Rat")
    make.commit()
    seen = len(entries(app))
    response = client.post(
        f"/verwaltung/benutzer/{target.id}",
        data={
            "display_name": "Rita Rat",
            "role": "coordinator",
            "organisation_id": "0",
            "is_active": "y",
            "password": "",
        },
    )
    assert response.status_code == 302
    new = entries(app)[seen:]
    assert len(new) == 1
    entry = new[0]
    assert (entry.action, entry.entity, entry.entity_id) == ("update", "users", target.id)
    assert entry.before == {"role": "reader"} and entry.after == {"role": "coordinator"}
    assert entry.user_id == admin.id and entry.actor == admin.display_name


def test_password_change_is_logged_without_the_hash(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    auth.login_as(Role.ADMIN)
    target = make.user(role=Role.READER, display_name="Rita Rat")
    make.commit()
    client.post(
        f"/verwaltung/benutzer/{target.id}",
        data={
            "display_name": "Rita Rat",
            "role": "reader",
            "organisation_id": "0",
            "is_active": "y",
            "password": "ein-neues-passwort",
        },
    )
    (entry,) = entries(app, entity="users", entity_id=target.id, action="update")
    assert entry.before == {"password_hash": "(geändert)"}
    assert entry.after == {"password_hash": "(geändert)"}
    assert "argon2" not in str(entries(app))


def test_status_update_and_organisation_create(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    coordinator = auth.login_as(Role.COORDINATOR)
    m = make.measure(end_date=None)
    make.commit()
    seen = len(entries(app))
    client.post(
        f"/massnahmen/{m.id}/sachstand",
        data={
            "as_of": date.today().isoformat(),
            "status": "ongoing",
            "progress": "",
            "note": "Regel",
        },
    )
    (entry,) = entries(app)[seen:]
    assert (entry.action, entry.entity) == ("create", "status_updates")
    assert entry.before is None
    assert entry.after is not None
    assert entry.after["status"] == "ongoing" and entry.after["progress"] is None
    assert entry.after["measure_id"] == m.id and entry.after["author_id"] == coordinator.id

    auth.login_as(Role.ADMIN)
    seen = len(entries(app))
    client.post("/verwaltung/organisationen", data={"name": "Caritas"})
    (org_entry,) = entries(app)[seen:]
    assert org_entry.entity == "organisations" and org_entry.after is not None
    assert org_entry.after["name"] == "Caritas" and org_entry.after["is_active"] is True


def test_partner_list_change_is_one_entry(app_ctx: Flask, make: Factories) -> None:
    m = make.measure()
    vhs = make.organisation("VHS")
    make.commit()
    before = len(entries(app_ctx))
    m.partners.append(vhs)
    m.title = "Neuer Titel"
    db.session.commit()
    (entry,) = entries(app_ctx)[before:]
    assert entry.before == {"title": "Maßnahme 1.1.1", "partners": []}
    assert entry.after == {"title": "Neuer Titel", "partners": ["VHS"]}


def test_no_entry_when_nothing_changed(app_ctx: Flask, make: Factories) -> None:
    org = make.organisation("Jugendamt")
    make.commit()
    before = len(entries(app_ctx))
    org.name = "Jugendamt"
    db.session.commit()
    assert len(entries(app_ctx)) == before


def test_audit_log_is_append_only_in_the_database(app_ctx: Flask, make: Factories) -> None:
    make.organisation("Jobcenter")
    make.commit()
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="unveränderlich"), db.session.begin_nested():
            db.session.execute(text(statement))
    assert all(e.actor != "x" for e in entries(app_ctx))


def test_audit_page_filters_by_entity_and_person(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    admin = auth.login_as(Role.ADMIN)
    client.post("/verwaltung/organisationen", data={"name": "Stadtbibliothek"})
    coordinator_user = make.user(role=Role.READER, display_name="Rolf Leser")
    make.commit()
    page = client.get("/protokoll?bereich=organisations").get_data(as_text=True)
    assert "Stadtbibliothek" in page and "Rolf Leser" not in page
    page = client.get(f"/protokoll?person={admin.id}").get_data(as_text=True)
    assert "Stadtbibliothek" in page and "Rolf Leser" not in page
    page = client.get("/protokoll?bereich=users").get_data(as_text=True)
    assert "Rolf Leser" in page
    assert coordinator_user.id
    with app.app_context():
        assert db.session.scalar(select(Organisation).where(Organisation.name == "Stadtbibliothek"))
        assert db.session.get(User, admin.id)

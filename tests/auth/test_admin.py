"""Admins create, deactivate and re-role users and organisations; the CLI creates the first."""

from __future__ import annotations

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from hki.auth.models import User
from hki.extensions import db
from hki.plan.models import Organisation
from hki.security import check_password
from hki.vocab import Role
from tests.conftest import Auth
from tests.factories import Factories


def user_by_email(app: Flask, email: str) -> User | None:
    with app.app_context():
        return db.session.scalars(select(User).where(User.email == email)).one_or_none()


def test_admin_creates_user_who_can_log_in(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    org = make.organisation("VHS")
    make.commit()
    auth.login_as(Role.ADMIN)
    response = client.post(
        "/verwaltung/benutzer/neu",
        data={
            "email": "Neu@Stadt.example",
            "display_name": "Nele Neu",
            "role": "office",
            "organisation_id": str(org.id),
            "password": "lang-genug-123",
        },
    )
    assert response.status_code == 302
    assert "Das Konto für Nele Neu wurde angelegt." in client.get("/verwaltung/benutzer").get_data(
        as_text=True
    )
    created = user_by_email(app, "neu@stadt.example")
    assert created is not None and created.role is Role.OFFICE
    assert created.organisation_id == org.id and check_password(created, "lang-genug-123")


def test_bad_user_input_gets_german_messages_and_changes_nothing(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    make.user(email="schon@da.example")
    make.commit()
    auth.login_as(Role.ADMIN)
    page = client.post(
        "/verwaltung/benutzer/neu",
        data={
            "email": "schon@da.example",
            "display_name": "",
            "role": "office",
            "organisation_id": "0",
            "password": "kurz",
        },
    ).get_data(as_text=True)
    for message in (
        "Für diese E-Mail-Adresse gibt es bereits ein Konto.",
        "Bitte geben Sie einen Namen ein.",
        "Eine Fachstelle braucht eine Organisation",
        "Das Passwort muss mindestens 10 Zeichen lang sein.",
    ):
        assert message in page
    tampered = client.post(
        "/verwaltung/benutzer/neu",
        data={
            "email": "x@y.example",
            "display_name": "X",
            "role": "superuser",
            "organisation_id": "999999",
            "password": "lang-genug-123",
        },
    )
    assert tampered.status_code == 200
    assert "Not a valid choice" not in tampered.get_data(as_text=True)
    assert user_by_email(app, "x@y.example") is None


def test_admin_deactivates_and_reroles(
    app: Flask, client: FlaskClient, auth: Auth, make: Factories
) -> None:
    target = make.user(role=Role.READER, display_name="Rita Rat")
    make.commit()
    auth.login_as(Role.ADMIN)
    client.post(
        f"/verwaltung/benutzer/{target.id}",
        data={
            "display_name": "Rita Rat",
            "role": "coordinator",
            "organisation_id": "0",
            "password": "",
        },
    )
    changed = user_by_email(app, target.email)
    assert changed is not None and changed.role is Role.COORDINATOR and not changed.is_active


def test_admin_cannot_lock_themself_out(app: Flask, client: FlaskClient, auth: Auth) -> None:
    admin = auth.login_as(Role.ADMIN)
    response = client.post(
        f"/verwaltung/benutzer/{admin.id}",
        data={
            "display_name": admin.display_name,
            "role": "reader",
            "organisation_id": "0",
            "is_active": "y",
        },
    )
    assert "nicht selbst deaktivieren" in response.get_data(as_text=True)
    assert (user_by_email(app, admin.email) or admin).role is Role.ADMIN


def test_organisations_created_renamed_deactivated(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login_as(Role.ADMIN)
    client.post("/verwaltung/organisationen", data={"name": "Caritas"})
    duplicate = client.post("/verwaltung/organisationen", data={"name": "caritas "})
    assert "Eine Organisation mit diesem Namen gibt es bereits." in duplicate.get_data(as_text=True)
    with app.app_context():
        org = db.session.scalars(select(Organisation)).one()
    client.post(f"/verwaltung/organisationen/{org.id}", data={"name": "Caritasverband"})
    with app.app_context():
        org = db.session.scalars(select(Organisation)).one()
        assert (org.name, org.is_active) == ("Caritasverband", False)
    assert ">Caritasverband</option>" not in client.get("/verwaltung/benutzer/neu").get_data(
        as_text=True
    )


def create_user(
    runner: FlaskCliRunner, email: str, role: str, password: str, *extra: str
) -> Result:
    """Run ``flask hki create-user`` with the password on standard input."""
    return runner.invoke(
        args=["hki", "create-user", "--email", email, "--role", role, "--password-stdin", *extra],
        input=password + "\n",
    )


def test_create_user_command(app: Flask, runner: FlaskCliRunner, make: Factories) -> None:
    make.organisation("Jobcenter")
    make.commit()
    result = create_user(runner, "Chefin@Stadt.example", "admin", "ein-sicheres-passwort")
    assert result.exit_code == 0, result.output
    assert "Konto angelegt: chefin@stadt.example (Administration)." in result.output
    created = user_by_email(app, "chefin@stadt.example")
    assert created is not None and check_password(created, "ein-sicheres-passwort")

    prompted = runner.invoke(
        args=[
            "hki",
            "create-user",
            "--email",
            "fs@stadt.example",
            "--role",
            "office",
            "--organisation",
            "Jobcenter",
        ],
        input="passwort-1234\npasswort-1234\n",
    )
    assert prompted.exit_code == 0, prompted.output
    again = create_user(runner, "fs@stadt.example", "reader", "x" * 12)
    assert again.exit_code == 1 and "bereits ein Konto" in again.output
    no_org = create_user(runner, "o@stadt.example", "office", "x" * 12)
    assert no_org.exit_code == 1 and "braucht --organisation" in no_org.output
    short = create_user(runner, "k@stadt.example", "reader", "kurz")
    assert short.exit_code == 1 and "mindestens 10 Zeichen" in short.output
    assert user_by_email(app, "k@stadt.example") is None

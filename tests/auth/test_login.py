"""Login: one message for every failure, rate limits, idle timeout, safe redirects, cookies."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hki.auth import services
from hki.auth.models import AuditEntry
from hki.extensions import db
from hki.security import hash_password
from hki.vocab import Role
from tests.conftest import Auth
from tests.factories import Factories

PASSWORD = "richtig-geheim-42"


@pytest.fixture
def account(make: Factories) -> str:
    services.create_user(
        db.session,
        email="Koordination@Stadt.example",
        display_name="Kim Koordination",
        role=Role.COORDINATOR,
        organisation=None,
        password=PASSWORD,
    )
    make.commit()
    return "koordination@stadt.example"


def login(client: FlaskClient, email: str, password: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/anmelden",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": headers.get("addr", "10.0.0.1")},
    )


def visible(html: str) -> str:
    html = re.sub(r'name="csrf_token"[^>]*>', "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_login_with_correct_password_reaches_pages(client: FlaskClient, account: str) -> None:
    response = login(client, " KOORDINATION@stadt.example ", PASSWORD)
    assert response.status_code == 302 and response.location == "/"
    assert "Kim Koordination" in client.get("/").get_data(as_text=True)


def test_wrong_password_and_unknown_account_look_identical(
    client: FlaskClient, account: str, make: Factories
) -> None:
    inactive = make.user(email="alt@stadt.example", is_active=False)
    inactive.password_hash = hash_password(PASSWORD)
    make.commit()
    answers = [
        login(client, account, "falsches-passwort"),
        login(client, "niemand@stadt.example", "falsches-passwort"),
        login(client, "alt@stadt.example", PASSWORD),
    ]
    assert {a.status_code for a in answers} == {200}
    pages = {
        visible(a.get_data(as_text=True))
        .replace("alt@stadt.example", "X")
        .replace("niemand@stadt.example", "X")
        .replace(account, "X")
        for a in answers
    }
    assert len(pages) == 1
    assert "E-Mail-Adresse oder Passwort ist falsch." in pages.pop()


def test_a_stranger_cannot_lock_the_owner_out(client: FlaskClient, account: str) -> None:
    """5 failures for one account from one address block that address for it – not the
    owner's correct password from her own address; the administration is told, once."""
    for _ in range(5):
        assert login(client, account, "falsch", addr="203.0.113.7").status_code == 200
    for password in ("falsch", PASSWORD):
        refused = login(client, account, password, addr="203.0.113.7")
        assert refused.status_code == 429
        assert "Zu viele Versuche" in refused.get_data(as_text=True)
    assert login(client, account, PASSWORD, addr="10.0.1.99").status_code == 302
    client.post("/abmelden")
    alarms = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "gesperrt")).all()
    assert [(a.after or {}).get("adresse") for a in alarms] == ["203.0.113.7"]
    # The same happens for an account that does not exist: nothing is revealed.
    for _ in range(5):
        login(client, "gibtsnicht@stadt.example", "falsch", addr="10.0.2.1")
    assert login(client, "gibtsnicht@stadt.example", "x", addr="10.0.2.1").status_code == 429
    # Refused attempts with ever new names write one entry per address, not one each.
    for n in range(6):
        for _ in range(6):
            login(client, f"name{n}@stadt.example", "falsch", addr="10.0.3.1")
    flood = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "gesperrt")).all()
    assert [(a.after or {}).get("adresse") for a in flood] == [
        "203.0.113.7", "10.0.2.1", "10.0.3.1"]


def test_failures_from_many_addresses_are_reported_not_locked(
    app: Flask, client: FlaskClient, account: str,
) -> None:
    app.config["HKI_LOGIN_LIMIT_ACCOUNT_TOTAL"] = "6 per day"
    for n in range(9):
        assert login(client, account, "falsch", addr=f"198.51.100.{n}").status_code == 200
    assert login(client, account, PASSWORD, addr="10.0.1.99").status_code == 302
    reported = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "fehlversuche")).all()
    assert len(reported) == 1 and (reported[0].after or {}).get("email") == account


def test_failed_logins_per_address_are_limited(
    app: Flask, client: FlaskClient, account: str
) -> None:
    app.config["HKI_LOGIN_LIMIT_ADDRESS"] = "3 per 15 minutes"
    for n in range(3):
        assert login(client, f"person{n}@stadt.example", "falsch").status_code == 200
    assert login(client, account, PASSWORD).status_code == 429
    assert login(client, account, PASSWORD, addr="10.9.9.9").status_code == 302


def test_successful_logins_are_not_counted(
    app: Flask, client: FlaskClient, account: str,
) -> None:
    app.config["HKI_LOGIN_LIMIT_ADDRESS"] = "3 per 15 minutes"  # one city NAT, many logins
    for _ in range(7):
        assert login(client, account, PASSWORD).status_code == 302
        client.post("/abmelden")


def test_next_only_to_own_pages(client: FlaskClient, account: str) -> None:
    response = client.post(
        "/anmelden?next=/plaene/1", data={"email": account, "password": PASSWORD}
    )
    assert response.location == "/plaene/1"
    client.post("/abmelden")
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post(
            f"/anmelden?next={evil}", data={"email": account, "password": PASSWORD}
        )
        assert response.location == "/", evil
        client.post("/abmelden")


def test_session_cookie_flags(client: FlaskClient, account: str) -> None:
    response = login(client, account, PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("hki_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_idle_session_ends(app: Flask, client: FlaskClient, auth: Auth) -> None:
    auth.login_as(Role.READER)
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["last_seen"] = (datetime.now(UTC) - timedelta(minutes=31)).timestamp()
    response = client.get("/")
    assert response.status_code == 302 and response.location.startswith("/anmelden")
    page = client.get(response.location).get_data(as_text=True)
    assert "nach längerer Inaktivität abgemeldet" in page
    assert client.get("/").status_code == 302


def test_logout_ends_session(client: FlaskClient, auth: Auth) -> None:
    auth.login_as(Role.READER)
    assert client.post("/abmelden").status_code == 302
    assert client.get("/").status_code == 302


def test_deactivated_user_is_logged_out(client: FlaskClient, auth: Auth, make: Factories) -> None:
    user = auth.login_as(Role.COORDINATOR)
    assert client.get("/").status_code == 200
    user.is_active = False
    make.commit()
    assert client.get("/").status_code == 302


def test_security_headers_on_every_response(client: FlaskClient, auth: Auth) -> None:
    for response in (
        client.get("/anmelden"),
        client.get("/health"),
        client.get("/static/css/hki.css"),
    ):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "default-src 'self'" in csp
        assert "unsafe-inline" not in csp and "http" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        response.close()


def test_next_with_control_characters_or_backslashes_stays_on_site(
    client: FlaskClient, account: str
) -> None:
    for evil in (
        "/%09/evil.example/",
        "/%0a/x",
        "/%0d/evil.example",
        "/%5Cevil.example",
        "/%5C%5Cevil.example",
        "/%20/evil.example",
    ):
        response = client.post(
            f"/anmelden?next={evil}", data={"email": account, "password": PASSWORD}
        )
        assert response.status_code == 302 and response.location == "/", evil
        client.post("/abmelden")


def test_hostile_input_is_refused_not_a_500(client: FlaskClient, auth: Auth) -> None:
    assert (
        client.post("/anmelden", data={"email": "a\x00@b.de", "password": "x"}).status_code == 400
    )
    auth.login_as(Role.ADMIN)
    for url in (
        "/massnahmen/99999999999999999999",
        "/plaene/99999999999",
        "/verwaltung/benutzer/99999999999",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        "/protokoll?person=99999999999999999",
        "/protokoll?seite=99999999999999",
        "/protokoll?bereich=x%00y",
        "/protokoll?seite=-3&person=abc",
    ):
        assert client.get(url).status_code in (200, 400), url


def test_logout_and_password_change_end_old_sessions(
    app: Flask, client: FlaskClient, account: str, make: Factories
) -> None:
    login(client, account, PASSWORD)
    stolen = client.get_cookie("hki_session")
    assert stolen is not None
    client.post("/abmelden")
    thief = app.test_client()
    thief.set_cookie("hki_session", stolen.value)
    assert thief.get("/").status_code == 302

    login(client, account, PASSWORD)
    assert client.get("/").status_code == 200
    with app.app_context():
        user = services.find_user(db.session, account)
        assert user is not None
        services.update_user(
            db.session,
            user,
            display_name=user.display_name,
            role=user.role,
            organisation=None,
            is_active=True,
            password="ein-ganz-neues-pw",
        )
        db.session.commit()
    assert client.get("/").status_code == 302


def test_session_has_a_maximum_age(client: FlaskClient, auth: Auth) -> None:
    auth.login_as(Role.READER)
    with client.session_transaction() as session:
        session["login_at"] = (datetime.now(UTC) - timedelta(hours=13)).timestamp()
    assert client.get("/").status_code == 302

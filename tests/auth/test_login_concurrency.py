"""Logins at the same moment against a served app with threads: no 500 from the limiter,
and simultaneous first logins of an account all stay logged in (#19)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from flask import Flask

from hki.extensions import db
from hki.security import hash_password
from hki.vocab import Role
from tests.factories import Factories
from tests.served import at_once, request, served

PASSWORD = "Sprachcafe-2024!"


def test_simultaneous_first_logins_all_stay_logged_in(fresh_apps: Callable[..., Flask]) -> None:
    app = fresh_apps()
    app.config["HKI_LOGIN_LIMIT_ACCOUNT"] = "1000 per 15 minutes"
    with app.app_context():
        Factories(db.session).user(role=Role.OFFICE, email="neu@stadt.example",
                                   password_hash=hash_password(PASSWORD), session_token="")
        db.session.commit()
    body = urlencode({"email": "neu@stadt.example", "password": PASSWORD}).encode()
    with served(app) as port:
        answers = at_once(24, port, "/anmelden", body)
        assert sorted(a.status for a in answers) == [302] * 24, answers
        for answer in answers:  # every session is valid: the page, not the login
            assert request(port, "/meine-massnahmen", cookie=answer.cookie).status == 200

"""Logins at the same moment against a served app with threads: no 500 from the limiter,
and simultaneous first logins of an account all stay logged in (#19)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlencode

from flask import Flask
from werkzeug.serving import make_server

from hki.extensions import db
from hki.security import hash_password
from hki.vocab import Role
from tests.factories import Factories

PASSWORD = "Sprachcafe-2024!"


def test_simultaneous_first_logins_all_stay_logged_in(fresh_apps: Callable[..., Flask]) -> None:
    app = fresh_apps()
    app.config["HKI_LOGIN_LIMIT_ACCOUNT"] = "1000 per 15 minutes"
    with app.app_context():
        Factories(db.session).user(role=Role.OFFICE, email="neu@stadt.example",
                                   password_hash=hash_password(PASSWORD), session_token="")
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    start = threading.Barrier(24)
    cookies: list[str] = []
    statuses: list[int] = []
    body = urlencode({"email": "neu@stadt.example", "password": PASSWORD}).encode()

    def log_in() -> None:
        start.wait()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/anmelden", data=body)
        try:
            answer = opener.open(request, timeout=60)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
            return
        statuses.append(answer.status)
        cookies.append(answer.headers["Set-Cookie"].split(";")[0])

    try:
        people = [threading.Thread(target=log_in) for _ in range(24)]
        for person in people:
            person.start()
        for person in people:
            person.join(120)
        assert sorted(statuses) == [302] * 24, statuses
        for cookie in cookies:  # every session is valid: the start page, not the login
            request = urllib.request.Request(f"http://127.0.0.1:{port}/meine-massnahmen",
                                             headers={"Cookie": cookie})
            page = opener.open(request, timeout=30)
            assert page.status == 200
    finally:
        server.shutdown()
        server.server_close()

"""X-Forwarded-* headers count only from the configured proxies (#19).

With one proxy configured, a client that reaches the app's port past it used to write a
new X-Forwarded-For on every attempt and so escape the per-address login limits.
"""

from __future__ import annotations

import pytest
from flask import Flask, request
from flask.testing import FlaskClient

from hki import create_app
from hki.proxies import TrustedProxies, networks, trusted
from tests.auth.test_login import PASSWORD, account, login
from tests.conftest import _test_config

__all__ = ["account"]  # the fixture, used by name


def test_rotating_forwarded_for_from_outside_the_proxy_is_ignored(
    app: Flask, client: FlaskClient, account: str,
) -> None:
    app.wsgi_app = TrustedProxies(app.wsgi_app, 1, networks("10.0.0.5"))  # type: ignore[method-assign]
    app.config["HKI_LOGIN_LIMIT_ACCOUNT"] = "3 per 15 minutes"
    for n in range(3):
        answer = client.post("/anmelden", data={"email": account, "password": "falsch"},
                             headers={"X-Forwarded-For": f"198.51.100.{n}"},
                             environ_base={"REMOTE_ADDR": "192.0.2.66"})
        assert answer.status_code == 200
    refused = client.post("/anmelden", data={"email": account, "password": PASSWORD},
                          headers={"X-Forwarded-For": "198.51.100.200"},
                          environ_base={"REMOTE_ADDR": "192.0.2.66"})
    assert refused.status_code == 429
    # Through the proxy, each client is itself: the owner behind it logs in.
    assert client.post("/anmelden", data={"email": account, "password": PASSWORD},
                       headers={"X-Forwarded-For": "198.51.100.200"},
                       environ_base={"REMOTE_ADDR": "10.0.0.5"}).status_code == 302
    assert login(client, account, PASSWORD, addr="10.0.1.1").status_code == 302


def test_headers_are_applied_from_proxies_and_removed_otherwise() -> None:
    echo = Flask(__name__)

    @echo.get("/")
    def where() -> str:
        forwarded = request.headers.get("X-Forwarded-For", "-")
        return f"{request.remote_addr} {request.scheme} {forwarded}"

    echo.wsgi_app = TrustedProxies(echo.wsgi_app, 1,  # type: ignore[method-assign]
                                   networks("127.0.0.1, 10.0.8.0/24,::1"))
    client = echo.test_client()
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    for proxy in ("127.0.0.1", "10.0.8.77", "::1", "::ffff:10.0.8.1"):
        seen = client.get("/", headers=headers, environ_base={"REMOTE_ADDR": proxy})
        assert seen.get_data(as_text=True).startswith("203.0.113.9 https"), proxy
    for outsider in ("10.0.9.1", "192.0.2.1", "nonsense"):
        seen = client.get("/", headers=headers, environ_base={"REMOTE_ADDR": outsider})
        assert seen.get_data(as_text=True) == f"{outsider} http -", outsider


def test_configuration() -> None:
    assert trusted("10.0.8.3", networks("10.0.8.0/24")) and not trusted("10.0.9.3", [])
    with pytest.raises(RuntimeError, match=r"„proxy\.intern“ ist keine IP-Adresse"):
        networks("127.0.0.1, proxy.intern")
    for odd in ("10.0.8.5/24", "127.0.0.1; ::1"):  # gunicorn would refuse these too
        with pytest.raises(RuntimeError):
            networks(odd)
    assert trusted("", networks("127.0.0.1"))  # a Unix socket: this machine
    assert not trusted("", networks("10.0.8.5"))
    made = create_app({**_test_config("sqlite://"), "HKI_PROXY_COUNT": 1,
                       "HKI_PROXY_ADDRESSES": "10.0.0.5"})
    assert isinstance(made.wsgi_app, TrustedProxies)
    assert [str(n) for n in made.wsgi_app.proxies] == ["10.0.0.5/32"]

"""The production entry point refuses unsafe configurations and serves under gunicorn."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hki import production
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "0123456789abcdef" * 4


def _config(**overrides: object) -> dict[str, object]:
    config: dict[str, object] = {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://h@db/hki",
                                 "SESSION_COOKIE_SECURE": True, "DEBUG": False}
    config.update(overrides)
    return config


def test_problems_name_each_unsafe_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HKI_SECRET_KEY", GOOD_KEY)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    assert production.problems(_config()) == []
    monkeypatch.setenv("HKI_SECRET_KEY", "test-secret")
    found = production.problems(_config(
        DEBUG=True, SQLALCHEMY_DATABASE_URI="sqlite:///x", SESSION_COOKIE_SECURE=False))
    assert [p.split(" ")[0] for p in found] == [
        "HKI_SECRET_KEY", "Der", "HKI_DATABASE_URL", "HKI_SECURE_COOKIES=0:"]
    monkeypatch.delenv("HKI_SECRET_KEY")
    assert "ist nicht gesetzt" in production.problems(_config())[0]
    assert "memory://" in production.warnings({"RATELIMIT_STORAGE_URI": "memory://"}, 4)[0]


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HKI_", "FLASK_"))}
    env.update(extra)
    return env


def test_wsgi_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import hki.wsgi"], cwd=ROOT, capture_output=True, text=True,
        env=_environment(HKI_INSTANCE_PATH=str(tmp_path),
                         HKI_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none"),
        timeout=60, check=False)
    assert done.returncode == 78
    assert "hki: Start abgelehnt: HKI_SECRET_KEY ist nicht gesetzt" in done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith("{"))
    assert json.loads(line)["level"] == "ERROR"


@pytest.mark.skipif(not PG_URL, reason="gunicorn serves PostgreSQL only")
def test_gunicorn_serves_health_and_logs_json(tmp_path: Path, migrated_database: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "scripts/gunicorn.conf.py",
         "hki.wsgi:app"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_environment(HKI_INSTANCE_PATH=str(tmp_path), HKI_DATABASE_URL=str(PG_URL),
                         HKI_SECRET_KEY=GOOD_KEY, HKI_BIND=f"127.0.0.1:{port}",
                         HKI_WORKERS="2"))
    try:
        body = b""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health",
                                            timeout=2) as response:
                    body = response.read()
                break
            except OSError:
                time.sleep(0.2)
        assert json.loads(body) == {"database": "ok", "status": "ok"}
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    access = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(a["path"] == "/health" and a["status"] == "200" for a in access)
    assert any(json.loads(line)["logger"] == "gunicorn.error" for line in err.splitlines()
               if line.startswith("{"))


def test_a_database_outage_gets_the_german_error_page(tmp_path: Path) -> None:
    """Nothing listens on port 1: every query fails, as while PostgreSQL restarts."""
    from hki import create_app

    app = create_app({"TESTING": False, "SECRET_KEY": "x", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://h:h@127.0.0.1:1/none"})
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:token"
        session["last_seen"] = session["login_at"] = time.time()
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert '<html lang="de">' in page and "Ein Fehler ist aufgetreten" in page
    assert "Traceback" not in page and "Internal Server Error" not in page
    health = client.get("/health")
    assert health.status_code == 503 and health.get_json()["database"] == "unreachable"

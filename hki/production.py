"""What must be true before hki serves real users, checked once at start-up.

``hki.wsgi`` (the entry point of ``scripts/serve``) refuses to start when a check fails, so
a misconfigured server stops with a German sentence instead of running unsafely.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from pythonjsonlogger.json import JsonFormatter

#: Keys that appear in examples and tests; a server using one is as good as unprotected.
KNOWN_KEYS = frozenset({"test-secret", "dev", "changeme", "secret", "hki", "bench", "x"})
MIN_KEY_LENGTH = 32


def problems(config: dict[str, Any] | Any) -> list[str]:
    """Everything that makes this configuration unfit for production, in German."""
    found = []
    key = os.environ.get("HKI_SECRET_KEY", "")
    if not key:
        found.append("HKI_SECRET_KEY ist nicht gesetzt. Alle Instanzen brauchen denselben "
                     "geheimen Schlüssel, z. B. erzeugt mit: python3 -c 'import secrets; "
                     "print(secrets.token_hex(32))'")
    elif key in KNOWN_KEYS or len(key) < MIN_KEY_LENGTH:
        found.append(f"HKI_SECRET_KEY ist zu kurz oder ein bekannter Beispielwert (mindestens "
                     f"{MIN_KEY_LENGTH} zufällige Zeichen).")
    if config.get("DEBUG") or os.environ.get("FLASK_DEBUG", "").strip() in {"1", "true"}:
        found.append("Der Debug-Modus ist eingeschaltet (FLASK_DEBUG); im Betrieb verrät er "
                     "Interna und erlaubt Code-Ausführung. Bitte ausschalten.")
    if config.get("TESTING"):
        found.append("TESTING ist gesetzt; das ist eine Testkonfiguration.")
    url = str(config.get("SQLALCHEMY_DATABASE_URI", ""))
    if not url.startswith("postgresql"):
        found.append("HKI_DATABASE_URL muss auf PostgreSQL zeigen (postgresql+psycopg://…); "
                     "SQLite ist nur für Erprobung und Demo gedacht.")
    if not config.get("SESSION_COOKIE_SECURE"):
        found.append("HKI_SECURE_COOKIES=0: Sitzungs-Cookies gingen unverschlüsselt über das "
                     "Netz. Im Betrieb läuft hki hinter HTTPS.")
    return found


def warnings(config: dict[str, Any] | Any, workers: int) -> list[str]:
    """What works, but not as well as it could (logged at start-up)."""
    found = []
    if workers > 1 and str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory"):
        found.append("Die Anmeldeversuche werden je Prozess gezählt (memory://). Für genaue "
                     "Grenzen über alle Prozesse und Instanzen HKI_RATELIMIT_STORAGE_URI auf "
                     "einen gemeinsamen Speicher setzen (z. B. redis://…).")
    if str(config.get("HKI_BASE_URL", "")).startswith("http://127.0.0.1"):
        found.append("HKI_BASE_URL ist nicht gesetzt; Links in Erinnerungsmails zeigen auf "
                     "127.0.0.1.")
    return found


def json_logging(level: int = logging.INFO) -> None:
    """One JSON object per line on stderr (journald, log shippers), for app and server."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(
        "{asctime}{levelname}{name}{message}", style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)

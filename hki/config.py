"""Configuration from environment variables with safe defaults.

Every setting an operator may change is read here and nowhere else, so the README's table
of variables is complete by construction.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path
from typing import Any


def _secret_key(instance_path: Path) -> str:
    """Use ``HKI_SECRET_KEY``, else a random key kept in the instance folder.

    A generated key survives restarts (sessions stay valid) and is never a known default.
    """
    from_env = os.environ.get("HKI_SECRET_KEY")
    if from_env:
        return from_env
    key_file = instance_path / "secret_key"
    try:
        # O_EXCL: of several workers starting at once, exactly one writes the key.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
    for _ in range(50):  # another worker may be writing it right now
        key = key_file.read_text(encoding="ascii").strip()
        if key:
            return key
        time.sleep(0.02)
    raise RuntimeError(f"{key_file} ist leer; bitte löschen oder HKI_SECRET_KEY setzen.")


def _flag(name: str, default: bool) -> bool:
    """Read a yes/no variable: 1/true/yes/ja count as yes."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "ja", "on"}


def from_environment(instance_path: Path) -> dict[str, Any]:
    """Build the Flask configuration from the environment."""
    default_db = f"sqlite:///{instance_path / 'hki.sqlite'}"
    idle_minutes = int(os.environ.get("HKI_IDLE_MINUTES", "30"))
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("HKI_DATABASE_URL", default_db),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("HKI_TIMEZONE", "Europe/Berlin"),
        # Sessions: signed cookies (no server state, so any worker can serve any request),
        # ended after HKI_IDLE_MINUTES without a request (checked on the server too).
        "HKI_IDLE_MINUTES": idle_minutes,
        # Dashboard: a measure whose latest update is older than this counts as silent.
        "HKI_SILENT_MONTHS": int(os.environ.get("HKI_SILENT_MONTHS", "6")),
        # Largest upload (the import of workbooks), in megabytes; larger ones get a 413 page.
        "MAX_CONTENT_LENGTH": int(os.environ.get("HKI_UPLOAD_MAX_MB", "20")) * 1024 * 1024,
        "HKI_MAX_SESSION_HOURS": int(os.environ.get("HKI_MAX_SESSION_HOURS", "12")),
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=idle_minutes),
        "SESSION_REFRESH_EACH_REQUEST": True,
        "SESSION_COOKIE_NAME": "hki_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("HKI_SECURE_COOKIES", True),
        # Failed logins, counted per account and per address (Flask-Limiter).
        "RATELIMIT_STORAGE_URI": os.environ.get("HKI_RATELIMIT_STORAGE_URI", "memory://"),
        # Failed logins per account from one address (a stranger never locks the owner out).
        "HKI_LOGIN_LIMIT_ACCOUNT": os.environ.get("HKI_LOGIN_LIMIT_ACCOUNT", "5 per 15 minutes"),
        # Failed logins per address; successes do not count (offices share a city NAT).
        "HKI_LOGIN_LIMIT_ADDRESS": os.environ.get("HKI_LOGIN_LIMIT_ADDRESS",
                                                  "30 per 15 minutes"),
        # Failures per account from all addresses beyond which the audit log says so.
        "HKI_LOGIN_LIMIT_ACCOUNT_TOTAL": os.environ.get("HKI_LOGIN_LIMIT_ACCOUNT_TOTAL",
                                                        "20 per day"),
        # The key that signs backups (default: instance/backup.key, made on first backup).
        "HKI_BACKUP_KEY_FILE": os.environ.get("HKI_BACKUP_KEY_FILE", ""),
        # Number of reverse proxies in front of hki whose X-Forwarded-* headers to trust.
        "HKI_PROXY_COUNT": int(os.environ.get("HKI_PROXY_COUNT", "0")),
        # …and the addresses (or networks) those headers may come from; see hki/proxies.py.
        "HKI_PROXY_ADDRESSES": os.environ.get("HKI_PROXY_ADDRESSES", "127.0.0.1, ::1"),
        # Outgoing mail (reminders), usually to the city's relay; login only when a user is set.
        "HKI_SMTP_HOST": os.environ.get("HKI_SMTP_HOST", "localhost"),
        "HKI_SMTP_PORT": int(os.environ.get("HKI_SMTP_PORT", "25")),
        "HKI_SMTP_USER": os.environ.get("HKI_SMTP_USER", ""),
        "HKI_SMTP_PASSWORD": os.environ.get("HKI_SMTP_PASSWORD", ""),
        "HKI_SMTP_STARTTLS": _flag("HKI_SMTP_STARTTLS", False),
        "HKI_SMTP_TIMEOUT": float(os.environ.get("HKI_SMTP_TIMEOUT", "10")),
        "HKI_MAIL_FROM": os.environ.get("HKI_MAIL_FROM", "hki@localhost"),
        # Public address of hki for links in mails; mails may be sent from the command line,
        # where there is no request to take the address from.
        "HKI_BASE_URL": os.environ.get("HKI_BASE_URL", "http://127.0.0.1:5000"),
    }

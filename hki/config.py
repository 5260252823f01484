"""Configuration from environment variables with safe defaults.

Every setting an operator may change is read here and nowhere else, so the README's table
of variables is complete by construction.
"""

from __future__ import annotations

import os
import secrets
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
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32), encoding="ascii")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="ascii").strip()


def from_environment(instance_path: Path) -> dict[str, Any]:
    """Build the Flask configuration from the environment."""
    default_db = f"sqlite:///{instance_path / 'hki.sqlite'}"
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("HKI_DATABASE_URL", default_db),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("HKI_TIMEZONE", "Europe/Berlin"),
        "HKI_CITY": os.environ.get("HKI_CITY", ""),
    }

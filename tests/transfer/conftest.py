"""Fixtures of the transfer tests: LibreOffice as a real client."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def soffice(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Convert a file with LibreOffice, in a profile of its own (never a running one)."""
    if shutil.which("soffice") is None:
        message = "LibreOffice fehlt: apt-get install libreoffice-calc (scripts/test tut das)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    profile = tmp_path_factory.mktemp("libreoffice-profile")

    def convert(source: Path, target: str, infilter: str | None = None) -> Path:
        options = [f"--infilter={infilter}"] if infilter else []
        subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
                        *options, "--convert-to", target, "--outdir", str(source.parent),
                        str(source)], check=True, capture_output=True, timeout=180)
        return source.with_suffix("." + target.split(":")[0])

    return convert

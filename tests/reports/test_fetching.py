"""The PDF renderer loads only the app's own files: a remote image or a local file outside
``static/`` in a report's HTML is a render error, and no request leaves the machine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from flask import Flask

from hki.reports.render import STATIC, RenderError, pdf_from_html

PAGE = ('<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Test</title>'
        '</head><body><h1>Bericht</h1>{}</body></html>')


@pytest.fixture
def counter() -> Iterator[tuple[str, list[str]]]:
    """A local web server that notes every request it gets."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_remote_and_foreign_files_are_refused(
    app_ctx: Flask, counter: tuple[str, list[str]],
) -> None:
    base, seen = counter
    for source in (f"{base}/spion.png", "file:///etc/hostname", "../../pyproject.toml"):
        with pytest.raises(RenderError, match="Nur eigene Dateien"):
            pdf_from_html(PAGE.format(f'<img src="{source}" alt="Bild">'))
    assert seen == []
    # The app's own files still load: the report stylesheet's fonts, a static image.
    image = next(p for p in (STATIC / "img").rglob("*.png")) if (STATIC / "img").exists() \
        else None
    body = f'<img src="{image.as_uri()}" alt="Logo">' if image else "<p>ohne Bild</p>"
    pdf, pages = pdf_from_html(PAGE.format(body))
    assert pdf.startswith(b"%PDF") and pages == 1

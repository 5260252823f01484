"""Real concurrency for tests: the app behind a threaded server, and the same POST sent
by several threads at one moment (as double clicks, retries and busy offices do)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import make_server


@dataclass(frozen=True)
class Answer:
    """What one of the parallel requests got back (redirects are not followed)."""

    status: int
    location: str
    cookie: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


OPENER = urllib.request.build_opener(_NoRedirect)


@contextmanager
def served(app: Flask) -> Iterator[int]:
    """Serve ``app`` with one thread per request on a free port; yields the port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def request(port: int, path: str, body: bytes | None = None, cookie: str = "") -> Answer:
    """One request to the served app; an HTTP error status is an answer too."""
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    sent = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                  headers=headers)
    try:
        answer = OPENER.open(sent, timeout=60)
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers.get("Location", ""),
                      (error.headers.get("Set-Cookie") or "").split(";")[0])
    return Answer(answer.status, answer.headers.get("Location", ""),
                  (answer.headers.get("Set-Cookie") or "").split(";")[0])


def at_once(times: int, port: int, path: str, body: bytes, cookie: str = "") -> list[Answer]:
    """The same POST ``times`` times, released together by a barrier."""
    return together(port, path, [body] * times, cookie)


def together(port: int, path: str, bodies: list[bytes], cookie: str = "") -> list[Answer]:
    """One POST per body (e.g. the same form from several tabs), released together."""
    start = threading.Barrier(len(bodies))
    answers: list[Answer] = []

    def send(body: bytes) -> None:
        start.wait()
        answers.append(request(port, path, body, cookie))

    senders = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(120)
    return answers

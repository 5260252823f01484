"""Every request stored once: a form that creates something carries a one-time key.

A double click, a browser retry or a second tab sends the same form twice; history is
append-only, so a second status update or report could never be removed. Each such form
holds a random key (``einmal``); :func:`once` inserts it into ``submissions`` *in the
same transaction* as what the view creates, so the database's unique key decides: the
first request stores, a repeated or parallel one finds the key and is sent where the
first one went, with a message, and nothing is stored twice. A form refused (shown again
with errors) frees its key. Forms without a key (scripts, old pages) work as before.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.wrappers import Response

from hki.db import UTCDateTime, utcnow
from hki.extensions import Model, db
from hki.security import is_safe_next

#: The form field that carries the key.
FIELD = "einmal"
KEY_LENGTH = 64
#: How long a repeated form waits for its parallel twin's answer (30 × 0.1 s).
REPLAY_WAITS, REPLAY_PAUSE = 30, 0.1


class Submission(Model):
    """One form sent: its key, who sent it, and where its answer led."""

    __tablename__ = "submissions"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    endpoint: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Where the first answer redirected to (empty while it is being processed).
    location: Mapped[str] = mapped_column(String(500), default="")


def submission_field() -> Markup:
    """The hidden field with a fresh key, for the templates of creating forms."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        FIELD, secrets.token_urlsafe(24))


F = TypeVar("F", bound=Callable[..., Any])


def once(view: F) -> F:
    """Decorate a view whose POST creates something: a key already used is not run again."""
    return keyed(lambda *_args, **_kwargs: request.form.get(FIELD, ""))(view)


def keyed(key_of: Callable[..., str]) -> Callable[[F], F]:
    """Like :func:`once`, with the key taken from the view's arguments.

    For a waiting import, its token: confirming it twice, or twice at once, writes once.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            key = key_of(*args, **kwargs) if request.method == "POST" else ""
            if key and len(key) <= KEY_LENGTH and (taken := claim(key)) is not None:
                return taken
            return _settle(view(*args, **kwargs))

        return wrapped  # type: ignore[return-value]

    return decorator


def claim(key: str, repeated: str | None = None) -> Response | None:
    """Take ``key`` for this request, or answer as the request that took it first did.

    Besides the form's own key a view may claim keys of its own: a report for a plan and
    Stichtag is claimed as "the n-th report for that day", so five tabs that each send a
    fresh form for a new Stichtag still issue one report, and issuing another one needs
    its confirmation. Returns ``None`` when the key is this request's, else the redirect
    to the first request's result (everything this request added is rolled back), with
    the message ``repeated`` if given.
    """
    if (done := db.session.get(Submission, key)) is not None:
        db.session.rollback()
        return _replay(done, repeated)
    user_id = current_user.id if current_user.is_authenticated else None
    db.session.add(Submission(key=key, user_id=user_id, endpoint=request.endpoint or ""))
    try:
        db.session.flush()  # waits for a parallel request with the same key, then fails
    except IntegrityError:
        db.session.rollback()
        return _replay(db.session.get(Submission, key), repeated)
    g.setdefault("claimed", []).append(key)
    return None


def _settle(response: Any) -> Any:
    """Keys claimed by a request that redirected remember where; a refused one frees them."""
    keys = g.pop("claimed", [])
    if not keys:
        return response
    status = getattr(response, "status_code", 200)
    if isinstance(response, Response) and 300 <= status < 400:
        for stored in db.session.scalars(select(Submission).where(Submission.key.in_(keys))):
            stored.location = (response.location or "")[:500]
        db.session.commit()
    else:  # refused or shown again: the same form may be sent again, corrected
        db.session.rollback()
        db.session.execute(delete(Submission).where(Submission.key.in_(keys)))
        db.session.commit()
    return response


def _replay(done: Submission | None, message: str | None = None) -> Response:
    """Send a repeated form where the first one went.

    A parallel twin may still be finishing (its answer is stored a moment after its
    data): wait for it briefly, then fall back to the page the form came from.
    """
    key = done.key if done is not None else None
    for _attempt in range(REPLAY_WAITS):
        if done is not None and done.location:
            break
        time.sleep(REPLAY_PAUSE)
        db.session.rollback()  # a fresh look at what the twin committed
        done = db.session.get(Submission, key) if key else None
    flash(message or _("Diese Eingabe war schon gespeichert; sie wurde nicht noch einmal "
                       "gespeichert."), "info")
    if done is not None and done.location:
        return redirect(done.location)
    came_from = urlsplit(request.referrer or "")
    back = came_from.path + (f"?{came_from.query}" if came_from.query else "")
    own = came_from.netloc == request.host and is_safe_next(back)
    return redirect(back if own else url_for("plan.index"))

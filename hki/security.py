"""Who may do what: the one place that decides, and the perimeter every request passes.

Views never test roles themselves; they call :func:`authorize` (or :func:`can` to decide
what to show). The table :data:`ROLE_ACTIONS` is the whole policy, plus one rule for
offices: they may only act on measures their organisation leads.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar, cast
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from limits import parse

from hki.auth.models import User
from hki.extensions import limiter
from hki.i18n import ascii_int
from hki.plan.models import Measure, Plan
from hki.vocab import Decision, PlanState, Role

if TYPE_CHECKING:
    from hki.updates.models import StatusUpdate


class Action(StrEnum):
    """Things a user can do; each view asks for one."""

    VIEW = "view"  # plans, measures, dashboards, issued reports
    POST_UPDATE = "post_update"  # a status update on a measure (scoped for offices)
    EDIT_PLAN = "edit_plan"
    ISSUE_REPORT = "issue_report"
    RUN_ROUNDS = "run_rounds"  # open and close update rounds, remind offices, bulk entry
    REVIEW_UPDATES = "review_updates"  # accept or return offices' updates (Freigabe)
    VIEW_AUDIT = "view_audit"
    IMPORT_DATA = "import_data"  # plans and status answers from spreadsheets
    MANAGE_USERS = "manage_users"  # users and organisations
    PROPOSE = "propose"  # a measure's fate in a Fortschreibungsabfrage (scoped for offices)


#: The policy, as in ``model.md``: what each role may do at all.
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.COORDINATOR: frozenset(
        {Action.VIEW, Action.POST_UPDATE, Action.EDIT_PLAN, Action.ISSUE_REPORT,
         Action.VIEW_AUDIT, Action.RUN_ROUNDS, Action.REVIEW_UPDATES, Action.IMPORT_DATA,
         Action.PROPOSE}
    ),
    Role.OFFICE: frozenset({Action.VIEW, Action.POST_UPDATE, Action.PROPOSE}),
    Role.READER: frozenset({Action.VIEW}),
}

#: Endpoints reachable without login; everything else redirects to the login page.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "health.health",
                              "revision.shared"})  # a Fortschreibung's read-only link


def can(user: Any, action: Action, target: object | None = None) -> bool:
    """Decide whether ``user`` may do ``action`` (on ``target``, where it matters)."""
    if not isinstance(user, User) or not user.is_active:
        return False
    if action not in ROLE_ACTIONS[user.role]:
        return False
    if action in CHANGES_A_PLAN and _closed(target):
        return False  # an abgeschlossen plan is a record: read-only for everyone
    if action in SCOPED_TO_LEAD and user.role is Role.OFFICE and target is not None:
        # Without a target the question is "may post at all" (menus, own work list).
        return (
            isinstance(target, Measure)
            and user.organisation_id is not None
            and target.lead_organisation_id == user.organisation_id
        )
    return True


def sees_update(user: Any, update: StatusUpdate) -> bool:
    """Who sees which status update, with its review comment: one rule for every page.

    An accepted update is part of the record: everyone who may view sees it. A draft –
    waiting for review, or returned with the coordination's comment – is internal: the
    coordination sees all of them, an office those of the measures its organisation leads
    (its own drafts and the comments addressed to it), council readers none.
    """
    if not can(user, Action.VIEW):
        return False
    review = update.review
    if review is not None and review.decision is Decision.ACCEPTED:
        return True
    if can(user, Action.REVIEW_UPDATES):
        return True
    return (user.role is Role.OFFICE and user.organisation_id is not None
            and update.measure.lead_organisation_id == user.organisation_id)


#: Actions that change a plan or its measures; refused once the plan is closed.
CHANGES_A_PLAN = frozenset({Action.POST_UPDATE, Action.EDIT_PLAN, Action.RUN_ROUNDS,
                            Action.PROPOSE})
#: Actions an office may do only for the measures its organisation leads.
SCOPED_TO_LEAD = frozenset({Action.POST_UPDATE, Action.PROPOSE})


def _closed(target: object | None) -> bool:
    """Whether ``target`` (a plan or a measure) belongs to an abgeschlossen plan."""
    plan = target.goal.field.plan if isinstance(target, Measure) else target
    return isinstance(plan, Plan) and plan.state is PlanState.CLOSED


def authorize(action: Action, target: object | None = None) -> None:
    """Abort with the German 403 page unless the current user may do ``action``."""
    if not can(current_user, action, target):
        abort(403)


F = TypeVar("F", bound=Callable[..., Any])


def requires(action: Action) -> Callable[[F], F]:
    """Decorate a view that needs ``action`` regardless of any particular target."""

    def decorator(view: F) -> F:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            authorize(action)
            return view(*args, **kwargs)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return cast(F, wrapped)

    return decorator


# --- Passwords -------------------------------------------------------------------------

_hasher = PasswordHasher()
#: Verified against when the account does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("hki-timing-equaliser")
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    """Hash a password with Argon2id (argon2-cffi's recommended parameters)."""
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Check a password; costs the same whether or not the account exists."""
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and user is not None and user.is_active and bool(user.password_hash)


# --- Perimeter and headers -------------------------------------------------------------

#: No inline script, no inline style, no third-party origin, no framing.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def is_safe_next(target: str | None) -> TypeGuard[str]:
    """Allow only plain paths on this site as a redirect target after login.

    Browsers drop tabs and newlines and read a backslash as a slash, so a path with a tab
    or a backslash after the first slash would leave the site: anything but printable
    characters is refused, and backslashes count as slashes.
    """
    if not target or not target.startswith("/") or not target.isprintable() or " " in target:
        return False
    parts = urlsplit(target.replace("\\", "/"))
    return not parts.scheme and not parts.netloc and not target.replace("\\", "/").startswith("//")


# --- Login attempts --------------------------------------------------------------------


#: The limiter's counters are read and changed under one lock: its in-memory storage is
#: not safe when gunicorn's threads count at the same moment (one login in a hundred
#: ended in a 500). A shared store (redis) has its own atomic operations.
_LIMITS = threading.Lock()


def _limit_hit(config_key: str, scope: str, key: str) -> bool:
    """Count one attempt against a limit; ``False`` if the limit is already used up.

    Counting before the password is checked (not after a failure) closes the race in
    which many parallel attempts all pass a check that has not been counted yet.
    """
    limit = parse(str(current_app.config[config_key]))
    with _LIMITS:
        return bool(limiter.limiter.hit(limit, scope, key))


def login_attempt_allowed(email: str, address: str) -> bool:
    """Whether a login for ``email`` from ``address`` may be tried now.

    The limits protect the account's owner rather than lock her out:

    - failed attempts per account **and** address (``HKI_LOGIN_LIMIT_ACCOUNT``): a stranger
      guessing from one address blocks only that address for that account, never the
      owner's correct password from her own. Counted before the password is checked
      (closing the race of many parallel tries), forgotten on success;
    - failed attempts per address (``HKI_LOGIN_LIMIT_ADDRESS``): only failures count, so
      offices behind one city NAT logging in all day are never refused;
    - failures per account from anywhere are only counted and reported to the
      administration (audit log), never a lock (see :func:`login_failed`).
    """
    address_limit = parse(str(current_app.config["HKI_LOGIN_LIMIT_ADDRESS"]))
    with _LIMITS:
        if not limiter.limiter.test(address_limit, "login-address", address):
            return False
    return _limit_hit("HKI_LOGIN_LIMIT_ACCOUNT", "login-account", f"{email}|{address}")


def login_failed(email: str, address: str) -> bool:
    """Count a failure for the address and for the account from anywhere.

    ``True`` the first time in a window that the account's failures from all addresses
    exceed ``HKI_LOGIN_LIMIT_ACCOUNT_TOTAL``: worth telling the administration.
    """
    _limit_hit("HKI_LOGIN_LIMIT_ADDRESS", "login-address", address)
    if _limit_hit("HKI_LOGIN_LIMIT_ACCOUNT_TOTAL", "login-account-total", email):
        return False
    return _first_in_window("HKI_LOGIN_LIMIT_ACCOUNT_TOTAL", "login-total-report", email)


def refusal_is_new(address: str) -> bool:
    """``True`` for the first refusal of an address in a window: the one to log.

    Once per address, so refused attempts with ever new names cannot fill the
    append-only audit log.
    """
    return _first_in_window("HKI_LOGIN_LIMIT_ACCOUNT", "login-refusal-report", address)


def _first_in_window(config_key: str, scope: str, key: str) -> bool:
    """Whether this is the first event for ``key`` in the window of a configured limit."""
    window = str(current_app.config[config_key]).split(" per ", 1)[-1]
    with _LIMITS:
        return bool(limiter.limiter.hit(parse(f"1 per {window}"), scope, key))


def login_succeeded(email: str, address: str) -> None:
    """A correct password proves the owner at this address: forget its failed attempts."""
    limit = parse(str(current_app.config["HKI_LOGIN_LIMIT_ACCOUNT"]))
    with _LIMITS:
        limiter.limiter.clear(limit, "login-account", f"{email}|{address}")


def bounded_int(raw: str | None) -> int | None:
    """A positive id or page number from a query string; anything else is ``None``."""
    return ascii_int(raw) or None


def new_session_token() -> str:
    """A random token tying sessions to a user; changing it ends all their sessions."""
    return secrets.token_hex(16)


def _enforce_perimeter() -> ResponseReturnValue | None:
    """Send anonymous users to the login page; end sessions idle for too long."""
    if _has_nul_byte():
        abort(400)
    if request.endpoint in PUBLIC_ENDPOINTS or request.routing_exception is not None:
        return None  # unknown URL or wrong method: Flask answers 404/405 next
    if current_user.is_authenticated:
        now = datetime.now(UTC).timestamp()
        last_seen = session.get("last_seen")
        login_at = session.get("login_at")
        idle_limit = float(current_app.config["HKI_IDLE_MINUTES"]) * 60
        max_age = float(current_app.config["HKI_MAX_SESSION_HOURS"]) * 3600
        if (isinstance(last_seen, int | float) and now - last_seen > idle_limit) or (
            isinstance(login_at, int | float) and now - login_at > max_age
        ):
            logout_user()
            session.clear()
            flash(_("Sie wurden nach längerer Inaktivität abgemeldet. Bitte melden Sie sich "
                    "erneut an."), "info")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        session["last_seen"] = now
        return None
    next_path = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=next_path))


def _has_nul_byte() -> bool:
    """NUL bytes are never meant as input (and PostgreSQL refuses them in text)."""
    values = [*request.args.values(), *request.form.values()]
    return any("\x00" in value for value in values) or "\x00" in request.path


def _add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint not in ("static",):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def register(app: Flask) -> None:
    """Install the perimeter and the security headers on every request."""
    app.before_request(_enforce_perimeter)
    app.after_request(_add_security_headers)

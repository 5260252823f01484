"""German error pages: a user never sees a stack trace or an English default page."""

from __future__ import annotations

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from hki.db import ImplausibleDateError
from hki.extensions import db
from hki.i18n import FIRST_YEAR, LAST_YEAR

#: Title and explanation per status code: what happened and what to do next.
MESSAGES: dict[int, tuple[LazyString, LazyString]] = {
    400: (
        _l("Die Anfrage ist ungültig"),
        _l("Die übermittelten Angaben konnten nicht verarbeitet werden. "
           "Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."),
    ),
    403: (
        _l("Kein Zugriff"),
        _l("Sie haben keine Berechtigung für diese Seite. "
           "Wenden Sie sich bei Fragen an die Koordinierungsstelle."),
    ),
    404: (
        _l("Seite nicht gefunden"),
        _l("Diese Seite gibt es nicht (mehr). "
           "Bitte prüfen Sie die Adresse oder beginnen Sie auf der Startseite."),
    ),
    405: (_l("Aktion nicht möglich"), _l("Diese Aktion ist an dieser Stelle nicht vorgesehen.")),
    413: (
        _l("Die Datei ist zu groß"),
        _l("Die hochgeladene Datei ist größer als erlaubt. Es wurde nichts gespeichert. "
           "Bitte teilen Sie die Datei auf oder entfernen Sie Bilder und nicht benötigte "
           "Blätter."),
    ),
    429: (
        _l("Zu viele Versuche"),
        _l("Es gab zu viele Anmeldeversuche. Bitte warten Sie einige Minuten und "
           "versuchen Sie es dann erneut. Wenn Sie Ihr Passwort vergessen haben, wenden Sie "
           "sich an die Administration."),
    ),
}
#: A form sent without a valid CSRF token: usually an old page or an expired session.
CSRF_MESSAGE = (
    _l("Die Sitzung ist abgelaufen"),
    _l("Das Formular war zu alt oder kam nicht von dieser Seite. Es wurde nichts gespeichert. "
       "Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."),
)
#: A date outside the stored years reached the database guard (hki.db): nothing stored.
DATE_MESSAGE = (
    _l("Datum nicht möglich"),
    _l("Ein Datum liegt außerhalb der Jahre %(first)d bis %(last)d, die hki speichert. Es "
       "wurde nichts gespeichert. Bitte gehen Sie zurück und prüfen Sie die Datumsangaben.",
       first=FIRST_YEAR, last=LAST_YEAR),
)
FALLBACK = (
    _l("Ein Fehler ist aufgetreten"),
    _l("Bitte versuchen Sie es in einigen Minuten erneut. "
       "Wenn der Fehler bleibt, wenden Sie sich an Ihre IT-Abteilung."),
)


#: The error page without layout, for when even the layout cannot be rendered.
PLAIN_PAGE = (
    '<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{title} – hki</title>'
    '</head><body><main><h1>{title}</h1><p>{text}</p></main></body></html>'
)


def render_error(
    code: int, message: tuple[LazyString, LazyString] | None = None
) -> ResponseReturnValue:
    """Render the German error page for an HTTP status code."""
    title, text = message or MESSAGES.get(code, FALLBACK)
    try:
        return render_template("errors/error.html", code=code, title=title, text=text), code
    except Exception:  # the page itself needs the database (the login); it may be down
        return PLAIN_PAGE.format(title=escape(str(title)), text=escape(str(text))), code


def register(app: Flask) -> None:
    """Render every HTTP error with the German error template."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        return render_error(error.code or 500)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        return render_error(400, CSRF_MESSAGE)

    @app.errorhandler(ImplausibleDateError)
    def implausible_date(error: ImplausibleDateError) -> ResponseReturnValue:
        db.session.rollback()
        return render_error(400, DATE_MESSAGE)

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError) -> ResponseReturnValue:
        db.session.rollback()
        return render_error(500)

"""Pages for import (upload → preview → confirm) and the downloads of template and exports.

The uploaded file waits in ``instance/imports`` between preview and confirmation; the
confirmation checks it again (the database may have changed), so what is written is
always what a fresh check allows.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote_plus

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from hki.auth.models import User
from hki.dashboard import queries
from hki.extensions import db
from hki.i18n import local_today
from hki.plan.models import Plan
from hki.reports.data import NoSuchPlanError
from hki.security import Action, requires
from hki.transfer import importing, writing
from hki.transfer.sheets import header_key

bp = Blueprint("transfer", __name__)

#: Uploads older than this are removed when the next one arrives.
KEEP_UPLOADS_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def _uploads() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _tidy(folder: Path) -> None:
    cutoff = time.time() - KEEP_UPLOADS_SECONDS
    for path in folder.iterdir():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def _stored(token: str) -> tuple[bytes, dict[str, Any]]:
    """The waiting upload of the current user, or 404."""
    if not _TOKEN.match(token):
        abort(404)
    folder = _uploads()
    try:
        meta = json.loads((folder / f"{token}.json").read_text("utf-8"))
        data = (folder / f"{token}.xlsx").read_bytes()
    except (OSError, ValueError):
        abort(404)
    if meta.get("user_id") != current_user.id:
        abort(404)
    return data, meta


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=\"{filename}\""
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_name(text: str) -> str:
    """A file name from a title: letters, digits and dashes (umlauts spelled out)."""
    return re.sub(r"[^a-z0-9]+", "-", header_key(text.replace(" ", "-"))).strip("-")[:60] \
        or "hki"


@bp.route("/import", methods=["GET", "POST"])
@requires(Action.IMPORT_DATA)
def upload() -> ResponseReturnValue:
    """Upload a workbook; a valid one is kept and shown as a preview to confirm."""
    if request.method == "GET":
        return render_template("transfer/upload.html")
    upload = request.files.get("datei")
    if upload is None or not upload.filename:
        flash(_("Bitte wählen Sie eine Datei aus."), "error")
        return render_template("transfer/upload.html"), 400
    data = upload.read()
    filename = Path(upload.filename).name[:255]
    check = importing.check_import(db.session, data, filename)
    token = None
    if check.ok and check.changes:
        folder = _uploads()
        _tidy(folder)
        token = secrets.token_hex(16)
        (folder / f"{token}.xlsx").write_bytes(data)
        (folder / f"{token}.json").write_text(json.dumps(
            {"user_id": current_user.id, "filename": filename, "sha256": check.sha256}),
            "utf-8")
    db.session.rollback()
    return render_template("transfer/preview.html", check=check, token=token), (
        200 if check.ok else 422)


@bp.post("/import/<token>")
@requires(Action.IMPORT_DATA)
def confirm(token: str) -> ResponseReturnValue:
    """Check the waiting file again and write it, all in one transaction."""
    data, meta = _stored(token)
    check = importing.check_import(db.session, data, meta["filename"])
    if not check.ok:
        db.session.rollback()
        return render_template("transfer/preview.html", check=check, token=None), 422
    record = importing.apply_import(db.session, check, cast(User, current_user))
    db.session.commit()
    for suffix in (".xlsx", ".json"):
        (_uploads() / f"{token}{suffix}").unlink(missing_ok=True)
    flash(_("Import abgeschlossen: %(what)s.", what=_summary_text(record.summary)), "success")
    return redirect(url_for("plan.overview", plan_id=record.plan_id))


def _summary_text(summary: dict[str, int]) -> str:
    return ", ".join(f"{n} × {kind}" for kind, n in summary.items()) or _("keine Änderungen")


@bp.get("/import/vorlage.xlsx")
@requires(Action.IMPORT_DATA)
def template() -> Response:
    """The empty template with explanations and drop-down lists."""
    return _download(writing.template(), "hki-vorlage.xlsx", writing.XLSX_TYPE)


def _plan(plan_id: int) -> Plan:
    return db.get_or_404(Plan, plan_id)


def _tables(make: Any, plan_id: int, *args: Any) -> Any:
    try:
        return make(plan_id, *args)
    except NoSuchPlanError:
        abort(404)


@bp.get("/plaene/<int:plan_id>/export.<any(xlsx, csv):fmt>")
@requires(Action.VIEW)
def plan_export(plan_id: int, fmt: str) -> Response:
    """The plan with its current status (xlsx: with the counted history; imports back)."""
    plan = _plan(plan_id)
    tables = _tables(writing.plan_export, plan_id)
    name = f"{_safe_name(plan.title)}-{local_today().isoformat()}"
    if fmt == "csv":
        return _download(writing.to_csv(tables[3]), f"{name}-plan.csv", writing.CSV_TYPE)
    return _download(writing.to_xlsx(tables), f"{name}.xlsx", writing.XLSX_TYPE)


@bp.get("/plaene/<int:plan_id>/verlauf.<any(xlsx, csv):fmt>")
@requires(Action.REVIEW_UPDATES)
def history(plan_id: int, fmt: str) -> Response:
    """Every status update with review and corrections (returned and waiting ones too)."""
    plan = _plan(plan_id)
    name = f"{_safe_name(plan.title)}-sachstaende-{local_today().isoformat()}"
    if fmt == "csv":
        return _download(writing.to_csv(writing.history_export(plan_id)), f"{name}.csv",
                         writing.CSV_TYPE)
    return _download(writing.to_xlsx(_tables(writing.history_tables, plan_id)),
                     f"{name}.xlsx", writing.XLSX_TYPE)


@bp.get("/plaene/<int:plan_id>/sachstandsvorlage.xlsx")
@requires(Action.RUN_ROUNDS)
def status_template(plan_id: int) -> Response:
    """A workbook for lead offices: their measures listed, answers to fill in."""
    plan = _plan(plan_id)
    lead = request.args.get("federfuehrung", "")[:200]
    tables = _tables(writing.status_template, plan_id, lead)
    suffix = f"-{_safe_name(lead)}" if lead else ""
    return _download(writing.to_xlsx(tables),
                     f"{_safe_name(plan.title)}-sachstaende{suffix}.xlsx", writing.XLSX_TYPE)


@bp.get("/plaene/<int:plan_id>/massnahmen.<any(xlsx, csv):fmt>")
@requires(Action.VIEW)
def measure_list(plan_id: int, fmt: str) -> Response:
    """The measure finder's list with the same filters, as a file."""
    parsed = queries.parse(request.args, request.args.getlist)
    try:
        view = queries.plan_view(plan_id, parsed.stand)
    except NoSuchPlanError:
        abort(404)
    rows = queries.select(view, parsed.filters)
    query = unquote_plus(request.query_string.decode("utf-8", "replace"))
    tables = writing.measure_list(rows, view.report.plan.title, view.stand, query)
    name = f"{_safe_name(view.report.plan.title)}-massnahmen-{view.stand.isoformat()}"
    if fmt == "csv":
        return _download(writing.to_csv(tables[0]), f"{name}.csv", writing.CSV_TYPE)
    return _download(writing.to_xlsx(tables), f"{name}.xlsx", writing.XLSX_TYPE)


"""Pages for import (upload → preview → confirm) and the downloads of template and exports.

The uploaded file waits in ``instance/imports`` between preview and confirmation. The
preview's check runs in the request, bounded by :mod:`hki.transfer.scanning`; the
confirmation queues the file for the worker (:mod:`hki.transfer.jobs`), which checks it
again (the database may have changed) and writes it, so what is written is always what a
fresh check allows, and no request waits for thousands of measures to be written.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
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
from sqlalchemy import select

from hki.auth.models import User
from hki.dashboard import queries
from hki.dashboard.search import fold
from hki.db import utcnow
from hki.extensions import db
from hki.i18n import local_today
from hki.plan.models import Plan
from hki.reports.data import NoSuchPlanError
from hki.reports.models import ReportState
from hki.security import Action, requires
from hki.submissions import keyed
from hki.transfer import formats, importing, jobs, scanning, writing
from hki.transfer.models import ImportJob

bp = Blueprint("transfer", __name__)

#: A queued import not taken by the worker after this long: the page says the worker may
#: not be running (it takes a job within seconds when it is).
WORKER_LATE = timedelta(minutes=2)
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


def download(data: bytes, filename: str, mimetype: str) -> Response:
    """A file to save, never cached (it may hold internal drafts)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=\"{filename}\""
    response.headers["Cache-Control"] = "no-store"
    return response


def _slug(text: str) -> str:
    """A file-name part from a title: "handlungskonzept-integration-2020-2025"."""
    slug = re.sub(r"^hki-", "", re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-"))
    return slug[:60].rsplit("-", 1)[0] if len(slug) > 60 else slug or "plan"


def file_name(title: str, what: str, day: str, fmt: str) -> str:
    """hki-<plan>-<what>-<day>.<fmt>: readable, sortable, and clear where it came from."""
    return f"hki-{_slug(title)}-{what}-{day}.{fmt}"


def tables_file(tables: list[writing.Table], fmt: str, name: str,
                 csv_table: int = 0) -> Response:
    """The tables as a workbook (xlsx/ods), or one of them as CSV."""
    if fmt == "csv":
        return download(writing.to_csv(tables[csv_table]), name, writing.CSV_TYPE)
    if fmt == "ods":
        return download(formats.to_ods(tables), name, formats.ODS_TYPE)
    return download(writing.to_xlsx(tables), name, writing.XLSX_TYPE)


#: One import check at a time per process. The check is bounded (hki.transfer.scanning)
#: but takes seconds of CPU for a large plan; eight at once would hold every thread of a
#: worker and, sharing one interpreter, slow every page it serves. A second upload in the
#: same moment is asked to try again instead of waiting in a thread.
_CHECKING = threading.Lock()


#: How often Python switches threads while a file is checked (seconds; normally 0.005).
#: A page served beside the check waits for the interpreter after every database call;
#: switching ten times as often keeps those waits short (bench/uploads.py measures it).
CHECK_SWITCH_INTERVAL = 0.0005


@contextmanager
def _import_slot() -> Iterator[bool]:
    """Whether this request may check a file now; frees the slot afterwards."""
    free = _CHECKING.acquire(blocking=False)
    interval = sys.getswitchinterval()
    if free:
        sys.setswitchinterval(min(interval, CHECK_SWITCH_INTERVAL))
    try:
        yield free
    finally:
        if free:
            sys.setswitchinterval(interval)
            _CHECKING.release()


def _busy(chosen: str = "") -> ResponseReturnValue:
    flash(_("Gerade prüft hki eine andere Datei. Bitte versuchen Sie es in einer Minute "
            "noch einmal; es wurde nichts gespeichert."), "error")
    page, status = cast(tuple[str, int], _upload_page(503, chosen))
    return page, status, {"Retry-After": "30"}


def _upload_page(status: int = 200, chosen: str = "") -> ResponseReturnValue:
    plans = db.session.scalars(select(Plan).order_by(Plan.valid_from.desc(), Plan.title))
    return render_template("transfer/upload.html", plans=list(plans), chosen=chosen,
                           limits=scanning), status


@bp.route("/import", methods=["GET", "POST"])
@requires(Action.IMPORT_DATA)
def upload() -> ResponseReturnValue:
    """Upload a workbook or CSV; a valid one is kept and shown as a preview to confirm."""
    if request.method == "GET":
        return _upload_page()
    upload = request.files.get("datei")
    plan_title = request.form.get("plan", "")[:300] or None
    if upload is None or not upload.filename:
        flash(_("Bitte wählen Sie eine Datei aus."), "error")
        return _upload_page(400, plan_title or "")
    data = upload.read()
    filename = Path(upload.filename).name[:255]
    with _import_slot() as free:
        if not free:
            return _busy(plan_title or "")
        check = importing.check_import(db.session, data, filename, plan_title)
    token = None
    if check.ok and check.changes:
        folder = _uploads()
        _tidy(folder)
        token = secrets.token_hex(16)
        (folder / f"{token}.xlsx").write_bytes(data)
        (folder / f"{token}.json").write_text(json.dumps(
            {"user_id": current_user.id, "filename": filename, "sha256": check.sha256,
             "plan": plan_title}), "utf-8")
    db.session.rollback()
    return render_template("transfer/preview.html", check=check, token=token), (
        200 if check.ok else 422)


@bp.post("/import/<token>")
@requires(Action.IMPORT_DATA)
@keyed(lambda token: f"import:{token}")
def confirm(token: str) -> ResponseReturnValue:
    """Queue the waiting file for the worker, which checks it again and writes it."""
    data, meta = _stored(token)
    existing = db.session.scalar(select(ImportJob).where(ImportJob.token == token))
    if existing is None:
        existing = jobs.queue(db.session, token, data, meta["filename"], meta.get("plan"),
                              cast(User, current_user))
        db.session.commit()
    for suffix in (".xlsx", ".json"):
        (_uploads() / f"{token}{suffix}").unlink(missing_ok=True)
    return redirect(url_for("transfer.progress", job_id=existing.id))


@bp.get("/import/auftrag/<int:job_id>")
@requires(Action.IMPORT_DATA)
def progress(job_id: int) -> ResponseReturnValue:
    """How far the worker is with a confirmed import; once written, on to the plan."""
    job = db.get_or_404(ImportJob, job_id)
    if job.requested_by_id != current_user.id:
        abort(404)
    if "stand" in request.args:  # the page's script asks whether there is news
        running = job.state in (ReportState.QUEUED, ReportState.RUNNING)
        return ("running" if running else "finished"), 200, {"Content-Type": "text/plain"}
    if job.state is ReportState.DONE and job.data_import is not None:
        flash(_("Import abgeschlossen: %(what)s.",
                what=_summary_text(job.data_import.summary)), "success")
        return redirect(url_for("plan.overview", plan_id=job.data_import.plan_id))
    stuck = job.state is ReportState.QUEUED and utcnow() - job.requested_at > WORKER_LATE
    return render_template("transfer/progress.html", job=job, stuck=stuck)


def _summary_text(summary: dict[str, int]) -> str:
    return ", ".join(f"{n} × {kind}" for kind, n in summary.items()) or _("keine Änderungen")


@bp.get("/import/vorlage.<any(xlsx, ods):fmt>")
@requires(Action.IMPORT_DATA)
def template(fmt: str) -> Response:
    """The empty template with its Anleitung and drop-down lists, for Excel or Calc."""
    return tables_file(writing.template_tables(), fmt, f"hki-vorlage.{fmt}")


def _plan(plan_id: int) -> Plan:
    return db.get_or_404(Plan, plan_id)


def _tables(make: Any, plan_id: int, *args: Any) -> Any:
    try:
        return make(plan_id, *args)
    except NoSuchPlanError:
        abort(404)


@bp.get("/plaene/<int:plan_id>/export.<any(xlsx, ods, csv):fmt>")
@requires(Action.VIEW)
def plan_export(plan_id: int, fmt: str) -> Response:
    """The plan with its current status (workbooks: with the counted history; import back)."""
    plan = _plan(plan_id)
    tables = _tables(writing.plan_export, plan_id)
    name = file_name(plan.title, "plan", local_today().isoformat(), fmt)
    return tables_file(tables, fmt, name, csv_table=3)


@bp.get("/plaene/<int:plan_id>/verlauf.<any(xlsx, ods, csv):fmt>")
@requires(Action.REVIEW_UPDATES)
def history(plan_id: int, fmt: str) -> Response:
    """Every status update with review and corrections (returned and waiting ones too)."""
    plan = _plan(plan_id)
    name = file_name(plan.title, "sachstaende", local_today().isoformat(), fmt)
    return tables_file(_tables(writing.history_tables, plan_id), fmt, name, csv_table=1)


@bp.get("/plaene/<int:plan_id>/sachstandsvorlage.<any(xlsx, ods):fmt>")
@requires(Action.RUN_ROUNDS)
def status_template(plan_id: int, fmt: str) -> Response:
    """A workbook for lead offices: their measures listed, answers to fill in."""
    plan = _plan(plan_id)
    lead = request.args.get("federfuehrung", "")[:200]
    tables = _tables(writing.status_template, plan_id, lead)
    what = f"sachstandsvorlage-{_slug(lead)}" if lead else "sachstandsvorlage"
    return tables_file(tables, fmt, file_name(plan.title, what, local_today().isoformat(),
                                                fmt))


@bp.get("/plaene/<int:plan_id>/massnahmen.<any(xlsx, ods, csv):fmt>")
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
    name = file_name(view.report.plan.title, "massnahmen", view.stand.isoformat(), fmt)
    return tables_file(tables, fmt, name)

"""Issuing reports: a request is a queued row; a worker renders it outside any web request.

Rendering takes seconds to minutes (WeasyPrint), so a web worker must never wait for it;
the job table pattern is in :mod:`hki.queue`. The same worker writes confirmed imports
(:mod:`hki.transfer.jobs`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from hki.auth.models import User
from hki.db import AnySession, utcnow
from hki.i18n import local_today
from hki.plan.models import Plan
from hki.queue import claim, requeue_interrupted
from hki.reports.data import gather
from hki.reports.models import Report, ReportState
from hki.reports.narrative import Narrative, draft_narrative
from hki.reports.render import pdf_from_html, render_pdf_pages
from hki.updates import notifications
from hki.vocab import ReportKind

log = logging.getLogger(__name__)


def _render(report: Report) -> tuple[bytes, int]:
    """The PDF of a Sachstandsbericht, or of an Abschlussbericht."""
    if report.kind is ReportKind.FINAL:
        from hki.revision.final import gather_final, render_final_html

        return pdf_from_html(render_final_html(gather_final(
            report.plan_id, report.known_at, Narrative.from_json(report.narrative))))
    return render_pdf_pages(gather(report.plan_id, report.stichtag, report.known_at,
                                   compare_with=report.compare_with,
                                   narrative=Narrative.from_json(report.narrative)))


def request_final(session: AnySession, plan: Plan, user: User) -> Report:
    """Queue the Abschlussbericht: Stichtag is the plan's last day, K this moment.

    Like a Sachstandsbericht it takes a copy of the texts written for its Stichtag.
    """
    narrative = draft_narrative(session, plan.id, plan.valid_to)
    report = Report(plan=plan, requested_by=user, stichtag=plan.valid_to, known_at=utcnow(),
                    kind=ReportKind.FINAL, narrative=narrative.as_json())
    session.add(report)
    session.flush()
    return report


def request_report(session: AnySession, plan: Plan, user: User, stichtag: date,
                   compare_with: date | None) -> Report:
    """Queue a report for Stichtag ``stichtag``; its Kenntnisstand is this moment.

    It takes a copy of the texts written for this Stichtag: later edits do not change it.
    """
    narrative = draft_narrative(session, plan.id, stichtag)
    report = Report(plan=plan, requested_by=user, stichtag=stichtag, known_at=utcnow(),
                    compare_with=compare_with, narrative=narrative.as_json())
    session.add(report)
    session.flush()
    return report


def requested_for(session: AnySession, plan_id: int, stichtag: date, kind: ReportKind
                  ) -> list[Report]:
    """Every report of the plan and kind requested for the Stichtag, failed ones too.

    One query, so that the reports a request sees and their count are one snapshot: a
    request that saw none must not count the one a parallel request has just issued.
    """
    return list(session.scalars(
        select(Report).where(Report.plan_id == plan_id, Report.stichtag == stichtag,
                             Report.kind == kind).order_by(Report.id)))


def not_failed(reports: list[Report]) -> list[Report]:
    """The reports that exist or are being made (a failed one never became a report)."""
    return [r for r in reports if r.state is not ReportState.FAILED]


def same_stichtag(session: AnySession, plan_id: int, stichtag: date) -> list[Report]:
    """Sachstandsberichte of the plan for that Stichtag that exist or are being made."""
    return not_failed(requested_for(session, plan_id, stichtag, ReportKind.PROGRESS))


def issue_key(plan_id: int, stichtag: date, kind: ReportKind, issued: int) -> str:
    """"The report after ``issued`` ones of this plan and kind for this Stichtag".

    Claimed in the submissions table by the request that issues it: requests that saw the
    same reports (parallel tabs, a double click on a fresh form) issue one report between
    them; another one needs the confirmation, which names the count it was shown, so three
    tabs confirming the second report issue one. A retry after a failure gets a new count.
    """
    return f"bericht:{kind.value}:{plan_id}:{stichtag.isoformat()}:{issued}"


def previous_stichtag(session: AnySession, plan_id: int, before: date) -> date | None:
    """The Stichtag of the latest finished report before ``before``: the default base."""
    return session.scalar(
        select(Report.stichtag).where(Report.plan_id == plan_id, Report.stichtag < before,
                                      Report.kind == ReportKind.PROGRESS,
                                      Report.state == ReportState.DONE)
        .order_by(Report.stichtag.desc()).limit(1))


def run_once(session: AnySession) -> Report | None:
    """Render one queued report; store PDF and checksum in one commit, or the failure."""
    report = claim(session, Report)
    if report is None:
        return None
    report_id = report.id
    try:
        pdf, pages = _render(report)
    except Exception as error:  # any failure ends as a German message, nothing half-stored
        log.exception("Bericht %s konnte nicht erstellt werden", report_id)
        session.rollback()
        failed = session.get_one(Report, report_id)
        failed.state = ReportState.FAILED
        failed.finished_at = utcnow()
        failed.error = _("Der Bericht konnte nicht erstellt werden (%(kind)s). Bitte versuchen "
                         "Sie es erneut oder wenden Sie sich an die IT.",
                         kind=type(error).__name__)
        session.commit()
        return failed
    report.pdf, report.pages = pdf, pages
    report.sha256 = hashlib.sha256(pdf).hexdigest()
    report.state, report.finished_at = ReportState.DONE, utcnow()
    session.commit()
    return report


def work(session: AnySession, *, poll_seconds: float, once: bool) -> None:
    """The worker loop: reports, then confirmed imports, then pending mails; then wait."""
    from hki.transfer import jobs as imports

    requeue_interrupted(session, Report)
    imports.fail_interrupted(session)
    while True:
        done = run_once(session)
        if done is not None:
            log.info("Bericht %s: %s", done.id, done.state.value)
            continue
        written = imports.run_once(session)
        if written is not None:
            log.info("Import %s: %s", written.id, written.state.value)
            continue
        _notify(session)
        if once:
            return
        time.sleep(poll_seconds)


def _notify(session: AnySession) -> None:
    """The mails that follow update rounds (hki.updates.notifications), between reports."""
    try:
        result = notifications.run(session, local_today())
    except Exception:  # a mail problem must never stop the reports
        session.rollback()
        log.exception("Benachrichtigungen konnten nicht verarbeitet werden")
        return
    if result.sent or result.failed:
        log.info("Mails: %s gesendet, %s fehlgeschlagen", result.sent, result.failed)

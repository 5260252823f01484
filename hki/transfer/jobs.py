"""Confirmed imports, written by the worker outside any web request.

The preview (the check) runs in the request: it is bounded by the limits of
:mod:`hki.transfer.scanning` and writes nothing. Writing is what takes long – a plan of
10,000 measures with its audit entries needs half a minute – so the confirmation queues an
:class:`~hki.transfer.models.ImportJob` and the worker that renders reports checks the
file again (the database may have changed since the preview) and writes it in one
transaction, or records why not. The page the confirmation leads to follows its state.
"""

from __future__ import annotations

import gc
import hashlib
import logging

from flask_babel import gettext as _
from sqlalchemy import select

from hki.auth.models import User
from hki.db import AnySession, utcnow
from hki.queue import claim
from hki.reports.models import ReportState
from hki.transfer import importing
from hki.transfer.models import ImportJob

log = logging.getLogger(__name__)
#: Problems kept with a failed job (the page shows them; the file had more).
KEPT_PROBLEMS = 300


def queue(session: AnySession, token: str, data: bytes, filename: str,
          plan_title: str | None, user: User) -> ImportJob:
    """Queue the waiting upload ``token`` for the worker; never commits."""
    job = ImportJob(token=token, filename=filename, plan_title=plan_title, data=data,
                    sha256=hashlib.sha256(data).hexdigest(), requested_by=user)
    session.add(job)
    session.flush()
    return job


def run_once(session: AnySession) -> ImportJob | None:
    """Check and write one queued import in one transaction, or record why it failed."""
    job = claim(session, ImportJob)
    if job is None:
        return None
    job_id = job.id
    try:
        check = importing.check_import(session, job.data or b"", job.filename, job.plan_title)
        # The workbook the check read is garbage now, but its objects point at each other:
        # free them before writing, so their memory serves the write instead of adding up.
        gc.collect()
        if check.ok:
            job.data_import = importing.apply_import(session, check, job.requested_by)
            job.state = ReportState.DONE
        else:
            session.rollback()
            job = session.get_one(ImportJob, job_id)
            job.problems = [str(p) for p in check.errors[:KEPT_PROBLEMS]]
    except Exception as error:  # any failure ends as a German message, nothing half-stored
        log.exception("Import %s konnte nicht ausgeführt werden", job_id)
        session.rollback()
        job = session.get_one(ImportJob, job_id)
        job.problems = [_("Der Import konnte nicht ausgeführt werden (%(kind)s). Bitte "
                          "versuchen Sie es erneut oder wenden Sie sich an die IT.",
                          kind=type(error).__name__)]
    if job.state is not ReportState.DONE:
        job.state = ReportState.FAILED
    job.finished_at = utcnow()
    job.data = None  # the import keeps the file's SHA-256; the bytes are not needed again
    session.commit()
    return job


def fail_interrupted(session: AnySession) -> int:
    """Imports a stopped worker left running end as failed, not queued again.

    A file that killed the worker (memory, a crash) would kill it again on every start and
    hold up reports and mails behind it; the coordinator uploads it again if it was only a
    restart.
    """
    interrupted = list(session.scalars(select(ImportJob).where(
        ImportJob.state == ReportState.RUNNING)))
    for job in interrupted:
        job.state, job.finished_at, job.data = ReportState.FAILED, utcnow(), None
        job.problems = [_("Der Import wurde unterbrochen (der Hintergrunddienst wurde neu "
                          "gestartet). Es wurde nichts gespeichert; bitte laden Sie die Datei "
                          "erneut hoch.")]
    session.commit()
    return len(interrupted)

"""The job table pattern shared by reports and imports: a row is its own job.

Why rows and not a queue library: the job's state is what the page shows (queued,
running, done, failed), it lives in the app's own database on SQLite and PostgreSQL
alike, goes through the app's migrations and backups, and needs no broker.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select, update

from hki.db import AnySession
from hki.extensions import Model
from hki.reports.models import ReportState

#: A model with an integer ``id`` and a ``state`` of :class:`ReportState`.
J = TypeVar("J", bound=Model)


def claim(session: AnySession, model: type[J]) -> J | None:
    """Take the oldest queued row; a conditional UPDATE keeps two workers apart."""
    table: Any = model
    job_id = session.scalar(select(table.id).where(table.state == ReportState.QUEUED)
                            .order_by(table.id).limit(1))
    if job_id is None:
        return None
    claimed = session.execute(
        update(table).where(table.id == job_id, table.state == ReportState.QUEUED)
        .values(state=ReportState.RUNNING).execution_options(synchronize_session=False))
    session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(model, job_id)


def requeue_interrupted(session: AnySession, model: type[Model]) -> int:
    """Put rows that a stopped worker left running back in the queue (one worker)."""
    table: Any = model
    result = session.execute(update(table).where(table.state == ReportState.RUNNING)
                             .values(state=ReportState.QUEUED)
                             .execution_options(synchronize_session=False))
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]

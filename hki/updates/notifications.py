"""Mails that follow an update round: opened, due soon, overdue, answer returned.

An outbox. What causes a mail writes a :class:`~hki.updates.models.Notification` per
person in its own transaction (opening a round, returning an answer); a daily schedule
adds the reminders before and after the due date. :func:`run` – called by the worker
between reports and by ``flask hki notify`` – sends what is pending, one mail per person
and occasion (a unique constraint says "at most once"), and tries again later when the
mail server fails. Mails go only to office accounts that can log in (active, with a
password), so that the link in them works; the round pages name the offices that have
none.

Texts are templates (``templates/mail/``), plain text and HTML with the same content.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from hki.auth.models import User
from hki.db import AnySession, utcnow
from hki.i18n import datum
from hki.mail import MailError, compose, send_messages
from hki.plan.models import Measure, Organisation
from hki.revision.models import RevisionQuery
from hki.updates.models import Notification, Occasion, StatusUpdate, UpdateRound
from hki.updates.queries import plan_measure_ids
from hki.updates.rounds import Answer, round_measures
from hki.vocab import Decision, PlanState, Role

log = logging.getLogger(__name__)

#: Days before the due date on which offices with open measures are reminded.
DUE_SOON_DAYS = 3
#: Failed sends after which a notification is given up (and stays visible as failed).
MAX_ATTEMPTS = 5
#: Notifications sent per run, so that one run never blocks the worker for long.
BATCH = 200
_SUBJECTS = {
    Occasion.ROUND_OPENED: "Sachstandsabfrage „{title}“: bitte bis {due} antworten",
    Occasion.DUE_SOON: "Erinnerung: Sachstandsabfrage „{title}“ – Frist {due}",
    Occasion.OVERDUE: "Frist abgelaufen: Sachstandsabfrage „{title}“ ({due})",
    Occasion.RETURNED: "Sachstand {number} zurückgegeben: bitte ergänzen",
    Occasion.REVISION_OPENED: "Fortschreibung „{title}“: Ihre Vorschläge bis {due}",
}


def login_capable(session: AnySession, organisation_ids: Iterable[int]) -> dict[int, list[User]]:
    """The office accounts per organisation that can log in (active, with a password)."""
    ids = set(organisation_ids)
    found: dict[int, list[User]] = defaultdict(list)
    if not ids:
        return found
    for user in session.scalars(
            select(User).where(User.organisation_id.in_(ids), User.role == Role.OFFICE,
                               User.is_active, User.password_hash.is_not(None),
                               User.password_hash != "").order_by(User.email)):
        if user.organisation_id is not None:
            found[user.organisation_id].append(user)
    return found


def offices_without_login(session: AnySession, plan_id: int) -> list[str]:
    """Lead offices of the plan's measures that no mail can reach (nobody can log in).

    Shown to the coordinator before she opens a round and on the round's page.
    """
    offices = set(session.scalars(select(Organisation).where(
        Organisation.id.in_(select(Measure.lead_organisation_id).where(
            Measure.id.in_(plan_measure_ids(plan_id)))))))
    reachable = login_capable(session, (o.id for o in offices))
    return sorted((o.name for o in offices if not reachable.get(o.id)), key=str.casefold)


def _enqueue(session: AnySession, occasion: Occasion, subject: str, users: Iterable[User], *,
             rnd: UpdateRound | None = None, update: StatusUpdate | None = None) -> int:
    """One notification per user not yet notified of this occasion and subject."""
    done = set(session.scalars(select(Notification.user_id).where(
        Notification.occasion == occasion, Notification.subject == subject)))
    added = 0
    for user in users:
        if user.id not in done:
            session.add(Notification(occasion=occasion, subject=subject, user=user,
                                     round=rnd, update=update))
            done.add(user.id)
            added += 1
    session.flush()
    return added


def enqueue_round_opened(session: AnySession, rnd: UpdateRound) -> int:
    """Tell every office the round asks about (in the transaction that opens it)."""
    offices = {row.measure.lead_organisation_id for row in round_measures(rnd)}
    users = [u for users in login_capable(session, offices).values() for u in users]
    return _enqueue(session, Occasion.ROUND_OPENED, f"round:{rnd.id}", users, rnd=rnd)


def enqueue_revision_opened(session: AnySession, query: RevisionQuery) -> int:
    """Tell every office that leads measures of the old plan (once per query and person)."""
    old = query.plan.predecessor
    if old is None:
        return 0
    offices = set(session.scalars(select(Measure.lead_organisation_id).where(
        Measure.id.in_(plan_measure_ids(old.id)), Measure.archived_at.is_(None))))
    users = [u for users in login_capable(session, offices).values() for u in users]
    return _enqueue(session, Occasion.REVISION_OPENED, f"revision:{query.id}", users)


def enqueue_returned(session: AnySession, update: StatusUpdate) -> int:
    """Tell the lead office that its answer came back with a comment."""
    lead = update.measure.lead_organisation_id
    users = login_capable(session, [lead]).get(lead, [])
    return _enqueue(session, Occasion.RETURNED, f"update:{update.id}", users, update=update)


def schedule(session: AnySession, today: date) -> int:
    """Add the reminders due ``today``: before the due date, and once it has passed.

    Only offices that still have open measures in an open round of an open plan; each
    person gets each reminder of a round once, however often this runs.
    """
    added = 0
    rounds = session.scalars(select(UpdateRound).where(UpdateRound.closed_at.is_(None))
                             .options(joinedload(UpdateRound.plan)))
    for rnd in rounds:
        if rnd.plan.state is PlanState.CLOSED:
            continue
        if rnd.due_date - timedelta(days=DUE_SOON_DAYS) <= today <= rnd.due_date:
            occasion = Occasion.DUE_SOON
        elif today > rnd.due_date:
            occasion = Occasion.OVERDUE
        else:
            continue
        open_offices = {row.measure.lead_organisation_id for row in round_measures(rnd)
                        if row.answer is Answer.OPEN}
        users = [u for users in login_capable(session, open_offices).values() for u in users]
        added += _enqueue(session, occasion, f"round:{rnd.id}", users, rnd=rnd)
    return added


@dataclass(frozen=True)
class SendResult:
    """What one run sent, skipped (no longer needed) and could not send."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    error: str = ""


def send_pending(session: AnySession, today: date) -> SendResult:
    """Send pending notifications, committing after each (a job, like the report worker).

    A notification no longer needed when its turn comes (the office answered everything,
    the round was closed, the returned answer was answered) is marked done without a mail.
    When the mail server fails, the run stops; the notification is tried again next time.
    """
    pending = session.scalars(
        select(Notification).where(Notification.sent_at.is_(None),
                                   Notification.attempts < MAX_ATTEMPTS)
        .order_by(Notification.id).limit(BATCH)).all()
    sent = skipped = 0
    for notification in pending:
        message = _message(session, notification, today)
        if message is None:
            notification.sent_at, notification.last_error = utcnow(), "nicht mehr nötig"
            session.commit()
            skipped += 1
            continue
        try:
            send_messages([message])
        except MailError as error:
            session.rollback()
            failed = session.get_one(Notification, notification.id)
            failed.attempts += 1
            failed.last_error = str(error)[:1000]
            session.commit()
            log.warning("Mail %s nicht gesendet: %s", notification.id, error)
            return SendResult(sent, skipped, 1, str(error))
        notification.sent_at = utcnow()
        session.commit()
        sent += 1
    return SendResult(sent, skipped)


def run(session: AnySession, today: date) -> SendResult:
    """The daily schedule, then the outbox (what the worker and ``hki notify`` call)."""
    schedule(session, today)
    session.commit()
    return send_pending(session, today)


def _message(session: AnySession, n: Notification, today: date) -> EmailMessage | None:
    """The mail for one notification, or ``None`` if it is no longer needed."""
    user, rnd, update = n.user, n.round, n.update
    if not user.is_active:
        return None
    base = current_app.config["HKI_BASE_URL"].rstrip("/")
    context: dict[str, object] = {"user": user, "base": base, "today": today,
                                  "occasion": n.occasion.value}
    if n.occasion is Occasion.REVISION_OPENED:
        return _revision_message(session, n, user, context)
    if n.occasion is Occasion.RETURNED:
        if update is None or update.review is None or \
                update.review.decision is not Decision.RETURNED or _answered_since(
                    session, update):
            return None
        subject = _SUBJECTS[n.occasion].format(number=update.measure.number)
        context.update(update=update, link=f"{base}/massnahmen/{update.measure_id}/sachstand")
        reply_to = update.review.reviewer.email
    else:
        if rnd is None or rnd.closed_at is not None:
            return None
        rows = round_measures(rnd, lead_organisation_id=user.organisation_id)
        if n.occasion is not Occasion.ROUND_OPENED:
            rows = [row for row in rows if row.answer is Answer.OPEN]
        if not rows:
            return None
        title = " ".join(rnd.title.split())  # a line break in a header would be refused
        subject = _SUBJECTS[n.occasion].format(title=title, due=datum(rnd.due_date))
        context.update(rnd=rnd, rows=rows, link=f"{base}/meine-massnahmen",
                       organisation=session.get(Organisation, user.organisation_id))
        reply_to = rnd.opened_by.email
    name = f"mail/{n.occasion.value}"
    return compose(to=[user.email], subject=subject,
                   text=render_template(f"{name}.txt", **context),
                   html=render_template(f"{name}.html", **context), reply_to=reply_to)


def _revision_message(session: AnySession, n: Notification, user: User,
                      context: dict[str, object]) -> EmailMessage | None:
    """The invitation to propose, while the Fortschreibungsabfrage is open."""
    from hki.revision import participation  # the Fortschreibung builds on the rounds

    query = session.get(RevisionQuery, int(n.subject.split(":", 1)[1]))
    if query is None or not participation.is_open(query) or user.organisation_id is None:
        return None
    rows = participation.office_rows(session, query.plan, user.organisation_id)
    if not rows:
        return None
    title = " ".join(query.plan.title.split())
    context.update(query=query, rows=rows, organisation=session.get(
        Organisation, user.organisation_id),
        link=f"{context['base']}/fortschreibung/{query.plan_id}/vorschlaege")
    return compose(to=[user.email],
                   subject=_SUBJECTS[n.occasion].format(title=title, due=datum(query.due_date)),
                   text=render_template("mail/revision_opened.txt", **context),
                   html=render_template("mail/revision_opened.html", **context),
                   reply_to=query.opened_by.email)


def _answered_since(session: AnySession, update: StatusUpdate) -> bool:
    """Something was recorded for the measure after the returned answer."""
    return session.scalar(select(StatusUpdate.id).where(
        StatusUpdate.measure_id == update.measure_id,
        StatusUpdate.recorded_at > update.recorded_at).limit(1)) is not None

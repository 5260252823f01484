"""Reminder mails for a Sachstandsabfrage: one mail per office listing its open measures.

At most one reminder per office, round and (local) day: the ``reminders`` table's unique
constraint enforces it, so a second click, a second coordinator or a retry the same day
mails nobody twice. The rows are written and flushed *before* sending, so that

- a concurrent send of the same day fails on the constraint (``IntegrityError``) before
  any mail leaves, and
- a failed send (:class:`~hki.mail.MailError`) is undone by the caller's rollback, and the
  offices can be reminded again at once.

If the server fails midway, offices mailed before the failure may get a second mail on
retry: a duplicate reminder is the lesser evil than one that was never sent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select

from hki.auth.models import User
from hki.db import AnySession
from hki.i18n import datum
from hki.mail import compose, send_messages
from hki.plan.models import Organisation
from hki.updates.models import Reminder, UpdateRound
from hki.updates.notifications import login_capable
from hki.updates.rounds import RoundMeasure, open_by_office, round_measures

#: Path of the page "Meine offenen Maßnahmen", appended to ``HKI_BASE_URL``.
MY_OPEN_PATH = "/meine-massnahmen"


@dataclass(frozen=True)
class OfficeMailed:
    """An office that got a reminder now."""

    name: str
    recipients: tuple[str, ...]
    measure_count: int


@dataclass(frozen=True)
class ReminderResult:
    """What a send did, so the coordinator sees who was reminded and who cannot be.

    ``already_reminded`` and ``without_recipients`` hold office names; an office without
    active office users gets no mail and needs the coordinator's attention.
    """

    mailed: tuple[OfficeMailed, ...]
    already_reminded: tuple[str, ...]
    without_recipients: tuple[str, ...]

    @property
    def sent(self) -> int:
        """Number of mails sent."""
        return len(self.mailed)

    def messages(self) -> list[str]:
        """German lines for the coordinator, one per kind of outcome."""
        lines = []
        if self.mailed:
            offices = ", ".join(f"{o.name} ({_count(o.measure_count)})" for o in self.mailed)
            lines.append(f"Erinnerung versandt an: {offices}.")
        if self.already_reminded:
            lines.append("Heute bereits erinnert, daher nicht erneut: "
                         f"{', '.join(self.already_reminded)}.")
        if self.without_recipients:
            lines.append("Keine Mail möglich (kein Fachstellen-Konto, mit dem sich jemand "
                         "anmelden kann): "
                         f"{', '.join(self.without_recipients)}. Bitte ein Konto anlegen "
                         "oder die Organisation direkt ansprechen.")
        if not lines:
            lines.append("Alle Maßnahmen haben einen Sachstand; es war keine Erinnerung nötig.")
        return lines


def send_reminders(
    session: AnySession, rnd: UpdateRound, sender: User, today: date
) -> ReminderResult:
    """Remind every office with open measures in ``rnd`` that was not reminded ``today``.

    ``today`` is the local (Europe/Berlin) date, the unit of "not twice". Writes one
    :class:`Reminder` per office mailed and flushes, never commits: the caller commits on
    success and rolls back on :class:`~hki.mail.MailError` or ``IntegrityError``, both of
    which propagate.
    """
    open_measures = open_by_office(round_measures(rnd))
    offices = sorted(open_measures, key=lambda org: org.name)
    reminded = set(session.scalars(
        select(Reminder.organisation_id)
        .where(Reminder.round_id == rnd.id, Reminder.sent_on == today)
    ))
    recipients = _recipients([org.id for org in offices if org.id not in reminded], session)

    mailed: list[OfficeMailed] = []
    messages = []
    for org in offices:
        if org.id in reminded or not recipients[org.id]:
            continue
        rows = open_measures[org]
        to = tuple(recipients[org.id])
        messages.append(_message(rnd, org, rows, to, sender, today))
        session.add(Reminder(round_id=rnd.id, organisation_id=org.id, sent_on=today,
                             sent_by_id=sender.id, recipients=", ".join(to),
                             measure_count=len(rows)))
        mailed.append(OfficeMailed(name=org.name, recipients=to, measure_count=len(rows)))
    session.flush()  # the unique constraint speaks now, before any mail leaves
    send_messages(messages)
    return ReminderResult(
        mailed=tuple(mailed),
        already_reminded=tuple(org.name for org in offices if org.id in reminded),
        without_recipients=tuple(org.name for org in offices
                                 if org.id not in reminded and not recipients[org.id]),
    )


def _recipients(
    organisation_ids: list[int], session: AnySession
) -> dict[int | None, list[str]]:
    """Addresses of the office accounts that can log in, per organisation (one query).

    An account without a password could not follow the mail's link: its office counts as
    one without recipients, and the coordinator is told so.
    """
    result: dict[int | None, list[str]] = defaultdict(list)
    for org_id, users in login_capable(session, organisation_ids).items():
        result[org_id] = [u.email for u in users]
    return result


def _count(n: int) -> str:
    """"1 Maßnahme", "3 Maßnahmen"."""
    return f"{n} Maßnahme" if n == 1 else f"{n} Maßnahmen"


def _message(
    rnd: UpdateRound, org: Organisation, rows: list[RoundMeasure], to: tuple[str, ...],
    sender: User, today: date,
) -> EmailMessage:
    """The reminder for one office, as plain text and as HTML with the same content.

    Replies go to the coordinator who sent it (Reply-To), not to the technical sender.
    """
    title = " ".join(rnd.title.split())  # a line break in a header would be refused
    due = datum(rnd.due_date)
    link = current_app.config["HKI_BASE_URL"].rstrip("/") + MY_OPEN_PATH
    count = _count(len(rows))
    lines = [f"{r.measure.number} {r.measure.title}" for r in rows]
    if today > rnd.due_date:
        ask = f"Die Frist ist am {due} abgelaufen. Bitte tragen Sie den Sachstand so bald wie "
        ask += "möglich unter „Meine offenen Maßnahmen“ ein:"
    else:
        ask = f"Bitte tragen Sie den Sachstand bis zum {due} unter „Meine offenen Maßnahmen“ ein:"
    intro = (f"in der Sachstandsabfrage „{title}“ fehlt für {count} Ihrer Organisation "
             f"({org.name}) noch ein Sachstand.")
    dates = [f"Stichtag: {datum(rnd.stichtag)}", f"Frist: {due}"]
    closing = "Bei Fragen antworten Sie einfach auf diese Mail."

    text = "\n".join([
        "Guten Tag,", "", intro, "", *dates, "", "Offene Maßnahmen:",
        *(f"- {line}" for line in lines), "", ask, link, "", closing, "",
        "Mit freundlichen Grüßen", sender.display_name, "",
    ])
    html = Markup("\n").join([
        Markup('<!DOCTYPE html>\n<html lang="de"><head><meta charset="utf-8"></head><body>'),
        Markup("<p>Guten Tag,</p>"),
        Markup("<p>{}</p>").format(intro),
        Markup("<p>{}<br>{}</p>").format(*dates),
        Markup("<p>Offene Maßnahmen:</p>"),
        Markup("<ul>"),
        *(Markup("<li>{}</li>").format(line) for line in lines),
        Markup("</ul>"),
        Markup('<p>{}<br><a href="{}">{}</a></p>').format(ask, link, link),
        Markup("<p>{}</p>").format(closing),
        Markup("<p>Mit freundlichen Grüßen<br>{}</p>").format(sender.display_name),
        Markup("</body></html>\n"),
    ])
    subject = f"Sachstandsabfrage „{title}“: {count} ohne Sachstand – Frist {due}"
    return compose(to=to, subject=subject, text=text, html=str(html), reply_to=sender.email)

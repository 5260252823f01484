"""Outgoing mail over SMTP, with the standard library only.

``smtplib`` and ``email.message.EmailMessage`` do everything hki needs (one connection,
optional STARTTLS and login, multipart text + HTML): SMTP is a solved problem in the
standard library, so there is no extra dependency to keep up to date, and Flask-Mail, the
usual add-on, is unmaintained. Settings come from the ``HKI_SMTP_*`` / ``HKI_MAIL_FROM``
configuration (see :mod:`hki.config`).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import current_app

log = logging.getLogger(__name__)


class MailError(Exception):
    """Mail could not be sent; ``str(error)`` is German and may be shown to the user as is."""


@dataclass(frozen=True)
class MailSettings:
    """Where and how to deliver mail."""

    host: str
    port: int
    user: str
    password: str
    starttls: bool
    timeout: float
    sender: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        """Read the settings from a Flask configuration."""
        return cls(
            host=config["HKI_SMTP_HOST"],
            port=int(config["HKI_SMTP_PORT"]),
            user=config["HKI_SMTP_USER"],
            password=config["HKI_SMTP_PASSWORD"],
            starttls=bool(config["HKI_SMTP_STARTTLS"]),
            timeout=float(config["HKI_SMTP_TIMEOUT"]),
            sender=config["HKI_MAIL_FROM"],
        )


def compose(
    *, to: Sequence[str], subject: str, text: str, html: str, reply_to: str | None = None,
    settings: MailSettings | None = None,
) -> EmailMessage:
    """A multipart/alternative message: plain text for every client, HTML for the rest.

    The sender is the configured ``HKI_MAIL_FROM``, so that relays accept it; ``reply_to``
    lets answers reach the person who caused the mail.
    """
    settings = settings or MailSettings.from_config(current_app.config)
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = ", ".join(to)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def send_messages(
    messages: Sequence[EmailMessage], settings: MailSettings | None = None
) -> None:
    """Send the messages over one connection; nothing is done for an empty list.

    Raises :class:`MailError` (German text) when the server cannot be reached, refuses the
    login or a message. If that happens after some messages went out, those stay sent;
    the error says how many. Single refused recipients of a message that others accepted
    are only logged: a relay usually accepts everything and bounces later anyway.
    """
    if not messages:
        return
    settings = settings or MailSettings.from_config(current_app.config)
    where = f"{settings.host}:{settings.port}"
    try:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(
            f"Der Mailserver ist nicht erreichbar ({where}): {error}. "
            "Es wurde keine Mail versandt."
        ) from error
    sent = 0
    try:
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password)
        for msg in messages:
            refused = smtp.send_message(msg)
            if refused:
                log.warning("Empfänger abgelehnt: %s", ", ".join(sorted(refused)))
            sent += 1
    except smtplib.SMTPAuthenticationError as error:
        raise MailError(
            f"Der Mailserver ({where}) hat die Anmeldung abgelehnt; bitte HKI_SMTP_USER und "
            "HKI_SMTP_PASSWORD prüfen. Es wurde keine Mail versandt."
        ) from error
    except (OSError, smtplib.SMTPException) as error:
        done = ("Es wurde keine Mail versandt." if sent == 0
                else f"{sent} von {len(messages)} Mails wurden bereits versandt.")
        raise MailError(f"Der Versand über den Mailserver ({where}) ist fehlgeschlagen: "
                        f"{error}. {done}") from error
    finally:
        _hang_up(smtp)


def _hang_up(smtp: smtplib.SMTP) -> None:
    """Say goodbye; once the messages are accepted, a failing QUIT changes nothing."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()

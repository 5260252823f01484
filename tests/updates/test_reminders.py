"""Reminder mails, delivered to a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from flask import Flask
from sqlalchemy import func, select

from hki.auth.models import User
from hki.extensions import db
from hki.mail import MailError
from hki.plan.models import Measure, Organisation
from hki.security import hash_password
from hki.updates.models import Reminder, UpdateRound
from hki.updates.reminders import send_reminders
from hki.updates.rounds import open_round
from hki.vocab import Role
from tests.factories import Factories

TODAY = date(2024, 7, 10)
PASSWORD_HASH = hash_password("Erinnerung-2024!")


@dataclass
class Delivered:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None


@dataclass
class Mailbox:
    """Keeps what the server received; the test reads it after sending."""

    port: int
    delivered: list[Delivered] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802 (the name aiosmtpd calls)
        self, server: Any, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        auth: Any = session.auth_data  # the LoginPassword that authenticate() accepted
        login = auth.login.decode() if session.authenticated else None
        self.delivered.append(Delivered(envelope.mail_from or "", list(envelope.rcpt_tos),
                                        message, login))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [d.message for d in self.delivered if address in d.rcpt_tos]


def free_port() -> int:
    """A port nothing listens on (the OS picks one; it is free again after closing)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"geheim"
    # handled=False: the server answers 535 itself (else it would wait for us to).
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def run_server(app: Flask, **kwargs: Any) -> Iterator[Mailbox]:
    """Start the server in its thread, point the app at it, stop it cleanly afterwards."""
    mailbox = Mailbox(port=free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port, **kwargs)
    controller.start()
    app.config.update(HKI_SMTP_HOST="127.0.0.1", HKI_SMTP_PORT=mailbox.port,
                      HKI_SMTP_TIMEOUT=5, HKI_MAIL_FROM="hki@stadt.example",
                      HKI_BASE_URL="https://hki.stadt.example/")
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def smtp(app: Flask) -> Iterator[Mailbox]:
    yield from run_server(app)


@pytest.fixture
def smtp_with_login(app: Flask) -> Iterator[Mailbox]:
    # Plain-text AUTH is fine on loopback; production uses STARTTLS (HKI_SMTP_STARTTLS).
    yield from run_server(app, authenticator=authenticate, auth_require_tls=False)


@dataclass
class Scenario:
    rnd: UpdateRound
    coordinator: User
    jugendamt: Organisation
    vhs: Organisation
    verein: Organisation
    open_measures: dict[str, list[Measure]]


@pytest.fixture
def scenario(make: Factories) -> Scenario:
    """Three offices with open measures (one without accounts), one with none open."""
    plan = make.plan(valid_from=date(2024, 1, 1), valid_to=date(2028, 12, 31))
    goal = make.goal(make.field(plan))
    jugendamt = make.organisation("Jugendamt")
    vhs = make.organisation("Volkshochschule")
    verein = make.organisation("Verein ohne Konto")
    fertig = make.organisation("Sozialamt")
    coordinator = make.user(role=Role.COORDINATOR, email="koordination@stadt.example",
                            display_name="Kommunales Integrationsmanagement")

    # Accounts that can log in (a password); the Verein's only ones cannot.
    can_log_in = {"password_hash": PASSWORD_HASH}
    make.user(role=Role.OFFICE, organisation=jugendamt, email="b.jugend@stadt.example",
              **can_log_in)
    make.user(role=Role.OFFICE, organisation=jugendamt, email="a.jugend@stadt.example",
              **can_log_in)
    make.user(role=Role.OFFICE, organisation=jugendamt, email="alt@stadt.example",
              is_active=False, **can_log_in)
    make.user(role=Role.READER, organisation=jugendamt, email="leser@stadt.example",
              **can_log_in)
    make.user(role=Role.OFFICE, organisation=vhs, email="vhs@stadt.example", **can_log_in)
    make.user(role=Role.OFFICE, organisation=fertig, email="sozial@stadt.example", **can_log_in)
    make.user(role=Role.OFFICE, organisation=verein, email="ehemals@verein.example",
              is_active=False, **can_log_in)
    make.user(role=Role.OFFICE, organisation=verein, email="ohne.passwort@verein.example")

    j_open = make.measure(goal, lead=jugendamt, title="Elterncafés")
    j_done = make.measure(goal, lead=jugendamt, title="Sprachmittlerpool")
    j_tricky = make.measure(goal, lead=jugendamt, title='<b>Sprache</b> & "Kultur"')
    v_open = make.measure(goal, lead=vhs, title="Integrationskurse")
    v_submitted = make.measure(goal, lead=vhs, title="Alphabetisierung")
    r_open = make.measure(goal, lead=verein, title="Patenschaften")
    s_done = make.measure(goal, lead=fertig, title="Beratung")

    make.update(j_done, as_of=date(2024, 6, 1))
    make.update(v_submitted, as_of=date(2024, 6, 15), accepted=False)
    make.update(s_done, as_of=date(2024, 5, 1))
    make.update(j_open, as_of=date(2023, 12, 1))  # before the period: still open

    rnd = open_round(db.session, plan, coordinator, title="Sachstand 1. Halbjahr 2024",
                     period_start=date(2024, 1, 1), stichtag=date(2024, 6, 30),
                     due_date=date(2024, 7, 31))
    make.commit()  # so that a rollback after a failed send takes only the reminders
    return Scenario(rnd=rnd, coordinator=coordinator, jugendamt=jugendamt, vhs=vhs,
                    verein=verein,
                    open_measures={"Jugendamt": [j_open, j_tricky], "Volkshochschule": [v_open],
                                   "Verein ohne Konto": [r_open]})


def reminders() -> list[Reminder]:
    return list(db.session.scalars(select(Reminder).order_by(Reminder.sent_on, Reminder.id)))


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and the HTML body."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_one_mail_per_office_to_its_active_office_users(
    smtp: Mailbox, scenario: Scenario
) -> None:
    result = send_reminders(db.session, scenario.rnd, scenario.coordinator, TODAY)

    assert sorted(tuple(d.rcpt_tos) for d in smtp.delivered) == [
        ("a.jugend@stadt.example", "b.jugend@stadt.example"),
        ("vhs@stadt.example",),
    ]
    assert all(d.mail_from == "hki@stadt.example" and d.login is None for d in smtp.delivered)
    assert [(o.name, o.recipients, o.measure_count) for o in result.mailed] == [
        ("Jugendamt", ("a.jugend@stadt.example", "b.jugend@stadt.example"), 2),
        ("Volkshochschule", ("vhs@stadt.example",), 1),
    ]
    assert result.without_recipients == ("Verein ohne Konto",)
    assert result.already_reminded == ()
    assert [(r.organisation_id, r.sent_on, r.recipients, r.measure_count, r.sent_by_id)
            for r in reminders()] == [
        (scenario.jugendamt.id, TODAY, "a.jugend@stadt.example, b.jugend@stadt.example", 2,
         scenario.coordinator.id),
        (scenario.vhs.id, TODAY, "vhs@stadt.example", 1, scenario.coordinator.id),
    ]
    assert any("Verein ohne Konto" in line for line in result.messages())


def test_mail_lists_exactly_the_open_measures_in_german(
    smtp: Mailbox, scenario: Scenario
) -> None:
    send_reminders(db.session, scenario.rnd, scenario.coordinator, TODAY)

    (message,) = smtp.to("vhs@stadt.example")
    assert message["Subject"] == ("Sachstandsabfrage „Sachstand 1. Halbjahr 2024“: "
                                  "1 Maßnahme ohne Sachstand – Frist 31.07.2024")
    assert message["From"] == "hki@stadt.example"
    assert message["Reply-To"] == "koordination@stadt.example"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    (v_open,) = scenario.open_measures["Volkshochschule"]
    assert f"- {v_open.number} Integrationskurse" in text
    assert "Alphabetisierung" not in text + html  # submitted counts as answered
    assert "fehlt für 1 Maßnahme Ihrer Organisation (Volkshochschule)" in text
    for body in (text, html):
        assert "Stichtag: 30.06.2024" in body
        assert "Frist: 31.07.2024" in body
        assert "https://hki.stadt.example/meine-massnahmen" in body
        assert "Kommunales Integrationsmanagement" in body

    (message,) = smtp.to("a.jugend@stadt.example")
    assert "2 Maßnahmen ohne Sachstand" in message["Subject"]
    text, _ = parts(message)
    listed = [line for line in text.splitlines() if line.startswith("- ")]
    assert listed == [f"- {m.number} {m.title}" for m in scenario.open_measures["Jugendamt"]]
    assert "Sprachmittlerpool" not in text


def test_html_part_escapes_titles(smtp: Mailbox, scenario: Scenario) -> None:
    send_reminders(db.session, scenario.rnd, scenario.coordinator, TODAY)

    (message,) = smtp.to("a.jugend@stadt.example")
    text, html = parts(message)
    tricky = scenario.open_measures["Jugendamt"][1]
    assert f'{tricky.number} <b>Sprache</b> & "Kultur"' in text
    assert f"<li>{tricky.number} &lt;b&gt;Sprache&lt;/b&gt; &amp; &#34;Kultur&#34;</li>" in html
    assert "<b>" not in html


def test_second_send_the_same_day_mails_nobody(smtp: Mailbox, scenario: Scenario) -> None:
    send_reminders(db.session, scenario.rnd, scenario.coordinator, TODAY)
    db.session.commit()
    smtp.delivered.clear()

    again = send_reminders(db.session, scenario.rnd, scenario.coordinator, TODAY)

    assert smtp.delivered == []
    assert again.mailed == ()
    assert again.already_reminded == ("Jugendamt", "Volkshochschule")
    assert again.without_recipients == ("Verein ohne Konto",)
    assert len(reminders()) == 2
    assert any("bereits erinnert" in line for line in again.messages())


def test_next_day_mails_again(smtp: Mailbox, scenario: Scenario) -> None:
    send_reminders(db.session, scenario.rnd, scenario.coordinator, TODAY)
    db.session.commit()
    smtp.delivered.clear()

    later = send_reminders(db.session, scenario.rnd, scenario.coordinator,
                           TODAY + timedelta(days=1))

    assert len(smtp.delivered) == 2
    assert [o.name for o in later.mailed] == ["Jugendamt", "Volkshochschule"]
    assert [r.sent_on for r in reminders()] == [TODAY] * 2 + [TODAY + timedelta(days=1)] * 2


def test_after_the_due_date_the_mail_says_so(smtp: Mailbox, scenario: Scenario) -> None:
    send_reminders(db.session, scenario.rnd, scenario.coordinator, date(2024, 8, 5))

    text, html = parts(smtp.to("vhs@stadt.example")[0])
    assert "Die Frist ist am 31.07.2024 abgelaufen" in text
    assert "abgelaufen" in html


def test_nothing_open_connects_to_no_server(app: Flask, make: Factories) -> None:
    app.config["HKI_SMTP_PORT"] = free_port()  # would fail if a connection were tried
    plan = make.plan(valid_from=date(2024, 1, 1), valid_to=date(2028, 12, 31))
    office = make.organisation("Jugendamt")
    make.user(role=Role.OFFICE, organisation=office)
    make.update(make.measure(make.goal(make.field(plan)), lead=office), as_of=date(2024, 6, 1))
    coordinator = make.user(role=Role.COORDINATOR)
    rnd = open_round(db.session, plan, coordinator, title="Runde", period_start=date(2024, 1, 1),
                     stichtag=date(2024, 6, 30), due_date=date(2024, 7, 31))

    result = send_reminders(db.session, rnd, coordinator, TODAY)

    assert (result.mailed, result.already_reminded, result.without_recipients) == ((), (), ())
    assert result.messages() == [
        "Alle Maßnahmen haben einen Sachstand; es war keine Erinnerung nötig."
    ]


def test_unreachable_server_raises_and_rollback_leaves_no_reminder(
    app: Flask, scenario: Scenario
) -> None:
    app.config.update(HKI_SMTP_HOST="127.0.0.1", HKI_SMTP_PORT=free_port())

    with pytest.raises(MailError, match="Der Mailserver ist nicht erreichbar"):
        send_reminders(db.session, scenario.rnd, scenario.coordinator, TODAY)
    db.session.rollback()

    assert db.session.scalar(select(func.count()).select_from(Reminder)) == 0
    assert db.session.get(UpdateRound, scenario.rnd.id) is not None


def test_logs_in_when_a_user_is_configured(
    app: Flask, smtp_with_login: Mailbox, scenario: Scenario
) -> None:
    app.config.update(HKI_SMTP_USER="hki", HKI_SMTP_PASSWORD="geheim")

    send_reminders(db.session, scenario.rnd, scenario.coordinator, TODAY)

    assert [d.login for d in smtp_with_login.delivered] == ["hki", "hki"]


def test_refused_login_is_a_mail_error(
    app: Flask, smtp_with_login: Mailbox, scenario: Scenario
) -> None:
    app.config.update(HKI_SMTP_USER="hki", HKI_SMTP_PASSWORD="falsch")

    with pytest.raises(MailError, match="hat die Anmeldung abgelehnt"):
        send_reminders(db.session, scenario.rnd, scenario.coordinator, TODAY)
    assert smtp_with_login.delivered == []

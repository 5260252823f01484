"""The mails that follow a round, over a simulated month, to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hki.auth.models import User
from hki.extensions import db
from hki.plan.models import Measure, Plan
from hki.security import hash_password
from hki.updates import notifications, services
from hki.updates.models import Notification
from hki.updates.rounds import open_round
from hki.vocab import Decision, Role, Status
from tests.conftest import Auth
from tests.factories import Factories
from tests.updates.test_reminders import Mailbox, free_port, run_server

OPENED, DUE = date(2024, 7, 1), date(2024, 7, 31)
PASSWORD = hash_password("Sprachcafe-2024!")


@pytest.fixture
def smtp(app: Flask) -> Iterator[Mailbox]:
    yield from run_server(app)


@dataclass
class Month:
    plan: Plan
    coordinator: User
    measures: dict[str, Measure]


def _month(make: Factories) -> Month:
    """A plan with three offices: two reachable, one whose only account cannot log in."""
    plan = make.plan(valid_from=date(2024, 1, 1), valid_to=date(2028, 12, 31))
    goal = make.goal(make.field(plan))
    jugendamt, vhs, verein = (make.organisation(n) for n in
                              ("Jugendamt", "Volkshochschule", "Verein Miteinander"))
    coordinator = make.user(role=Role.COORDINATOR, email="kmut@stadt.example",
                            display_name="Anna Petersen (KMuT)", password_hash=PASSWORD)
    for email, org in (("a.jugend@stadt.example", jugendamt),
                       ("b.jugend@stadt.example", jugendamt), ("vhs@stadt.example", vhs)):
        make.user(role=Role.OFFICE, organisation=org, email=email, password_hash=PASSWORD)
    make.user(role=Role.OFFICE, organisation=verein, email="verein@stadt.example")  # no login
    measures = {"kita": make.measure(goal, lead=jugendamt, title="Kita-Einstieg"),
                "eltern": make.measure(goal, lead=jugendamt, title="Elterncafés"),
                "kurse": make.measure(goal, lead=vhs, title="Integrationskurse"),
                "paten": make.measure(goal, lead=verein, title="Patenschaften")}
    make.commit()
    return Month(plan, coordinator, measures)


def _sent(mailbox: Mailbox) -> Counter[tuple[str, str]]:
    """(recipient, first words of the subject) of every mail delivered so far."""
    return Counter((to, d.message["Subject"].split(":")[0].split(" ")[0])
                   for d in mailbox.delivered for to in d.rcpt_tos)


def test_a_month_of_mails_each_once_to_the_right_people(
    app: Flask, make: Factories, smtp: Mailbox,
) -> None:
    data = _month(make)
    measures = data.measures
    open_round(db.session, data.plan, data.coordinator, title="Sachstand 1. Halbjahr 2024",
               period_start=date(2024, 1, 1), stichtag=date(2024, 6, 30), due_date=DUE)
    make.commit()
    jugend = ("a.jugend@stadt.example", "b.jugend@stadt.example")

    # Day 1: the round opens. Each reachable office person gets one mail; running again
    # the same day (a worker loop, a second process) sends nothing more.
    assert notifications.run(db.session, OPENED).sent == 3
    notifications.run(db.session, OPENED)
    opened = [d.message for d in smtp.delivered]
    assert _sent(smtp) == {(to, "Sachstandsabfrage"): 1 for to in (*jugend, "vhs@stadt.example")}
    body = opened[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Kita-Einstieg" in body and "Elterncafés" in body and "31.07.2024" in body
    assert "https://hki.stadt.example/meine-massnahmen" in body
    assert opened[0]["Reply-To"] == "kmut@stadt.example"

    # The VHS answers; the coordination returns it with a comment: the VHS hears of it.
    vhs_user = db.session.scalars(select(User).where(User.email == "vhs@stadt.example")).one()
    update = services.post_update(db.session, measures["kurse"], vhs_user,
                                  as_of=date(2024, 6, 30), status=Status.IN_PROGRESS,
                                  progress=50, note="Zwei Kurse laufen.")
    services.review(db.session, update, data.coordinator, Decision.RETURNED,
                    "Bitte die Zahl der Teilnehmenden nachtragen.")
    make.commit()
    notifications.run(db.session, OPENED + timedelta(days=5))
    returned = smtp.delivered[-1].message
    assert smtp.delivered[-1].rcpt_tos == ["vhs@stadt.example"]
    assert returned["Subject"].startswith("Sachstand 1.1.3 zurückgegeben")
    text = returned.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Bitte die Zahl der Teilnehmenden nachtragen." in text
    assert f"/massnahmen/{update.measure_id}/sachstand" in text

    # The Jugendamt answers one measure; three days before the due date the reminder goes
    # to the offices with open measures only (the VHS's returned answer is open again).
    services.post_update(db.session, measures["kita"], data.coordinator,
                         as_of=date(2024, 6, 30), status=Status.PLANNED, progress=10, note="")
    make.commit()
    before = len(smtp.delivered)
    for day in range(7, 29):  # the worker runs every day; nothing until three days before
        notifications.run(db.session, OPENED + timedelta(days=day))
    soon = smtp.delivered[before:]
    assert sorted(to for d in soon for to in d.rcpt_tos) == sorted(
        (*jugend, "vhs@stadt.example"))
    assert all(d.message["Subject"].startswith("Erinnerung") for d in soon)
    soon_text = soon[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Elterncafés" in soon_text and "Kita-Einstieg" not in soon_text

    # After the due date: one overdue mail each, however often the worker runs.
    before = len(smtp.delivered)
    for day in range(31, 40):
        notifications.run(db.session, OPENED + timedelta(days=day))
    late = smtp.delivered[before:]
    assert sorted(to for d in late for to in d.rcpt_tos) == sorted(
        (*jugend, "vhs@stadt.example"))
    assert all(d.message["Subject"].startswith("Frist abgelaufen") for d in late)
    assert not any("verein@stadt.example" in d.rcpt_tos for d in smtp.delivered)
    assert db.session.scalars(select(Notification).where(
        Notification.sent_at.is_(None))).all() == []


def test_a_failing_mail_server_is_tried_again(app: Flask, make: Factories) -> None:
    data = _month(make)
    app.config.update(HKI_SMTP_HOST="127.0.0.1", HKI_SMTP_PORT=free_port(), HKI_SMTP_TIMEOUT=2,
                      HKI_BASE_URL="https://hki.stadt.example/")
    open_round(db.session, data.plan, data.coordinator, title="Herbst",
               period_start=date(2024, 1, 1), stichtag=date(2024, 6, 30), due_date=DUE)
    make.commit()
    failed = notifications.run(db.session, OPENED)
    assert failed.failed == 1 and "nicht erreichbar" in failed.error
    first = db.session.scalars(select(Notification).order_by(Notification.id)).first()
    assert first is not None and first.attempts == 1 and first.sent_at is None
    server = run_server(app)
    mailbox = next(server)  # the server is back
    try:
        assert notifications.run(db.session, OPENED).sent == 3
        assert len(mailbox.delivered) == 3
    finally:
        next(server, None)  # runs the generator's clean-up: the server stops


def test_the_coordinator_is_warned_about_offices_no_mail_reaches(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    data = _month(make)
    auth.login_as(Role.COORDINATOR)
    page = client.get(f"/plaene/{data.plan.id}/abfragen/neu").get_data(as_text=True)
    assert "1 federführende Stelle hat kein Konto, mit dem sich jemand anmelden kann" in page
    assert "Verein Miteinander" in page and "Jugendamt." not in page

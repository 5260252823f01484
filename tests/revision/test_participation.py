"""Offices propose in the Fortschreibungsabfrage; the coordination sees the proposals;
the Integrationsbeirat reads the draft through an expiring, revocable link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy import text as text_sql
from sqlalchemy.exc import IntegrityError

from hki.extensions import db
from hki.i18n import local_today
from hki.revision import participation, services
from hki.revision.models import RevisionProposal, RevisionShare
from hki.updates import notifications
from hki.vocab import Outcome, Role
from tests.conftest import Auth
from tests.factories import Factories
from tests.revision.test_revision import NEW, demo
from tests.updates.test_notifications import PASSWORD
from tests.updates.test_reminders import Mailbox, run_server


def test_offices_propose_and_the_coordination_sees_it(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan, user = demo(make)
    new = services.start(db.session, plan, NEW, user)
    make.commit()
    rows = services.mapping(db.session, plan, new)
    office_org = rows[0].measure.lead
    mine = [r for r in rows if r.measure.lead_organisation_id == office_org.id]
    others = [r for r in rows if r.measure.lead_organisation_id != office_org.id]
    today = local_today()
    auth.login_as(Role.COORDINATOR)
    past = client.post(f"/plaene/{plan.id}/fortschreibung/abfrage",
                       data={"due_date": (today - timedelta(days=1)).isoformat()},
                       follow_redirects=True)
    assert "Die Frist liegt in der Vergangenheit." in past.get_data(as_text=True)
    due = today + timedelta(days=21)
    opened = client.post(f"/plaene/{plan.id}/fortschreibung/abfrage",
                         data={"due_date": due.isoformat()}, follow_redirects=True)
    assert "Die Fortschreibungsabfrage ist offen bis" in opened.get_data(as_text=True)

    auth.login_as(Role.OFFICE, organisation=office_org)
    box = client.get("/meine-massnahmen").get_data(as_text=True)
    assert f"Fortschreibung: „{new.title}“" in box
    assert f"/fortschreibung/{new.id}/vorschlaege" in box
    page = client.get(f"/fortschreibung/{new.id}/vorschlaege").get_data(as_text=True)
    assert all(f'id="m-{r.measure.id}"' in page for r in mine)
    assert not any(f'id="m-{r.measure.id}"' in page for r in others)
    first, stranger = mine[0].measure.id, others[0].measure.id
    data = {f"outcome-{first}": "dropped", f"reason-{first}": "", f"end-{first}": "",
            f"target-{first}": "", f"outcome-{stranger}": "dropped",
            f"reason-{stranger}": "fremd"}
    bad = client.post(f"/fortschreibung/{new.id}/vorschlaege", data=data)
    assert bad.status_code == 422
    assert f'href="#m-{first}"' in bad.get_data(as_text=True)
    data |= {f"outcome-{first}": "carried_over", f"reason-{first}": "Bedarf bleibt hoch",
             f"end-{first}": "31.12.2029", f"target-{first}": "300 Vermittlungen pro Jahr"}
    saved = client.post(f"/fortschreibung/{new.id}/vorschlaege", data=data,
                        follow_redirects=True)
    assert "1 Vorschlag gespeichert" in saved.get_data(as_text=True)
    stored = db.session.scalars(select(RevisionProposal)).all()
    assert [(p.measure_id, p.outcome, p.end_date.isoformat() if p.end_date else None)
            for p in stored] == [(first, Outcome.CARRIED_OVER, "2029-12-31")]
    again = client.post(f"/fortschreibung/{new.id}/vorschlaege", data=data,
                        follow_redirects=True)
    assert "0 Vorschläge gespeichert" in again.get_data(as_text=True)

    # The coordination sees it, decides otherwise, and finds that in the mapping.
    auth.login_as(Role.COORDINATOR)
    field_id = mine[0].measure.goal.field_id
    decisions = client.get(f"/plaene/{plan.id}/fortschreibung/massnahmen/{field_id}")
    assert "Vorschlag der Fachstelle:" in decisions.get_data(as_text=True)
    assert "300 Vermittlungen pro Jahr" in decisions.get_data(as_text=True)
    row = next(r for r in services.mapping(db.session, plan, new) if r.measure.id == first)
    services.decide(db.session, row, services.Choice(Outcome.DROPPED, None, "Land übernimmt",
                                                     None), user)
    make.commit()
    flagged = client.get(f"/plaene/{plan.id}/fortschreibung/zuordnung?hinweis=vorschlag")
    text = flagged.get_data(as_text=True)
    assert "Fachstelle schlug vor: fortführen" in text and "1 von 80 Maßnahmen" in text
    client.post(f"/plaene/{plan.id}/fortschreibung/abfrage/beenden")

    auth.login_as(Role.OFFICE, organisation=office_org)
    closed = client.post(f"/fortschreibung/{new.id}/vorschlaege", data=data,
                         follow_redirects=True)
    assert "Vorschläge lassen sich nicht mehr ändern" in closed.get_data(as_text=True)
    assert "/vorschlaege" not in client.get("/meine-massnahmen").get_data(as_text=True)


def test_a_read_only_link_expires_can_be_revoked_and_shows_no_people(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan, user = demo(make)
    new = services.start(db.session, plan, NEW, user)
    make.commit()
    today = local_today()
    coordinator = auth.login_as(Role.COORDINATOR)
    too_long = client.post(f"/plaene/{plan.id}/fortschreibung/links", data={
        "label": "Integrationsbeirat", "expires_on": (today + timedelta(days=400)).isoformat()},
        follow_redirects=True)
    assert "Der Link gilt höchstens 180 Tage" in too_long.get_data(as_text=True)
    made = client.post(f"/plaene/{plan.id}/fortschreibung/links", data={
        "label": "Integrationsbeirat", "expires_on": (today + timedelta(days=30)).isoformat()},
        follow_redirects=True).get_data(as_text=True)
    match = re.search(r"http://localhost/einblick/([A-Za-z0-9_-]+)", made)
    assert match is not None
    token = match[1]
    share = db.session.scalars(select(RevisionShare)).one()
    assert token not in share.token_hash and len(share.token_hash) == 64

    client.post("/abmelden")
    shown = client.get(f"/einblick/{token}")
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and new.title in text and "nur zum Lesen" in text
    assert coordinator.display_name not in text and 'name="robots" content="noindex"' in text
    assert client.get("/einblick/falsch").status_code == 404
    share.expires_on = today - timedelta(days=1)
    make.commit()
    assert client.get(f"/einblick/{token}").status_code == 404
    share.expires_on = today + timedelta(days=3)
    make.commit()
    assert client.get(f"/einblick/{token}").status_code == 200
    participation.revoke_share(db.session, share)
    make.commit()
    gone = client.get(f"/einblick/{token}")
    assert gone.status_code == 404 and "nicht (mehr) gültig" in gone.get_data(as_text=True)


@pytest.fixture
def smtp(app: Flask) -> Iterator[Mailbox]:
    yield from run_server(app)


def test_opening_the_query_mails_each_office_once(
    smtp: Mailbox, client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    """Through a real SMTP server: one invitation per person that can log in, listing the
    measures its office leads; moving the due date sends nothing new."""
    mailbox = smtp
    plan, user = demo(make)
    new = services.start(db.session, plan, NEW, user)
    office = make.user(role=Role.OFFICE, organisation=services.active_measures(plan)[0].lead,
                       email="sprachkurse@stadt.example", password_hash=PASSWORD)
    make.commit()
    auth.login_as(Role.COORDINATOR)
    due = local_today() + timedelta(days=21)
    for day in (due, due + timedelta(days=7)):
        client.post(f"/plaene/{plan.id}/fortschreibung/abfrage",
                    data={"due_date": day.isoformat()})
        notifications.run(db.session, local_today())
    mine = [d for d in mailbox.delivered if office.email in d.rcpt_tos]
    assert len(mine) == 1
    message = mine[0].message
    assert message["Subject"].startswith(f"Fortschreibung „{new.title}“: Ihre Vorschläge")
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    measure = services.active_measures(plan)[0]
    assert f"{measure.number} {measure.title}" in text
    assert f"/fortschreibung/{new.id}/vorschlaege" in text
    with pytest.raises(IntegrityError):  # the CHECK constraint still guards the column
        db.session.execute(text_sql(
            "INSERT INTO notifications (occasion, subject, user_id, created_at, attempts, "
            "last_error) VALUES ('unbekannt', 'x', :u, CURRENT_TIMESTAMP, 0, '')"),
            {"u": office.id})
        db.session.flush()
    db.session.rollback()

"""Offices propose in the Fortschreibungsabfrage; the coordination sees the proposals;
the Integrationsbeirat reads the draft through an expiring, revocable link."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from hki.extensions import db
from hki.i18n import local_today
from hki.revision import participation, services
from hki.revision.models import RevisionProposal, RevisionShare
from hki.vocab import Outcome, Role
from tests.conftest import Auth
from tests.factories import Factories
from tests.revision.test_revision import NEW, demo


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
    assert "Fachstelle schlug vor: übernehmen" in text and "1 von 80 Maßnahmen" in text
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

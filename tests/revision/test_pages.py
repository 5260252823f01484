"""The wizard, the adoption and the Abschlussbericht preview through the web client."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import func, select

from hki.auth.models import AuditEntry
from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.plan.models import Measure, Plan
from hki.plan.services import renumbering
from hki.revision import services
from hki.revision.models import MeasureOutcome
from hki.vocab import Outcome, PlanState, Role
from tests.conftest import Auth, analyze
from tests.factories import Factories


def _demo(make: Factories) -> Plan:
    seed_demo(db.session)
    analyze(db.session)
    make.commit()
    return db.session.scalars(select(Plan)).one()


def _start(plan: Plan) -> dict[str, str]:
    return {"title": "HKI 2026–2030", "valid_from": "2026-01-01", "valid_to": "2030-12-31",
            "description": ""}


def test_draft_is_stored_at_once_decided_page_by_page_and_adopted(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan = _demo(make)
    auth.login_as(Role.COORDINATOR)
    page = client.get(f"/plaene/{plan.id}/fortschreibung").get_data(as_text=True)
    assert 'value="Handlungskonzept Integration 2026–2031 – ILLUSTRATIVES Beispiel"' in page
    assert "2031-12-31" in page  # as long as the old plan
    wrong = client.post(f"/plaene/{plan.id}/fortschreibung", data={
        **_start(plan), "valid_to": "2025-01-01"})
    assert wrong.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 1
    # Sent twice (double click, second tab): one draft.
    for _ in range(2):
        created = client.post(f"/plaene/{plan.id}/fortschreibung", data=_start(plan))
        assert created.status_code == 302
    new = db.session.scalars(select(Plan).where(Plan.predecessor_id == plan.id)).one()
    hub = client.get(f"/plaene/{plan.id}/fortschreibung").get_data(as_text=True)
    assert "Alles auf dieser Seite ist gespeichert" in hub and "1 Sprache und Spracherwerb" in hub
    assert "Vor dem Beschluss offen" in hub  # old end dates before 2026
    assert "übernehmen: " in hub and "mit dem Plan beenden: " in hub

    rows = services.mapping(db.session, plan, new)
    field_id = rows[0].measure.goal.field_id
    here = [r for r in rows if r.measure.goal.field_id == field_id]
    carried = next(r for r in here if r.carried)
    url = f"/plaene/{plan.id}/fortschreibung/massnahmen/{field_id}"
    form = client.get(url).get_data(as_text=True)
    assert f'id="m-{carried.measure.id}"' in form
    data: dict[str, str] = {}
    for row in here:
        key = row.measure.id
        data |= {f"outcome-{key}": row.decision.outcome.value,
                 f"goal-{key}": str(row.default_goal.id if row.default_goal else ""),
                 f"reason-{key}": row.decision.reason, f"end-{key}": ""}
    data[f"outcome-{carried.measure.id}"] = "dropped"
    bad = client.post(url, data=data)
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    summary = text.split('class="error-summary"')[1].split("</div>")[0]
    assert f'href="#m-{carried.measure.id}"' in summary and "Bitte begründen Sie" in summary
    assert db.session.scalar(select(MeasureOutcome.outcome).where(
        MeasureOutcome.measure_id == carried.measure.id)) is Outcome.CARRIED_OVER
    data[f"reason-{carried.measure.id}"] = "Wird vom Land übernommen"
    saved = client.post(url, data={**data, "next": "1"})
    assert saved.status_code == 302 and "/massnahmen/" in saved.headers["Location"]
    db.session.expire_all()
    decision = db.session.scalars(select(MeasureOutcome).where(
        MeasureOutcome.measure_id == carried.measure.id)).one()
    assert (decision.outcome, decision.reason) == (Outcome.DROPPED, "Wird vom Land übernommen")
    copy = db.session.get(Measure, carried.copy.id)  # type: ignore[union-attr]
    assert copy is not None and copy.archived_at is not None
    # Open end for the others on that page: no old end date left on it.
    rows = services.mapping(db.session, plan, new)
    assert not [r for r in rows if r.measure.goal.field_id == field_id and r.ends_before_start]

    hub = client.get(f"/plaene/{plan.id}/fortschreibung").get_data(as_text=True)
    gaps = len(renumbering(db.session.get(Plan, new.id)))  # type: ignore[arg-type]
    assert ("nicht der Reihenfolge der Seite" in hub) is (gaps > 0)
    mapping = client.get(f"/plaene/{plan.id}/fortschreibung/zuordnung?entscheidung=dropped")
    assert "Wird vom Land übernommen" in mapping.get_data(as_text=True)
    blocked = client.post(f"/plaene/{new.id}/beschluss",
                          data={"adopted_on": "2026-02-26", "adoption_paper_ref": "V-2026/017"})
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("#beschluss")
    db.session.expire_all()
    assert db.session.get(Plan, new.id).state is PlanState.DRAFT  # type: ignore[union-attr]
    bulk = client.post(f"/plaene/{plan.id}/fortschreibung/enddaten",
                       data={"end_date": "31.12.2030"}, follow_redirects=True)
    assert "enden jetzt am 31.12.2030" in bulk.get_data(as_text=True)
    adopt = client.post(f"/plaene/{new.id}/beschluss",
                        data={"adopted_on": "2026-02-26", "adoption_paper_ref": "V-2026/017"})
    assert adopt.status_code == 302
    overview = client.get(adopt.headers["Location"]).get_data(as_text=True)
    assert "ist jetzt abgeschlossen und nur noch lesbar" in overview
    db.session.expire_all()
    assert (db.session.get(Plan, plan.id).state, db.session.get(Plan, new.id).state) == (  # type: ignore[union-attr]
        PlanState.CLOSED, PlanState.ADOPTED)
    again = client.get(f"/plaene/{plan.id}/fortschreibung")
    assert again.status_code == 409
    assert f"Die Fortschreibung „{new.title}“ ist beschlossen." in again.get_data(as_text=True)
    # What the council adopted stays readable: the mapping and the annex.
    assert client.get(f"/plaene/{plan.id}/fortschreibung/zuordnung").status_code == 200
    assert client.get(f"/plaene/{plan.id}/fortschreibung/anlage.xlsx").status_code == 200
    assert client.get(f"/plaene/{plan.id}/fortschreibung/massnahmen/{field_id}"
                      ).status_code == 404
    final = client.get(f"/plaene/{plan.id}/abschlussbericht").get_data(as_text=True)
    assert "Verbleib der Maßnahmen" in final and "Wird vom Land übernommen" in final


def test_a_draft_can_be_discarded_and_begun_again(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan = _demo(make)
    auth.login_as(Role.COORDINATOR)
    client.post(f"/plaene/{plan.id}/fortschreibung", data=_start(plan))
    new_id = db.session.scalars(select(Plan.id).where(Plan.predecessor_id == plan.id)).one()
    confirm = client.get(f"/plaene/{plan.id}/fortschreibung/verwerfen")
    assert "lässt sich nicht rückgängig machen" in confirm.get_data(as_text=True)
    for _ in range(2):  # the confirmation sent twice
        done = client.post(f"/plaene/{plan.id}/fortschreibung/verwerfen")
        assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Plan, new_id) is None
    assert db.session.scalar(select(func.count()).select_from(MeasureOutcome)) == 0
    assert db.session.scalar(select(func.count()).select_from(Measure).where(
        Measure.origin_id.is_not(None))) == 0
    entries = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity == "plans", AuditEntry.entity_id == new_id)).all()
    assert "delete" in entries
    assert client.post(f"/plaene/{plan.id}/fortschreibung", data=_start(plan)).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Plan).where(
        Plan.predecessor_id == plan.id)) == 1


def test_adoption_needs_date_and_paper(client: FlaskClient, auth: Auth, make: Factories) -> None:
    draft = make.plan(state=PlanState.DRAFT)
    make.commit()
    auth.login_as(Role.COORDINATOR)
    future = client.post(f"/plaene/{draft.id}/beschluss", data={
        "adopted_on": "2099-03-01", "adoption_paper_ref": "V-2099/1"})
    assert "Der Beschluss liegt in der Zukunft." in future.get_data(as_text=True)
    response = client.post(f"/plaene/{draft.id}/beschluss", data={"adopted_on": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Bitte geben Sie das Datum des Ratsbeschlusses ein." in page
    assert "Bitte geben Sie die Nummer der Beschlussvorlage ein." in page
    db.session.expire_all()
    assert db.session.get(Plan, draft.id).state is PlanState.DRAFT  # type: ignore[union-attr]


def test_an_office_answering_a_carried_measure_starts_from_its_old_status(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    from datetime import date

    from tests.revision.test_revision import NEW, continue_plan

    plan = _demo(make)
    user = make.user(role=Role.COORDINATOR)
    new, rows = continue_plan(plan, user)
    services.adopt(db.session, new, date(2026, 2, 26), "V-2026/017")
    row = next(r for r in rows if r.carried and r.update is not None
               and r.update.progress is not None)
    assert row.copy is not None and row.update is not None and NEW.title == new.title
    make.commit()
    auth.login_as(Role.OFFICE, organisation=row.copy.lead)
    page = client.get(f"/massnahmen/{row.copy.id}/sachstand").get_data(as_text=True)
    assert f"Fortgeführt aus Maßnahme {row.measure.number} des Plans „{plan.title}“" in page
    assert f'<option selected value="{row.update.status.value}">' in page
    assert f'value="{row.update.progress}"' in page


def test_two_coordinators_on_one_page_lose_nothing(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    """The second save of a page loaded before the first one's: rows the first changed
    are shown with a message and the second person's input, not overwritten silently."""
    plan = _demo(make)
    auth.login_as(Role.COORDINATOR)
    client.post(f"/plaene/{plan.id}/fortschreibung", data=_start(plan))
    new = db.session.scalars(select(Plan).where(Plan.predecessor_id == plan.id)).one()
    rows = services.mapping(db.session, plan, new)
    row = next(r for r in rows if r.carried)
    field_id, key = row.measure.goal.field_id, row.measure.id
    url = f"/plaene/{plan.id}/fortschreibung/massnahmen/{field_id}"
    form = client.get(url).get_data(as_text=True)
    seen = re.search(rf'name="seen-{key}" value="([^"]+)"', form)
    assert seen is not None
    base = {f"outcome-{key}": "carried_over",
            f"goal-{key}": str(row.default_goal.id if row.default_goal else ""),
            f"end-{key}": "", f"seen-{key}": seen[1]}
    first = client.post(url, data={**base, f"outcome-{key}": "closed",
                                   f"reason-{key}": "Erledigt"})
    assert first.status_code == 302
    second = client.post(url, data={**base, f"outcome-{key}": "dropped",
                                    f"reason-{key}": "Kein Bedarf mehr"})
    assert second.status_code == 422
    text = second.get_data(as_text=True)
    assert "hat diese Maßnahme inzwischen geändert" in text and "Kein Bedarf mehr" in text
    db.session.expire_all()
    assert db.session.scalar(select(MeasureOutcome.outcome).where(
        MeasureOutcome.measure_id == key)) is Outcome.CLOSED
    fresh = re.search(rf'name="seen-{key}" value="([^"]+)"', text)
    assert fresh is not None and fresh[1] != seen[1]
    third = client.post(url, data={**base, f"seen-{key}": fresh[1],
                                   f"outcome-{key}": "dropped", f"reason-{key}": "Kein Bedarf"})
    assert third.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(MeasureOutcome.outcome).where(
        MeasureOutcome.measure_id == key)) is Outcome.DROPPED


def test_what_the_review_found_gets_a_german_answer(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    """A draft with a status update cannot be discarded (no 500); a measure added to the
    old plan later is decided by default; a removed copy and an undecided measure block
    the adoption; a huge id in the merge form is no 500."""
    from datetime import UTC, date, datetime

    from hki.updates.models import StatusUpdate
    from hki.vocab import Status

    plan = _demo(make)
    coordinator = auth.login_as(Role.COORDINATOR)
    client.post(f"/plaene/{plan.id}/fortschreibung", data=_start(plan))
    new = db.session.scalars(select(Plan).where(Plan.predecessor_id == plan.id)).one()
    rows = services.mapping(db.session, plan, new)
    services.set_end_dates(db.session, rows, date(2031, 12, 31))
    late = make.measure(plan.fields[0].goals[0], title="Später ergänzt")
    make.commit()
    assert [m.id for m in services.undecided(db.session, plan, new)] == [late.id]
    try:
        services.adopt(db.session, new, date(2026, 2, 1), "V/1")
    except services.RevisionError:
        db.session.rollback()
    else:
        raise AssertionError("adopted with an undecided measure")
    client.get(f"/plaene/{plan.id}/fortschreibung")  # the draft follows the old plan
    db.session.expire_all()
    assert services.undecided(db.session, plan, new) == []
    row = next(r for r in services.mapping(db.session, plan, new) if r.carried)
    assert row.copy is not None
    row.copy.archived_at = datetime.now(UTC)  # removed in the ordinary plan editor
    make.commit()
    lost = next(r for r in services.mapping(db.session, plan, new)
                if r.measure.id == row.measure.id)
    assert lost.lost_copy and lost in services.open_points(
        services.mapping(db.session, plan, new))
    huge = client.post(f"/plaene/{plan.id}/fortschreibung/zusammenfuehren", data={
        "kind": "feld", "source": "9" * 20, "into": "9" * 20}, follow_redirects=True)
    assert huge.status_code == 200 and "womit zusammengeführt" in huge.get_data(as_text=True)
    copy = next(r.copy for r in services.mapping(db.session, plan, new) if r.copy is not None)
    assert copy is not None
    db.session.add(StatusUpdate(measure=copy, author=coordinator, as_of=date(2026, 1, 5),
                                status=Status.IN_PROGRESS, progress=5, note=""))
    make.commit()
    refused = client.post(f"/plaene/{plan.id}/fortschreibung/verwerfen", follow_redirects=True)
    assert "lässt sich deshalb nicht mehr verwerfen" in refused.get_data(as_text=True)
    assert db.session.get(Plan, new.id) is not None

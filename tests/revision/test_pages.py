"""The wizard, the adoption and the Abschlussbericht preview through the web client."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.plan.models import Measure, Plan
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


def _form(plan: Plan, **extra: str) -> dict[str, str]:
    return {"title": "HKI 2026–2030", "valid_from": "2026-01-01", "valid_to": "2030-12-31",
            "description": "", "structure": services.structure_text(plan), **extra}


def test_wizard_proposes_checks_summarises_and_creates(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    plan = _demo(make)
    items = services.proposals(plan)
    done = next(i for i in items if i.outcome is Outcome.CLOSED)
    carried = next(i for i in items if i.outcome is Outcome.CARRIED_OVER)
    auth.login_as(Role.COORDINATOR)
    page = client.get(f"/plaene/{plan.id}/fortschreibung").get_data(as_text=True)
    assert f'name="outcome-{done.measure.id}"' in page
    chunk = page.split(f'name="outcome-{done.measure.id}"')[1].split("</select>")[0]
    assert '<option value="closed" selected>abschließen</option>' in chunk
    assert "1 Sprache und Spracherwerb" in page  # the outline to edit
    assert 'value="Handlungskonzept Integration 2026–2031 – ILLUSTRATIVES Beispiel"' in page

    wrong = client.post(f"/plaene/{plan.id}/fortschreibung", data=_form(
        plan, **{f"outcome-{carried.measure.id}": "dropped"}))
    assert wrong.status_code == 422
    row = wrong.get_data(as_text=True).split(f'name="reason-{carried.measure.id}"')[1]
    assert "Bitte begründen Sie, warum die Maßnahme entfällt" in row.split("</td>")[0]
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 1

    choices = _form(plan, **{f"outcome-{carried.measure.id}": "dropped",
                             f"reason-{carried.measure.id}": "Wird vom Land übernommen"})
    summary = client.post(f"/plaene/{plan.id}/fortschreibung", data=choices)
    text = summary.get_data(as_text=True)
    assert summary.status_code == 200 and "Das wird angelegt" in text
    n_carried = sum(i.outcome is Outcome.CARRIED_OVER for i in items) - 1
    assert f"{n_carried} Maßnahmen werden übernommen" in text
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 1

    created = client.post(f"/plaene/{plan.id}/fortschreibung", data={**choices, "confirm": "1"})
    assert created.status_code == 302
    new = db.session.scalars(select(Plan).where(Plan.predecessor_id == plan.id)).one()
    assert created.headers["Location"] == f"/plaene/{new.id}"
    assert db.session.scalar(select(func.count()).select_from(Measure).where(
        Measure.origin_id.is_not(None))) == n_carried
    reason = db.session.scalars(select(MeasureOutcome.reason).where(
        MeasureOutcome.measure_id == carried.measure.id)).one()
    assert reason == "Wird vom Land übernommen"
    again = client.get(f"/plaene/{plan.id}/fortschreibung")
    assert again.status_code == 409
    assert "Dieser Plan hat schon eine Fortschreibung" in again.get_data(as_text=True)

    adopt = client.post(f"/plaene/{new.id}/beschluss",
                        data={"adopted_on": "2026-02-26", "adoption_paper_ref": "V-2026/017"})
    assert adopt.status_code == 302
    overview = client.get(adopt.headers["Location"]).get_data(as_text=True)
    assert "ist jetzt abgeschlossen und nur noch lesbar" in overview
    db.session.expire_all()
    assert (db.session.get(Plan, plan.id).state, db.session.get(Plan, new.id).state) == (  # type: ignore[union-attr]
        PlanState.CLOSED, PlanState.ADOPTED)
    final = client.get(f"/plaene/{plan.id}/abschlussbericht").get_data(as_text=True)
    assert "Verbleib der Maßnahmen" in final and "Wird vom Land übernommen" in final
    assert f"Fortgeführt im neuen Plan</th><td class=\"num\">{n_carried}</td>" in final


def test_adoption_needs_date_and_paper(client: FlaskClient, auth: Auth, make: Factories) -> None:
    draft = make.plan(state=PlanState.DRAFT)
    make.commit()
    auth.login_as(Role.COORDINATOR)
    response = client.post(f"/plaene/{draft.id}/beschluss", data={"adopted_on": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Bitte geben Sie das Datum des Ratsbeschlusses ein." in page
    assert "Bitte geben Sie die Nummer der Beschlussvorlage ein." in page
    db.session.expire_all()
    assert db.session.get(Plan, draft.id).state is PlanState.DRAFT  # type: ignore[union-attr]

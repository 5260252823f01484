"""Every route, every role: one table says what each may reach, and the URL map is checked
against it, so a new route that nobody thought about fails here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hki.plan.models import Organisation
from hki.vocab import Role
from tests.conftest import Auth
from tests.factories import Factories

ANON = "anonymous"
ROLES = (ANON, Role.READER, Role.OFFICE, Role.COORDINATOR, Role.ADMIN)


@dataclass
class World:
    plan_id: int
    own_measure_id: int  # led by the office user's organisation
    other_measure_id: int
    user_id: int
    organisation_id: int
    field_id: int
    goal_id: int
    indicator_id: int
    round_id: int
    update_id: int  # an office's update waiting for review
    report_id: int  # a finished report


@dataclass(frozen=True)
class Case:
    endpoint: str
    method: str
    url: Callable[[World], str]
    #: Expected status per role, in the order of ROLES.
    expected: tuple[int, int, int, int, int]
    label: str = ""


R, F, OK, GONE = 302, 403, 200, 405
CASES = [
    Case("static", "GET", lambda w: "/static/css/hki.css", (OK, OK, OK, OK, OK)),
    Case("health.health", "GET", lambda w: "/health", (OK, OK, OK, OK, OK)),
    Case("auth.login", "GET", lambda w: "/anmelden", (OK, R, R, R, R)),
    Case("auth.login", "POST", lambda w: "/anmelden", (OK, R, R, R, R)),
    Case("auth.logout", "POST", lambda w: "/abmelden", (R, R, R, R, R)),
    Case("plan.index", "GET", lambda w: "/", (R, OK, OK, OK, OK)),
    Case("plan.overview", "GET", lambda w: f"/plaene/{w.plan_id}", (R, OK, OK, OK, OK)),
    Case("plan.measure", "GET", lambda w: f"/massnahmen/{w.own_measure_id}", (R, OK, OK, OK, OK)),
    Case(
        "updates.new",
        "GET",
        lambda w: f"/massnahmen/{w.own_measure_id}/sachstand",
        (R, F, OK, OK, OK),
        "eigene Maßnahme",
    ),
    Case(
        "updates.new",
        "POST",
        lambda w: f"/massnahmen/{w.own_measure_id}/sachstand",
        (R, F, OK, OK, OK),
        "eigene Maßnahme",
    ),
    Case(
        "updates.new",
        "GET",
        lambda w: f"/massnahmen/{w.other_measure_id}/sachstand",
        (R, F, F, OK, OK),
        "fremde Maßnahme",
    ),
    Case(
        "updates.new",
        "POST",
        lambda w: f"/massnahmen/{w.other_measure_id}/sachstand",
        (R, F, F, OK, OK),
        "fremde Maßnahme",
    ),
    Case("auth.users", "GET", lambda w: "/verwaltung/benutzer", (R, F, F, F, OK)),
    Case("auth.user_new", "GET", lambda w: "/verwaltung/benutzer/neu", (R, F, F, F, OK)),
    Case("auth.user_new", "POST", lambda w: "/verwaltung/benutzer/neu", (R, F, F, F, OK)),
    Case("auth.user_edit", "GET", lambda w: f"/verwaltung/benutzer/{w.user_id}", (R, F, F, F, OK)),
    Case("auth.user_edit", "POST", lambda w: f"/verwaltung/benutzer/{w.user_id}", (R, F, F, F, OK)),
    Case("auth.organisations", "GET", lambda w: "/verwaltung/organisationen", (R, F, F, F, OK)),
    Case("auth.organisations", "POST", lambda w: "/verwaltung/organisationen", (R, F, F, F, OK)),
    Case(
        "auth.organisation_edit",
        "GET",
        lambda w: f"/verwaltung/organisationen/{w.organisation_id}",
        (R, F, F, F, OK),
    ),
    # Fields missing from a POST keep their values (WTForms); the unticked box deactivates.
    Case(
        "auth.organisation_edit",
        "POST",
        lambda w: f"/verwaltung/organisationen/{w.organisation_id}",
        (R, F, F, F, R),
    ),
    Case("auth.audit_log", "GET", lambda w: "/protokoll", (R, F, F, OK, OK)),
    # Keeping the plan: coordinators and admins only. Forms re-render (200) on bad input;
    # archiving and reordering act at once and redirect.
    Case("edit.new_plan", "GET", lambda w: "/plaene/neu", (R, F, F, OK, OK)),
    Case("edit.new_plan", "POST", lambda w: "/plaene/neu", (R, F, F, OK, OK)),
    Case("edit.edit_plan", "GET", lambda w: f"/plaene/{w.plan_id}/bearbeiten", (R, F, F, OK, OK)),
    Case("edit.edit_plan", "POST", lambda w: f"/plaene/{w.plan_id}/bearbeiten", (R, F, F, OK, OK)),
    Case("edit.renumber", "GET", lambda w: f"/plaene/{w.plan_id}/nummerierung", (R, F, F, OK, OK)),
    Case("edit.renumber", "POST", lambda w: f"/plaene/{w.plan_id}/nummerierung", (R, F, F, OK, OK)),
    Case(
        "edit.new_field",
        "GET",
        lambda w: f"/plaene/{w.plan_id}/handlungsfelder/neu",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.new_field",
        "POST",
        lambda w: f"/plaene/{w.plan_id}/handlungsfelder/neu",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.edit_field",
        "GET",
        lambda w: f"/handlungsfelder/{w.field_id}/bearbeiten",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.edit_field",
        "POST",
        lambda w: f"/handlungsfelder/{w.field_id}/bearbeiten",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.new_goal",
        "GET",
        lambda w: f"/handlungsfelder/{w.field_id}/ziele/neu",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.new_goal",
        "POST",
        lambda w: f"/handlungsfelder/{w.field_id}/ziele/neu",
        (R, F, F, OK, OK),
    ),
    Case("edit.edit_goal", "GET", lambda w: f"/ziele/{w.goal_id}/bearbeiten", (R, F, F, OK, OK)),
    Case("edit.edit_goal", "POST", lambda w: f"/ziele/{w.goal_id}/bearbeiten", (R, F, F, OK, OK)),
    Case(
        "edit.new_measure", "GET", lambda w: f"/ziele/{w.goal_id}/massnahmen/neu", (R, F, F, OK, OK)
    ),
    Case(
        "edit.new_measure",
        "POST",
        lambda w: f"/ziele/{w.goal_id}/massnahmen/neu",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.edit_measure",
        "GET",
        lambda w: f"/massnahmen/{w.own_measure_id}/bearbeiten",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.edit_measure",
        "POST",
        lambda w: f"/massnahmen/{w.own_measure_id}/bearbeiten",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.move_measure",
        "GET",
        lambda w: f"/massnahmen/{w.own_measure_id}/umhaengen",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.move_measure",
        "POST",
        lambda w: f"/massnahmen/{w.own_measure_id}/umhaengen",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.new_indicator",
        "GET",
        lambda w: f"/massnahmen/{w.own_measure_id}/indikatoren/neu",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.new_indicator",
        "POST",
        lambda w: f"/massnahmen/{w.own_measure_id}/indikatoren/neu",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.edit_indicator",
        "GET",
        lambda w: f"/indikatoren/{w.indicator_id}/bearbeiten",
        (R, F, F, OK, OK),
    ),
    Case(
        "edit.edit_indicator",
        "POST",
        lambda w: f"/indikatoren/{w.indicator_id}/bearbeiten",
        (R, F, F, OK, OK),
    ),
    Case("edit.shift", "POST", lambda w: f"/verschieben/ziel/{w.goal_id}/runter", (R, F, F, R, R)),
    Case(
        "edit.archive",
        "POST",
        lambda w: f"/archivieren/indikator/{w.indicator_id}",
        (R, F, F, R, R),
    ),
    # Update rounds, review and the offices' work list.
    Case("updates.my_open", "GET", lambda w: "/meine-massnahmen", (R, F, OK, OK, OK)),
    Case("updates.review_list", "GET", lambda w: "/freigabe", (R, F, F, OK, OK)),
    # An empty decision is a return without comment: refused with a message (redirect).
    Case("updates.decide", "POST", lambda w: f"/sachstaende/{w.update_id}/entscheiden",
         (R, F, F, R, R)),
    # Nothing ticked: a German message and back to the list.
    Case("updates.accept_selected", "POST", lambda w: "/freigabe/auswahl", (R, F, F, R, R)),
    Case("updates.round_list", "GET", lambda w: f"/plaene/{w.plan_id}/abfragen", (R, F, F, OK, OK)),
    Case("updates.round_new", "GET", lambda w: f"/plaene/{w.plan_id}/abfragen/neu",
         (R, F, F, OK, OK)),
    Case("updates.round_new", "POST", lambda w: f"/plaene/{w.plan_id}/abfragen/neu",
         (R, F, F, OK, OK)),
    Case("updates.round_view", "GET", lambda w: f"/abfragen/{w.round_id}", (R, F, F, OK, OK)),
    # No mail server in this test: a German message and back to the round (redirect).
    Case("updates.round_remind", "POST", lambda w: f"/abfragen/{w.round_id}/erinnern",
         (R, F, F, R, R)),
    Case("updates.round_close", "POST", lambda w: f"/abfragen/{w.round_id}/abschliessen",
         (R, F, F, R, R)),
    Case("updates.round_bulk", "GET", lambda w: f"/abfragen/{w.round_id}/sammeleingabe",
         (R, F, F, OK, OK)),
    Case("updates.round_bulk", "POST", lambda w: f"/abfragen/{w.round_id}/sammeleingabe",
         (R, F, F, OK, OK)),
    # Draft reports: coordinators and admins (readers get issued reports, not drafts).
    Case("reports.preview", "GET", lambda w: f"/plaene/{w.plan_id}/bericht", (R, F, F, OK, OK)),
    Case("reports.texts", "GET", lambda w: f"/plaene/{w.plan_id}/bericht/texte",
         (R, F, F, OK, OK)),
    # The coordinator saves the texts (redirect); the admin's form, loaded before that
    # save, meets the coordinator's version: a German message, the input kept (200).
    Case("reports.texts", "POST", lambda w: f"/plaene/{w.plan_id}/bericht/texte",
         (R, F, F, R, OK)),
    # Issued reports: everyone reads finished ones; coordinators issue (the first request
    # queues a report and redirects; the second for the same Stichtag asks to confirm).
    Case("reports.index", "GET", lambda w: f"/plaene/{w.plan_id}/berichte", (R, OK, OK, OK, OK)),
    Case("dashboard.dashboard", "GET", lambda w: f"/plaene/{w.plan_id}/dashboard",
         (R, OK, OK, OK, OK)),
    Case("revision.wizard", "GET", lambda w: f"/plaene/{w.plan_id}/fortschreibung",
         (R, F, F, OK, OK)),
    Case("revision.wizard", "POST", lambda w: f"/plaene/{w.plan_id}/fortschreibung",
         (R, F, F, 422, 422), "leeres Formular"),
    # The draft's pages: the world's plan has no Fortschreibung, so they are not found.
    Case("revision.decisions", "GET",
         lambda w: f"/plaene/{w.plan_id}/fortschreibung/massnahmen/{w.field_id}",
         (R, F, F, 404, 404), "kein Entwurf"),
    Case("revision.decisions", "POST",
         lambda w: f"/plaene/{w.plan_id}/fortschreibung/massnahmen/{w.field_id}",
         (R, F, F, 404, 404), "kein Entwurf"),
    Case("revision.mapping", "GET", lambda w: f"/plaene/{w.plan_id}/fortschreibung/zuordnung",
         (R, F, F, 404, 404), "kein Entwurf"),
    Case("revision.merge", "POST",
         lambda w: f"/plaene/{w.plan_id}/fortschreibung/zusammenfuehren",
         (R, F, F, 404, 404), "kein Entwurf"),
    Case("revision.end_dates", "POST", lambda w: f"/plaene/{w.plan_id}/fortschreibung/enddaten",
         (R, F, F, 404, 404), "kein Entwurf"),
    Case("revision.add_stage", "POST",
         lambda w: f"/plaene/{w.plan_id}/fortschreibung/beratung",
         (R, F, F, 404, 404), "kein Entwurf"),
    Case("revision.remove_stage", "POST",
         lambda w: f"/plaene/{w.plan_id}/fortschreibung/beratung/1/entfernen",
         (R, F, F, 404, 404), "kein Entwurf"),
    Case("revision.annex", "GET",
         lambda w: f"/plaene/{w.plan_id}/fortschreibung/anlage.xlsx",
         (R, F, F, 404, 404), "kein Entwurf"),
    Case("revision.open_query", "POST",
         lambda w: f"/plaene/{w.plan_id}/fortschreibung/abfrage",
         (R, F, F, 404, 404), "kein Entwurf"),
    Case("revision.close_query", "POST",
         lambda w: f"/plaene/{w.plan_id}/fortschreibung/abfrage/beenden",
         (R, F, F, 404, 404), "kein Entwurf"),
    Case("revision.proposals", "GET", lambda w: f"/fortschreibung/{w.plan_id}/vorschlaege",
         (R, F, 404, 404, 404), "keine Fortschreibungsabfrage"),
    Case("revision.proposals", "POST", lambda w: f"/fortschreibung/{w.plan_id}/vorschlaege",
         (R, F, 404, 404, 404), "keine Fortschreibungsabfrage"),
    Case("revision.create_share", "POST",
         lambda w: f"/plaene/{w.plan_id}/fortschreibung/links",
         (R, F, F, 404, 404), "kein Entwurf"),
    Case("revision.revoke_share", "POST",
         lambda w: f"/plaene/{w.plan_id}/fortschreibung/links/1/widerrufen",
         (R, F, F, 404, 404), "kein Entwurf"),
    # A share link needs no login; an unknown one is not found, for everyone.
    Case("revision.shared", "GET", lambda w: "/einblick/unbekannt",
         (404, 404, 404, 404, 404), "unbekannter Link"),
    Case("revision.discard", "GET", lambda w: f"/plaene/{w.plan_id}/fortschreibung/verwerfen",
         (R, F, F, R, R), "kein Entwurf (mehr)"),
    Case("revision.discard", "POST", lambda w: f"/plaene/{w.plan_id}/fortschreibung/verwerfen",
         (R, F, F, R, R), "kein Entwurf (mehr)"),
    Case("revision.adoption", "GET", lambda w: f"/plaene/{w.plan_id}/beschluss",
         (R, F, F, R, R), "schon beschlossen"),
    Case("revision.adoption", "POST", lambda w: f"/plaene/{w.plan_id}/beschluss",
         (R, F, F, R, R), "schon beschlossen"),
    Case("revision.final_report", "GET", lambda w: f"/plaene/{w.plan_id}/abschlussbericht",
         (R, F, F, OK, OK)),
    Case("revision.final_report", "POST", lambda w: f"/plaene/{w.plan_id}/abschlussbericht",
         (R, F, F, R, R)),
    Case("transfer.upload", "GET", lambda w: "/import", (R, F, F, OK, OK)),
    Case("transfer.upload", "POST", lambda w: "/import", (R, F, F, 400, 400), "ohne Datei"),
    Case("transfer.confirm", "POST", lambda w: f"/import/{'0' * 32}", (R, F, F, 404, 404),
         "fremde oder alte Datei"),
    Case("transfer.progress", "GET", lambda w: "/import/auftrag/999999", (R, F, F, 404, 404),
         "ein fremder oder fehlender Import"),
    Case("transfer.template", "GET", lambda w: "/import/vorlage.xlsx", (R, F, F, OK, OK)),
    Case("transfer.plan_export", "GET", lambda w: f"/plaene/{w.plan_id}/export.xlsx",
         (R, OK, OK, OK, OK)),
    Case("transfer.history", "GET", lambda w: f"/plaene/{w.plan_id}/verlauf.csv",
         (R, F, F, OK, OK)),
    Case("transfer.status_template", "GET",
         lambda w: f"/plaene/{w.plan_id}/sachstandsvorlage.xlsx", (R, F, F, OK, OK)),
    Case("transfer.measure_list", "GET", lambda w: f"/plaene/{w.plan_id}/massnahmen.csv",
         (R, OK, OK, OK, OK)),
    Case("dashboard.finder", "GET", lambda w: f"/plaene/{w.plan_id}/massnahmen?q=kurs",
         (R, OK, OK, OK, OK)),
    Case("reports.index", "POST", lambda w: f"/plaene/{w.plan_id}/berichte", (R, F, F, R, OK)),
    Case("reports.show", "GET", lambda w: f"/berichte/{w.report_id}", (R, OK, OK, OK, OK)),
    Case("reports.download", "GET", lambda w: f"/berichte/{w.report_id}.pdf",
         (R, OK, OK, OK, OK)),
    # Wrong method on a real route: 405 for everyone, never a 500 or a redirect loop.
    Case("auth.logout", "GET", lambda w: "/abmelden", (GONE, GONE, GONE, GONE, GONE)),
]


def test_table_covers_every_route_and_method(app: Flask) -> None:
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    listed = {(c.endpoint, c.method) for c in CASES if c.expected != (GONE,) * 5}
    assert routes - listed == set(), "Routes missing from the access table"
    assert listed - routes == set(), "The access table lists routes that do not exist"


@pytest.fixture
def world(make: Factories) -> World:
    office_org = make.organisation("Fachstelle A")
    goal = make.goal()
    own = make.measure(goal, lead=office_org)
    other = make.measure(goal)
    target_user = make.user(role=Role.READER)
    indicator = make.indicator(own)
    rnd = make.round(goal.field.plan)
    update = make.update(own, accepted=False)
    report = make.report(goal.field.plan)
    make.commit()
    return World(
        goal.field.plan_id,
        own.id,
        other.id,
        target_user.id,
        office_org.id,
        goal.field_id,
        goal.id,
        indicator.id,
        rnd.id,
        update.id,
        report.id,
    )


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.method} {c.endpoint} {c.label}".strip() for c in CASES]
)
def test_access(case: Case, world: World, client: FlaskClient, auth: Auth, make: Factories) -> None:
    outcomes = []
    for role in ROLES:
        auth.logout()
        if role != ANON:
            organisation = None
            if role is Role.OFFICE:
                organisation = make.session.get(Organisation, world.organisation_id)
            auth.login_as(Role(role), organisation=organisation)
        # A browser always sends at least the CSRF token; an empty form must not validate.
        data = {"csrf_token": "x"} if case.method == "POST" else None
        response = client.open(case.url(world), method=case.method, data=data)
        response.close()
        assert response.status_code != 500
        outcomes.append(response.status_code)
    assert tuple(outcomes) == case.expected, dict(zip(map(str, ROLES), outcomes, strict=True))

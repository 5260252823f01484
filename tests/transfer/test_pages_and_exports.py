"""The import pages and the command line end to end; what the exports contain."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient, FlaskCliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select

from hki.extensions import db
from hki.i18n import local_today
from hki.plan.models import Measure, Plan
from hki.reports.models import ReportState
from hki.transfer import importing, views, writing
from hki.transfer import jobs as import_jobs
from hki.transfer.models import DataImport, ImportJob
from hki.updates.models import StatusUpdate
from hki.vocab import PlanState, Role, Status
from tests.conftest import Auth, QueryCounter
from tests.factories import Factories
from tests.transfer.test_import_errors import counts, workbook


def _upload(client: FlaskClient, data: bytes, name: str = "plan.xlsx") -> str:
    response = client.post("/import", data={"datei": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    return response.get_data(as_text=True)


def _confirmed(client: FlaskClient) -> str:
    """Upload the example workbook and confirm it; the address of its progress page."""
    page = _upload(client, workbook())
    token = page.split('action="/import/')[1].split('"')[0]
    location: str = client.post(f"/import/{token}").location
    return location


def test_upload_preview_confirm_writes_once_and_says_what_it_did(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    auth.login_as(Role.COORDINATOR)
    before = counts()
    page = _upload(client, workbook())
    assert "Das wird der Import tun" in page
    assert "<td>Maßnahme neu</td><td class=\"num\">2</td>" in page
    assert counts() == before  # the preview writes nothing
    token = page.split('action="/import/')[1].split('"')[0]
    response = client.post(f"/import/{token}")
    assert response.status_code == 302 and "/import/auftrag/" in response.location
    assert counts() == before  # the confirmation only queues: the worker writes
    waiting = client.get(response.location).get_data(as_text=True)
    assert "Der Import wartet darauf, ausgeführt zu werden" in waiting
    assert "Hintergrunddienst" not in waiting
    assert 'data-follow="/import/auftrag/' in waiting and "js/follow.js" in waiting
    assert client.get(f"{response.location}?stand=1").get_data(as_text=True) == "running"
    again = client.post(f"/import/{token}")  # a second click: sent where the first went
    assert (again.status_code, again.location) == (302, response.location)
    job = import_jobs.run_once(db.session)
    assert job is not None and job.state is ReportState.DONE and job.data is None
    assert import_jobs.run_once(db.session) is None  # queued once
    plan_id = db.session.scalars(select(Plan.id)).one()
    done = client.get(response.location)
    assert (done.status_code, done.location) == (302, f"/plaene/{plan_id}")
    overview = client.get(done.location).get_data(as_text=True)
    assert "Import abgeschlossen: 1 × Handlungskonzept neu" in overview
    assert db.session.scalar(select(func.count()).select_from(Measure)) == 2


def test_an_import_that_no_longer_fits_fails_in_the_worker_with_its_problems(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    """Between preview and worker the plan was closed: nothing written, reasons shown."""
    auth.login_as(Role.COORDINATOR)
    location = _confirmed(client)
    before = counts()
    # Meanwhile a colleague imported the plan and it was closed (read only since).
    make.plan(title="HKI Musterstadt 2026–2030", state=PlanState.CLOSED)
    make.commit()
    before = counts()
    failed = import_jobs.run_once(db.session)
    assert failed is not None and failed.state is ReportState.FAILED
    assert counts() == before
    shown = client.get(location).get_data(as_text=True)
    assert "Der Import wurde nicht ausgeführt – es wurde nichts gespeichert" in shown
    assert "ist abgeschlossen und nur noch lesbar" in shown
    assert "follow.js" not in shown
    assert client.get(f"{location}?stand=1").get_data(as_text=True) == "finished"
    auth.login_as(Role.COORDINATOR)  # someone else's import is not found
    assert client.get(location).status_code == 404


def test_upload_with_errors_lists_them_and_offers_no_confirmation(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    auth.login_as(Role.COORDINATOR)
    before = counts()
    data = workbook(edit=lambda book: book["Plan"].__setitem__("D4", "Jugendamtt"))
    response = client.post("/import", data={"datei": (io.BytesIO(data), "x.xlsx")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "1 Problem – es wurde nichts gespeichert" in page
    assert "<td>Plan</td><td class=\"num\">4</td><td>D (Federführung)</td>" in page
    assert "Meinten Sie „Jugendamt“?" in page
    assert "Import ausführen" not in page
    assert counts() == before


def test_another_users_upload_cannot_be_confirmed(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    auth.login_as(Role.COORDINATOR)
    page = _upload(client, workbook())
    token = page.split('action="/import/')[1].split('"')[0]
    auth.login_as(Role.COORDINATOR)
    assert client.post(f"/import/{token}").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Plan)) == 0


def test_too_large_upload_gets_the_german_page(client: FlaskClient, auth: Auth,
                                               make: Factories) -> None:
    auth.login_as(Role.COORDINATOR)
    client.application.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/import", data={"datei": (io.BytesIO(bytes(5000)), "x.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "Die Datei ist zu groß" in response.get_data(as_text=True)


def test_a_waiting_import_says_when_the_worker_seems_down_and_a_restart_fails_it(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    auth.login_as(Role.COORDINATOR)
    location = _confirmed(client)
    job = db.session.scalars(select(ImportJob)).one()
    job.requested_at -= views.WORKER_LATE * 2
    db.session.commit()
    assert "Vermutlich läuft der Hintergrunddienst" in client.get(location).get_data(
        as_text=True)
    job.state = ReportState.RUNNING  # the worker took it and was stopped
    db.session.commit()
    before = counts()
    assert import_jobs.fail_interrupted(db.session) == 1
    shown = client.get(location).get_data(as_text=True)
    assert "Der Import wurde unterbrochen" in shown and counts() == before
    assert import_jobs.run_once(db.session) is None  # not queued again


def test_a_second_file_at_the_same_moment_is_asked_to_wait_and_loses_nothing(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    """One check per process at a time: a parallel upload is answered at once (503,
    German, Retry-After) instead of holding a thread; nothing is stored."""
    auth.login_as(Role.COORDINATOR)
    page = _upload(client, workbook())
    token = page.split('action="/import/')[1].split('"')[0]
    before = counts()
    with views._import_slot() as free:  # another request is checking a file
        assert free
        busy = client.post("/import", data={"datei": (io.BytesIO(workbook()), "x.xlsx")},
                           content_type="multipart/form-data")
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "30"
        assert "Gerade prüft hki eine andere Datei" in busy.get_data(as_text=True)
        assert counts() == before
    assert _upload(client, workbook()).count('action="/import/') == 1  # later: checked
    assert client.post(f"/import/{token}").status_code == 302  # confirming only queues


def test_the_upload_page_lists_the_limits(client: FlaskClient, auth: Auth) -> None:
    auth.login_as(Role.COORDINATOR)
    page = client.get("/import").get_data(as_text=True)
    assert "Grenzen für hochgeladene Dateien" in page
    for said in ("höchstens 20 MB, entpackt höchstens 100 MB", "höchstens 400.000",
                 "10.000 ausgefüllte Zeilen in allen Blättern zusammen", "1.024 je Blatt",
                 "32.767 Zeichen"):
        assert said in page, said


def test_cli_dry_run_writes_nothing_and_import_writes_everything(
    runner: FlaskCliRunner, make: Factories, tmp_path: Path,
) -> None:
    make.user(role=Role.COORDINATOR, email="kmut@example.org")
    make.commit()
    path = tmp_path / "plan.xlsx"
    path.write_bytes(workbook())
    before = counts()
    # A dry run needs no author, and lists every change as the preview page does.
    result = runner.invoke(args=["hki", "import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "2 × Maßnahme neu" in result.output
    assert "Maßnahme neu: 1.1.2 Elterncafés" in result.output
    assert "Sachstand neu: 1.1.1 vom 31.03.2026\n    in Umsetzung, 20 %" in result.output
    assert "Probelauf: alles geprüft, nichts gespeichert." in result.output
    assert counts() == before
    missing_author = runner.invoke(args=["hki", "import", str(path)])
    assert missing_author.exit_code == 1
    assert "--author" in missing_author.output
    result = runner.invoke(args=["hki", "import", str(path), "--author", "kmut@example.org"])
    assert result.exit_code == 0, result.output
    assert "Import gespeichert" in result.output
    record = db.session.scalars(select(DataImport)).one()
    assert record.imported_by is not None and record.imported_by.email == "kmut@example.org"
    assert db.session.scalar(select(func.count()).select_from(StatusUpdate)) == 2


def test_cli_reports_errors_with_their_place(runner: FlaskCliRunner, make: Factories,
                                             tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(workbook(edit=lambda b: b["Sachstände"].__setitem__("F3", 140)))
    result = runner.invoke(args=["hki", "import", str(path)])
    assert result.exit_code == 1
    assert ("Fehler – Blatt „Sachstände“, Zeile 3, Spalte F (Fortschritt (%)): Der Fortschritt "
            "liegt zwischen 0 und 100; hier steht 140.") in result.output
    assert "1 Problem(e) gefunden; es wurde nichts gespeichert." in result.output


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_csv_exports_have_bom_umlauts_and_defused_formulas(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    lead = make.organisation("Jugendamt – Migrationsbüro")
    measure = make.measure(lead=lead, title="Übergänge begleiten", number="1.1.1")
    make.update(measure, Status.IN_PROGRESS, progress=40, note="=HYPERLINK(\"x\")")
    plan_id = measure.goal.field.plan_id
    auth.login_as(Role.READER)
    response = client.get(f"/plaene/{plan_id}/export.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    title = measure.goal.field.plan.title  # "Handlungskonzept 1" from the factory
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="hki-{title.lower().replace(" ", "-")}-plan-'
        f'{local_today().isoformat()}.csv"')
    rows = _csv(response.data)
    assert rows[0][:4] == ["Nummer", "Titel", "Beschreibung", "Federführung"]
    row = next(r for r in rows if r[0] == "1.1.1")
    assert row[1] == "Übergänge begleiten" and row[3] == "Jugendamt – Migrationsbüro"
    assert row[6] == "01.01.2021" and row[-3:] == ["in Umsetzung", "40", "30.06.2024"]
    auth.login_as(Role.COORDINATOR)
    history = _csv(client.get(f"/plaene/{plan_id}/verlauf.csv").data)
    assert history[1][6] == "'=HYPERLINK(\"x\")"  # shown as text, never run
    assert history[1][-1] == "ja"


def test_xlsx_keeps_formula_like_text_as_text(make: Factories) -> None:
    measure = make.measure(number="1.1.1")
    make.update(measure, note="=1+1")
    tables = writing.plan_export(measure.goal.field.plan_id)
    book = load_workbook(io.BytesIO(writing.to_xlsx(tables)))
    cell = book["Sachstände"]["G2"]
    assert (cell.value, cell.data_type) == ("=1+1", "s")


def test_measure_list_export_has_the_finders_rows(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    goal = make.goal()
    late = make.measure(goal, title="Sprachkurse für Eltern")
    make.update(late, Status.DELAYED, note="Personal fehlt")
    make.update(make.measure(goal, title="Beratung"), Status.COMPLETED, progress=100)
    plan_id = goal.field.plan_id
    auth.login_as(Role.READER)
    finder = client.get(f"/plaene/{plan_id}/massnahmen?status=delayed").get_data(as_text=True)
    assert f"/plaene/{plan_id}/massnahmen.xlsx?status=delayed" in finder
    rows = _csv(client.get(f"/plaene/{plan_id}/massnahmen.csv?status=delayed").data)
    assert [(r[1], r[10], r[13]) for r in rows[1:]] == [
        ("Sprachkurse für Eltern", "verzögert", "Personal fehlt")]
    book = load_workbook(io.BytesIO(
        client.get(f"/plaene/{plan_id}/massnahmen.xlsx?status=delayed").data))
    assert book.sheetnames == ["Maßnahmen", "Anleitung"]
    assert [c.value for c in book["Maßnahmen"]["B"]] == ["Maßnahme", "Sprachkurse für Eltern"]
    assert "Filter: status=delayed" in [c.value for c in book["Anleitung"]["A"]]


def test_template_has_explanation_headers_and_drop_downs() -> None:
    book = load_workbook(io.BytesIO(writing.template()))
    assert book.sheetnames == ["Anleitung", "Konzept", "Organisationen", "Plan", "Sachstände"]
    assert [c.value for c in book["Sachstände"][1]][:7] == [
        "Maßnahme (Nr.)", "Titel der Maßnahme", "Federführung", "Stand am", "Umsetzungsstand",
        "Fortschritt (%)", "Erläuterung"]
    lists = {str(v.sqref): v.formula1 for v in book["Sachstände"].data_validations.dataValidation}
    assert lists == {"E2:E5000": '"nicht begonnen,in Planung,in Umsetzung,verzögert,'
                                 'Daueraufgabe,abgeschlossen,zurückgestellt,entfallen"'}
    plan_lists = [v.formula1 for v in book["Plan"].data_validations.dataValidation]
    assert plan_lists == ['"hoch,mittel,niedrig"']
    explanation = "\n".join(str(c.value) for c in book["Anleitung"]["A"] if c.value)
    assert "Die Überschriften bleiben in Zeile 1" in explanation
    assert "Federführung: Pflicht bei Maßnahmen" in explanation
    assert "Kooperationspartner: Partner, Kooperation, Beteiligte" in explanation
    # Whole columns formatted for what people will type: numbers as text (else 1.1.1
    # becomes a date), dates as dates, money with thousands and €; headings frozen.
    plan, status = book["Plan"], book["Sachstände"]
    assert plan.column_dimensions["A"].number_format == "@"
    assert status.column_dimensions["A"].number_format == "@"
    assert plan.column_dimensions["G"].number_format == "DD.MM.YYYY"  # Beginn
    assert plan.column_dimensions["K"].number_format == '#,##0 "€"'  # Budget
    assert plan.freeze_panes == "A2" and plan.print_title_rows == "$1:$1"
    assert plan.page_setup.orientation == "landscape" and plan.page_setup.fitToWidth == 2
    assert book["Sachstände"].page_setup.fitToWidth == 1
    assert plan.column_dimensions["B"].alignment.wrap_text  # Titel: long texts wrap


def test_checking_a_file_against_a_plan_takes_the_same_queries_for_any_size(
    make: Factories, count_queries: QueryCounter,
) -> None:
    counted = []
    for size in (2, 20):
        plan = make.plan(title=f"HKI {size}")
        goal = make.goal(make.field(plan))
        for _ in range(size):
            make.update(make.measure(goal))
        data = writing.to_xlsx(writing.plan_export(plan.id))
        count_queries.statements.clear()
        check = importing.check_import(db.session, data, "plan.xlsx")
        assert check.errors == [] and check.changes == []
        counted.append(count_queries.count)
    assert counted[0] == counted[1]


def test_exports_survive_control_characters_and_keep_every_digit(
    client: FlaskClient, auth: Auth, make: Factories,
) -> None:
    measure = make.measure(number="1.1.1", description="aus Word\x0bkopiert\x01")
    make.indicator(measure, name="Teilnehmende", baseline_value=1234567.5, target_value=2e6)
    plan_id = measure.goal.field.plan_id
    auth.login_as(Role.READER)
    response = client.get(f"/plaene/{plan_id}/export.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book["Plan"]["C4"].value == "aus Word\nkopiert"
    row = next(r for r in _csv(client.get(f"/plaene/{plan_id}/export.csv").data)
               if r[0] == "1.1.1")
    assert row[13:16] == ["1234567,5", "", "2000000"]


def test_export_file_names_say_what_and_when(client: FlaskClient, auth: Auth,
                                             make: Factories) -> None:
    plan = make.plan(title="Handlungskonzept Integration 2020–2025 (Fortschreibung)")
    make.measure(make.goal(make.field(plan)))
    make.commit()
    auth.login_as(Role.COORDINATOR)
    today = local_today().isoformat()
    stem = "hki-handlungskonzept-integration-2020-2025-fortschreibung"
    for url, name in (
        (f"/plaene/{plan.id}/export.ods", f"{stem}-plan-{today}.ods"),
        (f"/plaene/{plan.id}/verlauf.xlsx", f"{stem}-sachstaende-{today}.xlsx"),
        (f"/plaene/{plan.id}/massnahmen.csv", f"{stem}-massnahmen-{today}.csv"),
        (f"/plaene/{plan.id}/sachstandsvorlage.xlsx?federfuehrung=Jugendamt%20Süd",
         f"{stem}-sachstandsvorlage-jugendamt-sued-{today}.xlsx"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    plan.title = "HKI Musterstadt 2026–2030"  # no "hki-hki-…"
    make.commit()
    assert client.get(f"/plaene/{plan.id}/export.xlsx").headers["Content-Disposition"] == (
        f'attachment; filename="hki-musterstadt-2026-2030-plan-{today}.xlsx"')


#: LibreOffice's text import as a German user meets it: semicolon, UTF-8, language German,
#: "detect special numbers" off (its default).
LIBREOFFICE_CSV_DEFAULTS = "CSV:59,34,76,1,,1031,false,false"


def test_libreoffice_opens_the_csv_export_with_its_german_defaults(
    client: FlaskClient, auth: Auth, make: Factories, tmp_path: Path,
    soffice: Callable[..., Path],
) -> None:
    lead = make.organisation("Jugendamt – Migrationsbüro für Zuwanderung")
    measure = make.measure(lead=lead, title="Übergänge „Kita – Schule“ begleiten",
                           number="1.1.10", budget_eur=2_450_000)
    make.update(measure, Status.IN_PROGRESS, progress=40, note="Zwei Gruppen")
    auth.login_as(Role.READER)
    path = tmp_path / "plan.csv"
    path.write_bytes(client.get(f"/plaene/{measure.goal.field.plan_id}/export.csv").data)
    sheet = load_workbook(soffice(path, "xlsx", LIBREOFFICE_CSV_DEFAULTS)).active
    assert sheet is not None
    row = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "1.1.10")
    # The number stays "1.1.10" (Excel would make it a date: hence the note on the page),
    # umlauts and quotes survive, the budget and progress are numbers.
    assert row[1] == "Übergänge „Kita – Schule“ begleiten"
    assert row[3] == "Jugendamt – Migrationsbüro für Zuwanderung"
    assert row[10] == 2_450_000 and row[19] == 40


def test_rows_are_as_high_as_their_wrapped_text() -> None:
    # LibreOffice keeps rows of an .xlsx one line high unless the file says otherwise, and
    # wrapped texts then overlap on paper.
    table = writing.Table("Plan", [("Nummer", 10), ("Beschreibung", 30)], [
        ["1.1.1", "Erste Zeile\n• zweite Zeile\n• dritte Zeile"],
        ["1.1.2", "kurz"],
        ["1.1.3", "ein sehr langer Satz " * 10],
    ])
    sheet = load_workbook(io.BytesIO(writing.to_xlsx([table])))["Plan"]
    assert sheet.row_dimensions[2].height == 45
    assert sheet.row_dimensions[3].height is None
    assert sheet.row_dimensions[4].height == 7 * 15  # 210 characters at 34 per line
    assert sheet["A2"].alignment.vertical == "top"

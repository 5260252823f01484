"""Commands under ``flask --app hki hki …``; each commits once, at the end."""

from __future__ import annotations

import logging
import sys
from datetime import datetime

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from hki.auth import services as auth_services
from hki.auth.audit import acting_as
from hki.auth.forms import EMAIL_PATTERN
from hki.db import utcnow
from hki.demo.seed import seed_demo
from hki.extensions import db
from hki.i18n import local_today, local_zone
from hki.plan.models import Organisation
from hki.security import MIN_PASSWORD_LENGTH
from hki.vocab import Role

hki_group = AppGroup("hki", help="Befehle für hki (Handlungskonzept Integration).")


@hki_group.command("seed-demo")
def seed_demo_command() -> None:
    """Lädt den illustrativen Demo-Plan und die Demo-Konten (nur, was noch fehlt)."""
    with acting_as(_("Kommandozeile: Demo-Daten")):
        result = seed_demo(db.session)
        db.session.commit()
    for account in result.accounts:
        click.echo(_("Demo-Konto angelegt: %(email)s (%(role)s)", email=account.email,
                     role=account.role.label))
    if result.plan is None:
        click.echo(_("Der Demo-Plan ist bereits vorhanden; er wurde nicht verändert."))
        return
    click.echo(_("Demo-Plan „%(title)s“ angelegt: %(measures)d Maßnahmen, %(updates)d "
                 "Sachstände.", title=result.plan.title, measures=result.measures,
                 updates=result.updates))


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@hki_group.command("create-user")
@click.option("--email", required=True, help="E-Mail-Adresse (Anmeldename).")
@click.option("--role", "role_code", required=True, type=click.Choice([r.value for r in Role]),
              help="Rolle: admin, coordinator, office oder reader.")
@click.option("--organisation", default=None, help="Name der Organisation (für Fachstellen).")
@click.option("--name", "display_name", default=None, help="Anzeigename (Standard: E-Mail).")
@click.option("--password-stdin", is_flag=True,
              help="Passwort von der Standardeingabe lesen statt nachzufragen.")
def create_user_command(
    email: str, role_code: str, organisation: str | None, display_name: str | None,
    password_stdin: bool,
) -> None:
    """Legt ein Konto an, z. B. das erste Administrationskonto."""
    import re

    role = Role(role_code)
    if not re.match(EMAIL_PATTERN, email.strip()):
        _fail(_("„%(email)s“ ist keine gültige E-Mail-Adresse.", email=email))
    if auth_services.find_user(db.session, email) is not None:
        _fail(_("Für %(email)s gibt es bereits ein Konto; es wurde nichts geändert.",
                email=email))
    org = None
    if organisation:
        org = db.session.scalars(
            select(Organisation).where(Organisation.name == organisation)
        ).one_or_none()
        if org is None:
            _fail(_("Die Organisation „%(name)s“ gibt es nicht. Legen Sie sie zuerst an oder "
                    "prüfen Sie die Schreibweise.", name=organisation))
    if role is Role.OFFICE and org is None:
        _fail(_("Ein Konto mit der Rolle „Fachstelle“ braucht --organisation."))
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt(_("Passwort"), hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        _fail(_("Das Passwort muss mindestens %(n)d Zeichen lang sein.", n=MIN_PASSWORD_LENGTH))
    with acting_as(_("Kommandozeile: create-user")):
        user = auth_services.create_user(
            db.session, email=email, display_name=display_name or email, role=role,
            organisation=org, password=password,
        )
        db.session.commit()
    click.echo(_("Konto angelegt: %(email)s (%(role)s).", email=user.email, role=role.label))


@hki_group.command("report")
@click.option("--plan", "plan_id", required=True, type=int, help="Nummer (id) des Plans.")
@click.option("--stichtag", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Stichtag, JJJJ-MM-TT.")
@click.option("--known-at", type=click.DateTime(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
              default=None,
              help="Kenntnisstand (Ortszeit), JJJJ-MM-TT[THH:MM:SS]; Standard: jetzt.")
@click.option("--compare-with", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Vergleichsstichtag für „Änderungen seit …“, JJJJ-MM-TT.")
@click.option("--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Ziel-Datei (PDF).")
def report_command(plan_id: int, stichtag: datetime, known_at: datetime | None,
                   compare_with: datetime | None, output: str) -> None:
    """Schreibt den Sachstandsbericht als PDF/UA-1 (wie die Oberfläche)."""
    from hki.reports.data import NoSuchPlanError, gather
    from hki.reports.narrative import draft_narrative
    from hki.reports.render import render_pdf

    moment = known_at.replace(tzinfo=local_zone()) if known_at else utcnow()
    try:
        report = gather(plan_id, stichtag.date(), moment,
                        compare_with=compare_with.date() if compare_with else None,
                        narrative=draft_narrative(db.session, plan_id, stichtag.date()))
    except NoSuchPlanError:
        _fail(_("Den Plan %(id)d gab es zum Stichtag nicht.", id=plan_id))
    data = render_pdf(report)
    with open(output, "wb") as handle:
        handle.write(data)
    click.echo(_("Bericht geschrieben: %(path)s (%(kb)d KB).", path=output,
                 kb=len(data) // 1024))


@hki_group.command("worker")
@click.option("--once", is_flag=True, help="Nur abarbeiten, was jetzt ansteht, dann enden.")
@click.option("--poll", default=2.0, show_default=True, help="Sekunden zwischen zwei Blicken "
              "in die Warteschlange.")
def worker_command(once: bool, poll: float) -> None:
    """Erstellt angeforderte Berichte im Hintergrund (eigener Prozess neben dem Webserver)."""
    from hki.reports.jobs import work

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    click.echo(_("Berichts-Worker läuft (Strg+C beendet ihn)."))
    try:
        work(db.session, poll_seconds=poll, once=once)
    except KeyboardInterrupt:
        click.echo(_("Berichts-Worker beendet."))


@hki_group.command("notify")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Als wäre heute dieser Tag (JJJJ-MM-TT); Standard: heute.")
def notify_command(today: datetime | None) -> None:
    """Versendet die Mails zu Sachstandsabfragen (Eröffnung, Erinnerungen, Rückgaben)."""
    from hki.updates.notifications import run

    result = run(db.session, today.date() if today else local_today())
    click.echo(_("%(sent)d Mail(s) gesendet, %(skipped)d nicht mehr nötig.",
                 sent=result.sent, skipped=result.skipped))
    if result.failed:
        _fail(_("Der Versand ist fehlgeschlagen und wird beim nächsten Lauf wiederholt: "
                "%(error)s", error=result.error))


@hki_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True,
              help="Nur prüfen und zeigen, was geschähe; nichts speichern.")
@click.option("--author", "author_email", default=None,
              help="E-Mail des Kontos (Koordination), das als Verfasser der Sachstände gilt.")
@click.option("--plan", "plan_title", default=None,
              help="Bei CSV-Dateien: Titel des Plans in hki, zu dem die Datei gehört.")
def import_command(path: str, dry_run: bool, author_email: str | None,
                   plan_title: str | None) -> None:
    """Importiert Plan und Sachstände aus .xlsx, .ods oder CSV, alles oder nichts."""
    from pathlib import Path

    from hki.security import Action, can
    from hki.transfer.importing import apply_import, check_import

    file = Path(path)
    author = None
    if author_email:
        author = auth_services.find_user(db.session, author_email)
        if author is None or not can(author, Action.IMPORT_DATA):
            _fail(_("%(email)s ist kein aktives Konto der Koordination oder Administration.",
                    email=author_email))
    check = check_import(db.session, file.read_bytes(), file.name, plan_title=plan_title)
    for problem in check.errors:
        click.echo(_("Fehler – %(problem)s", problem=problem), err=True)
    for problem in check.warnings:
        click.echo(_("Hinweis – %(problem)s", problem=problem))
    for change in check.changes:
        click.echo(f"{change.entity} {change.kind}: {change.label}")
        for detail in change.details:
            click.echo(f"    {detail}")
    for kind, count in check.summary().items():
        click.echo(f"{count:>6} × {kind}")
    if check.unchanged:
        click.echo(_("%(n)6d × unverändert", n=check.unchanged))
    stop = None
    if not check.ok:
        stop = _("%(n)d Problem(e) gefunden; es wurde nichts gespeichert.", n=len(check.errors))
    elif check.changes and dry_run:
        click.echo(_("Probelauf: alles geprüft, nichts gespeichert."))
    elif check.changes and check.answers and author is None:
        stop = _("Die Datei enthält Sachstände. Bitte nennen Sie mit --author das Konto, das "
                 "sie verantwortet; es wurde nichts gespeichert.")
    if stop or dry_run or not check.changes:
        db.session.rollback()
        if stop:
            _fail(stop)
        return
    label = _("Kommandozeile: Import")
    with acting_as(f"{label} ({author.display_name})" if author else label):
        record = apply_import(db.session, check, author)
        db.session.commit()
    click.echo(_("Import gespeichert (Nr. %(id)d, SHA-256 %(sha)s).", id=record.id,
                 sha=record.sha256[:12]))


@hki_group.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def backup_command(path: str) -> None:
    """Sichert alle Daten und ausgegebenen Berichte in eine Datei (.zip), im laufenden Betrieb."""
    from pathlib import Path

    from hki.backup import BackupError, backup

    with db.engine.connect() as connection:
        try:
            manifest = backup(connection, Path(path))
        except BackupError as error:
            _fail(str(error))
        connection.rollback()
    rows = sum(t["rows"] for t in manifest["tables"].values())
    click.echo(_("Sicherung geschrieben: %(path)s (%(rows)d Zeilen in %(tables)d Tabellen, "
                 "Datenbankstand %(rev)s).", path=path, rows=rows,
                 tables=len(manifest["tables"]), rev=manifest["revision"]))


@hki_group.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--schluessel", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Schlüsseldatei der Installation, die die Sicherung schrieb "
                   "(Vorgabe: der eigene Sicherungsschlüssel).")
def restore_command(path: str, schluessel: str | None) -> None:
    """Stellt eine Sicherung in einer leeren, migrierten Datenbank wieder her (ganz oder nicht)."""
    from pathlib import Path

    from hki.backup import BackupError, load_key, restore

    key = load_key(Path(schluessel)) if schluessel else None
    if schluessel and key is None:
        _fail(_("Die Schlüsseldatei %(path)s ist nicht lesbar.", path=schluessel))
    try:
        with db.engine.begin() as connection:
            counts = restore(connection, Path(path), key)
    except BackupError as error:
        _fail(str(error) + " " + _("Es wurde nichts verändert."))
    click.echo(_("Wiederhergestellt: %(rows)d Zeilen in %(tables)d Tabellen.",
                 rows=sum(counts.values()), tables=len(counts)))


def register(app: Flask) -> None:
    """Attach the command group to the app."""
    app.cli.add_command(hki_group)

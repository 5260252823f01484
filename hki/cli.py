"""Commands under ``flask --app hki hki …``; each commits once, at the end."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from hki.demo.seed import seed_demo
from hki.extensions import db

hki_group = AppGroup("hki", help="Befehle für hki (Handlungskonzept Integration).")


@hki_group.command("seed-demo")
def seed_demo_command() -> None:
    """Lädt den illustrativen Demo-Plan (nur, wenn er noch nicht vorhanden ist)."""
    result = seed_demo(db.session)
    if result.plan is None:
        click.echo("Der Demo-Plan ist bereits vorhanden; es wurde nichts geändert.")
        return
    db.session.commit()
    click.echo(
        f"Demo-Plan „{result.plan.title}“ angelegt: "
        f"{result.measures} Maßnahmen, {result.updates} Sachstände."
    )


def register(app: Flask) -> None:
    """Attach the command group to the app."""
    app.cli.add_command(hki_group)

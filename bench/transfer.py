"""Speed and SQL statements of the Excel import and export for a large plan.

Usage::

    python bench/transfer.py [--measures 4800] [--answers 1] [--runs 3] [--database-url URL]

A file holds at most 10,000 filled rows in all sheets (``hki/transfer/scanning.py``), so
the defaults stay under it. Writes a workbook with ``--measures`` measures (10 fields, 10
goals each, one indicator per measure, 60 organisations) and ``--answers`` status answers
per measure, then on a fresh database each run (SQLite in a temporary folder, or
PostgreSQL at ``--database-url``, whose public schema is dropped and migrated): checks it
(the preview), checks and writes it in one transaction, checks it again (nothing to do),
and exports the plan back to .xlsx. Prints medians in seconds, SQL statements, file size
and peak memory.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATUSES = ("in Planung", "in Umsetzung", "verzögert", "Daueraufgabe")


def build_workbook(measures: int, answers: int) -> bytes:
    """A filled-in template, written with openpyxl like a coordinator's Excel would be."""
    from openpyxl import load_workbook

    from hki.transfer import writing

    book = load_workbook(io.BytesIO(writing.template()))
    concept = {"Titel": "HKI Großstadt 2026–2030", "Kommune": "Großstadt",
               "Gültig ab": date(2026, 1, 1), "Gültig bis": date(2030, 12, 31),
               "Beschlossen am": date(2026, 1, 1)}
    for row in book["Konzept"].iter_rows(min_row=2):
        if row[0].value in concept:
            row[1].value = concept[str(row[0].value)]
    organisations = [f"Fachbereich {n:02d} – Integration und Teilhabe" for n in range(60)]
    for name in organisations:
        book["Organisationen"].append([name])
    plan, status = book["Plan"], book["Sachstände"]
    per_goal = max(1, measures // 100)
    made = 0
    for f in range(1, 11):
        plan.append([str(f), f"Handlungsfeld {f}", "Beschreibung des Handlungsfelds."])
        for g in range(1, 11):
            plan.append([f"{f}.{g}", f"Ziel {f}.{g}: Teilhabe verbessern"])
            for m in range(1, per_goal + 1):
                if made == measures:
                    break
                number = f"{f}.{g}.{m}"
                lead = organisations[made % 60]
                partners = "; ".join(organisations[(made + k) % 60] for k in (7, 13))
                plan.append([number, f"Maßnahme {number}: Sprachförderung und Beratung",
                             "Längere Beschreibung der Maßnahme mit Zielgruppen und Wegen.",
                             lead, partners, "Neuzugewanderte; Familien", date(2026, 1, 1),
                             "12.2028" if made % 4 else "fortlaufend",
                             ("hoch", "mittel", "niedrig")[made % 3], "", None,
                             "Teilnehmende", "Personen", 0, None, 100])
                for a in range(answers):
                    label = STATUSES[(made + a) % 4]
                    finite = made % 4 != 0
                    if label == "Daueraufgabe" or not finite:
                        label, progress = "Daueraufgabe", None
                    else:
                        progress = {"in Planung": 10, "in Umsetzung": 40 + a,
                                    "verzögert": 30}[label]
                    status.append([number, None, None,
                                   date(2026, 3, 31) + timedelta(days=91 * a), label, progress,
                                   "Personal fehlt" if label == "verzögert" else "läuft"])
                made += 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fresh_app(database_url: str | None, folder: Path) -> Any:
    import flask_migrate
    from sqlalchemy import text

    from hki import create_app
    from hki.extensions import db

    os.environ["HKI_INSTANCE_PATH"] = str(folder)
    url = database_url or f"sqlite:///{folder / 'hki.sqlite'}"
    if database_url is None:
        (folder / "hki.sqlite").unlink(missing_ok=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        if database_url:
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        flask_migrate.upgrade()
    return app


def one_run(data: bytes, database_url: str | None, folder: Path) -> dict[str, float]:
    from sqlalchemy import event, func, select

    from hki.auth.models import User
    from hki.extensions import db
    from hki.plan.models import Plan
    from hki.transfer import importing, writing
    from hki.vocab import Role

    app = _fresh_app(database_url, folder)
    figures: dict[str, float] = {}
    with app.app_context():
        author = User(email="kmut@example.org", display_name="KMuT", role=Role.COORDINATOR)
        db.session.add(author)
        db.session.commit()
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        start = time.perf_counter()
        check = importing.check_import(db.session, data, "gross.xlsx")
        figures["check (preview)"] = time.perf_counter() - start
        figures["check SQL"] = len(statements)
        if check.errors:
            raise SystemExit("\n".join(str(p) for p in check.errors[:10]))
        db.session.rollback()
        statements.clear()
        start = time.perf_counter()
        check = importing.check_import(db.session, data, "gross.xlsx")
        importing.apply_import(db.session, check, author)
        db.session.commit()
        figures["check + write + commit"] = time.perf_counter() - start
        figures["write SQL"] = len(statements)
        figures["changes"] = len(check.changes)
        start = time.perf_counter()
        again = importing.check_import(db.session, data, "gross.xlsx")
        figures["check again (nothing to do)"] = time.perf_counter() - start
        figures["changes on second check"] = len(again.changes)
        plan_id = db.session.scalar(select(func.max(Plan.id)))
        start = time.perf_counter()
        exported = writing.to_xlsx(writing.plan_export(plan_id))
        figures["export xlsx"] = time.perf_counter() - start
        figures["export MB"] = len(exported) / 2**20
        db.session.remove()
        db.engine.dispose()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measures", type=int, default=4800)
    parser.add_argument("--answers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hki-bench-transfer-") as tmp:
        folder = Path(tmp)
        os.environ["HKI_INSTANCE_PATH"] = str(folder)
        start = time.perf_counter()
        data = build_workbook(args.measures, args.answers)
        print(f"workbook: {args.measures} measures, {args.measures * args.answers} answers, "
              f"{len(data) / 2**20:.1f} MB, written in {time.perf_counter() - start:.1f} s")
        runs = [one_run(data, args.database_url, folder) for _ in range(args.runs)]
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"backend: {backend}; medians of {args.runs} runs")
    for key in runs[0]:
        value = statistics.median(r[key] for r in runs)
        print(f"  {key:<30} {value:10.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory (MB)               {peak:10.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

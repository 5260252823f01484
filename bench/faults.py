"""Fault tests on PostgreSQL (loopback only; stops by itself). Prints what happened.

Usage::

    python bench/faults.py [--processes 8] [--updates 25]

1. **Concurrent updates**: ``--processes`` processes post ``--updates`` updates each to the
   same measure at the same time; all must be stored, in ``recorded_at`` order.
2. **PostgreSQL restarted while requests run**: gunicorn serves; a client keeps reading
   pages and posting updates while the database restarts. Failed requests must get the
   German error page (or 503 from /health), the app must recover by itself, and every
   update the client was told was saved must be there (and nothing else).
3. **Import killed midway**: ``flask hki import`` of a 3,000-measure workbook is killed with
   SIGKILL while it writes; the database must hold nothing of it.
4. **Storage read-only while a report renders** (issued PDFs live in the database): the
   database turns read-only and drops its connections while the worker renders; nothing
   may be stored half, and the next worker run must finish the report.

Needs root for the restart (``pg_ctlcluster``), as the project's other scripts do.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
URL = "postgresql+psycopg://hki:hki@localhost:5432/hki_faults"


def _app(url: str, folder: Path) -> Any:
    os.environ["HKI_INSTANCE_PATH"] = str(folder)
    from hki import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "faults"})


def _fresh(url: str, folder: Path) -> None:
    import flask_migrate
    from sqlalchemy import text

    from hki.demo.seed import seed_demo
    from hki.extensions import db

    app = _app(url, folder)
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        flask_migrate.upgrade()
        seed_demo(db.session)
        db.session.commit()
        db.engine.dispose()


# --- 1. concurrent updates ------------------------------------------------------------


def _poster(args: tuple[str, str, int, int, int]) -> list[int]:
    url, folder, measure_id, worker, count = args
    from datetime import date

    from hki.auth.services import find_user
    from hki.extensions import db
    from hki.plan.models import Measure
    from hki.updates.services import post_update
    from hki.vocab import Status

    app = _app(url, Path(folder))
    ids = []
    with app.app_context():
        user = find_user(db.session, "koordination@demo.hki.invalid")
        for n in range(count):
            measure = db.session.get(Measure, measure_id)
            update = post_update(db.session, measure, user, as_of=date(2025, 6, 30),
                                 status=Status.IN_PROGRESS, progress=1 + (n % 98),
                                 note=f"parallel {worker}-{n}")
            db.session.commit()
            ids.append(update.id)
        db.engine.dispose()
    return ids


def concurrent_updates(url: str, folder: Path, processes: int, count: int) -> bool:
    from sqlalchemy import select

    from hki.extensions import db
    from hki.plan.models import Measure
    from hki.updates.models import StatusUpdate
    from hki.updates.queries import current_update

    app = _app(url, folder)
    with app.app_context():
        measure_id = db.session.scalars(select(Measure.id).order_by(Measure.id)).first()
        db.engine.dispose()
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.map(_poster, [(url, str(folder), measure_id, w, count)
                                     for w in range(processes)])
    seconds = time.perf_counter() - start
    posted = {i for ids in results for i in ids}
    with app.app_context():
        rows = db.session.scalars(select(StatusUpdate).where(
            StatusUpdate.measure_id == measure_id, StatusUpdate.note.like("parallel %"))
            .order_by(StatusUpdate.recorded_at, StatusUpdate.id)).all()
        latest = current_update(measure_id)  # type: ignore[arg-type]
        newest = max(rows, key=lambda u: (u.recorded_at, u.id))
        ordered = [u.recorded_at for u in rows] == sorted(u.recorded_at for u in rows)
        ok = {u.id for u in rows} == posted and len(rows) == processes * count and ordered \
            and latest is not None and latest.id == newest.id
        db.engine.dispose()
    print(f"1. concurrent updates: {processes} processes × {count} = {processes * count} "
          f"posted in {seconds:.1f} s; stored {len(rows)}; recorded_at ascending: {ordered}; "
          f"current = newest by recorded_at: {latest is not None and latest.id == newest.id}"
          f" -> {'OK' if ok else 'FAILED'}")
    return ok


# --- 2. database restart ----------------------------------------------------------------


class Client:
    """A logged-in browser stand-in over HTTPS on loopback (self-signed certificate)."""

    def __init__(self, base: str) -> None:
        self.base = base
        context = ssl._create_unverified_context()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()),
            urllib.request.HTTPSHandler(context=context), _NoRedirect())
        self.opener.addheaders = [("Referer", f"{base}/")]  # as a browser (CSRF on HTTPS)

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=15) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")
        except OSError as error:
            return 0, str(error)

    def csrf(self, path: str) -> str:
        import re

        _status, html = self.request(path)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        return match.group(1) if match else ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _server(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    from load import _certificate, _free_port, _wait_healthy

    cert, key = _certificate(folder)
    port = _free_port()
    env = {**os.environ, "HKI_DATABASE_URL": url, "HKI_SECRET_KEY": secrets.token_hex(32),
           "HKI_BIND": f"127.0.0.1:{port}", "HKI_WORKERS": "2",
           "HKI_INSTANCE_PATH": str(folder),
           "GUNICORN_CMD_ARGS": f"--certfile={cert} --keyfile={key}"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config",
                               "scripts/gunicorn.conf.py", "hki.wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=(folder / "server.log").open("w"))
    base = f"https://127.0.0.1:{port}"
    _wait_healthy(base)
    return server, base


def database_restart(url: str, folder: Path) -> bool:
    from sqlalchemy import func, select

    from hki.demo.seed import DEMO_PASSWORD
    from hki.extensions import db
    from hki.plan.models import Measure
    from hki.updates.models import StatusUpdate

    app = _app(url, folder)
    with app.app_context():
        measure_id = db.session.scalars(select(Measure.id).order_by(Measure.id)).first()
        db.engine.dispose()
    server, base = _server(url, folder)
    client = Client(base)
    client.request("/anmelden", {"csrf_token": client.csrf("/anmelden"),
                                 "email": "koordination@demo.hki.invalid",
                                 "password": DEMO_PASSWORD})
    restart = subprocess.Popen(["bash", "-c", "sleep 2; pg_ctlcluster 15 main restart"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    saved, failed, german, other, statuses = [], 0, 0, [], {}
    deadline = time.monotonic() + 12
    n = 0
    while time.monotonic() < deadline:
        n += 1
        status, html = client.request(f"/massnahmen/{measure_id}")
        statuses[status] = statuses.get(status, 0) + 1
        token = client.csrf(f"/massnahmen/{measure_id}/sachstand")
        note = f"neustart {n}"
        status, html = client.request(f"/massnahmen/{measure_id}/sachstand", {
            "csrf_token": token, "as_of": "2025-06-30", "status": "in_progress",
            "progress": "50", "note": note})
        if status == 302:
            saved.append(note)
        else:
            failed += 1
            if "Ein Fehler ist aufgetreten" in html or "Die Sitzung ist abgelaufen" in html:
                german += 1
            else:
                other.append(status)
        time.sleep(0.05)
    restart.wait(timeout=60)
    after, _ = client.request(f"/massnahmen/{measure_id}")
    health, _ = client.request("/health")
    server.terminate()
    server.wait(timeout=30)
    with app.app_context():
        stored = set(db.session.scalars(select(StatusUpdate.note).where(
            StatusUpdate.note.like("neustart %"))))
        total = db.session.scalar(select(func.count()).select_from(StatusUpdate).where(
            StatusUpdate.note.like("neustart %")))
        db.engine.dispose()
    ok = stored == set(saved) and total == len(saved) and after == 200 and health == 200 \
        and not other
    print(f"2. PostgreSQL restarted during requests: {n} rounds of page + update; pages "
          f"{statuses}; updates saved {len(saved)}, failed {failed} (German error page: "
          f"{german}, other: {other}); stored {total}, the same notes: {stored == set(saved)};"
          f" afterwards page {after}, /health {health} -> {'OK' if ok else 'FAILED'}")
    return ok


# --- 3. import killed -------------------------------------------------------------------


def killed_import(url: str, folder: Path) -> bool:
    from sqlalchemy import func, select
    from transfer import build_workbook

    from hki.extensions import db
    from hki.plan.models import Measure, Plan
    from hki.transfer.models import DataImport

    workbook = folder / "gross.xlsx"
    workbook.write_bytes(build_workbook(3000, 1))
    app = _app(url, folder)
    with app.app_context():
        before = (db.session.scalar(select(func.count()).select_from(Measure)),
                  db.session.scalar(select(func.count()).select_from(Plan)))
        db.engine.dispose()
    env = {**os.environ, "HKI_DATABASE_URL": url, "HKI_INSTANCE_PATH": str(folder)}
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "hki", "hki", "import", str(workbook),
         "--author", "koordination@demo.hki.invalid"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(9)  # reading takes ~4 s, writing ~8 s: this is in the middle of writing
    killed = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(1)
    with app.app_context():
        after = (db.session.scalar(select(func.count()).select_from(Measure)),
                 db.session.scalar(select(func.count()).select_from(Plan)))
        imports = db.session.scalar(select(func.count()).select_from(DataImport))
        db.engine.dispose()
    ok = killed and after == before and imports == 0
    print(f"3. import of 3,000 measures killed after 9 s (still running: {killed}): measures "
          f"{before[0]} → {after[0]}, plans {before[1]} → {after[1]}, import records "
          f"{imports} -> {'OK' if ok else 'FAILED'}")
    return ok


# --- 4. storage read-only while a report renders ------------------------------------


def _sql(url: str, folder: Path, statement: str) -> Any:
    from sqlalchemy import text

    from hki.extensions import db

    app = _app(url, folder)
    with app.app_context():
        with db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text("SET default_transaction_read_only = off"))  # this session
            cursor = connection.execute(text(statement))
            result = cursor.all() if cursor.returns_rows else []
        db.engine.dispose()
    return result


def read_only_during_report(url: str, folder: Path) -> bool:
    from datetime import date

    from sqlalchemy import select

    from hki.auth.services import find_user
    from hki.extensions import db
    from hki.plan.models import Plan
    from hki.reports import jobs
    from hki.reports.models import Report

    app = _app(url, folder)
    with app.app_context():
        plan = db.session.scalars(select(Plan)).first()
        user = find_user(db.session, "koordination@demo.hki.invalid")
        report_id = jobs.request_report(db.session, plan, user, date(2024, 12, 31), None).id
        db.session.commit()
        db.engine.dispose()
    env = {**os.environ, "HKI_DATABASE_URL": url, "HKI_INSTANCE_PATH": str(folder)}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "hki", "hki", "worker",
                               "--once"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    state = ""
    for _ in range(200):  # wait until the worker has claimed it and is rendering
        state = _sql(url, folder, f"SELECT state FROM reports WHERE id = {report_id}")[0][0]
        if state == "running":
            break
        time.sleep(0.05)
    database = url.rsplit("/", 1)[1]
    _sql(url, folder, f"ALTER DATABASE {database} SET default_transaction_read_only = on")
    _sql(url, folder, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                      f"datname = '{database}' AND pid <> pg_backend_pid()")
    code = worker.wait(timeout=120)
    during = _sql(url, folder, "SELECT state, pdf IS NULL, sha256 IS NULL FROM reports "
                               f"WHERE id = {report_id}")[0]
    _sql(url, folder, f"ALTER DATABASE {database} RESET default_transaction_read_only")
    again = subprocess.run([sys.executable, "-m", "flask", "--app", "hki", "hki", "worker",
                            "--once"], cwd=ROOT, env=env, capture_output=True, check=False)
    with app.app_context():
        report = db.session.get(Report, report_id)
        done = report is not None and report.state.value == "done" and bool(report.pdf)
        db.engine.dispose()
    ok = state == "running" and code != 0 and during[0] != "done" and during[1] and \
        during[2] and done and again.returncode == 0
    print(f"4. database read-only while a report renders: worker exit {code}; the report "
          f"stayed {during[0]!r} with no PDF and no checksum: {bool(during[1] and during[2])}; "
          f"after the storage is writable again the next worker run finished it: {done} "
          f"-> {'OK' if ok else 'FAILED'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--updates", type=int, default=25)
    parser.add_argument("--database-url", default=URL)
    args = parser.parse_args()
    from load import ensure_postgres

    ensure_postgres(args.database_url, URL)
    with tempfile.TemporaryDirectory(prefix="hki-faults-") as tmp:
        folder = Path(tmp)
        _fresh(args.database_url, folder)
        results = [concurrent_updates(args.database_url, folder, args.processes, args.updates),
                   database_restart(args.database_url, folder),
                   killed_import(args.database_url, folder),
                   read_only_during_report(args.database_url, folder)]
    print(json.dumps({"all_ok": all(results)}))
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())

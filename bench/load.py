"""Load test: the production server on PostgreSQL under the mix of a day before a council
meeting, driven by locust from a second process. Only loopback is used; it stops itself.

Usage::

    python bench/load.py [--seconds 60] [--measures 1000] [--updates 20000] [--workers 3]

Sets up the database ``hki_load`` (PostgreSQL started and created by the project's script;
its public schema is dropped), loads the demo plan and a large plan, creates 1 reader,
10 office and 2 coordinator accounts, starts ``gunicorn hki.wsgi:app`` with TLS (a
self-signed certificate, so the secure session cookie works) and the report worker, and
runs locust headless with 50 readers, 10 offices and 2 coordinators. Prints per page type
requests, failures, median and p95 latency, throughput, and whether every update that an
office posted (and got a redirect for) is in the database.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
URL = "postgresql+psycopg://hki:hki@localhost:5432/hki_load"


def ensure_postgres(url: str, default: str) -> None:
    """Start the machine's PostgreSQL and create the default database, as scripts/test does."""
    if url == default:
        name = default.rsplit("/", 1)[1]
        subprocess.run(["bash", "-c", "source scripts/_common.sh >/dev/null; source "
                        f"scripts/_postgres.sh; ensure_postgres {name} >/dev/null"],
                       cwd=ROOT, check=True)


def _ensure_locust() -> None:
    try:
        import locust  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "locust==2.47.0"],
                       check=True)


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def _prepare(url: str, measures: int, updates: int, folder: Path) -> dict[str, Any]:
    """Fresh schema, demo plan, large plan, accounts; the locust settings."""
    import flask_migrate
    import report as report_bench
    from sqlalchemy import select, text

    from hki import create_app
    from hki.auth.services import create_user
    from hki.backup import reset_sequences
    from hki.demo.seed import DEMO_PASSWORD, seed_demo
    from hki.extensions import db
    from hki.plan.models import Measure, Organisation
    from hki.vocab import Role

    os.environ["HKI_INSTANCE_PATH"] = str(folder)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "setup"})
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        flask_migrate.upgrade()
        demo = seed_demo(db.session)
        db.session.commit()
        assert demo.plan is not None
        demo_id = demo.plan.id
        large = report_bench.build_large_plan(db.session, measures, updates)
        db.session.commit()
        with db.engine.begin() as connection:  # the builder inserts with explicit ids
            reset_sequences(connection)
            connection.execute(text("ANALYZE"))
        offices = []
        leads = db.session.execute(
            select(Organisation, Measure.id).join(Measure, Measure.lead_organisation_id ==
                                                  Organisation.id)
            .where(Measure.archived_at.is_(None))).all()
        by_org: dict[int, tuple[Organisation, list[int]]] = {}
        for org, measure_id in leads:
            by_org.setdefault(org.id, (org, []))[1].append(measure_id)
        for n, (org, ids) in enumerate(sorted(by_org.values(), key=lambda o: -len(o[1]))[:10]):
            email = f"fachstelle{n}@last.hki.invalid"
            create_user(db.session, email=email, display_name=f"Lasttest Fachstelle {n}",
                        role=Role.OFFICE, organisation=org, password=DEMO_PASSWORD)
            offices.append({"email": email, "measures": ids[:50]})
        coordinators = []
        for n in range(2):
            email = f"koordination{n}@last.hki.invalid"
            create_user(db.session, email=email, display_name=f"Lasttest Koordination {n}",
                        role=Role.COORDINATOR, organisation=None, password=DEMO_PASSWORD)
            coordinators.append(email)
        db.session.commit()
        measure_ids = list(db.session.scalars(select(Measure.id)))
        db.session.remove()
        db.engine.dispose()
    return {"password": DEMO_PASSWORD, "reader": "rat@demo.hki.invalid", "offices": offices,
            "coordinators": coordinators, "plans": [demo_id, large["plan_id"]],
            "large_plan": large["plan_id"], "demo_plan": demo_id,
            "measures": measure_ids, "posted_file": str(folder / "posted.json")}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(base: str, seconds: float = 60) -> None:
    import ssl
    import urllib.request

    context = ssl._create_unverified_context()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health", context=context, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("Der Server wurde nicht bereit.")


def _count_stored(url: str, folder: Path) -> int:
    from sqlalchemy import func, select

    from hki import create_app
    from hki.extensions import db
    from hki.updates.models import StatusUpdate

    os.environ["HKI_INSTANCE_PATH"] = str(folder)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "count"})
    with app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(StatusUpdate)
                                   .where(StatusUpdate.note.like("Lasttest %"))) or 0
        db.engine.dispose()
    return int(stored)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--measures", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--database-url", default=URL)
    args = parser.parse_args()
    _ensure_locust()
    ensure_postgres(args.database_url, URL)
    with tempfile.TemporaryDirectory(prefix="hki-load-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        setup = _prepare(args.database_url, args.measures, args.updates, folder)
        print(f"set-up: demo plan + {args.measures} measures / {args.updates} updates, "
              f"{len(setup['offices'])} offices, {time.perf_counter() - start:.0f} s")
        setup_file = folder / "setup.json"
        setup_file.write_text(json.dumps(setup), "utf-8")
        cert, key = _certificate(folder)
        port = _free_port()
        env = {**os.environ, "HKI_DATABASE_URL": args.database_url,
               "HKI_SECRET_KEY": secrets.token_hex(32), "HKI_BIND": f"127.0.0.1:{port}",
               "HKI_WORKERS": str(args.workers), "HKI_INSTANCE_PATH": str(folder),
               "HKI_LOGIN_LIMIT_ADDRESS": "1000 per 15 minutes",
               "GUNICORN_CMD_ARGS": f"--certfile={cert} --keyfile={key}"}
        log = (folder / "server.log").open("w")
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config",
                                   "scripts/gunicorn.conf.py", "hki.wsgi:app"], cwd=ROOT,
                                  env=env, stdout=subprocess.DEVNULL, stderr=log)
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "hki", "hki",
                                   "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=log)
        base = f"https://127.0.0.1:{port}"
        try:
            _wait_healthy(base)
            stats = folder / "stats"
            subprocess.run(
                [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
                 "--headless", "-u", "62", "-r", "20", "-t", f"{args.seconds}s", "--host", base,
                 "--csv", str(stats), "--only-summary", "--stop-timeout", "15"],
                cwd=ROOT, env={**env, "HKI_LOAD_SETUP": str(setup_file)}, check=False,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            for process in (server, worker):
                process.terminate()
            for process in (server, worker):
                process.wait(timeout=30)
        Path("/tmp/hki-load-server.log").write_text((folder / "server.log").read_text())
        rows = list(csv.DictReader((folder / "stats_stats.csv").open(encoding="utf-8")))
        failures = list(csv.DictReader((folder / "stats_failures.csv").open(encoding="utf-8")))
        posted = json.loads(Path(setup["posted_file"]).read_text("utf-8"))
        stored = _count_stored(args.database_url, folder)
    print(f"{args.seconds} s, 62 users (50 readers, 10 offices, 2 coordinators), "
          f"{args.workers} gunicorn processes × 4 threads, TLS on loopback")
    print(f"  {'page':<22} {'requests':>8} {'failures':>8} {'req/s':>7} {'p50 ms':>7} "
          f"{'p95 ms':>7}")
    for row in rows:
        print(f"  {row['Name']:<22} {row['Request Count']:>8} {row['Failure Count']:>8} "
              f"{float(row['Requests/s']):>7.1f} {row['50%']:>7} {row['95%']:>7}")
    print(f"  updates posted (302 received): {len(posted)}; stored in the database: {stored}"
          f" -> {'all stored' if stored == len(posted) else 'MISMATCH'}")
    for failure in failures[:5]:
        print(f"  failure: {failure['Name']}: {failure['Error'][:100]} ×{failure['Occurrences']}")
    total = next(r for r in rows if r["Name"] == "Aggregated")
    return 0 if stored == len(posted) and total["Failure Count"] == "0" else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""What each page costs, and whether the demo plan's pages slow down beside a large plan.

Usage::

    python bench/pages.py [--sizes 0,1000,5000] [--updates-per-measure 40] [--runs 20]
                          [--database-url postgresql+psycopg://hki:hki@localhost/hki_bench]
                          [--only sqlite|postgresql] [--pages overview,finder-search,...]
                          [--analyze auto|never|always] [--json FILE]

A page should cost what it shows: the plan overview, the dashboard, the finder and the
report preview of the 80-measure demo plan must not get slower because another plan in the
same database has 5,000 measures and 200,000 updates, and the large plan's own pages should
stay within reach of ``/health``. Per database this script builds (each size of
``--sizes``): the demo plan alone (0), or the demo plan beside a generated plan of that many
measures with ``--updates-per-measure`` accepted updates each (``bench/report.py``'s
``build_large_plan``: plan tree through the ORM, updates and acceptances bulk-inserted, then
every search document rebuilt). It does so on SQLite (a file in a temporary folder) and,
with ``--database-url``, on PostgreSQL, whose public schema is DROPPED and migrated afresh
(as ``bench/transfer.py`` does): never point it at a database you want to keep.

Each database is then measured in a fresh process: the demo council member (reader) logs
in (the report preview needs the demo coordinator, who logs in too) and every page of
both plans is requested through the WSGI test client (no network), once to warm up and
then ``--runs`` times, each timed run preceded by one ``/health`` request. Every answer
must be 200 and carry that page's ``<title>`` for that plan, so a redirect to the login
page or an error page stops the benchmark. Printed per (database, plan, page):

- ``med`` / ``p90``: median and 90th percentile of the request's wall time, ms;
- ``SQL`` / ``SQL ms``: statements of one request (the largest count seen) and the median
  sum of their durations (SQLAlchemy ``before/after_cursor_execute``; on SQLite, which
  computes most rows while they are fetched, plus the time in the cursor's ``fetch*``;
  psycopg has every row in hand when ``execute`` returns);
- ``KB``: size of the HTML;
- ``×health``: median / the median of ``/health`` in the same database and process, which
  takes out much of the machine's speed and load;
- ``×alone``: for the demo plan, median / the same page's median in the database that
  holds the demo plan alone (size 0, same backend, if measured): the issue's 1.2× target.

With ``--analyze auto`` (default) PostgreSQL gets ``ANALYZE`` after the build (autovacuum
would run it within a minute anyway, so without it figures depend on timing); SQLite,
which never gathers statistics by itself, does not. ``always``/``never`` force either way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import report as report_bench  # noqa: E402

READER = "rat@demo.hki.invalid"
COORDINATOR = "koordination@demo.hki.invalid"
EARLIER = "2023-12-31"  # the dashboard's "Stand am": a date inside both plans' history


@dataclass(frozen=True)
class Page:
    """A page to request: URL, the start of its ``<title>``, and who may see it."""

    url: str
    title: str  # formatted with the plan's (escaped) title
    user: str = READER


#: Pages by name (``--pages`` picks from these); ``{id}`` is the plan, ``{measure}`` a measure.
PAGES: dict[str, Page] = {
    "overview": Page("/plaene/{id}", "<title>{title} – hki</title>"),
    "measure": Page("/massnahmen/{measure}", "<title>{measure_title} – hki</title>"),
    "dashboard": Page("/plaene/{id}/dashboard", "<title>Dashboard – {title} – hki</title>"),
    "dashboard-stand": Page(f"/plaene/{{id}}/dashboard?stand={EARLIER}",
                            "<title>Dashboard – {title} – hki</title>"),
    "finder": Page("/plaene/{id}/massnahmen", "<title>Maßnahmen finden – {title} – hki</title>"),
    "finder-filtered": Page("/plaene/{id}/massnahmen?status=in_progress&status=delayed"
                            "&sort=datum", "<title>Maßnahmen finden – {title} – hki</title>"),
    "finder-search": Page("/plaene/{id}/massnahmen?q=Sprachf%C3%B6rderung",
                          "<title>Maßnahmen finden – {title} – hki</title>"),
    # The HTML preview of the Sachstandsbericht needs ISSUE_REPORT: a reader gets 403.
    "preview": Page("/plaene/{id}/bericht", "<title>Sachstandsbericht {title} – Stand",
                    COORDINATOR),
}


def _sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'hki.sqlite'}"


def _app(database_url: str, connect_args: dict[str, Any] | None = None) -> Any:
    from hki import create_app

    config: dict[str, Any] = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench",
                              "WTF_CSRF_ENABLED": False}
    if connect_args:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True,
                                               "connect_args": connect_args}
    return create_app(config)


def _fresh_app(database_url: str | None, folder: Path) -> Any:
    """An empty, migrated database: as ``bench/transfer.py``'s ``_fresh_app``."""
    import flask_migrate
    from sqlalchemy import text

    from hki.extensions import db

    if database_url is None:
        (folder / "hki.sqlite").unlink(missing_ok=True)
    app = _app(database_url or _sqlite_url(folder))
    with app.app_context():
        if database_url:
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        flask_migrate.upgrade()
    return app


# --------------------------------------------------------------------------- building


def build(database_url: str | None, folder: Path, size: int, updates_per_measure: int,
          analyze: bool) -> dict[str, Any]:
    """Fresh schema, the demo plan, a large plan beside it (if ``size``); the plans and times."""
    from sqlalchemy import select, text

    from hki.dashboard import search
    from hki.demo.seed import seed_demo
    from hki.extensions import db
    from hki.plan.models import Field, Goal, Measure, Plan
    from hki.updates.models import StatusUpdate

    steps: dict[str, float] = {}
    t0 = time.perf_counter()
    app = _fresh_app(database_url, folder)
    steps["migrate"] = time.perf_counter() - t0
    plans: list[dict[str, Any]] = []
    with app.app_context():
        t = time.perf_counter()
        demo = seed_demo(db.session)
        db.session.commit()
        assert demo.plan is not None
        steps["demo"] = time.perf_counter() - t
        ids = [("demo", demo.plan.id)]
        if size:
            t = time.perf_counter()
            large = report_bench.build_large_plan(db.session, size, size * updates_per_measure)
            db.session.commit()
            steps["large plan"] = time.perf_counter() - t
            ids.append((f"big-{size}", large["plan_id"]))
        t = time.perf_counter()
        with db.engine.begin() as connection:  # the bulk-inserted notes are not in it yet
            search.rebuild(connection)
        steps["search docs"] = time.perf_counter() - t
        if analyze:
            t = time.perf_counter()
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
            steps["analyze"] = time.perf_counter() - t
        for name, plan_id in ids:
            plan = db.session.get(Plan, plan_id)
            assert plan is not None
            in_plan = (select(Measure).join(Measure.goal).join(Goal.field)
                       .where(Field.plan_id == plan_id).order_by(Measure.id))
            measures = list(db.session.scalars(in_plan))
            first = measures[0]
            updates = db.session.query(StatusUpdate).filter(
                StatusUpdate.measure_id.in_([m.id for m in measures])).count()
            plans.append({"name": name, "plan_id": plan_id, "title": plan.title,
                          "measures": len(measures), "updates": updates,
                          "measure": first.id, "measure_title": f"{first.number} {first.title}"})
        db.session.remove()
        db.engine.dispose()
    return {"build_s": time.perf_counter() - t0, "steps": steps, "plans": plans}


# --------------------------------------------------------------------------- measuring


@dataclass
class SqlClock:
    """Counts the statements and sums their durations, between two :meth:`reset` calls."""

    count: int = 0
    seconds: float = 0.0
    _started: list[float] = field(default_factory=list)

    def reset(self) -> None:
        self.count, self.seconds = 0, 0.0

    def before(self, *_: Any) -> None:
        self.count += 1
        self._started.append(time.perf_counter())

    def after(self, *_: Any) -> None:
        if self._started:
            self.seconds += time.perf_counter() - self._started.pop()

    def timed(self, fetch: Callable[..., Any], *args: Any) -> Any:
        """Call ``fetch`` and add its time (SQLite computes rows while they are fetched)."""
        t0 = time.perf_counter()
        try:
            return fetch(*args)
        finally:
            self.seconds += time.perf_counter() - t0


def _sqlite_fetch_timing(clock: SqlClock) -> dict[str, Any]:
    """``connect_args`` whose cursors add their fetching time to ``clock``.

    sqlite3's ``execute`` only steps to the first row; the rest of a query runs inside
    ``fetchall``/``fetchmany``, which the cursor events do not see.
    """
    import sqlite3

    class Cursor(sqlite3.Cursor):
        def fetchone(self) -> Any:
            return clock.timed(super().fetchone)

        def fetchmany(self, *args: Any) -> list[Any]:
            return clock.timed(super().fetchmany, *args)  # type: ignore[no-any-return]

        def fetchall(self) -> list[Any]:
            return clock.timed(super().fetchall)  # type: ignore[no-any-return]

    class Connection(sqlite3.Connection):
        def cursor(self, factory: Any = Cursor) -> Any:
            return super().cursor(factory)

    return {"factory": Connection}


def _login(app: Any, email: str) -> Any:
    from hki.demo.seed import DEMO_PASSWORD

    client = app.test_client()
    answer = client.post("/anmelden", data={"email": email, "password": DEMO_PASSWORD})
    if answer.status_code != 302 or "/anmelden" in answer.headers.get("Location", ""):
        raise SystemExit(f"login as {email} failed: {answer.status_code}")
    return client


def _check(answer: Any, url: str, marker: str) -> int:
    """Stop unless the answer is 200 and that page (not the login page); its size in bytes."""
    body = answer.get_data(as_text=True)
    if answer.status_code != 200 or marker not in body:
        raise SystemExit(f"{url}: {answer.status_code}, expected {marker!r}; got {body[:300]!r}")
    return len(answer.get_data())


def _timed(get: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    answer = get()
    return (time.perf_counter() - t0) * 1000, answer


def measure(database_url: str, plans: list[dict[str, Any]], pages: list[str],
            runs: int) -> dict[str, Any]:
    """Run in a fresh process: every page of every plan, warm, ``runs`` times."""
    from markupsafe import escape
    from sqlalchemy import event

    from hki.extensions import db

    sql = SqlClock()
    app = _app(database_url, _sqlite_fetch_timing(sql) if database_url.startswith("sqlite")
               else None)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", sql.before)
        event.listen(db.engine, "after_cursor_execute", sql.after)
    clients = {email: _login(app, email) for email in {PAGES[p].user for p in pages}}
    reader = clients.get(READER) or _login(app, READER)

    def health() -> float:
        ms, answer = _timed(lambda: reader.get("/health"))
        assert answer.status_code == 200 and answer.json["status"] == "ok", answer.status_code
        return ms

    health()
    health_ms: list[float] = []
    rows: list[dict[str, Any]] = []
    for plan in plans:
        for name in pages:
            page = PAGES[name]
            url = page.url.format(id=plan["plan_id"], measure=plan["measure"])
            marker = page.title.format(title=escape(plan["title"]),
                                       measure_title=escape(plan["measure_title"]))
            client = clients[page.user]

            def get(client: Any = client, url: str = url) -> Any:
                return client.get(url)

            _check(get(), url, marker)  # warm-up
            times, sql_ms, counts, size = [], [], [], 0
            for _ in range(runs):
                health_ms.append(health())
                sql.reset()
                ms, answer = _timed(get)
                times.append(ms)
                sql_ms.append(sql.seconds * 1000)
                counts.append(sql.count)
                size = _check(answer, url, marker)
            rows.append({"plan": plan["name"], "page": name, "url": url,
                         "median": statistics.median(times), "p90": _p90(times),
                         "sql": max(counts), "sql_min": min(counts),
                         "sql_ms": statistics.median(sql_ms), "kb": size / 1024})
    with app.app_context():
        db.engine.dispose()
    return {"health": statistics.median(health_ms), "health_p90": _p90(health_ms),
            "rows": rows, "load": os.getloadavg()[0]}


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 \
        else values[0]


# --------------------------------------------------------------------------- main


def _child(args: list[str]) -> dict[str, Any]:
    """Run this script with ``args`` in a fresh process; its ``RESULT`` line as a dict."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                          capture_output=True, text=True, check=False)
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not line:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-5000:])
        raise SystemExit(f"child {args[:2]} failed")
    result: dict[str, Any] = json.loads(line[-1][len("RESULT "):])
    return result


def _table(databases: list[dict[str, Any]]) -> str:
    """One line per (database, plan, page)."""
    alone = {(d["backend"], r["page"]): r["median"] for d in databases if d["size"] == 0
             for r in d["rows"] if r["plan"] == "demo"}
    head = (f"{'database':<16}{'plan':<10}{'page':<16}{'med ms':>8}{'p90 ms':>8}{'SQL':>5}"
            f"{'SQL ms':>8}{'KB':>7}{'×health':>9}{'×alone':>8}")
    lines = [head, "-" * len(head)]
    for d in databases:
        for r in d["rows"]:
            base = alone.get((d["backend"], r["page"])) if r["plan"] == "demo" else None
            versus = f"{r['median'] / base:>8.2f}" if base and d["size"] else f"{'':>8}"
            sql = f"{r['sql']}" if r["sql"] == r["sql_min"] else f"{r['sql_min']}-{r['sql']}"
            lines.append(f"{d['label']:<16}{r['plan']:<10}{r['page']:<16}{r['median']:>8.1f}"
                         f"{r['p90']:>8.1f}{sql:>5}{r['sql_ms']:>8.1f}{r['kb']:>7.0f}"
                         f"{r['median'] / d['health']:>9.1f}{versus}")
        lines.append(f"{d['label']:<16}{'':<10}{'/health':<16}{d['health']:>8.1f}"
                     f"{d['health_p90']:>8.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,1000,5000",
                        help="measures of the large plan per database; 0 = the demo plan alone")
    parser.add_argument("--updates-per-measure", type=int, default=40)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL database whose public schema is dropped and rebuilt")
    parser.add_argument("--only", choices=("sqlite", "postgresql"),
                        help="one backend only (default: SQLite, and PostgreSQL if given)")
    parser.add_argument("--pages", default=",".join(PAGES),
                        help=f"comma-separated, of: {', '.join(PAGES)}")
    parser.add_argument("--analyze", choices=("auto", "never", "always"), default="auto")
    parser.add_argument("--json", metavar="FILE", help="write all figures to FILE as JSON")
    # Internal: one step in a fresh process.
    parser.add_argument("--child", choices=("build", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--plans", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = sorted(set(pages) - set(PAGES))
    if unknown:
        parser.error(f"unknown pages: {', '.join(unknown)} (known: {', '.join(PAGES)})")

    if args.child == "build":
        size = int(args.sizes)
        result = build(args.database_url, Path(args.folder), size, args.updates_per_measure,
                       args.analyze == "always" or (args.analyze == "auto"
                                                    and args.database_url is not None))
        print("RESULT " + json.dumps(result))
        return 0
    if args.child == "measure":
        print("RESULT " + json.dumps(measure(args.database_url, json.loads(args.plans),
                                             pages, args.runs)))
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    backends: list[tuple[str, str | None]] = []
    if args.only != "postgresql":
        backends.append(("sqlite", None))
    if args.only != "sqlite" and args.database_url:
        backends.append(("postgresql", args.database_url))
    if not backends:
        parser.error("--only postgresql needs --database-url")
    common = ["--updates-per-measure", str(args.updates_per_measure), "--analyze", args.analyze,
              "--runs", str(args.runs), "--pages", ",".join(pages)]
    databases: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hki-bench-pages-") as tmp:
        folder = Path(tmp)
        # The children's instance folder (and no key file in it): never the project's own.
        os.environ.update({"HKI_INSTANCE_PATH": tmp, "HKI_SECRET_KEY": "bench-only"})
        for backend, url in backends:
            for size in sizes:
                label = f"{backend}+{size}" if size else f"{backend} demo"
                target = ["--database-url", url] if url else []
                built = _child(["--child", "build", "--sizes", str(size), "--folder", tmp,
                                *target, *common])
                steps = ", ".join(f"{k} {v:.1f}" for k, v in built["steps"].items())
                print(f"{label}: built in {built['build_s']:.1f} s ({steps}); "
                      + "; ".join(f"{p['name']} {p['measures']} measures / {p['updates']} "
                                  f"updates" for p in built["plans"]), flush=True)
                t = time.perf_counter()
                measured = _child(["--child", "measure", "--plans", json.dumps(built["plans"]),
                                   "--database-url", url or _sqlite_url(folder), *common])
                print(f"{label}: measured in {time.perf_counter() - t:.1f} s, load average "
                      f"{measured['load']:.1f}", flush=True)
                databases.append({"backend": backend, "size": size, "label": label,
                                  "build_s": built["build_s"], "steps": built["steps"],
                                  "plans": built["plans"], **measured})
    print(f"\n{args.runs} warm runs per page (after one warm-up), each after one /health; "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"{args.updates_per_measure} updates per measure, ANALYZE {args.analyze}; "
          f"total {time.perf_counter() - started:.0f} s")
    print(_table(databases))
    print("SQL = statements per request (min-max if they vary); SQL ms = median sum of their "
          "durations; ×health = median / /health's median in the same process; ×alone = the "
          "demo plan's median / its median in a database of its own (same backend)")
    if args.json:
        Path(args.json).write_text(json.dumps(databases, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

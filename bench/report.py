"""Benchmark of the Sachstandsbericht: data gathering, HTML, WeasyPrint and the whole PDF.

Usage::

    python bench/report.py [--measures 1000] [--updates 40000] [--runs 3]
    python bench/report.py --quick          # 200 measures, 4,000 updates, 1 run

A throwaway SQLite database is built in a temporary folder (migrations, the demo plan, and a
generated large plan). Each plan is then measured in a process of its own, so that its peak
memory (``ru_maxrss``, which includes what WeasyPrint's C libraries allocate) belongs to that
plan alone. Per plan it prints the median over ``--runs`` of:

- ``gather``: :func:`hki.reports.data.gather`, with its SQL statement count;
- ``html``: :func:`hki.reports.render.render_html`;
- ``weasy``: WeasyPrint alone on that same HTML string (same CSS, fonts, ``pdf/ua-1``),
  split into layout (``HTML.render``) and PDF writing (``Document.write_pdf``);
- ``pdf``: :func:`hki.reports.render.render_pdf` (HTML + WeasyPrint);
- ``total``: ``gather`` + ``render_pdf`` as one request would do them;
- ``ratio`` = total / weasy (issue 7's target: ≤ 1.15), and ``ratio*``, the median per run of
  (gather + html + weasy) / weasy, which the machine's timing noise (±15 % between two equal
  renders on a shared VM) disturbs less; the order of the two measurements alternates;

and the pages, the PDF size and the process's peak RSS; then, per plan, one report made by
``flask hki report`` in a fresh process (as the worker makes one): its wall time including
start-up and its own peak RSS.

The plan tree is created through the ORM, because reports read the plan as it stood from
the audit log's snapshots, which the session's flush hooks write. Status updates, their
acceptances and indicator values are bulk-inserted with Core ``insert()`` (no audit rows:
reports do not read them from the log).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: The report's Stichtag and comparison base; the Kenntnisstand is the start of the run.
STICHTAG = date(2024, 12, 31)
COMPARE_WITH = date(2023, 12, 31)
ADOPTED = datetime(2020, 4, 28, 22, 0, tzinfo=UTC)  # 29.04.2020, 00:00 in Berlin
LAST_UPDATE = date(2025, 6, 30)

WORDS = (
    "Sprachförderung", "Beratung", "Qualifizierung", "Teilhabe", "Netzwerk", "Ehrenamt",
    "Familienzentrum", "Kindertagesstätte", "Ausbildung", "Anerkennung", "Wohnraum", "Gesundheit",
    "Prävention", "Sportverein", "Elternarbeit", "Quartier", "Begegnung", "Mentoring",
    "Dolmetscherpool", "Willkommenskultur", "Jobcenter", "Volkshochschule", "Integrationskurs",
    "Berufsorientierung", "Schulsozialarbeit", "Seniorenarbeit", "Migrantenorganisation",
    "Antidiskriminierung", "Verwaltung", "Interkulturelle", "Öffnung",
)
FIELD_TITLES = (
    "Sprache und Bildung", "Arbeit und Ausbildung", "Wohnen und Quartier", "Gesundheit",
    "Kinder, Jugend und Familie", "Teilhabe und Ehrenamt", "Interkulturelle Öffnung",
    "Sport und Kultur", "Antidiskriminierung", "Beratung und Begleitung", "Senioren",
    "Digitale Teilhabe",
)


# --------------------------------------------------------------------------- database


def _environment(instance: Path) -> dict[str, str]:
    return {
        "HKI_INSTANCE_PATH": str(instance),
        "HKI_DATABASE_URL": f"sqlite:///{instance / 'bench.sqlite'}",
        "HKI_SECRET_KEY": "bench-only",
    }


def _app(instance: Path) -> Any:
    os.environ.update(_environment(instance))
    from hki import create_app

    return create_app()


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def build_large_plan(session: Any, measures: int, updates: int, seed: int = 7) -> dict[str, Any]:
    """A plan of ``measures`` measures in about ten fields, with ``updates`` accepted updates.

    Returns the plan id and what the report must show for (STICHTAG, now), to check gather().
    """
    from sqlalchemy import func, insert, select

    from hki.auth.audit import effective_from
    from hki.auth.models import User
    from hki.plan.models import (
        Field,
        Goal,
        Indicator,
        IndicatorValue,
        Measure,
        Organisation,
        Plan,
        TargetGroup,
    )
    from hki.updates.models import StatusUpdate, UpdateReview
    from hki.vocab import Decision, PlanState, Priority, Role, Status

    rng = random.Random(seed)
    n_fields = 10 if measures >= 100 else max(1, measures // 10)
    per_goal = 10
    n_goals = max(1, round(measures / n_fields / per_goal))
    with effective_from(ADOPTED):
        orgs = [Organisation(name=f"Bench-Träger {i:02d} {rng.choice(WORDS)}") for i in range(40)]
        groups = [TargetGroup(name=f"Bench-Zielgruppe {i:02d}") for i in range(12)]
        authors = [User(email=f"bench{i}@bench.invalid", display_name=f"Bench-Fachstelle {i}",
                        role=Role.OFFICE, organisation=orgs[i]) for i in range(8)]
        session.add_all([*orgs, *groups, *authors])
        plan = Plan(title=f"Benchmark-Plan mit {measures} Maßnahmen", city="Benchstadt",
                    owner_unit="Koordinierungsstelle Integration (Benchmark)",
                    description=_sentence(rng, 20), valid_from=date(2020, 1, 1),
                    valid_to=date(2025, 12, 31), adopted_on=date(2020, 4, 29),
                    state=PlanState.ADOPTED, adoption_paper_ref="V/2020/999")
        session.add(plan)
        goals: list[Goal] = []
        for f in range(n_fields):
            field = Field(number=str(f + 1), title=FIELD_TITLES[f % len(FIELD_TITLES)],
                          description=_sentence(rng, 25), position=f)
            plan.fields.append(field)
            for g in range(n_goals):
                goal = Goal(number=f"{f + 1}.{g + 1}", title=_sentence(rng, 6)[:-1],
                            description=_sentence(rng, 18), position=g)
                field.goals.append(goal)
                goals.append(goal)
        all_measures: list[Measure] = []
        for i in range(measures):
            goal = goals[i % len(goals)]
            start = date(2020 + rng.randrange(4), rng.randrange(1, 13), 1)
            ongoing = rng.random() < 0.2
            end = None if ongoing else date(min(start.year + 1 + rng.randrange(4), 2026), 12, 31)
            m = Measure(
                number=f"{goal.number}.{len(goal.measures) + 1}",
                title=_sentence(rng, rng.randrange(4, 12))[:-1],
                description=_sentence(rng, 30), lead=rng.choice(orgs),
                partners=rng.sample(orgs, rng.randrange(0, 4)),
                target_groups=rng.sample(groups, rng.randrange(1, 3)),
                start_date=start, end_date=end, priority=rng.choice(list(Priority)),
                position=len(goal.measures), funding_note=_sentence(rng, 6),
            )
            if i % 4 == 0:  # a quarter of the measures have an indicator
                m.indicators = [Indicator(name=f"Teilnehmende {rng.choice(WORDS)}",
                                          unit="Anzahl", baseline_value=rng.randrange(0, 50),
                                          baseline_date=start,
                                          target_value=rng.randrange(60, 500),
                                          target_date=end or date(2025, 12, 31))]
            goal.measures.append(m)
            all_measures.append(m)
        session.flush()

    # Updates and their acceptances: Core inserts with explicit ids, ~3 % of measures silent.
    update_id = (session.scalar(select(func.max(StatusUpdate.id))) or 0) + 1
    review_id = (session.scalar(select(func.max(UpdateReview.id))) or 0) + 1
    speaking = [m for m in all_measures if rng.random() >= 0.03] or all_measures
    share, extra = divmod(updates, len(speaking))
    u_rows: list[dict[str, Any]] = []
    r_rows: list[dict[str, Any]] = []
    expected: dict[int, Status] = {}
    for n, m in enumerate(speaking):
        k = share + (n < extra)
        if not k:
            continue
        span = (LAST_UPDATE - m.start_date).days
        fate = rng.random()
        best: tuple[date, Status] | None = None
        for j in range(k):
            as_of = m.start_date + timedelta(days=span * (j + 1) // (k + 1))
            frac = (j + 1) / k
            if m.end_date is None:
                status, progress = ((Status.ONGOING, None) if frac > 0.3 else
                                    (Status.IN_PROGRESS, int(frac * 100)))
            elif frac < 0.1:
                status, progress = Status.PLANNED, 5
            elif frac > 0.9 and fate < 0.4:
                status, progress = Status.COMPLETED, 100
            elif fate > 0.9 and frac > 0.6:
                status, progress = Status.DELAYED, int(frac * 80)
            elif fate > 0.97:
                status, progress = Status.DISCONTINUED, None
            else:
                status, progress = Status.IN_PROGRESS, min(99, int(frac * 100))
            recorded = datetime(as_of.year, as_of.month, as_of.day, 9, tzinfo=UTC) + timedelta(
                days=14)
            note = (_sentence(rng, rng.randrange(8, 40)) if status is Status.DELAYED
                    or rng.random() < 0.5 else "")
            author = authors[n % len(authors)]
            u_rows.append({"id": update_id, "measure_id": m.id, "as_of": as_of,
                           "status": status, "progress": progress, "note": note,
                           "author_id": author.id, "recorded_at": recorded, "corrects_id": None})
            r_rows.append({"id": review_id, "update_id": update_id,
                           "decision": Decision.ACCEPTED, "comment": "",
                           "reviewer_id": author.id, "decided_at": recorded})
            if as_of <= STICHTAG:
                best = (as_of, status)
            update_id += 1
            review_id += 1
        if best is not None:
            expected[m.id] = best[1]
    for at in range(0, len(u_rows), 5000):  # Core inserts: no ORM objects, no flush hooks
        session.execute(insert(_table(StatusUpdate)), u_rows[at:at + 5000])
        session.execute(insert(_table(UpdateReview)), r_rows[at:at + 5000])

    v_rows = []
    for m in all_measures:
        for ind in m.indicators:
            for year in (2021, 2022, 2023, 2024, 2025):
                day = date(year, 6, 30)
                v_rows.append({"indicator_id": ind.id, "as_of": day,
                               "value": float(rng.randrange(0, 600)), "source": "Bench",
                               "recorded_at": datetime(year, 7, 15, tzinfo=UTC),
                               "recorded_by_id": None})
    if v_rows:
        session.execute(insert(_table(IndicatorValue)), v_rows)
    return {"plan_id": plan.id, "measures": measures, "updates": len(u_rows),
            "expected": expected}


def setup(instance: Path, measures: int, updates: int) -> list[dict[str, Any]]:
    """Migrate, seed the demo plan and the large plan, check gather(); the plans to measure."""
    import flask_migrate

    from hki.demo.seed import seed_demo
    from hki.extensions import db
    from hki.reports.data import gather
    from hki.updates.models import StatusUpdate

    app = _app(instance)
    with app.app_context():
        flask_migrate.upgrade()
        demo = seed_demo(db.session)
        db.session.commit()
        assert demo.plan is not None
        demo_id = demo.plan.id
        demo_updates = db.session.query(StatusUpdate).count()
        large = build_large_plan(db.session, measures, updates)
        db.session.commit()
        # Check that gather() sees what was inserted: every measure, every counted update.
        known_at = datetime.now(UTC)
        r = gather(large["plan_id"], STICHTAG, known_at)
        got = {e.measure.id: e.update.status for e in r.entries if e.update is not None}
        if r.total.total != measures or got != large["expected"]:
            raise SystemExit(f"gather() disagrees with the generated data: {r.total.total} "
                             f"measures, {len(got)} with update (expected {measures}, "
                             f"{len(large['expected'])})")
        db.session.remove()
    return [
        {"name": "demo", "plan_id": demo_id, "measures": demo.measures,
         "updates": demo_updates},
        {"name": f"large-{measures}", "plan_id": large["plan_id"], "measures": measures,
         "updates": large["updates"]},
    ]


# --------------------------------------------------------------------------- measuring


Clock = tuple[float, float]


def _clock() -> Clock:
    """Wall time and this process's CPU time (less disturbed by other load on the machine)."""
    return time.perf_counter(), time.process_time()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(instance: Path, plan_id: int, runs: int, known_at: datetime,
            compare: bool, html_out: str | None) -> dict[str, Any]:
    """Run in a child process: time each step ``runs`` times; medians and the peak RSS."""
    import io

    from pypdf import PdfReader
    from sqlalchemy import event
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from hki.extensions import db
    from hki.reports.data import gather
    from hki.reports.render import STATIC, STYLESHEET, render_html, render_pdf

    app = _app(instance)
    times: dict[str, list[float]] = {k + cpu: [] for k in (
        "gather", "html", "layout", "write", "weasy", "pdf", "total", "ratio_parts")
        for cpu in ("", "_cpu")}
    queries: list[int] = []
    with app.app_context(), app.test_request_context():
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a: statements.append(a[2]))
        compare_with = COMPARE_WITH if compare else None
        # Warm-up (not timed): fontconfig, Pango and the fonts load once per process, as in
        # a long-running server; otherwise the first timed render would carry them.
        warm = FontConfiguration()
        HTML(string='<html lang="de"><title>w</title><p>Warm <b>up</b></p></html>').write_pdf(
            stylesheets=[CSS(filename=str(STYLESHEET), font_config=warm)], font_config=warm,
            pdf_variant="pdf/ua-1")
        rss_base = _rss_mb()
        html, pdf = "", b""

        def parts() -> dict[str, tuple[Clock, Clock]]:
            """gather, render_html, then WeasyPrint alone (layout, then PDF writing)."""
            nonlocal html
            db.session.remove()
            statements.clear()
            t0 = _clock()
            report = gather(plan_id, STICHTAG, known_at, compare_with=compare_with)
            t1 = _clock()
            queries.append(len(statements))
            html = render_html(report)
            t2 = _clock()
            fonts = FontConfiguration()
            css = CSS(filename=str(STYLESHEET), font_config=fonts)
            document = HTML(string=html, base_url=str(STATIC)).render(
                stylesheets=[css], font_config=fonts, pdf_variant="pdf/ua-1")
            t3 = _clock()
            document.write_pdf(pdf_variant="pdf/ua-1", uncompressed_pdf=False)
            t4 = _clock()
            return {"gather": (t0, t1), "html": (t1, t2), "layout": (t2, t3),
                    "write": (t3, t4), "weasy": (t2, t4)}

        def whole() -> dict[str, tuple[Clock, Clock]]:
            """gather + render_pdf, as a request does it."""
            nonlocal pdf
            db.session.remove()
            t5 = _clock()
            report = gather(plan_id, STICHTAG, known_at, compare_with=compare_with)
            t6 = _clock()
            pdf = render_pdf(report)
            t7 = _clock()
            return {"pdf": (t6, t7), "total": (t5, t7)}

        for run in range(runs):
            # Alternate the order, so that neither side always runs on a fresher heap.
            spans = {}
            for step in ((parts, whole) if run % 2 == 0 else (whole, parts)):
                spans.update(step())
            for key, (start, end) in spans.items():
                times[key].append(end[0] - start[0])
                times[key + "_cpu"].append(end[1] - start[1])
            for cpu in ("", "_cpu"):
                times["ratio_parts" + cpu].append(
                    sum(times[k + cpu][-1] for k in ("gather", "html", "weasy"))
                    / times["weasy" + cpu][-1])
        if html_out:
            Path(html_out).write_text(html, encoding="utf-8")
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        **med, "ratio": med["total"] / med["weasy"],
        "ratio_cpu": med["total_cpu"] / med["weasy_cpu"], "queries": max(queries),
        "queries_min": min(queries), "pages": len(PdfReader(io.BytesIO(pdf)).pages),
        "size_kb": len(pdf) / 1024, "html_kb": len(html.encode()) / 1024,
        "rss_base_mb": rss_base, "rss_peak_mb": _rss_mb(), "runs": runs,
        "load": os.getloadavg()[0],
    }


def one_report(instance: Path, plan_id: int, known_at: str, compare: bool) -> dict[str, float]:
    """``flask hki report`` once in a fresh process: what a worker does for one report.

    Wall time includes the process start (imports, app, fonts); the peak is that process's
    own ``ru_maxrss`` (from ``wait4``), unaffected by the repeated runs measured above.
    """
    local = datetime.fromisoformat(known_at).astimezone().replace(tzinfo=None)
    with tempfile.TemporaryDirectory(prefix="hki-bench-cli-") as tmp:
        cmd = [sys.executable, "-m", "flask", "--app", "hki", "hki", "report",
               "--plan", str(plan_id), "--stichtag", STICHTAG.isoformat(),
               "--known-at", local.isoformat(timespec="seconds"),
               "--output", str(Path(tmp) / "bericht.pdf")]
        if compare:
            cmd += ["--compare-with", COMPARE_WITH.isoformat()]
        env = {**os.environ, **_environment(instance), "PYTHONPATH": str(ROOT)}
        t0 = time.perf_counter()
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
        if status != 0:
            raise SystemExit(f"flask hki report failed: {child.stderr.read().decode()[-2000:]}"
                             if child.stderr else "flask hki report failed")
    return {"cli_s": wall, "cli_mb": usage.ru_maxrss / 1024}


# --------------------------------------------------------------------------- main


def _print_table(rows: list[dict[str, Any]]) -> str:
    """Per plan one line of wall times and one of CPU times (seconds, medians)."""
    head = (f"{'plan':<11}{'':>5}{'meas':>6}{'upd':>7}{'SQL':>5}{'gather':>8}{'html':>7}"
            f"{'layout':>8}{'write':>7}{'weasy':>8}{'pdf':>8}{'total':>8}{'ratio':>7}{'ratio*':>7}"
            f"{'pages':>6}{'PDF KB':>8}{'peak MB':>9}{'1 report':>10}{'its MB':>8}")
    lines = [head, "-" * len(head)]
    steps = ("gather", "html", "layout", "write", "weasy", "pdf", "total", "ratio",
             "ratio_parts")
    widths = (8, 7, 8, 7, 8, 8, 8, 7, 7)
    for r in rows:
        for kind, suffix in (("wall", ""), ("cpu", "_cpu")):
            figures = "".join(f"{r[k + suffix]:>{w}.{3 if k.startswith('ratio') else 2}f}"
                              for k, w in zip(steps, widths, strict=True))
            if kind == "wall":
                lines.append(f"{r['name']:<11}{kind:>5}{r['measures']:>6}{r['updates']:>7}"
                             f"{r['queries']:>5}{figures}{r['pages']:>6}{r['size_kb']:>8.0f}"
                             f"{r['rss_peak_mb']:>9.0f}{r['cli_s']:>9.2f}s"
                             f"{r['cli_mb']:>8.0f}")
            else:
                lines.append(f"{'':<11}{kind:>5}{'':>18}{figures}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measures", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=40000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="200 measures, 4,000 updates, 1 run")
    parser.add_argument("--no-compare", action="store_true",
                        help="without the comparison base (no 'Änderungen' section)")
    parser.add_argument("--keep", metavar="DIR",
                        help="build the database in DIR and keep it (default: a temp dir)")
    parser.add_argument("--html-dir", metavar="DIR",
                        help="also write each plan's report HTML into DIR")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    # Internal: the per-plan measurement in a child process.
    parser.add_argument("--child", nargs=3, metavar=("INSTANCE", "PLAN_ID", "KNOWN_AT"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--html-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.measures, args.updates, args.runs = 200, 4000, 1

    if args.child:
        instance, plan_id, known_at = args.child
        result = measure(Path(instance), int(plan_id), args.runs,
                         datetime.fromisoformat(known_at), not args.no_compare, args.html_out)
        print("RESULT " + json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory(prefix="hki-bench-") as tmp:
        instance = Path(args.keep or tmp)
        instance.mkdir(parents=True, exist_ok=True)
        db_file = instance / "bench.sqlite"
        if db_file.exists():
            db_file.unlink()
        t0 = time.perf_counter()
        plans = setup(instance, args.measures, args.updates)
        print(f"setup: {time.perf_counter() - t0:.1f} s (migrations, demo plan, "
              f"{args.measures} measures / {plans[1]['updates']} updates); "
              f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}", flush=True)
        known_at = datetime.now(UTC).isoformat()
        rows = []
        for plan in plans:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--runs", str(args.runs),
                   "--child", str(instance), str(plan["plan_id"]), known_at]
            if args.no_compare:
                cmd.append("--no-compare")
            if args.html_dir:
                Path(args.html_dir).mkdir(parents=True, exist_ok=True)
                cmd += ["--html-out", str(Path(args.html_dir) / f"{plan['name']}.html")]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
            if done.returncode or not line:
                sys.stderr.write(done.stderr)
                raise SystemExit(f"measuring {plan['name']} failed")
            rows.append({**plan, **json.loads(line[-1][len("RESULT "):]),
                         **one_report(instance, plan["plan_id"], known_at,
                                      not args.no_compare)})
            print(f"measured {plan['name']}", flush=True)
    loads = ", ".join(f"{r['load']:.1f}" for r in rows)
    print(f"\nStichtag {STICHTAG}, Vergleich {None if args.no_compare else COMPARE_WITH}, "
          f"Kenntnisstand {known_at[:19]}Z; medians of {args.runs} run(s), seconds; "
          f"load average {loads}")
    print(_print_table(rows))
    base = ", ".join(f"{r['rss_base_mb']:.0f}" for r in rows)
    print("weasy = layout + write (WeasyPrint alone on the same HTML); pdf = render_pdf(); "
          "total = gather + render_pdf; ratio = total / weasy; ratio* = median per run of "
          "(gather + html + weasy) / weasy (less noisy); peak = child's ru_maxrss over all "
          f"runs (after imports: {base} MB); 1 report = 'flask hki report' once in a fresh "
          "process, wall time with start-up, and its MB = that process's peak RSS")
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

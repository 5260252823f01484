"""Latency and SQL statement count of the dashboard and the measure finder.

Usage::

    python bench/dashboard.py [--measures 1000] [--updates 40000] [--runs 20]

Builds the same throwaway SQLite database as ``bench/report.py`` (demo plan and a large
generated plan; search documents rebuilt, since the large plan is bulk-inserted), logs in
as the demo reader and requests each page ``--runs`` times through the WSGI test client
(no network). Prints per plan and page the median and 95th percentile in milliseconds and
the SQL statements of one request.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import report as report_bench  # noqa: E402

PAGES = {
    "dashboard": "/plaene/{id}/dashboard",
    "dashboard Stand am": "/plaene/{id}/dashboard?stand=2023-12-31",
    "finder (all)": "/plaene/{id}/massnahmen",
    "finder filtered": "/plaene/{id}/massnahmen?status=in_progress&status=delayed&sort=datum",
    "finder search": "/plaene/{id}/massnahmen?q=Sprachfoerderung",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measures", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=40000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hki-bench-dash-") as tmp:
        instance = Path(tmp)
        plans = report_bench.setup(instance, args.measures, args.updates)
        app = report_bench._app(instance)
        from sqlalchemy import event

        from hki.dashboard import search
        from hki.demo.seed import DEMO_PASSWORD
        from hki.extensions import db

        with app.app_context():
            with db.engine.begin() as connection:
                search.rebuild(connection)
            statements: list[str] = []
            event.listen(db.engine, "before_cursor_execute",
                         lambda *a: statements.append(a[2]))
        app.config["WTF_CSRF_ENABLED"] = False
        client = app.test_client()
        client.post("/anmelden", data={"email": "rat@demo.hki.invalid",
                                       "password": DEMO_PASSWORD})
        print(f"\n{'plan':<12}{'page':<22}{'SQL':>5}{'median ms':>11}{'p95 ms':>9}")
        for plan in plans:
            for name, url in PAGES.items():
                target = url.format(id=plan["plan_id"])
                times = []
                for _ in range(args.runs):
                    statements.clear()
                    t0 = time.perf_counter()
                    response = client.get(target)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, (target, response.status_code)
                p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
                print(f"{plan['name']:<12}{name:<22}{len(statements):>5}"
                      f"{statistics.median(times):>11.0f}{p95:>9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The production entry point: ``gunicorn hki.wsgi:app`` (see ``scripts/serve``).

Refuses to start (exit code 78, EX_CONFIG) when the configuration is unfit for production.
"""

from __future__ import annotations

import logging
import os
import sys

from hki import create_app, production

production.json_logging()
log = logging.getLogger("hki")
app = create_app()
_problems = production.problems(app.config)
if _problems:
    for problem in _problems:
        log.error("Start abgelehnt: %s", problem)
        print(f"hki: Start abgelehnt: {problem}", file=sys.stderr)
    sys.exit(78)
for warning in production.warnings(app.config, int(os.environ.get("HKI_WORKERS", "2"))):
    log.warning(warning)
log.info("hki bereit", extra={"database": app.config["SQLALCHEMY_DATABASE_URI"].split("@")[-1]})

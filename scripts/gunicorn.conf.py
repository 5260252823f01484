"""gunicorn settings for scripts/serve; every value can be changed by an environment variable."""

import json
import os

bind = os.environ.get("HKI_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HKI_WORKERS", "2"))
threads = int(os.environ.get("HKI_THREADS", "4"))
worker_class = "gthread"
# Reports are rendered by the worker process, so requests stay short; 60 s covers the
# largest import through the page.
timeout = int(os.environ.get("HKI_TIMEOUT", "60"))
graceful_timeout = 30
# Keep idle connections longer than clients and proxies reuse them (gunicorn's 2 s makes a
# reused connection close under the client now and then).
keepalive = int(os.environ.get("HKI_KEEPALIVE", "30"))
# Load the app once in the master: a configuration error stops the start at once.
preload_app = True
# The proxies whose X-Forwarded-Proto gunicorn believes: those hki believes (hki/proxies.py).
forwarded_allow_ips = os.environ.get(
    "HKI_FORWARDED_ALLOW_IPS",
    os.environ.get("HKI_PROXY_ADDRESSES", "127.0.0.1, ::1").replace(" ", ""))
accesslog = "-"
errorlog = "-"
access_log_format = json.dumps({
    "time": "%(t)s", "level": "INFO", "logger": "access", "remote": "%({x-forwarded-for}i)s",
    "method": "%(m)s", "path": "%(U)s", "status": "%(s)s", "bytes": "%(B)s",
    "duration_ms": "%(M)s", "agent": "%(a)s",
})
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                 "fmt": "{asctime}{levelname}{name}{message}", "style": "{",
                 "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                 "json_ensure_ascii": False},
        "raw": {"format": "%(message)s"},
    },
    "handlers": {
        "error": {"class": "logging.StreamHandler", "formatter": "json",
                  "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "raw",
                   "stream": "ext://sys.stdout"},
    },
    "root": {"level": "INFO", "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["error"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}

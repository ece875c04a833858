"""gunicorn settings for the voucher API: `gunicorn -c gunicorn.conf.py` (the app is named below).

Everything is read from the environment, so the README, docker-compose.yml and the tests
run the same command:

  VOUCHER_DATABASE_URL  sqlite:///voucher.db (several workers share the file) or postgresql://...
  VOUCHER_BIND          127.0.0.1:8000; 0.0.0.0:8000 in a container
  VOUCHER_WORKERS       default 2 × CPUs + 1, at most 8
  VOUCHER_TIMEOUT       seconds before a stuck worker is replaced (default 30)
  VOUCHER_ACCESS_LOG    "-" for stdout (default), empty to turn it off

Sync workers: each request holds one worker, which suits a CPU-bound calculator and a
database that serializes writers anyway. Several workers share one SQLite file in WAL
mode; each opens its own connection after the fork (see api/app.py).
"""

import multiprocessing
import os

wsgi_app = "api:create_app()"
bind = os.environ.get("VOUCHER_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("VOUCHER_WORKERS") or min(2 * multiprocessing.cpu_count() + 1, 8))
worker_class = "sync"
timeout = int(os.environ.get("VOUCHER_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 2
# Requests larger than the app's limit are refused by the app (413 problem+json);
# these bound what gunicorn itself parses before the app sees it.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = os.environ.get("VOUCHER_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("VOUCHER_LOG_LEVEL", "info")
proc_name = "voucher-api"


def on_starting(server):
    """Create or migrate the schema once, in the master, before any worker opens the database.

    Workers starting together would otherwise race to run the same migration on SQLite.
    """
    import api  # noqa: F401  (registers the API's tables)
    from voucher.store import open_store

    open_store(os.environ.get("VOUCHER_DATABASE_URL")).close()

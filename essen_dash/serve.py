"""Production serving: the app under gunicorn with several workers, no debug, compressed responses.

The app (data, boundaries, pages) is built once before the workers fork (``preload_app``), so every worker
starts from the same immutable state.

Workers are gevent workers: every connection is a greenlet, not a thread, so clients that send their
request slowly (or never finish it) cost a socket each, not a worker; ``keepalive`` bounds how long a
connection may take to send its request headers (gunicorn reads them under that timeout) or sit idle
between requests. Nothing in a request blocks a worker for long: exports wait on a separate render process
(:mod:`essen_dash.export.render`) through cooperative pipes, bounded by their own limits.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys

from gunicorn.app.base import BaseApplication

from essen_dash.paths import Settings
from essen_dash.admin.accounts import after_fork as accounts_after_fork
from essen_dash.sources.publish import after_fork

#: Connections one worker holds at once (slow or idle clients included).
WORKER_CONNECTIONS = 1000
#: Seconds a connection may take to send its request headers, or stay idle between two requests: longer than the
#: usual pause between two clicks (the bench's visitors pause 1–5 s), since a request sent just as its connection is
#: closed fails in a client that does not send it again (at 5 s, one in about 2,000 of the bench's requests did).
KEEPALIVE_S = 10
LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"


def yield_before_request(worker, req) -> None:
    """Let the worker's other connections run before each request.

    A greenlet runs until it waits, and a fast client on a keep-alive connection (its next request already
    in the buffer, the answer fitting the socket buffer) never makes it wait: without this one client
    fetching large static files back to back would hold the worker, and ``/health`` would queue behind it.
    """
    import gevent

    gevent.sleep(0)


class Server(BaseApplication):
    """gunicorn, configured in code: ``essen-dash serve`` needs no config file."""

    def __init__(self, settings: Settings, host: str, port: int, workers: int, timeout: int = 120):
        self.settings = settings
        self.options = {
            "bind": f"{host}:{port}", "workers": workers, "worker_class": "gevent",
            "worker_connections": WORKER_CONNECTIONS, "keepalive": KEEPALIVE_S, "timeout": timeout,
            "graceful_timeout": 10, "pre_request": yield_before_request, "preload_app": True,
            "post_fork": lambda server, worker: (after_fork(), accounts_after_fork()),
            "accesslog": None, "errorlog": "-", "loglevel": "warning",
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from essen_dash.app import RateLimitFilter, app_started, create_app

        # gunicorn logs every malformed HTTP request it refuses itself: as rate-limited as the app's refusals
        logging.getLogger("gunicorn.error").addFilter(
            RateLimitFilter(applies=lambda record: str(record.msg).startswith("Invalid request from")))
        app_log = logging.getLogger("essen_dash")
        if not app_log.handlers:  # one line per event, with time and worker, like gunicorn's own log
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter(LOG_FORMAT, "%Y-%m-%d %H:%M:%S %z"))
            app_log.addHandler(handler)
            app_log.setLevel(logging.INFO)
        app = create_app(self.settings)
        # pyproj (under geopandas) keeps each thread's PROJ context alive through a threading.local, which gevent
        # makes greenlet-local in the workers: loaded there, it frees the context when the request that loaded it
        # ends, and the next request that projects crashes the worker (SIGSEGV). Loaded before the fork, it is not.
        import geopandas  # noqa: F401

        app_started()  # before the fork: the workers share the app's memory pages
        return app.server


def default_workers() -> int:
    return max(2, min(4, multiprocessing.cpu_count()))


def serve(settings: Settings, host: str, port: int, workers: int | None = None) -> None:
    Server(settings, host, port, workers or default_workers()).run()

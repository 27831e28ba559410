"""Production serving: the app under gunicorn with several workers, no debug, compressed responses.

The app (data, boundaries, pages) is built once before the workers fork
(``preload_app``), so every worker starts from the same immutable state.
"""

from __future__ import annotations

import multiprocessing

from gunicorn.app.base import BaseApplication

from essen_dash.paths import Settings


class Server(BaseApplication):
    """gunicorn, configured in code: ``essen-dash serve`` needs no config file."""

    def __init__(self, settings: Settings, host: str, port: int, workers: int, threads: int = 4, timeout: int = 120):
        self.settings = settings
        self.options = {
            "bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
            "timeout": timeout, "preload_app": True, "accesslog": None, "errorlog": "-", "loglevel": "warning",
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from essen_dash.app import create_app

        return create_app(self.settings).server


def default_workers() -> int:
    return max(2, min(4, multiprocessing.cpu_count()))


def serve(settings: Settings, host: str, port: int, workers: int | None = None) -> None:
    Server(settings, host, port, workers or default_workers()).run()

"""Build the Dash app: the shell, the pages, and the few plain HTTP routes beside them."""

from __future__ import annotations

import functools
import gc
import html as html_lib
import logging
import select
import socket
import sys
import threading
import time
import traceback
from collections import OrderedDict
from pathlib import Path

import dash
import flask
from dash.fingerprint import check_fingerprint
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler

from essen_dash import paths
from essen_dash.data import AppData, current, install, load_app_data, reload_if_changed
from essen_dash.paths import Settings
from essen_dash.tables.schema import BEZIRK_IDS

HERE = Path(__file__).parent
GEO_ROUTE = "/geo/<level>.geojson"
#: Where dash-renderer has dcc.Graph load plotly.js from (a fixed URL when Dash serves its files itself).
PLOTLY_JS_ROUTE = "/_dash-component-suites/plotly/package_data/plotly.min.js"
#: Paths Dash and this app serve besides the pages themselves.
INTERNAL_PREFIXES = ("/_dash-", "/_favicon", "/assets/", "/geo/", "/health", "/download/", "/datenpflege")
#: Dash's hot-reload probe: only for the development server with --debug.
DEV_ONLY = "/_reload-hash"

#: How long a browser may keep a fingerprinted asset (seconds): a year.
ASSET_MAX_AGE_S = 365 * 24 * 3600
#: Callback requests are small JSON documents; anything larger is refused (413).
MAX_REQUEST_BYTES = 1_000_000
COMPRESSED_TYPES = ["text/html", "text/css", "text/plain", "application/json", "application/javascript",
                    "text/javascript", "application/geo+json", "image/svg+xml"]

#: Browser features the dashboard never uses; the browser refuses them to any script on its pages. Only features
#: Chromium knows (an unknown one is a console warning on every page; tests/integration/test_browser.py fails on it).
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "autoplay", "browsing-topics", "camera", "display-capture", "encrypted-media", "geolocation",
    "gyroscope", "hid", "idle-detection", "local-fonts", "magnetometer", "microphone", "midi", "otp-credentials",
    "payment", "publickey-credentials-get", "screen-wake-lock", "serial", "usb", "window-management",
    "xr-spatial-tracking"))
#: Refused and malformed requests: at most this many log lines per window and process.
REFUSAL_LOG_LINES = 20
REFUSAL_LOG_WINDOW_S = 10.0

log = logging.getLogger(__name__)


class StaticCompressionCache:
    """Keep compressed bodies of static files, bounded in bytes; dynamic answers are compressed afresh.

    The key is the file a URL names, never the URL as sent: the query string is ignored and Dash's cache-busting
    fingerprint (``dash_renderer.v4_4_1m1795402799.min.js``) is removed the way Dash removes it when it serves the
    file, so a client cannot mint new keys; the least recently used bodies go first when the bound is reached.
    """

    STATIC = ("/_dash-component-suites/", "/assets/")
    MAX_BYTES = 64 * 1024 * 1024

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._store: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # held for dictionary updates only (never across a gevent switch)

    @classmethod
    def key(cls, request) -> str:
        path = request.path
        suites = cls.STATIC[0]
        if path.startswith(suites):
            name, _ = check_fingerprint(path[len(suites):])
            return f"static {suites}{name}"
        return f"static {path}" if path.startswith(cls.STATIC[1]) else "dynamic"

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._store.get(key)
            if value is not None:
                self._store.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> None:
        if not key.split(";", 1)[-1].startswith("static ") or len(value) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._store.pop(key, None)
            self._bytes += len(value) - (len(old) if old is not None else 0)
            self._store[key] = value
            while self._bytes > self.max_bytes:
                _, dropped = self._store.popitem(last=False)
                self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._store)

    @property
    def size(self) -> int:
        """Return the bytes held."""
        return self._bytes


def one_line(text: str, limit: int = 160) -> str:
    """Return ``text`` as one printable log line of at most ``limit`` characters (no injected line breaks)."""
    flat = "".join(ch if ch.isprintable() else "?" for ch in " ".join(str(text).split()))
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


class RateLimitFilter(logging.Filter):
    """Let at most ``limit`` log lines through per ``window_s`` seconds (per process), then one line saying that
    more are suppressed; the first line of the next window says how many were. Lines ``applies`` rejects pass.

    One client sending thousands of bad requests must not fill the disk.
    """

    def __init__(self, limit: int = REFUSAL_LOG_LINES, window_s: float = REFUSAL_LOG_WINDOW_S,
                 applies=lambda record: True) -> None:
        super().__init__()
        self.limit, self.window_s, self.applies = limit, window_s, applies
        self._lock = threading.Lock()  # held for counting only (never across a gevent switch)
        self._start, self._count, self._dropped = time.monotonic(), 0, 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.applies(record):
            return True
        now = time.monotonic()
        with self._lock:
            if now - self._start >= self.window_s:
                if self._dropped:
                    record.msg, record.args = f"(… {self._dropped} weitere unterdrückt) {record.getMessage()}", None
                self._start, self._count, self._dropped = now, 0, 0
            self._count += 1
            if self._count <= self.limit:
                return True
            self._dropped += 1
            if self._count == self.limit + 1:
                record.msg, record.args = (f"… weitere unterdrückt (höchstens {self.limit} Meldungen je "
                                           f"{self.window_s:.0f} s)"), None
                return True
            return False


#: One line per refused or malformed request, rate-limited.
refusal_log = logging.getLogger(f"{__name__}.refused")
refusal_log.addFilter(RateLimitFilter())
#: Kinds of unexpected errors whose traceback was logged already (this process); later ones get one line.
_LOGGED_ERRORS: set[tuple] = set()
_LOGGED_ERRORS_MAX = 256


def refused(status: int, reason: str) -> None:
    """Log one line for a refused or failed request: method, path, status, short reason (rate-limited)."""
    request = flask.request
    refusal_log.warning("%s %s %d – %s", request.method, one_line(request.path, 120), status, one_line(reason))


def describe(exc: BaseException) -> tuple[str, tuple]:
    """Return a one-line description of ``exc`` with where it was raised, and a key for its kind."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = frames[-1] if frames else None
    place = f" ({Path(where.filename).name}:{where.lineno} in {where.name})" if where else ""
    text = one_line(str(exc), 100)
    return (f"{type(exc).__name__}{': ' + text if text else ''}{place}",
            (type(exc).__name__, where.filename if where else "", where.lineno if where else 0))


def peer_closed(sock) -> bool:
    """Return whether the client at the other end of ``sock`` has closed the connection (never blocks)."""
    try:
        fd = sock.fileno()
        if fd < 0:
            return True
        readable, _, _ = select.select([fd], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def client_gone_check(environ):
    """Return a check whether this request's client has gone (gunicorn and the development server hand the
    connection's socket to the app), or one that always says no."""
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if sock is None:
        return lambda: False
    return lambda: peer_closed(sock)


def content_security_policy(script_hashes: list[str]) -> str:
    """Return the policy of every answer: only the app's own files, and of inline scripts only Dash's own
    (by hash: the renderer start and the clientside callbacks). Styles may be inline: plotly.js and React set
    them at run time."""
    return "; ".join([
        "default-src 'self'", "script-src 'self' " + " ".join(script_hashes), "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:", "font-src 'self' data:", "connect-src 'self'", "worker-src 'self' blob:",
        "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'self'"])


def not_found_html(path: str, message: str) -> str:
    """Return the friendly German 'nicht gefunden' page with links to the valid Bezirke."""
    links = "".join(f'<li><a href="/bezirk/{b}">Stadtbezirk {b}</a></li>' for b in BEZIRK_IDS)
    return f"""<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Nicht gefunden – Sozialdaten Essen</title>
<link rel="stylesheet" href="/assets/style.css"></head><body><div class="app"><header class="header"><div class="brand">
<span class="brand-city">Stadt Essen</span><span class="brand-title">Sozialdaten für die Integrationsplanung</span></div>
</header><main class="main"><section class="card not-found"><h1>Seite nicht gefunden</h1>
<p>{html_lib.escape(message)}</p><p>Adresse: <code>{html_lib.escape(path[:200])}</code></p>
<h2>Gültige Stadtbezirke</h2><ul class="bezirk-list">{links}</ul>
<p><a href="/">Zur Karte</a></p></section></main></div></body></html>"""


def attachment(body: bytes, media_type: str, name: str) -> flask.Response:
    response = flask.Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def attachment_head(media_type: str, name: str) -> flask.Response:
    """Answer HEAD on a download with the headers of the file only: nothing is rendered for it."""
    response = attachment(b"", media_type, name)
    response.automatically_set_content_length = False  # the file's length is not known without rendering it
    del response.headers["Content-Length"]
    return response


def plain(text: str, status: int, retry_after: int | None = None) -> flask.Response:
    response = flask.Response(text, status=status, mimetype="text/plain")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def run_export(budget_s: float, work, media_type: str, name: str) -> flask.Response:
    """Render within the export limits: wait in the short queue or be refused, stop when the client has gone or
    the budget is spent (503 with Retry-After, in German; one log line)."""
    from essen_dash.export import render

    renderer = render.RENDERER
    job = render.Job(budget_s, client_gone=client_gone_check(flask.request.environ))
    try:
        with renderer.admit(job):
            body = work(renderer, job)
    except render.ClientGone:
        refused(503, "Export abgebrochen: der Client hat die Verbindung beendet")
        return plain("Export abgebrochen.", 503, render.BUSY_RETRY_S)
    except render.ExportUnavailable as exc:
        refused(503, exc.reason)
        return plain(str(exc), 503, exc.retry_after)
    return attachment(body, media_type, name)


@functools.cache
def plotly_js_bytes() -> bytes:
    return paths.PLOTLY_JS.read_bytes()


def add_routes(server: flask.Flask, page_paths: set[str]) -> None:
    @server.before_request
    def follow_data_changes():
        if not flask.request.path.startswith(("/assets/", "/_dash-component-suites/")):
            reload_if_changed()

    @server.route(PLOTLY_JS_ROUTE)
    def plotly_js():
        """Serve the app's own plotly.js (:data:`essen_dash.paths.PLOTLY_JS`) where the graphs look for the plotly
        package's: a third of the bytes, and Chromium starts it in a sixth of the time. Like Dash's own files
        without a fingerprint: an ETag, and 304 when the browser has it."""
        response = flask.Response(plotly_js_bytes(), mimetype="text/javascript")
        response.add_etag()
        return response.make_conditional(flask.request)

    @server.route(GEO_ROUTE)
    def geojson(level: str):
        data = current()
        if data.boundaries is None or level not in data.boundaries.web_json:
            return flask.Response("Keine Geometrie für diese Ebene.", status=404, mimetype="text/plain")
        response = flask.Response(data.boundaries.web_json[level], mimetype="application/geo+json")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @server.route("/download/chart")
    def download_chart():
        data = current()
        from essen_dash.export import render
        from essen_dash.export.charts import ExportError, parse_request

        try:
            request = parse_request(flask.request.args, data)
        except ExportError as exc:
            refused(400, str(exc))
            return plain(str(exc), 400)
        fmt = request.format
        if flask.request.method == "HEAD":
            return attachment_head(fmt.media_type, request.filename)
        kept = request.kept(data, render.RENDERER)  # made before: no wait for the renderer
        if kept is not None:
            return attachment(kept, fmt.media_type, request.filename)
        return run_export(render.CHART_TIMEOUT_S, lambda renderer, job: request.render(data, renderer, job),
                          fmt.media_type, request.filename)

    @server.route("/download/pack")
    def download_pack():
        data = current()
        from essen_dash.export import render
        from essen_dash.export.charts import ExportError
        from essen_dash.export.pack import parse_pack

        try:
            request = parse_pack(flask.request.args, data)
        except ExportError as exc:
            refused(400, str(exc))
            return plain(str(exc), 400)
        if flask.request.method == "HEAD":
            return attachment_head(request.media_type, request.filename)
        kept = request.kept(data, render.RENDERER)
        if kept is not None:
            return attachment(kept, request.media_type, request.filename)
        return run_export(render.PACK_TIMEOUT_S, lambda renderer, job: request.build(data, renderer, job),
                          request.media_type, request.filename)

    @server.route("/health")
    def health():
        data = current()
        return {"status": "ok", "stichtage": [d.isoformat() for d in data.stichtage],
                "geometry": data.boundaries is not None}

    @server.before_request
    def friendly_404():
        path = flask.request.path
        if path == DEV_ONLY and server.debug:
            return None
        if path.startswith(INTERNAL_PREFIXES) or path in page_paths:
            return None
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "bezirk":
            if parts[1] in BEZIRK_IDS:
                return None
            message = f"Einen Stadtbezirk „{parts[1][:20]}“ gibt es nicht."
        else:
            message = "Diese Seite gibt es im Dashboard nicht."
        return flask.Response(not_found_html(path, message), status=404, mimetype="text/html")

    @server.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        """Answer HTTP errors in German, without details of the server; log a refusal in one line."""
        text = {400: "Ungültige Anfrage.", 401: "Bitte anmelden.", 403: "Keine Berechtigung.", 404: "Nicht gefunden.",
                405: "Methode nicht erlaubt.", 413: "Anfrage zu groß.", 415: "Format der Anfrage nicht unterstützt.",
                429: "Zu viele Anfragen."}.get(exc.code,
                                                                                           "Anfrage nicht möglich.")
        if exc.code == 404:
            return flask.Response(not_found_html(flask.request.path, text), status=404, mimetype="text/html")
        refused(exc.code or 400, f"{text} ({type(exc).__name__})")
        return plain(text, exc.code or 400)

    @server.errorhandler(Exception)
    def unexpected(exc: Exception):
        """Answer without details. A malformed callback request is the client's error (400, one log line); any
        other error is the server's (500): its traceback is logged the first time, later ones in one line."""
        description, kind = describe(exc)
        if flask.request.path.startswith("/_dash-"):
            refused(400, f"ungültige Anfrage an das Dashboard: {description}")
            return plain("Ungültige Anfrage an das Dashboard.", 400)
        if kind not in _LOGGED_ERRORS and len(_LOGGED_ERRORS) < _LOGGED_ERRORS_MAX:
            _LOGGED_ERRORS.add(kind)
            log.error("Fehler bei %s %s", flask.request.method, one_line(flask.request.path, 120), exc_info=exc)
        else:
            refused(500, description)
        return plain("Das Dashboard konnte diese Anfrage nicht beantworten.", 500)

    @server.after_request
    def cache_fingerprinted_assets(response: flask.Response):
        """Let the browser keep the app's own files for a year: their URLs carry the file's modification time
        (``/assets/style.css?m=…``), so a changed file has a new URL."""
        request = flask.request
        if request.path.startswith("/assets/") and request.args.get("m") and response.status_code == 200:
            response.headers["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE_S}, immutable"
        return response

    @server.after_request
    def security_headers(response: flask.Response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        policy = server.config.get("CONTENT_SECURITY_POLICY")
        if policy:
            response.headers.setdefault("Content-Security-Policy", policy)
        response.headers["Server"] = "essen-dash"
        return response


class QuietRequestHandler(WSGIRequestHandler):
    """The development server's request handler without its ``Server: Werkzeug/… Python/…`` banner (the app
    sets its own ``Server`` header)."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())


class AppServer(flask.Flask):
    """The app's Flask server; its development server (``python app.py``) announces no versions."""

    def run(self, *args, **kwargs) -> None:
        kwargs.setdefault("request_handler", QuietRequestHandler)
        super().run(*args, **kwargs)


class Dashboard(dash.Dash):
    """Dash, without the Python and plotly versions in the configuration it writes into every page, and with the
    page's first picture drawn by the server."""

    def interpolate_index(self, **kwargs) -> str:
        """Put the page's first picture (:mod:`essen_dash.first_paint`) before the app's entry point."""
        from essen_dash.first_paint import snapshot

        request = flask.request
        kwargs["app_entry"] = snapshot(current(), request.path, request.args) + kwargs["app_entry"]
        return super().interpolate_index(**kwargs)

    def _config(self):
        config = super()._config()
        for key in ("python_version", "plotly_version", "ddk_version", "dash_version_url"):
            config.pop(key, None)
        return config


def create_app(settings: Settings | None = None, data: AppData | None = None, auth=None,
               warm: bool = True) -> dash.Dash:
    """Return the dashboard on ``data`` (default: loaded now from ``settings``, default: the environment's), with
    the Datenpflege pages and their security settings ``auth`` (default: from the environment, read now); with
    ``warm``, the common views are built before it returns (:func:`warm_views`)."""
    from essen_dash import encode
    from essen_dash.admin import config as admin_config, web as admin_web

    encode.install()
    settings = settings or paths.settings()
    auth = auth or admin_config.from_env(settings.state_dir)
    data = data or load_app_data(settings)
    install(data, settings)
    server = AppServer(__name__)
    # set before Dash enables compression: flask-compress reads its settings once
    server.config.update(MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES, COMPRESS_MIMETYPES=COMPRESSED_TYPES,
                         COMPRESS_CACHE_BACKEND=StaticCompressionCache, COMPRESS_CACHE_KEY=StaticCompressionCache.key)
    app = Dashboard(
        __name__, server=server, use_pages=True, pages_folder=str(HERE / "pages"), assets_folder=str(HERE / "assets"),
        title="Sozialdaten Essen", update_title=None, suppress_callback_exceptions=True, serve_locally=True,
        compress=True,
    )
    from essen_dash import shell

    app.layout = shell.layout
    app.index_string = app.index_string.replace("<html>", '<html lang="de">', 1)  # the interface is German
    page_paths = {p["path"] for p in dash.page_registry.values()}
    add_routes(app.server, page_paths)
    admin_web.install(app.server, settings, auth)  # accounts, the guard of every route, CSRF, Datenpflege
    # Dash registers callbacks and the page router lazily on the first request, and concurrent first requests
    # race that setup ("Callback function not found"). Run it now, once, before any worker takes requests.
    with app.server.test_request_context("/"):
        app.server.preprocess_request()
    # Every callback (and so every clientside callback's inline script) is registered now: hash them for the CSP.
    app.server.config["CONTENT_SECURITY_POLICY"] = content_security_policy(list(app.csp_hashes()))
    if warm:
        warm_views(data)
    return app


def warm_views(data: AppData) -> None:
    """Build the views people open first (each page's ``warm``): views are memoized per data bundle, so the
    first users' requests find them ready. gunicorn does this once before the workers fork; the development
    server in the background, after it has started serving."""
    for page in dash.page_registry.values():
        warm = getattr(sys.modules.get(page["module"]), "warm", None)
        if warm is not None:
            warm(data)


def app_started() -> None:
    """Resume garbage collection, paused by :func:`essen_dash.cli.main`, now that the app is built: its objects
    (250,000 that the collector tracks, none of them garbage) are frozen, so no collection walks them again, and
    under gunicorn the workers forked from this process share their memory pages (a collection would write to every
    object's header)."""
    gc.freeze()
    gc.enable()


def warm_later(delay_s: float = 1.0) -> None:
    """Warm the views in force in a background thread after ``delay_s`` (the first page is served meanwhile)."""
    timer = threading.Timer(delay_s, lambda: warm_views(current()))
    timer.daemon = True
    timer.start()

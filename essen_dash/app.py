"""Build the Dash app: the shell, the pages, and the few plain HTTP routes beside them."""

from __future__ import annotations

import html as html_lib
import logging
import sys
from pathlib import Path

import dash
import flask

from werkzeug.exceptions import HTTPException

from essen_dash import paths
from essen_dash.data import AppData, current, install, load_app_data, reload_if_changed
from essen_dash.paths import Settings
from essen_dash.tables.schema import BEZIRK_IDS

HERE = Path(__file__).parent
GEO_ROUTE = "/geo/<level>.geojson"
#: Paths Dash and this app serve besides the pages themselves.
INTERNAL_PREFIXES = ("/_dash-", "/_favicon", "/assets/", "/geo/", "/health", "/download/")
#: Dash's hot-reload probe: only for the development server with --debug.
DEV_ONLY = "/_reload-hash"

#: Callback requests are small JSON documents; anything larger is refused (413).
MAX_REQUEST_BYTES = 1_000_000
COMPRESSED_TYPES = ["text/html", "text/css", "text/plain", "application/json", "application/javascript",
                    "text/javascript", "application/geo+json", "image/svg+xml"]

log = logging.getLogger(__name__)


class StaticCompressionCache:
    """Keep compressed bodies of versioned static files; dynamic answers are compressed afresh."""

    STATIC = ("/_dash-component-suites/", "/assets/")

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}

    @classmethod
    def key(cls, request) -> str:
        return f"static {request.full_path}" if request.path.startswith(cls.STATIC) else "dynamic"

    def get(self, key: str) -> bytes | None:
        return self._store.get(key)

    def set(self, key: str, value: bytes) -> None:
        if " static " in f" {key.split(';', 1)[-1]}":
            self._store[key] = value


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


def add_routes(server: flask.Flask, page_paths: set[str]) -> None:
    @server.before_request
    def follow_data_changes():
        if not flask.request.path.startswith(("/assets/", "/_dash-component-suites/")):
            reload_if_changed()

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
        from essen_dash.export.charts import ExportError, parse_request
        from essen_dash.export.render import RENDERER, ExportUnavailable

        try:
            request = parse_request(flask.request.args, data)
            body = RENDERER.render(request.figure(data), request.format)
        except ExportError as exc:
            return flask.Response(str(exc), status=400, mimetype="text/plain")
        except ExportUnavailable as exc:
            return flask.Response(str(exc), status=503, mimetype="text/plain")
        return attachment(body, request.format.media_type, request.filename)

    @server.route("/download/pack")
    def download_pack():
        data = current()
        from essen_dash.export.charts import ExportError
        from essen_dash.export.pack import PACK_FORMATS, parse_pack_request
        from essen_dash.export.render import ExportUnavailable

        try:
            bezirke, day, fmt = parse_pack_request(flask.request.args, data)
            media_type, build = PACK_FORMATS[fmt]
            body = build(data, bezirke, day)
        except ExportError as exc:
            return flask.Response(str(exc), status=400, mimetype="text/plain")
        except ExportUnavailable as exc:
            return flask.Response(str(exc), status=503, mimetype="text/plain")
        return attachment(body, media_type, f"essen-bezirkspaket_{'-'.join(bezirke)}_{day.isoformat()}.{fmt}")

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
        """Answer HTTP errors in German, without details of the server."""
        text = {400: "Ungültige Anfrage.", 404: "Nicht gefunden.", 405: "Methode nicht erlaubt.",
                413: "Anfrage zu groß."}.get(exc.code, "Anfrage nicht möglich.")
        if exc.code == 404:
            return flask.Response(not_found_html(flask.request.path, text), status=404, mimetype="text/html")
        return flask.Response(text, status=exc.code or 400, mimetype="text/plain")

    @server.errorhandler(Exception)
    def unexpected(exc: Exception):
        """Log the traceback; answer without it. A malformed callback request is the client's error (400)."""
        log.exception("Fehler bei %s %s", flask.request.method, flask.request.path)
        if flask.request.path.startswith("/_dash-"):
            return flask.Response("Ungültige Anfrage an das Dashboard.", status=400, mimetype="text/plain")
        return flask.Response("Das Dashboard konnte diese Anfrage nicht beantworten.", status=500,
                              mimetype="text/plain")

    @server.after_request
    def security_headers(response: flask.Response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers["Server"] = "essen-dash"
        return response


def create_app(settings: Settings | None = None, data: AppData | None = None) -> dash.Dash:
    """Return the dashboard on ``data`` (default: loaded now from ``settings``, default: the environment's)."""
    settings = settings or paths.settings()
    data = data or load_app_data(settings)
    install(data, settings)
    server = flask.Flask(__name__)
    # set before Dash enables compression: flask-compress reads its settings once
    server.config.update(MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES, COMPRESS_MIMETYPES=COMPRESSED_TYPES,
                         COMPRESS_CACHE_BACKEND=StaticCompressionCache, COMPRESS_CACHE_KEY=StaticCompressionCache.key)
    app = dash.Dash(
        __name__, server=server, use_pages=True, pages_folder=str(HERE / "pages"), assets_folder=str(HERE / "assets"),
        title="Sozialdaten Essen", update_title=None, suppress_callback_exceptions=True, serve_locally=True,
        compress=True,
    )
    from essen_dash import shell

    app.layout = shell.layout
    page_paths = {p["path"] for p in dash.page_registry.values()}
    add_routes(app.server, page_paths)
    # Dash registers callbacks and the page router lazily on the first request, and concurrent first requests
    # race that setup ("Callback function not found"). Run it now, once, before any worker takes requests.
    with app.server.test_request_context("/"):
        app.server.preprocess_request()
    # Views are memoized per data bundle; building the common ones now keeps the first users' requests fast
    # (with gunicorn's preload this happens once, before the workers fork).
    for page in dash.page_registry.values():
        warm = getattr(sys.modules.get(page["module"]), "warm", None)
        if warm is not None:
            warm(data)

    return app

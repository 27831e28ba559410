"""Build the Dash app: the shell, the pages, and the few plain HTTP routes beside them."""

from __future__ import annotations

import html as html_lib
import logging
from pathlib import Path

import dash
import flask

from essen_dash.data import AppData, install, load_app_data
from essen_dash.tables.schema import BEZIRK_IDS

HERE = Path(__file__).parent
GEO_ROUTE = "/geo/<level>.geojson"
#: Paths Dash and this app serve besides the pages themselves.
INTERNAL_PREFIXES = ("/_dash-", "/_reload-hash", "/_favicon", "/assets/", "/geo/", "/health", "/download/")

log = logging.getLogger(__name__)


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


def add_routes(server: flask.Flask, data: AppData, page_paths: set[str]) -> None:
    @server.route(GEO_ROUTE)
    def geojson(level: str):
        if data.boundaries is None or level not in data.boundaries.web_json:
            return flask.Response("Keine Geometrie für diese Ebene.", status=404, mimetype="text/plain")
        response = flask.Response(data.boundaries.web_json[level], mimetype="application/geo+json")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @server.route("/health")
    def health():
        return {"status": "ok", "stichtage": [d.isoformat() for d in data.stichtage],
                "geometry": data.boundaries is not None}

    @server.before_request
    def friendly_404():
        path = flask.request.path
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

    @server.after_request
    def security_headers(response: flask.Response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers["Server"] = "essen-dash"
        return response


def create_app(data: AppData | None = None) -> dash.Dash:
    """Return the dashboard on ``data`` (default: the configured folders, loaded now)."""
    data = data or load_app_data()
    install(data)
    app = dash.Dash(
        __name__, use_pages=True, pages_folder=str(HERE / "pages"), assets_folder=str(HERE / "assets"),
        title="Sozialdaten Essen", update_title=None, suppress_callback_exceptions=True, serve_locally=True,
    )
    from essen_dash import shell

    app.layout = shell.layout
    page_paths = {p["path"] for p in dash.page_registry.values()}
    add_routes(app.server, data, page_paths)
    return app

"""Small pieces every page uses: parsing the shared filter, cards, notices, URL syncing."""

from __future__ import annotations

from datetime import date

from dash import html

from essen_dash.data import AppData
from essen_dash.tables.schema import BEZIRK_IDS


#: plotly config for every graph: German locale-free buttons, no logo, base-map data from our own assets.
GRAPH_CONFIG = {"displaylogo": False, "scrollZoom": False, "topojsonURL": "/assets/topojson/",
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


def stichtag_of(value: str | None, data: AppData) -> date:
    """Return the Stichtag the shared selector holds, or the latest one."""
    try:
        day = date.fromisoformat(value) if value else data.latest
    except (TypeError, ValueError):
        return data.latest
    return day if day in data.stichtage else data.latest


def selection(value) -> set[str]:
    """Return the valid Bezirk ids in a filter value (a list, or a comma-separated URL parameter)."""
    items = value.split(",") if isinstance(value, str) else (value or [])
    return {b.strip().upper() for b in items if isinstance(b, str) and b.strip().upper() in BEZIRK_IDS}


def card(title: str, *children, class_name: str = "") -> html.Section:
    return html.Section([html.H2(title, className="card-title"), *children], className=f"card {class_name}".strip())


def notices(texts) -> list[html.Div]:
    return [html.Div(t, className="notice notice-warning", role="status") for t in texts]


def download_links(page: str, chart: str, **params) -> html.Div:
    """Return PNG/SVG/PDF links that export this chart as it is shown (same output as the CLI)."""
    from urllib.parse import urlencode

    from essen_dash.export.render import FORMATS

    clean = {k: (",".join(sorted(v)) if isinstance(v, (set, list, tuple)) else str(v))
             for k, v in params.items() if v}
    links = [html.A(fmt.key.upper(), title=fmt.label, className="btn btn-small", id=f"{page}-dl-{chart}-{fmt.key}",
                    href="/download/chart?" + urlencode({"page": page, "chart": chart, "format": fmt.key, **clean},
                                                        safe=","))
             for fmt in FORMATS.values()]
    return html.Div([html.Span("Herunterladen:", className="hint")] + links, className="downloads")


def pack_links(bezirke: list[str], stichtag: date) -> html.Div:
    """Return the district pack downloads (PDF for print, ZIP of 16:9 slides)."""
    q = f"bezirk={','.join(bezirke)}&stichtag={stichtag.isoformat()}"
    return html.Div([
        html.A("Bezirkspaket (PDF)", href=f"/download/pack?{q}&format=pdf", className="btn", id="bezirk-pack-pdf"),
        html.A("Folien (ZIP mit PNG)", href=f"/download/pack?{q}&format=zip", className="btn", id="bezirk-pack-zip"),
    ], className="downloads")


def sync_query_js(names: list[str]) -> str:
    """Return a clientside callback writing these controls' values into the address bar."""
    keys = ", ".join(f"'{n}'" for n in names)
    return f"""
    function(...values) {{
        const names = [{keys}];
        const params = new URLSearchParams(window.location.search);
        names.forEach((n, i) => values[i] ? params.set(n, values[i]) : params.delete(n));
        const q = params.toString().replace(/%2C/g, ',');
        window.history.replaceState(window.history.state, '', window.location.pathname + (q ? '?' + q : ''));
        return Date.now();
    }}"""

"""The first picture of a page, sent in its first HTML response.

Before the browser has the app's scripts (Dash, React, plotly.js), a page would show nothing. For the pages in
:data:`SNAPSHOTS` the server draws the page's frame and its map as plain HTML and SVG: the same view, built by
the same registry entry for the URL's parameters, in the same places as the app will draw them. The snapshot is
inert and hidden from assistive technology (the app's own page is the accessible one); ``assets/first_paint.js``
removes it as soon as the interactive map is drawn.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping

from essen_dash.data import AppData, memoized
from essen_dash.figures.snapshot import map_svg
from essen_dash.params import Params, parse
from essen_dash.shell import BRAND, NAV
from essen_dash.views import VIEWS, build, screen

KARTE_MAP = VIEWS["karte-map"]


def frame(page_class: str, body: str, timeline: bool) -> str:
    """Return the app's frame (header, navigation, filter bar, controls) around ``body``, without controls."""
    nav = "".join(f'<span class="nav-link">{html.escape(label)}</span>' for _, label, _ in NAV)
    return (f'<div id="first-paint" class="app" aria-hidden="true" inert>'
            f'<header class="header"><div class="brand"><span class="brand-city">{html.escape(BRAND[0])}</span>'
            f'<span class="brand-title">{html.escape(BRAND[1])}</span></div><nav class="nav">{nav}</nav></header>'
            f'<div class="filter-bar snapshot-filter-bar"></div><main class="main"><div>'
            f'<div class="page {page_class}"><div class="controls snapshot-controls"></div>'
            f'{"<div class=snapshot-timeline></div>" if timeline else ""}{body}</div></div></main></div>')


@memoized
def karte(data: AppData, p: Params) -> str:
    """Return the Karte's snapshot: its map card (heading and map) beside the empty side column."""
    if data.boundaries is None:
        return ""
    chart = build(data, KARTE_MAP.key, p)
    figure = screen(data, KARTE_MAP.key, p)
    svg = map_svg(figure, data.boundaries.geojson(p.level), int(figure["layout"].get("height") or 450),
                  f"Karte: {chart.title}")
    if not svg:
        return ""
    subtitle = "".join(f'<p class="chart-subtitle">{html.escape(line)}</p>'
                       for line in chart.subtitle.split("<br>") if line)
    card = (f'<div class="grid-map"><div class="card map-card"><figure class="chart">'
            f'<div class="snapshot-heading"><h2 class="chart-title">{html.escape(chart.title)}</h2>{subtitle}</div>'
            f'{svg}</figure></div>'
            f'<div class="side"></div></div>')
    return frame("page-karte", card, timeline=len(data.stichtage) > 1)


#: path → (the page's parameters, its snapshot)
SNAPSHOTS: dict[str, tuple[tuple[str, ...], Callable[[AppData, Params], str]]] = {"/": (KARTE_MAP.params, karte)}


def snapshot(data: AppData, path: str, args: Mapping[str, str]) -> str:
    """Return the snapshot of the page at ``path`` for the query ``args`` ("" for pages without one)."""
    if path not in SNAPSHOTS:
        return ""
    names, draw = SNAPSHOTS[path]
    p, _ = parse(dict(args), data, names)
    return draw(data, p)

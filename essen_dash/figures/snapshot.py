"""A plotly ``geo`` map figure drawn as a static SVG by the server: the map a page shows before plotly.js runs.

The SVG is drawn from the very figure the browser will draw (its choropleth traces, their colour scales, the text
labels and outline lines), on the same Mercator projection fitted to the locations, so the first picture and the
interactive map agree. It has no hover, no legend entries as controls and no script; the page replaces it once
the interactive map is drawn.
"""

from __future__ import annotations

import html
import math
import re
from bisect import bisect_right
from collections.abc import Iterable

from plotly.colors import get_colorscale, hex_to_rgb

#: room a continuous colour scale takes at the right of the plot area, as plotly.js gives it (pixels)
COLORBAR = 52
#: plotly.js draws a geo subplot in a square frame centred in the plot area, and fits the locations into that
#: square with this share of its side to spare (measured in Chromium: 489 of 538 px, 273 of 300 px)
FIT = 1 / 1.1


def mercator(lon: float, lat: float) -> tuple[float, float]:
    """Return plotly's Mercator coordinates of a point (y grows northwards)."""
    return math.radians(lon), math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def rings(geometry: dict) -> Iterable[list]:
    """Yield every ring of a GeoJSON Polygon or MultiPolygon."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    for polygon in polygons:
        yield from polygon


def channels(colour: str) -> tuple[float, ...]:
    """Return the red, green and blue of ``#rrggbb`` or ``rgb(r, g, b)``."""
    return tuple(hex_to_rgb(colour) if colour.startswith("#") else
                 (float(c) for c in re.findall(r"[\d.]+", colour)[:3]))


def sample(scale: list, t: float) -> str:
    """Return the colour at ``t`` (0…1) of a colorscale, as plotly.js interpolates it; at a repeated stop (a
    stepped scale: one class per step) the upper colour wins, as in plotly.js."""
    positions = [float(position) for position, _ in scale]
    i = min(max(bisect_right(positions, t), 1), len(scale) - 1)
    (p0, c0), (p1, c1) = scale[i - 1], scale[i]
    share = 0.0 if p1 == p0 else min(1.0, max(0.0, (t - p0) / (p1 - p0)))
    mixed = [a + (b - a) * share for a, b in zip(channels(c0), channels(c1))]
    return "rgb({}, {}, {})".format(*(round(c) for c in mixed))


def fills(trace: dict) -> list[str | None]:
    """Return the colour of each location of a choropleth trace as plotly.js colours it (None: no value, not
    drawn, so the traces below show through)."""
    z = [math.nan if v is None else float(v) for v in trace.get("z", [])]
    scale = trace.get("colorscale") or "Viridis"
    scale = get_colorscale(scale) if isinstance(scale, str) else scale
    valid = [v for v in z if not math.isnan(v)]
    lo = trace.get("zmin", min(valid, default=0.0))
    hi = trace.get("zmax", max(valid, default=1.0))
    if trace.get("zmid") is not None and "zmin" not in trace:
        half = max(abs(hi - trace["zmid"]), abs(trace["zmid"] - lo))
        lo, hi = trace["zmid"] - half, trace["zmid"] + half
    span = (hi - lo) or 1.0
    return [None if math.isnan(v) else sample(scale, (v - lo) / span) for v in z]


class Frame:
    """The projection of one map: Mercator, fitted into a square of ``side`` the way plotly fits ``fitbounds``."""

    def __init__(self, points: list[tuple[float, float]], side: float) -> None:
        xs, ys = zip(*points)
        self.x0, self.y1 = min(xs), max(ys)
        span_x, span_y = (max(xs) - self.x0) or 1e-9, (self.y1 - min(ys)) or 1e-9
        self.scale = side * FIT / max(span_x, span_y)
        self.dx = (side - span_x * self.scale) / 2
        self.dy = (side - span_y * self.scale) / 2

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        x, y = mercator(lon, lat)
        return self.dx + (x - self.x0) * self.scale, self.dy + (self.y1 - y) * self.scale


def _path(frame: Frame, geometry: dict) -> str:
    parts = []
    for ring in rings(geometry):
        points = [frame.xy(lon, lat) for lon, lat, *_ in ring]
        parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
    return "".join(parts)


def _text(x: float, y: float, text: str, font: dict) -> str:
    """Return a label as plotly.js sets it: lines 1.3 em apart, centred on the point, with the font's halo."""
    lines = str(text).split("<br>")
    spans = "".join(f'<tspan x="{x:.1f}" dy="{(-0.65 * (len(lines) - 1) if i == 0 else 1.3):.2f}em">'
                    f'{html.escape(line)}</tspan>' for i, line in enumerate(lines))
    shadow = f' style="text-shadow:{html.escape(font["shadow"])}"' if font.get("shadow") else ""
    return (f'<text y="{y:.1f}" fill="{font.get("color", "#000")}" font-size="{font.get("size", 12)}" '
            f'dominant-baseline="central"{shadow}>{spans}</text>')


def map_svg(figure: dict, geojson: dict, height: int, label: str) -> str:
    """Return ``figure`` (a plotly figure as JSON, geometry given by URL or inline) of ``height`` pixels drawn as
    HTML and SVG whose width follows its box; ``label`` is its accessible name.

    Like plotly.js, the map sits in a square frame as large as the plot area allows, centred in it (the plot
    area leaves room for the colour scale on the right); the drawing's units are pixels of the desktop layout,
    where the plot area's height limits the square."""
    shapes = {str(f["id"]): f["geometry"] for f in geojson["features"]}
    traces = figure.get("data", [])
    choropleths = [t for t in traces if t.get("type") == "choropleth"]
    located = [shapes[str(k)] for t in choropleths for k in t.get("locations", []) if str(k) in shapes]
    if not located:
        return ""
    margin = figure.get("layout", {}).get("margin", {})
    plot_h = height - margin.get("t", 0) - margin.get("b", 0)
    right = COLORBAR if any(t.get("showscale", True) and t.get("colorbar") for t in choropleths) else 0
    frame = Frame([mercator(lon, lat) for g in located for ring in rings(g) for lon, lat, *_ in ring], plot_h)
    body = []
    for trace in choropleths:
        line = trace.get("marker", {}).get("line", {})
        body.append(f'<g stroke="{line.get("color", "#fff")}" stroke-width="{line.get("width", 1)}" '
                    'stroke-linejoin="round">')
        body += [f'<path data-loc="{html.escape(str(k))}" fill="{colour}" d="{_path(frame, shapes[str(k)])}"/>'
                 for k, colour in zip(trace.get("locations", []), fills(trace)) if str(k) in shapes and colour]
        body.append("</g>")
    for trace in traces:
        if trace.get("type") != "scattergeo":
            continue
        lons, lats = trace.get("lon") or [], trace.get("lat") or []
        if "text" in trace.get("mode", ""):
            body += [_text(*frame.xy(lon, lat), text, trace.get("textfont", {}))
                     for lon, lat, text in zip(lons, lats, trace.get("text") or []) if lon is not None]
        elif "lines" in trace.get("mode", ""):
            segments, points = [], []
            for lon, lat in zip([*lons, None], [*lats, None]):
                if lon is None:
                    if points:
                        segments.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points))
                    points = []
                else:
                    points.append(frame.xy(lon, lat))
            style = trace.get("line", {})
            body.append(f'<path fill="none" stroke="{style.get("color", "#000")}" '
                        f'stroke-width="{style.get("width", 2)}" d="{"".join(segments)}"/>')
    return (f'<div class="snapshot-map" style="height:{height}px;padding:{margin.get("t", 0)}px {right}px '
            f'{margin.get("b", 0)}px 0"><svg viewBox="0 0 {plot_h} {plot_h}" width="100%" height="100%" '
            f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{html.escape(label)}" text-anchor="middle" '
            f'font-family="Source Sans 3, Segoe UI, Helvetica, Arial, sans-serif">{"".join(body)}</svg></div>')

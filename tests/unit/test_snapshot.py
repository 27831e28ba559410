"""The server's drawing of a map figure: the colours plotly.js gives each area, labels, outline, the frame."""

from __future__ import annotations

import re

from essen_dash.figures.snapshot import FIT, map_svg

SQUARE = {"type": "Polygon", "coordinates": [[[7.0, 51.4], [7.1, 51.4], [7.1, 51.5], [7.0, 51.5], [7.0, 51.4]]]}
EAST = {"type": "Polygon", "coordinates": [[[7.1, 51.4], [7.2, 51.4], [7.2, 51.5], [7.1, 51.5], [7.1, 51.4]]]}
GEOJSON = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": "a", "geometry": SQUARE},
                                                     {"type": "Feature", "id": "b", "geometry": EAST}]}
SCALE = [[0, "rgb(0, 0, 0)"], [1, "rgb(200, 100, 0)"]]


def figure(**trace) -> dict:
    return {"data": [{"type": "choropleth", "geojson": "/geo/x.geojson", "locations": ["a", "b"], "z": [1, 3],
                      "colorscale": SCALE, **trace}],
            "layout": {"height": 300, "margin": {"t": 20, "b": 40}}}


def fills(svg: str) -> dict[str, str]:
    return dict(re.findall(r'data-loc="(\w+)" fill="([^"]+)"', svg))


def test_colours_follow_the_scale_between_zmin_and_zmax():
    assert fills(map_svg(figure(), GEOJSON, 300, "x")) == {"a": "rgb(0, 0, 0)", "b": "rgb(200, 100, 0)"}
    assert fills(map_svg(figure(zmin=0, zmax=4), GEOJSON, 300, "x")) == {"a": "rgb(50, 25, 0)",
                                                                       "b": "rgb(150, 75, 0)"}


def test_the_map_fills_the_square_plot_frame_as_plotly_fits_it():
    svg = map_svg(figure(), GEOJSON, 300, "Karte: Test")
    assert 'style="height:300px;padding:20px 0px 40px 0"' in svg and 'viewBox="0 0 240 240"' in svg
    xs = [float(x) for x in re.findall(r"[ML](-?[\d.]+),", svg)]
    assert round(max(xs) - min(xs)) == round(240 * FIT)  # the wider side spans the fitted share of the square
    assert 'aria-label="Karte: Test"' in svg


def test_labels_and_outline_are_drawn_and_unknown_locations_skipped():
    fig = figure(locations=["a", "zz"], z=[1, 2])
    fig["data"] += [{"type": "scattergeo", "mode": "text", "lon": [7.05], "lat": [51.45], "text": ["Alt<br>8,3 %"],
                     "textfont": {"size": 11, "color": "#000000"}},
                    {"type": "scattergeo", "mode": "lines", "lon": [7.0, 7.1, None, 7.1, 7.2],
                     "lat": [51.4, 51.5, None, 51.4, 51.5], "line": {"color": "#c00", "width": 3}}]
    svg = map_svg(fig, GEOJSON, 300, "x")
    assert list(fills(svg)) == ["a"]
    assert re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg) == ["Alt", "8,3 %"]
    outline = re.search(r'<path fill="none" stroke="#c00" stroke-width="3" d="([^"]+)"', svg).group(1)
    assert outline.count("M") == 2  # a gap in the line starts a new segment


def test_no_map_without_any_known_location():
    assert map_svg(figure(locations=["x", "y"]), GEOJSON, 300, "x") == ""


def test_an_area_without_a_value_is_not_drawn_by_its_trace():
    fig = figure(z=[None, 3], zmin=1, zmax=3)
    fig["data"].insert(0, {"type": "choropleth", "locations": ["a", "b"], "z": [0, 0],
                           "colorscale": [[0, "#d9d9d9"], [1, "#d9d9d9"]]})
    svg = map_svg(fig, GEOJSON, 300, "x")
    assert re.findall(r'data-loc="(\w+)" fill="([^"]+)"', svg) == [("a", "rgb(217, 217, 217)"),
                                                                   ("b", "rgb(217, 217, 217)"),
                                                                   ("b", "rgb(200, 100, 0)")]


def test_a_stepped_scale_gives_a_value_on_a_break_the_upper_class():
    stepped = [[0, "#000000"], [0.5, "#000000"], [0.5, "rgb(200,100,0)"], [1, "rgb(200,100,0)"]]
    fig = figure(z=[1, 2], zmin=0, zmax=4, colorscale=stepped)
    assert fills(map_svg(fig, GEOJSON, 300, "x")) == {"a": "rgb(0, 0, 0)", "b": "rgb(200, 100, 0)"}

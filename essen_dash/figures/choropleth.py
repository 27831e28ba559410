"""Choropleth maps of Bezirke or Stadtteile, without tiles: plotly ``geo`` with the real boundaries.

Geometry enters as ``geojson``: a URL in the browser (fetched once per page
load) or the FeatureCollection itself for static export, so a callback can
send the traces of another Kennzahl without the boundaries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from essen_dash.classify import NO_VALUE_COLOUR, SCHEMES, Classes
from essen_dash.figures.common import HIGHLIGHT
from essen_dash.format import de_number
from essen_dash.frames import FLAG
from essen_dash.kennzahlen import NO_CITY_VALUE, Kennzahl

NO_VALUE_LABEL = "kein Wert veröffentlicht"
WITHHELD_LABEL = "gesperrt (Geheimhaltung der Quelle)"
WITHHELD_COLOUR = "#c9ced3"  # darker than "no value": the source has the figure but does not publish it
#: what an area without a value shows, by the value's state
EMPTY = {"withheld": (WITHHELD_LABEL, WITHHELD_COLOUR), "no_comparison": ("kein Vergleich möglich", NO_VALUE_COLOUR),
         "missing": (NO_VALUE_LABEL, NO_VALUE_COLOUR)}
CONTEXT_COLOUR = "#eceff2"  # areas outside a selection: visible for orientation, not competing with it


def city_of(frame: pd.DataFrame) -> float | None:
    """Return the frame's city reference, or None where the catalog gives the Kennzahl none."""
    city = float(frame["city_value"].iloc[0])
    return None if np.isnan(city) else city


def classes_for(frame: pd.DataFrame, indicator: Kennzahl, scheme: str) -> Classes:
    return SCHEMES[scheme].build(frame["value"].to_numpy(dtype=float), city_of(frame),
                                 lambda v: de_number(v, indicator.decimals))


def hover_data(frame: pd.DataFrame, indicator: Kennzahl) -> list[dict]:
    """Return per area the named fields its tooltip shows and a click reads (never positions)."""
    n = int(frame["value"].notna().sum())
    city = city_of(frame)
    city_text = frame["city_text"].iloc[0] if "city_text" in frame else \
        f"Gesamtstadt: {indicator.format(city)}" if city is not None else NO_CITY_VALUE
    def empty(state: str) -> str:
        return EMPTY.get(state, EMPTY["missing"])[0]

    return [{"name": name, "value": (indicator.format(v) + (f" ({count})" if count else "") + (FLAG if flag else ""))
             if pd.notna(v) else empty(state),
             "rank": f"Rang {r} von {n}" if pd.notna(r) else empty(state), "city": city_text, "key": key,
             "bezirk_id": bezirk, "note": f"<br>{FLAG} {flag}" if flag else ""}
            for name, v, r, key, bezirk, count, flag, state in zip(
                frame["name"], frame["value"], frame["rank"], frame["key"], frame["bezirk_id"], frame["count_text"],
                frame["flag"], frame["state"])]


HOVER = ("<b>%{customdata.name}</b><br>%{customdata.value}<br>%{customdata.rank}<br>%{customdata.city}"
         "%{customdata.note}<extra></extra>")


def flag_footnote(frame: pd.DataFrame) -> str:
    """Return the explanation of every flagged value of a frame, for a chart's subtitle ("" when none)."""
    flagged = frame[frame["flag"] != ""]
    return "".join(f"<br>{FLAG} {name}: {flag}" for name, flag in zip(flagged["name"], flagged["flag"]))


def _trace(frame: pd.DataFrame, geojson, name: str, colorscale, z, showlegend: bool, **extra) -> go.Choropleth:
    return go.Choropleth(
        geojson=geojson, locations=frame["key"].tolist(), z=z, name=name, colorscale=colorscale,
        customdata=frame["hover"].tolist(), hovertemplate=HOVER, marker={"line": {"color": "white", "width": 1}},
        showlegend=showlegend, legendgroup=name, **extra)


def luminance(colour: str) -> float:
    """Return the WCAG relative luminance of an ``rgb(r, g, b)`` or ``#rrggbb`` colour."""
    if colour.startswith("#"):
        channels = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    else:
        channels = [float(c) for c in colour[colour.index("(") + 1:colour.index(")")].split(",")[:3]]
    linear = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def label_colour(fill: str) -> str:
    """Return black or white, whichever contrasts more with ``fill`` (at least 4,58:1 for any fill)."""
    lum = luminance(fill)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


HALO = {"#000000": "0 0 3px white, 0 0 3px white, 0 0 2px white", "#ffffff": "0 0 3px black, 0 0 2px black"}


def label_traces(frame: pd.DataFrame, fills: list[str], points: pd.DataFrame, level: str,
                 indicator: Kennzahl) -> list[go.Scattergeo]:
    """Return map labels (Bezirk numerals, or names and values of Stadtteile with a value), black on light and
    white on dark fills."""
    frame = frame.assign(fill=fills)
    shown = frame if level == "bezirk" else frame[frame["value"].notna()]
    text = shown["bezirk_id"] + shown["flag"].map(lambda f: FLAG if f else "") if level == "bezirk" else pd.Series(
        [f"{n}<br>{indicator.format(v)}" for n, v in zip(shown["name"], shown["value"])], index=shown.index)
    ink = shown["fill"].map(label_colour)
    at = points.set_index("key")
    traces = []
    for colour in sorted(set(ink)):
        part = shown[ink == colour]
        where = at.loc[part["key"]]
        traces.append(go.Scattergeo(
            lon=where["lon"].round(5).tolist(), lat=where["lat"].round(5).tolist(), text=text[part.index].tolist(),
            mode="text", hoverinfo="skip", showlegend=False, name="Beschriftung",
            textfont={"size": 14 if level == "bezirk" else 11, "color": colour, "shadow": HALO[colour]}))
    return traces


def value_traces(frame: pd.DataFrame, indicator: Kennzahl, scheme: str, geojson,
                 labels: pd.DataFrame | None = None, level: str = "bezirk",
                 selected: frozenset[str] = frozenset()) -> list:
    """Return the traces that carry values: grey units without a value, the coloured ones, then labels.

    Classes are computed over all units, so colours keep their city-wide meaning. With a selection, the areas
    outside it stay on the map in a light grey for context (their tooltips keep their values).
    """
    classes = classes_for(frame, indicator, scheme)
    outside = ~frame["bezirk_id"].isin(selected).to_numpy() if selected else np.zeros(len(frame), dtype=bool)
    fills = [CONTEXT_COLOUR if out and pd.notna(v) else c for c, out, v in zip(classes.colours, outside, frame["value"])]
    frame = frame.assign(hover=hover_data(frame, indicator))
    traces = []
    for state, (label, colour) in EMPTY.items():
        other = frame["state"].isin([s for s in EMPTY if s != "missing"])  # missing: every other empty area
        empty = frame[frame["value"].isna() & ((frame["state"] == state) if state != "missing" else ~other)]
        if len(empty):
            traces.append(_trace(empty, geojson, label, [[0, colour], [1, colour]], [0] * len(empty), True,
                                 showscale=False))
    context = frame[frame["value"].notna() & outside]
    if len(context):
        traces.append(_trace(context, geojson, "außerhalb der Auswahl (zum Vergleich)",
                             [[0, CONTEXT_COLOUR], [1, CONTEXT_COLOUR]], [0] * len(context), True, showscale=False))
    label = label_traces(frame, fills, labels, level, indicator) if labels is not None else []
    valued = frame[frame["value"].notna() & ~outside]
    if valued.empty:
        return traces + label
    if classes.continuous:
        traces.append(_trace(
            valued, geojson, indicator.short, classes.colorscale, valued["value"].tolist(), False,
            zmin=classes.zmin, zmax=classes.zmax, zmid=classes.zmid,
            colorbar={"title": {"text": indicator.unit, "side": "top"}, "thickness": 14, "len": 0.6, "x": 1.0,
                      "tickformat": ",.0f" if indicator.decimals == 0 else ",.1f", "outlinewidth": 0}))
        return traces + label
    index = frame.index.get_indexer(valued.index)
    colours = [classes.colours[i] for i in index]
    for text, colour in zip(classes.labels, classes.legend_colours):
        members = valued[[c == colour for c in colours]]
        if len(members):
            traces.append(_trace(members, geojson, f"{text} {indicator.unit}", [[0, colour], [1, colour]],
                                 [1] * len(members), True, showscale=False))
        else:  # plotly lists no empty choropleth in the legend: a pointless square keeps the scale complete
            traces.append(go.Scattergeo(lon=[None], lat=[None], mode="markers", name=f"{text} {indicator.unit}",
                                        marker={"symbol": "square", "size": 12, "color": colour},
                                        legendgroup=text, hoverinfo="skip"))
    return traces + label


def choropleth(frame: pd.DataFrame, indicator: Kennzahl, scheme: str, geojson, *, level: str,
               selected: frozenset[str] = frozenset(), labels: pd.DataFrame | None = None,
               outline: tuple[list, list] | None = None, height: int = 600) -> go.Figure:
    """Return the whole map figure (heading and source are added by the caller)."""
    fig = go.Figure(value_traces(frame, indicator, scheme, geojson, labels, level, selected))
    if outline is not None:
        fig.add_scattergeo(lon=outline[0], lat=outline[1], mode="lines", line={"color": HIGHLIGHT, "width": 3},
                           name=f"Auswahl: Stadtbezirk {', '.join(sorted(selected))}", hoverinfo="skip")
    fig.update_geos(visible=False, fitbounds="locations", projection_type="mercator", bgcolor="white")
    fig.update_layout(
        height=height, dragmode=False, margin={"l": 0, "r": 0, "t": 80, "b": 46},
        legend={"orientation": "v", "x": 0.0, "y": 0.02, "xanchor": "left", "yanchor": "bottom",
                "bgcolor": "rgba(255,255,255,0.85)", "traceorder": "normal", "itemclick": False,
                "itemdoubleclick": False, "font": {"size": 12}, "title": {"text": f"{indicator.short} ({indicator.unit})"}},
    )
    return fig


def locator(geojson, highlight: list[str], locations: list[str], height: int = 260) -> go.Figure:
    """Return a small map of all units with ``highlight`` filled, for profiles."""
    z = [1 if k in highlight else 0 for k in locations]
    fig = go.Figure(go.Choropleth(
        geojson=geojson, locations=locations, z=z, colorscale=[[0, "#e8edf2"], [1, "#0b5394"]], showscale=False,
        marker={"line": {"color": "white", "width": 0.8}}, hoverinfo="skip"))
    fig.update_geos(visible=False, fitbounds="locations", projection_type="mercator")
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0}, dragmode=False, template="none")
    return fig

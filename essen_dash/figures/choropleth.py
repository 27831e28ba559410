"""Choropleth maps of Bezirke or Stadtteile, without tiles: plotly ``geo`` with the real boundaries.

Geometry enters as ``geojson``: a URL in the browser (fetched once per page
load) or the FeatureCollection itself for static export. Everything that
depends on the indicator or the scheme lives in :func:`value_traces` and the
layout keys of :func:`value_layout`, so a callback can patch exactly those.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from essen_dash.classify import NO_VALUE_COLOUR, SCHEMES, Classes
from essen_dash.figures.common import base_layout
from essen_dash.format import de_number
from essen_dash.indicators import Indicator

NO_VALUE_LABEL = "kein Wert veröffentlicht"


def classes_for(frame: pd.DataFrame, indicator: Indicator, scheme: str) -> Classes:
    city = float(frame["city_value"].iloc[0])
    return SCHEMES[scheme].build(frame["value"].to_numpy(dtype=float), city, lambda v: de_number(v, indicator.decimals))


def hover_data(frame: pd.DataFrame, indicator: Indicator) -> np.ndarray:
    n = int(frame["value"].notna().sum())
    rank = [f"Rang {r} von {n}" if pd.notna(r) else NO_VALUE_LABEL for r in frame["rank"]]
    values = [indicator.format(v) if pd.notna(v) else NO_VALUE_LABEL for v in frame["value"]]
    city = f"Gesamtstadt: {indicator.format(float(frame['city_value'].iloc[0]))}"
    return np.column_stack([frame["name"], values, rank, [city] * len(frame), frame["key"], frame["bezirk_id"]])


HOVER = "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>%{customdata[2]}<br>%{customdata[3]}<extra></extra>"


def _trace(frame: pd.DataFrame, geojson, name: str, colorscale, z, showlegend: bool, **extra) -> go.Choropleth:
    return go.Choropleth(
        geojson=geojson, locations=frame["key"].tolist(), z=z, name=name, colorscale=colorscale,
        customdata=frame["hover"].tolist(), hovertemplate=HOVER, marker={"line": {"color": "white", "width": 1}},
        showlegend=showlegend, legendgroup=name, **extra)


def label_trace(frame: pd.DataFrame, points: pd.DataFrame, level: str, indicator: Indicator) -> go.Scattergeo:
    """Return map labels: Bezirk numerals, or the names of Stadtteile with a published value."""
    if level == "bezirk":
        shown, text = frame, frame["bezirk_id"]
    else:
        shown = frame[frame["value"].notna()]
        text = [f"{n}<br>{indicator.format(v)}" for n, v in zip(shown["name"], shown["value"])]
    at = points.set_index("key").loc[shown["key"]]
    return go.Scattergeo(lon=at["lon"].round(5).tolist(), lat=at["lat"].round(5).tolist(), text=list(text),
                         mode="text", hoverinfo="skip", showlegend=False, name="Beschriftung",
                         textfont={"size": 14 if level == "bezirk" else 11, "color": "#111",
                                   "shadow": "0 0 3px white, 0 0 3px white, 0 0 2px white"})


def value_traces(frame: pd.DataFrame, indicator: Indicator, scheme: str, geojson,
                 selected: set[str] = frozenset(), labels: pd.DataFrame | None = None,
                 level: str = "bezirk") -> list:
    """Return the traces that carry values: grey units without a value, the coloured ones, then labels.

    With a selection only the selected Bezirke (or their Stadtteile) are drawn, so the map zooms to them;
    classes are still computed over all units, so colours keep their city-wide meaning.
    """
    classes = classes_for(frame, indicator, scheme)
    # hover rows (with ranks among all units) are computed before any narrowing
    frame = frame.assign(hover=list(hover_data(frame, indicator)))
    if selected:
        keep = frame["bezirk_id"].isin(selected).to_numpy()
        frame = frame[keep]
        classes = replace(classes, colours=[c for c, k in zip(classes.colours, keep) if k])
    traces = []
    missing = frame[frame["value"].isna()]
    if len(missing):
        traces.append(_trace(missing, geojson, NO_VALUE_LABEL, [[0, NO_VALUE_COLOUR], [1, NO_VALUE_COLOUR]],
                             [0] * len(missing), True, showscale=False))
    valued = frame[frame["value"].notna()]
    if valued.empty:
        return traces + ([label_trace(frame, labels, level, indicator)] if labels is not None else [])
    if classes.continuous:
        unit = indicator.unit
        traces.append(_trace(
            valued, geojson, indicator.short, classes.colorscale, valued["value"].tolist(), False,
            zmin=classes.zmin, zmax=classes.zmax, zmid=classes.zmid,
            colorbar={"title": {"text": unit, "side": "top"}, "thickness": 14, "len": 0.6, "x": 1.0,
                      "tickformat": ",.0f" if indicator.decimals == 0 else ",.1f", "outlinewidth": 0}))
        return traces + ([label_trace(frame, labels, level, indicator)] if labels is not None else [])
    index = frame.index.get_indexer(valued.index)
    colours = [classes.colours[i] for i in index]
    for label, colour in zip(classes.labels, classes.legend_colours):
        members = valued[[c == colour for c in colours]]
        # every class is listed in the legend, even an empty one, so the scale is complete
        traces.append(_trace(members, geojson, f"{label} {indicator.unit}", [[0, colour], [1, colour]],
                             [1] * len(members), True, showscale=False))
    return traces + ([label_trace(frame, labels, level, indicator)] if labels is not None else [])


def value_layout(indicator: Indicator, scheme: str, level_label: str, stichtag_text: str) -> dict[tuple, str]:
    """Return the layout entries (as key paths) that change with indicator and scheme."""
    return {
        ("title", "text"): f"<b>{indicator.label}</b><br><span style='font-size:13px;color:#5b6770'>"
                           f"{level_label}, Stand {stichtag_text} · {SCHEMES[scheme].label}</span>",
        ("legend", "title", "text"): f"{indicator.short} ({indicator.unit})",
    }


def assign(target, updates: dict[tuple, object]) -> None:
    """Set nested entries on a figure layout or a ``dash.Patch`` alike."""
    for path, value in updates.items():
        node = target
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value


def choropleth(frame: pd.DataFrame, indicator: Indicator, scheme: str, geojson, *, level: str, level_label: str,
               stichtag_text: str, source: str, selected: set[str] = frozenset(), labels: pd.DataFrame | None = None,
               height: int = 600) -> go.Figure:
    """Return the whole map figure."""
    fig = go.Figure(value_traces(frame, indicator, scheme, geojson, selected, labels, level))
    base_layout(fig, indicator.label, "", source)
    fig.update_geos(visible=False, fitbounds="locations", projection_type="mercator", bgcolor="white")
    fig.update_layout(
        height=height, dragmode=False, margin={"l": 0, "r": 0, "t": 80, "b": 46},
        legend={"orientation": "v", "x": 0.0, "y": 0.02, "xanchor": "left", "yanchor": "bottom",
                "bgcolor": "rgba(255,255,255,0.85)", "traceorder": "normal", "itemclick": False,
                "itemdoubleclick": False, "font": {"size": 12}},
    )
    assign(fig.layout, value_layout(indicator, scheme, level_label, stichtag_text))
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

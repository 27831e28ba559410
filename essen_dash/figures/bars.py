"""Bar charts: the ranking linked to the map, profiles against the city, allocation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from essen_dash.classify import NO_VALUE_COLOUR
from essen_dash.frames import FLAG
from essen_dash.figures.common import ACCENT, HIGHLIGHT, MUTED
from essen_dash.kennzahlen import Kennzahl


def value_range(values: pd.Series) -> list[float]:
    """Return an axis range from 0 (or below, for negative values such as a decrease) to the largest value, with
    room beyond the bars' ends for their labels."""
    low, high = min(0.0, float(values.min())), max(0.0, float(values.max()))
    room = 0.22 * ((high - low) or 1.0)
    return [low - room if low < 0 else 0.0, high + room]


def ranking(frame: pd.DataFrame, indicator: Kennzahl, colours: list[str], *, selected: frozenset[str] = frozenset(),
            height: int = 420) -> dict:
    """Return units sorted by value (highest on top), coloured like the map, with the city value as a line; as
    plotly JSON, built at every switch (plotly.py's checks and copies took most of a switch's time)."""
    shown = frame.assign(colour=colours)[frame["value"].notna()].sort_values("value")
    # a change names its unit on the axis only: "+1,4" beside each bar, not "+1,4 %-Punkte"
    label = replace(indicator, unit="") if indicator.signed else indicator
    faded = [bool(selected) and b not in selected for b in shown["bezirk_id"]]
    bar = {"type": "bar", "x": shown["value"].to_numpy(dtype=float), "y": shown["name"].tolist(), "orientation": "h",
           "customdata": [{"key": k, "bezirk_id": b} for k, b in zip(shown["key"], shown["bezirk_id"])],
           "marker": {"color": shown["colour"].tolist(), "opacity": [0.35 if f else 1.0 for f in faded],
                      "line": {"color": [HIGHLIGHT if (selected and not f) else "rgba(0,0,0,0)" for f in faded],
                               "width": 1.5}},
           "text": [label.format(v) + (FLAG if f else "") for v, f in zip(shown["value"], shown["flag"])],
           "textposition": "outside", "cliponaxis": False,
           "hovertext": [f"{indicator.format(v)}" + (f" ({c})" if c else "") + (f"<br>{FLAG} {f}" if f else "")
                         for v, c, f in zip(shown["value"], shown["count_text"], shown["flag"])],
           "hovertemplate": "<b>%{y}</b><br>%{hovertext}<extra></extra>", "name": indicator.short}
    layout = {"height": height, "showlegend": False, "bargap": 0.25,
              "xaxis": {"title": {"text": indicator.unit}, "gridcolor": "#eef1f4", "zeroline": False,
                        "range": value_range(shown["value"]) if len(shown) else None},
              "yaxis": {"automargin": True}, "margin": {"l": 10, "r": 30, "t": 60, "b": 76}}
    city = float(frame["city_value"].iloc[0])
    if not np.isnan(city):
        layout |= city_line(city, f"Gesamtstadt {indicator.format(city)}")
    return {"data": [bar], "layout": layout}


def city_line(x: float, text: str) -> dict:
    """Return the layout of a dashed vertical reference line at ``x`` labelled above the plot (what plotly's
    ``add_vline`` and ``add_annotation`` draw)."""
    return {"shapes": [{"type": "line", "x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain",
                        "line": {"color": MUTED, "dash": "dash", "width": 1.5}}],
            "annotations": [{"x": x, "y": 1, "yref": "paper", "yanchor": "bottom", "showarrow": False, "text": text,
                             "font": {"size": 11, "color": MUTED}}]}


#: A profile bar ending less than this share of the axis before the city line (100) has its label written inside its
#: end: outside, the label would run across the dashed line ("4,3 %" of Rumänien in Bezirk III, index 96).
LINE_CLEARANCE = 0.14


def profile(rows: pd.DataFrame, *, height: int = 420) -> go.Figure:
    """Return one Bezirk's indicators against the city: ``rows`` has label, value, city, unit, value_text, city_text."""
    top = max(130.0, float(rows["index"].max()) * 1.25)
    inside = (rows["index"] < 100) & (rows["index"] > 100 - LINE_CLEARANCE * top)
    fig = go.Figure()
    fig.add_bar(y=rows["label"], x=rows["index"], orientation="h", name="Bezirk", marker_color=ACCENT,
                text=rows["value_text"], textposition=np.where(inside, "inside", "outside"), cliponaxis=False,
                insidetextanchor="end", insidetextfont={"color": "white"},
                customdata=rows[["city_text"]].to_numpy(),
                hovertemplate="<b>%{y}</b><br>Bezirk: %{text}<br>Gesamtstadt: %{customdata[0]}<extra></extra>")
    fig.add_vline(x=100, line={"color": MUTED, "dash": "dash"})
    fig.add_annotation(x=100, y=1, yref="paper", yanchor="bottom", showarrow=False, text="Gesamtstadt = 100",
                       font={"size": 11, "color": MUTED})
    fig.update_layout(height=height, showlegend=False,
                      margin={"b": 90},
                      xaxis={"title": "Index (Gesamtstadt = 100)", "gridcolor": "#eef1f4",
                             "range": [0, top]},
                      yaxis={"automargin": True, "autorange": "reversed"})
    return fig


def allocation_bars(frame: pd.DataFrame, housing_label: str, residents_label: str, *,
                    selected: frozenset[str] = frozenset(), height: int = 440) -> go.Figure:
    """Return grouped bars: share of project housing vs share of 12-country residents, per Bezirk."""
    opacity = [0.35 if selected and b not in selected else 1.0 for b in frame["bezirk_id"]]
    fig = go.Figure()
    for column, name, colour in (("housing_pct", housing_label, ACCENT),
                                 ("resident_share_pct", residents_label, "#f1a340")):
        fig.add_bar(x=frame["bezirk_id"], y=frame[column], name=name, marker={"color": colour, "opacity": opacity},
                    text=[f"{v:.1f}".replace(".", ",") for v in frame[column]], textposition="outside",
                    hovertemplate="<b>Stadtbezirk %{x}</b><br>" + name + ": %{text} %<extra></extra>")
    fig.update_layout(height=height, barmode="group", bargap=0.2,
                      legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                      yaxis={"title": "%", "gridcolor": "#eef1f4", "automargin": True,
                             "range": [0, float(frame[["housing_pct", "resident_share_pct"]].max().max()) * 1.18]},
                      xaxis={"title": "Stadtbezirk"},
                      margin={"t": 90, "b": 90})
    return fig


def label_positions(x, y, near: float = 1.0) -> list[str]:
    """Return a text position per point: above, or left and right of each other where two points are closer
    than ``near`` (axis units), so their labels do not run into one another ("IVVI")."""
    positions = ["top center"] * len(x)
    points = sorted(range(len(x)), key=lambda i: x.iloc[i])
    for a, b in zip(points, points[1:]):
        if abs(x.iloc[a] - x.iloc[b]) < near and abs(y.iloc[a] - y.iloc[b]) < near:
            positions[a], positions[b] = "middle left", "middle right"
    return positions


def allocation_scatter(frame: pd.DataFrame, housing_label: str, residents_label: str, *,
                       selected: frozenset[str] = frozenset(), height: int = 440) -> go.Figure:
    """Return housing share against resident share with the parity line (ratio 1)."""
    top = float(max(frame["housing_pct"].max(), frame["resident_share_pct"].max())) * 1.15
    fig = go.Figure()
    fig.add_scatter(x=[0, top], y=[0, top], mode="lines", line={"color": MUTED, "dash": "dash"},
                    name="Parität (Verhältnis 1)", hoverinfo="skip")
    faded = [bool(selected) and b not in selected for b in frame["bezirk_id"]]
    fig.add_scatter(
        x=frame["resident_share_pct"], y=frame["housing_pct"], mode="markers+text",
        text=frame["bezirk_id"], textposition=label_positions(frame["resident_share_pct"], frame["housing_pct"]),
        name="Stadtbezirke",
        marker={"size": 13, "color": [NO_VALUE_COLOUR if f else ACCENT for f in faded],
                "line": {"color": "white", "width": 1}},
        customdata=frame[["name", "ratio"]].to_numpy(),
        hovertemplate="<b>%{customdata[0]}</b><br>Einwohneranteil: %{x:.1f} %<br>Wohnungsanteil: %{y:.1f} %"
                      "<br>Verhältnis: %{customdata[1]:.2f}<extra></extra>")
    fig.update_layout(height=height, legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                      xaxis={"title": f"{residents_label.split(':')[0]} (%)", "range": [0, top],
                             "gridcolor": "#eef1f4"},
                      yaxis={"title": f"{housing_label.split(':')[0]} (%)", "range": [0, top], "gridcolor": "#eef1f4",
                             "automargin": True},
                      margin={"t": 90, "b": 90})
    return fig

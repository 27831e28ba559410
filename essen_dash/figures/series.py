"""Lines over the Stichtage: a Bezirk against the city (and its Stadtteile), one Kennzahl or all of them."""

from __future__ import annotations

import math
import re
from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from essen_dash.figures.common import ACCENT, MUTED
from essen_dash.kennzahlen import Kennzahl

#: how each kind of line looks: Bezirk bold, city dashed, Stadtteile thin
STYLES = {"bezirk": {"color": ACCENT, "width": 3}, "city": {"color": MUTED, "width": 2, "dash": "dash"},
          "stadtteil": {"color": "#8fb3d9", "width": 1.2}}


def series_traces(frame: pd.DataFrame, k: Kennzahl, legend: bool = True) -> list[go.Scatter]:
    """Return one line per area of a ``series_frame``; a missing value is a gap, never 0."""
    traces = []
    for (who, kind), rows in frame.groupby(["who", "kind"], sort=False):
        traces.append(go.Scatter(
            x=rows["day"].tolist(), y=[None if pd.isna(v) else v for v in rows["value"]], name=who,
            mode="lines+markers", line=STYLES[kind], marker={"size": 7 if kind != "stadtteil" else 4},
            connectgaps=False, showlegend=legend, legendgroup=kind if kind != "bezirk" else who,
            hovertext=[f"{who}: {k.format(v) if pd.notna(v) else 'kein Wert'}" for v in rows["value"]],
            hovertemplate="%{x|%d.%m.%Y}<br>%{hovertext}<extra></extra>"))
    return traces


def date_axis(days: list) -> dict:
    """Return an x axis over the Stichtage: a tick at each, on two lines (day and month, year) so that the first
    and last fit a narrow chart, with room on both sides for their labels."""
    pad = max(1, (days[-1] - days[0]).days * 0.15) if len(days) > 1 else 30
    return {"tickvals": days, "ticktext": [f"{d:%d.%m.}<br>{d:%Y}" for d in days], "gridcolor": "#eef1f4",
            "range": [days[0] - timedelta(days=pad), days[-1] + timedelta(days=pad)]}


def series(frame: pd.DataFrame, k: Kennzahl, height: int = 420) -> go.Figure:
    """Return one Kennzahl over the Stichtage."""
    fig = go.Figure(series_traces(frame, k))
    days = sorted(frame["day"].unique())
    fig.update_layout(height=height, margin={"l": 10, "r": 20, "t": 70, "b": 60},
                      xaxis=date_axis(days),
                      yaxis={"title": k.unit, "gridcolor": "#eef1f4", "rangemode": "tozero", "automargin": True},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    return fig


def series_grid(frames: dict[str, pd.DataFrame], kennzahlen: list[Kennzahl], columns: int = 3) -> go.Figure:
    """Return every Kennzahl as a small chart of its own (each with its own scale), in a grid."""
    rows = math.ceil(len(kennzahlen) / columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[titled(k) for k in kennzahlen],
                        vertical_spacing=0.5 / rows, horizontal_spacing=0.08)
    for i, k in enumerate(kennzahlen):
        for trace in series_traces(frames[k.key], k, legend=False):  # the subtitle says which line is which
            fig.add_trace(trace, row=i // columns + 1, col=i % columns + 1)
    days = sorted({d for f in frames.values() for d in f["day"]})
    fig.update_xaxes(**date_axis(days))
    fig.update_yaxes(rangemode="tozero", gridcolor="#eef1f4", automargin=True)
    fig.update_annotations(font_size=11)
    # the first row's titles need room above on screen too (where the heading is HTML, not in the figure)
    fig.update_layout(height=240 * rows + 120, margin={"l": 10, "r": 10, "t": 90, "b": 50}, showlegend=False,
                      meta={"screen_top": 50})
    return fig


#: the longest line of a small chart's title (the grid is three charts wide even on a phone)
TITLE_LINE = 18


def titled(k: Kennzahl) -> str:
    """Return a Kennzahl's short label with its unit (unless the label names it), in lines that fit a small chart:
    broken at spaces and after a slash."""
    text = k.short if f"({k.unit})" in k.short else f"{k.short} ({k.unit})"
    lines, line = [], ""
    for word in re.findall(r"[^ /]+/?", text):
        joint = "" if line.endswith("/") or not line else " "
        if line and len(line) + len(joint) + len(word) > TITLE_LINE:
            lines.append(line)
            line = word
        else:
            line += joint + word
    return "<br>".join(lines + [line])

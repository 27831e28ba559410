"""Tables drawn as figures, so a table prints in the same style as the charts beside it."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from essen_dash.figures.common import ACCENT, INK


def table_figure(table: pd.DataFrame) -> go.Figure:
    """Return ``table`` (display strings, German headers) as a plotly table; the first column is text."""
    header = list(table.columns)
    return go.Figure(go.Table(
        columnwidth=[3] + [2] * (len(header) - 1),
        header={"values": [f"<b>{h}</b>" for h in header], "fill_color": ACCENT, "font": {"color": "white", "size": 14},
                "align": "left", "height": 32},
        cells={"values": [table[c].astype(str).tolist() for c in header], "align": ["left"] * len(header),
               "height": 28, "font": {"size": 13, "color": INK}, "fill_color": [["#ffffff", "#f4f6f8"] * 40]}))

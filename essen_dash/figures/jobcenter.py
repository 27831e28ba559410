"""JobCenter figures: the areas × origin heatmap, the area map with partial members hatched, the bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from essen_dash.classify import NO_VALUE_COLOUR, SEQUENTIAL
from essen_dash.figures.choropleth import placed
from essen_dash.figures.common import INK
from essen_dash.format import de_number

HATCH_COLOUR = "#5b6770"


def pct(v: float) -> str:
    return de_number(v, 1, "%")


def heatmap(matrix: pd.DataFrame, *, zmax: float | None = None, height: int | None = None) -> go.Figure:
    """Return areas (rows) × origin groups (columns); every column sums to about 100 %.

    ``zmax`` fixes the top of the colour scale (the whole city's maximum), so a value has the same colour in
    every selection."""
    text = [[pct(v) for v in row] for row in matrix.to_numpy()]
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(), x=list(matrix.columns), y=list(matrix.index), text=text, texttemplate="%{text}",
        colorscale=SEQUENTIAL, zmin=0, zmax=zmax if zmax is not None else float(matrix.to_numpy().max()),
        colorbar={"title": {"text": "%"}, "thickness": 12, "outlinewidth": 0},
        hovertemplate="<b>%{y}</b> · %{x}<br>%{text} der Leistungsbeziehenden dieser Herkunft<extra></extra>",
        xgap=2, ygap=2))
    fig.update_layout(height=height or max(320, 160 + 34 * len(matrix)), xaxis={"side": "top", "title": None, "automargin": True},
                      yaxis={"autorange": "reversed", "automargin": True}, margin={"t": 110})
    return fig


JOINT_COLOUR = "#bfc5cc"  # areas the source lists together: their published shares are not added up


#: the type size of the map's area labels
LABEL_SIZE = 12


def label_choices(row) -> list[str]:
    """Return an area's label, the fullest first: its name (each area the source lists together) with the share,
    else the share(s) alone (``placed`` takes the first that covers no other label)."""
    if len(row.jc_areas) > 1:
        return ["<br>".join(f"{a} {pct(p)}" for a, p in zip(row.jc_areas, row.parts)),
                " / ".join(pct(p) for p in row.parts)]
    return [f"{row.name}<br>{pct(row.value)}", pct(row.value)]


def area_hover(row) -> str:
    if len(row.jc_areas) > 1:
        lines = [f"<b>{' und '.join(row.jc_areas)}</b>",
                 " · ".join(f"{a}: {pct(p)}" for a, p in zip(row.jc_areas, row.parts)),
                 "gemeinsame Stadtteilliste in der Quelle; die Anteile werden nicht addiert"]
    else:
        lines = [f"<b>{row.name}</b>", f"{pct(row.value)} der Leistungsbeziehenden dieser Herkunft"]
    lines.append("Stadtteile: " + ", ".join(row.members) + (" …" if row.is_list_incomplete else ""))
    if row.shared_members:
        lines.append("teilweise/geteilt: " + ", ".join(row.shared_members))
    return "<br>".join(lines)


def area_map(frame: pd.DataFrame, core_geojson: dict, other_geojson: dict, hatch: tuple[list, list],
             outline: tuple[list, list], labels: pd.DataFrame, *, zmax: float, height: int = 600) -> go.Figure:
    """Return the JobCenter map: areas filled by their published share on a city-wide scale (0 to ``zmax``),
    jointly listed areas in neutral grey with both shares written on them, shared Stadtteile hatched."""
    fig = go.Figure()
    others = [f["id"] for f in other_geojson["features"]]
    if others:
        fig.add_choropleth(geojson=other_geojson, locations=others, z=[0] * len(others), showscale=False,
                           colorscale=[[0, NO_VALUE_COLOUR], [1, NO_VALUE_COLOUR]], name="nicht oder geteilt zugeordnet",
                           marker={"line": {"color": "white", "width": 0.6}},
                           customdata=[f["properties"]["hover"] for f in other_geojson["features"]],
                           hovertemplate="%{customdata}<extra></extra>", showlegend=False)
    fig.add_traces(value_traces(frame, core_geojson, labels, zmax))
    fig.add_scattergeo(lon=hatch[0], lat=hatch[1], mode="lines", line={"color": HATCH_COLOUR, "width": 0.8},
                       name="schraffiert: teilweise/mehrfach zugeordnet", hoverinfo="skip")
    fig.add_scattergeo(lon=outline[0], lat=outline[1], mode="lines", line={"color": INK, "width": 1.6},
                       name="Grenze eines JobCenter-Bereichs", hoverinfo="skip")
    fig.update_geos(visible=False, fitbounds="locations", projection_type="mercator")
    fig.update_layout(height=height, dragmode=False, margin={"l": 0, "r": 0, "t": 80, "b": 46},
                      legend={"x": 0, "y": 0.02, "yanchor": "bottom", "bgcolor": "rgba(255,255,255,0.85)",
                              "itemclick": False, "itemdoubleclick": False})
    return fig


def value_traces(frame: pd.DataFrame, core_geojson: dict, labels: pd.DataFrame, zmax: float) -> list:
    """Return the traces that change with the origin group: area fill and area labels (placed so that none
    covers another, the highest shares first; see ``choropleth.placed``)."""
    drawn = frame[frame["key"].isin({f["id"] for f in core_geojson["features"]})]
    joint = drawn["jc_areas"].map(len) > 1
    filled, shared = drawn[~joint], drawn[joint]
    text = pd.Series(placed(labels, frame["key"], [label_choices(r) for r in frame.itertuples()], LABEL_SIZE,
                            frame["value"].to_numpy(dtype=float, na_value=np.nan)), index=frame["key"]).dropna()
    at = labels.set_index("key").loc[text.index]
    traces = [
        go.Choropleth(geojson=core_geojson, locations=filled["key"].tolist(), z=filled["value"].round(2).tolist(),
                      colorscale=SEQUENTIAL, zmin=0, zmax=zmax or 1,
                      marker={"line": {"color": "white", "width": 0.6}}, name="Anteil",
                      colorbar={"title": {"text": "%"}, "thickness": 12, "len": 0.5, "outlinewidth": 0},
                      customdata=[area_hover(r) for r in filled.itertuples()],
                      hovertemplate="%{customdata}<extra></extra>")]
    if len(shared):
        traces.append(go.Choropleth(
            geojson=core_geojson, locations=shared["key"].tolist(), z=[0] * len(shared), showscale=False,
            colorscale=[[0, JOINT_COLOUR], [1, JOINT_COLOUR]], marker={"line": {"color": "white", "width": 0.6}},
            name="gemeinsam veröffentlicht, nicht addiert", showlegend=True,
            customdata=[area_hover(r) for r in shared.itertuples()], hovertemplate="%{customdata}<extra></extra>"))
    return traces + [
        go.Scattergeo(lon=at["lon"].tolist(), lat=at["lat"].tolist(), mode="text", hoverinfo="skip",
                      text=text.tolist(), showlegend=False, name="Beschriftung",
                      textfont={"size": LABEL_SIZE, "color": "#000000", "shadow": "0 0 3px white, 0 0 3px white"}),
    ]


def area_bars(frame: pd.DataFrame, *, height: int = 420) -> go.Figure:
    """Return the chosen group's share per area, largest first, with the unassigned share stated."""
    shown = frame.sort_values("value")
    fig = go.Figure(go.Bar(
        x=shown["value"], y=[" + ".join(a) for a in shown["jc_areas"]], orientation="h",
        marker_color="#2c7fb8", text=[pct(v) for v in shown["value"]], textposition="outside", cliponaxis=False,
        hovertemplate="<b>%{y}</b><br>%{text}<extra></extra>"))
    fig.update_layout(height=height, showlegend=False,
                      xaxis={"title": "% dieser Herkunft", "gridcolor": "#eef1f4",
                             "range": [0, float(shown["value"].max()) * 1.2]},
                      yaxis={"automargin": True}, margin={"r": 30, "b": 90})
    return fig

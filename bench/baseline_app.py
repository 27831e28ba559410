"""The naive baseline: the same map page built the usual way.

Every callback returns a complete plotly figure carrying the full, unsimplified
boundary GeoJSON, as in the common ``px.choropleth(geojson=...)`` examples.
Run: python bench/baseline_app.py --port 8090
"""

from __future__ import annotations

import argparse
import json

import plotly.express as px
from dash import Dash, Input, Output, dcc, html

from essen_dash.geo.boundaries import FILES, find_raw_dir
from essen_dash.paths import settings
from essen_dash.tables.load import load_tables

TABLES = load_tables(settings().data_dir)
GEOJSON = json.loads((find_raw_dir(settings()) / FILES["bezirke"]).read_text(encoding="utf-8"))
BEZIRKE = TABLES.wide("bezirk").rename(columns={"area": "bezirk_id"})
INDICATORS = [k for k in TABLES["kennzahlen"]["key"] if k in BEZIRKE.columns]


def figure(indicator: str):
    fig = px.choropleth(BEZIRKE, geojson=GEOJSON, locations="bezirk_id", featureidkey="properties.STADTBEZR",
                        color=indicator, color_continuous_scale="YlGnBu")
    fig.update_geos(fitbounds="locations", visible=False)
    return fig


app = Dash(__name__, compress=True)
app.layout = html.Div([
    dcc.Dropdown(id="indicator", options=list(INDICATORS), value="origin12_pct", clearable=False),
    dcc.Graph(id="map", figure=figure("origin12_pct"),
              config={"topojsonURL": "/assets/topojson/"}),
])
server = app.server


@app.callback(Output("map", "figure"), Input("indicator", "value"))
def update(indicator):
    return figure(indicator if indicator in INDICATORS else "origin12_pct")


@server.route("/health")
def health():
    return {"status": "ok"}


@server.route("/assets/topojson/<name>")
def topojson(name):
    from flask import send_from_directory

    from essen_dash.export.render import TOPOJSON_URL

    return send_from_directory(TOPOJSON_URL.removeprefix("file://"), name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8090)
    app.run(port=parser.parse_args().port, debug=False)

"""Shown when the browser navigates to an unknown path inside the app (the server answers 404 itself)."""

import dash
from dash import dcc, html

from essen_dash.tables.schema import BEZIRK_IDS

dash.register_page(__name__, path="/404", name="Nicht gefunden", title="Nicht gefunden – Sozialdaten Essen")


def layout(**_):
    return html.Section(className="card not-found", children=[
        html.H1("Seite nicht gefunden"),
        html.P("Diese Seite gibt es im Dashboard nicht."),
        html.Ul([html.Li(dcc.Link(f"Stadtbezirk {b}", href=f"/bezirk/{b}")) for b in BEZIRK_IDS],
                className="bezirk-list"),
        dcc.Link("Zur Karte", href="/")])

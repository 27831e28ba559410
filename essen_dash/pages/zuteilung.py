"""Zuteilung: project housing for refugees per Bezirk against the Bezirk's share of the residents it serves."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, html

from essen_dash.components import card, chart_block, download_links, html_table
from essen_dash.data import AppData, current, memoized
from essen_dash.format import de_date
from essen_dash.frames import ALLOCATION
from essen_dash.params import Params, parse
from essen_dash.views import VIEWS, build

dash.register_page(__name__, path="/zuteilung", name="Zuteilung", title="Zuteilung – Sozialdaten Essen", order=3)

PAGE = "zuteilung"
BARS, SCATTER, TABLE = VIEWS["zuteilung-bars"], VIEWS["zuteilung-scatter"], VIEWS["zuteilung-table"]
PARAMS = ("bezirk", "stichtag")


def formula(data: AppData, p: Params) -> list[tuple[str, str]]:
    housing, count = (data.catalog(p.stichtag)[key] for key in ALLOCATION)
    return [
        ("Wohnungsanteil", f"{housing.label} – veröffentlichter Anteil des Bezirks"),
        ("Einwohneranteil", f"{count.label} des Bezirks / Summe aller Bezirke × 100 (aus den veröffentlichten "
                            "Zahlen berechnet)"),
        ("Verhältnis", f"Wohnungsanteil / Einwohneranteil; 1 = Projektwohnungen im selben Maß wie {count.short}, "
                       "über 1 = mehr Wohnungen, unter 1 = weniger"),
    ]


@memoized
def content(data: AppData, p: Params) -> list:
    """Return the page's charts and table (built once per bundle and selection: styling a figure for the screen
    costs more than everything else of a request)."""
    table = build(data, TABLE.key, p)
    return [
        html.Div(className="grid-2", children=[
            html.Div(chart_block(BARS, data, p, f"{PAGE}-bars"), className="card"),
            html.Div(chart_block(SCATTER, data, p, f"{PAGE}-scatter"), className="card"),
        ]),
        card("Werte" + (f" der ausgewählten Bezirke ({', '.join(p.bezirk)})" if p.bezirk else ""),
             html_table(table.table, f"{PAGE}-table"), download_links(TABLE, p)),
    ]


def layout(**params):
    data = current()
    p, _ = parse(params, data, PARAMS)
    return html.Div(className="page page-zuteilung", children=[
        html.H1("Zuteilung der Projektwohnungen für Flüchtlinge", className="page-title"),
        html.P(f"Stand {de_date(p.stichtag)} · Wie verteilt sich der Wohnraum im Verhältnis zu den Menschen, für die "
               "er gedacht ist?", className="lead"),
        card("Formel", html.Dl([i for t, d in formula(data, p) for i in (html.Dt(t), html.Dd(d))], className="meta")),
        html.Div(content(data, p), id=f"{PAGE}-content"),
    ])


@callback(Output(f"{PAGE}-content", "children"), Input("filter-bezirke", "value"), Input("filter-stichtag", "value"),
          prevent_initial_call=True)
def follow_filter(bezirke, stichtag):
    data = current()
    p, _ = parse({"bezirk": bezirke or (), "stichtag": stichtag}, data, PARAMS)
    return content(data, p)

"""Zuteilung: project housing for refugees per Bezirk against its share of the 12-country residents."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from essen_dash.components import GRAPH_CONFIG, card, download_links, selection, stichtag_of
from essen_dash.data import AppData, current
from essen_dash.figures.bars import allocation_bars, allocation_scatter
from essen_dash.format import de_date, de_number
from essen_dash.frames import allocation_frame

dash.register_page(__name__, path="/zuteilung", name="Zuteilung", title="Zuteilung – Sozialdaten Essen", order=3)

PAGE = "zuteilung"
FORMULA = [
    ("Wohnungsanteil", "project_housing_pct – veröffentlichter Anteil des Bezirks an allen Projektwohnungen"),
    ("Einwohneranteil", "origin12_count des Bezirks / Σ origin12_count aller Bezirke × 100 (aus den "
                        "veröffentlichten Zahlen berechnet)"),
    ("Verhältnis", "Wohnungsanteil / Einwohneranteil; 1 = Projektwohnungen im selben Maß wie Einwohner aus den "
                   "12 Herkunftsländern, über 1 = mehr Wohnungen, unter 1 = weniger"),
]


def table(frame, selected: set[str]) -> html.Table:
    shown = frame[frame["bezirk_id"].isin(selected)] if selected else frame
    body = [html.Tr([html.Td(r.name), html.Td(de_number(r.project_housing_pct, 1, "%"), className="num"),
                     html.Td(de_number(r.origin12_count, 0), className="num"),
                     html.Td(de_number(r.resident_share_pct, 1, "%"), className="num"),
                     html.Td(de_number(r.ratio, 2), className="num")]) for r in shown.itertuples()]
    head = html.Tr([html.Th("Bezirk"), html.Th("Wohnungsanteil", className="num"),
                    html.Th("Einwohner 12 Herkunftsländer", className="num"),
                    html.Th("Einwohneranteil", className="num"), html.Th("Verhältnis", className="num")])
    return html.Table([html.Thead(head), html.Tbody(body)], className="simple", id=f"{PAGE}-table")


def content(data: AppData, stichtag, selected: set[str]) -> list:
    frame = allocation_frame(data.tables, stichtag)
    source = data.source_line(stichtag, geometry=False)
    title = "Projektwohnungen und Einwohner aus den 12 Herkunftsländern"
    return [
        html.Div(className="grid-2", children=[
            html.Div([dcc.Graph(id=f"{PAGE}-bars", config=GRAPH_CONFIG, figure=allocation_bars(
                frame, selected=selected, title=f"{title} je Bezirk", source=source)),
                download_links(PAGE, "bars", bezirk=selected, stichtag=stichtag.isoformat())], className="card"),
            html.Div([dcc.Graph(id=f"{PAGE}-scatter", config=GRAPH_CONFIG, figure=allocation_scatter(
                frame, selected=selected, title="Wohnungsanteil gegen Einwohneranteil", source=source)),
                download_links(PAGE, "scatter", bezirk=selected, stichtag=stichtag.isoformat())],
                className="card"),
        ]),
        card("Werte" + (f" der ausgewählten Bezirke ({', '.join(sorted(selected))})" if selected else ""),
             table(frame, selected)),
    ]


def layout(**params):
    data = current()
    stichtag = stichtag_of(params.get("stichtag"), data)
    selected = selection(params.get("bezirk"))
    return html.Div(className="page page-zuteilung", children=[
        html.H1("Zuteilung der Projektwohnungen für Flüchtlinge", className="page-title"),
        html.P(f"Stand {de_date(stichtag)} · Wie verteilt sich der Wohnraum im Verhältnis zu den Menschen aus den "
               "12 wesentlichen Herkunftsländern?", className="lead"),
        card("Formel", html.Dl([i for t, d in FORMULA for i in (html.Dt(t), html.Dd(d))], className="meta")),
        html.Div(content(data, stichtag, selected), id=f"{PAGE}-content"),
    ])


@callback(Output(f"{PAGE}-content", "children"), Input("filter-bezirke", "value"), Input("filter-stichtag", "value"),
          prevent_initial_call=True)
def follow_filter(bezirke, stichtag_value):
    data = current()
    return content(data, stichtag_of(stichtag_value, data), selection(bezirke))

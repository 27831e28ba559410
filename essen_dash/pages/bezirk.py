"""Bezirksprofil: one Stadtbezirk against the city — for its Quartiermanager."""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from essen_dash.components import GRAPH_CONFIG, card, download_links, pack_links, selection, stichtag_of
from essen_dash.data import AppData, current
from essen_dash.figures.bars import profile
from essen_dash.figures.choropleth import NO_VALUE_LABEL, locator
from essen_dash.format import de_date, de_number
from essen_dash.frames import jobcenter_matrix, jobcenter_stichtag, overlapping_areas, profile_frame, stadtteil_frame
from essen_dash.indicators import INDICATORS
from essen_dash.state import query
from essen_dash.tables.schema import BEZIRK_IDS

dash.register_page(__name__, path_template="/bezirk/<bezirk_id>", name="Bezirksprofil",
                   title="Bezirksprofil – Sozialdaten Essen", order=1)

PAGE = "bezirk"


def not_found(bezirk_id: str) -> html.Div:
    return html.Section(className="card not-found", id=f"{PAGE}-not-found", children=[
        html.H1("Stadtbezirk nicht gefunden"),
        html.P(f"Einen Stadtbezirk „{str(bezirk_id)[:20]}“ gibt es nicht. Gültig sind:"),
        html.Ul([html.Li(dcc.Link(f"Stadtbezirk {b}", href=f"/bezirk/{b}")) for b in BEZIRK_IDS],
                className="bezirk-list")])


def stadtteile_table(data: AppData, bezirk_id: str, stichtag, jc_day) -> html.Table:
    frame = stadtteil_frame(data.tables, INDICATORS["origin12_pct"], stichtag)
    cw = data.tables["jobcenter_crosswalk"]
    cw = cw[cw["stichtag"] == jc_day]
    body = []
    for st in frame[frame["bezirk_id"] == bezirk_id].itertuples():
        areas = cw[cw["stadtteil_nr"] == int(st.key)]
        area_text = ", ".join(f"{a.jc_area}{' (teilweise)' if a.is_partial else ''}" for a in areas.itertuples())
        body.append(html.Tr([
            html.Td(st.key, className="num"), html.Td(st.name),
            html.Td(de_number(st.value, 1, "%") if pd.notna(st.value) else NO_VALUE_LABEL, className="num"),
            html.Td(area_text or "keinem Bereich zugeordnet")]))
    return html.Table([html.Thead(html.Tr([html.Th("Nr.", className="num"), html.Th("Stadtteil"),
                                           html.Th("12 Herkunftsländer", className="num"),
                                           html.Th("JobCenter-Bereich")])), html.Tbody(body)],
                      className="simple", id=f"{PAGE}-stadtteile")


def jobcenter_table(data: AppData, bezirk_id: str, jc_day) -> html.Div:
    areas = overlapping_areas(data.tables, jc_day, {bezirk_id})
    matrix = jobcenter_matrix(data.tables, jc_day).loc[areas]
    head = html.Tr([html.Th("Bereich")] + [html.Th(g, className="num") for g in matrix.columns])
    rows = [html.Tr([html.Td(a)] + [html.Td(de_number(v, 1, "%"), className="num") for v in matrix.loc[a]])
            for a in matrix.index]
    return html.Div([
        html.P("Anteil des Bereichs an allen SGB-II-Leistungsbeziehenden der jeweiligen Herkunft "
               f"(Stand {de_date(jc_day)}); Bereiche mit mindestens einem Stadtteil in diesem Bezirk.",
               className="hint"),
        html.Table([html.Thead(head), html.Tbody(rows)], className="simple", id=f"{PAGE}-jobcenter")])


def layout(bezirk_id: str = "", **params):
    if bezirk_id not in BEZIRK_IDS:
        return html.Div(not_found(bezirk_id), className="page")
    data = current()
    return html.Div(className="page page-bezirk", children=[
        dcc.Store(id=f"{PAGE}-id", data=bezirk_id),
        html.Div(content(data, bezirk_id, stichtag_of(params.get("stichtag"), data),
                         selection(params.get("bezirk"))), id=f"{PAGE}-content"),
    ])


@callback(Output(f"{PAGE}-content", "children"), Input("filter-bezirke", "value"),
          Input("filter-stichtag", "value"), State(f"{PAGE}-id", "data"), prevent_initial_call=True)
def follow_filter(bezirke, stichtag_value, bezirk_id):
    """Re-render the profile for another Stichtag or district selection."""
    data = current()
    if bezirk_id not in BEZIRK_IDS:
        return not_found(str(bezirk_id))
    return content(data, bezirk_id, stichtag_of(stichtag_value, data), selection(bezirke))


def content(data: AppData, bezirk_id: str, stichtag, chosen: set[str]) -> list:
    """Return the profile's sections (pure apart from reading ``data``)."""
    jc_day = jobcenter_stichtag(data.tables, stichtag)
    rows = profile_frame(data.tables, bezirk_id, stichtag)
    others = [b for b in (sorted(chosen, key=BEZIRK_IDS.index) if chosen else BEZIRK_IDS) if b != bezirk_id]
    kpis = html.Div(className="kpis", id=f"{PAGE}-kpis", children=[
        html.Div(className="kpi", children=[
            html.Div(r.label, className="kpi-label"), html.Div(r.value_text, className="kpi-value"),
            html.Div(f"Stadt: {r.city_text} · Rang {r.rank} von {len(BEZIRK_IDS)}", className="kpi-sub")])
        for r in rows.itertuples()])
    source = data.source_line(stichtag, geometry=False)
    chart = profile(rows[rows["key"] != "population_count"], title=f"Stadtbezirk {bezirk_id} im Vergleich zur Stadt",
                    source=source, height=380)
    small_map = (dcc.Graph(figure=locator("/geo/bezirk.geojson", [bezirk_id], list(BEZIRK_IDS)),
                           config={**GRAPH_CONFIG, "staticPlot": True}, id=f"{PAGE}-locator")
                 if data.boundaries is not None else html.P("Karte nicht verfügbar.", className="hint"))
    names = data.tables["stadtteile_register"]
    names = names[names["bezirk_id"] == bezirk_id]["stadtteil_name"].tolist()
    return [
        html.H1(f"Stadtbezirk {bezirk_id}", className="page-title", id=f"{PAGE}-title"),
        html.P(f"{len(names)} Stadtteile: {', '.join(names)} · Stand {de_date(stichtag)}", className="lead"),
        pack_links(sorted({bezirk_id} | chosen, key=BEZIRK_IDS.index), stichtag),
        html.Div(className="downloads", id=f"{PAGE}-others", children=[
            html.Span("Weitere Bezirke der Auswahl: " if chosen else "Andere Bezirke: ", className="hint")] + [
            dcc.Link(f"{b}", href=f"/bezirk/{b}{query(bezirk=sorted(chosen, key=BEZIRK_IDS.index))}",
                     className="btn") for b in others]),
        kpis,
        html.Div(className="grid-profile", children=[
            html.Div([dcc.Graph(figure=chart, config=GRAPH_CONFIG, id=f"{PAGE}-profile"),
                      download_links(PAGE, "profile", bezirk=bezirk_id, stichtag=stichtag.isoformat())],
                     className="card"),
            card("Lage in der Stadt", small_map),
        ]),
        html.Div(className="grid-2", children=[
            card("Stadtteile", stadtteile_table(data, bezirk_id, stichtag, jc_day),
                 html.P("Werte nur für die in der Quelle als besonders betroffen genannten Stadtteile.",
                        className="hint")),
            card("JobCenter-Bereiche in diesem Bezirk", jobcenter_table(data, bezirk_id, jc_day)),
        ]),
        card("Wie der Stadtwert gebildet wird", html.Dl(
            [item for r in rows.itertuples() for item in (html.Dt(r.label), html.Dd(r.city_formula))],
            className="meta")),
    ]

"""Bezirksprofil: one Stadtbezirk against the city — for its Quartiermanager."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import Input, Output, State, callback, dcc, html

from essen_dash.components import GRAPH_CONFIG, card, chart_block, download_links, html_table
from essen_dash.data import AppData, current, memoized
from essen_dash.figures.choropleth import locator
from essen_dash.format import de_date
from essen_dash.frames import profile_frame
from essen_dash.params import Params, as_query, parse, query
from essen_dash.tables.schema import BEZIRK_IDS
from essen_dash.views import VIEWS, build, screen_geo

dash.register_page(__name__, path_template="/bezirk/<bezirk_id>", name="Bezirksprofil",
                   title="Bezirksprofil – Sozialdaten Essen", order=1)

PAGE = "bezirk"
PROFILE, STADTTEILE, HEATMAP = VIEWS["bezirk-profile"], VIEWS["bezirk-stadtteile"], VIEWS["jobcenter-heatmap"]
SERIES = VIEWS["bezirk-series"]
#: what the profile reads from the shared filter (the comparison only for its pack)
PARAMS = ("bezirk", "stichtag", "compare")


def not_found(bezirk_id: str) -> html.Div:
    return html.Section(className="card not-found", id=f"{PAGE}-not-found", children=[
        html.H1("Stadtbezirk nicht gefunden"),
        html.P(f"Einen Stadtbezirk „{str(bezirk_id)[:20]}“ gibt es nicht. Gültig sind:"),
        html.Ul([html.Li(dcc.Link(f"Stadtbezirk {b}", href=f"/bezirk/{b}")) for b in BEZIRK_IDS],
                className="bezirk-list")])


def shown_bezirk(path_id: str, chosen: tuple[str, ...]) -> str:
    """Return the Bezirk the profile shows: the one in the address, unless the filter names others only."""
    return path_id if not chosen or path_id in chosen else chosen[0]


def layout(bezirk_id: str = "", **params):
    if bezirk_id not in BEZIRK_IDS:
        return html.Div(not_found(bezirk_id), className="page")
    data = current()
    p, _ = parse(params, data, PARAMS)
    return html.Div(className="page page-bezirk", children=[
        dcc.Store(id=f"{PAGE}-id", data=bezirk_id),
        html.Div(content(data, bezirk_id, p), id=f"{PAGE}-content"),
    ])


@callback(Output(f"{PAGE}-content", "children"), Input("filter-bezirke", "value"),
          Input("filter-stichtag", "value"), Input("filter-compare", "value"), State(f"{PAGE}-id", "data"),
          prevent_initial_call=True)
def follow_filter(bezirke, stichtag, compare, bezirk_id):
    """Re-render the profile for another Stichtag, district selection or comparison."""
    data = current()
    if bezirk_id not in BEZIRK_IDS:
        return not_found(str(bezirk_id))
    p, _ = parse({"bezirk": bezirke or (), "stichtag": stichtag, "compare": compare}, data, PARAMS)
    return content(data, bezirk_id, p)


def pack_links(bezirke: list[str], p: Params) -> html.Div:
    """Return the district pack downloads (PDF for print, PowerPoint, ZIP of 16:9 slides, all nine packs), each
    at the Stichtag shown and, comparing, with the Stichtag compared with."""
    dates = as_query(p, ("stichtag", "compare"))
    one = urlencode({"bezirk": ",".join(bezirke), **dates}, safe=",")
    return html.Div([
        html.A("Bezirkspaket (PDF)", href=f"/download/pack?{one}&format=pdf", className="btn", id="bezirk-pack-pdf"),
        html.A("PowerPoint", href=f"/download/pack?{one}&format=pptx", className="btn", id="bezirk-pack-pptx"),
        html.A("Folien (ZIP mit PNG)", href=f"/download/pack?{one}&format=zip", className="btn",
               id="bezirk-pack-zip"),
        html.A("Alle neun Bezirkspakete (ZIP)", href=f"/download/pack?{urlencode({'bezirk': 'alle', **dates})}",
               className="btn", id="bezirk-pack-alle"),
    ], className="downloads")


@memoized
def content(data: AppData, path_id: str, p: Params) -> list:
    """Return the profile's sections, each from its view (memoized per bundle)."""
    chosen = p.bezirk
    bezirk_id = shown_bezirk(path_id, chosen)
    one = Params(bezirk=(bezirk_id,), stichtag=p.stichtag)
    rows = profile_frame(data, bezirk_id, p.stichtag)
    others = [b for b in (chosen or BEZIRK_IDS) if b != bezirk_id]
    kpis = html.Div(className="kpis", id=f"{PAGE}-kpis", children=[
        html.Div(className="kpi", children=[
            html.Div(r.label, className="kpi-label"), html.Div(r.value_text, className="kpi-value"),
            html.Div(r.count_text, className="kpi-sub") if r.count_text else None,
            html.Div(f"Stadt: {r.city_text} · {r.rank_text}", className="kpi-sub"),
            html.Div(f"* {r.flag}", className="kpi-flag") if r.flag else None])
        for r in rows.itertuples()])
    small_map = (dcc.Graph(figure=locator(screen_geo("bezirk"), [bezirk_id], list(BEZIRK_IDS)),
                           config={**GRAPH_CONFIG, "staticPlot": True}, id=f"{PAGE}-locator")
                 if data.boundaries is not None else html.P("Karte nicht verfügbar.", className="hint"))
    names = data.tables["stadtteile_register"]
    names = names[names["bezirk_id"] == bezirk_id]["stadtteil_name"].tolist()
    stadtteile = build(data, STADTTEILE.key, one)
    return [
        html.H1(f"Stadtbezirk {bezirk_id}", className="page-title", id=f"{PAGE}-title"),
        html.P(f"{len(names)} Stadtteile: {', '.join(names)} · Stand {de_date(p.stichtag)}", className="lead"),
        pack_links(sorted({bezirk_id, *chosen}, key=BEZIRK_IDS.index), p),
        html.Div(className="downloads", id=f"{PAGE}-others", children=[
            html.Span("Weitere Bezirke der Auswahl: " if chosen else "Andere Bezirke: ", className="hint")] + [
            dcc.Link(f"{b}", href=f"/bezirk/{b}{query(bezirk=chosen)}", className="btn") for b in others]),
        kpis,
        html.Div(className="grid-profile", children=[
            html.Div(chart_block(PROFILE, data, one, f"{PAGE}-profile", 380),
                     className="card"),
            card("Lage in der Stadt", small_map),
        ]),
        *([html.Div(chart_block(SERIES, data, one, f"{PAGE}-series"), className="card")]
          if len(data.stichtage) > 1 else []),
        card("Stadtteile", html_table(stadtteile.table, f"{PAGE}-stadtteile"),
             html.P(stadtteile.subtitle, className="hint"), download_links(STADTTEILE, one)),
        html.Div(chart_block(HEATMAP, data, one, f"{PAGE}-jobcenter"), className="card"),
        card("Wie der Stadtwert gebildet wird", html.Dl(
            [item for r in rows.itertuples() for item in (html.Dt(r.label), html.Dd(r.city_formula))],
            className="meta")),
    ]

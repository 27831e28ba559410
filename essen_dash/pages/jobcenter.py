"""JobCenter: SGB II recipients by origin across JobCenter areas — area map, bars, heatmap."""

from __future__ import annotations

import dash
from dash import Input, Output, Patch, callback, ctx, dcc, html, no_update

from essen_dash.components import card, chart_block, kept_page, notices, sync_query
from essen_dash.data import AppData, current, memoized
from essen_dash.figures import jobcenter as jcfig
from essen_dash.format import de_date
from essen_dash.frames import UNASSIGNED, jobcenter_matrix
from essen_dash.params import Params, jobcenter_groups, parse
from essen_dash.views import VIEWS

dash.register_page(__name__, path="/jobcenter", name="JobCenter", title="JobCenter – Sozialdaten Essen", order=2)

PAGE = "jobcenter"
MAP, BARS, HEATMAP = VIEWS["jobcenter-map"], VIEWS["jobcenter-bars"], VIEWS["jobcenter-heatmap"]
PARAMS = ("gruppe", "bezirk", "stichtag")


def explain(matrix) -> str:
    """Return the page's one-sentence reading aid, with a real example from the data."""
    area, group = matrix.index[0], matrix.columns[0]
    return (f"Jede Spalte verteilt die SGB-II-Leistungsbeziehenden einer Herkunft auf die JobCenter-Bereiche "
            f"und ergibt zusammen 100 %: {jcfig.pct(matrix.loc[area, group])} bei {group} in „{area}“ heißt, dass "
            f"so viele aller Leistungsbeziehenden aus {group} vom Bereich {area} betreut werden.")


@kept_page(PARAMS)
def layout(data: AppData, p: Params, page_notices: tuple[str, ...]):
    jc_day = data.jobcenter_stichtag(p.stichtag)
    matrix = jobcenter_matrix(data.tables, jc_day)
    return html.Div(className="page page-jobcenter", children=[
        dcc.Store(id=f"{PAGE}-sync"),
        html.Div(notices(page_notices)),
        html.H1("SGB-II-Leistungsbeziehende nach Herkunft und JobCenter-Bereich", className="page-title"),
        html.P(f"Stand {de_date(jc_day)} · Quelle: {data.jobcenter_source(p.stichtag)}", className="lead"),
        html.P(explain(matrix), className="explain", id=f"{PAGE}-explain"),
        html.Div(className="controls", children=[html.Label([
            html.Span("Herkunft", className="filter-label"),
            dcc.RadioItems(id=f"{PAGE}-group", value=p.gruppe, inline=True, className="radio",
                           options=[{"label": g, "value": g} for g in jobcenter_groups(data, p)])],
            className="control wide")]),
        html.Div(className="grid-2", children=[
            html.Div(map_area(data, p), className="card map-card", id=f"{PAGE}-map-area"),
            html.Div([html.Div(chart_block(BARS, data, p, f"{PAGE}-bars"), className="card",
                               id=f"{PAGE}-bars-area"),
                      card("Zur Karte", html.Div(notes(data, p), id=f"{PAGE}-notes"))]),
        ]),
        html.Div(chart_block(HEATMAP, data, p, f"{PAGE}-heatmap"), className="card",
                 id=f"{PAGE}-heatmap-area"),
    ])


def warm(data: AppData) -> None:
    """Build the page's default views, the JobCenter areas dissolved and hatched (the first visitor then waits for
    nothing)."""
    page_outputs(data, parse({}, data, PARAMS)[0])


def map_area(data: AppData, p: Params):
    if data.boundaries is None:
        return html.Div("Karte nicht verfügbar: keine Grenzdateien gefunden.", className="notice notice-error",
                        id=f"{PAGE}-map-missing")
    return chart_block(MAP, data, p, f"{PAGE}-map")


def notes(data: AppData, p: Params) -> list:
    jc_day = data.jobcenter_stichtag(p.stichtag)
    matrix = jobcenter_matrix(data.tables, jc_day)
    unassigned = float(matrix.loc[UNASSIGNED, p.gruppe]) if UNASSIGNED in matrix.index else 0.0
    cw = data.tables["jobcenter_crosswalk"]
    named = set(cw[cw["stichtag"] == jc_day]["stadtteil_name"])
    missing = [n for n in data.tables["stadtteile_register"]["stadtteil_name"] if n not in named]
    areas = data.jobcenter_areas(jc_day)
    joint = [a for a in areas.itertuples() if len(a.jc_areas) > 1] if areas is not None else []
    items = [html.Li([html.B(f"{jcfig.pct(unassigned)} "), f"der Leistungsbeziehenden aus {p.gruppe} sind keinem "
                      "Bereich zugeordnet („nicht zugeordnet“)."])]
    for a in joint:
        items.append(html.Li(f"{' und '.join(a.jc_areas)} veröffentlicht die Quelle mit einer gemeinsamen "
                             "Stadtteilliste; die Karte zeigt beide Anteile, ohne sie zu addieren"
                             + (", die Liste endet in der Quelle mit „…“." if a.is_list_incomplete else ".")))
    items.append(html.Li("Schraffiert: Stadtteile, die nur teilweise oder von mehreren Bereichen genannt werden."))
    items.append(html.Li(f"Grau ohne Schraffur: {len(missing)} Stadtteile, die die Quelle nicht nennt "
                         f"(z. B. {', '.join(missing[:4])})."))
    return [html.Ul(items, className="notes")]


@memoized
def page_outputs(data: AppData, p: Params) -> tuple:
    """Return the three views and the notes for one origin group, selection and Stichtag (memoized per bundle)."""
    return (map_area(data, p), chart_block(BARS, data, p, f"{PAGE}-bars"),
            chart_block(HEATMAP, data, p, f"{PAGE}-heatmap"), notes(data, p))


#: what of the JobCenter map stays when only the origin group changes: the areas' shapes and where labels sit
GEOMETRY_KEYS = ("geojson", "locations", "lon", "lat")


@memoized
def group_patch(data: AppData, p: Params) -> Patch | None:
    """Return the map's update for another origin group at the same selection and Stichtag: every trace without
    its geometry (merged into the one in the browser), and heading, caption and links (memoized)."""
    block = map_area(data, p)
    if data.boundaries is None:
        return None
    heading_div, graph, _source, caption, links = block.children
    patch = Patch()
    for i, trace in enumerate(graph.figure["data"]):
        patch["props"]["children"][1]["props"]["figure"]["data"][i].update(
            {k: v for k, v in trace.items() if k not in GEOMETRY_KEYS})
    patch["props"]["children"][0] = heading_div
    patch["props"]["children"][3] = caption
    patch["props"]["children"][4] = links
    return patch


@callback(Output(f"{PAGE}-map-area", "children"), Output(f"{PAGE}-bars-area", "children"),
          Output(f"{PAGE}-heatmap-area", "children"), Output(f"{PAGE}-notes", "children"),
          Input(f"{PAGE}-group", "value"), Input("filter-bezirke", "value"), Input("filter-stichtag", "value"),
          prevent_initial_call=True)
def update(group, bezirke, stichtag):
    """Redraw the views for another origin group, district selection or Stichtag; for another group alone only
    values travel: the map keeps its areas, the heatmap (all groups) stays."""
    data = current()
    p, bad = parse({"gruppe": group, "bezirk": bezirke or (), "stichtag": stichtag}, data, PARAMS)
    if bad:
        return (no_update,) * 4
    map_block, bars, heatmap, notes_list = page_outputs(data, p)
    if {t.rsplit(".", 1)[0] for t in ctx.triggered_prop_ids} == {f"{PAGE}-group"}:
        patch = group_patch(data, p)
        return (patch if patch is not None else no_update), bars, no_update, notes_list
    return map_block, bars, heatmap, notes_list


sync_query(PAGE, ["gruppe"], Input(f"{PAGE}-group", "value"))

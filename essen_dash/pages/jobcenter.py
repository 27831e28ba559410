"""JobCenter: SGB II recipients by origin across JobCenter areas — heatmap, area map, bars."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, clientside_callback, dcc, html, no_update

from essen_dash.components import GRAPH_CONFIG, card, download_links, notices, selection, stichtag_of, sync_query_js
from essen_dash.data import AppData, current
from essen_dash.figures import jobcenter as jcfig
from essen_dash.format import de_date
from essen_dash.frames import (UNASSIGNED, jobcenter_area_frame, jobcenter_map_view, jobcenter_matrix,
                               jobcenter_stichtag, overlapping_areas)

dash.register_page(__name__, path="/jobcenter", name="JobCenter", title="JobCenter – Sozialdaten Essen", order=2)

PAGE = "jobcenter"


def explain(matrix) -> str:
    """Return the page's one-sentence reading aid, with a real example from the data."""
    area, group = matrix.index[0], matrix.columns[0]
    return (f"Jede Spalte verteilt die SGB-II-Leistungsbeziehenden einer Herkunft auf die JobCenter-Bereiche "
            f"und ergibt zusammen 100 %: {jcfig.pct(matrix.loc[area, group])} bei {group} in „{area}“ heißt, dass "
            f"so viele aller Leistungsbeziehenden aus {group} vom Bereich {area} betreut werden.")


def views(data: AppData, jc_day, group: str, bezirke: set[str]):
    matrix = jobcenter_matrix(data.tables, jc_day)
    keep = overlapping_areas(data.tables, jc_day, bezirke)
    rows = [a for a in matrix.index if a in keep or (not bezirke and a == UNASSIGNED)]
    areas = data.jobcenter_geo.get(jc_day)
    source = data.source_line(data.latest_for_jobcenter(jc_day), "jobcenter")
    return matrix, rows, areas, source


def map_figure(data: AppData, jc_day, group: str, bezirke: set[str], source: str):
    frame, parts = jobcenter_map_view(data.tables, data.jobcenter_geo[jc_day], data.boundaries.stadtteile, jc_day,
                                      group, bezirke)
    return jcfig.area_map(frame, parts["core"], parts["others"], parts["hatch"], parts["outline"], parts["labels"],
                          title=f"Leistungsbeziehende aus {group}: Anteil je JobCenter-Bereich",
                          source=source), frame


def layout(**params):
    data = current()
    day = stichtag_of(params.get("stichtag"), data)
    jc_day = jobcenter_stichtag(data.tables, day)
    matrix = jobcenter_matrix(data.tables, jc_day)
    groups = list(matrix.columns)
    group = params.get("gruppe") if params.get("gruppe") in groups else groups[0]
    bad = [] if params.get("gruppe") in (None, "", group) else [
        f"Die Herkunft „{str(params.get('gruppe'))[:40]}“ gibt es nicht; angezeigt wird {group}."]
    return html.Div(className="page page-jobcenter", children=[
        dcc.Store(id=f"{PAGE}-sync"),
        html.Div(notices(bad)),
        html.H1("SGB-II-Leistungsbeziehende nach Herkunft und JobCenter-Bereich", className="page-title"),
        html.P(f"Stand {de_date(jc_day)} · Quelle: Stadt Essen, "
               f"{data.document(day)['jobcenter_source']}", className="lead"),
        html.P(explain(matrix), className="explain", id=f"{PAGE}-explain"),
        html.Div(className="controls", children=[html.Label([
            html.Span("Herkunft", className="filter-label"),
            dcc.RadioItems(id=f"{PAGE}-group", value=group, inline=True, className="radio",
                           options=[{"label": g, "value": g} for g in groups])], className="control wide")]),
        html.Div(className="grid-2", children=[
            html.Div([html.Div(id=f"{PAGE}-map-area"), html.Div(id=f"{PAGE}-dl-map")], className="card map-card"),
            html.Div([html.Div([dcc.Graph(id=f"{PAGE}-bars", config=GRAPH_CONFIG), html.Div(id=f"{PAGE}-dl-bars")],
                               className="card"),
                      card("Zur Karte", html.Div(id=f"{PAGE}-notes"))]),
        ]),
        html.Div([dcc.Graph(id=f"{PAGE}-heatmap", config=GRAPH_CONFIG), html.Div(id=f"{PAGE}-dl-heatmap")],
                 className="card"),
    ])


def notes(data: AppData, jc_day, group: str, matrix, areas) -> list:
    unassigned = float(matrix.loc[UNASSIGNED, group]) if UNASSIGNED in matrix.index else 0.0
    cw = data.tables["jobcenter_crosswalk"]
    named = set(cw[cw["stichtag"] == jc_day]["stadtteil_name"])
    missing = [n for n in data.tables["stadtteile_register"]["stadtteil_name"] if n not in named]
    joint = [a for a in areas.itertuples() if len(a.jc_areas) > 1] if areas is not None else []
    items = [html.Li([html.B(f"{jcfig.pct(unassigned)} "), f"der Leistungsbeziehenden aus {group} sind keinem "
                      "Bereich zugeordnet („nicht zugeordnet“)."])]
    for a in joint:
        items.append(html.Li(f"{' und '.join(a.jc_areas)} veröffentlicht die Quelle mit einer gemeinsamen "
                             "Stadtteilliste; die Karte zeigt die Summe beider Anteile"
                             + (", die Liste endet in der Quelle mit „…“." if a.is_list_incomplete else ".")))
    items.append(html.Li("Schraffiert: Stadtteile, die nur teilweise oder von mehreren Bereichen genannt werden."))
    items.append(html.Li(f"Grau ohne Schraffur: {len(missing)} Stadtteile, die die Quelle keinem Bereich zuordnet "
                         f"(z. B. {', '.join(missing[:4])})."))
    return [html.Ul(items, className="notes")]


@callback(Output(f"{PAGE}-map-area", "children"), Output(f"{PAGE}-bars", "figure"),
          Output(f"{PAGE}-heatmap", "figure"), Output(f"{PAGE}-notes", "children"),
          Output(f"{PAGE}-dl-map", "children"), Output(f"{PAGE}-dl-bars", "children"),
          Output(f"{PAGE}-dl-heatmap", "children"),
          Input(f"{PAGE}-group", "value"), Input("filter-bezirke", "value"), Input("filter-stichtag", "value"))
def update(group, bezirke, stichtag_value):
    data = current()
    day = stichtag_of(stichtag_value, data)
    jc_day = jobcenter_stichtag(data.tables, day)
    selected = selection(bezirke)
    matrix, rows, areas, source = views(data, jc_day, group, selected)
    if group not in matrix.columns:
        return (no_update,) * 7
    shown = matrix.loc[rows]
    subtitle = (f"Bereiche mit Stadtteilen in Stadtbezirk {', '.join(sorted(selected))}" if selected else
                "alle Bereiche; jede Spalte ergibt 100 %")
    chart_source = data.source_line(data.latest_for_jobcenter(jc_day), "jobcenter", geometry=False)
    heat = jcfig.heatmap(shown, title="Verteilung nach Herkunft (Spalten) auf die JobCenter-Bereiche (Zeilen)",
                         subtitle=subtitle, source=chart_source, height=140 + 34 * len(shown))
    if areas is None:
        map_area = html.Div("Karte nicht verfügbar: keine Grenzdateien gefunden.", className="notice notice-error")
        frame = jobcenter_area_frame(data.tables, None, jc_day, group)
    else:
        fig, frame = map_figure(data, jc_day, group, selected, source)
        map_area = dcc.Graph(id=f"{PAGE}-map", figure=fig, config=GRAPH_CONFIG)
    unassigned = float(matrix.loc[UNASSIGNED, group]) if UNASSIGNED in matrix.index else 0.0
    bars = jcfig.area_bars(frame, unassigned, group, title=f"{group}: Anteil je Bereich", source=chart_source)
    links = [download_links(PAGE, chart, gruppe=group, bezirk=selected, stichtag=day.isoformat())
             for chart in ("map", "bars", "heatmap")]
    return map_area, bars, heat, notes(data, jc_day, group, matrix, areas), *links


clientside_callback(sync_query_js(["gruppe"]), Output(f"{PAGE}-sync", "data"), Input(f"{PAGE}-group", "value"))

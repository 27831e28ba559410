"""Karte: the map explorer (start page) with the linked ranking and the indicator's metadata."""

from __future__ import annotations

import dash
from dash import Input, Output, Patch, State, callback, clientside_callback, dcc, html, no_update

from essen_dash.classify import DEFAULT_SCHEME, SCHEMES
from essen_dash.components import GRAPH_CONFIG, card, download_links, notices, selection, stichtag_of, sync_query_js
from essen_dash.data import AppData, current
from essen_dash.figures.bars import ranking
from essen_dash.figures.choropleth import assign, choropleth, classes_for, value_layout, value_traces
from essen_dash.format import de_date
from essen_dash.frames import LEVELS, view_frame
from essen_dash.indicators import INDICATORS
from essen_dash.state import SHELL_PARAMS, parse_view, query
from essen_dash.tables.schema import BEZIRK_IDS

dash.register_page(__name__, path="/", name="Karte", title="Karte – Sozialdaten Essen", order=0)

PAGE = "karte"


def geojson_url(level: str) -> str:
    return f"/geo/{level}.geojson"


def build(data: AppData, indicator_key: str, scheme: str, level: str, bezirke: set[str], stichtag):
    """Return the frame for the level, its classes, the source line and the ranking (memoized per view)."""
    def compute():
        indicator = INDICATORS[indicator_key]
        frame = view_frame(data.tables, indicator, level, stichtag)
        bz_frame = frame if level == "bezirk" else view_frame(data.tables, indicator, "bezirk", stichtag)
        bar = ranking(bz_frame, indicator, classes_for(bz_frame, indicator, scheme).colours, selected=bezirke,
                      title=f"Rangfolge der Stadtbezirke: {indicator.short}", height=380)
        return frame, classes_for(frame, indicator, scheme), data.source_line(stichtag), bar

    return data.memo(("karte", indicator_key, scheme, level, tuple(sorted(bezirke)), stichtag), compute)


def switch_outputs(data: AppData, indicator_key: str, scheme: str, level: str, selected: set[str], stichtag):
    """Return what an indicator switch sends: value traces, titles, ranking, metadata, links (memoized)."""
    def compute():
        frame, classes, source, bar = build(data, indicator_key, scheme, level, selected, stichtag)
        indicator = INDICATORS[indicator_key]
        traces = [t.to_plotly_json() for t in value_traces(frame, indicator, scheme, geojson_url(level), selected,
                                                            data.boundaries.label_points[level], level)]
        return (traces, value_layout(indicator, scheme, LEVELS[level], de_date(stichtag)), bar.to_plotly_json(),
                metadata(data, indicator_key, scheme, level, stichtag, frame),
                map_links(indicator_key, scheme, level, selected, stichtag),
                ranking_links(indicator_key, scheme, selected, stichtag))

    return data.memo(("karte-switch", indicator_key, scheme, level, tuple(sorted(selected)), stichtag), compute)


def warm(data: AppData) -> None:
    """Build the views people open first (every indicator, default scheme, both levels) before serving."""
    if data.boundaries is None:
        return
    for key in INDICATORS:
        for level in LEVELS:
            switch_outputs(data, key, DEFAULT_SCHEME, level, set(), data.latest)


def metadata(data: AppData, indicator_key: str, scheme: str, level: str, stichtag, frame) -> list:
    indicator = INDICATORS[indicator_key]
    city = float(frame["city_value"].iloc[0])
    doc = data.document(stichtag)
    rows = [
        ("Definition", indicator.definition),
        ("Formel", indicator.formula),
        ("Wert der Gesamtstadt", f"{indicator.format(city)} – {indicator.city_formula}"),
        ("Klassifizierung", f"{SCHEMES[scheme].label}: {SCHEMES[scheme].description}"),
        ("Quelle", f"Stadt Essen, {doc['bezirke_source']}, in Ratsvorlage {doc['document_id']} "
                   f"(Abschnitt {doc['bezirke_section']})"),
        ("Stichtag", de_date(stichtag)),
    ]
    if level == "stadtteil":
        shown = int(frame["value"].notna().sum())
        rows.append(("Stadtteile", f"Veröffentlicht sind Werte für {shown} von {len(frame)} Stadtteilen "
                                   "(besonders betroffene Stadtteile); alle übrigen erscheinen grau als "
                                   "„kein Wert veröffentlicht“."))
    return [html.Dl([item for term, text in rows for item in (html.Dt(term), html.Dd(text))], className="meta")]


def layout(indicator=None, scheme=None, level=None, **params):
    data = current()
    view, bad = parse_view({"indicator": indicator, "scheme": scheme, "level": level, **params}, data.stichtage)
    page_notices = [text for name, text in bad.items() if name not in SHELL_PARAMS]
    frame, classes, source, bar = build(data, view.indicator, view.scheme, view.level, set(view.bezirk), view.stichtag)
    indicator_obj = INDICATORS[view.indicator]
    if data.boundaries is not None:
        figure = choropleth(frame, indicator_obj, view.scheme, geojson_url(view.level), level=view.level,
                            level_label=LEVELS[view.level], stichtag_text=de_date(view.stichtag), source=source,
                            selected=set(view.bezirk), labels=data.boundaries.label_points[view.level])
        map_area = dcc.Graph(id=f"{PAGE}-map", figure=figure, config=GRAPH_CONFIG,
                             className="map-graph")
    else:
        map_area = html.Div([html.P("Die Karte kann nicht gezeigt werden, weil keine Grenzdateien gefunden wurden."),
                             html.P(data.geometry_problem)], id=f"{PAGE}-map-missing", className="notice notice-error")
    return html.Div(className="page page-karte", children=[
        html.Div(notices(page_notices), id=f"{PAGE}-notices"),
        dcc.Store(id=f"{PAGE}-sync"),
        html.Div(className="controls", children=[
            html.Label([html.Span("Indikator", className="filter-label"), dcc.Dropdown(
                id=f"{PAGE}-indicator", clearable=False, value=view.indicator,
                options=[{"label": i.label, "value": k} for k, i in INDICATORS.items()])], className="control wide"),
            html.Label([html.Span("Ebene", className="filter-label"), dcc.RadioItems(
                id=f"{PAGE}-level", value=view.level, inline=True, className="radio",
                options=[{"label": v, "value": k} for k, v in LEVELS.items()])], className="control"),
            html.Label([html.Span("Klassifizierung", className="filter-label"), dcc.Dropdown(
                id=f"{PAGE}-scheme", clearable=False, value=view.scheme,
                options=[{"label": s.label, "value": k} for k, s in SCHEMES.items()])], className="control"),
        ]),
        html.Div(className="grid-map", children=[
            html.Div([map_area, html.Div(map_links(view.indicator, view.scheme, view.level, set(view.bezirk),
                                                   view.stichtag), id=f"{PAGE}-dl-map")], className="card map-card"),
            html.Div(className="side", children=[
                card("Über diesen Indikator", html.Div(metadata(data, view.indicator, view.scheme, view.level,
                                                                view.stichtag, frame), id=f"{PAGE}-meta")),
                html.Div([dcc.Graph(id=f"{PAGE}-ranking", figure=bar, config=GRAPH_CONFIG),
                          html.Div(ranking_links(view.indicator, view.scheme, set(view.bezirk), view.stichtag),
                                   id=f"{PAGE}-dl-ranking")], className="card"),
                html.P("Klick auf einen Balken wählt den Bezirk im Filter aus; Klick auf die Karte öffnet sein Profil.",
                       className="hint"),
            ]),
        ]),
    ])


def map_links(indicator, scheme, level, bezirke, stichtag):
    return download_links(PAGE, "map", indicator=indicator, scheme=scheme, level=level, bezirk=bezirke,
                          stichtag=stichtag.isoformat())


def ranking_links(indicator, scheme, bezirke, stichtag):
    return download_links(PAGE, "ranking", indicator=indicator, scheme=scheme, bezirk=bezirke,
                          stichtag=stichtag.isoformat())


@callback(Output(f"{PAGE}-map", "figure"), Output(f"{PAGE}-ranking", "figure"), Output(f"{PAGE}-meta", "children"),
          Output(f"{PAGE}-dl-map", "children"), Output(f"{PAGE}-dl-ranking", "children"),
          Input(f"{PAGE}-indicator", "value"), Input(f"{PAGE}-scheme", "value"), Input(f"{PAGE}-level", "value"),
          Input("filter-bezirke", "value"), Input("filter-stichtag", "value"), prevent_initial_call=True)
def update(indicator_key, scheme, level, bezirke, stichtag_value):
    """Send only what changed: value traces and titles (the boundaries stay in the browser).

    Not called on page load: the layout already holds the view the URL asked for.
    """
    data = current()
    if indicator_key not in INDICATORS or scheme not in SCHEMES or level not in LEVELS or data.boundaries is None:
        return no_update, no_update, no_update, no_update, no_update
    traces, layout_updates, bar, meta, map_dl, ranking_dl = switch_outputs(
        data, indicator_key, scheme, level, selection(bezirke), stichtag_of(stichtag_value, data))
    patch = Patch()
    patch["data"] = traces
    assign(patch["layout"], layout_updates)
    return patch, bar, meta, map_dl, ranking_dl


def clicked_bezirk(click, index: int) -> str | None:
    """Return the valid Bezirk id at ``customdata[index]`` of a click, or None for anything else."""
    try:
        value = click["points"][0]["customdata"][index]
    except (TypeError, KeyError, IndexError):
        return None
    return value if value in BEZIRK_IDS else None


@callback(Output("url", "href", allow_duplicate=True), Input(f"{PAGE}-map", "clickData"),
          State("filter-bezirke", "value"), prevent_initial_call=True)
def open_profile(click, bezirke):
    """Open the clicked Bezirk's profile (a Stadtteil opens its Bezirk's)."""
    bezirk_id = clicked_bezirk(click, 5)
    return f"/bezirk/{bezirk_id}{query(bezirk=selection(bezirke))}" if bezirk_id else no_update


@callback(Output("filter-bezirke", "value", allow_duplicate=True), Input(f"{PAGE}-ranking", "clickData"),
          State("filter-bezirke", "value"), prevent_initial_call=True)
def toggle_from_ranking(click, bezirke):
    """Clicking a bar adds its Bezirk to the filter, or removes it."""
    bezirk_id = clicked_bezirk(click, 1)
    if not bezirk_id:
        return no_update
    chosen = list(bezirke or [])
    return [b for b in chosen if b != bezirk_id] if bezirk_id in chosen else chosen + [bezirk_id]


clientside_callback(sync_query_js(["indicator", "scheme", "level"]), Output(f"{PAGE}-sync", "data"),
                    Input(f"{PAGE}-indicator", "value"), Input(f"{PAGE}-scheme", "value"),
                    Input(f"{PAGE}-level", "value"))

"""Karte: the map explorer (start page) with the linked ranking and the Kennzahl's metadata."""

from __future__ import annotations

import json

import dash
from dash import ALL, Input, Output, Patch, State, callback, clientside_callback, ctx, dcc, html, no_update

from essen_dash.classify import SCHEMES
from essen_dash.components import (card, chart_block, download_links, heading, html_table, kept_page, notices,
                                   sync_query)
from essen_dash.data import AppData, current, memoized
from essen_dash.figures.choropleth import SWITCHED, VALUES, switched
from essen_dash.format import de_date, de_number
from essen_dash.frames import LEVELS, change_of, kennzahl_frame, level_areas
from essen_dash.params import Params, parse, query
from essen_dash.tables.schema import BEZIRK_IDS
from essen_dash.views import VIEWS, build, screen

dash.register_page(__name__, path="/", name="Karte", title="Karte – Sozialdaten Essen", order=0)

PAGE = "karte"
MAP, RANKING, TABLE = VIEWS["karte-map"], VIEWS["karte-ranking"], VIEWS["karte-table"]
PARAMS = ("indicator", "scheme", "level", "bezirk", "stichtag", "compare")
RANKING_HEIGHT = 380


def metadata(data: AppData, p: Params) -> list:
    catalog = data.catalog(p.stichtag)
    k = catalog[p.indicator]
    frame = kennzahl_frame(data, k.key, p.level, p.stichtag)
    city = frame["city_value"].iloc[0]
    rows = [
        ("Definition", k.definition),
        ("Herkunft", catalog.formula_text(k)),
        ("Wert der Gesamtstadt", (f"{k.format(city)} – " if k.has_reference else "") + catalog.reference_text(k)),
        ("Klassifizierung", f"{SCHEMES[p.scheme].label}: {SCHEMES[p.scheme].description}"),
        ("Quelle", data.source_detail(p.stichtag)),
        ("Stichtag", de_date(p.stichtag)),
    ]
    if p.compare is not None:
        rows.append(("Vergleich", f"Veränderung vom {de_date(p.compare)} zum {de_date(p.stichtag)} in "
                                  f"{change_of(k).words}; Gebiete ohne Wert an einem der beiden Tage: kein "
                                  "Vergleich möglich (nie 0)."))
    if p.level == "stadtteil":
        shown = int(frame["value"].notna().sum())
        rows.append(("Stadtteile", f"Veröffentlicht sind Werte für {shown} von {len(frame)} Stadtteilen; alle "
                                   "übrigen erscheinen grau als „kein Wert veröffentlicht“."))
    return [html.Dl([item for term, text in rows for item in (html.Dt(term), html.Dd(text))], className="meta")]


@memoized
def switch_outputs(data: AppData, p: Params):
    """Return what a switch sends (memoized): the map's traces — whole, for another level, and as sent when the
    level stays (values only, see ``choropleth.switched``) — and legend, the ranking, metadata, captions, links."""
    map_chart, ranking_chart = build(data, MAP.key, p), build(data, RANKING.key, p)
    fig = screen(data, MAP.key, p)
    ranking = screen(data, RANKING.key, p, RANKING_HEIGHT)
    return ((fig["data"], switched(fig["data"])), fig["layout"]["legend"], ranking, metadata(data, p),
            download_links(MAP, p), download_links(RANKING, p), map_chart.caption, ranking_chart.caption,
            heading(map_chart), heading(ranking_chart), table_block(data, p))


#: the most rows the Karte's table shows on screen: every Stadtteil, but not thousands of small areas, which would
#: make each switch send a page of text (the map and its tooltips show every area)
TABLE_ROWS = 60


def table_block(data: AppData, p: Params) -> list:
    """Return the Karte's table (heading, table, downloads): the same figures as the map, readable as text."""
    chart = build(data, TABLE.key, p)
    rows = chart.table
    more = [html.P(f"Die Tabelle zeigt die ersten {TABLE_ROWS} von {de_number(len(rows), 0)} Gebieten (amtliche "
                   "Reihenfolge); alle Werte zeigt die Karte beim Überfahren.", className="hint",
                   id=f"{PAGE}-table-more")] if len(rows) > TABLE_ROWS else []
    return [html.H2(chart.title, className="chart-title"), html.P(chart.subtitle, className="hint"),
            html_table(rows.head(TABLE_ROWS), f"{PAGE}-table"), *more,
            download_links(TABLE, p)]


#: how many Kennzahlen (in catalog order) are built before serving: start-up stays short however long the catalog
WARM_KENNZAHLEN = 12


def warm(data: AppData) -> None:
    """Build the views people open first (the first Kennzahlen, default scheme, both levels), and the first one in
    every other scheme: a scheme's library (mapclassify with SciPy, a second and a half) is then loaded before a
    person's first switch to it, which would otherwise hold that worker."""
    if data.boundaries is None:
        return
    keys = list(data.catalog(data.latest))
    for key in keys[:WARM_KENNZAHLEN]:
        for level in LEVELS:
            switch_outputs(data, Params(indicator=key, level=level, stichtag=data.latest))
    for scheme in SCHEMES:
        switch_outputs(data, Params(indicator=keys[0], scheme=scheme, stichtag=data.latest))


def stichtag_query(data: AppData, p: Params):
    """Return the Stichtag for links, only when the data hold more than one."""
    return p.stichtag if len(data.stichtage) > 1 else None


PLAY_INTERVAL_MS = 1500
#: the timeline's slider and player clock, matched by pattern (the Stichtag filter lives on every page)
TIMELINE, TICK = {"type": "timeline", "page": PAGE}, {"type": "timeline-tick", "page": PAGE}


def every(component: dict) -> dict:
    return {**component, "page": ALL}


def timeline(data: AppData, p: Params) -> html.Div:
    """Return the timeline: a slider over the Stichtage and a play button (hidden with one Stichtag; the filter
    bar says why). Stepping sends only values, like any switch; the boundaries stay in the browser."""
    days = data.stichtage
    return html.Div(className="timeline", id=f"{PAGE}-timeline-area", hidden=len(days) < 2, children=[
        html.Button("Abspielen", id=f"{PAGE}-play", className="btn", n_clicks=0,
                    title="Die Karte durchläuft alle Stichtage"),
        html.Label([html.Span("Zeitleiste der Stichtage", className="filter-label visually-hidden"), dcc.Slider(
            id=TIMELINE, min=0, max=max(len(days) - 1, 1), step=1, value=days.index(p.stichtag),
            marks={i: de_date(d) for i, d in enumerate(days)}, included=False,
            allow_direct_input=False)],
            className="timeline-slider", **{"data-marks": json.dumps({i: de_date(d) for i, d in enumerate(days)})}),
        dcc.Interval(id=TICK, interval=PLAY_INTERVAL_MS, disabled=True),
    ])


def card_area(children: list) -> html.Div:
    return html.Div(children, className="card", id=f"{PAGE}-table-area")


@kept_page(PARAMS)
def layout(data: AppData, p: Params, page_notices: tuple[str, ...]):
    catalog = data.catalog(p.stichtag)
    if data.boundaries is not None:
        map_area = chart_block(MAP, data, p, f"{PAGE}-map")
    else:
        map_area = html.Div([html.P("Die Karte kann nicht gezeigt werden, weil keine Grenzdateien gefunden wurden."),
                             html.P(data.geometry_problem)], id=f"{PAGE}-map-missing", className="notice notice-error")
    return html.Div(className="page page-karte", children=[
        html.H1("Karte der Kennzahlen", className="page-title visually-hidden"),
        html.Div(notices(page_notices), id=f"{PAGE}-notices"),
        dcc.Store(id=f"{PAGE}-sync"),
        dcc.Store(id=f"{PAGE}-map-switch"),
        html.Div(className="controls", children=[
            html.Label([html.Span("Kennzahl", className="filter-label"), dcc.Dropdown(
                id=f"{PAGE}-indicator", clearable=False, value=p.indicator,
                options=[{"label": k.label, "value": k.key} for k in catalog.values()])], className="control wide"),
            html.Label([html.Span("Ebene", className="filter-label"), dcc.RadioItems(
                id=f"{PAGE}-level", value=p.level, inline=True, className="radio",
                options=[{"label": v, "value": k} for k, v in LEVELS.items()])], className="control"),
            html.Label([html.Span("Klassifizierung", className="filter-label"), dcc.Dropdown(
                id=f"{PAGE}-scheme", clearable=False, value=p.scheme,
                options=[{"label": s.label, "value": k} for k, s in SCHEMES.items()])], className="control"),
        ]),
        timeline(data, p),
        html.Div(className="grid-map", children=[
            html.Div([map_area], className="card map-card"),
            html.Div(className="side", children=[
                card("Über diese Kennzahl", html.Div(metadata(data, p), id=f"{PAGE}-meta")),
                html.Div(chart_block(RANKING, data, p, f"{PAGE}-ranking", RANKING_HEIGHT),
                         className="card"),
                card_area(table_block(data, p)),
                html.Nav([html.Span("Bezirksprofil öffnen: ", className="hint")] + [
                    dcc.Link([html.Span("Stadtbezirk ", className="visually-hidden"), b],
                             href=f"/bezirk/{b}{query(bezirk=p.bezirk, stichtag=stichtag_query(data, p))}",
                             className="btn btn-small", title=f"Profil von Stadtbezirk {b}")
                    for b in BEZIRK_IDS], className="downloads", id=f"{PAGE}-profiles",
                    **{"aria-label": "Bezirksprofile"}),
                html.P("Klick auf einen Balken wählt den Bezirk im Filter aus (wie das Feld „Stadtbezirke“); Klick auf "
                       "die Karte öffnet sein Profil (wie die Knöpfe darüber).", className="hint"),
            ]),
        ]),
    ])


@callback(Output(f"{PAGE}-map-switch", "data"), Output(f"{PAGE}-ranking", "figure"),
          Output(f"{PAGE}-meta", "children"), Output(f"{PAGE}-map-dl", "children"),
          Output(f"{PAGE}-ranking-dl", "children"), Output(f"{PAGE}-map-caption", "children"),
          Output(f"{PAGE}-ranking-caption", "children"),
          Output(f"{PAGE}-map-heading", "children"), Output(f"{PAGE}-ranking-heading", "children"),
          Output(f"{PAGE}-table-area", "children"),
          Input(f"{PAGE}-indicator", "value"), Input(f"{PAGE}-scheme", "value"), Input(f"{PAGE}-level", "value"),
          Input("filter-bezirke", "value"), Input("filter-stichtag", "value"), Input("filter-compare", "value"),
          prevent_initial_call=True)
def update(indicator, scheme, level, bezirke, stichtag, compare):
    """Send only what changed: value traces and titles (the boundaries stay in the browser); the map's part goes
    through the browser's ``essenDrawn.mapSwitch`` (below).

    Not called on page load: the layout already holds the view the URL asked for.
    """
    data = current()
    p, bad = parse({"indicator": indicator, "scheme": scheme, "level": level, "bezirk": bezirke or (),
                    "stichtag": stichtag, "compare": compare}, data, PARAMS)
    if bad or data.boundaries is None:
        return (no_update,) * 10
    (whole, values), legend, ranking, meta, map_dl, ranking_dl, *texts = switch_outputs(data, p)
    return map_patch(whole, values, legend, f"{PAGE}-level" in triggered_ids()), ranking, meta, map_dl, ranking_dl, \
        *texts


def triggered_ids() -> set[str]:
    return {prop.rsplit(".", 1)[0] for prop in ctx.triggered_prop_ids}


def map_patch(whole: list[dict], values: list[dict], legend: dict, new_level: bool) -> dict:
    """Return the map's update as patch operations: for another level every trace (other areas), else the values
    only — the areas' geometry, locations and names stay in the browser (the two area traces are merged, the
    others replaced); the browser unpacks the values it merges and adds their ranks (``essenDrawn.mapSwitch``)."""
    patch = Patch()
    if new_level:
        patch["data"] = whole
    else:
        for i, trace in enumerate(values):
            if i in SWITCHED:
                patch["data"][i].update(trace)
            else:
                patch["data"][i] = trace
    patch["layout"]["legend"] = legend
    return {"operations": patch.to_plotly_json()["operations"], "ranked": VALUES}


# The map takes a switch's patch with its values unpacked and ranked in the browser (assets/drawn.js).
clientside_callback("function(sent) { return window.essenDrawn.mapSwitch(sent); }",
                    Output(f"{PAGE}-map", "figure"), Input(f"{PAGE}-map-switch", "data"), prevent_initial_call=True)


def clicked_bezirk(click) -> str | None:
    """Return the valid Bezirk id a click names in its ``bezirk_id`` field, or None for anything else."""
    try:
        value = click["points"][0]["customdata"]["bezirk_id"]
    except (TypeError, KeyError, IndexError):
        return None
    return value if value in BEZIRK_IDS else None


def clicked_area_bezirk(data: AppData, click) -> str | None:
    """Return the Bezirk of the map area a click names by its ``location`` (a Bezirk id or a Stadtteil number),
    or None for anything else."""
    try:
        location = click["points"][0]["location"]
    except (TypeError, KeyError, IndexError):
        return None
    if not isinstance(location, str):
        return None
    if location in BEZIRK_IDS:
        return location
    return bezirk_of_stadtteil(data).get(location)


@memoized
def bezirk_of_stadtteil(data: AppData) -> dict[str, str]:
    areas = level_areas(data.tables, "stadtteil")
    return dict(zip(areas["key"], areas["bezirk_id"]))


@callback(Output("url", "href", allow_duplicate=True), Input(f"{PAGE}-map", "clickData"),
          State("filter-bezirke", "value"), prevent_initial_call=True)
def open_profile(click, bezirke):
    """Open the clicked Bezirk's profile (a Stadtteil opens its Bezirk's)."""
    bezirk_id = clicked_area_bezirk(current(), click)
    return f"/bezirk/{bezirk_id}{query(bezirk=bezirke if isinstance(bezirke, list) else [])}" if bezirk_id \
        else no_update


@callback(Output("filter-bezirke", "value", allow_duplicate=True), Input(f"{PAGE}-ranking", "clickData"),
          State("filter-bezirke", "value"), prevent_initial_call=True)
def toggle_from_ranking(click, bezirke):
    """Clicking a bar adds its Bezirk to the filter, or removes it."""
    bezirk_id = clicked_bezirk(click)
    if not bezirk_id:
        return no_update
    chosen = [b for b in (bezirke if isinstance(bezirke, list) else []) if b in BEZIRK_IDS]
    return [b for b in chosen if b != bezirk_id] if bezirk_id in chosen else chosen + [bezirk_id]


sync_query(PAGE, ["indicator", "scheme", "level"], Input(f"{PAGE}-indicator", "value"),
           Input(f"{PAGE}-scheme", "value"), Input(f"{PAGE}-level", "value"))


@callback(Output("filter-stichtag", "value", allow_duplicate=True), Output(every(TIMELINE), "value"),
          Input(every(TIMELINE), "value"), Input(every(TICK), "n_intervals"), Input("filter-stichtag", "value"),
          prevent_initial_call=True)
def step(indexes, _ticks, stichtag):
    """Keep the timeline and the Stichtag filter together: moving one moves the other; a tick of the player
    steps to the next Stichtag (from the last back to the first).

    The timeline is matched by pattern: on other pages there is none (empty lists), and the filter alone
    changes nothing here.
    """
    days = [d.isoformat() for d in current().stichtage]
    if not indexes:
        return no_update, []
    index = indexes[0]
    kind = ctx.triggered_id.get("type") if isinstance(ctx.triggered_id, dict) else ctx.triggered_id
    if kind == "filter-stichtag":
        moved = days.index(stichtag) if stichtag in days and days.index(stichtag) != index else None
        return no_update, [no_update if moved is None else moved]
    if kind == TICK["type"]:
        index = ((index or 0) + 1) % len(days)
        return days[index], [index]
    valid = isinstance(index, int) and 0 <= index < len(days) and days[index] != stichtag
    return (days[index] if valid else no_update), [no_update]  # the same Stichtag again would redraw everything


@callback(Output(TICK, "disabled"), Output(f"{PAGE}-play", "children"), Input(f"{PAGE}-play", "n_clicks"),
          prevent_initial_call=True)
def play(clicks):
    """The play button starts and stops the timeline."""
    playing = bool(clicks % 2)
    return not playing, "Anhalten" if playing else "Abspielen"

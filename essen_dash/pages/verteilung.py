"""Verteilung: the Verteilungsrechner — a budget or posts split across the Bezirke by a stated key.

The computation, its figures and views live in :mod:`essen_dash.verteilung`; this page reads the setting from
the URL, shows the views and writes every change back into the address bar.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from essen_dash import verteilung as vt
from essen_dash.components import card, chart_block, download_links, kept_page, notices, sync_query
from essen_dash.data import AppData, current, memoized
from essen_dash.export.render import offload
from essen_dash.format import de_date, de_number
from essen_dash.params import SHELL_PARAMS, Params, as_query, key_kennzahlen, parse, plain_number
from essen_dash.views import build

dash.register_page(__name__, path="/verteilung", name="Verteilung", title="Verteilung – Sozialdaten Essen", order=4)

PAGE = "verteilung"
PARAMS = (*vt.SETTING_NAMES, "bezirk", "stichtag")
WEIGHT = f"{PAGE}-weight"
PRESET = f"{PAGE}-preset"
NUMERIC = re.compile(r"^[+\-−]?\d")


# --- pieces of the page --------------------------------------------------------------------------------------

def table(frame, table_id: str) -> html.Div:
    """Return display strings as an HTML table; columns of figures (blank cells aside) align right, and a table
    wider than the screen scrolls within its box (``.table-scroll``, as ``components.html_table``)."""
    cells = frame.astype(str)
    numeric = {c for c in cells.columns[1:] if cells[c].map(lambda v: v == "" or bool(NUMERIC.match(v))).all()}
    head = html.Tr([html.Th(c, className="num" if c in numeric else None, scope="col") for c in cells.columns])
    body = [html.Tr([html.Th(row[0], scope="row")] +
                    [html.Td(v, className="num" if c in numeric else None) for c, v in zip(cells.columns[1:], row[1:])])
            for row in cells.itertuples(index=False)]
    return html.Div(html.Table([html.Thead(head), html.Tbody(body)], className="simple", id=table_id),
                    className="table-scroll")


def method(data: AppData, r: vt.Result) -> html.Dl:
    housing_sum = float(r.frame["housing_pct"].sum())
    rows = [("Gesamtmenge", f"{r.total_text} – {vt.total_source(r.p).removeprefix('Gesamtmenge: ')}"),
            ("Schlüssel", r.key_text),
            ("Anteile", " ".join([vt.share_rule(r), *[f"{note}." for note in vt.key_notes(r)]])),
            ("Rundung", r.unit.rule()),
            ("Mindestwert", vt.minimum_text(r)),
            *([("Gleicher Rest", vt.tie_text(r))] if r.tied else []),
            ("Vergleich", "Anteil an den Projektwohnungen (veröffentlicht) minus Schlüsselanteil, in Prozentpunkten; "
                          "bis ±0,05 Prozentpunkte liegt die Abweichung in der Rundung des veröffentlichten Anteils "
                          f"(die veröffentlichten Anteile ergeben zusammen {de_number(housing_sum, 1, '%')})."),
            ("Quelle", f"{data.source_line(r.p.stichtag, geometry=False)}; Geometrie: Stadt Essen")]
    return html.Dl([item for term, text in rows for item in (html.Dt(term), html.Dd(text))], className="meta",
                   id=f"{PAGE}-method")


def results(data: AppData, p: Params) -> list:
    """Return everything that follows the setting: sentence, map, ranking, comparison, table and rules.

    The settings most visitors see — a preset's total (the default among them) with the default key and no
    minimum — are kept once built; of the settings typed, only the last few (their results are large, 40–50 KB).
    """
    default = Params()
    if p.key == default.key and p.min == default.min and vt.preset_for(p.unit, p.total) is not None:
        return common_results(data, p)
    return typed_results(data, p)


@memoized
def common_results(data: AppData, p: Params) -> list:
    return build_results(data, p)


#: typed settings kept: the same setting comes again when a person goes back, or colleagues try the same key
TYPED_KEPT = 32


@memoized(size=TYPED_KEPT)
def typed_results(data: AppData, p: Params) -> list:
    return build_results(data, p)


def build_results(data: AppData, p: Params) -> list:
    if not p.key:
        return [html.P("Für diesen Stichtag hat keine Anzahl-Kennzahl Werte für alle neun Bezirke; ein Schlüssel "
                       "lässt sich nicht bilden.", className="notice notice-error")]
    r = vt.compute(data, p)
    if data.boundaries is not None:
        map_area = chart_block(vt.MAP, data, p, f"{PAGE}-map")
    else:
        map_area = html.Div([html.P("Die Karte kann nicht gezeigt werden, weil keine Grenzdateien gefunden wurden."),
                             html.P(data.geometry_problem)], id=f"{PAGE}-map-missing", className="notice notice-error")
    return [
        html.P(vt.explanation(r), id=f"{PAGE}-explain", className="explain"),
        html.Div(map_area, className="card map-card"),
        html.Div(chart_block(vt.RANKING, data, p, f"{PAGE}-ranking"), className="card"),
        card("Ergebnis je Bezirk", table(vt.result_table(r), f"{PAGE}-table"), download_links(vt.TABLE, p)),
        card("Vergleich mit der Zuteilung der Projektwohnungen",
             chart_block(vt.COMPARISON, data, p, f"{PAGE}-comparison"),
             table(vt.comparison_table(r), f"{PAGE}-comparison-table")),
        card("Schlüssel, Rundung und Quellen", method(data, r)),
    ]


def weight_sum_text(weights: list) -> str:
    """Return the sum of the weights typed so far, and what is wrong with it."""
    total = sum(numbers(weights))
    if not math.isfinite(total) or abs(total) > 1e6:
        return "Summe der Gewichte: nicht lesbar – die Gewichte müssen zusammen 100 % ergeben."
    text = f"Summe der Gewichte: {de_number(total, 0 if total == int(total) else 2)} %"
    return text if abs(total - 100) < 1e-9 else f"{text} – die Gewichte müssen zusammen 100 % ergeben."


def numbers(values: list) -> list[float]:
    """Return the weights typed so far as numbers (what cannot be read counts as 0 until it can)."""
    out = []
    for v in values:
        try:
            out.append(float(text(v) or 0))
        except ValueError:
            out.append(0.0)
    return [v if math.isfinite(v) else 0.0 for v in out]


#: numbers are typed as text (decimal comma or point): a number field would bring English stepper buttons
NUMBER_INPUT = {"type": "text", "inputMode": "decimal", "debounce": True, "autoComplete": "off",
                "className": "number-input"}


def shown_number(value: int | float) -> str:
    """Return a number as a German field shows it: ``35``, ``1000000,5`` (no thousands dots to misread)."""
    return str(value).replace(".", ",")


def weight_field(label: str, name: str, weight: str) -> html.Div:
    """Return the labelled weight field of one Kennzahl (the % sign beside it, outside the label)."""
    field = dcc.Input(id={"type": WEIGHT, "key": name}, value=shown_number(plain_number(Decimal(weight))),
                      **NUMBER_INPUT)
    return html.Div([html.Label([html.Span(label, className="weight-label"), field], className="weight-field"),
                     html.Span("%", className="weight-unit", **{"aria-hidden": "true"})], className="weight")


def setting_controls(data: AppData, p: Params) -> list:
    weights = dict(part.split(":") for part in p.key)
    catalog = data.catalog(p.stichtag)
    presets = html.Ul([html.Li([
        html.Button(f"{vt.UNITS[q.unit].format(q.total, whole=True)}: {q.label}", type="button", n_clicks=0,
                    id={"type": PRESET, "index": q.key}, className="btn btn-small"),
        html.Span(f"Quelle: {q.source}", className="preset-source")]) for q in vt.PRESETS],
        className="presets", id=f"{PAGE}-presets")
    what = card("Was wird verteilt?", html.Div(className="setting-fields", children=[
        html.Fieldset([html.Legend("Einheit", className="filter-label"), dcc.RadioItems(
            id=f"{PAGE}-unit", value=p.unit, inline=True, className="radio",
            options=[{"label": u.label, "value": u.key} for u in vt.UNITS.values()])], className="control"),
        html.Label([html.Span("Gesamtmenge", className="filter-label"), dcc.Input(
            id=f"{PAGE}-total", value=shown_number(p.total), required=True, **NUMBER_INPUT)], className="control"),
        html.Label([html.Span("Mindestens je Bezirk (optional)", className="filter-label"), dcc.Input(
            id=f"{PAGE}-min", value=shown_number(p.min), **NUMBER_INPUT)], className="control"),
    ]), html.H3("Vorlagen aus den Gründungsdokumenten", className="subhead"), presets)
    key = card("Schlüssel", html.P("Gewichte in Prozent auf Kennzahlen der Art Anzahl; ein Bezirk erhält seinen "
                                   "Anteil an der jeweiligen Anzahl der Gesamtstadt, gewichtet und summiert.",
                                   className="hint"),
               html.Div([weight_field(catalog[name].label, name, weights.get(name, "0"))
                         for name in key_kennzahlen(data, p.stichtag)], className="weights"),
               html.P(weight_sum_text(list(weights.values())), id=f"{PAGE}-weight-sum", className="weight-sum",
                      role="status"))
    return [what, key]


def settings_store(p: Params) -> dict:
    return as_query(p, vt.SETTING_NAMES)


@kept_page(PARAMS)
def layout(data: AppData, p: Params, page_notices: tuple[str, ...]):
    return html.Div(className="page page-verteilung", children=[
        html.H1("Verteilungsrechner", className="page-title"),
        html.P(f"Stand {de_date(p.stichtag)} · Wie ließe sich ein Budget oder eine Zahl von Stellen nach einem "
               "offen gelegten Schlüssel auf die neun Stadtbezirke verteilen – und wie verhält sich das zur "
               "Verteilung der Projektwohnungen?", className="lead"),
        html.Div(notices(page_notices), id=f"{PAGE}-notices"),
        dcc.Store(id=f"{PAGE}-query", data=settings_store(p)),
        dcc.Store(id=f"{PAGE}-sync"),
        dcc.Download(id=f"{PAGE}-download"),
        html.Div(setting_controls(data, p), className="grid-2 setting"),
        html.Div(results(data, p), id=f"{PAGE}-results"),
        card("Herunterladen", html.P("Das Ergebnis mit Schlüssel, Rundungsregel und Quellen als Tabelle; die "
                                     "Diagramme oben haben ihre eigenen PNG-, SVG- und PDF-Links.", className="hint"),
             html.Div(html.Button("Ergebnis als XLSX", id=f"{PAGE}-xlsx", type="button", n_clicks=0, className="btn"),
                      className="downloads")),
    ])


def warm(data: AppData) -> None:
    """Build the default split's views before serving (the first visitor then waits for nothing)."""
    p, _ = parse({}, data, PARAMS)
    if not p.key:  # no count has a value for every Bezirk at the latest Stichtag: the page says so instead
        return
    for view in (vt.MAP, vt.RANKING, vt.COMPARISON, vt.TABLE):
        if data.boundaries is not None or not view.needs_geometry:
            build(data, view.key, p)


# --- callbacks -----------------------------------------------------------------------------------------------

def text(value) -> str:
    """Return a control's value as the text a URL would carry (anything odd becomes text the parser refuses);
    a typed decimal comma becomes the URL's point."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return "ungültig"
    raw = repr(value) if isinstance(value, float) else str(value).strip()
    return raw.replace(",", ".") if raw.count(",") == 1 and "." not in raw else raw


def key_from(weights, ids) -> str:
    """Return ``kennzahl:weight,…`` from the weight inputs (empty and zero inputs left out)."""
    parts = []
    for value, wid in zip(weights if isinstance(weights, list) else [], ids if isinstance(ids, list) else []):
        name = wid.get("key") if isinstance(wid, dict) else None
        if isinstance(name, str) and text(value) not in ("", "0", "0.0"):
            parts.append(f"{name}:{text(value)}")
    return ",".join(parts)


@callback(Output(f"{PAGE}-results", "children"), Output(f"{PAGE}-notices", "children"),
          Output(f"{PAGE}-weight-sum", "children"), Output(f"{PAGE}-query", "data"),
          Input(f"{PAGE}-unit", "value"), Input(f"{PAGE}-total", "value"), Input(f"{PAGE}-min", "value"),
          Input({"type": WEIGHT, "key": ALL}, "value"), Input("filter-bezirke", "value"),
          Input("filter-stichtag", "value"), State({"type": WEIGHT, "key": ALL}, "id"), prevent_initial_call=True)
def update(unit, total, minimum, weights, bezirke, stichtag, weight_ids):
    """Split anew when a setting changes; unusable settings give a notice and their default.

    Not called on page load: the layout already holds the split the URL asked for.
    """
    data = current()
    chosen = [b for b in bezirke if isinstance(b, str)] if isinstance(bezirke, list) else []
    p, bad = parse({"unit": text(unit), "total": text(total), "min": text(minimum),
                    "key": key_from(weights, weight_ids), "bezirk": chosen, "stichtag": text(stichtag)}, data, PARAMS)
    page_notices = [t for name, t in bad.items() if name not in SHELL_PARAMS]
    # the shared filters never make or mend a notice about this page's settings: a notice from the URL stays
    # when the shell sets the Stichtag or the Bezirke after the page is drawn
    shell_only = ctx.triggered_id in ("filter-bezirke", "filter-stichtag")
    return (results(data, p), no_update if shell_only else notices(page_notices),
            weight_sum_text(weights if isinstance(weights, list) else []), settings_store(p))


@callback(Output(f"{PAGE}-unit", "value"), Output(f"{PAGE}-total", "value"), Output(f"{PAGE}-min", "value"),
          Input({"type": PRESET, "index": ALL}, "n_clicks"), State(f"{PAGE}-unit", "value"),
          State(f"{PAGE}-min", "value"), prevent_initial_call=True)
def choose_preset(clicks, unit, minimum):
    """Take unit and total of a preset; a minimum in another unit no longer applies."""
    trigger = ctx.triggered_id
    preset = vt.PRESETS_BY_KEY.get(trigger.get("index")) if isinstance(trigger, dict) else None
    if preset is None or not any(isinstance(c, int) and c > 0 for c in (clicks if isinstance(clicks, list) else [])):
        return no_update, no_update, no_update
    return preset.unit, preset.total, (minimum if preset.unit == unit else 0)


@callback(Output(f"{PAGE}-download", "data"), Input(f"{PAGE}-xlsx", "n_clicks"), State(f"{PAGE}-query", "data"),
          State("filter-stichtag", "value"), prevent_initial_call=True)
def download_xlsx(clicks, query, stichtag):
    """Send the split shown (its setting is in the query store) as a workbook."""
    if not clicks:
        return no_update
    data = current()
    raw = {k: v for k, v in query.items() if k in vt.SETTING_NAMES and isinstance(v, str)} \
        if isinstance(query, dict) else {}
    p, _ = parse({**raw, "stichtag": text(stichtag)}, data, PARAMS)
    if not p.key:
        return no_update
    return dcc.send_bytes(offload(vt.xlsx_bytes, data, p), vt.xlsx_filename(p))  # not in the worker's loop


# Write the setting shown into the address bar (shareable); the shell keeps bezirk and stichtag there.
sync_query(PAGE, list(vt.SETTING_NAMES), Input(f"{PAGE}-query", "data"))

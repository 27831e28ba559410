"""Daten & Quellen: every table (sortable, filterable, downloadable), the quality report, sources and licences."""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, State, callback, dash_table, dcc, html

from essen_dash.components import card, sync_query
from essen_dash.data import AppData, current, memoized
from essen_dash.datasets import DATASETS, column_info, dataset_frame, iso_dates
from essen_dash.datasets_export import contract_csv, german_csv, workbook
from essen_dash.export.render import offload
from essen_dash.format import de_date
from essen_dash.geo.boundaries import OFFICIAL_SOURCE
from essen_dash.params import parse


dash.register_page(__name__, path="/daten", name="Daten & Quellen", title="Daten & Quellen – Sozialdaten Essen",
                   order=4)

PAGE = "daten"
DEFAULT_VIEW = "bezirke"


def narrowed(data: AppData, name: str, bezirke) -> pd.DataFrame:
    """Return the table, limited to the chosen Bezirke where it has a Bezirk column."""
    df = dataset_frame(data, name)
    if bezirke and "bezirk_id" in df.columns:
        df = df[df["bezirk_id"].isin(bezirke)]
    return df


def columns(data: AppData, name: str, df: pd.DataFrame) -> list[dict]:
    out = []
    for col, info in column_info(data, name, df).items():
        numeric = info.type in ("integer", "number")
        column = {"name": [info.title, col], "id": col, "type": "numeric" if numeric else "text"}
        if numeric:
            column["format"] = {"locale": {"decimal": ",", "group": "."},
                                "specifier": ",d" if info.type == "integer" else ",.1f"}
        out.append(column)
    return out


@memoized
def table_area(data: AppData, name: str, bezirke: tuple[str, ...]) -> dash_table.DataTable:
    """Return the table shown for a dataset and Bezirk selection (built once per bundle: every visitor of the page
    asks for the same few)."""
    return data_table(data, name, narrowed(data, name, bezirke))


def data_table(data: AppData, name: str, df: pd.DataFrame) -> dash_table.DataTable:
    df = iso_dates(df)
    return dash_table.DataTable(
        id=f"{PAGE}-table", data=df.to_dict("records"), columns=columns(data, name, df), sort_action="native",
        filter_action="native", page_size=25, merge_duplicate_headers=True, style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px 8px", "textAlign": "left"},
        style_header={"fontWeight": 600, "backgroundColor": "#f4f6f8", "whiteSpace": "normal"},
        style_data_conditional=[{"if": {"filter_query": "{ergebnis} = Abweichung"}, "backgroundColor": "#fdecec"}],
        filter_options={"placeholder_text": "filtern …", "case": "insensitive"})


def quality_section(data: AppData) -> html.Div:
    bad = [f for f in data.quality if f.is_discrepancy]
    items = [html.Li([html.B(f"{f.check}, {f.subject}: "),
                      f"veröffentlicht {str(f.published).replace('.', ',')} {f.unit}, nachgerechnet "
                      f"{f.recomputed_text()} {f.unit} ", html.Span(f"({f.formula})", className="hint")])
             for f in bad]
    return html.Div([
        html.P(f"{len(data.quality)} veröffentlichte Werte wurden aus den veröffentlichten Zahlen nachgerechnet; "
               f"{len(bad)} weichen über die Rundung hinaus ab. Die Daten bleiben wie veröffentlicht.",
               id=f"{PAGE}-quality-summary"),
        html.Ul(items, id=f"{PAGE}-quality-list"),
        html.P("Die vollständige Prüfliste steht in der Tabelle „Datenqualität“ oben.", className="hint")])


def sources_section(data: AppData) -> html.Div:
    docs = data.tables["documents"]
    rows = [html.Li(f"Ratsvorlage {d.document_id} „{d.title}“ ({d.publisher}, {de_date(d.document_date)}): "
                    f"Abschnitt {d.bezirke_section} – Stadt Essen, {d.bezirke_source}, Stand "
                    f"{de_date(d.bezirke_stichtag)}; Abschnitt {d.jobcenter_section} – Stadt Essen, "
                    f"{d.jobcenter_source}, Stand {de_date(d.jobcenter_stichtag)}.") for d in docs.itertuples()]
    geo = ([html.Li("Grenzen der Stadtbezirke und Stadtteile: Stadt Essen (Amt für Geoinformation, Vermessung und "
                    "Kataster / Amt für Statistik), Datenlizenz Deutschland – Namensnennung 2.0 (dl-de/by-2-0). "
                    "Namensnennung: „Stadt Essen“."),
            html.Li(["Aufbereitung der Geometrie: ", html.Ul([html.Li(n) for n in data.boundaries.notes])])]
           if data.boundaries is not None else [html.Li(f"Grenzdateien nicht gefunden. {OFFICIAL_SOURCE}")])
    return html.Div([html.Ul(rows + geo, id=f"{PAGE}-sources"),
                     html.P("Die Zahlen werden mit Quellenangabe aus der öffentlichen Ratsvorlage übernommen. "
                            "Stadtteile ohne veröffentlichten Wert bleiben leer (nie 0).", className="hint")])


def layout(tabelle=None, **params):
    data = current()
    name = tabelle if tabelle in DATASETS else DEFAULT_VIEW
    chosen = parse(params, data, ("bezirk",))[0].bezirk
    return html.Div(className="page page-daten", children=[
        dcc.Store(id=f"{PAGE}-sync"),
        html.H1("Daten & Quellen", className="page-title"),
        html.P("Alle Tabellen wie veröffentlicht, mit ihren Quellen. Sortieren und Filtern in den Spaltenköpfen.",
               className="lead"),
        card("Tabellen", html.Div(className="controls", children=[
            html.Label([html.Span("Tabelle", className="filter-label"), dcc.Dropdown(
                id=f"{PAGE}-choice", clearable=False, value=name,
                options=[{"label": v.title, "value": k} for k, v in DATASETS.items()])], className="control wide"),
            html.Div(className="downloads", children=[
                html.Button("CSV für Excel", id=f"{PAGE}-csv", className="btn",
                            title="Semikolon, Dezimalkomma, deutsche Spaltennamen"),
                html.Button("CSV (Datenvertrag)", id=f"{PAGE}-csv-contract", className="btn",
                            title="Komma, Dezimalpunkt, Spaltenschlüssel wie in data/"),
                html.Button("Excel-Arbeitsmappe", id=f"{PAGE}-xlsx", className="btn",
                            title="alle Tabellen als Blätter, dazu ein Blatt „Quellen“")]),
        ]), html.Div(table_area(data, name, chosen), id=f"{PAGE}-table-area"),
            dcc.Download(id=f"{PAGE}-download")),
        card("Datenqualität", quality_section(data)),
        card("Quellen und Lizenzen", sources_section(data)),
    ])


sync_query(PAGE, ["tabelle"], Input(f"{PAGE}-choice", "value"))


@callback(Output(f"{PAGE}-table-area", "children"), Input(f"{PAGE}-choice", "value"), Input("filter-bezirke", "value"),
          prevent_initial_call=True)
def show(name, bezirke):
    """Show another table or Bezirk selection. Not called on page load: the layout holds the table asked for."""
    name = name if name in DATASETS else DEFAULT_VIEW
    data = current()
    return table_area(data, name, parse({"bezirk": bezirke or ()}, data, ("bezirk",))[0].bezirk)


@callback(Output(f"{PAGE}-download", "data"), Input(f"{PAGE}-csv", "n_clicks"),
          Input(f"{PAGE}-csv-contract", "n_clicks"), Input(f"{PAGE}-xlsx", "n_clicks"),
          State(f"{PAGE}-choice", "value"), State("filter-bezirke", "value"), prevent_initial_call=True)
def download(_csv, _contract, _xlsx, name, bezirke):
    """Send the chosen table as CSV for German Excel or of the data contract, or every table as a workbook."""
    name = name if name in DATASETS else DEFAULT_VIEW
    data = current()
    chosen = parse({"bezirk": bezirke or ()}, data, ("bezirk",))[0].bezirk
    return offload(download_of, data, dash.ctx.triggered_id, name, chosen)  # the workbook: not in the worker's loop


@memoized
def download_of(data: AppData, trigger: str, name: str, chosen: tuple[str, ...]) -> dict:
    """Return a download of the Daten page (memoized per bundle: the workbook of every table takes a while)."""
    suffix = f"_{'-'.join(chosen)}" if chosen else ""
    if trigger == f"{PAGE}-xlsx":
        frames = {n: narrowed(data, n, chosen) for n in DATASETS}
        return dcc.send_bytes(workbook(data, frames), f"essen-tabellen{suffix}.xlsx")
    df = narrowed(data, name, chosen)
    if trigger == f"{PAGE}-csv-contract":
        return dcc.send_bytes(contract_csv(name, df), f"essen-{name}{suffix}.csv")
    return dcc.send_bytes(german_csv(data, name, df), f"essen-{name}{suffix}_excel.csv")

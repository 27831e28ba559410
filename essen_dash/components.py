"""Small pieces every page uses: cards, notices, download links, URL syncing."""

from __future__ import annotations

import functools
import json
from urllib.parse import urlencode

from dash import MATCH, Input, Output, State, clientside_callback, dcc, html

from essen_dash.data import AppData, current, memoized
from essen_dash.params import SHELL_PARAMS, Params, as_query, parse
from essen_dash.views import Chart, View, build, screen


#: German texts of the plotly toolbar and its messages (plotly registers them per graph, offline)
GERMAN = {
    "Autoscale": "Automatisch skalieren", "Download plot": "Diagramm herunterladen",
    "Download plot as a PNG": "Als PNG herunterladen", "Image download succeeded": "Bild heruntergeladen",
    "Pan": "Verschieben", "Preparing image - this may take a few seconds": "Bild wird erstellt …",
    "Reset": "Zurücksetzen", "Reset axes": "Achsen zurücksetzen", "Reset view": "Ansicht zurücksetzen",
    "Reset views": "Ansichten zurücksetzen", "Show closest data on hover": "Nächsten Wert zeigen",
    "Compare data on hover": "Werte vergleichen", "Toggle Spike Lines": "Hilfslinien ein/aus",
    "Toggle show closest data on hover": "Nächsten Wert zeigen ein/aus", "Zoom": "Zoomen", "Zoom in": "Vergrößern",
    "Zoom out": "Verkleinern",
    "Sorry, there was a problem downloading your image!": "Das Bild konnte nicht heruntergeladen werden.",
}
#: plotly config for every graph: German toolbar, no logo, nothing that sends a chart to an outside service,
#: base-map data from our own assets.
GRAPH_CONFIG = {"displaylogo": False, "scrollZoom": False, "topojsonURL": "/assets/topojson/", "responsive": True,
                "showSendToCloud": False, "showEditInChartStudio": False, "showLink": False,
                "locale": "de-essen", "locales": {"de-essen": {"dictionary": GERMAN}},
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "sendChartToCloud",
                                           "sendDataToCloud", "editInChartStudio"]}


def card(title: str, *children, class_name: str = "") -> html.Section:
    return html.Section([html.H2(title, className="card-title"), *children], className=f"card {class_name}".strip())


def notices(texts) -> list[html.Div]:
    return [html.Div(t, className="notice notice-warning", role="status") for t in texts]


def download_links(view: View, p: Params) -> html.Div:
    """Return PNG/SVG/PDF links that export this view as it is shown (the same file as the CLI writes)."""
    from essen_dash.export.render import FORMATS

    values = {"page": view.page, "chart": view.chart, **as_query(p, (*view.params, "stichtag"))}
    links = [html.A([html.Span(f"{view.label} als ", className="visually-hidden"), fmt.key.upper()],
                    title=f"{view.label} als {fmt.label}", className="btn btn-small",
                    id=f"{view.page}-dl-{view.chart}-{fmt.key}",
                    href="/download/chart?" + urlencode({**values, "format": fmt.key}, safe=","))
             for fmt in FORMATS.values()]
    caption = html.Button("mit Satz", id=f"{view.page}-dl-{view.chart}-caption", className="btn btn-small caption-toggle",
                          title="den beschreibenden Satz unter die Grafik drucken", **{"aria-pressed": "false"})
    return html.Div([html.Span("Herunterladen:", className="hint")] + links + [caption], className="downloads")


def sync_query(page: str, names: list[str], *inputs: Input) -> None:
    """Write these controls' values into the address bar, and remember them for the navigation link to `page`.

    `inputs` are the controls, in the order of `names`; a single input holding a dict of them also works.
    """
    clientside_callback(
        f"""
        function(...args) {{
            const memory = args.pop();
            const names = {json.dumps(names)};
            const values = (args.length === 1 && args[0] && typeof args[0] === 'object' && !Array.isArray(args[0]))
                ? names.map(n => args[0][n]) : args;
            return window.essenQuery.sync({json.dumps(page)}, names, values, memory);
        }}""",
        Output(f"{page}-sync", "data"), Output("page-memory", "data", allow_duplicate=True),
        *inputs, State("page-memory", "data"), prevent_initial_call="initial_duplicate")


def html_table(table, table_id: str) -> html.Div:
    """Return a view's table (display strings, German headers) as an HTML table with the id ``table_id``; figures
    align right, and a table wider than the screen scrolls within its box. The page sends its cells
    (``table_cells``) and the browser draws the table from them (``essenDrawn.table`` in assets/drawn.js): as
    components, every cell would carry its markup through each switch, four times the bytes of its text."""
    return html.Div([dcc.Store(id={"type": "table-cells", "table": table_id}, data=table_cells(table, table_id)),
                     html.Div(id={"type": "table", "table": table_id})], className="table-scroll")


def table_cells(table, table_id: str) -> dict:
    """Return what the browser draws a table from: its id, headers, the columns holding figures and the rows."""
    cells = table.astype(str)
    return {"id": table_id, "columns": list(cells.columns), "rows": cells.to_numpy().tolist(),
            "numeric": [i for i, c in enumerate(cells.columns) if i and cells[c].str.match(r"\d").all()]}


clientside_callback("function(cells) { return window.essenDrawn.table(cells); }",
                    Output({"type": "table", "table": MATCH}, "children"),
                    Input({"type": "table-cells", "table": MATCH}, "data"))


def heading(chart: Chart) -> list:
    """Return a chart's title and subtitle lines as HTML (they wrap on narrow screens)."""
    return [html.H2(chart.title, className="chart-title")] + [
        html.P(line, className="chart-subtitle") for line in chart.subtitle.split("<br>") if line]


def chart_block(view: View, data: AppData, p: Params, graph_id: str, height: int | None = None) -> html.Figure:
    """Return a view of the bundle on screen: heading, graph, source line, its German caption (the chart's
    accessible description) and download links; a callback that redraws it updates ``{graph_id}-heading``,
    ``-caption`` and ``-dl`` too (see ``chart_parts``)."""
    chart = build(data, view.key, p)
    return html.Figure([
        html.Div(heading(chart), id=f"{graph_id}-heading"),
        dcc.Graph(id=graph_id, figure=screen(data, view.key, p, height), config=GRAPH_CONFIG),
        html.P(chart.source, className="chart-source"),
        html.Figcaption(chart.caption, id=f"{graph_id}-caption", className="caption"),
        html.Div(download_links(view, p), id=f"{graph_id}-dl"),
    ], className="chart", **{"aria-labelledby": f"{graph_id}-heading"})


#: layouts kept per page and bundle (parameters and notices): each holds its views, the JobCenter page 150 KB
PAGES_KEPT = 16


def kept_page(names: tuple[str, ...]):
    """Make ``build(data, p, page_notices)`` a page's ``layout(**params)``: the URL's parameters ``names`` parsed
    (notices about those of the shell's filter are the shell's), and each page built once per bundle, parameters
    and notices; the last :data:`PAGES_KEPT` are kept. A layout is data: Dash only writes it out."""
    def wrap(build):
        kept = memoized(size=PAGES_KEPT)(build)

        @functools.wraps(build)
        def layout(**params):
            data = current()
            p, bad = parse(params, data, names)
            return kept(data, p, tuple(text for name, text in bad.items() if name not in SHELL_PARAMS))

        layout.kept = kept
        return layout

    return wrap

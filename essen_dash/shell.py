"""The frame around every page: header, navigation, district filter, Stichtag, notices, footer."""

from __future__ import annotations

import json

import dash
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update

from essen_dash.data import AppData, current, memoized
from essen_dash.format import de_date
from essen_dash.params import SHELL_PARAMS, parse_search
from essen_dash.tables.schema import BEZIRK_IDS

BRAND = ("Stadt Essen", "Sozialdaten für die Integrationsplanung")
#: navigation entries: id, label, path
NAV = (("karte", "Karte", "/"), ("bezirk", "Bezirksprofil", "/bezirk/I"), ("jobcenter", "JobCenter", "/jobcenter"),
       ("zuteilung", "Zuteilung", "/zuteilung"), ("verteilung", "Verteilung", "/verteilung"),
       ("daten", "Daten & Quellen", "/daten"))


def notice(text: str, kind: str = "warning") -> html.Div:
    return html.Div(text, className=f"notice notice-{kind}", role="status")


def compare_options(stichtage, shown) -> list[dict]:
    """Return the Stichtage to compare with: every other one (the one shown is listed, not selectable)."""
    return [{"label": de_date(d), "value": d.isoformat(), "disabled": d == shown} for d in stichtage]


def filter_bar(data: AppData) -> html.Div:
    stichtage = data.stichtage
    return html.Div(className="filter-bar", children=[
        html.Label([html.Span("Stadtbezirke", className="filter-label"), dcc.Dropdown(
            id="filter-bezirke", multi=True, placeholder="Alle neun Stadtbezirke",
            options=[{"label": f"Stadtbezirk {b}", "value": b} for b in BEZIRK_IDS], value=[],
            className="filter-dropdown")], className="filter"),
        html.Label([html.Span("Stichtag", className="filter-label"), dcc.Dropdown(
            id="filter-stichtag", clearable=False, value=stichtage[-1].isoformat(),
            options=[{"label": de_date(d), "value": d.isoformat()} for d in stichtage],
            className="filter-dropdown stichtag")],
            className="filter", style={} if len(stichtage) > 1 else {"display": "none"}),
        html.Label([html.Span("Vergleich mit", className="filter-label"), dcc.Dropdown(
            id="filter-compare", clearable=True, value=None, placeholder="kein Vergleich",
            options=compare_options(stichtage, stichtage[-1]), className="filter-dropdown stichtag")],
            className="filter", style={} if len(stichtage) > 1 else {"display": "none"}),
        html.Span(f"Stand {de_date(stichtage[-1])} (ein Stichtag: Vergleiche und Zeitreihen ab dem zweiten)"
                  if len(stichtage) == 1 else "", className="filter-stand"),
        html.Div([html.Button("Link kopieren", id="copy-link", className="btn",
                              title="Adresse dieser Ansicht mit allen Einstellungen kopieren"),
                  html.Span(id="copy-link-status", className="hint", role="status")], className="share"),
    ])


def layout() -> html.Div:
    return frame(current())


@memoized
def frame(data: AppData) -> html.Div:
    """Return the app's frame around every page (built once per bundle: ``/_dash-layout`` is asked for at every
    visit)."""
    banner = [] if data.boundaries else [notice(
        f"Karten sind nicht verfügbar: {data.geometry_problem}", "error")]
    return html.Div(className="app", children=[
        html.A("Zum Inhalt springen", href="#main", className="skip-link"),
        dcc.Location(id="url", refresh="callback-nav"),
        dcc.Store(id="shell-sync"),
        dcc.Store(id="page-memory", storage_type="session"),
        html.Header(className="header", children=[
            html.Div(className="brand", children=[
                html.Span(BRAND[0], className="brand-city"), html.Span(BRAND[1], className="brand-title")]),
            html.Nav(className="nav", children=[
                dcc.Link(label, href=path, id=f"nav-{key}", className="nav-link") for key, label, path in NAV]),
        ]),
        filter_bar(data),
        html.Div(id="shell-notices", children=banner),
        html.Main(dash.page_container, className="main", id="main", tabIndex="-1"),
        html.Footer(className="footer", children=[
            html.Span(f"{data.source_line(data.latest, geometry=False)}; "
                      f"{data.source_line(data.latest, 'jobcenter', geometry=False).removeprefix('Quelle: ')}."),
            html.Span(" Geometrie: Stadt Essen, Datenlizenz Deutschland – Namensnennung 2.0."),
            html.Span([" ", html.A("Datenpflege", href="/datenpflege/", id="footer-datenpflege")]),
        ]),
    ])


@callback(Output("filter-bezirke", "value"), Output("filter-stichtag", "value"), Output("filter-compare", "value"),
          Output("shell-notices", "children"),
          Input("url", "search"), State("shell-notices", "children"), State("filter-bezirke", "value"),
          State("filter-stichtag", "value"), State("filter-compare", "value"))
def state_from_url(search, banner, bezirke_now, stichtag_now, compare_now):
    """Set the shared filter from the URL when a page is opened; explain unusable parameters.

    Unchanged values are not set again: setting them would re-run every page's callbacks, whose answers
    could then arrive after navigation has already replaced the page.
    """
    data = current()
    view, notices = parse_search(search, data, SHELL_PARAMS)
    kept = [b for b in (banner or []) if "notice-error" in str(b)]
    shown = kept + [notice(text) for name, text in notices.items() if name in SHELL_PARAMS]
    bezirke, stichtag = list(view.bezirk), view.stichtag.isoformat()
    compare = view.compare.isoformat() if view.compare else None
    return (bezirke if bezirke != list(bezirke_now or []) else no_update,
            stichtag if stichtag != stichtag_now else no_update,
            compare if compare != compare_now else no_update, shown)


@callback(Output("filter-compare", "options"), Output("filter-compare", "value", allow_duplicate=True),
          Input("filter-stichtag", "value"), State("filter-compare", "value"), prevent_initial_call=True)
def compare_follows_stichtag(stichtag, compare):
    """Offer every other Stichtag to compare with; comparing a Stichtag with itself is no comparison."""
    data = current()
    p, _ = parse_search(f"stichtag={stichtag}", data, ("stichtag",))
    return compare_options(data.stichtage, p.stichtag), (None if compare == p.stichtag.isoformat() else no_update)


# Write the filter into the address bar (shareable) and into the navigation links, in the browser:
# history.replaceState changes the URL without re-rendering the page. Each link also carries the settings
# its page last had in this tab (page-memory, written by components.sync_query), so going back keeps them.
clientside_callback(
    """
    function(bezirke, stichtag, compare, memory, stichtagOptions) {
        const params = new URLSearchParams(window.location.search);
        const set = (k, v) => v ? params.set(k, v) : params.delete(k);
        set('bezirk', (bezirke || []).join(','));
        set('stichtag', stichtagOptions.length > 1 ? stichtag : '');
        set('compare', compare || '');
        const q = params.toString().replace(/%2C/g, ',');
        window.history.replaceState(window.history.state, '', window.location.pathname + (q ? '?' + q : ''));
        const nav = """ + json.dumps([[key, path] for key, _, path in NAV]) + """;
        const links = nav.map(([page, path]) => {
            const link = new URLSearchParams((memory || {})[page] || '');
            if (bezirke && bezirke.length) link.set('bezirk', bezirke.join(','));
            if (stichtagOptions.length > 1 && stichtag) link.set('stichtag', stichtag);
            if (compare) link.set('compare', compare);
            const s = link.toString().replace(/%2C/g, ',').replace(/%3A/g, ':');
            const where = page === 'bezirk' ? '/bezirk/' + ((bezirke && bezirke.length) ? bezirke[0] : 'I') : path;
            return where + (s ? '?' + s : '');
        });
        return [Date.now()].concat(links);
    }
    """,
    Output("shell-sync", "data"),
    *[Output(f"nav-{key}", "href") for key, _, _ in NAV],
    Input("filter-bezirke", "value"), Input("filter-stichtag", "value"), Input("filter-compare", "value"),
    Input("page-memory", "data"), State("filter-stichtag", "options"),
)


# "Link kopieren": the address bar always holds the whole view (filters, Kennzahl, level, …), so the link is it.
clientside_callback(
    """
    function(n) {
        if (!n) { return window.dash_clientside.no_update; }
        const url = window.location.href;
        if (navigator.clipboard && window.isSecureContext) {
            return navigator.clipboard.writeText(url).then(() => 'Link kopiert', () => 'Link: ' + url);
        }
        return 'Link: ' + url;
    }
    """,
    Output("copy-link-status", "children"), Input("copy-link", "n_clicks"), prevent_initial_call=True,
)

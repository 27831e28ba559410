"""The dashboard in headless Chromium: every page, exact map values, URL state, the shared filter, 404s."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from datetime import date

import pandas as pd
import pytest
from playwright.sync_api import expect

from essen_dash.classify import SCHEMES
from essen_dash.datasets import DATASETS
from essen_dash.figures.choropleth import NO_VALUE_LABEL
from essen_dash.kennzahlen import Catalog
from essen_dash.params import DEFAULT_KENNZAHL
from essen_dash.paths import settings
from essen_dash.tables.schema import BEZIRK_IDS
from tests.published import bezirke, hotspots

pytestmark = pytest.mark.browser

MAP = "karte-map"
MAP_DRAWN = f"#{MAP} .js-plotly-plot .choroplethlocation"
#: the README's budget for what an indicator switch sends over the wire (compressed)
MAX_SWITCH_BYTES_SENT = 5_000
SETTLE_QUIET_MS = 300
WAIT_TIMEOUT_S = 15
#: the Stichtag of the published figures these tests assert; requested explicitly, so another Stichtag in data/
#: (shown by default as the latest) changes nothing here
STICHTAG = "2016-09-30"
AT_2016 = f"stichtag={STICHTAG}"
#: every Kennzahl of the bundled catalog, in catalog order (read at collection time for the parameters)
KENNZAHLEN = pd.read_csv(settings().data_dir / "kennzahlen.csv")["key"].tolist()

#: Reads a graph's traces in the browser; plotly's typed arrays ({bdata, _inputArray}) become plain lists.
TRACES_JS = """(id) => {
    const gd = document.querySelector('#' + id + ' .js-plotly-plot');
    if (!gd || !gd.data) return null;
    const arr = v => v == null ? null : Array.isArray(v) ? v : ArrayBuffer.isView(v) ? Array.from(v)
        : (v._inputArray ? Array.from(v._inputArray) : v);
    return gd.data.map(t => ({type: t.type, name: t.name ?? null, locations: arr(t.locations), z: arr(t.z),
                              text: arr(t.text), visible: t.visible ?? true,
                              x: arr(t.x), y: arr(t.y), lon: arr(t.lon), lat: arr(t.lat),
                              customdata: arr(t.customdata), opacity: arr(t.marker ? t.marker.opacity : null)}));
}"""

#: The texts of a graph's layout annotations (e.g. the city reference of the ranking).
ANNOTATIONS_JS = """(id) => {
    const gd = document.querySelector('#' + id + ' .js-plotly-plot');
    return ((gd && gd.layout && gd.layout.annotations) || []).map(a => a.text);
}"""

#: A point inside the filled area of the map path for one location, in viewport pixels (centre preferred).
INSIDE_POINT_JS = """([id, loc]) => {
    // the topmost path of the location (an area lies on the grey one underneath)
    const paths = Array.from(document.querySelectorAll('#' + id + ' .choroplethlocation'))
        .filter(p => p.__data__ && p.__data__.loc === loc);
    if (!paths.length) return null;
    const path = paths[paths.length - 1], box = path.getBBox(), ctm = path.getScreenCTM();
    const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
    const candidates = [[cx, cy]];
    for (let i = 1; i < 12; i++) for (let j = 1; j < 12; j++)
        candidates.push([box.x + box.width * i / 12, box.y + box.height * j / 12]);
    candidates.sort((a, b) => Math.hypot(a[0] - cx, a[1] - cy) - Math.hypot(b[0] - cx, b[1] - cy));
    for (const [x, y] of candidates) {
        const point = new DOMPoint(x, y);
        if (path.isPointInFill(point)) {
            const screen = point.matrixTransform(ctm);
            return {x: screen.x, y: screen.y};
        }
    }
    return null;
}"""

#: The centre of the ranking bar of one Bezirk (found through its customdata), in viewport pixels.
BAR_CENTRE_JS = """([id, bezirk]) => {
    const gd = document.querySelector('#' + id + ' .js-plotly-plot');
    const i = gd.data[0].customdata.findIndex(c => c.bezirk_id === bezirk);
    const bar = document.querySelectorAll('#' + id + ' .bars .point')[i];
    if (i < 0 || !bar) return null;
    const box = bar.getBoundingClientRect();
    return {x: box.x + box.width / 2, y: box.y + box.height / 2};
}"""


# --- expected values from the bundled tables ------------------------------------------------------------------


#: the published values in the submission's layout, by the names of its tables
PUBLISHED = {"bezirke": bezirke, "stadtteile_hotspots": hotspots}


def at(tables, name: str, stichtag: str = STICHTAG):
    """Return a table's rows at one Stichtag."""
    df = PUBLISHED[name](tables) if name in PUBLISHED else tables[name]
    return df[df["stichtag"] == date.fromisoformat(stichtag)]


def catalog(tables, stichtag: str = STICHTAG) -> Catalog:
    """Return the Kennzahlen catalog with its labels filled in from the data of ``stichtag``."""
    return Catalog.from_table(tables["kennzahlen"]).resolved(tables, date.fromisoformat(stichtag))


#: Kennzahlen derived by formula, each written out here independently of the app's formula evaluation
DERIVED = {"non_german_count": lambda bz: bz["population_count"].astype(float) * bz["non_german_pct"] / 100}


def bezirk_values(tables, key: str, stichtag: str = STICHTAG) -> dict[str, float]:
    """Return Bezirk id → value of a Kennzahl: the published column, or the derived value."""
    bz = at(tables, "bezirke", stichtag)
    kennzahl = catalog(tables, stichtag)[key]
    if kennzahl.is_derived:
        assert key in DERIVED, f"derived Kennzahl {key} has no expected formula in this test"
        values = DERIVED[key](bz)
    else:
        values = bz[key]
    return dict(zip(bz["bezirk_id"], values.astype(float)))


def stadtteile_of(tables, bezirke: set[str]) -> set[str]:
    """Return the Stadtteil numbers (as map location strings) of the given Bezirke."""
    reg = tables["stadtteile_register"]
    return {str(n) for n in reg[reg["bezirk_id"].isin(bezirke)]["stadtteil_nr"]}


def all_stadtteile(tables) -> set[str]:
    return {str(n) for n in tables["stadtteile_register"]["stadtteil_nr"]}


def jobcenter_areas_of(tables, bezirk: str, stichtag: str = STICHTAG) -> list[str]:
    """Return the JobCenter areas with a Stadtteil in ``bezirk``, in the source's order."""
    docs = tables["documents"]
    jc_day = docs[docs["bezirke_stichtag"] == date.fromisoformat(stichtag)]["jobcenter_stichtag"].iloc[0]
    cw = tables["jobcenter_crosswalk"]
    cw = cw[cw["stichtag"] == jc_day]
    hit = set(cw[cw["stadtteil_nr"].astype(str).isin(stadtteile_of(tables, {bezirk}))]["jc_area"])
    jc = tables["jobcenter"]
    return [a for a in dict.fromkeys(jc[jc["stichtag"] == jc_day]["jc_area"]) if a in hit]


def served_bezirk_vertices(app_server, bezirke: set[str]) -> set[tuple[float, float]]:
    """Return every vertex of the given Bezirke in the boundaries the app serves to the browser."""
    with urllib.request.urlopen(f"{app_server.base_url}/geo/bezirk.geojson", timeout=10) as response:
        features = json.load(response)["features"]
    out = set()
    for f in features:
        if f["id"] in bezirke:
            g = f["geometry"]
            polygons = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
            out |= {tuple(pt) for polygon in polygons for ring in polygon for pt in ring}
    assert out, f"no served boundary for {bezirke}"
    return out


# --- browser helpers ------------------------------------------------------------------------------------------


def settle(page, log, quiet_ms: int = SETTLE_QUIET_MS) -> None:
    """Wait until no request has been in flight for ``quiet_ms`` (callbacks done)."""
    deadline, quiet = time.monotonic() + WAIT_TIMEOUT_S, 0
    while quiet < quiet_ms:
        assert time.monotonic() < deadline, f"requests still in flight after {WAIT_TIMEOUT_S} s"
        page.wait_for_timeout(100)
        quiet = 0 if log.in_flight > 0 else quiet + 100


def wait_visible(page, log, selector: str) -> None:
    """Wait until ``selector`` is visible; fail at once when the server answers 5xx."""
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while not page.locator(selector).first.is_visible():
        assert not log.server_errors, f"server error while waiting for {selector}: {log.server_errors}"
        assert time.monotonic() < deadline, f"{selector} not visible after {WAIT_TIMEOUT_S} s"
        page.wait_for_timeout(100)


def open_page(page, app_server, log, path: str, selector: str):
    """Open ``path``, assert HTTP 200, wait for ``selector`` and for the callbacks to finish."""
    response = page.goto(app_server.base_url + path)
    assert response is not None and response.status == 200, f"{path}: HTTP {response and response.status}"
    wait_visible(page, log, selector)
    settle(page, log)
    return response


def open_map(page, app_server, log, query: str = ""):
    """Open the Karte with ``query`` and wait until the map is drawn and the callbacks are done."""
    return open_page(page, app_server, log, f"/{query}", MAP_DRAWN)


def traces(page, graph_id: str = MAP) -> list[dict]:
    """Return the traces of a graph as the browser holds them."""
    data = page.evaluate(TRACES_JS, graph_id)
    assert data is not None, f"no plotly figure in #{graph_id}"
    return data


def snapshot(page, graph_id: str = MAP) -> str:
    """Return a graph's traces as JSON text, to detect a later change."""
    return page.evaluate(f"(id) => JSON.stringify(({TRACES_JS})(id))", graph_id)


def wait_for_change(page, before: str, graph_id: str = MAP) -> None:
    """Wait until a graph's traces differ from ``before`` (a :func:`snapshot`)."""
    page.wait_for_function(f"([id, before]) => JSON.stringify(({TRACES_JS})(id)) !== before",
                           arg=[graph_id, before])


def choropleths(page) -> list[dict]:
    """Return the map's area traces (without the label and outline traces)."""
    return [t for t in traces(page) if t["type"] == "choropleth"]


def map_locations(page) -> list[str]:
    """Return every location drawn on the map, sorted."""
    return sorted({loc for t in choropleths(page) for loc in t["locations"]})


def drawn(page) -> dict[str, str]:
    """Return each location's topmost filled trace by name, as plotly draws them (later traces on top; a trace
    does not draw a location whose z is missing)."""
    out = {}
    for t in choropleths(page):
        out.update({loc: t["name"] for loc, z in zip(t["locations"], t["z"]) if z is not None})
    return out


def drawn_as(page, name: str) -> list[str]:
    """Return the locations the map shows as ``name`` (e.g. 'kein Wert veröffentlicht'), sorted."""
    return sorted(loc for loc, shown in drawn(page).items() if shown == name)


def grey_trace(page) -> dict | None:
    """Return the areas the map shows as 'kein Wert veröffentlicht' (as {"locations": …}), if there are any."""
    grey = drawn_as(page, NO_VALUE_LABEL)
    return {"locations": grey} if grey else None


CONTEXT = "außerhalb der Auswahl (zum Vergleich)"


def valued_trace(page) -> dict:
    """Return the values trace (the second area trace) with only the areas it draws: locations, z, names."""
    trace = choropleths(page)[1]
    assert trace["name"] not in (NO_VALUE_LABEL, CONTEXT)
    rows = [(loc, z, name) for loc, z, name in zip(trace["locations"], trace["z"], trace["text"]) if z is not None]
    return {**trace, "locations": [r[0] for r in rows], "z": [r[1] for r in rows], "text": [r[2] for r in rows]}


def continuous_values(page) -> dict[str, float]:
    """Return location → z of the values trace."""
    trace = valued_trace(page)
    return dict(zip(trace["locations"], trace["z"]))


#: The lines of the hover label plotly shows, as text.
HOVER_JS = """(id) => Array.from(document.querySelectorAll('#' + id + ' .hoverlayer .hovertext text.nums'))
    .map(t => { const lines = t.querySelectorAll('tspan.line');
                return lines.length ? Array.from(lines).map(l => l.textContent) : [t.textContent]; })"""


def hover_lines(page, location: str, graph_id: str = MAP) -> list[str]:
    """Hover the mouse over one area of the map and return the lines of its tooltip, as the browser shows them."""
    point = page.evaluate(INSIDE_POINT_JS, [graph_id, location])
    assert point is not None, f"no area {location} on #{graph_id}"
    page.mouse.move(point["x"], point["y"])
    page.wait_for_function("(id) => document.querySelector('#' + id + ' .hoverlayer .hovertext')", arg=graph_id)
    (lines,) = page.evaluate(HOVER_JS, graph_id)
    page.mouse.move(0, 0)
    page.wait_for_function("(id) => !document.querySelector('#' + id + ' .hoverlayer .hovertext')", arg=graph_id)
    return lines


def outline(page) -> tuple[str, set[tuple[float, float]]] | None:
    """Return the map's selection outline as (legend name, set of its vertices), or None without one."""
    lines = [t for t in traces(page) if t["type"] == "scattergeo" and (t["name"] or "").startswith("Auswahl")]
    assert len(lines) <= 1
    if not lines:
        return None
    (line,) = lines
    return line["name"], {(x, y) for x, y in zip(line["lon"], line["lat"]) if x is not None}


def ranking_bar(page) -> dict:
    (bar,) = [t for t in traces(page, "karte-ranking") if t["type"] == "bar"]
    return bar


def ranking_values(page) -> dict[str, float]:
    """Return Bezirk id → bar length of the ranking chart."""
    bar = ranking_bar(page)
    return {row["bezirk_id"]: x for row, x in zip(bar["customdata"], bar["x"])}


def pick(page, dropdown_id: str, value: str) -> None:
    """Choose ``value`` in a Dash 4 dropdown."""
    page.click(f"#{dropdown_id}")
    page.click(f'.dash-dropdown-option:has(input[value="{value}"])')


def filter_labels(page) -> list[str]:
    """Return the Bezirke the shared filter shows as chosen."""
    return page.locator("#filter-bezirke-value .dash-dropdown-value-item").all_inner_texts()


def table_column(page, table_id: str, column: int = 0) -> list[str]:
    """Return one column of an HTML table's body rows."""
    return page.locator(f"#{table_id} tbody tr").evaluate_all(
        f"rows => rows.map(r => r.cells[{column}].innerText.trim())")


def table_rows(page, table_id: str) -> list[list[str]]:
    """Return the header and body rows of an HTML table as text."""
    return page.locator(f"#{table_id} tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))")


def definition_list(page, selector: str) -> dict[str, str]:
    """Return term → description of a <dl>."""
    return page.locator(selector).evaluate(
        "dl => Object.fromEntries(Array.from(dl.querySelectorAll('dt')).map(dt => "
        "[dt.innerText.trim(), dt.nextElementSibling.innerText.trim()]))")


# --- 1. every page --------------------------------------------------------------------------------------------


PAGES = [
    ("karte", "/", "Karte", [MAP_DRAWN, "#karte-ranking .js-plotly-plot .bars"]),
    ("bezirk-III", "/bezirk/III", "Bezirksprofil", ["#bezirk-title", "#bezirk-stadtteile tbody tr",
                                                     "#bezirk-jobcenter .hm", "#bezirk-profile .bars"]),
    ("jobcenter", "/jobcenter", "JobCenter", ["#jobcenter-map .choroplethlocation", "#jobcenter-heatmap .hm",
                                              "#jobcenter-bars .bars"]),
    ("zuteilung", "/zuteilung", "Zuteilung", ["#zuteilung-table tbody tr", "#zuteilung-bars .bars",
                                              "#zuteilung-scatter .scatterlayer"]),
    ("daten", "/daten", "Daten & Quellen", ["#daten-table td[data-dash-column='bezirk_id']",
                                            "#daten-quality-list li"]),
]


@pytest.mark.parametrize(("name", "path", "title", "selectors"), PAGES, ids=[p[0] for p in PAGES])
def test_page_opens(page, page_log, app_server, screenshot_dir, name, path, title, selectors):
    """Each page answers 200, renders its main elements offline and without errors."""
    open_page(page, app_server, page_log, path, selectors[0])
    for selector in selectors[1:]:
        wait_visible(page, page_log, selector)
    expect(page).to_have_title(f"{title} – Sozialdaten Essen")
    if name == "bezirk-III":
        expect(page.locator("#bezirk-title")).to_have_text("Stadtbezirk III")
    page.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)
    page_log.assert_clean()


# --- 2. exact values per Kennzahl -----------------------------------------------------------------------------


#: the share each share Kennzahl is taken of, as published counts (written out here, independent of the catalog)
NUMERATORS = {"origin12_pct": ("origin12_count",), "bg_ro_pct": ("bg_count", "ro_count"), "bg_pct": ("bg_count",),
              "ro_pct": ("ro_count",)}
#: the published figures the source itself contradicts (README, Data quality)
FLAGGED = {("origin12_pct", "II"), ("bg_ro_pct", "I")}


def bezirk_counts(tables, key: str) -> dict[str, int]:
    """Return the published count behind a share per Bezirk at 30.09.2016 ({} for Kennzahlen without one)."""
    bz = at(tables, "bezirke", "2016-09-30")
    return {b: int(sum(row[c] for c in NUMERATORS[key])) for b, row in zip(bz["bezirk_id"], bz.to_dict("records"))} \
        if key in NUMERATORS else {}


@pytest.mark.parametrize("key", KENNZAHLEN)
def test_map_and_ranking_show_published_values(page, page_log, app_server, app_tables, key):
    """The map colours each Bezirk by exactly its value (published, or derived by the catalog's formula); the
    ranking bars have the same lengths; tooltip and city reference come from the catalog."""
    open_map(page, app_server, page_log, f"?indicator={key}&scheme=continuous&level=bezirk&{AT_2016}")
    kennzahl = catalog(app_tables)[key]
    expected = bezirk_values(app_tables, key)
    assert len(expected) == len(BEZIRK_IDS)
    assert continuous_values(page) == expected
    assert grey_trace(page) is None
    assert outline(page) is None
    assert ranking_values(page) == expected
    expect(page.locator("#karte-indicator-value")).to_have_text(kennzahl.label)
    # the tooltip as the browser shows it: area, value (count, flag), rank, city reference, the flag's note
    trace = valued_trace(page)
    assert sorted(trace["locations"]) == sorted(BEZIRK_IDS)
    counts = bezirk_counts(app_tables, key)
    ranks = pd.Series(expected).rank(ascending=False, method="min").astype(int)
    city = None
    for b, v in expected.items():
        lines = hover_lines(page, b)
        assert lines[:3] == [f"Stadtbezirk {b}",
                             kennzahl.format(v) + (f" ({counts[b]:,} Personen)".replace(",", ".") if counts else "")
                             + ("*" if (key, b) in FLAGGED else ""), f"Rang {ranks[b]} von 9"]
        assert len(lines) == (5 if (key, b) in FLAGGED else 4)
        if (key, b) in FLAGGED:
            assert lines[4].startswith("* Quelle uneinheitlich: veröffentlicht ")
        assert city in (None, lines[3])
        city = lines[3]
    if kennzahl.has_reference:
        assert city.startswith("Gesamtstadt: ")
        assert any(text.startswith("Gesamtstadt ") for text in page.evaluate(ANNOTATIONS_JS, "karte-ranking"))
    else:
        assert city == "kein Wert der Gesamtstadt"
        assert not any("Gesamtstadt" in text for text in page.evaluate(ANNOTATIONS_JS, "karte-ranking"))
    assert definition_list(page, "#karte-meta dl")["Definition"] == kennzahl.definition


def test_city_values_from_the_catalog(page, page_log, app_server, app_tables):
    """The population's city value is the published 588.875 (not an average); project housing has none."""
    city = at(app_tables, "city")
    published = int(city[city["group_name"] == "Gesamtbevölkerung"]["person_count"].iloc[0])
    assert published == 588875

    open_map(page, app_server, page_log, f"?indicator=population_count&scheme=continuous&{AT_2016}")
    assert hover_lines(page, "III")[3] == "Gesamtstadt: 588.875 Personen"
    assert "Gesamtstadt 588.875 Personen" in page.evaluate(ANNOTATIONS_JS, "karte-ranking")
    meta = definition_list(page, "#karte-meta dl")
    assert meta["Wert der Gesamtstadt"] == "588.875 Personen – Gesamtstadt, veröffentlichter Wert"
    assert meta["Herkunft"] == "veröffentlicht"
    assert meta["Stichtag"] == "30.09.2016"

    open_map(page, app_server, page_log, f"?indicator=project_housing_pct&scheme=continuous&{AT_2016}")
    assert hover_lines(page, "III")[3] == "kein Wert der Gesamtstadt"
    assert not any("Gesamtstadt" in text for text in page.evaluate(ANNOTATIONS_JS, "karte-ranking"))
    meta = definition_list(page, "#karte-meta dl")
    assert meta["Wert der Gesamtstadt"] == (
        "kein Wert der Gesamtstadt. Die Anteile der Bezirke ergeben zusammen 100 %; einen Wert der Gesamtstadt gibt "
        "es nicht. Vergleichsmaßstab ist der Anteil des Bezirks an den Einwohnern aus den Herkunftsländern "
        "(Seite Zuteilung).")


def test_karte_controls_name_the_catalog(page, page_log, app_server, app_tables):
    """The dropdown is labelled 'Kennzahl' and lists every Kennzahl of the catalog with its label, in order;
    the metadata card is 'Über diese Kennzahl'."""
    open_map(page, app_server, page_log, f"?{AT_2016}")
    labels = [k.label for k in catalog(app_tables).values()]
    assert len(labels) == len(KENNZAHLEN) == 11
    assert labels[0] == "Anteil aus den 12 wesentlichen Herkunftsländern Geflüchteter"
    control = page.locator(".control", has=page.locator("#karte-indicator"))
    expect(control.locator(".filter-label")).to_have_text("Kennzahl")
    expect(page.locator(".card", has=page.locator("#karte-meta")).locator(".card-title")).to_have_text(
        "Über diese Kennzahl")
    page.click("#karte-indicator")
    options = page.locator(".dash-dropdown-option")
    expect(options).to_have_count(len(labels))
    assert [t.strip() for t in options.all_inner_texts()] == labels
    page.keyboard.press("Escape")
    settle(page, page_log)


def test_time_controls_only_with_two_stichtage(page, page_log, app_server, app_tables):
    """With one Stichtag the timeline and the comparison control are not shown and the filter bar says why; with
    more they are (this suite also runs on a data folder with a second Stichtag). The slider has no number box."""
    open_map(page, app_server, page_log, "")
    several = len(app_tables.stichtage) > 1
    for control in ("#karte-timeline-area", "#filter-compare"):
        expect(page.locator(control)).to_be_visible() if several else expect(page.locator(control)).to_be_hidden()
    expect(page.locator(".filter-stand")).to_have_text(
        "" if several else "Stand 30.09.2016 (ein Stichtag: Vergleiche und Zeitreihen ab dem zweiten)")
    expect(page.locator("#karte-timeline-area input")).to_have_count(0)
    settle(page, page_log)


# --- 3. switching the Kennzahl --------------------------------------------------------------------------------


def switch_indicator(page, log, indicator: str):
    """Choose another Kennzahl in the dropdown; return the map callback's response once the map changed."""
    before = snapshot(page)
    with page.expect_response(lambda r: "/_dash-update-component" in r.url
                              and f"{MAP}-switch.data" in (r.request.post_data or "")) as info:
        pick(page, "karte-indicator", indicator)
    wait_for_change(page, before)
    settle(page, log)
    return info.value


def response_sizes(response) -> tuple[int, dict[str, int]]:
    """Return the body size and the size of each output in it."""
    body = response.body()
    outputs = json.loads(body)["response"]
    return len(body), {f"{cid}.{prop}": len(json.dumps(value)) for cid, props in outputs.items()
                       for prop, value in props.items()}


def test_indicator_switch_updates_values_not_geometry(page, page_log, app_server, app_tables):
    """origin12_pct → bg_ro_pct: exact new values in a small response, no geometry refetch, URL updated."""
    open_map(page, app_server, page_log, f"?scheme=continuous&level=bezirk&{AT_2016}")
    assert continuous_values(page) == bezirk_values(app_tables, "origin12_pct")
    assert len(page_log.requests_to("/geo/")) == 1
    start = len(page_log.requests)

    response = switch_indicator(page, page_log, "bg_ro_pct")

    assert continuous_values(page) == bezirk_values(app_tables, "bg_ro_pct")
    assert ranking_values(page) == bezirk_values(app_tables, "bg_ro_pct")
    expect(page.locator("#karte-indicator-value")).to_have_text(catalog(app_tables)["bg_ro_pct"].label)
    assert page_log.requests_to("/geo/", start) == [], "geometry was requested again"
    total, parts = response_sizes(response)
    sent = response.request.sizes()["responseBodySize"]
    print(f"\nindicator switch response: {sent} bytes sent, {total} bytes uncompressed; by output: {parts}")
    assert sorted(parts) == ["karte-map-caption.children", "karte-map-dl.children", "karte-map-heading.children",
                             "karte-map-switch.data", "karte-meta.children", "karte-ranking-caption.children",
                             "karte-ranking-dl.children", "karte-ranking-heading.children", "karte-ranking.figure",
                             "karte-table-area.children"]
    cells = page.locator("#karte-table tbody tr").evaluate_all("rows => rows.map(r => r.cells[1].textContent)")
    assert cells == [f"{v:.1f} %".replace(".", ",") for v in bezirk_values(app_tables, "bg_ro_pct").values()]
    # the switch sends no ranks: the browser ranks the values it received, as the table does (1 = highest)
    ranks = pd.Series(bezirk_values(app_tables, "bg_ro_pct")).rank(ascending=False, method="min").astype(int)
    assert {b: hover_lines(page, b)[2] for b in ranks.index} == {b: f"Rang {r} von 9" for b, r in ranks.items()}
    body = response.body().decode()
    assert "coordinates" not in body and "FeatureCollection" not in body, "the switch sent geometry"
    assert response.headers.get("content-encoding") in ("br", "gzip", "zstd"), "the switch was sent uncompressed"
    assert sent <= MAX_SWITCH_BYTES_SENT
    page.wait_for_function("() => new URLSearchParams(location.search).get('indicator') === 'bg_ro_pct'")
    assert "indicator=bg_ro_pct" in page.url


# --- 4. Stadtteile: only published values ---------------------------------------------------------------------


def test_stadtteil_level_shows_only_published_values(page, page_log, app_server, app_tables):
    """Exactly the published Stadtteile carry values; all others are 'kein Wert veröffentlicht', never 0."""
    open_map(page, app_server, page_log, f"?indicator=origin12_pct&scheme=continuous&level=stadtteil&{AT_2016}")
    hs = at(app_tables, "stadtteile_hotspots")
    published = dict(zip(hs["stadtteil_nr"].astype(str), hs["origin12_pct"].astype(float)))
    everything = all_stadtteile(app_tables)
    assert len(published) == 8 and len(everything) == 50

    assert continuous_values(page) == published
    grey = grey_trace(page)
    assert grey is not None
    assert sorted(grey["locations"]) == sorted(everything - set(published))
    assert len(grey["locations"]) == 42
    names = dict(zip(app_tables["stadtteile_register"]["stadtteil_nr"].astype(str),
                     app_tables["stadtteile_register"]["stadtteil_name"]))
    missing = grey["locations"][0]
    assert hover_lines(page, missing) == [names[missing], NO_VALUE_LABEL, NO_VALUE_LABEL, "Gesamtstadt: 3,6 %"]
    assert hover_lines(page, "1") == [names["1"], "11,7 %", "Rang 1 von 8", "Gesamtstadt: 3,6 %"]
    assert 0 not in continuous_values(page).values()
    meta = definition_list(page, "#karte-meta dl")
    assert meta["Stadtteile"] == ("Veröffentlicht sind Werte für 8 von 50 Stadtteilen; alle übrigen erscheinen grau "
                                  "als „kein Wert veröffentlicht“.")


# --- 5. shared URL --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("indicator", ["bg_ro_pct", "origin12_pct"])  # without and with Stadtteil values
def test_shared_url_restores_view(page, page_log, app_server, app_tables, indicator):
    """Opening a shared URL restores controls and filter; the map shows every Stadtteil, the selection outlined."""
    open_map(page, app_server, page_log,
             f"?indicator={indicator}&scheme=quantiles&level=stadtteil&bezirk=I,V&{AT_2016}")
    expect(page.locator("#karte-indicator-value")).to_have_text(catalog(app_tables)[indicator].label)
    expect(page.locator("#karte-scheme-value")).to_have_text(SCHEMES["quantiles"].label)
    expect(page.locator("#karte-level input:checked")).to_have_value("stadtteil")
    assert filter_labels(page) == ["Stadtbezirk I", "Stadtbezirk V"]
    everything = all_stadtteile(app_tables)
    assert map_locations(page) == sorted(everything)
    hs = at(app_tables, "stadtteile_hotspots")
    with_value = set(hs["stadtteil_nr"].astype(str)) if indicator == "origin12_pct" else set()
    assert sorted(grey_trace(page)["locations"]) == sorted(everything - with_value)
    assert outline(page) == ("Auswahl: Stadtbezirk I, V", served_bezirk_vertices(app_server, {"I", "V"}))


# --- 6. the district filter -----------------------------------------------------------------------------------


def test_filter_outlines_selection_on_karte(page, page_log, app_server, app_tables):
    """?bezirk=III keeps all Bezirke on the map, III in its colour and outlined, the others light grey with their
    values in the tooltip; the ranking fades the others."""
    open_map(page, app_server, page_log, f"?bezirk=III&{AT_2016}")
    assert filter_labels(page) == ["Stadtbezirk III"]
    expected = bezirk_values(app_tables, DEFAULT_KENNZAHL)
    assert map_locations(page) == sorted(BEZIRK_IDS)
    assert continuous_values(page) == expected  # every value, for the tooltips; outside III covered in grey
    assert [loc for loc, name in drawn(page).items() if name not in (CONTEXT, NO_VALUE_LABEL)] == ["III"]
    (context,) = [t for t in choropleths(page) if t["name"] == CONTEXT]
    assert sorted(context["locations"]) == sorted(b for b in BEZIRK_IDS if b != "III")
    assert drawn_as(page, CONTEXT) == sorted(b for b in BEZIRK_IDS if b != "III")
    assert hover_lines(page, "I")[:3] == ["Stadtbezirk I", "7,1 % (4.795 Personen)", "Rang 1 von 9"]
    assert outline(page) == ("Auswahl: Stadtbezirk III", served_bezirk_vertices(app_server, {"III"}))
    assert ranking_values(page) == expected
    bar = ranking_bar(page)
    assert {row["bezirk_id"]: o for row, o in zip(bar["customdata"], bar["opacity"])} == {
        b: 1.0 if b == "III" else 0.35 for b in BEZIRK_IDS}


def test_filter_narrows_jobcenter(page, page_log, app_server, app_tables):
    """?bezirk=III keeps only the JobCenter areas with a Stadtteil in Bezirk III in the heatmap."""
    open_page(page, app_server, page_log, f"/jobcenter?bezirk=III&{AT_2016}", "#jobcenter-heatmap .hm")
    expected = jobcenter_areas_of(app_tables, "III")
    assert expected == ["Mitte", "West"]
    (heat,) = traces(page, "jobcenter-heatmap")
    assert heat["y"] == expected


def test_jobcenter_group_switch_sends_values_only(page, page_log, app_server, app_tables):
    """Choosing another origin group redraws the JobCenter map with that group's published shares; the response
    carries no geometry and stays small, the heatmap (every group) is not resent."""
    open_page(page, app_server, page_log, f"/jobcenter?{AT_2016}", "#jobcenter-map .choroplethlocation")
    jc = app_tables["jobcenter"]
    docs = app_tables["documents"]
    jc_day = docs[docs["bezirke_stichtag"] == date.fromisoformat(STICHTAG)]["jobcenter_stichtag"].iloc[0]
    jc = jc[jc["stichtag"] == jc_day]
    group = list(dict.fromkeys(jc["origin_group"]))[1]
    before = snapshot(page, "jobcenter-map")
    with page.expect_response(lambda r: "/_dash-update-component" in r.url
                              and "jobcenter-map-area" in (r.request.post_data or "")) as info:
        page.locator("#jobcenter-group").get_by_label(group, exact=True).check()
    wait_for_change(page, before, "jobcenter-map")
    settle(page, page_log)
    (fill,) = [t for t in traces(page, "jobcenter-map") if t["type"] == "choropleth" and t["name"] == "Anteil"]
    shares = dict(zip(jc[jc["origin_group"] == group]["jc_area"], jc[jc["origin_group"] == group]["share_pct"]))
    assert dict(zip(fill["locations"], fill["z"])) == {a: round(shares[a], 2) for a in fill["locations"]}
    body = info.value.body()
    assert b"coordinates" not in body and "jobcenter-heatmap-area" not in json.loads(body)["response"]
    assert len(body) <= 20_000
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('gruppe') === {json.dumps(group)}")


def test_filter_narrows_zuteilung(page, page_log, app_server):
    """?bezirk=III leaves one row in the allocation table, with the Bezirk's exact published and derived shares."""
    open_page(page, app_server, page_log, f"/zuteilung?bezirk=III&{AT_2016}", "#zuteilung-table tbody tr")
    assert table_rows(page, "zuteilung-table") == [
        ["Bezirk", "Wohnungsanteil: Projektwohnungen", "12 Herkunftsländer (Personen)",
         "Einwohneranteil: 12 Herkunftsländer (Personen)", "Verhältnis"],
        # 4.162 of 21.287 residents (sum of the Bezirke) = 19,55 %; 18,6 / 19,55 = 0,95
        ["Stadtbezirk III", "18,6 %", "4.162 Personen", "19,6 %", "0,95"]]


def test_filter_narrows_daten(page, page_log, app_server, app_tables):
    """?bezirk=III leaves only Bezirk III's rows (one per Stichtag) in the Bezirke data table."""
    open_page(page, app_server, page_log, "/daten?bezirk=III", "#daten-table td[data-dash-column='bezirk_id']")
    expect(page.locator("#daten-choice-value")).to_have_text(DATASETS["bezirke"].title)
    cells = page.locator("#daten-table td[data-dash-column='bezirk_id']").all_inner_texts()
    bz = bezirke(app_tables)
    assert len(bz[bz["bezirk_id"] == "III"]) == len(app_tables.stichtage)
    assert [c.strip() for c in cells] == ["III"] * len(app_tables.stichtage)


def test_filter_narrows_bezirk_links(page, page_log, app_server):
    """The profile of III with the selection I,III links only to the other chosen Bezirk."""
    open_page(page, app_server, page_log, "/bezirk/III?bezirk=I,III", "#bezirk-others a")
    expect(page.locator("#bezirk-title")).to_have_text("Stadtbezirk III")
    links = page.locator("#bezirk-others a")
    assert links.all_inner_texts() == ["I"]
    assert links.first.get_attribute("href") == "/bezirk/I?bezirk=I,III"


def test_profile_follows_filter(page, page_log, app_server):
    """/bezirk/V?bezirk=III shows Bezirk III (the filter names only III), and its pack."""
    open_page(page, app_server, page_log, f"/bezirk/V?bezirk=III&{AT_2016}", "#bezirk-stadtteile tbody tr")
    expect(page.locator("#bezirk-title")).to_have_text("Stadtbezirk III")
    assert filter_labels(page) == ["Stadtbezirk III"]
    assert table_column(page, "bezirk-stadtteile", 2) == ["III"] * 6
    assert page.locator("#bezirk-others a").all_inner_texts() == []
    expect(page.locator("#bezirk-pack-pdf")).to_have_attribute(
        "href", f"/download/pack?bezirk=III&stichtag={STICHTAG}&format=pdf")


def test_bezirk_profile_values(page, page_log, app_server):
    """The profile of III: Stadtteile with published values or 'kein Wert veröffentlicht' and their JobCenter
    areas (or 'in der Quelle nicht genannt'), the JobCenter heatmap rows, KPIs and how each city value is formed."""
    open_page(page, app_server, page_log, f"/bezirk/III?{AT_2016}", "#bezirk-stadtteile tbody tr")
    wait_visible(page, page_log, "#bezirk-jobcenter .hm")
    not_named = "in der Quelle nicht genannt"
    assert table_rows(page, "bezirk-stadtteile") == [
        ["Nr.", "Stadtteil", "Stadtbezirk", "12 Herkunftsländer", "JobCenter-Bereich"],
        ["7", "Altendorf", "III", "8,3 %", "Mitte (teilweise), West (teilweise)"],
        ["8", "Frohnhausen", "III", NO_VALUE_LABEL, "West (teilweise)"],
        ["9", "Holsterhausen", "III", NO_VALUE_LABEL, not_named],
        ["15", "Fulerum", "III", NO_VALUE_LABEL, not_named],
        ["28", "Haarzopf", "III", NO_VALUE_LABEL, not_named],
        ["41", "Margarethenhöhe", "III", NO_VALUE_LABEL, not_named]]
    (heat,) = traces(page, "bezirk-jobcenter")
    assert heat["y"] == ["Mitte", "West"]
    kpis = page.locator("#bezirk-kpis .kpi").evaluate_all(
        "ks => ks.map(k => Array.from(k.children).map(c => c.textContent.trim()))")
    assert len(kpis) == 11
    by_label = {kpi[0]: tuple(kpi[1:]) for kpi in kpis}
    assert by_label["Bevölkerung"] == ("98.439 Personen", "Stadt: 588.875 Personen · Rang 1 von 9")
    assert by_label["12 Herkunftsländer"] == ("4,2 %", "4.162 Personen", "Stadt: 3,6 % · Rang 3 von 9")
    assert by_label["Bulgarien/Rumänien"] == ("8,1 %", "1.507 Personen", "Stadt: 6,7 % · Rang 3 von 9")
    assert by_label["Nichtdeutsche (Personen)"] == ("18.605 Personen", "Stadt: 89.289 Personen · Rang 1 von 9")
    assert by_label["Projektwohnungen"] == ("18,6 %", "Stadt: kein Wert der Gesamtstadt · Rang 3 von 9")
    formed = definition_list(page, ".card:has(> h2:text-is('Wie der Stadtwert gebildet wird')) dl")
    assert formed["Bevölkerung"] == "Gesamtstadt, veröffentlichter Wert"
    assert formed["12 Herkunftsländer (Personen)"] == "Gesamtstadt, Summe der Bezirke"
    assert formed["Projektwohnungen"].startswith("kein Wert der Gesamtstadt. ")


def test_filter_chosen_in_ui_persists_across_pages(page, page_log, app_server, app_tables):
    """A Bezirk chosen in the filter on the Karte outlines it there and narrows the Zuteilung table after
    following the nav link."""
    open_map(page, app_server, page_log)
    before = snapshot(page)
    pick(page, "filter-bezirke", "III")
    page.keyboard.press("Escape")
    wait_for_change(page, before)
    settle(page, page_log)
    assert map_locations(page) == sorted(BEZIRK_IDS)
    assert outline(page) == ("Auswahl: Stadtbezirk III", served_bezirk_vertices(app_server, {"III"}))
    page.wait_for_function("() => new URLSearchParams(location.search).get('bezirk') === 'III'")
    # the Stichtag travels in links only when there is more than one to choose from
    shared = "bezirk=III" + (f"&stichtag={app_tables.stichtage[-1].isoformat()}"
                             if len(app_tables.stichtage) > 1 else "")
    expect(page.locator("#nav-zuteilung")).to_have_attribute("href", f"/zuteilung?{shared}")

    page.click("#nav-zuteilung")
    page.wait_for_url(f"{app_server.base_url}/zuteilung?{shared}")
    wait_visible(page, page_log, "#zuteilung-table tbody tr")
    settle(page, page_log)
    assert table_column(page, "zuteilung-table") == ["Stadtbezirk III"]
    assert filter_labels(page) == ["Stadtbezirk III"]


def test_page_settings_survive_navigation(page, page_log, app_server, app_tables):
    """The Karte's level and Kennzahl chosen in the UI come back when one leaves and returns by the navigation;
    so does the Daten page's table. The filter travels too."""
    open_map(page, app_server, page_log, f"?indicator=origin12_pct&bezirk=V&{AT_2016}")
    before = snapshot(page)
    page.locator("#karte-level input[value='stadtteil']").check()
    wait_for_change(page, before)
    settle(page, page_log)
    page.wait_for_function("() => new URLSearchParams(location.search).get('level') === 'stadtteil'")

    page.click("#nav-daten")
    wait_visible(page, page_log, "#daten-choice")
    settle(page, page_log)
    pick(page, "daten-choice", "stadtteile")
    settle(page, page_log)
    page.wait_for_function("() => new URLSearchParams(location.search).get('tabelle') === 'stadtteile'")

    page.click("#nav-karte")
    page.wait_for_url(re.compile(r"/\?.*level=stadtteil"))
    wait_visible(page, page_log, MAP_DRAWN)
    settle(page, page_log)
    expect(page.locator("#karte-level input:checked")).to_have_value("stadtteil")
    expect(page.locator("#karte-indicator-value")).to_have_text(catalog(app_tables)["origin12_pct"].label)
    assert map_locations(page) == sorted(all_stadtteile(app_tables))
    assert filter_labels(page) == ["Stadtbezirk V"]

    expect(page.locator("#nav-daten")).to_have_attribute("href", re.compile(r"tabelle=stadtteile"))
    page.click("#nav-daten")
    page.wait_for_url(re.compile(r"/daten\?.*tabelle=stadtteile"))
    expect(page.locator("#daten-choice-value")).to_have_text(DATASETS["stadtteile"].title)


# --- 7. unknown paths -----------------------------------------------------------------------------------------


def expect_404(page, log, app_server, path: str):
    """Open ``path``, expect the friendly 404 page; the browser's own 404 console line is accepted."""
    url = app_server.base_url + path
    log.allow_console("error", r"status of 404", re.escape(url))
    response = page.goto(url)
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Seite nicht gefunden")
    return page.locator("main").inner_text()


def test_unknown_bezirk_is_friendly_404(page, page_log, app_server):
    """An unknown Bezirk answers 404 with a German page linking all nine Bezirke."""
    text = expect_404(page, page_log, app_server, "/bezirk/XYZ")
    assert "Einen Stadtbezirk „XYZ“ gibt es nicht." in text
    links = page.locator(".bezirk-list a")
    assert links.evaluate_all("as => as.map(a => a.getAttribute('href'))") == [f"/bezirk/{b}" for b in BEZIRK_IDS]
    assert links.all_inner_texts() == [f"Stadtbezirk {b}" for b in BEZIRK_IDS]
    page_log.assert_clean()


def test_unknown_path_is_404(page, page_log, app_server):
    """An unknown path answers 404 with the friendly page."""
    text = expect_404(page, page_log, app_server, "/foo")
    assert "Diese Seite gibt es im Dashboard nicht." in text
    page_log.assert_clean()


# --- 8. bad parameters ----------------------------------------------------------------------------------------


def test_bad_parameters_fall_back_with_notice(page, page_log, app_server, app_tables):
    """Unusable parameters show German notices and the default view, without errors."""
    open_map(page, app_server, page_log, f"?indicator=foo&bezirk=XYZ&{AT_2016}")
    wait_visible(page, page_log, "#shell-notices .notice")
    page_notice = page.locator("#karte-notices").inner_text()
    shell_notice = page.locator("#shell-notices").inner_text()
    assert "ungültig" in page_notice and "„foo“" in page_notice
    assert "ungültig" in shell_notice and "„XYZ“" in shell_notice
    expect(page.locator("#karte-indicator-value")).to_have_text(
        "Anteil aus den 12 wesentlichen Herkunftsländern Geflüchteter")
    assert DEFAULT_KENNZAHL == "origin12_pct"
    assert filter_labels(page) == []
    assert continuous_values(page) == bezirk_values(app_tables, DEFAULT_KENNZAHL)
    assert outline(page) is None
    page.wait_for_function("() => new URLSearchParams(location.search).get('indicator') === 'origin12_pct'")
    assert "XYZ" not in page.url
    page_log.assert_clean()


def test_unknown_stichtag_falls_back_to_latest(page, page_log, app_server, app_tables):
    """An unknown Stichtag is named in a notice; the latest Stichtag's values are shown."""
    open_map(page, app_server, page_log, "?stichtag=1999-12-31&scheme=continuous")
    wait_visible(page, page_log, "#shell-notices .notice")
    shell_notice = page.locator("#shell-notices").inner_text()
    assert "ungültig" in shell_notice and "„1999-12-31“" in shell_notice
    latest = app_tables.stichtage[-1].isoformat()
    assert continuous_values(page) == bezirk_values(app_tables, DEFAULT_KENNZAHL, latest)


# --- 9. clicks ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "location", "bezirk"), [("bezirk", "V", "V"), ("stadtteil", "7", "III")],
                         ids=["bezirk-V", "stadtteil-Altendorf"])
def test_click_on_map_opens_profile(page, page_log, app_server, level, location, bezirk):
    """Clicking inside an area on the map opens its Bezirk's profile (a Stadtteil opens its Bezirk's)."""
    open_map(page, app_server, page_log, f"?scheme=continuous&level={level}")
    point = page.evaluate(INSIDE_POINT_JS, [MAP, location])
    assert point is not None, f"no drawn map area for {location}"
    page.mouse.move(point["x"], point["y"])
    page.wait_for_timeout(150)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(f"{app_server.base_url}/bezirk/{bezirk}")
    expect(page.locator("#bezirk-title")).to_have_text(f"Stadtbezirk {bezirk}")
    settle(page, page_log)


def test_click_on_ranking_toggles_filter(page, page_log, app_server):
    """Clicking a ranking bar adds its Bezirk to the shared filter; clicking it again removes it."""
    open_map(page, app_server, page_log, "?scheme=continuous")
    for expected in (["Stadtbezirk II"], []):
        page.locator("#karte-ranking").scroll_into_view_if_needed()  # the mouse clicks in the viewport
        point = page.evaluate(BAR_CENTRE_JS, ["karte-ranking", "II"])
        assert point is not None, "no ranking bar for Bezirk II"
        before = snapshot(page)
        page.mouse.move(point["x"], point["y"])
        page.wait_for_timeout(150)
        page.mouse.click(point["x"], point["y"])
        wait_for_change(page, before)
        settle(page, page_log)
        assert filter_labels(page) == expected
        assert (outline(page) or (None,))[0] == ("Auswahl: Stadtbezirk II" if expected else None)

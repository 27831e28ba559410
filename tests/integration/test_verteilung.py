"""The Verteilungsrechner end to end on the real data: the page in headless Chromium (exact splits, a changed
setting updates the URL and the numbers, a shared link restores the setting, bad settings give notices), its
PNG/PDF exports through /download/chart, and the XLSX download."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
import requests
from PIL import Image
from playwright.sync_api import expect
from pypdf import PdfReader

pytestmark = pytest.mark.browser

STICHTAG = "2016-09-30"
PAGE_35 = f"/verteilung?total=35&unit=posts&key=origin12_count:100&stichtag={STICHTAG}"
MAP_DRAWN = "#verteilung-map .choroplethlocation"
WAIT_TIMEOUT_S = 20
IDS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX")

# Persons from the 12 origin countries at 30.09.2016: I 4795, II 677, III 4162, IV 2158, V 2995, VI 2206,
# VII 2981, VIII 736, IX 577; city = their sum = 21287.
# 35 posts: quota = 35 × count / 21287 → I 7,884  II 1,113  III 6,843  IV 3,548  V 4,924  VI 3,627  VII 4,901
# VIII 1,210  IX 0,949; whole parts 7+1+6+3+4+3+4+1+0 = 29, the 6 left go to the largest remainders
# IX ,949 · V ,924 · VII ,901 · I ,884 · III ,843 · VI ,627.
SPLIT_35 = {"I": 8, "II": 1, "III": 7, "IV": 3, "V": 5, "VI": 4, "VII": 5, "VIII": 1, "IX": 1}
# 36 posts: 36 × count / 21287 → I 8,109  II 1,145  III 7,039  IV 3,650  V 5,065  VI 3,731  VII 5,041  VIII 1,245
# IX 0,976; whole parts 33, the 3 left go to IX ,976 · VI ,731 · IV ,650.
SPLIT_36 = {"I": 8, "II": 1, "III": 7, "IV": 4, "V": 5, "VI": 4, "VII": 5, "VIII": 1, "IX": 1}
# 36 posts, 50 % origin countries + 50 % population (I 67297 … IX 50735, city 588875):
# quota = 36 × (count / 21287 + population / 588875) / 2 → I 6,112  II 2,236  III 6,528  IV 4,394  V 4,320
# VI 3,466  VII 4,687  VIII 2,218  IX 2,039; whole parts 33, the 3 left go to VII ,687 · III ,528 · VI ,466.
SPLIT_36_HALF = {"I": 6, "II": 2, "III": 7, "IV": 4, "V": 4, "VI": 4, "VII": 5, "VIII": 2, "IX": 2}
# 7 posts (Quartiermanager preset): 7 × count / 21287 → I 1,577  II 0,223  III 1,369  IV 0,710  V 0,985  VI 0,725
# VII 0,980  VIII 0,242  IX 0,190; whole parts 2, the 5 left go to V ,985 · VII ,980 · VI ,725 · IV ,710 · I ,577.
SPLIT_7 = {"I": 2, "II": 0, "III": 1, "IV": 1, "V": 1, "VI": 1, "VII": 1, "VIII": 0, "IX": 0}

TRACES_JS = """(id) => {
    const gd = document.querySelector('#' + id + ' .js-plotly-plot');
    if (!gd || !gd.data) return null;
    const arr = v => v == null ? null : Array.isArray(v) ? v : ArrayBuffer.isView(v) ? Array.from(v)
        : (v._inputArray ? Array.from(v._inputArray) : v);
    return gd.data.map(t => ({type: t.type, locations: arr(t.locations), z: arr(t.z), x: arr(t.x),
                              customdata: arr(t.customdata)}));
}"""


# --- helpers -------------------------------------------------------------------------------------------------


def settle(page, log, quiet_ms: int = 300) -> None:
    """Wait until no request has been in flight for ``quiet_ms`` (callbacks done)."""
    deadline, quiet = time.monotonic() + WAIT_TIMEOUT_S, 0
    while quiet < quiet_ms:
        assert time.monotonic() < deadline, f"requests still in flight after {WAIT_TIMEOUT_S} s"
        page.wait_for_timeout(100)
        quiet = 0 if log.in_flight > 0 else quiet + 100


def open_verteilung(page, app_server, log, path: str = PAGE_35):
    response = page.goto(app_server.base_url + path)
    assert response is not None and response.status == 200, f"{path}: HTTP {response and response.status}"
    page.wait_for_selector(MAP_DRAWN, timeout=WAIT_TIMEOUT_S * 1000)
    page.wait_for_selector("#verteilung-ranking .bars", timeout=WAIT_TIMEOUT_S * 1000)
    settle(page, log)


def traces(page, graph_id: str) -> list[dict]:
    data = page.evaluate(TRACES_JS, graph_id)
    assert data is not None, f"no plotly figure in #{graph_id}"
    return data


def map_values(page) -> dict[str, float]:
    (trace,) = [t for t in traces(page, "verteilung-map") if t["type"] == "choropleth"]
    return dict(zip(trace["locations"], trace["z"]))


def ranking_values(page) -> dict[str, float]:
    (bar,) = traces(page, "verteilung-ranking")
    return {c["bezirk_id"]: x for c, x in zip(bar["customdata"], bar["x"])}


def table_rows(page, table_id: str) -> list[list[str]]:
    return page.locator(f"#{table_id} tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))")


def table_split(page) -> dict[str, str]:
    """Return Bezirk → the Zuteilung cell of the result table (and 'Summe' → the sum)."""
    header, *rows = table_rows(page, "verteilung-table")
    column = header.index("Zuteilung")
    return {row[0].removeprefix("Stadtbezirk "): row[column] for row in rows}


def posts(split: dict[str, int]) -> dict[str, str]:
    """Return how the table writes a split of posts, with its sum."""
    words = {b: f"{n} Stelle" if n == 1 else f"{n} Stellen" for b, n in split.items()}
    return {**words, "Summe": f"{sum(split.values())} Stellen"}


def url_params(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def wait_for_url(page, **expected: str) -> None:
    """Wait until the address bar holds these parameter values."""
    checks = " && ".join(f"p.get({k!r}) === {v!r}" for k, v in expected.items())
    page.wait_for_function(f"() => {{ const p = new URLSearchParams(location.search); return {checks}; }}",
                           timeout=WAIT_TIMEOUT_S * 1000)


def type_into(page, log, label: str, value: str) -> None:
    """Type a value into the labelled field and confirm it (the fields send on Enter or when left)."""
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")
    settle(page, log)


# --- the page ------------------------------------------------------------------------------------------------


def test_page_shows_the_exact_35_post_split(page, page_log, app_server, screenshot_dir):
    """The issue's URL: the largest-remainder split of 35 posts at 30.09.2016 on map, ranking and table, the
    comparison with project housing, labelled controls, one heading, exports linked with the whole setting."""
    open_verteilung(page, app_server, page_log)
    expect(page).to_have_title("Verteilung – Sozialdaten Essen")
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text("Verteilungsrechner")
    expect(page.locator("#nav-verteilung")).to_have_text("Verteilung")

    assert map_values(page) == SPLIT_35 and sum(SPLIT_35.values()) == 35
    assert ranking_values(page) == SPLIT_35
    assert table_split(page) == posts(SPLIT_35)
    explain = page.locator("#verteilung-explain").inner_text()
    assert explain.startswith("35 Stellen werden nach dem Schlüssel 100 % Personen aus den 12 wesentlichen "
                              "Herkunftsländern Geflüchteter (Stand 30.09.2016) auf die neun Stadtbezirke verteilt.")
    assert "zusammen ergibt das genau 35 Stellen" in explain

    # comparison: published housing share − 100 × count / 21287 (e.g. VII 19,0 − 14,00 = +5,0; VI 10,4 − 10,36)
    header, *rows = table_rows(page, "verteilung-comparison-table")
    assert header == ["Stadtbezirk", "Schlüsselanteil", "Anteil an den Projektwohnungen", "Abweichung",
                      "Projektwohnungen …"]
    by_bezirk = {row[0].removeprefix("Stadtbezirk "): row[1:] for row in rows}
    assert by_bezirk["I"] == ["22,53 %", "22,3 %", "−0,2 Pp.", "weniger als nach Schlüssel"]
    assert by_bezirk["VI"] == ["10,36 %", "10,4 %", "0,0 Pp.", "etwa wie nach Schlüssel"]
    assert by_bezirk["VII"] == ["14,00 %", "19,0 %", "+5,0 Pp.", "mehr als nach Schlüssel"]
    assert page.locator("#verteilung-comparison .bars").count() == 1

    # every control has a German label
    expect(page.get_by_label("Gesamtmenge", exact=True)).to_have_value("35")
    expect(page.get_by_label("Mindestens je Bezirk (optional)", exact=True)).to_have_value("0")
    expect(page.get_by_label("Personen aus den 12 wesentlichen Herkunftsländern Geflüchteter")).to_have_value("100")
    expect(page.get_by_label("Gesamtbevölkerung")).to_have_value("0")
    expect(page.get_by_role("radio", name="Stellen")).to_be_checked()
    expect(page.locator("#verteilung-weight-sum")).to_have_text("Summe der Gewichte: 100 %")
    for preset in ("1.000.000 €: Integrationsbudget der Bezirksstellen 2017/2018",
                   "35 Stellen: Stellen bei den Wohlfahrtsverbänden (VZÄ)",
                   "7 Stellen: Quartiermanager in den Sozialen Diensten",
                   "30 Stellen: Stellen der Beratung für Neuzugewanderte (seit 2021)",
                   "4.900.000 €: Integrationsbudget je Jahr (Haushalt 2020/2021)"):
        expect(page.get_by_role("button", name=preset)).to_have_count(1)
    method = page.locator("#verteilung-method").inner_text()
    assert "Hare-Niemeyer" in method and "Ratsvorlage 1846/2016 vom 13.12.2016" in method

    # the setting is in the address bar and in every export link
    wait_for_url(page, total="35", unit="posts", key="origin12_count:100", min="0")
    for chart in ("map", "ranking", "comparison", "table"):
        href = page.locator(f"#verteilung-dl-{chart}-png").get_attribute("href")
        assert parse_qs(urlparse(href).query) == {
            "page": ["verteilung"], "chart": [chart], "total": ["35"], "unit": ["posts"],
            "key": ["origin12_count:100"], "min": ["0"], "stichtag": [STICHTAG], "format": ["png"]}
    page.screenshot(path=str(screenshot_dir / "verteilung.png"), full_page=True)


def test_changed_settings_update_url_and_numbers(page, page_log, app_server, browser):
    """A new total and a new key change the numbers and the address; the address restores them elsewhere."""
    open_verteilung(page, app_server, page_log)
    type_into(page, page_log, "Gesamtmenge", "36")
    wait_for_url(page, total="36")
    assert table_split(page) == posts(SPLIT_36)
    assert map_values(page) == SPLIT_36 and ranking_values(page) == SPLIT_36

    # half the weight to the population: while the weights add up to 50 the page says so and keeps the default
    type_into(page, page_log, "Personen aus den 12 wesentlichen Herkunftsländern Geflüchteter", "50")
    expect(page.locator("#verteilung-weight-sum")).to_have_text(
        "Summe der Gewichte: 50 % – die Gewichte müssen zusammen 100 % ergeben.")
    expect(page.locator("#verteilung-notices")).to_contain_text("die Gewichte ergeben 50 statt 100")
    assert table_split(page) == posts(SPLIT_36)
    type_into(page, page_log, "Gesamtbevölkerung", "50")
    wait_for_url(page, total="36", key="origin12_count:50,population_count:50")
    expect(page.locator("#verteilung-notices")).to_have_text("")
    assert table_split(page) == posts(SPLIT_36_HALF)
    assert map_values(page) == SPLIT_36_HALF

    # the shared link, opened afresh, shows the same setting and the same numbers
    shared = page.url
    assert parse_qs(urlparse(shared).query)["key"] == ["origin12_count:50,population_count:50"]
    other = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="de-DE").new_page()
    try:
        other.goto(shared)
        other.wait_for_selector(MAP_DRAWN, timeout=WAIT_TIMEOUT_S * 1000)
        expect(other.get_by_label("Gesamtmenge", exact=True)).to_have_value("36")
        expect(other.get_by_label("Gesamtbevölkerung")).to_have_value("50")
        assert table_split(other) == posts(SPLIT_36_HALF)
    finally:
        other.context.close()


def test_preset_takes_unit_and_total(page, page_log, app_server):
    """A preset sets unit and total (the 7 Quartiermanager posts); the euro preset switches the unit."""
    open_verteilung(page, app_server, page_log)
    page.get_by_role("button", name="7 Stellen: Quartiermanager in den Sozialen Diensten").click()
    wait_for_url(page, total="7", unit="posts")
    settle(page, page_log)
    assert table_split(page) == posts(SPLIT_7)
    expect(page.get_by_label("Gesamtmenge", exact=True)).to_have_value("7")
    assert "Quartiermanager in den Sozialen Diensten, Ratsvorlage 1846/2016" in \
        page.locator("#verteilung-method").inner_text()

    page.get_by_role("button", name="1.000.000 €: Integrationsbudget der Bezirksstellen 2017/2018").click()
    wait_for_url(page, total="1000000", unit="eur")
    settle(page, page_log)
    expect(page.get_by_role("radio", name="Euro")).to_be_checked()
    split = table_split(page)
    # 100.000.000 Cent × count / 21287: I 22525485 r 805 … (see the unit tests); the sum is exact to the cent
    assert split["I"] == "225.254,85 €" and split["V"] == "140.696,20 €" and split["Summe"] == "1.000.000,00 €"


@pytest.mark.parametrize(("query", "notices"), [
    ("total=-5&unit=posts&key=origin12_pct:100&min=99",
     ["„-5“ für „total“ ist ungültig", "„origin12_pct:100“ für „key“ ist ungültig", "„99“ für „min“ ist ungültig"]),
    ("total=35&key=origin12_count:50,population_count:30", ["die Gewichte ergeben 80 statt 100"]),
    ("total=1e12&key=unbekannt:100", ["höchstens 10.000 Stellen", "unbekannte Kennzahl „unbekannt“"]),
    ("total=7&min=1", ["9 Bezirke × 1 Stellen sind mehr als die Gesamtmenge 7 Stellen"]),
])
def test_bad_settings_get_a_notice_not_an_error_page(page, page_log, app_server, query, notices):
    open_verteilung(page, app_server, page_log, f"/verteilung?{query}&stichtag={STICHTAG}")
    text = page.locator("#verteilung-notices").inner_text()
    for words in notices:
        assert words in text
    assert "angezeigt wird" in text
    shown = table_split(page)
    assert shown["Summe"] in ("35 Stellen", "7 Stellen")
    if shown["Summe"] == "35 Stellen":
        assert shown == posts(SPLIT_35)
        wait_for_url(page, total="35", key="origin12_count:100", min="0")
    else:
        assert shown == posts(SPLIT_7)
        wait_for_url(page, total="7", min="0")


# --- exports -------------------------------------------------------------------------------------------------


def fetch(app_server, href: str) -> requests.Response:
    return requests.get(app_server.base_url + href, timeout=60)


def test_exports_through_the_views_registry(page, page_log, app_server):
    """The page's PNG and PDF links give the same view as a 16:9 slide and an A4 page, with key, rule and
    source; a bad setting in an export link answers 400 in German."""
    open_verteilung(page, app_server, page_log)
    for chart in ("map", "ranking", "comparison", "table"):
        png = fetch(app_server, page.locator(f"#verteilung-dl-{chart}-png").get_attribute("href"))
        assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
        assert Image.open(io.BytesIO(png.content)).size == (1920, 1080)
        pdf = fetch(app_server, page.locator(f"#verteilung-dl-{chart}-pdf").get_attribute("href"))
        assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
        text = " ".join(PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().split())
        assert "Stand 30.09.2016" in text and "Quelle: Stadt Essen, FB 12, Stand 30.09.2016" in text
        assert "Ratsvorlage 1846/2016 vom 13.12.2016" in text  # where the 35 posts come from
        if chart != "comparison":
            assert "Schlüssel nach Personen: 100 % 12 Herkunftsländer" in text
            assert "gerundet nach größten Resten (Hare-Niemeyer), Summe genau 35 Stellen" in text
    table = " ".join(PdfReader(io.BytesIO(fetch(app_server, page.locator("#verteilung-dl-table-pdf")
                                                .get_attribute("href")).content)).pages[0].extract_text().split())
    assert "Verteilung von 35 Stellen: Werte je Bezirk" in table and "35 Stellen" in table
    bad = fetch(app_server, f"/download/chart?page=verteilung&chart=map&total=35&key=foo:100&stichtag={STICHTAG}")
    assert bad.status_code == 400 and "unbekannte Kennzahl „foo“" in bad.text


def test_xlsx_download(page, page_log, app_server):
    """The XLSX button sends the split shown, with key, rounding rule and sources."""
    open_verteilung(page, app_server, page_log)
    with page.expect_download() as info:
        page.get_by_role("button", name="Ergebnis als XLSX").click()
    download = info.value
    assert download.suggested_filename == f"essen-verteilung_35-posts_{STICHTAG}.xlsx"
    sheets = pd.read_excel(download.path(), sheet_name=None)
    assert list(sheets) == ["Verteilung", "Schlüssel", "Methode", "Quellen"]
    result = sheets["Verteilung"]
    assert dict(zip(result["Stadtbezirk"], result["Zuteilung (Stellen)"])) == {**SPLIT_35, "Summe": 35}
    assert sheets["Schlüssel"]["Summe der Bezirke"].tolist() == [21287]
    method = dict(zip(sheets["Methode"]["Punkt"], sheets["Methode"]["Angabe"]))
    assert "Hare-Niemeyer" in method["Rundung"] and method["Schlüssel (URL)"] == "origin12_count:100"
    sources = " ".join(sheets["Quellen"]["Quelle"])
    assert "Stadt Essen, FB 12, Stand 30.09.2016" in sources and "Ratsvorlage 1846/2016" in sources
    settle(page, page_log)


# --- accessibility -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [f"total=35&unit=posts&key=origin12_count:100&stichtag={STICHTAG}",
                                   f"total=1000000&unit=eur&key=origin12_count:50,population_count:50&min=50000"
                                   f"&bezirk=III&stichtag={STICHTAG}",
                                   f"total=-1&key=origin12_pct:100&stichtag={STICHTAG}"],
                         ids=["posts", "euro-minimum-filter", "notices"])
def test_no_wcag_violations(page, page_log, app_server, query):
    """axe-core (the suite's WCAG 2.1 A/AA check) finds nothing on the page, with notices or without."""
    from tests.integration.test_a11y import AXE, axe_violations

    assert AXE.is_file(), "axe-core missing: run `npm ci` (make test does)"
    open_verteilung(page, app_server, page_log, f"/verteilung?{query}")
    assert axe_violations(page) == []


def test_typed_settings_are_kept_but_only_the_last_few():
    """A typed setting asked for again is answered from the memo (the same objects); the memo of typed settings
    holds at most TYPED_KEPT of them, whatever people type."""
    import sys

    import dash

    from essen_dash import paths
    from essen_dash.app import create_app
    from essen_dash.data import current
    from essen_dash.params import parse

    create_app(paths.settings(), warm=False)
    page = sys.modules[dash.page_registry["pages.verteilung"]["module"]]  # as Dash imported it

    data = current()

    def typed(total: int):
        p, bad = parse({"unit": "eur", "total": str(total), "key": "origin12_count:60,population_count:40"}, data,
                       page.PARAMS)
        assert not bad
        return page.results(data, p)

    first = typed(123457)
    assert typed(123457) is first
    for total in range(200000, 200000 + 2 * page.TYPED_KEPT):
        typed(total)
    assert page.typed_results.cache_info().currsize == page.TYPED_KEPT
    assert typed(123457) is not first

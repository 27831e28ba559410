"""Change over time in the browser, on a data folder with a MADE-UP second Stichtag (tests/multi_year.py):
the map of change from a shared URL and from the comparison control, the timeline stepping through the
Stichtage without fetching boundaries again, and the profile's series."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from essen_dash import paths
from essen_dash.tables.load import load_tables
from tests.conftest import FIXTURE_DATA
from tests.integration.conftest import Server, free_port, wait_for_health
from tests.integration.test_browser import (choropleths, continuous_values, drawn_as, hover_lines, open_map, open_page,
                                            pick, ranking_values, settle, snapshot, traces, wait_for_change)
from tests.multi_year import FIRST, SECOND, add_made_up_stichtag

pytestmark = pytest.mark.browser
COMPARE = f"indicator=origin12_pct&stichtag={SECOND}&compare={FIRST}"


@pytest.fixture(scope="module")
def two_stichtage(tmp_path_factory):
    """The frozen 2016 package (not data/, which may hold other Stichtage) with the made-up second one."""
    folder = tmp_path_factory.mktemp("two") / "data"
    shutil.copytree(FIXTURE_DATA, folder)
    return add_made_up_stichtag(folder)


@pytest.fixture(scope="module")
def app_server(two_stichtage, tmp_path_factory):
    """The app on the data folder with two Stichtage (overrides the session's server for this module)."""
    port, root = free_port(), tmp_path_factory.mktemp("server-two")
    log_path = root / "server.log"
    env = {**os.environ, paths.DATA_DIR_ENV: str(two_stichtage), paths.CACHE_DIR_ENV: str(root / "cache"),
           "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, str(paths.REPO_ROOT / "app.py"), "--port", str(port)],
                                   cwd=paths.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process, log_path)
        yield Server(f"http://127.0.0.1:{port}", log_path)
    finally:
        process.terminate()
        process.wait(timeout=10)


def change_values(page) -> dict[str, float]:
    """Return location → z of the map of change (its one valued trace, named after the comparison)."""
    (trace,) = [t for t in choropleths(page) if (t["name"] or "").startswith("Veränderung gegenüber")]
    return {loc: z for loc, z in zip(trace["locations"], trace["z"]) if z is not None}


def expected_change(folder, key: str) -> dict[str, float]:
    """Return Bezirk → change in percentage points, read from the data folder itself."""
    v = load_tables(folder)["values"]
    v = v[(v["level"] == "bezirk") & (v["kennzahl"] == key)]
    now = dict(zip(v[v["stichtag"] == SECOND]["area"], v[v["stichtag"] == SECOND]["value"]))
    before = dict(zip(v[v["stichtag"] == FIRST]["area"], v[v["stichtag"] == FIRST]["value"]))
    return {b: round(now[b] - before[b], 9) for b in now if b in before}


def test_compare_url_maps_the_exact_change(page, page_log, app_server, two_stichtage):
    open_map(page, app_server, page_log, f"?{COMPARE}")
    expected = expected_change(two_stichtage, "origin12_pct")
    assert len(expected) == 8  # IX has no value at the second date
    assert change_values(page) == pytest.approx(expected)
    assert drawn_as(page, "kein Vergleich möglich") == ["IX"]
    assert hover_lines(page, "I")[:3] == ["Stadtbezirk I", "+1,4 %-Punkte (7,1 % → 8,5 %)", "Rang 1 von 8"]
    assert hover_lines(page, "IX") == ["Stadtbezirk IX", "kein Vergleich möglich", "kein Vergleich möglich",
                                       hover_lines(page, "I")[3]]
    assert ranking_values(page) == pytest.approx(expected)
    legend = page.evaluate("() => document.querySelector('#karte-map .js-plotly-plot').layout.legend.title.text")
    assert legend == "Veränderung gegenüber 30.09.2016 (%-Punkte)"
    expect(page.locator("#karte-map-heading")).to_contain_text("30.09.2016 → 31.12.2018 · Veränderung in "
                                                               "Prozentpunkten")
    expect(page.locator("#karte-map-caption")).to_contain_text("am stärksten gestiegen in Stadtbezirk I (+1,4 "
                                                               "%-Punkte; 7,1 % → 8,5 %)")
    expect(page.locator("#filter-compare")).to_contain_text("30.09.2016")
    rows = page.locator("#karte-table tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    assert page.locator("#karte-table thead th").all_inner_texts() == [
        "Gebiet", "30.09.2016", "31.12.2018", "Veränderung (%-Punkte)"]
    assert rows[0] == ["Stadtbezirk I", "7,1 %", "8,5 %", "+1,4 %-Punkte"]
    assert rows[-1] == ["Stadtbezirk IX", "1,1 %", "kein Wert veröffentlicht", "kein Vergleich möglich"]
    # every export of the view names both dates
    href = page.get_attribute("#karte-dl-map-svg", "href")
    assert f"compare={FIRST}" in href and f"stichtag={SECOND}" in href


def test_the_comparison_control_turns_the_map_into_change_and_back(page, page_log, app_server, two_stichtage):
    open_map(page, app_server, page_log, f"?indicator=origin12_pct&scheme=continuous&stichtag={SECOND}")
    before = snapshot(page)
    pick(page, "filter-compare", FIRST.isoformat())
    page.keyboard.press("Escape")
    wait_for_change(page, before)
    settle(page, page_log)
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('compare') === '{FIRST}'")
    assert change_values(page) == pytest.approx(expected_change(two_stichtage, "origin12_pct"))
    # the Stichtag itself cannot be chosen to compare with
    page.click("#filter-compare")
    expect(page.locator(f'.dash-dropdown-option input[value="{SECOND}"]')).to_be_disabled()
    expect(page.locator(f'.dash-dropdown-option input[value="{FIRST}"]')).to_be_enabled()
    page.keyboard.press("Escape")


def test_the_timeline_steps_through_the_stichtage_without_fetching_boundaries(page, page_log, app_server):
    open_map(page, app_server, page_log, f"?indicator=origin12_pct&scheme=continuous&stichtag={SECOND}")
    geo_before = [r for r in page_log.requests if "/geo/" in r]
    at_second = continuous_values(page)
    before = snapshot(page)
    page.click("#karte-play")
    expect(page.locator("#karte-play")).to_have_text("Anhalten")
    wait_for_change(page, before)  # the player stepped on (from the last Stichtag to the first)
    page.click("#karte-play")
    expect(page.locator("#karte-play")).to_have_text("Abspielen")
    settle(page, page_log)
    shown = page.evaluate("() => new URLSearchParams(location.search).get('stichtag')")
    assert shown in (FIRST.isoformat(), SECOND.isoformat())
    # by keyboard: the slider's handle moves one Stichtag per arrow key
    page.locator(".timeline-slider").get_by_role("slider").focus()
    page.keyboard.press("End")
    settle(page, page_log)
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('stichtag') === '{SECOND}'")
    assert continuous_values(page) == pytest.approx(at_second)
    page.keyboard.press("Home")
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('stichtag') === '{FIRST}'")
    settle(page, page_log)
    assert continuous_values(page)["I"] == pytest.approx(7.1)
    assert [r for r in page_log.requests if "/geo/" in r] == geo_before  # boundaries fetched once, on load


def test_the_profile_draws_every_kennzahl_over_the_stichtage(page, page_log, app_server):
    open_page(page, app_server, page_log, f"/bezirk/I?stichtag={SECOND}", "#bezirk-series .js-plotly-plot")
    lines = [t for t in traces(page, "bezirk-series") if t["type"] == "scatter"]
    own = [t for t in lines if t["name"] == "Stadtbezirk I"]
    assert len(own) == 11  # one small chart per Bezirk Kennzahl
    assert own[0]["y"] == pytest.approx([7.1, 8.5])  # 12 Herkunftsländer, 2016 → the made-up 2018
    assert {t["name"] for t in lines} >= {"Gesamtstadt", "Stadtkern", "Nordviertel", "Südostviertel"}
    expect(page.locator("#bezirk-series-caption")).to_contain_text("12 Herkunftsländer 7,1 % (30.09.2016) → "
                                                                   "8,5 % (31.12.2018)")
    assert re.search(r"2 Stichtage, 30\.09\.2016 bis 31\.12\.2018", page.inner_text("#bezirk-series-heading"))


@pytest.mark.parametrize("path", [f"/?{COMPARE}&level=stadtteil", f"/bezirk/III?stichtag={SECOND}"])
def test_change_views_have_no_wcag_violations(page, page_log, app_server, path):
    from tests.integration.test_a11y import axe_violations

    open_page(page, app_server, page_log, path, ".js-plotly-plot")
    settle(page, page_log)
    assert axe_violations(page) == []


@pytest.mark.parametrize(("path", "ready"), [("/", ".js-plotly-plot"), ("/jobcenter", ".js-plotly-plot"),
                                             ("/daten", "#daten-table td"), ("/bezirk/V", "#bezirk-series")])
def test_pages_opened_at_the_earlier_stichtag_work_and_follow_a_change(page, page_log, app_server, path, ready):
    """Opening any page at the earlier Stichtag (the filter then changes on load) and choosing the later one in
    the filter: no console error anywhere (the page fixture checks), the URL follows."""
    open_page(page, app_server, page_log, f"{path}?stichtag={FIRST}", ready)
    pick(page, "filter-stichtag", SECOND.isoformat())
    page.keyboard.press("Escape")
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('stichtag') === '{SECOND}'")
    settle(page, page_log)


@pytest.mark.parametrize("width", [1600, 1280, 390])
@pytest.mark.parametrize(("path", "ready"), [(f"/?{COMPARE}", "#karte-map .choroplethlocation"),
                                             (f"/bezirk/III?stichtag={SECOND}", "#bezirk-series .scatterlayer")],
                         ids=["karte-vergleich", "profil-reihen"])
def test_change_views_keep_their_text_on_screen(page, page_log, app_server, width, path, ready):
    from tests.integration.test_clipping import GRAPHS_JS

    page.set_viewport_size({"width": width, "height": 1000})
    open_page(page, app_server, page_log, path, ready)
    page.wait_for_timeout(400)  # plotly relayouts on resize
    assert page.evaluate(GRAPHS_JS) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width

"""The first picture: the Karte's first HTML response draws the map the app draws next, in the same colours."""

from __future__ import annotations

import re
import urllib.request

import pytest

pytestmark = pytest.mark.browser

SNAPSHOT_PATHS = "#first-paint .snapshot-map path[data-loc]"
MAP_DRAWN = "#karte-map .js-plotly-plot .choroplethlocation"
#: computed fill of each snapshot area, by location key
SNAPSHOT_FILLS_JS = """() => Object.fromEntries(Array.from(document.querySelectorAll('#first-paint .snapshot-map path[data-loc]'))
    .map(p => [p.dataset.loc, getComputedStyle(p).fill]))"""
#: computed fill of each area plotly.js drew, by location key
MAP_FILLS_JS = """() => Object.fromEntries(Array.from(document.querySelectorAll('#karte-map .choroplethlocation'))
    .filter(p => p.__data__ && p.__data__.loc != null).map(p => [p.__data__.loc, getComputedStyle(p).fill]))"""
SNAPSHOT_TEXT_JS = """() => Array.from(document.querySelectorAll('#first-paint .snapshot-map text'))
    .map(t => Array.from(t.querySelectorAll('tspan')).map(s => s.textContent).join(' ')).sort()"""
MAP_TEXT_JS = """() => Array.from(document.querySelectorAll('#karte-map .trace.scattergeo text'))
    .map(t => (t.querySelectorAll('tspan').length ? Array.from(t.querySelectorAll('tspan')).map(s => s.textContent)
               : [t.textContent]).join(' ')).filter(s => s).sort()"""


def channels(colour: str) -> list[int]:
    return [int(c) for c in re.findall(r"\d+", colour)[:3]]


@pytest.mark.parametrize("query", ["", "?level=stadtteil", "?scheme=quantiles", "?bezirk=III",
                                   "?indicator=bg_ro_pct&level=stadtteil&scheme=deviation"])
def test_the_first_response_draws_the_map_the_app_then_draws(page, app_server, query):
    html = urllib.request.urlopen(app_server.base_url + "/" + query, timeout=30).read().decode()
    first, entry = html.index('id="first-paint"'), html.index('id="react-entry-point"')
    assert first < entry  # the picture comes before the app's entry point (and its scripts)

    page.goto(app_server.base_url + "/" + query, wait_until="commit")
    page.wait_for_selector(SNAPSHOT_PATHS, state="visible")
    assert page.query_selector(MAP_DRAWN) is None  # the picture is there before the app has drawn anything
    snapshot, snapshot_text = page.evaluate(SNAPSHOT_FILLS_JS), page.evaluate(SNAPSHOT_TEXT_JS)

    page.wait_for_selector(MAP_DRAWN, state="visible")
    page.wait_for_selector("#first-paint", state="detached")
    drawn = page.evaluate(MAP_FILLS_JS)
    assert sorted(snapshot) == sorted(drawn)  # the same areas
    for loc, colour in drawn.items():  # the same colours (plotly.js and plotly.py interpolate to ±1 per channel)
        assert all(abs(a - b) <= 1 for a, b in zip(channels(snapshot[loc]), channels(colour))), (loc, snapshot[loc],
                                                                                                colour)
    assert snapshot_text == page.evaluate(MAP_TEXT_JS)  # the same labels


def test_the_picture_stands_where_the_map_will_stand(page, app_server):
    page.goto(app_server.base_url + "/", wait_until="commit")
    page.wait_for_selector(SNAPSHOT_PATHS, state="visible")
    page.wait_for_function("getComputedStyle(document.querySelector('#first-paint .map-card')).borderTopStyle "
                           "=== 'solid'")  # the picture as painted with the page's style sheet
    before = page.eval_on_selector("#first-paint .snapshot-map", "e => e.getBoundingClientRect().toJSON()")
    page.wait_for_selector("#first-paint", state="detached")
    page.wait_for_selector(MAP_DRAWN, state="visible")
    after = page.eval_on_selector("#karte-map .main-svg", "e => e.getBoundingClientRect().toJSON()")
    assert abs(before["left"] - after["left"]) <= 2 and abs(before["top"] - after["top"]) <= 4


def test_pages_without_a_picture_and_an_inert_picture(app_server):
    assert 'id="first-paint"' not in urllib.request.urlopen(app_server.base_url + "/jobcenter", timeout=30).read().decode()
    html = urllib.request.urlopen(app_server.base_url + "/", timeout=30).read().decode()
    opening = re.search(r'<div id="first-paint"[^>]*>', html).group(0)
    assert 'aria-hidden="true"' in opening and "inert" in opening  # not a second, unlabelled copy for a reader
    assert "<a " not in html[html.index('id="first-paint"'):html.index('id="react-entry-point"')]


def test_the_apps_own_files_are_kept_by_the_browser_for_a_year(app_server):
    """A repeat visit fetches nothing of the app's own: every asset URL in the page carries its file's
    modification time, and such a URL may be cached for a year; the same file without it must be revalidated."""
    html = urllib.request.urlopen(app_server.base_url + "/", timeout=30).read().decode()
    assets = re.findall(r'"(/assets/[^"?]+\?m=[0-9.]+)"', html)
    assert {a.split("?")[0] for a in assets} >= {"/assets/style.css", "/assets/first_paint.js"}
    for url in assets:
        with urllib.request.urlopen(app_server.base_url + url, timeout=30) as response:
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable", url
    with urllib.request.urlopen(app_server.base_url + "/assets/style.css", timeout=30) as response:
        assert response.headers["Cache-Control"] == "no-cache"

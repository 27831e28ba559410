"""No text is cut: every text of every exported chart lies inside its canvas, measured by Chromium itself.

Each view is exported as SVG (the layout PNG and PDF share); the SVG is opened in the real browser, and the
bounding box of every <text> is compared with the canvas. The same check runs on the pages' charts at 1600,
1280 and 390 px width.
"""

from __future__ import annotations

import pytest

from essen_dash.data import current
from essen_dash.export.charts import parse_request
from essen_dash.views import VIEWS, build
from tests.integration.test_browser import AT_2016, open_page

DAY = "2016-09-30"
#: parameters that make every view show something typical (a filter where the view narrows by it)
PARAMS = {"bezirk": "III", "stichtag": DAY, "gruppe": "Bulgarien", "indicator": "bg_ro_pct",
          "total": "35", "unit": "posts", "key": "origin12_count:100"}
OUTSIDE_JS = """() => {
    const svg = document.querySelector('svg');
    const box = svg.getBoundingClientRect();
    return Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim()).map(t => {
        const r = t.getBoundingClientRect();
        return {text: t.textContent.trim().slice(0, 60), left: r.left - box.left, right: r.right - box.left,
                top: r.top - box.top, bottom: r.bottom - box.top, width: box.width, height: box.height};
    }).filter(r => r.left < -1 || r.top < -1 || r.right > r.width + 1 || r.bottom > r.height + 1);
}"""


@pytest.fixture(scope="module")
def client():
    from essen_dash.app import create_app

    return create_app().server.test_client()


@pytest.mark.parametrize("caption", ["0", "1"], ids=["ohne-satz", "mit-satz"])
@pytest.mark.parametrize("key", list(VIEWS))
def test_exported_text_stays_on_the_canvas(client, browser, key, caption):
    view = VIEWS[key]
    query = {"page": view.page, "chart": view.chart, "format": "svg", "caption": caption,
             **{k: v for k, v in PARAMS.items() if k in (*view.params, "stichtag")}}
    response = client.get("/download/chart", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    page = browser.new_page()
    try:
        page.set_content(response.get_data(as_text=True))
        assert page.evaluate(OUTSIDE_JS) == []
        texts = " ".join(page.locator("svg text").all_text_contents())
        data = current()
        first_words = build(data, key, parse_request(query, data).params).caption.split()[:6]
        if first_words:  # the table views have no sentence
            assert (" ".join(first_words) in texts) == (caption == "1")
    finally:
        page.close()


SCREEN_PAGES = [("/", "#karte-map .choroplethlocation"), ("/bezirk/III", "#bezirk-profile .bars"),
                ("/jobcenter", "#jobcenter-heatmap .hm"), ("/zuteilung", "#zuteilung-scatter .scatterlayer"),
                ("/verteilung", "#verteilung-table tbody tr")]
GRAPHS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(plot => {
    const box = plot.getBoundingClientRect();
    // a text not drawn (a map label on a phone) has no box and cannot be cut
    return Array.from(plot.querySelectorAll('.main-svg text')).filter(t => t.textContent.trim() &&
                                                                            t.getClientRects().length).map(t => {
        const r = t.getBoundingClientRect();
        return {graph: plot.parentElement.id, text: t.textContent.trim().slice(0, 40),
                out: r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
                     r.bottom > box.bottom + 1};
    }).filter(r => r.out);
})"""


@pytest.mark.parametrize("width", [1600, 1280, 390])
@pytest.mark.parametrize(("path", "ready"), SCREEN_PAGES, ids=[p for p, _ in SCREEN_PAGES])
def test_screen_text_stays_in_its_chart(page, page_log, app_server, width, path, ready):
    page.set_viewport_size({"width": width, "height": 1000})
    open_page(page, app_server, page_log, f"{path}?{AT_2016}", ready)
    page.wait_for_timeout(400)  # plotly relayouts on resize
    assert page.evaluate(GRAPHS_JS) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


LABELS_JS = """(id) => Array.from(document.querySelectorAll('#' + id + ' .geo .trace.scattergeo text')).map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
}).filter(r => r.text.trim() && r.right > r.left)"""


def covering(labels: list[dict]) -> list[tuple[str, str]]:
    """Return the pairs of labels whose boxes overlap."""
    return [(a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1:]
            if a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]]


@pytest.mark.parametrize("width", [1600, 1024, 600, 390])
def test_map_labels_never_cover_each_other(page, page_log, app_server, width):
    """Small central Stadtteile lie close together: each label is placed where it covers no other (else the value
    alone, else none); a phone's map is too small for labels and shows none."""
    page.set_viewport_size({"width": width, "height": 1000})
    open_page(page, app_server, page_log, f"/?{AT_2016}&indicator=origin12_pct&level=stadtteil",
              "#karte-map .choroplethlocation")
    page.wait_for_timeout(400)  # plotly relayouts on resize
    labels = page.evaluate(LABELS_JS, "karte-map")
    assert covering(labels) == []
    texts = [label["text"] for label in labels]
    if width < 600:
        assert texts == []
    else:  # the highest value with its name; its close neighbours with their value or not at all
        assert "Stadtkern11,7 %" in texts and "Altendorf8,3 %" in texts and len(texts) >= 6


@pytest.mark.parametrize("width", [1280, 600])
def test_jobcenter_map_labels_never_cover_each_other(page, page_log, app_server, width):
    """The JobCenter areas' labels are placed as the Karte's (name and share, else the share alone, else none):
    at 2016's shares every area has room for its whole label."""
    page.set_viewport_size({"width": width, "height": 1000})
    open_page(page, app_server, page_log, f"/jobcenter?{AT_2016}", "#jobcenter-map .choroplethlocation")
    page.wait_for_timeout(400)  # plotly relayouts on resize
    labels = page.evaluate(LABELS_JS, "jobcenter-map")
    assert covering(labels) == []
    assert sorted(label["text"] for label in labels) == [
        "Mitte-Nord21,2 %", "Mitte19,1 %", "Nord-Ost8,8 %", "Nord-West4,7 %", "Nord9,9 %", "Ost9,8 %",
        "Süd 1 8,7 %Süd 2 8,1 %", "West9,3 %"]


LINE_CROSSINGS_JS = """(id) => {
    const plot = document.querySelector('#' + id + ' .js-plotly-plot');
    const line = plot.querySelector('.shapelayer path').getBoundingClientRect();
    const x = line.left + line.width / 2;
    return Array.from(plot.querySelectorAll('.bars text.bartext')).map(t => {
        const r = t.getBoundingClientRect();
        return {text: t.textContent, crosses: r.left < x && x < r.right};
    });
}"""


@pytest.mark.parametrize("width", [1280, 390])
def test_profile_labels_keep_off_the_city_line(page, page_log, app_server, width):
    """Bezirk III's Rumänien bar ends at index 96, just short of the dashed city line: its label is written inside
    the bar's end, not across the line; the other bars keep theirs outside."""
    page.set_viewport_size({"width": width, "height": 1000})
    open_page(page, app_server, page_log, f"/bezirk/III?{AT_2016}", "#bezirk-profile .bars")
    page.wait_for_timeout(400)  # plotly relayouts on resize
    labels = page.evaluate(LINE_CROSSINGS_JS, "bezirk-profile")
    assert sorted(label["text"] for label in labels) == ["18,9 %", "3,8 %", "4,2 %", "4,3 %", "8,1 %"]
    assert [label["text"] for label in labels if label["crosses"]] == []

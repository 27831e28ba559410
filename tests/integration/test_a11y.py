"""Accessibility in the real Chromium: axe-core (from the npm registry, see package.json) finds no WCAG 2.1 A/AA
violation on any page or state the tests visit, and every mouse action has a keyboard way."""

from __future__ import annotations

import pytest

from essen_dash import paths
from tests.integration.test_browser import AT_2016, open_page, settle

AXE = paths.REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: (name, path, element that shows the page is drawn)
STATES = [
    ("karte", f"/?{AT_2016}", "#karte-map .choroplethlocation"),
    ("karte-stadtteile-quantile", f"/?level=stadtteil&scheme=quantiles&{AT_2016}", "#karte-map .choroplethlocation"),
    ("karte-filter", f"/?bezirk=III&{AT_2016}", "#karte-map .choroplethlocation"),
    ("bezirk", f"/bezirk/III?{AT_2016}", "#bezirk-stadtteile tbody tr"),
    ("jobcenter", f"/jobcenter?{AT_2016}", "#jobcenter-map .choroplethlocation"),
    ("zuteilung", f"/zuteilung?{AT_2016}", "#zuteilung-table tbody tr"),
    ("daten", f"/daten?{AT_2016}", "#daten-table td"),
    ("nicht-gefunden", "/gibt-es-nicht", "h1"),
]


def axe_violations(page) -> list[str]:
    """Return the WCAG violations axe-core finds on the page, one line each (rule, impact, first targets)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated by the browser's debugger: the app's CSP stays strict
    result = page.evaluate("opts => axe.run(document, opts)", {"runOnly": {"type": "tag", "values": WCAG}})
    return [f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes'][:3]]}"
            for v in result["violations"]]


@pytest.mark.parametrize(("name", "path", "ready"), STATES, ids=[s[0] for s in STATES])
def test_no_wcag_violations(page, page_log, app_server, name, path, ready):
    assert AXE.is_file(), "axe-core missing: run `npm ci` (make test does)"
    if name == "nicht-gefunden":
        page_log.allow_console("error", "status of 404", ".*/gibt-es-nicht")  # the page itself answers 404
        page.goto(app_server.base_url + path)
    else:
        open_page(page, app_server, page_log, path, ready)
        settle(page, page_log)
    assert axe_violations(page) == []


def focused(page) -> str:
    return page.evaluate("() => { const e = document.activeElement; return (e.id || '') + '|' + "
                         "(e.getAttribute('href') || '') + '|' + e.textContent.trim().slice(0, 40); }")


def test_keyboard_reaches_content_profiles_and_leaves_the_data_table(page, page_log, app_server):
    """The skip link leads to the content; a Bezirk profile opens without a mouse; Tab never gets stuck."""
    open_page(page, app_server, page_log, f"/?{AT_2016}", "#karte-map .choroplethlocation")
    page.keyboard.press("Tab")
    assert focused(page).endswith("|#main|Zum Inhalt springen")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    for _ in range(60):  # from the content on, the profile buttons come up
        page.keyboard.press("Tab")
        if focused(page).startswith("|/bezirk/III"):
            break
    else:
        pytest.fail(f"no profile link reached by Tab; last focus {focused(page)}")
    page.keyboard.press("Enter")
    page.wait_for_url("**/bezirk/III**")
    open_page(page, app_server, page_log, f"/daten?{AT_2016}", "#daten-table td")
    page.focus("#daten-table input.dash-filter--case, #daten-table .dash-filter input")
    seen, left = set(), False
    for _ in range(60):  # from inside the table, Tab must lead out of it (a trap cycles inside forever)
        page.keyboard.press("Tab")
        seen.add(focused(page))
        if not page.evaluate("() => !!document.activeElement.closest('#daten-table')"):
            left = True
            break
    assert left, f"Tab stays in the table: {sorted(seen)[:5]}"

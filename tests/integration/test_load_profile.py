"""The load test's recording fits the app, and pages ask the server for nothing twice."""

from __future__ import annotations

import json
import re

import requests

from essen_dash import paths

SESSION = paths.REPO_ROOT / "bench" / "session.json"
QUIET_MS = 400


def outputs_of(spec: str) -> str:
    """Return a callback's output without the hash Dash adds to duplicate outputs."""
    return re.sub(r"@[0-9a-f]{20,}", "", spec)


def test_recorded_callbacks_and_pages_exist_in_the_app(app_server):
    """bench/session.json names only callbacks the app has and pages it serves (else: regenerate it with
    bench/capture_session.py)."""
    recording = json.loads(SESSION.read_text(encoding="utf-8"))
    known = {outputs_of(cb["output"]) for cb in requests.get(app_server.base_url + "/_dash-dependencies",
                                                             timeout=30).json()}
    sent = [r for s in recording["sessions"] for step in s["steps"] for r in step["requests"]]
    recorded = {outputs_of(r["body"]["output"]) for r in sent if r["method"] == "POST"}
    assert recorded and recorded <= known, sorted(recorded - known)
    for path in {r["path"] for r in sent if r["method"] == "GET" and not r.get("static")}:
        assert requests.get(app_server.base_url + path, timeout=30).status_code == 200, path
    # a callback whose inputs changed since the recording answers 400: the replay would measure refusals
    bodies = {json.dumps(r["body"], sort_keys=True) for r in sent if r["method"] == "POST"}
    refused = [json.loads(b)["output"] for b in bodies
               if requests.post(app_server.base_url + "/_dash-update-component", data=b, timeout=30,
                                headers={"Content-Type": "application/json"}).status_code != 200]
    assert not refused, refused
    assert {s["name"] for s in recording["sessions"]} >= {"karte", "bezirk", "jobcenter", "verteilung", "daten"}


def callbacks(page) -> list[str]:
    """Start noting the outputs of the callbacks the page asks for; return the list it fills."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(outputs_of(json.loads(r.post_data)["output"]))
            if r.url.split("?")[0].endswith("/_dash-update-component") else None)
    return sent


def settle(page, log) -> None:
    quiet = 0
    while quiet < QUIET_MS:
        page.wait_for_timeout(100)
        quiet = 0 if log.in_flight > 0 else quiet + 100


def test_daten_page_builds_its_table_once(page, page_log, app_server):
    """Opening the Daten page asks for no table callback (the page came with its table); choosing one asks once."""
    sent = callbacks(page)
    page.goto(app_server.base_url + "/daten")
    page.wait_for_selector("#daten-table")
    settle(page, page_log)
    assert "daten-table-area.children" not in sent and "_pages_content.children" in "".join(sent)
    sent.clear()
    page.click("#daten-choice")
    page.click('.dash-dropdown-option:has(input[value="quality"])')
    settle(page, page_log)
    assert sent == ["daten-table-area.children"]
    assert "nachgerechnet" in page.locator("#daten-table").inner_text()

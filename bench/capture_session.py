"""Record what a browser asks of the server while a person uses every page; write ``bench/session.json``.

    .venv/bin/python bench/capture_session.py [--url http://127.0.0.1:8050] [--data-dir DIR] [--out FILE]

Without ``--url`` it starts the production server (``essen-dash serve``, 2 workers) of this checkout on a free
port, with ``--data-dir`` if given (a data folder with two Stichtage adds the Stichtag and comparison steps).
Headless Chromium runs a few sessions, each as a person would: open a page by its address, work its controls
(Kennzahl, level, scheme, Bezirk filter, Stichtag and comparison when there are several, JobCenter group,
Verteilung settings and presets, Daten tables and downloads), move on through the navigation. Every request to
the server is recorded with Playwright's request events, in order, per step: method, path, query, the body of
Dash callbacks, and whether a browser with a cache would fetch it once only (``static``: Dash's component
suites, ``/assets/``, the boundaries, all sent with long cache lifetimes). The browser's cache is off while
recording, so every page load lists every file it needs. After each step the export links the page shows
(``/download/chart?…``, ``/download/pack?…``) new in it are noted: the load test downloads what a session showed.

``bench/locustfile.py`` replays the file; regenerate it after a change of the pages' callbacks.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "session.json"
BROWSER = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]
#: Requests a browser with a cache makes once per visitor: long-lived static files and the boundaries.
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/", "/geo/", "/_favicon")
#: A step is over when no request has been in flight this long (callbacks chain, so wait a little).
QUIET_MS = 600
STEP_TIMEOUT_S = 60


# --- the server -----------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: str | None) -> tuple[subprocess.Popen, str]:
    """Start ``essen-dash serve`` of this checkout; return the process and its address once it answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "essen_dash.cli", "serve", "--port", str(port), "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if data_dir:  # a data folder alone, no database: served as it is
        cmd += ["--data-dir", data_dir]
        env["ESSEN_DASH_STATE_DIR"] = tempfile.mkdtemp(prefix="capture-state-")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/_dash-layout", timeout=5).ok:
                return proc, base
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"server at {base} did not start")


# --- recording ------------------------------------------------------------------------------------------------

class Recorder:
    """Collect the requests of one page to the server under test, step by step."""

    def __init__(self, page, base: str) -> None:
        self.page, self.base = page, base
        self.in_flight = 0
        self.errors: list[str] = []
        self.sessions: list[dict] = []
        self.steps: list[dict] = []
        self.requests: list[dict] = []
        self.seen: set[str] = set()
        self.started = time.monotonic()
        page.on("request", self.on_request)
        page.on("requestfinished", self.on_done)
        page.on("requestfailed", self.on_failed)
        page.on("response", self.on_response)

    def ours(self, url: str) -> bool:
        return url.startswith(self.base + "/")

    def on_request(self, request) -> None:
        if not self.ours(request.url):
            return
        self.in_flight += 1
        parts = urlsplit(request.url)
        entry = {"method": request.method, "path": parts.path, "query": parts.query,
                 "at_ms": round((time.monotonic() - self.started) * 1000)}
        if parts.path.startswith(STATIC_PREFIXES):
            entry["static"] = True
        if request.method == "POST":
            entry["body"] = json.loads(request.post_data or "null")
        self.requests.append(entry)

    def on_done(self, request) -> None:
        if self.ours(request.url):
            self.in_flight -= 1

    def on_failed(self, request) -> None:
        if self.ours(request.url):
            self.in_flight -= 1
            if "/download/" not in request.url:  # a download link clicked by the page itself is aborted by design
                self.errors.append(f"{request.method} {request.url}: {request.failure}")

    def on_response(self, response) -> None:
        if self.ours(response.url) and response.status >= 400:
            self.errors.append(f"{response.request.method} {response.url}: HTTP {response.status}")

    def settle(self) -> None:
        """Wait until no request has been in flight for :data:`QUIET_MS`."""
        deadline, quiet = time.monotonic() + STEP_TIMEOUT_S, 0
        while quiet < QUIET_MS:
            if time.monotonic() > deadline:
                raise RuntimeError(f"requests still in flight after {STEP_TIMEOUT_S} s")
            self.page.wait_for_timeout(100)
            quiet = 0 if self.in_flight > 0 else quiet + 100

    def begin(self, name: str) -> None:
        """Start a session: one visitor's visit, from opening an address to leaving."""
        self.steps, self.seen = [], set()
        self.sessions.append({"name": name, "steps": self.steps})

    def step(self, label: str, action) -> None:
        """Run ``action`` (a page load or an interaction), wait for its requests, and record them as one step."""
        self.requests, self.started = [], time.monotonic()
        action()
        self.settle()
        if not self.requests:
            raise RuntimeError(f"step {label!r} made no request: the interaction did not reach the server")
        shown = self.page.eval_on_selector_all('a[href^="/download/"]', "els => els.map(e => e.getAttribute('href'))")
        new = list(dict.fromkeys(h for h in shown if h not in self.seen))
        self.seen.update(new)
        self.steps.append({"label": label, "requests": self.requests, "exports": new})
        print(f"  {label}: {len(self.requests)} requests", flush=True)


# --- what a person does ---------------------------------------------------------------------------------------

def pick(page, dropdown_id: str, value: str) -> None:
    """Choose ``value`` in a Dash dropdown, then close it."""
    page.click(f"#{dropdown_id}")
    page.click(f'.dash-dropdown-option:has(input[value="{value}"])')
    page.keyboard.press("Escape")


def radio(page, group_id: str, label: str) -> None:
    page.locator(f"#{group_id} label", has_text=label).first.click()


def options(page, dropdown_id: str) -> list[str]:
    """Return the values a dropdown offers (it is opened and closed again)."""
    page.click(f"#{dropdown_id}")
    values = page.eval_on_selector_all(".dash-dropdown-option input", "els => els.map(e => e.value)")
    page.keyboard.press("Escape")
    return values


def type_into(page, label: str, value: str) -> None:
    """Type into a labelled field and confirm (the fields send on Enter)."""
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")


def nav(page, key: str) -> None:
    page.click(f"#nav-{key}")


def karte(rec: Recorder, page, base: str, stichtage: list[str]) -> None:
    rec.begin("karte")
    rec.step("open /", lambda: page.goto(base + "/"))
    indicators = options(page, "karte-indicator")
    for key in indicators[1:4]:
        rec.step(f"Kennzahl {key}", lambda key=key: pick(page, "karte-indicator", key))
    rec.step("Ebene Stadtteile", lambda: radio(page, "karte-level", "Stadtteile"))
    for scheme in options(page, "karte-scheme")[1:3]:
        rec.step(f"Klassifizierung {scheme}", lambda scheme=scheme: pick(page, "karte-scheme", scheme))
    rec.step(f"Kennzahl {indicators[0]}", lambda: pick(page, "karte-indicator", indicators[0]))
    rec.step("Ebene Stadtbezirke", lambda: radio(page, "karte-level", "Stadtbezirke"))
    rec.step("Filter Bezirk III", lambda: pick(page, "filter-bezirke", "III"))
    rec.step("Filter Bezirk V dazu", lambda: pick(page, "filter-bezirke", "V"))
    if len(stichtage) > 1:
        rec.step(f"Stichtag {stichtage[0]}", lambda: pick(page, "filter-stichtag", stichtage[0]))
        rec.step(f"Stichtag {stichtage[-1]}", lambda: pick(page, "filter-stichtag", stichtage[-1]))
        rec.step(f"Vergleich mit {stichtage[0]}", lambda: pick(page, "filter-compare", stichtage[0]))
        rec.step("Ebene Stadtteile (Vergleich)", lambda: radio(page, "karte-level", "Stadtteile"))
    rec.step("Profil Bezirk III öffnen", lambda: page.click('#karte-profiles a[title="Profil von Stadtbezirk III"]'))
    rec.step("Navigation Karte", lambda: nav(page, "karte"))


def bezirk(rec: Recorder, page, base: str, stichtage: list[str]) -> None:
    rec.begin("bezirk")
    rec.step("open /bezirk/I", lambda: page.goto(base + "/bezirk/I"))
    rec.step("anderer Bezirk VI", lambda: page.click('#bezirk-others a:text-is("VI")'))
    rec.step("anderer Bezirk II", lambda: page.click('#bezirk-others a:text-is("II")'))
    rec.step("Filter Bezirk II", lambda: pick(page, "filter-bezirke", "II"))
    rec.step("Filter Bezirk VII dazu", lambda: pick(page, "filter-bezirke", "VII"))
    if len(stichtage) > 1:
        rec.step(f"Stichtag {stichtage[0]}", lambda: pick(page, "filter-stichtag", stichtage[0]))
    rec.step("Navigation Zuteilung", lambda: nav(page, "zuteilung"))
    rec.step("Navigation Bezirksprofil", lambda: nav(page, "bezirk"))


def jobcenter(rec: Recorder, page, base: str, stichtage: list[str]) -> None:
    rec.begin("jobcenter")
    rec.step("open /jobcenter", lambda: page.goto(base + "/jobcenter"))
    groups = page.eval_on_selector_all("#jobcenter-group input", "els => els.map(e => e.value)")
    for group in groups[1:3]:
        rec.step(f"Herkunft {group}", lambda group=group: radio(page, "jobcenter-group", group))
    rec.step("Filter Bezirk IV", lambda: pick(page, "filter-bezirke", "IV"))
    rec.step("Navigation Zuteilung", lambda: nav(page, "zuteilung"))
    rec.step("Filter Bezirk I dazu", lambda: pick(page, "filter-bezirke", "I"))
    if len(stichtage) > 1:
        rec.step(f"Stichtag {stichtage[0]}", lambda: pick(page, "filter-stichtag", stichtage[0]))
    rec.step("Navigation Karte", lambda: nav(page, "karte"))


def verteilung(rec: Recorder, page, base: str, stichtage: list[str]) -> None:
    rec.begin("verteilung")
    rec.step("open /verteilung", lambda: page.goto(base + "/verteilung"))
    rec.step("Gesamtmenge 36", lambda: type_into(page, "Gesamtmenge", "36"))
    weights = page.eval_on_selector_all(".weight-field", "els => els.map(e => e.innerText.trim())")
    rec.step("Gewicht 50", lambda: type_into(page, weights[0], "50"))
    rec.step("Gewicht 50 (zweites)", lambda: type_into(page, weights[1], "50"))
    presets = page.eval_on_selector_all("#verteilung-presets button", "els => els.map(e => e.innerText.trim())")
    for preset in presets[:2]:
        rec.step(f"Vorlage {preset[:30]}", lambda preset=preset: page.get_by_role("button", name=preset).click())
    rec.step("Mindestens 2", lambda: type_into(page, "Mindestens je Bezirk (optional)", "2"))
    rec.step("Filter Bezirk VIII", lambda: pick(page, "filter-bezirke", "VIII"))
    if len(stichtage) > 1:
        rec.step(f"Stichtag {stichtage[0]}", lambda: pick(page, "filter-stichtag", stichtage[0]))
    with page.expect_download():
        rec.step("Ergebnis als XLSX", lambda: page.click("#verteilung-xlsx"))
    rec.step("Navigation Daten", lambda: nav(page, "daten"))


def daten(rec: Recorder, page, base: str, stichtage: list[str]) -> None:
    rec.begin("daten")
    rec.step("open /daten", lambda: page.goto(base + "/daten"))
    for table in options(page, "daten-choice")[1:]:
        rec.step(f"Tabelle {table}", lambda table=table: pick(page, "daten-choice", table))
    rec.step("Tabelle bezirke", lambda: pick(page, "daten-choice", "bezirke"))
    rec.step("Filter Bezirk IX", lambda: pick(page, "filter-bezirke", "IX"))
    with page.expect_download():
        rec.step("CSV für Excel", lambda: page.click("#daten-csv"))
    with page.expect_download():
        rec.step("Excel-Arbeitsmappe", lambda: page.click("#daten-xlsx"))
    rec.step("Navigation Karte", lambda: nav(page, "karte"))


def tour(rec: Recorder, page, base: str, stichtage: list[str]) -> None:
    """Open the start page and visit every page of the navigation once."""
    rec.begin("tour")
    rec.step("open /", lambda: page.goto(base + "/"))
    for key in ("bezirk", "jobcenter", "zuteilung", "verteilung", "daten", "karte"):
        rec.step(f"Navigation {key}", lambda key=key: nav(page, key))


SESSIONS = (karte, bezirk, jobcenter, verteilung, daten, tour)


def nav_pages(page) -> list[str]:
    return page.eval_on_selector_all(".nav a", "els => els.map(e => new URL(e.href).pathname)")


def capture(base: str) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=BROWSER, args=BROWSER_ARGS)
        stichtage = requests.get(base + "/health", timeout=30).json()["stichtage"]
        recorded, errors = [], []
        for session in SESSIONS:
            print(session.__name__, flush=True)
            context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="de-DE",
                                          accept_downloads=True)
            page = context.new_page()
            context.new_cdp_session(page).send("Network.setCacheDisabled", {"cacheDisabled": True})
            rec = Recorder(page, base)
            session(rec, page, base, stichtage)
            if session is tour:
                pages = nav_pages(page)
            recorded += rec.sessions
            errors += rec.errors
            context.close()
        browser.close()
    if errors:
        raise RuntimeError("the server answered with errors while recording:\n" + "\n".join(errors))
    return {"about": "Requests of headless Chromium using every page, recorded by bench/capture_session.py; "
                     "replayed by bench/locustfile.py. 'static': a browser with a cache fetches it once.",
            "recorded": time.strftime("%Y-%m-%d"), "stichtage": stichtage, "pages": pages, "sessions": recorded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start this checkout's production server)")
    parser.add_argument("--data-dir", help="serve this data folder (e.g. with two Stichtage)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    proc = None
    if args.url:
        base = args.url.rstrip("/")
    else:
        proc, base = start_server(args.data_dir)
    try:
        result = capture(base)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    counts = [sum(len(s["requests"]) for s in session["steps"]) for session in result["sessions"]]
    print(f"{args.out}: {len(result['sessions'])} sessions, {sum(counts)} requests")


if __name__ == "__main__":
    main()

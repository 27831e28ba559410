"""Load profile: people using the whole site the way a browser does (used by bench/run.py).

    TARGET=ours  .venv/bin/python -m locust -f bench/locustfile.py --headless -u 50 -r 50 -t 60s --host URL

``TARGET=ours`` (the default) replays the browser sessions recorded by ``bench/capture_session.py`` in
``bench/session.json`` (``SESSION=FILE`` for another recording): each simulated visitor picks a session, sends
each step's requests in the recorded order — the page, its layout and dependencies, every callback with the body
the browser sent — and thinks between steps. Static files (``"static": true``: Dash's component suites,
``/assets/``, the boundaries) are fetched once per visitor, as a browser with a cache does. About one request in
ten (``EXPORT_SHARE``) is an export: a chart the session has shown (``/download/chart?…`` in PNG, SVG or PDF) or,
now and then, the district pack of a Bezirk whose profile it opened.

``TARGET=baseline`` keeps the naive peer's old profile (its map page and the indicator switch in
``SWITCH_PAYLOAD``), which is all ``bench/baseline_app.py`` has.

Every request is named by what it is (``page GET /bezirk/[id]``, ``cb karte-map.figure+9``, ``cb page /daten``,
``export chart karte-map png``, …), so the slow ones stand out. Three extra rows of type ``GROUP`` sum them up:
``pages+callbacks`` (the issue's p99 target), ``exports`` and ``static``; locust's own ``Aggregated`` row mixes all.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

from locust import FastHttpUser, between, events, task
from locust.contrib.fasthttp import FastResponse

TARGET = os.environ.get("TARGET", "ours")
SESSION = Path(os.environ.get("SESSION", Path(__file__).with_name("session.json")))
#: share of all requests (static files aside) that are exports
EXPORT_SHARE = float(os.environ.get("EXPORT_SHARE", "0.1"))
#: share of exports that are a district pack, where the session showed one
PACK_SHARE = float(os.environ.get("PACK_SHARE", "0.05"))
#: seconds a visitor looks at a step's result before the next
THINK_S = (float(os.environ.get("THINK_MIN_S", "1")), float(os.environ.get("THINK_MAX_S", "5")))
#: what Chromium asks for: the server compresses as it would for a browser
BROWSER_HEADERS = {"Accept-Encoding": "gzip, deflate, br, zstd", "Accept-Language": "de-DE,de;q=0.9"}
JSON_HEADERS = {**BROWSER_HEADERS, "Content-Type": "application/json", "Accept": "application/json"}
GROUP = "GROUP"


def _content_zstd(self, _plain=FastResponse._content):
    """Decode zstd too: the server sends it to Chromium, and the lean client knows gzip, deflate and br only."""
    if self.headers is not None and self.headers.get("Content-Encoding") == "zstd":
        from backports import zstd  # what the server's flask-compress compresses with

        body = zstd.decompress(self._response.read())
        self.release()
        return body
    return _plain(self)


FastResponse._content = _content_zstd


def group_of(name: str) -> str:
    return "static" if name.startswith("static ") else "exports" if name.startswith("export ") else "pages+callbacks"


@events.request.add_listener
def count_in_group(request_type, name, response_time, response_length, exception=None, context=None, **_):
    """Add every request to its group's row as well (locust's total mixes static files and exports in)."""
    if request_type == GROUP:
        return
    entry = _environment.stats.get(group_of(name), GROUP)
    entry.log(response_time, response_length or 0)
    if exception is not None:
        entry.log_error(exception)


_environment = None


@events.init.add_listener
def keep_environment(environment, **_):
    global _environment
    _environment = environment


# --- names ------------------------------------------------------------------------------------------------------

def page_name(path: str) -> str:
    """Return a page's path with its variable part named (``/bezirk/[id]``)."""
    return re.sub(r"^/bezirk/[^/]+$", "/bezirk/[id]", path)


def callback_name(body: dict) -> str:
    """Return a callback's name: the page it renders (Dash's page router) or its first output and how many more."""
    outputs = [o for o in re.split(r"\.\.\.|\.\.", body.get("output", "")) if o]
    first = re.sub(r"@[0-9a-f]{20,}$", "", outputs[0]) if outputs else "?"
    if first == "_pages_content.children":
        where = next((i.get("value") for i in body.get("inputs", []) if i.get("property") == "pathname"), "?")
        return f"cb page {page_name(str(where))}"
    kind = "export cb" if first.endswith("-download.data") else "cb"
    return f"{kind} {first}" + (f"+{len(outputs) - 1}" if len(outputs) > 1 else "")


def static_name(path: str) -> str:
    if path.startswith(("/geo/", "/_favicon")):
        return f"static {path}"
    return "static " + "/".join(path.split("/")[:2]) + "/"


def export_name(href: str) -> str:
    query = dict(part.split("=", 1) for part in href.split("?", 1)[1].split("&") if "=" in part)
    if href.startswith("/download/pack"):
        return f"export pack {query.get('format', 'pdf')}"
    return f"export chart {query.get('page')}-{query.get('chart')} {query.get('format', 'png')}"


# --- visitors ---------------------------------------------------------------------------------------------------

if TARGET == "baseline":
    INDICATORS = ["origin12_pct", "bg_ro_pct", "bg_pct", "ro_pct", "project_housing_pct", "non_german_pct"]
    PAYLOAD = json.loads(os.environ["SWITCH_PAYLOAD"])  # a callback request with an "@INDICATOR@" placeholder

    class Planner(FastHttpUser):  # the lean client leaves the 2 cores to the server under test
        wait_time = between(0.5, 1.5)

        @task(1)
        def open_page(self):
            self.client.get("/", name="page GET /")
            self.client.get("/_dash-layout", name="page GET /_dash-layout")
            self.client.get("/_dash-dependencies", name="page GET /_dash-dependencies")

        @task(4)
        def switch_indicator(self):
            body = json.dumps(PAYLOAD).replace("@INDICATOR@", random.choice(INDICATORS))
            self.client.post("/_dash-update-component", data=body, name="cb map.figure",
                             headers={"Content-Type": "application/json"})

else:
    RECORDING = json.loads(SESSION.read_text(encoding="utf-8"))
    SESSIONS = RECORDING["sessions"]
    #: exports per request that is not a static file, so that exports are EXPORT_SHARE of them all
    EXPORTS_PER_REQUEST = EXPORT_SHARE / (1 - EXPORT_SHARE)

    class Visitor(FastHttpUser):
        """One person with one browser: replays recorded sessions one after another, with a warm cache."""

        wait_time = between(*THINK_S)

        def on_start(self) -> None:
            self.cached: set[str] = set()

        def think(self) -> None:
            self.wait()

        def send(self, request: dict) -> None:
            path = request["path"]
            url = path + (f"?{request['query']}" if request["query"] else "")
            if request.get("static"):
                if path in self.cached:
                    return
                self.cached.add(path)
                self.client.get(url, name=static_name(path), headers=BROWSER_HEADERS)
            elif request["method"] == "POST":
                body = request["body"]
                self.client.post(url, data=json.dumps(body), name=callback_name(body), headers=JSON_HEADERS)
            else:
                self.client.get(url, name=f"page GET {page_name(path)}", headers=BROWSER_HEADERS)

        def export(self, shown: list[str]) -> None:
            """Download a chart the session has shown, or now and then the pack of a Bezirk it opened."""
            packs = [h for h in shown if h.startswith("/download/pack") and "bezirk=alle" not in h]
            charts = [h for h in shown if h.startswith("/download/chart")]
            pool = packs if packs and (not charts or random.random() < PACK_SHARE) else charts
            if pool:
                href = random.choice(pool)
                self.client.get(href, name=export_name(href), headers=BROWSER_HEADERS)

        @task
        def visit(self) -> None:
            session = random.choice(SESSIONS)
            shown: list[str] = []
            for i, step in enumerate(session["steps"]):
                if i:
                    self.think()
                exports = 0
                for request in step["requests"]:
                    self.send(request)
                    if not request.get("static") and random.random() < EXPORTS_PER_REQUEST:
                        exports += 1
                shown += step.get("exports", [])
                for _ in range(exports):  # a click on a download link of what the step showed
                    self.export(shown)

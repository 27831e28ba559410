"""Resilience of the production server: fuzzed URLs and callback payloads, broken data files, headers.

Runs ``essen-dash serve`` (gunicorn, two workers) on a private copy of the data, so a test can break files.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from essen_dash import paths

pytestmark = pytest.mark.browser
LEAKS = ("Traceback", 'File "/', "werkzeug", "Werkzeug Debugger", "site-packages")
SEED = 20161213


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(root: Path, workers: int = 2):
    """Run ``essen-dash serve`` on a copy of the data in ``root``; yield (base URL, data folder, log path)."""
    data = root / "data"
    shutil.copytree(paths.DEFAULT_DATA_DIR, data)
    log = root / "server.log"
    port = free_port()
    env = {**os.environ, paths.DATA_DIR_ENV: str(data), paths.CACHE_DIR_ENV: str(root / "cache")}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "essen_dash.cli", "serve", "--port", str(port),
                                 "--workers", str(workers)], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if requests.get(base + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            pytest.fail("server did not start:\n" + log.read_text())
        yield base, data, log
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("resilience")) as running:
        yield running


def assert_clean(response: requests.Response) -> None:
    assert response.status_code < 500, (response.request.method, response.url, response.status_code)
    assert not any(leak in response.text for leak in LEAKS), response.text[:300]


def random_text(rng: random.Random) -> str:
    pieces = ["I", "IX", "../", "%00", "ä", "'\"<script>", "bezirk", "?", "&", "=", "/", "%2F", "x" * 5000,
              "\u202e", "NaN", "-1", "1e309", "{}", "[]", ";", "..", "%", "#", " "]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))


def test_fuzzed_paths_and_parameters(server):
    base, _, _ = server
    rng = random.Random(SEED)
    prefixes = ["/", "/bezirk/", "/jobcenter", "/zuteilung", "/daten", "/geo/", "/download/chart", "/download/pack",
                "/assets/", "/_dash-layout", "/_dash-dependencies", "/health", "/_dash-component-suites/"]
    for _ in range(150):
        url = base + rng.choice(prefixes) + random_text(rng)[:300]
        query = {rng.choice(["indicator", "scheme", "level", "bezirk", "stichtag", "page", "format", "chart",
                             "gruppe", random_text(rng)[:20]]): random_text(rng)[:2000] for _ in range(3)}
        assert_clean(requests.get(url, params=query, timeout=30))


def callbacks(base: str) -> list[dict]:
    return requests.get(base + "/_dash-dependencies", timeout=10).json()


def junk(rng: random.Random):
    return rng.choice([None, "", "foo", "I", ["I", "XYZ"], ["I"] * 50, 12, -1, 1e308, True, {"a": 1},
                       [None], "x" * 100_000, "2016-09-30", "9999-99-99", "/bezirk/XYZ", "?indicator=foo",
                       {"points": [{"customdata": ["x"]}]}, {"points": []},
                       {"points": [{"customdata": {"bezirk_id": "XYZ", "key": "../"}}]},
                       {"points": [{"customdata": {"bezirk_id": ["I"]}}]}, {"points": [{"customdata": None}]}])


def payload(cb: dict, rng: random.Random) -> dict:
    def ids(items):
        return [{"id": i["id"], "property": i["property"], "value": junk(rng)} for i in items]

    return {"output": cb["output"], "outputs": [], "inputs": ids(cb["inputs"]), "state": ids(cb["state"]),
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in cb["inputs"][:1]]}


def test_fuzzed_callback_payloads(server):
    base, _, _ = server
    rng = random.Random(SEED)
    specs = [cb for cb in callbacks(base) if not cb.get("clientside_function")]
    assert len(specs) >= 8
    url = base + "/_dash-update-component"
    for _ in range(6):
        for cb in specs:
            assert_clean(requests.post(url, json=payload(cb, rng), timeout=60))


@pytest.mark.parametrize("body, content_type", [
    (b"{not json", "application/json"),
    (b"", "application/json"),
    (b"[]", "application/json"),
    (json.dumps({"output": "nope.children", "inputs": [], "state": []}).encode(), "application/json"),
    (json.dumps({"output": "..karte-map.figure..", "inputs": [{"id": "x", "property": "y"}]}).encode(),
     "application/json"),
    (b"a=b", "application/x-www-form-urlencoded"),
    (b"x" * 2_000_000, "application/json"),
])
def test_malformed_callback_requests(server, body, content_type):
    base, _, _ = server
    response = requests.post(base + "/_dash-update-component", data=body, headers={"Content-Type": content_type},
                             timeout=30)
    assert_clean(response)
    assert response.status_code in (400, 413, 415)


STICHTAG = "2016-09-30"


def population_of_bezirk_i(base: str) -> int:
    """Return Bezirk I's population on 30.09.2016 as the running server serves it (through the Daten page's
    callback); other Stichtage in the data would be further rows of Bezirk I."""
    body = {"output": "daten-table-area.children", "outputs": {"id": "daten-table-area", "property": "children"},
            "inputs": [{"id": "daten-choice", "property": "value", "value": "bezirke"},
                       {"id": "filter-bezirke", "property": "value", "value": ["I"]}],
            "changedPropIds": ["daten-choice.value"], "state": []}
    response = requests.post(base + "/_dash-update-component", json=body, timeout=30)
    assert response.status_code == 200, response.text[:300]
    rows = response.json()["response"]["daten-table-area"]["children"]["props"]["data"]
    assert {row["bezirk_id"] for row in rows} == {"I"}
    (row,) = [row for row in rows if row["stichtag"] == STICHTAG]
    return row["population_count"]


def wait_for(condition, seconds: float = 15.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_broken_data_file_keeps_last_good_data(server):
    base, data, log = server
    csv = data / "values.csv"
    good = csv.read_text(encoding="utf-8")
    assert population_of_bezirk_i(base) == 67297
    # a changed population and a share over 100 in the same file: the file must be refused whole
    csv.write_text(good.replace("2016-09-30,bezirk,I,population_count,67297,", "2016-09-30,bezirk,I,population_count,67298,")
                   .replace("2016-09-30,bezirk,I,origin12_pct,7.1,", "2016-09-30,bezirk,I,origin12_pct,107.1,"),
                   encoding="utf-8")
    # each poll makes a request first: requests are what trigger the data check
    assert wait_for(lambda: population_of_bezirk_i(base) == 67297 and "abgelehnt" in log.read_text())
    time.sleep(3)
    for _ in range(6):  # every worker keeps serving the last good data
        assert population_of_bezirk_i(base) == 67297
    assert "values.csv, Zeile 20, Spalte 'value': Kennzahl 'origin12_pct': Wert 107,1 liegt über dem Höchstwert 100 %" \
        in log.read_text()
    # a valid change is picked up by every worker
    csv.write_text(good.replace("2016-09-30,bezirk,I,population_count,67297,", "2016-09-30,bezirk,I,population_count,67298,"),
                   encoding="utf-8")
    assert wait_for(lambda: all(population_of_bezirk_i(base) == 67298 for _ in range(6)))
    csv.write_text(good, encoding="utf-8")
    assert wait_for(lambda: all(population_of_bezirk_i(base) == 67297 for _ in range(6)))


def test_security_headers_and_no_debug(server):
    base, _, _ = server
    for path in ("/", "/health", "/geo/bezirk.geojson", "/bezirk/XYZ"):
        response = requests.get(base + path, timeout=10)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert not any(ch.isdigit() for ch in response.headers.get("Server", ""))  # no version
        assert "script-src 'self' 'sha256-" in response.headers["Content-Security-Policy"]
        assert "geolocation=()" in response.headers["Permissions-Policy"]
    assert requests.get(base + "/_reload-hash", timeout=10).status_code == 404  # dev tools are off
    assert requests.get(base + "/health", timeout=10).json()["status"] == "ok"
    compressed = requests.get(base + "/geo/stadtteil.geojson", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert compressed.headers.get("Content-Encoding") == "gzip"


def test_workers_draw_geometry_from_many_connections_without_crashing(server):
    """JobCenter maps for every Bezirk selection (areas dissolved, hatching projected in metres) from many
    connections at once, Karte maps with a Bezirk outlined: every answer arrives and no worker crashes. pyproj
    loaded inside a gevent worker had freed its PROJ context after the first request, and the next map killed
    the worker (SIGSEGV)."""
    base, _, log = server
    spec = next(cb for cb in requests.get(base + "/_dash-dependencies", timeout=10).json()
                if "jobcenter-map-area.children" in cb["output"])
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in spec["output"].strip(".").split("...")]

    def jobcenter(bezirke: list[str]) -> int:
        values = {"jobcenter-group": None, "filter-bezirke": bezirke, "filter-stichtag": STICHTAG}
        body = {"output": spec["output"], "outputs": outputs, "changedPropIds": ["filter-bezirke.value"],
                "inputs": [{"id": i["id"], "property": i["property"], "value": values[i["id"]]}
                           for i in spec["inputs"]], "state": []}
        return requests.post(base + "/_dash-update-component", json=body, timeout=60).status_code

    def karte(bezirk: str) -> int:
        return requests.get(f"{base}/?bezirk={bezirk}&level=stadtteil", timeout=60).status_code

    selections = [[b] for b in ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX")] + [["I", "V"], ["II", "IX"]]
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(jobcenter, selections * 2)) + list(pool.map(karte, ["I", "IV", "IX"] * 4))
    assert codes == [200] * len(codes), log.read_text()[-2000:]
    assert "SIGSEGV" not in log.read_text() and "was sent" not in log.read_text()


def test_first_requests_of_fresh_workers_find_every_callback(tmp_path):
    """Many concurrent callbacks right after start: no worker may answer before its callbacks are set up."""
    with running_server(tmp_path) as (base, _, log):
        bodies = [{"output": "daten-table-area.children",
                   "outputs": {"id": "daten-table-area", "property": "children"},
                   "inputs": [{"id": "daten-choice", "property": "value", "value": "bezirke"},
                              {"id": "filter-bezirke", "property": "value", "value": [b]}],
                   "changedPropIds": ["daten-choice.value"], "state": []} for b in ["I", "II", "III", "IV"] * 15]
        with ThreadPoolExecutor(max_workers=30) as pool:
            codes = list(pool.map(lambda b: requests.post(base + "/_dash-update-component", json=b,
                                                          timeout=60).status_code, bodies))
        assert codes == [200] * len(bodies), log.read_text()[-2000:]

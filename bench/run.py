"""Run every benchmark, ours beside the naive baseline, print the table and record it in README.md.

    .venv/bin/python bench/run.py [--quick] [--no-readme]

1. indicator switch: bytes sent and server time per callback
2. cold start: process start to first page served
3. page ready: navigation to map painted, headless Chromium
4. load: 50 concurrent users (locust, loopback, bounded in time) mixing page loads and callbacks
5. growth: geometry preparation and callback time with 9, 50 and 5,000 polygons
6. export: cold and warm static export (bench/export.py)
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]

SERVERS = {
    # name: (development command, production command); {port} is filled in
    "ours": ([PY, "app.py", "--port", "{port}"],
             [PY, "-m", "essen_dash.cli", "serve", "--port", "{port}", "--workers", "2"]),
    "baseline": ([PY, "bench/baseline_app.py", "--port", "{port}"],
                 [PY, "-m", "gunicorn", "bench.baseline_app:server", "-b", "127.0.0.1:{port}", "-w", "2",
                  "--threads", "4", "-k", "gthread", "--preload"]),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    """A server process for the duration of a ``with`` block."""

    def __init__(self, name: str, production: bool = False, env: dict | None = None):
        self.port = free_port()
        cmd = [part.format(port=self.port) for part in SERVERS[name][1 if production else 0]]
        self.log = tempfile.TemporaryFile()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> float:
        """Return seconds from process start until the page and its layout are served."""
        while time.perf_counter() - self.started < 120:
            try:
                if requests.get(self.base + "/", timeout=2).ok and requests.get(self.base + "/_dash-layout",
                                                                                 timeout=5).ok:
                    return time.perf_counter() - self.started
            except requests.ConnectionError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{self.base} did not start")

    def __enter__(self):
        self.wait_ready()
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)


# --- 1. indicator switch ------------------------------------------------------------------

def switch_payload(base: str, output_contains: str, values: dict) -> dict:
    """Return the request the browser sends for the callback whose output contains ``output_contains``."""
    spec = next(cb for cb in requests.get(base + "/_dash-dependencies", timeout=10).json()
                if output_contains in cb["output"])
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]}
               for o in spec["output"].strip(".").split("...")]
    return {"output": spec["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [{**i, "value": values.get(i["id"])} for i in spec["inputs"]],
            "changedPropIds": [next(f"{i['id']}.{i['property']}" for i in spec["inputs"]
                                    if "indicator" in i["id"])],
            "state": [{**s, "value": values.get(s["id"])} for s in spec["state"]]}


def measure_switch(base: str, payload: dict, runs: int = 30) -> dict:
    keys = ["bg_ro_pct", "origin12_pct", "ro_pct", "project_housing_pct"]
    times, raw, wire = [], [], []
    for i in range(runs):
        body = json.dumps(payload).replace("@INDICATOR@", keys[i % len(keys)])
        start = time.perf_counter()
        r = requests.post(base + "/_dash-update-component", data=body, timeout=60, stream=True,
                          headers={"Content-Type": "application/json", "Accept-Encoding": "gzip"})
        sent = r.raw.read(decode_content=False)
        times.append((time.perf_counter() - start) * 1000)
        wire.append(len(sent))
        raw.append(len(gzip.decompress(sent)) if r.headers.get("Content-Encoding") == "gzip" else len(sent))
    return {"ms": statistics.median(times[3:]), "wire": statistics.median(wire), "raw": statistics.median(raw)}


def bench_switch() -> dict:
    out = {}
    with Running("ours") as s:
        payload = switch_payload(s.base, "karte-map.figure", {
            "karte-indicator": "@INDICATOR@", "karte-scheme": "continuous", "karte-level": "bezirk",
            "filter-bezirke": [], "filter-stichtag": "2016-09-30"})
        out["ours"] = measure_switch(s.base, payload)
        out["ours_payload"] = payload
    with Running("baseline") as s:
        payload = switch_payload(s.base, "map.figure", {"indicator": "@INDICATOR@"})
        out["baseline"] = measure_switch(s.base, payload)
        out["baseline_payload"] = payload
    return out


# --- 2. cold start --------------------------------------------------------------------------

def bench_cold_start(runs: int = 3) -> dict:
    out = {}
    for name in SERVERS:
        times = []
        for _ in range(runs):
            server = Running(name)
            try:
                times.append(server.wait_ready())
            finally:
                server.__exit__()
        out[name] = statistics.median(times)
    return out


# --- 3. page ready ----------------------------------------------------------------------------

#: a map area drawn on the page: the server's first picture or plotly.js's map, whichever comes first
MAP_PAINTED = "document.querySelector('#first-paint .snapshot-map path, .js-plotly-plot .choroplethlocation')"
#: the interactive map drawn by plotly.js (the first picture, if any, gone)
MAP_INTERACTIVE = ("document.querySelectorAll('.js-plotly-plot .choroplethlocation').length >= 9 && "
                   "!document.getElementById('first-paint')")


def body_size(request) -> int:
    try:
        return request.sizes()["responseBodySize"]
    except Exception:  # the page was closed before its last request's sizes could be read
        return 0


def seconds_until(page, condition: str) -> float:
    """Return the page's clock (seconds since navigation started) at the first animation frame where
    ``condition`` holds: the frame in which it is painted."""
    handle = page.wait_for_function(f"() => ({condition}) ? performance.now() : null", polling="raf", timeout=60000)
    return handle.json_value() / 1000


def bench_page_ready(runs: int = 7) -> dict:
    """Navigation → map painted, cache cleared (a new browser context per run) and on a repeat visit (same
    context, cache warm); and navigation → interactive map. Medians; the first run only warms the server."""
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        for name in SERVERS:
            with Running(name) as s:
                cold, warm, interactive, sizes = [], [], [], []
                for _ in range(runs + 1):
                    # the pages' CSP forbids eval; the measuring script is the test harness's, not the page's
                    context = browser.new_context(viewport={"width": 1440, "height": 1000}, bypass_csp=True)
                    page = context.new_page()
                    received = []  # bytes on the wire per finished request (body as sent, compressed or not)
                    page.on("requestfinished", lambda r, received=received: received.append(body_size(r)))
                    page.goto(s.base + "/", wait_until="commit")
                    cold.append(seconds_until(page, MAP_PAINTED))
                    interactive.append(seconds_until(page, MAP_INTERACTIVE))
                    page.wait_for_load_state("networkidle")
                    sizes.append(sum(received))
                    page.goto(s.base + "/", wait_until="commit")
                    warm.append(seconds_until(page, MAP_PAINTED))
                    context.close()
                out[name] = {"cold": statistics.median(cold[1:]), "warm": statistics.median(warm[1:]),
                             "interactive": statistics.median(interactive[1:]), "kb": statistics.median(sizes[1:]) / 1024}
        browser.close()
    return out


# --- 4. load ------------------------------------------------------------------------------------

def bench_load(payloads: dict, users: int, seconds: int) -> dict:
    out = {}
    for name in SERVERS:
        with Running(name, production=True) as s, tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "TARGET": name, "SWITCH_PAYLOAD": json.dumps(payloads[name])}
            subprocess.run([PY, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                            "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", s.base,
                            "--csv", f"{tmp}/r", "--only-summary", "--stop-timeout", "5"],
                           env=env, cwd=ROOT, capture_output=True, timeout=seconds + 120)
            with open(f"{tmp}/r_stats.csv") as fh:
                total = next(row for row in csv.DictReader(fh) if row["Name"] == "Aggregated")
            out[name] = {"rps": float(total["Requests/s"]), "p50": float(total["50%"]), "p99": float(total["99%"]),
                         "errors": int(total["Failure Count"]), "requests": int(total["Request Count"])}
    return out


# --- 5. growth ------------------------------------------------------------------------------------

def bench_growth() -> dict:
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import plotly.io as pio
    import shapely

    from essen_dash.data import load_app_data
    from essen_dash.figures.choropleth import value_traces
    from essen_dash.geo import boundaries as B
    from essen_dash.paths import settings

    data = load_app_data(settings())
    reg = data.tables["stadtteile_register"]
    raw = B.find_raw_dir(settings())
    real = {9: B._prepare_bezirke(raw / B.FILES["bezirke"], reg, []),
            50: B._prepare_stadtteile(raw / B.FILES["stadtteile"], reg, [])}
    # 5,000 synthetic units: a 100 × 50 grid over Essen's extent, each square with 40 vertices
    x0, y0 = 350000, 5690000
    cells = [shapely.segmentize(shapely.box(x0 + i * 200, y0 + j * 200, x0 + (i + 1) * 200, y0 + (j + 1) * 200), 20)
             for i in range(100) for j in range(50)]
    synthetic = gpd.GeoDataFrame({"bezirk_id": ["I"] * len(cells)}, geometry=cells, crs=B.METRIC_CRS).to_crs(4326)
    ind = data.catalog(data.latest)["origin12_pct"]
    out = {}
    for n, gdf in {**real, 5000: synthetic}.items():
        start = time.perf_counter()
        web = B.to_web(gdf, B.SIMPLIFY_TOLERANCE_M, B.GAP_WIDTH_M)
        prep = time.perf_counter() - start
        frame = pd.DataFrame({"key": [str(i) for i in range(n)], "name": [f"u{i}" for i in range(n)],
                              "bezirk_id": ["I"] * n, "value": np.linspace(1, 9, n),
                              "rank": pd.array(range(1, n + 1), dtype="Int64"), "city_value": 4.0})
        timings, sizes = [], []
        for _ in range(5):
            start = time.perf_counter()
            body = json.dumps([t.to_plotly_json() for t in value_traces(frame, ind, "continuous", "/geo/x")],
                              cls=pio.json.PlotlyJSONEncoder if hasattr(pio.json, "PlotlyJSONEncoder") else None)
            timings.append(time.perf_counter() - start)
            sizes.append(len(body))
        geojson = web.set_axis(frame["key"].to_numpy()).to_json(drop_id=False)
        start = time.perf_counter()
        naive = json.dumps({"data": [{"type": "choropleth", "geojson": json.loads(geojson),
                                      "locations": frame["key"].tolist(), "z": frame["value"].tolist()}]})
        naive_s = time.perf_counter() - start
        out[n] = {"prep_s": prep, "callback_ms": statistics.median(timings) * 1000, "callback_kb": sizes[0] / 1024,
                  "naive_ms": naive_s * 1000, "naive_kb": len(naive) / 1024}
    return out


# --- report -----------------------------------------------------------------------------------

def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 1024 ** 2
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, {date.today()}"


def report(r: dict) -> str:
    sw, cs, pr, ld, gr = r["switch"], r["cold"], r["ready"], r["load"], r["growth"]
    ratio = sw["baseline"]["wire"] / sw["ours"]["wire"]
    lines = [
        f"Measured on {machine()} by `make bench` (`bench/run.py`); medians.",
        "",
        "| measurement | essen-dash | naive baseline | budget |",
        "|---|---|---|---|",
        f"| indicator switch: bytes sent (gzip) | {sw['ours']['wire'] / 1024:.1f} KB | "
        f"{sw['baseline']['wire'] / 1024:.1f} KB ({ratio:.0f}× more) | ≤ 5 KB, ≥ 20× fewer |",
        f"| indicator switch: bytes uncompressed | {sw['ours']['raw'] / 1024:.1f} KB | "
        f"{sw['baseline']['raw'] / 1024:.1f} KB | |",
        f"| indicator switch: server time per callback (loopback) | {sw['ours']['ms']:.1f} ms | "
        f"{sw['baseline']['ms']:.1f} ms | ≤ 20 ms |",
        f"| cold start: process start → first page | {cs['ours']:.2f} s | {cs['baseline']:.2f} s | ≤ 1.5 s |",
        f"| first paint: navigation → map painted, cache cleared (Chromium) | {pr['ours']['cold']:.2f} s | "
        f"{pr['baseline']['cold']:.2f} s ({pr['baseline']['cold'] / pr['ours']['cold']:.1f}× slower) | "
        "≤ 0.6 s, ≥ 3× faster |",
        f"| first paint, repeat visit (cache warm) | {pr['ours']['warm']:.2f} s | {pr['baseline']['warm']:.2f} s | "
        "≤ 0.3 s |",
        f"| navigation → interactive map (plotly.js drawn) | {pr['ours']['interactive']:.2f} s | "
        f"{pr['baseline']['interactive']:.2f} s | |",
        f"| first visit: bytes received | {pr['ours']['kb']:,.0f} KB | {pr['baseline']['kb']:,.0f} KB | |",
    ]
    lines += [
        f"| load, {r['users']} users × {r['seconds']} s: requests/s | {ld['ours']['rps']:.0f} | "
        f"{ld['baseline']['rps']:.0f} | |",
        f"| load: p50 / p99 latency | {ld['ours']['p50']:.0f} / {ld['ours']['p99']:.0f} ms | "
        f"{ld['baseline']['p50']:.0f} / {ld['baseline']['p99']:.0f} ms | p99 ≤ 300 ms |",
        f"| load: errors (of requests) | {ld['ours']['errors']} of {ld['ours']['requests']} | "
        f"{ld['baseline']['errors']} of {ld['baseline']['requests']} | 0 |",
        "",
        "Growth with the number of polygons (geometry preparation: coverage clean + simplify; callback: the "
        "value traces sent on a switch; naive: a full figure with inline GeoJSON):",
        "",
        "| polygons | preparation | per polygon | callback | callback size | naive callback | naive size |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, g in gr.items():
        lines.append(f"| {n:,} | {g['prep_s']:.2f} s | {g['prep_s'] / n * 1000:.2f} ms | {g['callback_ms']:.1f} ms | "
                     f"{g['callback_kb']:.0f} KB | {g['naive_ms']:.0f} ms | {g['naive_kb']:.0f} KB |")
    if "export" in r:
        lines += ["", "Static export (kaleido, Debian Chromium, renderer kept warm):", "",
                  "| case | seconds |", "|---|---|"]
        lines += [f"| {name} | {sec:.2f} |" for name, sec in r["export"]]
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    block = f"{START}\n{text}\n{END}"
    readme = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, readme, flags=re.S) \
        if START in readme else readme.rstrip() + "\n\n## Performance\n\n" + block + "\n"
    README.write_text(readme, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short load test (15 s) for a smoke run")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    results: dict = {"users": 50, "seconds": 15 if args.quick else 60}
    steps = [("switch", bench_switch), ("cold", bench_cold_start), ("ready", bench_page_ready),
             ("growth", bench_growth)]
    for key, fn in steps:
        print(f"… {key}", flush=True)
        results[key] = fn()
    print("… load", flush=True)
    results["load"] = bench_load({"ours": results["switch"]["ours_payload"],
                                  "baseline": results["switch"]["baseline_payload"]},
                                 results["users"], results["seconds"])
    print("… export", flush=True)
    sys.path.insert(0, str(ROOT / "bench"))
    from export import run as export_run

    results["export"] = export_run()
    text = report(results)
    print(text)
    if not args.no_readme:
        write_readme(text)


if __name__ == "__main__":
    main()

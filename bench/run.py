"""Run every benchmark, ours beside the naive baseline, print the table and record it in README.md.

    .venv/bin/python bench/run.py [--quick] [--no-readme]

1. indicator switch: bytes sent and server time per callback
2. cold start: process start to first page served
3. first paint: navigation to map painted (cold and warm cache) and to the interactive map, headless Chromium
4. load: 50 concurrent users (locust, loopback, bounded in time) replaying browser sessions over every page and
   callback (bench/session.json), exports at about one request in ten; measured after a warm-up run of the same load
5. growth: the switch callback at 9, 50, 500 and 5,000 areas (bench/growth.py)
6. export, district pack and export cache (bench/export.py, bench/pack_bench.py)
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
        payload = switch_payload(s.base, "karte-map-switch.data", {
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

def bench_cold_start(runs: int = 5) -> dict:
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

#: Seconds the same load runs before the measured run: every worker's views, memo and render helper are made,
#: as on a server that has been up a while (the first minute after a start is the cold start's business).
LOAD_WARM_UP_S = 20


def locust(base: str, env: dict, users: int, seconds: int, out: str) -> None:
    subprocess.run([PY, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                    "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", base,
                    "--csv", out, "--only-summary", "--stop-timeout", "5"],
                   env=env, cwd=ROOT, capture_output=True, timeout=seconds + 120)


#: measured runs of the load, one after the other on the same server: the report gives their medians (the
#: naive baseline, at 17–25 s per request, once)
LOAD_RUNS = {"ours": 3, "baseline": 1}


def load_run(out: str) -> dict:
    """Return one measured run's figures from locust's CSV ``out``."""
    with open(f"{out}_stats.csv") as fh:
        rows = list(csv.DictReader(fh))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    # our profile names groups (bench/locustfile.py): pages and callbacks apart from exports and static files
    core = next((r for r in rows if r["Type"] == "GROUP" and r["Name"] == "pages+callbacks"), total)
    exports = next((r for r in rows if r["Type"] == "GROUP" and r["Name"] == "exports"), None)
    return {"rps": float(total["Requests/s"]), "p50": float(core["50%"]), "p99": float(core["99%"]),
            "errors": int(core["Failure Count"]), "requests": int(core["Request Count"]),
            "export_p99": float(exports["99%"]) if exports else 0.0,
            "export_errors": int(exports["Failure Count"]) if exports else 0,
            "exports": int(exports["Request Count"]) if exports else 0}


def bench_load(payloads: dict, users: int, seconds: int) -> dict:
    """Per server: medians of rates and times over its runs, sums of requests and errors; every run's p99."""
    out = {}
    for name in SERVERS:
        with Running(name, production=True) as s, tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "TARGET": name, "SWITCH_PAYLOAD": json.dumps(payloads[name])}
            locust(s.base, env, users, LOAD_WARM_UP_S, f"{tmp}/warm")
            runs = []
            for i in range(LOAD_RUNS[name]):
                locust(s.base, env, users, seconds, f"{tmp}/r{i}")
                runs.append(load_run(f"{tmp}/r{i}"))
        out[name] = {key: (sum if key in ("errors", "requests", "export_errors", "exports") else statistics.median)(
            [r[key] for r in runs]) for key in runs[0]}
        out[name]["p99_runs"] = [r["p99"] for r in runs]
    return out


# --- 5. growth: bench/growth.py (the real switch callback at 9, 50, 500 and 5,000 areas) ------------------------

# --- 6. export and district pack: bench/export.py, bench/pack_bench.py ------------------------------------------

# --- report -----------------------------------------------------------------------------------

def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 1024 ** 2
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, {date.today()}"


def report(r: dict) -> str:
    from growth import table as growth_table

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
        f"| load, pages and callbacks (after a {LOAD_WARM_UP_S} s warm-up; median of {LOAD_RUNS['ours']} runs, "
        f"p99 of each: {' / '.join(f'{v:.0f}' for v in ld['ours']['p99_runs'])} ms): p50 / p99 | "
        f"{ld['ours']['p50']:.0f} / {ld['ours']['p99']:.0f} ms | "
        f"{ld['baseline']['p50']:.0f} / {ld['baseline']['p99']:.0f} ms | p99 ≤ 300 ms |",
        f"| load, pages and callbacks: errors | {ld['ours']['errors']} of {ld['ours']['requests']} | "
        f"{ld['baseline']['errors']} of {ld['baseline']['requests']} | 0 |",
        f"| load: exports (about one request in ten): p99 / refused | "
        f"{ld['ours']['export_p99'] / 1000:.1f} s / {ld['ours']['export_errors']} of {ld['ours']['exports']} "
        "| – | |",
        "",
        "Growth with the number of areas (`bench/growth.py`: the real switch callback through the app; a new view is "
        "built, a memoized one only sent; naive: a full figure with inline GeoJSON):",
        "",
        growth_table(gr),
    ]
    if "pack" in r:
        lines += ["", "District pack and export cache (`bench/pack_bench.py`, renderer warm):", "",
                  "| case | seconds |", "|---|---|"] + [f"| {name} | {sec:.2f} |" for name, sec in r["pack"]]
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
    sys.path.insert(0, str(ROOT / "bench"))
    from growth import run as bench_growth
    from pack_bench import run as bench_pack

    steps = [("switch", bench_switch), ("cold", bench_cold_start), ("ready", bench_page_ready),
             ("growth", bench_growth), ("pack", bench_pack)]
    for key, fn in steps:
        print(f"… {key}", flush=True)
        results[key] = fn()
    print("… load", flush=True)
    results["load"] = bench_load({"ours": results["switch"]["ours_payload"],
                                  "baseline": results["switch"]["baseline_payload"]},
                                 results["users"], results["seconds"])
    print("… export", flush=True)
    from export import run as export_run

    results["export"] = export_run()
    text = report(results)
    print(text)
    if not args.no_readme:
        write_readme(text)


if __name__ == "__main__":
    main()

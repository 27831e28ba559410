"""Benchmark static export: cold start of the renderer, then warm single-chart exports (medians).

Run: .venv/bin/python bench/export.py   (prints a table; README records the latest figures)
"""

from __future__ import annotations

import statistics
import time

from essen_dash.data import load_app_data
from essen_dash.export.charts import parse_request
from essen_dash.export.pack import pack_pdf
from essen_dash.export.render import FORMATS, Renderer
from essen_dash.paths import settings

WARM_RUNS = 7
CASES = [("karte", "map", "png"), ("karte", "map", "svg"), ("karte", "map", "pdf"), ("karte", "ranking", "png"),
         ("jobcenter", "heatmap", "png"), ("jobcenter", "map", "png")]


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run() -> list[tuple[str, float]]:
    data = load_app_data(settings())
    renderer = Renderer()
    figs = {case: parse_request({"page": case[0], "chart": case[1], "format": case[2]}, data).figure(data)
            for case in CASES}
    rows = [("cold: first PNG (browser start + render)",
             timed(lambda: renderer.render(figs[CASES[0]], FORMATS["png"])))]
    for case in CASES:
        fig, fmt = figs[case], FORMATS[case[2]]
        times = [timed(lambda: renderer.render(fig, fmt)) for _ in range(WARM_RUNS)]
        rows.append((f"warm: {case[0]} {case[1]} {case[2]} (median of {WARM_RUNS})", statistics.median(times)))
    build = [timed(lambda: parse_request({"page": "karte", "chart": "map", "format": "png"}, data).figure(data))
             for _ in range(WARM_RUNS)]
    rows.append(("figure build only: karte map (median)", statistics.median(build)))
    rows.append(("district pack III, PDF (first request, nothing cached)", timed(lambda: pack_pdf(data, ["III"], data.latest, renderer))))
    renderer.close()
    return rows


def print_table(results: list[tuple[str, float]]) -> None:
    """Print (case, seconds) rows as an aligned table."""
    width = max(len(name) for name, _ in results)
    print(f"{'case':<{width}}  seconds")
    for name, seconds in results:
        print(f"{name:<{width}}  {seconds:7.3f}")


if __name__ == "__main__":
    print_table(run())

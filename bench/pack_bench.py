"""Benchmark the district pack and the export cache with the renderer warm (medians of several runs).

Run: .venv/bin/python bench/pack_bench.py   (prints a table)

"cold" is the first request of a file: the renderer's Chromium is running, but nothing of the file is in its cache
(the cache is emptied before each run); "cached" asks again for a file made before. Targets (issue 15, item 5):
a district pack at most 3 s, all nine in one ZIP at most 20 s.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import plotly.graph_objects as go

from essen_dash.data import load_app_data
from essen_dash.export.charts import parse_request
from essen_dash.export.pack import all_packs, pack_pdf, pack_pptx
from essen_dash.export.render import FORMATS, Renderer, Rendered
from essen_dash.paths import settings
from essen_dash.tables.schema import BEZIRK_IDS

RUNS = {"pack": 5, "alle": 3, "chart": 7}
CHART = {"page": "karte", "chart": "map", "indicator": "bg_ro_pct", "format": "png"}


def median_of(runs: int, fn: Callable[[], object], before: Callable[[], object] = lambda: None) -> float:
    """Return the median time of ``fn`` over ``runs`` runs, ``before`` run untimed before each."""
    times = []
    for _ in range(runs):
        before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run() -> list[tuple[str, float]]:
    data = load_app_data(settings())
    day = data.latest
    renderer = Renderer()

    def empty_cache() -> None:
        renderer.cache = Rendered(renderer.cache.max_bytes)

    renderer.render(go.Figure(go.Bar(y=[1])), FORMATS["png"])  # Chromium started and warm
    pack_pdf(data, ["III"], day, renderer)  # the views' memo filled, as in a server that has shown them
    request = parse_request({**CHART, "stichtag": day.isoformat()}, data)
    n, a, c = RUNS["pack"], RUNS["alle"], RUNS["chart"]
    rows = [
        (f"pack III, PDF, cold (median of {n})", median_of(n, lambda: pack_pdf(data, ["III"], day, renderer),
                                                           empty_cache)),
        (f"pack III, PDF, cached (median of {n})", median_of(n, lambda: pack_pdf(data, ["III"], day, renderer))),
        (f"pack III, PPTX, cold (median of {n})", median_of(n, lambda: pack_pptx(data, ["III"], day, renderer),
                                                            empty_cache)),
        (f"all nine packs, ZIP, cold (median of {a})",
         median_of(a, lambda: all_packs(data, list(BEZIRK_IDS), day, renderer), empty_cache)),
        (f"all nine packs, ZIP, cached (median of {a})",
         median_of(a, lambda: all_packs(data, list(BEZIRK_IDS), day, renderer))),
        (f"chart export karte map PNG, cold (median of {c})", median_of(c, lambda: request.render(data, renderer),
                                                                        empty_cache)),
        (f"chart export karte map PNG, cached (median of {c})", median_of(c, lambda: request.render(data, renderer))),
    ]
    renderer.close()
    return rows


if __name__ == "__main__":
    from export import print_table  # bench/ is this script's folder, first on the path

    print_table(run())

"""Growth with the number of areas: geometry preparation, the Karte's real switch callback, the naive peer.

    .venv/bin/python bench/growth.py            # prints the table; run() returns the figures (bench/run.py)

For 9 and 50 areas the real Stadtbezirke and Stadtteile; for 500 and 5,000 a synthetic grid over Essen's extent
(squares of 40 vertices) that replaces the Stadtteile: its own register, values of four Kennzahlen at that level
(2 % withheld, 3 % missing, like a real delivery) and the boundaries, installed as the bundle in force. The switch
is a real POST to ``/_dash-update-component`` through the app (Flask's test client: no network, the same request
handling, compression included), choosing another Kennzahl: median server time of a view not shown before (built
now; the level's shared tables exist after its first page view) and of one shown before (memoized), and the response's size raw and gzip, whole and of the map alone.
The naive peer is a full figure with the areas' GeoJSON inline, as ``px.choropleth(geojson=…)`` sends it.
"""

from __future__ import annotations

import gzip
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: the Kennzahlen a switch alternates between, each with values at the synthetic Stadtteil level
KENNZAHLEN = ("origin12_pct", "bg_ro_pct", "non_german_pct", "bg_pct")
#: counts behind them at that level, so the tooltip carries its count as in the real data
COUNTS = ("origin12_count",)
SIZES = (9, 50, 500, 5000)
RUNS = 7


def grid(n: int):
    """Return ``n`` squares (200 m, 40 vertices each) over Essen's extent as Stadtteile in EPSG:4326."""
    import geopandas as gpd
    import shapely

    from essen_dash.geo import boundaries as B
    from essen_dash.tables.schema import BEZIRK_IDS

    columns = 100 if n > 1000 else 25
    x0, y0 = 350000, 5690000
    cells = [shapely.segmentize(shapely.box(x0 + (i % columns) * 200, y0 + (i // columns) * 200,
                                            x0 + (i % columns + 1) * 200, y0 + (i // columns + 1) * 200), 20)
             for i in range(n)]
    return gpd.GeoDataFrame({"stadtteil_nr": range(1, n + 1), "stadtteil_name": [f"Gebiet {i}" for i in range(1, n + 1)],
                             "bezirk_id": [BEZIRK_IDS[i % len(BEZIRK_IDS)] for i in range(n)]},
                            geometry=cells, crs=B.METRIC_CRS).to_crs(B.SOURCE_CRS)


def synthetic(real, web):
    """Return the real bundle with its Stadtteile replaced by ``web`` (prepared grid): register, values, catalog
    levels and boundaries."""
    import numpy as np
    import pandas as pd

    from essen_dash.data import assemble

    t = real.tables
    n = len(web)
    rng = np.random.default_rng(15)
    register = pd.DataFrame({"stadtteil_nr": web["stadtteil_nr"].to_numpy(), "stadtteil_name":
                             web["stadtteil_name"].to_numpy(), "bezirk_id": web["bezirk_id"].to_numpy()})
    values = t["values"]
    rows = []
    for day in t.stichtage:
        # an area's state holds for all its figures: a count withheld for secrecy withholds its share too
        state = rng.choice(["published", "withheld", "missing"], n, p=[0.95, 0.02, 0.03])
        keep = state != "missing"
        for key in KENNZAHLEN + COUNTS:
            v = (rng.integers(5, 400, n) / 10.0) if key.endswith("_pct") else rng.integers(10, 5000, n).astype(float)
            rows.append(pd.DataFrame({"stichtag": day, "level": "stadtteil", "area": register["stadtteil_nr"].astype(str)[keep],
                                      "kennzahl": key, "value": np.where(state == "withheld", np.nan, v)[keep],
                                      "state": state[keep], "source": "synthetisch"}))
    values = pd.concat([values[values["level"] != "stadtteil"], *rows], ignore_index=True)
    catalog = t["kennzahlen"].copy()
    chosen = catalog["key"].isin(KENNZAHLEN + COUNTS)
    catalog.loc[chosen, "levels"] = "bezirk stadtteil"
    cw = t["jobcenter_crosswalk"]
    frames = {**t.frames, "values": values, "stadtteile_register": register, "kennzahlen": catalog,
              "jobcenter_crosswalk": cw[cw["stadtteil_nr"] <= n]}
    tables = replace(t, frames=frames)
    boundaries = replace(real.boundaries, units={**real.boundaries.units, "stadtteile": pd.DataFrame(web)})
    return replace(assemble(tables, boundaries, None, real.revision), revision=real.revision)


def switch_payload(app, level: str, stichtag: str) -> dict:
    """Return the request the browser sends when the Karte's Kennzahl changes (``@KENNZAHL@`` to fill in)."""
    with app.server.test_client() as client:
        spec = next(cb for cb in client.get("/_dash-dependencies").get_json() if "karte-map-switch.data" in cb["output"])
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in spec["output"].strip(".").split("...")]
    values = {"karte-indicator": "@KENNZAHL@", "karte-scheme": "@SCHEME@", "karte-level": level,
              "filter-bezirke": [], "filter-stichtag": stichtag, "filter-compare": None}
    return {"output": spec["output"], "outputs": outputs,
            "inputs": [{**i, "value": values.get(i["id"])} for i in spec["inputs"]],
            "changedPropIds": ["karte-indicator.value"], "state": []}


def measure_switch(app, payload: dict, *, new: bool) -> dict:
    """Return median server time and sizes of switches between the Kennzahlen: ``new`` views (a Kennzahl and
    scheme not shown before: the view is built, the level's shared tables are already there) or views shown
    before (memoized)."""
    from essen_dash.classify import SCHEMES

    shown = [(KENNZAHLEN[i % 2], "continuous") for i in range(RUNS + 1)]
    # new views: every other one of those never shown, so each scheme takes its turn
    views = [(k, s) for s in SCHEMES for k in KENNZAHLEN if (k, s) not in shown][::2][:RUNS + 1] if new else shown
    times, raw, wire, map_raw = [], [], [], []
    with app.server.test_client() as client:
        for i, (kennzahl, scheme) in enumerate(views):
            body = json.dumps(payload).replace("@KENNZAHL@", kennzahl).replace('"@SCHEME@"', json.dumps(scheme))
            start = time.perf_counter()
            r = client.post("/_dash-update-component", data=body, content_type="application/json",
                            headers={"Accept-Encoding": "gzip"})
            elapsed = time.perf_counter() - start
            assert r.status_code == 200, r.status_code
            sent = r.get_data()
            text = gzip.decompress(sent) if r.headers.get("Content-Encoding") == "gzip" else sent
            if i == 0:
                continue  # the first call also fills lazy caches of the process
            times.append(elapsed * 1000)
            wire.append(len(sent))
            raw.append(len(text))
            map_raw.append(len(json.dumps(json.loads(text)["response"]["karte-map-switch"]["data"])))
    return {"ms": statistics.median(times), "raw_kb": statistics.median(raw) / 1024,
            "gzip_kb": statistics.median(wire) / 1024, "map_raw_kb": statistics.median(map_raw) / 1024}


def naive_kb(web, key_column: str, values) -> float:
    """Return the size of the naive peer's figure: every switch sends the areas' GeoJSON with the values."""
    geojson = web.set_axis(web[key_column].astype(str).to_numpy()).to_json(drop_id=False)
    body = json.dumps({"data": [{"type": "choropleth", "geojson": json.loads(geojson),
                                 "locations": web[key_column].astype(str).tolist(), "z": list(values)}]})
    return len(body) / 1024


def run() -> dict:
    """Return, per number of areas: preparation seconds, switch server ms (a new view, a memoized one), response KB
    (raw, gzip, map only, per area) and the naive peer's KB."""
    import numpy as np

    from essen_dash.app import create_app
    from essen_dash.data import install, load_app_data
    from essen_dash.geo import boundaries as B, prepare as P
    from essen_dash.paths import settings

    s = settings()
    real = load_app_data(s)
    app = create_app(s, real)
    stichtag = real.latest.isoformat()
    reg = real.tables["stadtteile_register"]
    out = {}
    for n in SIZES:
        if n in (9, 50):
            raw = B.find_raw_dir(s)
            start = time.perf_counter()
            joined = P._prepare_bezirke(raw / B.FILES["bezirke"], reg, []) if n == 9 else \
                P._prepare_stadtteile(raw / B.FILES["stadtteile"], reg, [])
            web = P.with_label_points(P.to_web(joined, P.SIMPLIFY_TOLERANCE_M, P.GAP_WIDTH_M))
            prep = time.perf_counter() - start
            data, level, key_column = real, ("bezirk" if n == 9 else "stadtteil"), \
                ("bezirk_id" if n == 9 else "stadtteil_nr")
        else:
            cells = grid(n)
            start = time.perf_counter()
            web = P.with_label_points(P.to_web(cells, P.SIMPLIFY_TOLERANCE_M, P.GAP_WIDTH_M))
            prep = time.perf_counter() - start
            data, level, key_column = synthetic(real, web), "stadtteil", "stadtteil_nr"
        install(data, s)
        payload = switch_payload(app, level, stichtag)
        measure_switch(app, payload, new=False)  # the level's shared tables, as after its first page view
        new, memo = measure_switch(app, payload, new=True), measure_switch(app, payload, new=False)
        out[n] = {"prep_s": prep, "new_ms": new["ms"], "memo_ms": memo["ms"], "raw_kb": new["raw_kb"],
                  "gzip_kb": new["gzip_kb"], "map_raw_kb": new["map_raw_kb"],
                  "map_bytes_per_area": new["map_raw_kb"] * 1024 / n,
                  "naive_kb": naive_kb(web, key_column, np.linspace(1, 9, len(web)).round(1))}
    install(real, s)
    return out


def table(results: dict) -> str:
    lines = ["| areas | preparation | switch: new view | memoized | response raw | gzip | map alone | per area | naive |",
             "|---|---|---|---|---|---|---|---|---|"]
    for n, g in results.items():
        lines.append(f"| {n:,} | {g['prep_s']:.2f} s | {g['new_ms']:.0f} ms | {g['memo_ms']:.1f} ms | "
                     f"{g['raw_kb']:.1f} KB | {g['gzip_kb']:.1f} KB | {g['map_raw_kb']:.1f} KB | "
                     f"{g['map_bytes_per_area']:.1f} B | {g['naive_kb']:.0f} KB |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(run()))

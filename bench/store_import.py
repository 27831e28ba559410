"""The store at monitoring size: 10 Stichtage × 50 Stadtteile × 100 Kennzahlen (50,000 values).

    .venv/bin/python bench/store_import.py [--database-url URL]

In a temporary state folder (or the given database, which must be empty): the bundled data become version 1,
the catalog is extended by 100 made-up Kennzahlen (export-data, a row each, import of the package), then a long
CSV of 50,000 made-up values is imported through the command line. Prints wall times of the command-line import
(process start included), of the app's start-up with that store (process start until the first page is served), and of building the Stadtteil map of one of the
new Kennzahlen against the bundled one. Every figure is invented.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intake_bench import made_up_catalog, made_up_long  # noqa: E402

from essen_dash import paths  # noqa: E402

PY = sys.executable


def run(env: dict, *args: str) -> float:
    """Run ``essen-dash ARGS`` in a new process; return its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([PY, "-m", "essen_dash.cli", *args], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def startup(env: dict) -> float:
    """Return the seconds from starting the dashboard (``app.py``) until it serves its first page and layout."""
    from run import Running

    server = Running("ours", env=env)
    try:
        return server.wait_ready()
    finally:
        server.__exit__()


def catalog_rows(folder: Path) -> None:
    """Append the made-up Kennzahlen to the exported catalog (as a person extends the catalog)."""
    path = folder / "kennzahlen.csv"
    current = pd.read_csv(path, dtype=str, keep_default_na=False)
    extra = pd.DataFrame([{**{c: "" for c in current.columns}, "key": k.key, "label": k.label,
                           "short_label": k.short, "unit": k.unit, "kind": k.kind, "definition": "erfunden (Test)",
                           "obtained": "published", "reference": "none", "reference_note": "erfunden",
                           "decimals": str(k.decimals), "levels": "bezirk stadtteil", "source": "bezirke",
                           "aliases": "|".join(k.aliases)} for k in made_up_catalog().values()])
    pd.concat([current, extra]).to_csv(path, index=False, lineterminator="\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
        env = {**os.environ, paths.DATABASE_URL_ENV: url, paths.CACHE_DIR_ENV: str(tmp / "cache")}
        env.pop(paths.DATA_DIR_ENV, None)
        print(f"store: {url.split('@')[-1]}")
        print(f"first start (bundled data become version 1): {run(env, 'versions'):.2f} s")
        bundled_start = statistics.median(startup(env) for _ in range(3))
        run(env, "export-data", str(tmp / "paket"))
        catalog_rows(tmp / "paket")
        print(f"catalog + 100 Kennzahlen, package import: {run(env, 'import', str(tmp / 'paket')):.2f} s")
        register = pd.read_csv(paths.DEFAULT_DATA_DIR / "stadtteile_register.csv")
        long = made_up_long(made_up_catalog(), register)
        file = tmp / "lang.csv"
        file.write_text("Testdaten (erfunden)\n\n" + long.to_csv(sep=";", index=False), encoding="cp1252")
        seconds = run(env, "import", str(file))
        print(f"import of {len(long):,} values (CLI, process start included): {seconds:.2f} s  (budget ≤ 5 s)")
        big_start = statistics.median(startup(env) for _ in range(3))
        print(f"start-up (process start → first page), bundled data: {bundled_start:.2f} s; with 50,000 more values: "
              f"{big_start:.2f} s  (budget ≤ 3 s)")

        from essen_dash.data import load_app_data
        from essen_dash.params import Params
        from essen_dash.views import build

        data = load_app_data(paths.settings(database_url=url))
        day = data.stichtage[-1]
        for key, stichtag in (("origin12_pct", data.stichtage[0]), (next(iter(made_up_catalog())), day)):
            times = []
            for scheme in ("quantiles", "continuous", "natural_breaks", "equal_interval", "deviation") * 3:
                start = time.perf_counter()
                build.__wrapped__(data, "karte-map", Params(indicator=key, scheme=scheme, level="stadtteil",
                                                            stichtag=stichtag))
                times.append(time.perf_counter() - start)
            print(f"Stadtteil map of {key} at {stichtag}: {statistics.median(times) * 1000:.1f} ms (median build)")


if __name__ == "__main__":
    main()

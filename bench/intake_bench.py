"""Time reading a large office table: 10 Stichtage × 50 Stadtteile × 100 Kennzahlen = 50,000 values.

    .venv/bin/python bench/intake_bench.py [--repeat 5]

Writes made-up tables (long CSV, wide CSV, long XLSX) with a made-up catalog of 100 Kennzahlen into a
temporary folder and prints the best of ``--repeat`` runs of :func:`essen_dash.intake.read_office_table` for
each. The Stadtteil register is the frozen test fixture; every figure is invented.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from essen_dash.intake import read_office_table  # noqa: E402
from essen_dash.kennzahlen import Catalog  # noqa: E402

REGISTER = ROOT / "tests" / "fixtures" / "data-2016" / "stadtteile_register.csv"
STICHTAGE = [date(2010 + i, 12, 31) for i in range(10)]
KENNZAHLEN = 100


def made_up_catalog() -> Catalog:
    """Return 100 invented Kennzahlen, every other one a share, the rest counts, all at both levels."""
    rows = [{"key": f"k{i:03d}_{'pct' if i % 2 else 'count'}", "label": f"Erfundene Kennzahl {i}",
             "short_label": f"Erfunden {i}", "unit": "%" if i % 2 else "Personen",
             "kind": "share" if i % 2 else "count",
             "definition": "erfunden", "obtained": "published", "formula": "", "reference": "none",
             "reference_source": "", "reference_note": "", "decimals": 1 if i % 2 else 0,
             "levels": "bezirk stadtteil", "source": "erfunden", "aliases": f"Testkennzahl {i}"}
            for i in range(KENNZAHLEN)]
    return Catalog.from_table(pd.DataFrame(rows))


def made_up_long(catalog: Catalog, register: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    grid = pd.MultiIndex.from_product([STICHTAGE, register["stadtteil_name"], list(catalog)],
                                      names=["Stichtag", "Gebiet", "Kennzahl"]).to_frame(index=False)
    share = grid["Kennzahl"].str.endswith("_pct")
    values = np.where(share, rng.uniform(0, 100, len(grid)).round(1), rng.integers(0, 50_000, len(grid)))
    text = pd.Series(values).map(lambda v: f"{v:,.1f}".replace(",", " ").replace(".", ",").replace(" ", "."))
    text = text.where(share, pd.Series(values).map(lambda v: f"{int(v):,}".replace(",", ".")))
    text[rng.random(len(grid)) < 0.01] = "–"
    return grid.assign(Stichtag=grid["Stichtag"].map(lambda d: d.strftime("%d.%m.%Y")), Ebene="Stadtteil",
                       Wert=text)[["Stichtag", "Ebene", "Gebiet", "Kennzahl", "Wert"]]


def best_of(repeat: int, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    catalog, register = made_up_catalog(), pd.read_csv(REGISTER)
    long = made_up_long(catalog, register)
    wide = long.pivot_table(index=["Stichtag", "Gebiet"], columns="Kennzahl", values="Wert", aggfunc="first",
                            sort=False).reset_index().rename(columns={"Gebiet": "Stadtteil"})
    with tempfile.TemporaryDirectory() as tmp:
        files = {"lang, CSV": Path(tmp) / "lang.csv", "breit, CSV": Path(tmp) / "breit.csv",
                 "lang, XLSX": Path(tmp) / "lang.xlsx"}
        title = "Testdaten (erfunden)\nStand: 31.12.2019\n\n"
        files["lang, CSV"].write_text(title + long.to_csv(sep=";", index=False), encoding="cp1252")
        files["breit, CSV"].write_text(title + wide.to_csv(sep=";", index=False), encoding="utf-8")
        long.to_excel(files["lang, XLSX"], index=False)
        for name, path in files.items():
            seconds, intake = best_of(args.repeat if "CSV" in name else 1,
                                      lambda: read_office_table(path, catalog=catalog, register=register))
            assert not intake.problems, intake.problems[:3]
            print(f"{name:11} {len(intake.values):>6} Werte  {seconds:6.3f} s  ({intake.layout})")


if __name__ == "__main__":
    main()

"""Time publishing and loading a large table with the versioned store (essen_dash.tables.db).

    .venv/bin/python bench/store_bench.py [--rows 50000] [--postgres-url postgresql+psycopg://…]

Runs on a fresh SQLite file in a temporary folder, and on PostgreSQL if a URL is given (its database must be
empty or hold only a store of this benchmark's one table). Prints seconds per step.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta

import numpy as np
import pandas as pd

from essen_dash.tables.db import Store
from essen_dash.tables.schema import Column, Table

BENCH = Table(
    name="bench", title="Benchmark", source_kind="document", primary_key=("stichtag", "area_id", "key"),
    columns=(
        Column("stichtag", "date", "Stichtag"),
        Column("area_id", "string", "Gebiet"),
        Column("area_nr", "integer", "Gebietsnummer"),
        Column("key", "string", "Kennzahl"),
        Column("value", "number", "Wert", required=False),
        Column("person_count", "integer", "Personen", required=False),
        Column("is_estimate", "boolean", "geschätzt"),
    ),
)


def frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """Return ``rows`` rows of the benchmark table with the dtypes read_table gives (some values missing)."""
    rng = np.random.default_rng(seed)
    counts = pd.Series(rng.integers(0, 700_000, rows), dtype="Int64")
    counts[::17] = pd.NA
    values = rng.random(rows) * 100
    values[::13] = np.nan
    return pd.DataFrame({
        "stichtag": pd.Series([date(2016, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 3650, rows)],
                              dtype=object),
        "area_id": pd.Series([f"ST{i % 50:02d}" for i in range(rows)], dtype=str),
        "area_nr": np.arange(rows, dtype="int64"),
        "key": pd.Series([f"kennzahl_{i % 40}" for i in range(rows)], dtype=str),
        "value": values,
        "person_count": counts,
        "is_estimate": rng.random(rows) < 0.1,
    })


def timed(label: str, action):
    start = time.perf_counter()
    result = action()
    print(f"  {label:<34} {time.perf_counter() - start:6.2f} s")
    return result


def run(url: str, rows: int) -> None:
    store = Store(url, tables={"bench": BENCH})
    timed("create", store.create)
    data = frame(rows)
    meta = {"author": "bench", "file_name": "bench.csv", "sha256": "0" * 64}
    timed(f"publish {rows} rows", lambda: store.publish({"bench": data}, **meta))
    loaded = timed(f"load {rows} rows", store.load)
    pd.testing.assert_frame_equal(loaded["bench"], data)
    timed("publish copying the table", lambda: store.publish({}, **meta))
    timed("current_version (x100)", lambda: [store.current_version() for _ in range(100)])
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--postgres-url", help="SQLAlchemy URL of a PostgreSQL database to time as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite")
        run(f"sqlite:///{folder}/bench.db", args.rows)
    if args.postgres_url:
        print("PostgreSQL")
        run(args.postgres_url, args.rows)


if __name__ == "__main__":
    main()

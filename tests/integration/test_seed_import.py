"""The importer on the real council submission reproduces the bundled data package."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from essen_dash import paths
from essen_dash.cli import main
from essen_dash.tables.load import load_tables

SEED = paths.SHARED_GEO_DIR.parent / "seeds" / "004_21aeda8fd511776f.txt"


@pytest.fixture(scope="module")
def seed_path():
    assert SEED.is_file(), f"seed submission missing: {SEED}"
    return SEED


def test_import_of_the_seed_reproduces_its_rows_of_the_bundled_data(seed_path, tmp_path):
    """Importing the seed beside the reference tables gives exactly the bundled rows of its Stichtage
    (other Stichtage imported into data/ later are left out of the comparison)."""
    out = tmp_path / "out"
    out.mkdir()
    for name in ("kennzahlen.csv", "stadtteile_register.csv"):
        shutil.copy(paths.DEFAULT_DATA_DIR / name, out / name)
    assert main(["import-vorlage", str(seed_path), "--out", str(out), "--data-dir", str(paths.DEFAULT_DATA_DIR)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.DEFAULT_DATA_DIR.iterdir())
    imported, bundled = load_tables(out), load_tables(paths.DEFAULT_DATA_DIR)
    for name, df in imported.frames.items():
        ref = bundled[name]
        if "stichtag" in df.columns:
            ref = ref[ref["stichtag"].isin(set(df["stichtag"]))]
        if name == "documents":
            ref = ref[ref["document_id"].isin(set(df["document_id"]))]
        pd.testing.assert_frame_equal(df.reset_index(drop=True), ref.reset_index(drop=True), obj=name)

"""The published values of the long ``values`` table in the submission's own layout, for tests that compare
with the submission table by table."""

from __future__ import annotations

import pandas as pd


def bezirke(tables) -> pd.DataFrame:
    """Return a row per Stichtag and Bezirk (``bezirk_id``), a column per published Kennzahl."""
    return tables.wide("bezirk").rename(columns={"area": "bezirk_id"})


def hotspots(tables) -> pd.DataFrame:
    """Return the published Stadtteil values with number, name and Bezirk from the register."""
    wide = tables.wide("stadtteil")
    reg = tables["stadtteile_register"]
    out = wide.assign(stadtteil_nr=wide["area"].astype(int)).merge(reg, on="stadtteil_nr", how="left")
    return out.drop(columns="area")

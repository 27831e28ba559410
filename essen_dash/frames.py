"""Join validated tables into ready frames for one view (indicator, level, Stichtag).

Frames carry values, names, ranks and the city reference; geometry stays in
:mod:`essen_dash.geo` and is matched by ``key`` (Bezirk id or Stadtteil number).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from essen_dash.indicators import Indicator
from essen_dash.tables.load import Tables
from essen_dash.tables.schema import BEZIRK_IDS

LEVELS = {"bezirk": "Stadtbezirke", "stadtteil": "Stadtteile"}
DEFAULT_LEVEL = "bezirk"


def at(df: pd.DataFrame, stichtag: date) -> pd.DataFrame:
    return df[df["stichtag"] == stichtag]


def bezirk_name(bezirk_id: str) -> str:
    return f"Stadtbezirk {bezirk_id}"


def city_value(tables: Tables, indicator: Indicator, stichtag: date) -> float:
    return indicator.city_value(at(tables["bezirke"], stichtag), at(tables["city"], stichtag))


def bezirk_frame(tables: Tables, indicator: Indicator, stichtag: date) -> pd.DataFrame:
    """Return the nine Bezirke with value, rank (1 = highest) and the city value."""
    bz = at(tables["bezirke"], stichtag)
    out = pd.DataFrame({
        "key": bz["bezirk_id"].to_numpy(),
        "name": [bezirk_name(b) for b in bz["bezirk_id"]],
        "bezirk_id": bz["bezirk_id"].to_numpy(),
        "value": bz[indicator.key].astype(float).to_numpy(),
    })
    out["rank"] = out["value"].rank(ascending=False, method="min").astype("Int64")
    out["city_value"] = city_value(tables, indicator, stichtag)
    return out.set_index(pd.Index(range(len(out)))).sort_values(
        "bezirk_id", key=lambda s: s.map(BEZIRK_IDS.index)).reset_index(drop=True)


def stadtteil_frame(tables: Tables, indicator: Indicator, stichtag: date) -> pd.DataFrame:
    """Return all 50 Stadtteile; only published values are set, the rest stay missing (never 0)."""
    reg = tables["stadtteile_register"]
    out = pd.DataFrame({"key": reg["stadtteil_nr"].astype(str).to_numpy(), "name": reg["stadtteil_name"].to_numpy(),
                        "bezirk_id": reg["bezirk_id"].to_numpy(), "value": np.nan})
    if indicator.has_stadtteil_values:
        hs = at(tables["stadtteile_hotspots"], stichtag)
        published = dict(zip(hs["stadtteil_nr"].astype(str), hs[indicator.key].astype(float)))
        out["value"] = out["key"].map(published).astype(float)
    out["rank"] = out["value"].rank(ascending=False, method="min").astype("Int64")
    out["city_value"] = city_value(tables, indicator, stichtag)
    return out


FRAMES = {"bezirk": bezirk_frame, "stadtteil": stadtteil_frame}


def view_frame(tables: Tables, indicator: Indicator, level: str, stichtag: date) -> pd.DataFrame:
    return FRAMES[level](tables, indicator, stichtag)


def allocation_frame(tables: Tables, stichtag: date) -> pd.DataFrame:
    """Return each Bezirk's share of project housing against its share of the 12-country residents.

    resident_share_pct = origin12_count / Σ origin12_count × 100 (derived from published counts);
    ratio = project_housing_pct / resident_share_pct (1 = housing in proportion to residents).
    """
    bz = at(tables["bezirke"], stichtag)
    out = bz[["bezirk_id", "project_housing_pct", "origin12_count"]].copy()
    out["resident_share_pct"] = 100.0 * out["origin12_count"] / out["origin12_count"].sum()
    out["ratio"] = out["project_housing_pct"] / out["resident_share_pct"]
    out["name"] = out["bezirk_id"].map(bezirk_name)
    return out.reset_index(drop=True)


def jobcenter_matrix(tables: Tables, stichtag: date) -> pd.DataFrame:
    """Return JobCenter shares as areas × origin groups, in the source's order."""
    jc = tables["jobcenter"][tables["jobcenter"]["stichtag"] == stichtag]
    areas = list(dict.fromkeys(jc["jc_area"]))
    groups = list(dict.fromkeys(jc["origin_group"]))
    return jc.pivot(index="jc_area", columns="origin_group", values="share_pct").loc[areas, groups]


def jobcenter_stichtag(tables: Tables, bezirke_stichtag: date) -> date:
    """Return the JobCenter Stichtag published with the Bezirk data of ``bezirke_stichtag``."""
    docs = tables["documents"]
    row = docs[docs["bezirke_stichtag"] == bezirke_stichtag]
    return row["jobcenter_stichtag"].iloc[0] if len(row) else max(tables["jobcenter"]["stichtag"])

"""A second Stichtag for tests of change over time — MADE-UP TEST DATA, never bundled in ``data/``.

:func:`add_made_up_stichtag` copies the 2016 rows of a data folder to 31.12.2018 with invented changes: every
published value is multiplied by a fixed factor per Bezirk (Stadtteile by their Bezirk's), Bezirk IX's values
are left out (so it has no comparison), and the city's figures grow by 1 %. The figures mean nothing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from essen_dash.sources.publish import write_package
from essen_dash.tables.load import load_tables
from essen_dash.tables.schema import BEZIRK_IDS

FIRST, SECOND = date(2016, 9, 30), date(2018, 12, 31)
SOURCE = "Testdaten (erfunden)"
#: the invented factor per Bezirk: I grows most, VIII shrinks
FACTORS = {"I": 1.20, "II": 1.05, "III": 1.10, "IV": 1.00, "V": 1.02, "VI": 0.98, "VII": 1.04, "VIII": 0.90}


def add_made_up_stichtag(folder: Path) -> Path:
    """Add the made-up Stichtag 31.12.2018 beside 2016 in the data folder; return it."""
    t = load_tables(folder)
    frames = dict(t.frames)
    catalog = t["kennzahlen"].set_index("key")
    reg = t["stadtteile_register"].assign(area=lambda d: d["stadtteil_nr"].astype(str)).set_index("area")
    v = t["values"][t["values"]["stichtag"] == FIRST].copy()
    bezirk = v["area"].where(v["level"] == "bezirk", v["area"].map(reg["bezirk_id"]))
    v = v[bezirk != "IX"].assign(stichtag=SECOND, source=SOURCE)
    factor = bezirk[v.index].map(FACTORS)
    whole = v["kennzahl"].map(catalog["kind"]) == "count"
    changed = v["value"] * factor
    v["value"] = changed.where(~whole, changed.round()).where(v["kennzahl"].map(catalog["kind"]) != "share",
                                                             (v["value"] * factor).clip(upper=100).round(1))
    frames["values"] = pd.concat([t["values"], v], ignore_index=True)
    city = t["city"][t["city"]["stichtag"] == FIRST].copy().assign(stichtag=SECOND)
    city["person_count"] = (city["person_count"] * 1.01).round().astype("int64")
    frames["city"] = pd.concat([t["city"], city], ignore_index=True)
    write_package(frames, folder)
    load_tables(folder)  # the result passes every rule
    assert set(FACTORS) | {"IX"} == set(BEZIRK_IDS)
    return folder

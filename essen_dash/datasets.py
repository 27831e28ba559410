"""The tables people can look at and download, by public name (``essen-dash show`` and 'Daten & Quellen' alike)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from essen_dash.data import AppData, memoized
from essen_dash.frames import area_states, area_values, city_values, kennzahl_frame
from essen_dash.tables.quality import quality_table
from essen_dash.tables.schema import TABLES


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    get: Callable[[AppData], pd.DataFrame]
    #: the data-package table it shows as stored (None for tables computed from several)
    table: str | None = None


def values(data: AppData) -> pd.DataFrame:
    """Return every Kennzahl of every area and of the city, long, per Stichtag: published, derived, withheld
    or missing."""
    rows = []
    for day in data.stichtage:
        catalog = data.catalog(day)
        city = city_values(data, day)
        for level in ("bezirk", "stadtteil"):
            frame = area_values(data, level, day)
            states = area_states(data, level, day)
            for k in catalog.at_level(level):
                for area, name, value, state in zip(frame["key"], frame["name"], frame[k.key], states[k.key]):
                    rows.append((day, level, area, name, k.key, None if pd.isna(value) else round(float(value), 6),
                                 STATE_NAMES[state]))
        for key, value in city.items():
            rows.append((day, "stadt", "Essen", "Gesamtstadt", key, None if value is None else round(value, 6),
                         "fehlt" if value is None else f"Stadtwert: {catalog[key].reference}"))
    return pd.DataFrame(rows, columns=["stichtag", "ebene", "gebiet", "name", "kennzahl", "wert", "stand"])


#: how the state of a value reads in tables
STATE_NAMES = {"published": "veröffentlicht", "derived": "berechnet", "withheld": "gesperrt", "missing": "fehlt"}


def kennzahl_values(data: AppData, key: str, level: str, stichtag: date | None = None) -> pd.DataFrame:
    """Return one Kennzahl for every area of a level at one Stichtag (or all): value and state, never 0 for
    a value that is missing or withheld."""
    days = [stichtag] if stichtag else data.stichtage
    if stichtag and stichtag not in data.stichtage:
        raise ValueError(f"Stichtag {stichtag:%d.%m.%Y} gibt es nicht; vorhanden: "
                         + ", ".join(f"{d:%d.%m.%Y}" for d in data.stichtage))
    catalog = data.catalog(days[-1])
    if key not in catalog:
        raise ValueError(f"Kennzahl {key!r} steht nicht im Katalog; bekannt: {', '.join(catalog)}")
    if level not in catalog[key].levels:
        raise ValueError(f"Kennzahl {key!r} gibt der Katalog nicht auf Ebene {level} "
                         f"(nur {', '.join(catalog[key].levels)})")
    frames = []
    for day in days:
        f = kennzahl_frame(data, key, level, day)
        frames.append(pd.DataFrame({"stichtag": day, "ebene": level, "gebiet": f["key"], "name": f["name"],
                                    "kennzahl": key, "wert": f["value"], "status": f["state"].map(STATE_NAMES)}))
    return pd.concat(frames, ignore_index=True)


def _table(name: str) -> Callable[[AppData], pd.DataFrame]:
    return lambda data: data.tables[name]


def _published(level: str) -> Callable[[AppData], pd.DataFrame]:
    """Return the published values of a level as one table: a row per Stichtag and area, a column per Kennzahl."""
    def get(data: AppData) -> pd.DataFrame:
        wide = data.tables.wide(level)
        if level == "bezirk":
            return wide.rename(columns={"area": "bezirk_id"})
        reg = data.tables["stadtteile_register"].assign(area=lambda d: d["stadtteil_nr"].astype(str))
        named = wide.merge(reg, on="area", how="left").drop(columns="area")
        return named[["stichtag", "stadtteil_nr", "stadtteil_name", "bezirk_id",
                      *[c for c in wide.columns if c not in ("stichtag", "area")]]]
    return get


@dataclass(frozen=True)
class ColumnInfo:
    title: str  # German, with the unit
    type: str  # the data contract's type: string, integer, number, date, boolean


def column_info(data: AppData, name: str, df: pd.DataFrame) -> dict[str, ColumnInfo]:
    """Return title and type of every column of a dataset: from its table's schema, else from the Kennzahlen
    catalog (a column per Kennzahl) and the columns of the contract's other tables."""
    table = TABLES.get(DATASETS[name].table)
    known = {c.name: c for t in ([table] if table else TABLES.values()) for c in t.columns}
    catalog = data.catalog(data.latest)
    out = {}
    for col in df.columns:
        if table is None and col in catalog:
            k = catalog[col]
            out[col] = ColumnInfo(f"{k.short} ({k.unit})" if k.unit and f"({k.unit})" not in k.short else k.short,
                                  "integer" if k.kind == "count" else "number")
        elif col in known:
            c = known[col]
            out[col] = ColumnInfo(f"{c.title} ({c.unit})" if c.unit else c.title, c.type)
        else:
            out[col] = ColumnInfo(col, "string")
    return out


DATASETS: dict[str, Dataset] = {
    v.name: v
    for v in (
        Dataset("bezirke", "Stadtbezirke I–IX", _published("bezirk")),
        Dataset("stadtteile", "Stadtteile (veröffentlichte Werte)", _published("stadtteil")),
        Dataset("werte", "Alle Kennzahlen je Gebiet (veröffentlicht und berechnet)", values),
        Dataset("geliefert", "Gelieferte Werte (Datenvertrag)", _table("values"), "values"),
        Dataset("kennzahlen", "Kennzahlenkatalog", _table("kennzahlen"), "kennzahlen"),
        Dataset("city", "Gesamtstadt", _table("city"), "city"),
        Dataset("jobcenter", "JobCenter-Verteilung", _table("jobcenter"), "jobcenter"),
        Dataset("crosswalk", "JobCenter-Bereiche und Stadtteile", _table("jobcenter_crosswalk"),
                "jobcenter_crosswalk"),
        Dataset("register", "Stadtteilverzeichnis", _table("stadtteile_register"), "stadtteile_register"),
        Dataset("origin-countries", "Länder der Herkunftsgruppen", _table("origin_countries"), "origin_countries"),
        Dataset("documents", "Quelldokumente", _table("documents"), "documents"),
        Dataset("quality", "Datenqualität: veröffentlicht und nachgerechnet", lambda d: quality_table(d.tables)),
    )
}


@memoized
def dataset_frame(data: AppData, name: str) -> pd.DataFrame:
    """Return a dataset's table, computed once per bundle (the quality table alone takes ~60 ms); callers must not
    change it."""
    return DATASETS[name].get(data)


def iso_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with date cells as ISO strings (for CSV, JSON and the browser)."""
    out = df.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, date)).any():
            out[col] = out[col].map(lambda v: v.isoformat() if isinstance(v, date) else v)
    return out

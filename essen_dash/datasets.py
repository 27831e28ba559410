"""The tables people can look at and download, by public name (``essen-dash show`` and 'Daten & Quellen' alike)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from essen_dash.data import AppData
from essen_dash.frames import area_values, city_values
from essen_dash.tables.quality import quality_table


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    get: Callable[[AppData], pd.DataFrame]
    #: the data-package table it shows as stored (None for tables computed from several)
    table: str | None = None


def values(data: AppData) -> pd.DataFrame:
    """Return every Kennzahl of every area and of the city, long: published, derived or missing, per Stichtag."""
    rows = []
    for day in data.stichtage:
        catalog = data.catalog(day)
        city = city_values(data, day)
        for level in ("bezirk", "stadtteil"):
            frame = area_values(data, level, day)
            for k in catalog.at_level(level):
                for area, name, value in zip(frame["key"], frame["name"], frame[k.key]):
                    state = "fehlt" if pd.isna(value) else ("berechnet" if k.is_derived else "veröffentlicht")
                    rows.append((day, level, area, name, k.key, None if pd.isna(value) else round(float(value), 6),
                                 state))
        for key, value in city.items():
            rows.append((day, "stadt", "Essen", "Gesamtstadt", key, None if value is None else round(value, 6),
                         "fehlt" if value is None else f"Stadtwert: {catalog[key].reference}"))
    return pd.DataFrame(rows, columns=["stichtag", "ebene", "gebiet", "name", "kennzahl", "wert", "stand"])


def _table(name: str) -> Callable[[AppData], pd.DataFrame]:
    return lambda data: data.tables[name]


DATASETS: dict[str, Dataset] = {
    v.name: v
    for v in (
        Dataset("bezirke", "Stadtbezirke I–IX", _table("bezirke"), "bezirke"),
        Dataset("werte", "Alle Kennzahlen je Gebiet (veröffentlicht und berechnet)", values),
        Dataset("kennzahlen", "Kennzahlenkatalog", _table("kennzahlen"), "kennzahlen"),
        Dataset("stadtteile-hotspots", "Besonders betroffene Stadtteile", _table("stadtteile_hotspots"),
                "stadtteile_hotspots"),
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


def iso_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with date cells as ISO strings (for CSV, JSON and the browser)."""
    out = df.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, date)).any():
            out[col] = out[col].map(lambda v: v.isoformat() if isinstance(v, date) else v)
    return out

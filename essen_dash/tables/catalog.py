"""The tables people can look at and download, by public name (CLI and 'Daten & Quellen' alike)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from essen_dash.tables.load import Tables


@dataclass(frozen=True)
class View:
    name: str
    title: str
    get: Callable[[Tables], pd.DataFrame]


def _quality(t: Tables) -> pd.DataFrame:
    from essen_dash.tables.quality import quality_table

    return quality_table(t)


VIEWS: dict[str, View] = {
    v.name: v
    for v in (
        View("bezirke", "Stadtbezirke I–IX", lambda t: t["bezirke"]),
        View("stadtteile-hotspots", "Besonders betroffene Stadtteile", lambda t: t["stadtteile_hotspots"]),
        View("city", "Gesamtstadt", lambda t: t["city"]),
        View("jobcenter", "JobCenter-Verteilung", lambda t: t["jobcenter"]),
        View("crosswalk", "JobCenter-Bereiche und Stadtteile", lambda t: t["jobcenter_crosswalk"]),
        View("register", "Stadtteilverzeichnis", lambda t: t["stadtteile_register"]),
        View("origin-countries", "Länder der Herkunftsgruppen", lambda t: t["origin_countries"]),
        View("documents", "Quelldokumente", lambda t: t["documents"]),
        View("quality", "Datenqualität: veröffentlicht und nachgerechnet", _quality),
    )
}


def iso_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with date cells as ISO strings (for CSV, JSON and the browser)."""
    out = df.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, date)).any():
            out[col] = out[col].map(lambda v: v.isoformat() if isinstance(v, date) else v)
    return out

"""Recompute every published share that can be derived from published counts.

Each check yields one :class:`Finding` per comparison: the published value,
the value recomputed from counts (as a range where an input is itself a
rounded share), the formula, and whether the gap exceeds what rounding of the
published figure allows. Discrepancies are facts about the source, reported
beside the data; they never alter it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import pandas as pd

from essen_dash.format import de_number
from essen_dash.tables.load import Tables

#: Published shares carry one decimal: rounding alone explains a gap up to half a unit.
HALF_UNIT = 0.05
EPS = 1e-9


@dataclass(frozen=True)
class Finding:
    """One published figure compared with its recomputation."""

    check: str
    subject: str
    stichtag: date
    published: float
    low: float  # the recomputed value, or the low end of its range
    high: float
    tolerance: float
    formula: str
    unit: str = "%"

    @property
    def recomputed(self) -> float:
        return (self.low + self.high) / 2

    @property
    def is_discrepancy(self) -> bool:
        return not (self.low - self.tolerance - EPS <= self.published <= self.high + self.tolerance + EPS)

    def recomputed_text(self) -> str:
        decimals = 0 if self.unit == "Personen" else 2
        if abs(self.high - self.low) < EPS:
            return de_number(self.low, decimals)
        return f"{de_number(self.low, decimals)} bis {de_number(self.high, decimals)}"

    def record(self) -> dict:
        return {
            "pruefung": self.check, "gegenstand": self.subject, "stichtag": self.stichtag,
            "veroeffentlicht": self.published, "nachgerechnet": self.recomputed_text(), "einheit": self.unit,
            "toleranz": self.tolerance, "formel": self.formula,
            "ergebnis": "Abweichung" if self.is_discrepancy else "stimmt",
        }


def pct(count: float, base: float) -> float:
    return 100.0 * count / base


def share_of_derived_base(count: float, population: float, base_pct: float) -> tuple[float, float]:
    """Return the range of count / (population × base_pct) when base_pct is rounded to one decimal."""
    return (pct(count, population * (base_pct + HALF_UNIT) / 100),
            pct(count, population * (base_pct - HALF_UNIT) / 100))


Check = Callable[[Tables], Iterator[Finding]]


def origin12_shares(t: Tables) -> Iterator[Finding]:
    for row in t["bezirke"].itertuples():
        value = pct(row.origin12_count, row.population_count)
        yield Finding("Anteil der wesentlichen Herkunftsländer", f"Bezirk {row.bezirk_id}", row.stichtag,
                      row.origin12_pct, value, value, HALF_UNIT,
                      "origin12_count / population_count × 100")


def bg_ro_shares(t: Tables) -> Iterator[Finding]:
    parts = (("bg_pct", ("bg_count",), "Bulgarien"), ("ro_pct", ("ro_count",), "Rumänien"),
             ("bg_ro_pct", ("bg_count", "ro_count"), "Bulgarien/Rumänien gesamt"))
    for row in t["bezirke"].itertuples():
        for column, counts, label in parts:
            count = sum(getattr(row, c) for c in counts)
            low, high = share_of_derived_base(count, row.population_count, row.non_german_pct)
            yield Finding(f"Anteil {label} an Nichtdeutschen", f"Bezirk {row.bezirk_id}", row.stichtag,
                          getattr(row, column), low, high, HALF_UNIT,
                          f"({' + '.join(counts)}) / (population_count × non_german_pct / 100) × 100; "
                          "Spanne aus der Rundung von non_german_pct")


def bezirk_population_sum(t: Tables) -> Iterator[Finding]:
    city = t["city"]
    for stichtag, rows in t["bezirke"].groupby("stichtag"):
        total = city[(city["stichtag"] == stichtag) & (city["group_kind"] == "total")]["person_count"]
        s = float(rows["population_count"].sum())
        yield Finding("Summe der Bezirksbevölkerungen", "Gesamtstadt", stichtag, float(total.iloc[0]), s, s, 0,
                      "Σ population_count der Bezirke = Gesamtbevölkerung", unit="Personen")


def non_german_count_sum(t: Tables) -> Iterator[Finding]:
    city = t["city"]
    for stichtag, rows in t["bezirke"].groupby("stichtag"):
        published = city[(city["stichtag"] == stichtag) & (city["group_kind"] == "non_german")]["person_count"]
        low = float((rows["population_count"] * (rows["non_german_pct"] - HALF_UNIT) / 100).sum())
        high = float((rows["population_count"] * (rows["non_german_pct"] + HALF_UNIT) / 100).sum())
        yield Finding("Nichtdeutsche: Summe der Bezirke", "Gesamtstadt", stichtag, float(published.iloc[0]),
                      low, high, 0, "Σ population_count × non_german_pct / 100 der Bezirke; Spanne aus der Rundung",
                      unit="Personen")


def city_shares(t: Tables) -> Iterator[Finding]:
    city = t["city"]
    for stichtag, rows in city.groupby("stichtag"):
        total = rows[rows["group_kind"] == "total"]["person_count"].iloc[0]
        non_german = rows[rows["group_kind"] == "non_german"]["person_count"].iloc[0]
        for row in rows[rows["group_kind"] != "total"].itertuples():
            if pd.notna(row.population_pct):
                value = pct(row.person_count, total)
                yield Finding("Anteil an der Gesamtbevölkerung", row.group_name, stichtag, row.population_pct,
                              value, value, HALF_UNIT, "person_count / Gesamtbevölkerung × 100")
            if row.group_kind == "nationality" and pd.notna(row.non_german_pct):
                value = pct(row.person_count, non_german)
                yield Finding("Anteil an den Nichtdeutschen", row.group_name, stichtag, row.non_german_pct,
                              value, value, HALF_UNIT, "person_count / Nichtdeutsche × 100")


def jobcenter_columns(t: Tables) -> Iterator[Finding]:
    for (stichtag, group), rows in t["jobcenter"].groupby(["stichtag", "origin_group"], sort=False):
        s = float(rows["share_pct"].sum())
        yield Finding("JobCenter-Spalte summiert sich zu 100 %", group, stichtag, 100.0, s, s,
                      HALF_UNIT * len(rows), f"Σ share_pct über {len(rows)} Bereiche = 100; "
                      "Toleranz: halbe Rundungseinheit je Summand")


def project_housing_sum(t: Tables) -> Iterator[Finding]:
    for stichtag, rows in t["bezirke"].groupby("stichtag"):
        s = float(rows["project_housing_pct"].sum())
        yield Finding("Projektwohnungen: Anteile summieren sich zu 100 %", "alle Bezirke", stichtag, 100.0, s, s,
                      HALF_UNIT * len(rows), "Σ project_housing_pct der Bezirke = 100; "
                      "Toleranz: halbe Rundungseinheit je Summand")


CHECKS: tuple[Check, ...] = (
    origin12_shares, bg_ro_shares, bezirk_population_sum, non_german_count_sum, city_shares,
    jobcenter_columns, project_housing_sum,
)


def findings(t: Tables) -> list[Finding]:
    """Return every comparison, discrepancies first."""
    out = [f for check in CHECKS for f in check(t)]
    return sorted(out, key=lambda f: not f.is_discrepancy)


def quality_table(t: Tables) -> pd.DataFrame:
    """Return the report as a table (German column names, one row per comparison)."""
    return pd.DataFrame([f.record() for f in findings(t)])

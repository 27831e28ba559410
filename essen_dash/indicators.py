"""The indicators the dashboard maps: one record each, looked up by the data contract's column name.

A new indicator is one record here. Its city value is either published or
derived from published counts by the formula stated in the record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd


def _city_row(city: pd.DataFrame, kind: str) -> pd.Series:
    return city[city["group_kind"] == kind].iloc[0]


def _ratio(bezirke: pd.DataFrame, city: pd.DataFrame, counts: tuple[str, ...], base: str) -> float:
    """Return Σcounts / base × 100, base being the city's population or its non-German count."""
    denominator = _city_row(city, base)["person_count"]
    return 100.0 * float(bezirke[list(counts)].to_numpy().sum()) / float(denominator)


@dataclass(frozen=True)
class Indicator:
    """One mapped figure: label, unit, meaning, and how the city reference is obtained."""

    key: str
    label: str
    short: str
    unit: str
    definition: str
    formula: str
    city_formula: str
    city_value: Callable[[pd.DataFrame, pd.DataFrame], float]
    decimals: int = 1
    has_stadtteil_values: bool = False

    def format(self, value: float | None) -> str:
        from essen_dash.format import de_number

        return de_number(value, self.decimals, self.unit)


INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in (
        Indicator(
            key="origin12_pct", label="Anteil aus den 12 wesentlichen Herkunftsländern Geflüchteter",
            short="12 Herkunftsländer", unit="%",
            definition="Einwohnerinnen und Einwohner mit Staatsangehörigkeit eines der 12 wesentlichen "
                       "Herkunftsländer Geflüchteter, in Prozent der Gesamtbevölkerung des Gebiets.",
            formula="veröffentlicht; entspricht origin12_count / population_count × 100",
            city_formula="Σ origin12_count / Gesamtbevölkerung × 100 (aus den Bezirkszahlen berechnet)",
            city_value=lambda bz, city: _ratio(bz, city, ("origin12_count",), "total"),
            has_stadtteil_values=True,
        ),
        Indicator(
            key="bg_ro_pct", label="Anteil Bulgarien/Rumänien an den Nichtdeutschen", short="Bulgarien/Rumänien",
            unit="%",
            definition="Personen mit bulgarischer oder rumänischer Staatsangehörigkeit, in Prozent der "
                       "nichtdeutschen Bevölkerung des Bezirks.",
            formula="veröffentlicht (gesamt); entspricht (bg_count + ro_count) / Nichtdeutsche × 100",
            city_formula="(Σ bg_count + Σ ro_count) / Nichtdeutsche der Stadt × 100",
            city_value=lambda bz, city: _ratio(bz, city, ("bg_count", "ro_count"), "non_german"),
        ),
        Indicator(
            key="bg_pct", label="Anteil Bulgarien an den Nichtdeutschen", short="Bulgarien", unit="%",
            definition="Personen mit bulgarischer Staatsangehörigkeit, in Prozent der nichtdeutschen Bevölkerung.",
            formula="veröffentlicht; entspricht bg_count / Nichtdeutsche × 100",
            city_formula="Σ bg_count / Nichtdeutsche der Stadt × 100",
            city_value=lambda bz, city: _ratio(bz, city, ("bg_count",), "non_german"),
        ),
        Indicator(
            key="ro_pct", label="Anteil Rumänien an den Nichtdeutschen", short="Rumänien", unit="%",
            definition="Personen mit rumänischer Staatsangehörigkeit, in Prozent der nichtdeutschen Bevölkerung.",
            formula="veröffentlicht; entspricht ro_count / Nichtdeutsche × 100",
            city_formula="Σ ro_count / Nichtdeutsche der Stadt × 100",
            city_value=lambda bz, city: _ratio(bz, city, ("ro_count",), "non_german"),
        ),
        Indicator(
            key="project_housing_pct", label="Anteil an den Projektwohnungen für Flüchtlinge",
            short="Projektwohnungen", unit="%",
            definition="Anteil des Bezirks an allen Projektwohnungen für Flüchtlinge in Essen "
                       "(die neun Anteile ergeben zusammen 100 %).",
            formula="veröffentlicht",
            city_formula="Gleichverteilung: 100 % / Zahl der Bezirke",
            city_value=lambda bz, city: 100.0 / len(bz),
        ),
        Indicator(
            key="non_german_pct", label="Anteil nichtdeutscher Bevölkerung", short="Nichtdeutsche", unit="%",
            definition="Einwohnerinnen und Einwohner mit ausschließlich nichtdeutscher Staatsangehörigkeit, "
                       "in Prozent der Gesamtbevölkerung.",
            formula="veröffentlicht",
            city_formula="veröffentlichter Wert der Gesamtstadt",
            city_value=lambda bz, city: float(_city_row(city, "non_german")["population_pct"]),
        ),
        Indicator(
            key="population_count", label="Gesamtbevölkerung", short="Bevölkerung", unit="Personen",
            definition="Einwohnerinnen und Einwohner mit Hauptwohnsitz im Bezirk.",
            formula="veröffentlicht",
            city_formula="Durchschnitt der Bezirke: Gesamtbevölkerung / Zahl der Bezirke",
            city_value=lambda bz, city: float(_city_row(city, "total")["person_count"]) / len(bz),
            decimals=0,
        ),
    )
}
DEFAULT_INDICATOR = "origin12_pct"

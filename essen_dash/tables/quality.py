"""Recompute every published share that can be derived from published counts.

Each check yields one :class:`Finding` per comparison: the published value,
the value recomputed from counts (as a range where an input is itself a
rounded share), the formula, and whether the gap exceeds what rounding of the
published figure allows. Discrepancies are facts about the source, reported
beside the data; they never alter it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from essen_dash.format import de_number
from essen_dash.kennzahlen import Catalog, Interval, Kennzahl, city_value, evaluate, render
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
    #: the Kennzahl and area the published figure belongs to, where it is one (so the flag can travel with it)
    kennzahl: str = ""
    area: str = ""

    @property
    def recomputed(self) -> float:
        return (self.low + self.high) / 2

    @property
    def is_discrepancy(self) -> bool:
        return not (self.low - self.tolerance - EPS <= self.published <= self.high + self.tolerance + EPS)

    def note(self) -> str:
        """Return the flag shown beside the published figure, in German."""
        return (f"Quelle uneinheitlich: veröffentlicht {de_number(self.published, 1)} {self.unit}, aus den "
                f"veröffentlichten Zahlen nachgerechnet {self.recomputed_text()} {self.unit}")

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


def half_unit(k: Kennzahl) -> float:
    """Return how far a published figure of ``k`` may lie from the truth by rounding alone (counts are exact)."""
    return 0.0 if k.kind == "count" else 0.5 * 10 ** -k.decimals


def as_interval(catalog: Catalog, key: str, row: Mapping) -> Interval:
    """Return what the published figures of one area say about Kennzahl ``key``: an interval."""
    k = catalog[key]
    if k.is_derived:
        return evaluate(k.tree, {name: as_interval(catalog, name, row) for name in k.inputs})
    return Interval.of(float(row[key]), half_unit(k))


Check = Callable[[Tables, Catalog], Iterator[Finding]]


def bezirk_rows(t: Tables) -> Iterator[tuple[date, pd.DataFrame]]:
    """Yield per Stichtag the published Bezirk values, a row per Bezirk (``bezirk_id``), a column per Kennzahl."""
    wide = t.wide("bezirk").rename(columns={"area": "bezirk_id"})
    yield from wide.groupby("stichtag", sort=False)


def known(catalog: Catalog, row: Mapping, key: str) -> bool:
    """Return whether the row has a value of ``key``: published, or derived from inputs it has."""
    k = catalog[key]
    if k.is_derived:
        return all(known(catalog, row, n) for n in k.inputs)
    return key in row and pd.notna(row[key])


def published_formulas(t: Tables, catalog: Catalog) -> Iterator[Finding]:
    """Recompute every published Bezirk figure whose catalog row states a formula, from the other figures."""
    for stichtag, rows in bezirk_rows(t):
        cat = catalog.resolved(t, stichtag)
        for k in cat.values():
            if k.is_derived or not k.formula or "bezirk" not in k.levels:
                continue
            shown = render(k.tree, lambda n: cat[n].short)
            for row in rows.to_dict("records"):
                if not all(known(cat, row, n) for n in (k.key, *k.inputs)):
                    continue  # a value withheld or not delivered: nothing to compare
                try:
                    got = evaluate(k.tree, {n: as_interval(cat, n, row) for n in k.inputs})
                except ZeroDivisionError:  # a denominator that may be 0 after rounding: nothing to compare
                    continue
                yield Finding(k.label, f"Bezirk {row['bezirk_id']}", stichtag, float(row[k.key]), got.low, got.high,
                              half_unit(k), shown + ("; Spanne aus der Rundung der Eingänge"
                                                     if got.high - got.low > EPS else ""), unit=k.unit,
                              kennzahl=k.key, area=row["bezirk_id"])


def published_city_sums(t: Tables, catalog: Catalog) -> Iterator[Finding]:
    """Compare each published city count with the sum of the Bezirke."""
    for stichtag, rows in bezirk_rows(t):
        cat = catalog.resolved(t, stichtag)
        city = t["city"][t["city"]["stichtag"] == stichtag]
        for k in cat.values():
            if k.reference != "published" or k.kind != "count" or not all(
                    known(cat, row, n) for row in rows.to_dict("records") for n in (k.key, *k.inputs)):
                continue
            published = city_value(cat, k.key, rows, city)
            if published is None:  # no city figure published for this Stichtag: nothing to compare
                continue
            total = Interval(0.0, 0.0)
            for row in rows.to_dict("records"):
                total = total + as_interval(cat, k.key, row)
            yield Finding(f"{k.label}: Summe der Bezirke", "Gesamtstadt", stichtag, published, float(total.low),
                          float(total.high), 0, f"Σ {k.short} der Bezirke = veröffentlichter Wert der Gesamtstadt",
                          unit=k.unit)


def city_shares(t: Tables, catalog: Catalog) -> Iterator[Finding]:
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


def jobcenter_columns(t: Tables, catalog: Catalog) -> Iterator[Finding]:
    for (stichtag, group), rows in t["jobcenter"].groupby(["stichtag", "origin_group"], sort=False):
        s = float(rows["share_pct"].sum())
        yield Finding("JobCenter-Spalte summiert sich zu 100 %", group, stichtag, 100.0, s, s,
                      HALF_UNIT * len(rows), f"Σ share_pct über {len(rows)} Bereiche = 100; "
                      "Toleranz: halbe Rundungseinheit je Summand")


def project_housing_sum(t: Tables, catalog: Catalog) -> Iterator[Finding]:
    for stichtag, rows in bezirk_rows(t):
        if "project_housing_pct" not in rows or rows["project_housing_pct"].isna().any():
            continue
        s = float(rows["project_housing_pct"].sum())
        yield Finding("Projektwohnungen: Anteile summieren sich zu 100 %", "alle Bezirke", stichtag, 100.0, s, s,
                      HALF_UNIT * len(rows), "Σ project_housing_pct der Bezirke = 100; "
                      "Toleranz: halbe Rundungseinheit je Summand")


CHECKS: tuple[Check, ...] = (published_formulas, published_city_sums, city_shares, jobcenter_columns,
                              project_housing_sum)


def findings(t: Tables, catalog: Catalog | None = None) -> list[Finding]:
    """Return every comparison, discrepancies first."""
    catalog = catalog or Catalog.from_table(t["kennzahlen"])
    out = [f for check in CHECKS for f in check(t, catalog)]
    return sorted(out, key=lambda f: not f.is_discrepancy)


def quality_table(t: Tables) -> pd.DataFrame:
    """Return the report as a table (German column names, one row per comparison)."""
    return pd.DataFrame([f.record() for f in findings(t)])

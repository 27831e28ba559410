"""Recomputing published shares finds exactly the source's discrepancies, with both values."""

from __future__ import annotations

from datetime import date

import pytest

from essen_dash.tables.load import load_tables
from essen_dash.tables.quality import Finding, findings, quality_table


ORIGIN12 = "Anteil aus den 12 wesentlichen Herkunftsländern Geflüchteter"


def by_subject(report, check):
    return {f.subject: f for f in report if f.check == check}


def test_the_published_syrian_city_share_is_flagged(tables):
    syria = by_subject(findings(tables), "Anteil an der Gesamtbevölkerung")["Syrien"]
    assert syria.is_discrepancy
    assert syria.published == 2.0
    assert syria.recomputed == pytest.approx(8228 / 588875 * 100)
    assert syria.recomputed_text() == "1,40"


def test_exactly_three_discrepancies_in_the_source(tables):
    bad = [(f.check, f.subject) for f in findings(tables) if f.is_discrepancy]
    assert bad == [
        (ORIGIN12, "Bezirk II"),  # 677 / 54,409 = 1.24 %, published 1.3 %
        ("Anteil Bulgarien/Rumänien an den Nichtdeutschen", "Bezirk I"),  # 5.65–5.67 %, published 5.6 %
        ("Anteil an der Gesamtbevölkerung", "Syrien"),
    ]


def test_consistent_figures_pass(tables):
    report = findings(tables)
    pop = by_subject(report, "Gesamtbevölkerung: Summe der Bezirke")["Gesamtstadt"]
    assert (pop.published, pop.low, pop.is_discrepancy) == (588875, 588875, False)
    non_german = by_subject(report, "Nichtdeutsche Bevölkerung (berechnet): Summe der Bezirke")["Gesamtstadt"]
    assert non_german.low < 89289 < non_german.high
    columns = by_subject(report, "JobCenter-Spalte summiert sich zu 100 %")
    assert set(columns) == {"Afghanistan", "Irak", "Iran", "Syrien", "weitere Länder", "Bulgarien", "Rumänien"}
    assert not any(f.is_discrepancy for f in columns.values())
    assert by_subject(report, "Anteil an den Nichtdeutschen")["Türkei"].recomputed == pytest.approx(14948 / 89289 * 100)
    housing = by_subject(report, "Projektwohnungen: Anteile summieren sich zu 100 %")["alle Bezirke"]
    assert housing.low == pytest.approx(100.4) and not housing.is_discrepancy
    assert len(report) == 52


def test_a_changed_count_is_caught(data_copy):
    path = data_copy / "values.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",III,origin12_count,4162,", ",III,origin12_count,5162,"),
                    encoding="utf-8")
    flagged = {f.subject for f in findings(load_tables(data_copy))
               if f.is_discrepancy and f.check == ORIGIN12}
    assert flagged == {"Bezirk II", "Bezirk III"}


def test_rounding_tolerance_edges():
    day = date(2020, 1, 1)
    assert not Finding("c", "s", day, 1.3, 1.25, 1.25, 0.05, "f").is_discrepancy
    assert Finding("c", "s", day, 1.3, 1.2499, 1.2499, 0.05, "f").is_discrepancy


def test_report_table_has_published_and_recomputed(tables):
    q = quality_table(tables)
    assert list(q.columns) == ["pruefung", "gegenstand", "stichtag", "veroeffentlicht", "nachgerechnet", "einheit",
                               "toleranz", "formel", "ergebnis"]
    assert q["ergebnis"].tolist()[:3] == ["Abweichung"] * 3 and set(q["ergebnis"][3:]) == {"stimmt"}


def test_a_denominator_that_may_be_zero_is_not_recomputed(data_copy):
    """A non-German share of 0,05 % (0 to 0,1 after rounding) makes the Bulgarian shares of that Bezirk impossible to recompute: no crash."""
    path = data_copy / "values.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",IX,non_german_pct,7.2,", ",IX,non_german_pct,0.05,"),
                    encoding="utf-8")
    report = findings(load_tables(data_copy))
    assert not [f for f in report if f.subject == "Bezirk IX" and "Bulgarien" in f.check]
    assert [f for f in report if f.subject == "Bezirk IX" and "Herkunftsländern" in f.check]

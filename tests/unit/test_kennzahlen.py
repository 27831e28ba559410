"""The Kennzahlen catalog is data: formulas, references, labels from data, and a new Kennzahl is one row."""

from __future__ import annotations

import csv
from datetime import date

import pytest

from essen_dash.cli import main
from essen_dash.frames import city_values, kennzahl_frame, profile_frame
from essen_dash.kennzahlen import FormulaError, Interval, evaluate, parse_formula, render
from essen_dash.params import Params
from essen_dash.tables.load import DataError, load_tables
from essen_dash.views import build
from tests.conftest import load_without_maps

DAY = date(2016, 9, 30)
#: a Kennzahl the bundled catalog does not have: published counts summed by a stated formula
NEW_ROW = {"key": "bg_ro_count", "label": "Personen aus Bulgarien und Rumänien", "short_label": "Bulgarien/Rumänien (Personen)",
           "unit": "Personen", "kind": "count", "definition": "Summe der bulgarischen und rumänischen Staatsangehörigen.",
           "obtained": "derived", "formula": "bg_count + ro_count", "reference": "sum", "reference_source": "",
           "reference_note": "", "decimals": "0", "levels": "bezirk", "source": "bezirke", "aliases": "BG/RO gesamt"}


def add_row(folder, **changes) -> None:
    with (folder / "kennzahlen.csv").open("a", encoding="utf-8", newline="") as fh:
        csv.DictWriter(fh, fieldnames=list(NEW_ROW), lineterminator="\n").writerow({**NEW_ROW, **changes})


def test_formulas_are_arithmetic_only():
    tree = parse_formula("(bg_count + ro_count) / non_german_count * 100")
    assert evaluate(tree, {"bg_count": 256, "ro_count": 754, "non_german_count": 1010}) == 100
    assert render(tree, str.upper) == "(BG_COUNT + RO_COUNT) / NON_GERMAN_COUNT × 100"
    for bad in ("__import__('os')", "a.b", "a ** 2", "f(x)", "'text'", "a +"):
        with pytest.raises(FormulaError):
            parse_formula(bad)


def test_intervals_bound_a_recomputation_from_rounded_inputs():
    share = Interval.of(26.5, 0.05)
    got = evaluate(parse_formula("x / (p * s / 100) * 100"), {"x": 1010, "p": 67297, "s": share})
    assert (round(got.low, 4), round(got.high, 4)) == (5.6528, 5.6741)


def test_labels_take_the_number_of_countries_from_the_data(data_copy, tmp_path):
    path = data_copy / "origin_countries.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line for line in lines if "Pakistan" not in line or "bezirke" not in line) + "\n",
                    encoding="utf-8")
    data = load_without_maps(data_copy, tmp_path)
    assert data.catalog(DAY)["origin12_pct"].label == "Anteil aus den 11 wesentlichen Herkunftsländern Geflüchteter"
    assert data.catalog(DAY)["origin12_count"].short == "11 Herkunftsländer (Personen)"


def test_a_new_kennzahl_is_one_catalog_row(data_copy, tmp_path, capsys):
    add_row(data_copy)
    data = load_without_maps(data_copy, tmp_path)
    frame = kennzahl_frame(data, "bg_ro_count", "bezirk", DAY).set_index("bezirk_id")
    assert frame.loc["III", "value"] == 707 + 800 and frame.loc["III", "rank"] == 1
    assert city_values(data, DAY)["bg_ro_count"] == 1936 + 4005
    p = Params(indicator="bg_ro_count", stichtag=DAY, bezirk=("III",))
    ranking = build(data, "karte-ranking", p)
    assert ranking.title == "Rangfolge der Stadtbezirke: Bulgarien/Rumänien (Personen)"
    assert dict(zip(ranking.figure.data[0].y, ranking.figure.data[0].x))["Stadtbezirk III"] == 1507
    profile = profile_frame(data, "III", DAY).set_index("key")
    assert profile.loc["bg_ro_count", "value_text"] == "1.507 Personen"
    table = build(data, "bezirk-kennzahlen", p).table.set_index("Kennzahl")
    assert table.loc["Personen aus Bulgarien und Rumänien", "Stadtbezirk III"] == "1.507 Personen"
    assert table.loc["Personen aus Bulgarien und Rumänien", "Gesamtstadt"] == "5.941 Personen"
    assert main(["show", "werte", "--data-dir", str(data_copy)]) == 0
    shown = capsys.readouterr().out
    assert "2016-09-30,bezirk,III,Stadtbezirk III,bg_ro_count,1507.0,berechnet" in shown
    assert "2016-09-30,stadt,Essen,Gesamtstadt,bg_ro_count,5941.0,Stadtwert: sum" in shown


@pytest.mark.parametrize("changes, column, rule", [
    ({"formula": "bg_count + mars_count"}, "formula", "unbekannte Kennzahl 'mars_count'"),
    ({"formula": "bg_count ** 2"}, "formula", "nur + − × / sind erlaubt"),
    ({"formula": ""}, "formula", "Formel fehlt"),
    ({"levels": "bezirk stadtteil"}, "levels", "Eingang 'bg_count' gibt es auf Ebene stadtteil nicht"),
    ({"reference": "published", "reference_source": "Atlantis:person_count"}, "reference_source",
     "keine Gruppe:Spalte der Tabelle city"),
    ({"label": "Personen aus {anzahl_planeten} Ländern"}, "label", "unbekannter Platzhalter {anzahl_planeten}"),
    ({"kind": "menge"}, "kind", "unbekannter Wert 'menge'"),
])
def test_a_broken_catalog_row_is_refused_naming_row_column_and_rule(data_copy, changes, column, rule):
    add_row(data_copy, **changes)
    with pytest.raises(DataError) as err:
        load_tables(data_copy)
    text = [str(p) for p in err.value.problems]
    assert any(t.startswith(f"kennzahlen.csv, Zeile 13, Spalte '{column}'") and rule in t for t in text), text


def test_circular_formulas_are_refused(data_copy):
    add_row(data_copy, formula="bg_ro_total + 1")
    add_row(data_copy, key="bg_ro_total", formula="bg_ro_count - 1")
    with pytest.raises(DataError, match="im Kreis"):
        load_tables(data_copy)

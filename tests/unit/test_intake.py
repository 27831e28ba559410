"""Reading office tables (CSV, XLSX; wide, long) into long Kennzahl values, or refusing them with every problem.

The tables are made-up test data in tests/fixtures/intake/ (see its README); catalog and register are the
frozen 2016 fixture.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from essen_dash.intake import (COLUMNS, NO_AREA, SOURCE, UNKNOWN_KENNZAHL, Areas, KennzahlNames, describe_diff,
                               diff_values, read_office_table)
from essen_dash.kennzahlen import Catalog
from essen_dash.tables.load import Problem

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
INTAKE = FIXTURES / "intake"
DATA = FIXTURES / "data-2016"
D18, D19 = date(2018, 12, 31), date(2019, 12, 31)
W = "withheld"
NAN = np.nan


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_table(pd.read_csv(DATA / "kennzahlen.csv"))


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    return pd.read_csv(DATA / "stadtteile_register.csv")


@pytest.fixture
def read(catalog, register):
    def read(name: str | Path, **kwargs):
        path = name if isinstance(name, Path) else INTAKE / name
        return read_office_table(path, catalog=catalog, register=register, **kwargs)
    return read


def values(*rows, source: str = SOURCE) -> pd.DataFrame:
    """Return the expected values table: rows of (stichtag, level, area, kennzahl, value[, state])."""
    full = [(*r[:5], r[5] if len(r) > 5 else "published", source) for r in rows]
    return pd.DataFrame(full, columns=COLUMNS).astype({"value": float})


def assert_refused(intake, problems: list[Problem]) -> None:
    assert intake.problems == problems
    assert intake.values.empty
    assert list(intake.values.columns) == COLUMNS


# --- files that are read ---------------------------------------------------------------------

def test_windows_1252_csv_with_title_stand_line_semicolons_decimal_comma_thousands_totals_and_footnotes(read):
    intake = read("bezirke_windows1252.csv")
    assert intake.problems == []
    assert intake.layout == "wide"
    assert intake.file == "bezirke_windows1252.csv"
    # the empty cell (III, Anteil Nichtdeutsche) gives no row; "Stadt Essen" and the footnotes are skipped
    pd.testing.assert_frame_equal(intake.values, values(
        (D18, "bezirk", "I", "bg_ro_pct", NAN, W),
        (D18, "bezirk", "II", "bg_ro_pct", 4.5),
        (D18, "bezirk", "III", "bg_ro_pct", NAN, W),
        (D18, "bezirk", "I", "non_german_pct", 18.6),
        (D18, "bezirk", "II", "non_german_pct", 9.0),
        (D18, "bezirk", "I", "population_count", 12345.0),
        (D18, "bezirk", "II", "population_count", 1234567.0),
        (D18, "bezirk", "III", "population_count", 987.0),
    ))


def test_sha256_is_of_the_file_bytes(read):
    path = INTAKE / "bezirke_windows1252.csv"
    assert read(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_source_is_written_into_every_value(read):
    intake = read("withheld_marks.csv", source="JobCenter Essen")
    assert intake.values["source"].tolist() == ["JobCenter Essen"] * 9


def test_utf8_bom_comma_separated_with_number_and_name_columns_and_decimal_point(read):
    intake = read("stadtteile_nr_name_utf8bom.csv", stichtag=D18)
    assert intake.problems == []
    # "1.234" is a share in a decimal-point file: 1.234, not 1234; the header is the catalog label with
    # a number where the label has its {anzahl_herkunftslaender} placeholder
    pd.testing.assert_frame_equal(intake.values, values(
        (D18, "stadtteil", "1", "origin12_pct", 12.5),
        (D18, "stadtteil", "7", "origin12_pct", 1.234),
        (D18, "stadtteil", "43", "origin12_pct", NAN, W),
    ))


def test_tab_separated_stadtteile_by_name_with_and_without_umlauts_and_iso_stichtag_line(read):
    intake = read("stadtteile_names.tsv")
    assert intake.problems == []
    pd.testing.assert_frame_equal(intake.values, values(
        (D18, "stadtteil", "7", "origin12_pct", 7.0),  # "07"
        (D18, "stadtteil", "10", "origin12_pct", 3.2),  # "Ruettenscheid"
        (D18, "stadtteil", "16", "origin12_pct", 5.5),  # "Schönebeck"
        (D18, "stadtteil", "25", "origin12_pct", NAN, W),  # "Altenessen Süd"
        (D18, "stadtteil", "41", "origin12_pct", 4.4),  # "MARGARETHENHOEHE"
        (D18, "stadtteil", "42", "origin12_pct", 2.0),  # "  Fischlaken  "
        (D18, "stadtteil", "43", "origin12_pct", 10.5),  # "Ueberruhr-Hinsel"
        (D18, "stadtteil", "44", "origin12_pct", 11.0),  # "Uberruhr-Holthausen"
    ))


def test_wide_with_stichtag_column_and_thousands_dots_in_counts_of_a_decimal_point_file(read):
    intake = read("bezirke_stichtag_column.csv")
    assert intake.problems == []
    pd.testing.assert_frame_equal(intake.values, values(
        (D18, "bezirk", "I", "non_german_pct", 1.234),
        (D18, "bezirk", "I", "population_count", 12345.0),
        (D19, "bezirk", "I", "non_german_pct", 1.5),
        (D19, "bezirk", "I", "population_count", 12400.0),
        (D19, "bezirk", "III", "population_count", 800.0),
    ))


def test_long_layout_with_both_levels_german_and_iso_dates_and_kennzahlen_by_key_label_and_alias(read):
    intake = read("long.csv")
    assert intake.problems == []
    assert intake.layout == "long"
    # the row with an empty Wert (IX, Einwohner, 2019) gives no value
    pd.testing.assert_frame_equal(intake.values, values(
        (D18, "bezirk", "I", "non_german_pct", 18.6),
        (D18, "bezirk", "II", "non_german_pct", 12.5),
        (D18, "bezirk", "I", "population_count", 1234.0),
        (D19, "bezirk", "IX", "population_count", 50001.0),
        (D19, "stadtteil", "7", "origin12_pct", 7.25),
        (D19, "stadtteil", "43", "origin12_pct", NAN, W),
    ))


def test_every_secrecy_mark_is_withheld_and_zero_is_a_value(read):
    intake = read("withheld_marks.csv")
    assert intake.problems == []
    pd.testing.assert_frame_equal(intake.values, values(
        *[(D18, "bezirk", b, "non_german_pct", NAN, W) for b in ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")],
        (D18, "bezirk", "IX", "non_german_pct", 0.0),
    ))


def test_stichtag_given_wins_over_the_stand_line(read):
    # a "Stand" above a table may be the date of the export; the caller's Stichtag is the data's
    intake = read("withheld_marks.csv", stichtag=D19)
    assert set(intake.values["stichtag"]) == {D19}


# --- Excel ---------------------------------------------------------------------------------

def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


NOTES = [["Testdaten (erfunden)"], ["Hinweise zu den Tabellen"]]


def bezirke_sheet(share_iii: object = None) -> list[list[object]]:
    return [["Testdaten (erfunden)"],
            ["Stand:", datetime(2018, 12, 31)],
            [],
            ["Bezirks-Nr.", "Stadtbezirk", "Bevölkerung", "Anteil Projektwohnungen für Flüchtlinge"],
            [1, "Stadtbezirk I", 12345, 10.5],
            [2, "Stadtbezirk II", 2000, "–"],
            [3, "Stadtbezirk III", 3000, share_iii]]


def test_xlsx_sheet_with_title_rows_number_cells_and_a_date_cell_for_the_stand(read, tmp_path):
    path = write_xlsx(tmp_path / "bezirke.xlsx", {"Hinweise": NOTES, "Bezirke": bezirke_sheet()})
    intake = read(path, sheet="Bezirke")
    assert intake.problems == []
    pd.testing.assert_frame_equal(intake.values, values(
        (D18, "bezirk", "I", "project_housing_pct", 10.5),
        (D18, "bezirk", "II", "project_housing_pct", NAN, W),
        (D18, "bezirk", "I", "population_count", 12345.0),
        (D18, "bezirk", "II", "population_count", 2000.0),
        (D18, "bezirk", "III", "population_count", 3000.0),
    ))


def test_xlsx_first_sheet_by_default(read, tmp_path):
    path = write_xlsx(tmp_path / "bezirke.xlsx", {"Bezirke": bezirke_sheet(), "Hinweise": NOTES})
    assert len(read(path).values) == 5


def test_xlsx_problem_names_the_excel_row(read, tmp_path):
    path = write_xlsx(tmp_path / "bezirke.xlsx", {"Bezirke": bezirke_sheet(share_iii=112.5)})
    assert_refused(read(path), [Problem("bezirke.xlsx", 7, "Anteil Projektwohnungen für Flüchtlinge",
                                        "Wert 112.5 liegt über dem Höchstwert 100 %")])


def test_xlsx_missing_sheet_names_the_sheets_present(read, tmp_path):
    path = write_xlsx(tmp_path / "bezirke.xlsx", {"Hinweise": NOTES, "Bezirke": bezirke_sheet()})
    assert_refused(read(path, sheet="Stadtteile"),
                   [Problem("bezirke.xlsx", None, None, "Tabellenblatt 'Stadtteile' fehlt; vorhanden: 'Hinweise', "
                                                        "'Bezirke'")])


# --- files that are refused, each naming row, column and rule ---------------------------------

REFUSED = {
    "bad_unknown_area.csv": [Problem("bad_unknown_area.csv", 5, "Stadtteil",
                                     "Gebiet 'Xyz' steht nicht im amtlichen Stadtteilverzeichnis")],
    "bad_unknown_bezirk.csv": [Problem("bad_unknown_bezirk.csv", 5, "Stadtbezirk",
                                       "Gebiet 'Stadtbezirk X' ist kein Stadtbezirk (I–IX)")],
    "bad_text_value.csv": [Problem("bad_text_value.csv", 5, "Einwohner", "Wert 'abc' ist keine Zahl")],
    "bad_share.csv": [
        Problem("bad_share.csv", 4, "Anteil Nichtdeutsche", "Wert 100,5 liegt über dem Höchstwert 100 %"),
        Problem("bad_share.csv", 5, "Anteil Nichtdeutsche", "Wert -0,1 liegt unter dem Mindestwert 0 %")],
    "bad_count.csv": [
        Problem("bad_count.csv", 4, "Einwohner", "Wert -5 liegt unter dem Mindestwert 0"),
        Problem("bad_count.csv", 5, "Einwohner", "Wert 12,5 ist keine ganze Zahl (die Kennzahl ist eine Anzahl)")],
    "bad_duplicate_area.csv": [Problem("bad_duplicate_area.csv", 6, "Stadtbezirk",
                                       "Gebiet 'I' steht für den Stichtag 31.12.2018 mehrfach in der Datei "
                                       "(zuerst in Zeile 4)")],
    "bad_no_area_column.csv": [Problem("bad_no_area_column.csv", 2, None, NO_AREA)],
    "bad_kennzahl_columns.csv": [
        Problem("bad_kennzahl_columns.csv", 3, "Fahrradwege", UNKNOWN_KENNZAHL.format("Fahrradwege")),
        Problem("bad_kennzahl_columns.csv", 3, "Anzahl Nichtdeutsche",
                "Kennzahl 'Anzahl Nichtdeutsche' (non_german_count) wird nicht eingelesen, sondern berechnet: "
                "Bevölkerung × Nichtdeutsche / 100; Spalte entfernen")],
    "bad_kennzahl_level.csv": [Problem("bad_kennzahl_level.csv", 3, "Einwohner",
                                       "Kennzahl 'Einwohner' (population_count) gibt es auf der Ebene Stadtteile "
                                       "nicht (laut Katalog nur: Stadtbezirke)")],
    "bad_name_mismatch.csv": [
        Problem("bad_name_mismatch.csv", 4, "Stadtteil",
                "Stadtteil 'Frohnhausen' passt nicht zu Nr. '7' (amtlich: Altendorf)"),
        Problem("bad_name_mismatch.csv", 5, "Stadtbezirk",
                "Stadtbezirk 'II' passt nicht zu Nr. '8' (amtlich: Stadtbezirk III)")],
    "bad_no_stichtag.csv": [Problem("bad_no_stichtag.csv", None, None,
                                    "kein Stichtag gefunden: weder beim Aufruf angegeben noch als Spalte "
                                    "'Stichtag' noch als Zeile 'Stand: TT.MM.JJJJ'")],
    "no_table.csv": [Problem("no_table.csv", None, None, NO_AREA)],
    "empty.csv": [Problem("empty.csv", None, None, "Datei ist leer")],
    "no_values.csv": [Problem("no_values.csv", 3, None,
                              "keine Werte gefunden: keine Spalte mit einer Kennzahl oder nur leere Zellen")],
    "bad_encoding.csv": [Problem("bad_encoding.csv", 4, None,
                                 "Zeichenkodierung nicht erkannt (weder UTF-8 noch Windows-1252)")],
    "level_unknown.csv": [Problem("level_unknown.csv", 3, "Gebiet",
                                  "Ebene nicht erkennbar: 'Gebiet' sagt nicht, ob Stadtbezirke oder Stadtteile "
                                  "gemeint sind; Ebene angeben oder Spalte 'Ebene' ergänzen")],
}


@pytest.mark.parametrize("name", REFUSED)
def test_broken_rule_is_refused_naming_row_column_and_rule(read, name):
    assert_refused(read(name), REFUSED[name])


def test_every_problem_is_listed_and_no_value_is_kept(read):
    f = "bad_many.csv"
    assert_refused(read(f), [
        Problem(f, 5, "Stadtbezirk", "Gebiet 'XII' ist kein Stadtbezirk (I–IX)"),
        Problem(f, 5, "Anteil Nichtdeutsche", "Wert 'abc' ist keine Zahl"),
        Problem(f, 6, "Einwohner", "Wert -3 liegt unter dem Mindestwert 0"),
        Problem(f, 7, "Stadtbezirk", "Gebiet 'I' steht für den Stichtag 31.12.2018 mehrfach in der Datei "
                                     "(zuerst in Zeile 4)"),
        Problem(f, 7, "Anteil Nichtdeutsche", "Wert 101,0 liegt über dem Höchstwert 100 %"),
    ])


def test_long_table_problems_are_named_once_per_value_with_the_rows(read):
    f = "bad_long.csv"
    assert_refused(read(f), [
        Problem(f, 3, "Kennzahl", f"{UNKNOWN_KENNZAHL.format('Fahrradwege')}; ebenso in Zeile 4 (2 Zeilen)"),
        Problem(f, 5, "Ebene", "Ebene 'Land' unbekannt (erwartet Stadtbezirk oder Stadtteil)"),
        Problem(f, 7, "Wert", "Gebiet 'Stadtbezirk I' mit Kennzahl 'Bevölkerung' steht für den Stichtag "
                              "31.12.2018 mehrfach in der Datei (zuerst in Zeile 6)"),
        Problem(f, 8, "Stichtag", "Stichtag '31.02.2018' ist kein Datum (TT.MM.JJJJ oder JJJJ-MM-TT)"),
        Problem(f, 9, "Kennzahl", "Kennzahl 'Einwohner' (population_count) gibt es auf der Ebene Stadtteile nicht "
                                  "(laut Katalog nur: Stadtbezirke)"),
    ])


def test_level_given_must_agree_with_the_area_column(read):
    f = "level_conflict.csv"
    assert_refused(read(f, level="stadtteil", stichtag=D18), [
        Problem(f, 2, "Stadtbezirk", "angegebene Ebene Stadtteile passt nicht zur Gebietsspalte 'Stadtbezirk' "
                                     "(Stadtbezirke)"),
        Problem(f, 3, "Stadtbezirk", "Gebiet 'I' steht nicht im amtlichen Stadtteilverzeichnis"),
    ])


def test_level_given_names_the_level_a_gebiet_column_does_not(read):
    intake = read("level_unknown.csv", level="bezirk")
    assert intake.problems == []
    pd.testing.assert_frame_equal(intake.values, values((D18, "bezirk", "I", "population_count", 1000.0)))


def test_unknown_level_given_is_refused(read):
    assert_refused(read("withheld_marks.csv", level="land"),
                   [Problem("withheld_marks.csv", None, None, "Ebene 'land' unbekannt; erlaubt: bezirk, stadtteil")])


@pytest.mark.parametrize("content, rule", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100),
     "altes Excel-Format (.xls) wird nicht gelesen; bitte als .xlsx oder CSV speichern"),
    (b"PK\x03\x04 abgeschnitten", "Datei nicht lesbar (keine gültige Excel-Datei .xlsx)"),
])
def test_old_or_damaged_excel_file_is_refused(read, tmp_path, content, rule):
    path = tmp_path / "tabelle.xls"
    path.write_bytes(content)
    assert_refused(read(path), [Problem("tabelle.xls", None, None, rule)])


def test_csv_with_a_huge_cell_is_refused(read, tmp_path):
    path = tmp_path / "tabelle.csv"
    path.write_text('Testdaten (erfunden)\nStadtbezirk;Einwohner\nI;"' + "1" * 200_000 + '"\n', encoding="utf-8")
    assert_refused(read(path), [Problem("tabelle.csv", 3, None,
                                        "Datei nicht lesbar (eine Zelle ist zu groß für eine CSV-Tabelle)")])


def test_stichtag_given_must_agree_with_the_stichtag_column(read):
    f = "bezirke_stichtag_column.csv"
    assert_refused(read(f, stichtag=D18), [
        Problem(f, 4, "Stichtag", "Stichtag '31.12.2019' passt nicht zum angegebenen Stichtag 31.12.2018; "
                                  "ebenso in Zeile 5 (2 Zeilen)"),
    ])


# --- names ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, key", [
    ("population_count", "population_count"),
    ("  GESAMTBEVÖLKERUNG ", "population_count"),  # label, case and spaces do not matter
    ("Einwohnerinnen   und Einwohner", "population_count"),  # alias
    ("Anteil aus den 9 wesentlichen Herkunftsländern Geflüchteter", "origin12_pct"),  # placeholder: any number
    ("Bulgarien", "bg_count"),  # alias of the count before short label of the share
    ("Bulgarien/Rumänien", "bg_ro_pct"),  # short label
])
def test_kennzahl_found_by_key_label_alias_or_short_label(catalog, text, key):
    assert KennzahlNames(catalog).find(text) == [key]


@pytest.mark.parametrize("level, text, area", [
    ("bezirk", "Stadtbezirk III", "III"), ("bezirk", "Bezirk III", "III"), ("bezirk", "iii", "III"),
    ("bezirk", "3", "III"), ("bezirk", "03", "III"), ("bezirk", "Stadtbezirk 3", "III"),
    ("stadtteil", "43", "43"), ("stadtteil", "01", "1"), ("stadtteil", "Überruhr-Hinsel", "43"),
    ("stadtteil", "Ueberruhr-Hinsel", "43"), ("stadtteil", "Uberruhr Hinsel", "43"),
    ("stadtteil", "rüttenscheid", "10"), ("stadtteil", "Ruettenscheid", "10"), ("stadtteil", "BORBECK-MITTE", "21"),
])
def test_area_found_by_number_numeral_or_name(register, level, text, area):
    from essen_dash.intake import area_key

    assert Areas.of(level, register).lookup[area_key(text)] == area


# --- comparing with the current values --------------------------------------------------------

def test_diff_and_its_description(read, catalog):
    new = read("bezirke_windows1252.csv").values
    old = values(
        (D18, "bezirk", "I", "bg_ro_pct", NAN, W),
        (D18, "bezirk", "II", "bg_ro_pct", NAN, W),
        (D18, "bezirk", "I", "non_german_pct", 18.0),
        (D18, "bezirk", "II", "non_german_pct", 9.0),
        (D18, "bezirk", "I", "population_count", 12345.0),
        (D18, "bezirk", "III", "population_count", 987.0),
        (D18, "bezirk", "IV", "population_count", 5.0),  # not in the new file: not listed
    )
    diff = diff_values(old, new)
    expected = pd.DataFrame([
        (D18, "bezirk", "I", "bg_ro_pct", NAN, NAN, W, W, "unverändert"),
        (D18, "bezirk", "II", "bg_ro_pct", NAN, 4.5, W, "published", "geändert"),
        (D18, "bezirk", "III", "bg_ro_pct", NAN, NAN, NAN, W, "neu"),
        (D18, "bezirk", "I", "non_german_pct", 18.0, 18.6, "published", "published", "geändert"),
        (D18, "bezirk", "II", "non_german_pct", 9.0, 9.0, "published", "published", "unverändert"),
        (D18, "bezirk", "I", "population_count", 12345.0, 12345.0, "published", "published", "unverändert"),
        (D18, "bezirk", "II", "population_count", NAN, 1234567.0, NAN, "published", "neu"),
        (D18, "bezirk", "III", "population_count", 987.0, 987.0, "published", "published", "unverändert"),
    ], columns=["stichtag", "level", "area", "kennzahl", "old_value", "new_value", "old_state", "new_state",
                "change"]).astype({"old_value": float, "new_value": float, "old_state": "str"})
    pd.testing.assert_frame_equal(diff, expected)
    assert describe_diff(diff, catalog) == [
        "8 Werte in der Datei: 2 neu, 2 geändert, 4 unverändert",
        "Stadtbezirk II, Anteil Bulgarien/Rumänien an den Nichtdeutschen, 31.12.2018: geheim gehalten → 4,5",
        "Stadtbezirk I, Anteil nichtdeutscher Bevölkerung, 31.12.2018: 18,0 → 18,6",
    ]


def test_description_never_hides_a_change_behind_rounding(catalog):
    resolved = Catalog([k.with_facts({"anzahl_herkunftslaender": 12}) for k in catalog.values()])
    new = values((D19, "bezirk", "I", "population_count", 1000.0), (D19, "stadtteil", "7", "origin12_pct", 18.64))
    old = values((D19, "bezirk", "I", "population_count", 999.0), (D19, "stadtteil", "7", "origin12_pct", 18.63))
    assert describe_diff(diff_values(old, new), resolved) == [
        "2 Werte in der Datei: 0 neu, 2 geändert, 0 unverändert",
        "Stadtbezirk I, Gesamtbevölkerung, 31.12.2019: 999 → 1.000",
        "Stadtteil 7, Anteil aus den 12 wesentlichen Herkunftsländern Geflüchteter, 31.12.2019: 18,63 → 18,64",
    ]

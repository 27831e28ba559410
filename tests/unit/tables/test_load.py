"""Loading refuses each kind of malformed input with one clear line naming file, row, column and rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from essen_dash.cli import main
from essen_dash.tables.load import DataError, load_tables


def edit(folder: Path, name: str, old: str, new: str, count: int = 1) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not in {name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def problems(folder: Path) -> list[str]:
    with pytest.raises(DataError) as err:
        load_tables(folder)
    return [str(p) for p in err.value.problems]


def test_bundled_data_loads(tables):
    assert {k: len(v) for k, v in tables.frames.items()} == {
        "values": 98, "city": 5, "jobcenter": 70, "jobcenter_crosswalk": 52,
        "origin_countries": 16, "documents": 1, "kennzahlen": 11, "stadtteile_register": 50}


V = "2016-09-30,bezirk,"  # the start of a Bezirk value's row in values.csv


@pytest.mark.parametrize("name, old, new, expected", [
    ("values.csv", V + "III,non_german_pct,18.9", V + "III,non_german_pct,abc",
     "values.csv, Zeile 13, Spalte 'value': Wert 'abc' ist nicht eine Zahl"),
    ("values.csv", V + "II,non_german_pct,8.7", V + 'II,non_german_pct,"8,7"',
     "values.csv, Zeile 12, Spalte 'value': Dezimalkomma in '8,7': Zahlen mit Dezimalpunkt schreiben (z. B. 8.7)"),
    ("values.csv", V + "I,origin12_pct,7.1", V + "I,origin12_pct,107.1",
     "values.csv, Zeile 20, Spalte 'value': Kennzahl 'origin12_pct': Wert 107,1 liegt über dem Höchstwert 100 %"),
    ("values.csv", V + "IV,population_count", V + "X,population_count",
     "values.csv, Zeile 5, Spalte 'area': Gebiet 'X' gibt es auf Ebene bezirk nicht (Stadtbezirke I–IX)"),
    ("values.csv", V + "I,population_count,67297", V + 'I,population_count,"67.297"',
     "values.csv, Zeile 2, Spalte 'value': Kennzahl 'population_count': Wert 67,297 ist keine ganze Zahl"),
    ("values.csv", "2016-09-30,stadtteil,7,origin12_pct", "2016-09-30,stadtteil,99,origin12_pct",
     "values.csv, Zeile 95, Spalte 'area': Gebiet '99' gibt es auf Ebene stadtteil nicht (Nummer im amtlichen "
     "Stadtteilverzeichnis)"),
    ("values.csv", "2016-09-30,stadtteil,7,origin12_pct", "2016-09-30,stadtteil,7,origin12_count",
     "values.csv, Zeile 95, Spalte 'kennzahl': Kennzahl 'origin12_count' gibt der Katalog nicht auf Ebene stadtteil"),
    ("values.csv", V + "I,population_count", V + "I,einwohner",
     "values.csv, Zeile 2, Spalte 'kennzahl': Kennzahl 'einwohner' steht nicht im Kennzahlenkatalog"),
    ("values.csv", V + "I,bg_count,256", V + "I,bg_count,256.5",
     "values.csv, Zeile 56, Spalte 'value': Kennzahl 'bg_count': Wert 256,5 ist keine ganze Zahl"),
    ("values.csv", V + "I,bg_count,256,published", V + "I,bg_count,,published",
     "values.csv, Zeile 56, Spalte 'value': veröffentlichte Werte brauchen einen Wert, gesperrte haben keinen"),
    ("values.csv", V + "I,bg_count,256,published", V + "I,bg_count,256,geheim",
     "values.csv, Zeile 56, Spalte 'state': unbekannter Wert 'geheim'; erlaubt: published, withheld"),
    ("jobcenter.csv", "2016-10-05,Mitte,Irak,false,16.1", "2016-10-05,Mitte,Afghanistan,false,16.1",
     "jobcenter.csv, Zeile 3, Spalte 'stichtag, jc_area, origin_group': Schlüssel (stichtag, jc_area, origin_group) "
     "doppelt: wie in Zeile 2"),
    ("jobcenter_crosswalk.csv", "2016-10-05,Nord,Nord,40,Karnap,false", "2016-10-05,Nord,Nord,40,Karnap,nein",
     "jobcenter_crosswalk.csv, Zeile 15, Spalte 'is_partial': Wert 'nein' ist nicht true oder false"),
    ("city.csv", "2016-09-30,non_german,Nichtdeutsche,,89289", "2016-09-30,non_german,Nichtdeutsche,,",
     "city.csv, Zeile 3, Spalte 'person_count': Pflichtfeld ist leer"),
])
def test_bad_cell_is_named(data_copy, name, old, new, expected):
    edit(data_copy, name, old, new)
    found = problems(data_copy)
    assert any(p.startswith(expected) for p in found), found


def test_a_withheld_value_has_no_figure_and_loads(data_copy):
    edit(data_copy, "values.csv", V + "I,bg_count,256,published", V + "I,bg_count,,withheld")
    v = load_tables(data_copy)["values"]
    row = v[(v["area"] == "I") & (v["kennzahl"] == "bg_count")].iloc[0]
    assert row["state"] == "withheld" and pd.isna(row["value"])


def test_wrong_column_name(data_copy):
    edit(data_copy, "values.csv", "stichtag,level,area,kennzahl,value", "stichtag,level,area,kennzahl,wert")
    assert "values.csv, Zeile 1, Spalte 'value': falscher Spaltenname (gefunden: 'wert')" in problems(data_copy)


def test_missing_column(data_copy):
    path = data_copy / "values.csv"
    rows = [line.rsplit(",", 2)[0] for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    found = problems(data_copy)
    assert any(p.startswith("values.csv, Zeile 1, Spalte 'state': Spalte fehlt") for p in found), found


def test_duplicate_row(data_copy):
    path = data_copy / "values.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines + [lines[3]]) + "\n", encoding="utf-8")
    assert any(p.startswith("values.csv, Zeile 100, Spalte 'stichtag, level, area, kennzahl': Schlüssel (stichtag, "
                            "level, area, kennzahl) doppelt: wie in Zeile 4") for p in problems(data_copy))


def test_latin1_file(data_copy):
    path = data_copy / "stadtteile_register.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    found = problems(data_copy)
    assert found[0].startswith("stadtteile_register.csv, Zeile ") and "Spalte 'stadtteil_name': Datei ist nicht " \
        "UTF-8-kodiert (Byte 0x" in found[0] and found[0].endswith("vermutlich Latin-1/Windows-1252); bitte als "
                                                                   "UTF-8 speichern"), found


def test_missing_file_and_folder(data_copy, tmp_path):
    (data_copy / "city.csv").unlink()
    assert problems(data_copy) == ["city.csv: Datei fehlt"]
    assert problems(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: Datenordner nicht gefunden"]


def test_jobcenter_grid_and_crosswalk_areas_are_checked(data_copy):
    path = data_copy / "jobcenter.csv"
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if ",West,Iran," not in line]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    edit(data_copy, "jobcenter_crosswalk.csv", "2016-10-05,Nord-Ost,Nord-Ost,37", "2016-10-05,Nordost,Nord-Ost,37")
    found = problems(data_copy)
    assert "jobcenter.csv, Spalte 'share_pct': Stichtag 2016-10-05: kein Anteil für Bereich 'West' und Herkunft 'Iran'" in found
    assert any(p.startswith("jobcenter_crosswalk.csv, Zeile 17, Spalte 'jc_area': Bereich 'Nordost' steht nicht in "
                            "jobcenter.csv") for p in found)


def test_validate_command_fails_on_bad_folder_and_passes_on_data(data_copy, capsys):
    assert main(["validate", str(data_copy)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: ") and "3 Abweichung(en)" in out
    edit(data_copy, "values.csv", V + "I,origin12_pct,7.1", V + "I,origin12_pct,107.1")
    assert main(["validate", str(data_copy)]) == 1
    captured = capsys.readouterr()
    assert "values.csv, Zeile 20, Spalte 'value': Kennzahl 'origin12_pct': Wert 107,1 liegt über dem Höchstwert 100 %" \
        in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_data_dir_option_and_environment(data_copy, capsys, monkeypatch):
    edit(data_copy, "values.csv", V + "I,population_count,67297", V + "I,population_count,67298")
    assert main(["--data-dir", str(data_copy), "show", "bezirke"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("2016-09-30,I,"))
    assert row.endswith(",67298")  # population is the catalog's last Kennzahl
    monkeypatch.setenv("ESSEN_DASH_DATA_DIR", str(data_copy))
    assert main(["show", "bezirke", "--format", "json"]) == 0
    assert '"population_count":67298' in capsys.readouterr().out


# --- values pandas cannot hold, and the package's own descriptor ------------------------------------

def test_integer_overflow_is_named_not_a_traceback(data_copy, capsys):
    edit(data_copy, "stadtteile_register.csv", "1,Stadtkern,I", "99999999999999999999999,Stadtkern,I")
    found = problems(data_copy)
    assert "stadtteile_register.csv, Zeile 2, Spalte 'stadtteil_nr': Wert 99999999999999999999999 ist zu groß für " \
        "eine ganze Zahl (höchstens 9223372036854775807)" in found, found
    assert main(["validate", str(data_copy)]) == 1
    captured = capsys.readouterr()
    assert "Spalte 'stadtteil_nr': Wert 99999999999999999999999 ist zu groß" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_largest_storable_integer_is_accepted_by_the_schema_check(data_copy):
    edit(data_copy, "stadtteile_register.csv", "1,Stadtkern,I", "9223372036854775807,Stadtkern,I")
    found = problems(data_copy)  # refused, but because Stadtteil 1 is gone from the register, not for its size
    assert not any("ganze Zahl" in p for p in found), found
    assert any(p.startswith("jobcenter_crosswalk.csv, Zeile 2, Spalte 'stadtteil_nr, stadtteil_name': Stadtteil "
                            "nicht im amtlichen Stadtteilverzeichnis") for p in found), found


def test_a_negative_population_is_named_not_a_traceback(data_copy, capsys):
    edit(data_copy, "values.csv", V + "I,population_count,67297,", V + "I,population_count,-5,")
    found = problems(data_copy)
    assert "values.csv, Zeile 2, Spalte 'value': Kennzahl 'population_count': Wert -5 liegt unter dem Mindestwert 0" \
        in found
    assert main(["validate", str(data_copy)]) == 1
    assert "Traceback" not in capsys.readouterr().err


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damage, expected", [
    (lambda d: (d / "datapackage.json").unlink(), "datapackage.json: Datei fehlt"),
    (lambda d: truncate(d / "datapackage.json"), "datapackage.json, Zeile "),
    (lambda d: (d / "datapackage.json").write_text("", encoding="utf-8"),
     "datapackage.json, Zeile 1: Datei ist beschädigt oder abgeschnitten (kein gültiges JSON"),
    (lambda d: edit(d, "datapackage.json", '"maximum": 100', '"maximum": 1000'),
     "datapackage.json: weicht vom Schema ab (resources[city].schema.fields[population_pct].constraints.maximum: "
     "erwartet 100, gefunden 1000)"),
    (lambda d: edit(d, "documents.csv", "Strategiekonzept Integration", "Strategiekonzept Zuwanderung"),
     "datapackage.json: weicht vom Schema ab (resources[values].sources[0].title: erwartet"),
])
def test_missing_truncated_or_stale_descriptor_fails_validate(data_copy, capsys, damage, expected):
    damage(data_copy)
    assert any(p.startswith(expected) for p in problems(data_copy)), problems(data_copy)
    assert main(["validate", str(data_copy)]) == 1
    captured = capsys.readouterr()
    assert expected in captured.err and "Traceback" not in captured.err

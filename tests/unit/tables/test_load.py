"""Loading refuses each kind of malformed input with one clear line naming file, row, column and rule."""

from __future__ import annotations

from pathlib import Path

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
        "bezirke": 9, "stadtteile_hotspots": 8, "city": 5, "jobcenter": 70, "jobcenter_crosswalk": 52,
        "origin_countries": 16, "documents": 1, "kennzahlen": 11, "stadtteile_register": 50}


@pytest.mark.parametrize("name, old, new, expected", [
    ("bezirke.csv", "2016-09-30,III,3,98439,18.9", "2016-09-30,III,3,98439,abc",
     "bezirke.csv, Zeile 4, Spalte 'non_german_pct': Wert 'abc' ist nicht eine Zahl"),
    ("bezirke.csv", "2016-09-30,II,2,54409,8.7", '2016-09-30,II,2,54409,"8,7"',
     "bezirke.csv, Zeile 3, Spalte 'non_german_pct': Dezimalkomma in '8,7': Zahlen mit Dezimalpunkt schreiben (z. B. 8.7)"),
    ("bezirke.csv", "2016-09-30,I,1,67297,26.5,7.1", "2016-09-30,I,1,67297,26.5,107.1",
     "bezirke.csv, Zeile 2, Spalte 'origin12_pct': Wert 107.1 liegt über dem Höchstwert 100 %"),
    ("bezirke.csv", "2016-09-30,IV,4", "2016-09-30,X,4",
     "bezirke.csv, Zeile 5, Spalte 'bezirk_id': unbekannter Wert 'X'; erlaubt: I, II, III, IV, V, VI, VII, VIII, IX"),
    ("bezirke.csv", "2016-09-30,I,1,67297", '2016-09-30,I,1,"67.297"',
     "bezirke.csv, Zeile 2, Spalte 'population_count': Tausenderpunkt in '67.297'"),
    ("stadtteile_hotspots.csv", "2016-09-30,III,7,Altendorf,8.3", "2016-09-30,III,99,Atlantis,8.3",
     "stadtteile_hotspots.csv, Zeile 5, Spalte 'stadtteil_nr, stadtteil_name, bezirk_id': Stadtteil nicht im "
     "amtlichen Stadtteilverzeichnis"),
    ("stadtteile_hotspots.csv", "2016-09-30,III,7,Altendorf", "2016-09-30,IV,7,Altendorf",
     "stadtteile_hotspots.csv, Zeile 5, Spalte 'stadtteil_nr, stadtteil_name, bezirk_id': Stadtteil nicht im"),
    ("jobcenter.csv", "2016-10-05,Mitte,Irak,false,16.1", "2016-10-05,Mitte,Afghanistan,false,16.1",
     "jobcenter.csv, Zeile 3, Spalte 'stichtag, jc_area, origin_group': Schlüssel (stichtag, jc_area, origin_group) "
     "doppelt: wie in Zeile 2"),
    ("jobcenter_crosswalk.csv", "2016-10-05,Nord,Nord,40,Karnap,false", "2016-10-05,Nord,Nord,40,Karnap,nein",
     "jobcenter_crosswalk.csv, Zeile 15, Spalte 'is_partial': Wert 'nein' ist nicht true oder false"),
    ("city.csv", "2016-09-30,non_german,Nichtdeutsche,,89289", "2016-09-30,non_german,Nichtdeutsche,,",
     "city.csv, Zeile 3, Spalte 'person_count': Pflichtfeld ist leer"),
    ("bezirke.csv", "2016-09-30,V,5,58471", "2016-09-30,V,6,58471",
     "bezirke.csv, Zeile 6, Spalte 'bezirk_nr': Nummer 6 passt nicht zu Bezirk V"),
])
def test_bad_cell_is_named(data_copy, name, old, new, expected):
    edit(data_copy, name, old, new)
    found = problems(data_copy)
    assert any(p.startswith(expected) for p in found), found


def test_wrong_column_name(data_copy):
    edit(data_copy, "bezirke.csv", "origin12_pct,origin12_count", "origin_pct,origin12_count")
    assert "bezirke.csv, Zeile 1, Spalte 'origin12_pct': falscher Spaltenname (gefunden: 'origin_pct')" \
        in problems(data_copy)


def test_missing_column(data_copy):
    path = data_copy / "stadtteile_hotspots.csv"
    rows = [line.rsplit(",", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    found = problems(data_copy)
    assert any(p.startswith("stadtteile_hotspots.csv, Zeile 1, Spalte 'origin12_pct': Spalte fehlt") for p in found), found


def test_duplicate_row(data_copy):
    path = data_copy / "bezirke.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines + [lines[3]]) + "\n", encoding="utf-8")
    assert any(p.startswith("bezirke.csv, Zeile 11, Spalte 'stichtag, bezirk_id': Schlüssel (stichtag, bezirk_id) "
                            "doppelt: wie in Zeile 4") for p in problems(data_copy))


def test_latin1_file(data_copy):
    path = data_copy / "stadtteile_hotspots.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    assert problems(data_copy) == [
        "stadtteile_hotspots.csv, Zeile 4, Spalte 'stadtteil_name': Datei ist nicht UTF-8-kodiert (Byte 0xfc, "
        "vermutlich Latin-1/Windows-1252); bitte als UTF-8 speichern"]


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
    edit(data_copy, "bezirke.csv", "2016-09-30,I,1,67297,26.5,7.1", "2016-09-30,I,1,67297,26.5,107.1")
    assert main(["validate", str(data_copy)]) == 1
    captured = capsys.readouterr()
    assert "bezirke.csv, Zeile 2, Spalte 'origin12_pct': Wert 107.1 liegt über dem Höchstwert 100 %" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_data_dir_option_and_environment(data_copy, capsys, monkeypatch):
    edit(data_copy, "bezirke.csv", "2016-09-30,I,1,67297", "2016-09-30,I,1,67298")
    assert main(["--data-dir", str(data_copy), "show", "bezirke"]) == 0
    assert "2016-09-30,I,1,67298," in capsys.readouterr().out
    monkeypatch.setenv("ESSEN_DASH_DATA_DIR", str(data_copy))
    assert main(["show", "bezirke", "--format", "json"]) == 0
    assert '"population_count":67298' in capsys.readouterr().out


# --- values pandas cannot hold, and the package's own descriptor ------------------------------------

def test_integer_overflow_is_named_not_a_traceback(data_copy, capsys):
    edit(data_copy, "bezirke.csv", "2016-09-30,I,1,67297,", "2016-09-30,I,1,99999999999999999999999,")
    assert problems(data_copy) == [
        "bezirke.csv, Zeile 2, Spalte 'population_count': Wert 99999999999999999999999 ist zu groß für eine ganze "
        "Zahl (höchstens 9223372036854775807)"]
    assert main(["validate", str(data_copy)]) == 1
    captured = capsys.readouterr()
    assert "bezirke.csv, Zeile 2, Spalte 'population_count': Wert 99999999999999999999999 ist zu groß" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_largest_storable_integer_is_accepted_by_the_schema_check(data_copy):
    edit(data_copy, "stadtteile_register.csv", "1,Stadtkern,I", "9223372036854775807,Stadtkern,I")
    found = problems(data_copy)  # refused, but by the register's foreign keys, not by the integer range
    assert not any("ganze Zahl" in p for p in found) and any("stadtteile_hotspots.csv" in p for p in found), found


def test_a_bezirk_without_population_is_named_not_a_traceback(data_copy, capsys):
    edit(data_copy, "bezirke.csv", "2016-09-30,I,1,67297,", "2016-09-30,I,1,0,")
    found = problems(data_copy)
    assert "bezirke.csv, Zeile 2, Spalte 'population_count': Wert 0 liegt unter dem Mindestwert 1" in found
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
     "datapackage.json: weicht vom Schema ab (resources[bezirke].schema.fields[non_german_pct].constraints.maximum: "
     "erwartet 100, gefunden 1000)"),
    (lambda d: edit(d, "documents.csv", "Strategiekonzept Integration", "Strategiekonzept Zuwanderung"),
     "datapackage.json: weicht vom Schema ab (resources[bezirke].sources[0].title: erwartet"),
])
def test_missing_truncated_or_stale_descriptor_fails_validate(data_copy, capsys, damage, expected):
    damage(data_copy)
    assert any(p.startswith(expected) for p in problems(data_copy)), problems(data_copy)
    assert main(["validate", str(data_copy)]) == 1
    captured = capsys.readouterr()
    assert expected in captured.err and "Traceback" not in captured.err

"""The importer: exact figures from the seed, a made-up second submission, clear parse errors, refused values
(range, calendar, duplicates) named by line and rule, and long lines read in linear time."""

from __future__ import annotations

import time
from datetime import date

import pandas as pd
import pytest

from essen_dash.cli import main
from essen_dash.sources.vorlage import VorlageParseError, read_vorlage
from essen_dash.tables.load import Tables, load_tables
from tests.conftest import FIXTURE_DATA
from tests.published import bezirke, hotspots
from tests.unit import expected as E
from tests.unit.sources.fake_vorlage import FakeVorlage


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    return load_tables(FIXTURE_DATA)["stadtteile_register"]


# --- every figure of section 3.1 is in data/, equal to the source ------------------------

def test_bezirk_tables_equal_the_source(tables):
    bz = bezirke(tables).set_index("bezirk_id")
    assert list(bz.index) == list(E.BEZIRKE)
    for bid, values in E.BEZIRKE.items():
        assert tuple(bz.loc[bid, list(E.BEZIRK_COLUMNS)]) == values, bid
        assert bz.loc[bid, "stichtag"] == date(2016, 9, 30)


def test_hotspots_equal_the_source_and_use_register_numbers(tables):
    hs = hotspots(tables)
    assert {(r.bezirk_id, r.stadtteil_name): r.origin12_pct for r in hs.itertuples()} == E.HOTSPOTS
    assert dict(zip(hs["stadtteil_name"], hs["stadtteil_nr"]))["Bergeborbeck"] == 23
    # Bezirke with "./." have no rows at all (never a 0)
    assert not set(hs["bezirk_id"]) & {"II", "VI", "VIII", "IX"}


def test_city_totals_equal_the_source(tables):
    city = tables["city"].set_index("group_name")
    for name, (count, pop_pct, ng_pct) in E.CITY.items():
        row = city.loc[name]
        assert row["person_count"] == count
        assert (pd.isna(row["population_pct"]) if pop_pct is None else row["population_pct"] == pop_pct), name
        assert (pd.isna(row["non_german_pct"]) if ng_pct is None else row["non_german_pct"] == ng_pct), name
    assert list(city[city["group_kind"] == "nationality"]["nationality_rank"]) == [1, 2, 3]


def test_jobcenter_equals_the_source(tables):
    jc = tables["jobcenter"]
    assert set(jc["stichtag"]) == {date(2016, 10, 5)}
    got = jc.pivot(index="jc_area", columns="origin_group", values="share_pct")
    for area, values in E.JOBCENTER.items():
        assert tuple(got.loc[area, list(E.JC_GROUPS)]) == values, area
    assert len(jc) == len(E.JOBCENTER) * len(E.JC_GROUPS)
    eu = jc.drop_duplicates("origin_group").set_index("origin_group")["is_eu_origin"]
    assert eu[eu].index.tolist() == ["Bulgarien", "Rumänien"]


def test_crosswalk_as_published_with_unassigned_left_out(tables):
    cw = tables["jobcenter_crosswalk"]
    for area, (full, partial) in E.CROSSWALK.items():
        rows = cw[cw["jc_area"] == area]
        assert set(rows[~rows["is_partial"]]["stadtteil_name"]) == full, area
        assert set(rows[rows["is_partial"]]["stadtteil_name"]) == partial, area
    sued = cw[cw["jc_area"].isin(["Süd 1", "Süd 2"])]
    assert set(sued["published_as"]) == {"Süd 1 & Süd 2"} and sued["is_list_incomplete"].all()
    assert not cw[~cw["jc_area"].isin(["Süd 1", "Süd 2"])]["is_list_incomplete"].any()
    named = set(cw["stadtteil_name"])
    unassigned = set(tables["stadtteile_register"]["stadtteil_name"]) - named
    # not guessed: e.g. Holsterhausen and Werden are in no published list
    assert {"Holsterhausen", "Werden", "Byfang", "Margarethenhöhe"} <= unassigned
    assert len(named) + len(unassigned) == 50


def test_origin_country_lists(tables):
    oc = tables["origin_countries"]
    assert oc[oc["used_in"] == "bezirke"]["country_name"].tolist() == E.ORIGIN12
    assert oc[oc["used_in"] == "jobcenter"]["country_name"].tolist() == E.JC_FURTHER
    assert set(oc[oc["used_in"] == "jobcenter"]["origin_group"]) == {"weitere Länder"}


def test_source_record(tables):
    doc = tables["documents"].iloc[0]
    assert doc["document_id"] == "1846/2016" and doc["document_date"] == date(2016, 12, 13)
    assert (doc["bezirke_source"], doc["bezirke_stichtag"], doc["bezirke_section"]) == ("FB 12", date(2016, 9, 30), "3.1.1")
    assert (doc["jobcenter_source"], doc["jobcenter_stichtag"], doc["jobcenter_section"]) == ("FB 56", date(2016, 10, 5), "3.1.2")


# --- another submission of the same format ---------------------------------------------------

def test_made_up_submission_imports_its_own_figures(tmp_path, register):
    fake = FakeVorlage()
    path = tmp_path / "vorlage.txt"
    path.write_text(fake.text(), encoding="utf-8")
    fixture = load_tables(FIXTURE_DATA)
    t = Tables(tmp_path, {**read_vorlage(path, register), "kennzahlen": fixture["kennzahlen"],
                          "stadtteile_register": register})
    bz = bezirke(t).set_index("bezirk_id")
    for bid, v in fake.bezirke.items():
        assert tuple(bz.loc[bid, list(E.BEZIRK_COLUMNS)]) == pytest.approx(v), bid
    assert set(bezirke(t)["stichtag"]) == {date(2018, 12, 31)}
    city = t["city"].set_index("group_name")
    assert city.loc["Gesamtbevölkerung", "person_count"] == 591_032
    assert city.loc["Nichtdeutsche", ["person_count", "population_pct"]].tolist() == [101_500, 17.2]
    assert city.loc["Türkei", ["nationality_rank", "person_count", "population_pct", "non_german_pct"]].tolist() \
        == [1, 13_500, 2.3, 13.3]
    assert city.loc["Syrien", ["nationality_rank", "non_german_pct"]].tolist() == [2, 11.8]
    assert city.loc["Rumänien", ["nationality_rank", "person_count", "population_pct"]].tolist() == [3, 5_123, 0.9]
    hs = hotspots(t)
    assert list(zip(hs["bezirk_id"], hs["stadtteil_nr"], hs["origin12_pct"])) == [
        ("I", 1, 12.5), ("V", 40, 6.0), ("V", 50, 7.1)]
    jc = t["jobcenter"]
    assert set(jc["stichtag"]) == {date(2019, 1, 15)}
    assert jc[jc["jc_area"] == "Zentrum"]["share_pct"].tolist() == [50.0, 40.5, 30.0, 25.0]
    assert jc[jc["origin_group"] == "Rumänien"]["is_eu_origin"].all()
    assert set(jc["origin_group"]) == {"Afghanistan", "Syrien", "weitere Länder", "Rumänien"}
    cw = t["jobcenter_crosswalk"]
    assert set(cw["jc_area"]) == {"Zentrum", "Nord", "Süd A", "Süd B"}
    assert cw[(cw["jc_area"] == "Nord") & cw["is_partial"]]["stadtteil_name"].tolist() == ["Nordviertel"]
    oc = t["origin_countries"]
    assert oc[oc["used_in"] == "bezirke"]["origin_group"].iloc[0] == "10 wesentliche Herkunftsländer"
    doc = t["documents"].iloc[0]
    assert doc["document_id"] == "0427/2019" and doc["jobcenter_stichtag"] == date(2019, 1, 15)


def test_second_stichtag_is_added_beside_the_first(tmp_path, data_copy):
    path = tmp_path / "vorlage.txt"
    path.write_text(FakeVorlage().text(), encoding="utf-8")
    assert main(["import-vorlage", str(path), "--out", str(data_copy), "--data-dir", str(data_copy)]) == 0
    t = load_tables(data_copy)
    assert t.stichtage == [date(2016, 9, 30), date(2018, 12, 31)]
    assert len(bezirke(t)) == 18 and len(t["documents"]) == 2
    old = bezirke(t)[bezirke(t)["stichtag"] == date(2016, 9, 30)].set_index("bezirk_id")
    assert old.loc["I", "population_count"] == 67297
    # importing the same submission again replaces its rows instead of doubling them
    assert main(["import-vorlage", str(path), "--out", str(data_copy), "--data-dir", str(data_copy)]) == 0
    assert len(bezirke(load_tables(data_copy))) == 18


# --- text it cannot parse --------------------------------------------------------------------

def lines_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize("needle, replacement, expected", [
    ("Gesamtbevölkerung\t60.000", "Gesamtbevölkerung\tsechzigtausend", "Gesamtbevölkerung<TAB><Zahl>"),
    ("Anteil nichtdeutscher Bevölkerung\t10,0 %", "Anteil nichtdeutscher Bevölkerung\t10,0",
     "<Anteil> %"),
    ("Stadtkern (12,5 %)", "Atlantis (12,5 %)", "einen Stadtteil des amtlichen Verzeichnisses statt 'Atlantis'"),
    ("Anteil Projektwohnungen für Flüchtlinge\t11,1 %", "Anteil Sozialwohnungen\t11,1 %",
     "eine Zeile der Bezirkstabelle"),
    ("Zentrum\t50,0%", "Zentrum\t50,0%\t3,0%", "<Bereich> und 4 Anteile"),
    ("Nord: Karnap", "Nordpol: Karnap", "einen Bereich der JobCenter-Tabelle"),
])
def test_unparseable_text_names_line_and_expectation(tmp_path, register, needle, replacement, expected):
    text = FakeVorlage().text()
    line_no = lines_of(text, needle)
    path = tmp_path / "bad.txt"
    path.write_text(text.replace(needle, replacement, 1), encoding="utf-8")
    with pytest.raises(VorlageParseError) as err:
        read_vorlage(path, register)
    assert err.value.line_no == line_no
    assert f"Zeile {line_no}" in str(err.value) and expected in str(err.value)


def test_missing_bezirk_row_names_the_block(tmp_path, register):
    text = FakeVorlage().text()
    heading = lines_of(text, "Bezirk III")
    lines = text.splitlines()
    del lines[heading + 4]  # the hotspot row of Bezirk III (heading is 1-based)
    path = tmp_path / "bad.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(VorlageParseError, match=f"Zeile {heading}: erwartet im Block dieses Bezirks auch die Zeile "
                                                 "'Besonders betroffene Stadtteile"):
        read_vorlage(path, register)


def test_missing_section_and_latin1_are_reported(tmp_path, register):
    text = FakeVorlage().text()
    cut = tmp_path / "cut.txt"
    cut.write_text(text.split("### 3.1.2")[0], encoding="utf-8")
    with pytest.raises(VorlageParseError, match="Dokumentende: erwartet die Kopfzeile der JobCenter-Tabelle"):
        read_vorlage(cut, register)
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(text.encode("latin-1"))
    with pytest.raises(VorlageParseError, match=r"Zeile \d+: erwartet UTF-8"):
        read_vorlage(latin, register)


def test_cli_reports_parse_errors_without_traceback(tmp_path, capsys):
    path = tmp_path / "empty.txt"
    path.write_text("nichts\n", encoding="utf-8")
    assert main(["import-vorlage", str(path), "--out", str(tmp_path / "o"), "--data-dir", str(FIXTURE_DATA)]) == 1
    err = capsys.readouterr().err
    assert "FEHLER" in err and "lfd. Nummer" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


# --- values the data contract refuses, named by line and rule --------------------------------

@pytest.mark.parametrize("needle, replacement, rule", [
    ("Gesamtbevölkerung\t60.000", "Gesamtbevölkerung\t99.999.999.999.999.999.999",
     "Gesamtbevölkerung: Wert 99.999.999.999.999.999.999 ist zu groß für eine ganze Zahl (höchstens "
     "9223372036854775807)"),
    ("Anteil nichtdeutscher Bevölkerung\t10,0 %", "Anteil nichtdeutscher Bevölkerung\t181,8 %",
     "Anteil nichtdeutscher Bevölkerung: Wert 181,8 % liegt über dem Höchstwert 100 %"),
    ("Stadtkern (12,5 %)", "Stadtkern (112,5 %)",
     "Anteil der wesentlichen Herkunftsländer: Wert 112,5 % liegt über dem Höchstwert 100 %"),
    ("Zentrum\t50,0%", "Zentrum\t150,0%",
     "Anteil an allen Leistungsbeziehenden dieser Herkunft: Wert 150,0 % liegt über dem Höchstwert 100 %"),
    ("leben in Essen 591.032 Menschen", "leben in Essen 99.999.999.999.999.999.999 Menschen",
     "Personen: Wert 99.999.999.999.999.999.999 ist zu groß für eine ganze Zahl"),
    ("13.500 (2,3 %)", "13.500 (102,3 %)",
     "Anteil an der Gesamtbevölkerung: Wert 102,3 % liegt über dem Höchstwert 100 %"),
    ("Quelle: FB 12, Stand 31.12.2018", "Quelle: FB 12, Stand 31.02.2016",
     "Datum 31.02.2016 gibt es nicht (Februar 2016 hat 29 Tage)"),
    ("Datum: 02.03.2019", "Datum: 29.02.2019", "Datum 29.02.2019 gibt es nicht (Februar 2019 hat 28 Tage)"),
    ("Zum Stand 31. Dezember 2018", "Zum Stand 31. Juni 2018",
     "Datum 31. Juni 2018 gibt es nicht (Juni 2018 hat 30 Tage)"),
    ("Quelle: FB 56, Stand 15.01.2019", "Quelle: FB 56, Stand 15.13.2019", "Datum 15.13.2019 gibt es nicht (Monat 13)"),
    ("Stadtkern (12,5 %)", "Stadtkern (12,5 %), Stadtkern (3,0 %)",
     "Stadtteil Stadtkern steht doppelt (schon in Zeile"),
    ("Stadtkern (12,5 %)", "Karnap (12,5 %)",
     "Stadtteil Karnap gehört laut amtlichem Stadtteilverzeichnis zu Bezirk V, nicht zu Bezirk I"),
    ("Irak, Iran", "Irak, Irak", "Land Irak steht doppelt in der Fußnote"),
    ("Süd B\t10,0%", "Süd A\t10,0%", "Bereich 'Süd A' steht doppelt in der JobCenter-Tabelle (schon in Zeile"),
    ("Nord: Karnap, Vogelheim", "Nord: Karnap, Karnap", "Stadtteil Karnap steht doppelt in der Zeile"),
])
def test_refused_values_name_file_line_and_rule(tmp_path, register, needle, replacement, rule):
    text = FakeVorlage().text()
    line_no = lines_of(text, needle)
    path = tmp_path / "bad.txt"
    path.write_text(text.replace(needle, replacement, 1), encoding="utf-8")
    with pytest.raises(VorlageParseError) as err:
        read_vorlage(path, register)
    assert err.value.line_no == line_no
    assert str(err.value).startswith(f"{path}, Zeile {line_no}: abgelehnt – ")
    assert rule in str(err.value), str(err.value)


def test_malformed_thousands_dots_are_not_read_as_another_number(tmp_path, register):
    """'60.00' used to be read as 6000; a dot groups three digits or the number is not read at all."""
    text = FakeVorlage().text()
    path = tmp_path / "bad.txt"
    path.write_text(text.replace("Gesamtbevölkerung\t60.000", "Gesamtbevölkerung\t60.00", 1), encoding="utf-8")
    with pytest.raises(VorlageParseError, match=f"Zeile {lines_of(text, 'Gesamtbevölkerung')}: erwartet "
                                                 "'Gesamtbevölkerung<TAB><Zahl>'"):
        read_vorlage(path, register)


def test_cli_refuses_an_overflow_naming_line_and_rule_without_traceback(tmp_path, data_copy, capsys):
    text = FakeVorlage().text()
    path = tmp_path / "vorlage.txt"
    path.write_text(text.replace("Gesamtbevölkerung\t60.000", "Gesamtbevölkerung\t99.999.999.999.999.999.999"),
                    encoding="utf-8")
    assert main(["import-vorlage", str(path), "--out", str(data_copy), "--data-dir", str(data_copy)]) == 1
    err = capsys.readouterr().err
    assert f"Zeile {lines_of(text, 'Gesamtbevölkerung')}: abgelehnt – Gesamtbevölkerung: Wert " in err
    assert "zu groß für eine ganze Zahl" in err and "Traceback" not in err
    assert main(["validate", str(data_copy)]) == 0  # and the folder is still valid


def test_same_document_with_a_new_stichtag_is_refused_naming_both(tmp_path, data_copy, capsys):
    path = tmp_path / "vorlage.txt"
    path.write_text(FakeVorlage(number="1846", year="2016").text(), encoding="utf-8")
    assert main(["import-vorlage", str(path), "--out", str(data_copy), "--data-dir", str(data_copy)]) == 1
    err = capsys.readouterr().err
    assert ("documents.csv, Zeile 2, Spalte 'document_id': Vorlage 1846/2016 steht schon mit anderem Stand im "
            "Datenordner (Stand der Bezirksdaten: eingetragen 30.09.2016, neu 31.12.2018; Stand der JobCenter-Daten: "
            "eingetragen 05.10.2016, neu 15.01.2019)") in err
    docs = load_tables(data_copy)["documents"]
    assert docs["document_id"].tolist() == ["1846/2016"] and docs["bezirke_stichtag"].tolist() == [date(2016, 9, 30)]


def test_another_document_for_a_stichtag_already_held_is_refused(tmp_path, data_copy, capsys):
    path = tmp_path / "vorlage.txt"
    path.write_text(FakeVorlage(stand_day="30.09.2016", stand_words="30. September 2016").text(), encoding="utf-8")
    assert main(["import-vorlage", str(path), "--out", str(data_copy), "--data-dir", str(data_copy)]) == 1
    assert ("Stand der Bezirksdaten 30.09.2016 stammt schon aus Vorlage 1846/2016; Vorlage 0427/2019 nennt denselben "
            "Stand") in capsys.readouterr().err
    assert bezirke(load_tables(data_copy))["population_count"].iloc[0] == 67297


# --- a long line is read, or refused, in linear time ------------------------------------------------

LONG = 40_000


@pytest.mark.parametrize("edits", [
    # the case: 40,000 characters without a parenthesis took 48 s (quadratic hotspot pattern)
    [("Stadtkern (12,5 %)", "a" * LONG)],
    [("Stadtkern (12,5 %)", "Stadtkern (12,5 %)," + " " * LONG + "x")],
    [("Stadtkern (12,5 %)", ", ".join(["Stadtkern (1,0 %)"] * (LONG // 19)))],
    [("mit ausschließlich", "mit " + "a" * LONG)],
    [("mit ausschließlich", "mit " + "x Staatsangehörigkeit haben " * (LONG // 28))],
    [("JC-Verteilung\tPersonen aus", "JC-Verteilung" + "\t" * LONG + "Personen aus"),
     ("\tAfghanistan\t", "\t" + "a\t" * (LONG // 2) + "Afghanistan\t")],
    [("Nord: Karnap", "Nord: " + ", ".join(["Karnap"] * (LONG // 8)))],
    [("Eritrea, Somalia", ", ".join(f"Land{i}" for i in range(LONG // 8)))],
], ids=["hotspot-no-parenthesis", "hotspot-spaces", "hotspot-repeated", "city-long-word", "city-many-subjects",
        "jobcenter-wide-header", "area-repeated", "footnote-long"])
def test_a_long_line_is_read_or_refused_within_a_second(tmp_path, register, edits):
    text = FakeVorlage().text()
    for needle, replacement in edits:
        assert needle in text
        text = text.replace(needle, replacement, 1)
    path = tmp_path / "long.txt"
    path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    try:
        read_vorlage(path, register)
    except VorlageParseError:
        pass
    assert time.perf_counter() - started < 1.0

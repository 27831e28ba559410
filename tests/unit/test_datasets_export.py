"""Table downloads: CSV that German Excel opens in columns, the data contract's CSV, a workbook with sources."""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import load_workbook

from essen_dash.datasets import DATASETS
from essen_dash.datasets_export import contract_csv, german_csv, workbook
from tests.conftest import FIXTURE_DATA


def test_csv_for_german_excel(app_data):
    body = german_csv("bezirke", app_data.tables["bezirke"])
    assert body.startswith("\ufeff".encode("utf-8"))  # Excel reads UTF-8 only with the BOM
    lines = body.decode("utf-8").lstrip("\ufeff").split("\r\n")
    header = lines[0].split(";")
    assert header[:4] == ["Stichtag", "Stadtbezirk", "Stadtbezirk (Nummer)", "Gesamtbevölkerung (Personen)"]
    assert lines[1].split(";")[:6] == ["30.09.2016", "I", "1", "67297", "26,5", "7,1"]
    assert "," not in lines[1].replace("26,5", "").split(";")[0]


def test_truth_values_are_german(app_data):
    lines = german_csv("crosswalk", app_data.tables["jobcenter_crosswalk"]).decode("utf-8").split("\r\n")
    assert lines[1].endswith(";nein;nein") and "true" not in "".join(lines) and "false" not in "".join(lines)


def test_contract_csv_is_the_data_file(app_data):
    assert contract_csv(app_data.tables["bezirke"]) == (FIXTURE_DATA / "bezirke.csv").read_bytes()


def test_workbook_has_every_table_and_its_sources(app_data):
    frames = {n: d.get(app_data) for n, d in DATASETS.items()}
    book = load_workbook(io.BytesIO(workbook(app_data, frames)))
    assert book.sheetnames == ["Quellen", *[n[:31] for n in DATASETS]]
    sources = pd.read_excel(io.BytesIO(workbook(app_data, frames)), sheet_name="Quellen")
    said = dict(zip(sources["Angabe"], sources["Inhalt"]))
    assert said["Bezirksdaten"] == "Stadt Essen, FB 12, Stand 30.09.2016, Abschnitt 3.1.1"
    assert "dl-de/by-2-0" in said["Lizenz der Geometrie und des Stadtteilverzeichnisses"]
    assert "Summe der Bezirke" in said["Personen aus den 12 wesentlichen Herkunftsländern Geflüchteter"]
    bezirke = book["bezirke"]
    assert [c.value for c in bezirke[1]][:2] == ["Stichtag", "Stadtbezirk"]
    assert [c.value for c in bezirke[2]][:5] == ["30.09.2016", "I", 1, 67297, 26.5]

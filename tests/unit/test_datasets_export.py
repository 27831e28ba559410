"""Table downloads: CSV that German Excel opens in columns, the data contract's CSV, a workbook with sources."""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import load_workbook

from essen_dash.datasets import DATASETS
from essen_dash.datasets_export import contract_csv, german_csv, workbook
from tests.conftest import FIXTURE_DATA


def test_csv_for_german_excel(app_data):
    body = german_csv(app_data, "bezirke", DATASETS["bezirke"].get(app_data))
    assert body.startswith("\ufeff".encode("utf-8"))  # Excel reads UTF-8 only with the BOM
    lines = body.decode("utf-8").lstrip("\ufeff").split("\r\n")
    header = lines[0].split(";")
    assert header[:4] == ["Stichtag", "Stadtbezirk", "12 Herkunftsländer (%)", "12 Herkunftsländer (Personen)"]
    assert header[-1] == "Bevölkerung (Personen)"
    assert lines[1].split(";")[:4] == ["30.09.2016", "I", "7,1", "4795"]
    assert lines[1].split(";")[-1] == "67297"


def test_truth_values_are_german(app_data):
    lines = german_csv(app_data, "crosswalk", app_data.tables["jobcenter_crosswalk"]).decode("utf-8").split("\r\n")
    assert lines[1].endswith(";nein;nein") and "true" not in "".join(lines) and "false" not in "".join(lines)


def test_contract_csv_is_the_data_file(app_data):
    assert contract_csv("geliefert", app_data.tables["values"]) == (FIXTURE_DATA / "values.csv").read_bytes()
    assert contract_csv("crosswalk", app_data.tables["jobcenter_crosswalk"]) == \
        (FIXTURE_DATA / "jobcenter_crosswalk.csv").read_bytes()


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
    assert [c.value for c in bezirke[2]][:4] == ["30.09.2016", "I", 7.1, 4795]

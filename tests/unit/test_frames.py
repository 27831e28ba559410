"""Joined frames: exact values, ranks, city references from the catalog, derived allocation, JobCenter areas."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from essen_dash.frames import (allocation_frame, area_values, city_values, jobcenter_area_frame, jobcenter_matrix,
                               kennzahl_frame, overlapping_areas, profile_frame)

DAY = date(2016, 9, 30)
JC_DAY = date(2016, 10, 5)


def test_bezirk_frame_values_ranks_and_city(app_data):
    f = kennzahl_frame(app_data, "origin12_pct", "bezirk", DAY).set_index("bezirk_id")
    assert f["value"].tolist() == [7.1, 1.3, 4.2, 2.6, 5.1, 4.2, 4.2, 1.4, 1.1]
    assert f.loc["I", "rank"] == 1 and f.loc["III", "rank"] == f.loc["VI", "rank"] == 3 and f.loc["IX", "rank"] == 9
    assert f["city_value"].iloc[0] == pytest.approx(21287 / 588875 * 100)


@pytest.mark.parametrize("key, city", [
    ("bg_ro_pct", (1936 + 4005) / 89289 * 100),   # ratio: Σ counts over the published non-German count
    ("bg_pct", 1936 / 89289 * 100),
    ("non_german_pct", 15.2),                      # published city value
    ("population_count", 588875),                  # published city total, not the average Bezirk
    ("origin12_count", 21287),                     # sum of the Bezirke
    ("non_german_count", 89289),                   # published, while the Bezirk values are derived
])
def test_city_values_follow_the_catalog(app_data, key, city):
    assert city_values(app_data, DAY)[key] == pytest.approx(city)
    assert kennzahl_frame(app_data, key, "bezirk", DAY)["city_value"].iloc[0] == pytest.approx(city)


def test_a_kennzahl_without_city_value_has_none(app_data):
    assert city_values(app_data, DAY)["project_housing_pct"] is None
    assert np.isnan(kennzahl_frame(app_data, "project_housing_pct", "bezirk", DAY)["city_value"]).all()


def test_derived_kennzahl_is_computed_by_its_formula(app_data):
    values = area_values(app_data, "bezirk", DAY).set_index("bezirk_id")
    assert values.loc["I", "non_german_count"] == pytest.approx(67297 * 26.5 / 100)


def test_stadtteil_values_keep_unpublished_missing(app_data):
    f = kennzahl_frame(app_data, "origin12_pct", "stadtteil", DAY)
    assert len(f) == 50 and f["value"].notna().sum() == 8
    assert f.set_index("name").loc["Stadtkern", "value"] == 11.7
    assert f.set_index("name")["value"].isna()["Werden"]
    assert kennzahl_frame(app_data, "bg_pct", "stadtteil", DAY)["value"].isna().all()


def test_profile_compares_shares_by_index_and_counts_by_share_of_city(app_data):
    rows = profile_frame(app_data, "III", DAY).set_index("key")
    assert rows.loc["origin12_pct", "index"] == pytest.approx(100 * 4.2 / (21287 / 588875 * 100))
    assert np.isnan(rows.loc["population_count", "index"])
    assert rows.loc["population_count", "share_of_city"] == pytest.approx(100 * 98439 / 588875)
    assert rows.loc["population_count", "city_text"] == "588.875 Personen"
    assert rows.loc["project_housing_pct", "city_text"] == "kein Wert der Gesamtstadt"


def test_allocation_frame_formula(app_data):
    f = allocation_frame(app_data, DAY).set_index("bezirk_id")
    assert f.loc["VII", "resident_share_pct"] == pytest.approx(2981 / 21287 * 100)
    assert f.loc["VII", "ratio"] == pytest.approx(19.0 / (2981 / 21287 * 100))
    assert f["resident_share_pct"].sum() == pytest.approx(100)


def test_jobcenter_matrix_and_overlaps(tables):
    m = jobcenter_matrix(tables, JC_DAY)
    assert m.shape == (10, 7) and m.loc["West", "Bulgarien"] == 30.0
    assert overlapping_areas(tables, JC_DAY, {"III"}) == ["Mitte", "West"]
    assert overlapping_areas(tables, JC_DAY, {"IX"}) == ["Süd 1", "Süd 2"]
    assert len(overlapping_areas(tables, JC_DAY, set())) == 10


def test_joint_areas_keep_both_published_shares_and_no_sum(tables):
    import geopandas as gpd
    from shapely.geometry import box

    from essen_dash.geo.shapes import jobcenter_areas

    reg = tables["stadtteile_register"]
    st = gpd.GeoDataFrame(reg, geometry=[box(i, 0, i + 1, 1) for i in range(len(reg))], crs="EPSG:25832")
    cw = tables["jobcenter_crosswalk"]
    areas = jobcenter_areas(st, cw[cw["stichtag"] == JC_DAY])
    f = jobcenter_area_frame(tables, areas, JC_DAY, "Iran").set_index("key")
    assert f.loc["Süd 1 & Süd 2", "parts"] == [13.5, 16.0] and np.isnan(f.loc["Süd 1 & Süd 2", "value"])
    assert f.loc["West", "value"] == 13.8 and f.loc["West", "shared_members"] == ["Westviertel", "Altendorf",
                                                                                   "Frohnhausen"]


def test_counts_stand_beside_shares_and_flags_travel_with_values(app_data):
    f = kennzahl_frame(app_data, "origin12_pct", "bezirk", DAY).set_index("bezirk_id")
    assert f.loc["III", "count_text"] == "4.162 Personen" and f.loc["III", "flag"] == ""
    assert f.loc["II", "flag"] == ("Quelle uneinheitlich: veröffentlicht 1,3 %, aus den veröffentlichten Zahlen "
                                   "nachgerechnet 1,24 %")
    g = kennzahl_frame(app_data, "bg_ro_pct", "bezirk", DAY).set_index("bezirk_id")
    assert g.loc["III", "count_text"] == "1.507 Personen" and "5,65 bis 5,67 %" in g.loc["I", "flag"]
    assert kennzahl_frame(app_data, "origin12_pct", "stadtteil", DAY)["count_text"].eq("").all()  # no counts there
    rows = profile_frame(app_data, "II", DAY).set_index("key")
    assert rows.loc["origin12_pct", "value_text"] == "1,3 %*" and rows.loc["bg_pct", "value_text"] == "1,4 %"


def test_withheld_missing_derived_and_published_are_four_states(data_copy, tmp_path):
    """Test data (made up): Bezirk I's Bulgarian count withheld by the source, Bezirk II's removed."""
    from tests.conftest import load_without_maps

    path = data_copy / "values.csv"
    text = path.read_text(encoding="utf-8").replace("2016-09-30,bezirk,I,bg_count,256,published",
                                                    "2016-09-30,bezirk,I,bg_count,,withheld")
    path.write_text("\n".join(line for line in text.splitlines() if ",bezirk,II,bg_count," not in line) + "\n",
                    encoding="utf-8")
    data = load_without_maps(data_copy, tmp_path / "no-geo")
    f = kennzahl_frame(data, "bg_count", "bezirk", DAY).set_index("bezirk_id")
    assert f.loc["I", "state"] == "withheld" and np.isnan(f.loc["I", "value"])
    assert f.loc["II", "state"] == "missing" and np.isnan(f.loc["II", "value"])
    assert f.loc["III", "state"] == "published" and f.loc["III", "value"] == 707
    assert f["rank"].isna().sum() == 2 and f.loc["III", "rank"] == 1
    derived = kennzahl_frame(data, "non_german_count", "bezirk", DAY)
    assert set(derived["state"]) == {"derived"}
    # the profile names the state instead of a number, and ranks among the Bezirke with a value
    rows = profile_frame(data, "I", DAY).set_index("key")
    assert rows.loc["bg_count", "value_text"] == "gesperrt (Geheimhaltung)"
    assert rows.loc["bg_count", "rank_text"] == "ohne Rang"
    assert profile_frame(data, "III", DAY).set_index("key").loc["bg_count", "rank_text"] == "Rang 1 von 7"

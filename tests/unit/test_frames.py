"""Joined frames: exact values, ranks, city references, derived allocation, JobCenter areas."""

from __future__ import annotations

from datetime import date

import pytest

from essen_dash.frames import (allocation_frame, bezirk_frame, jobcenter_area_frame, jobcenter_matrix,
                               overlapping_areas, stadtteil_frame)
from essen_dash.indicators import INDICATORS

DAY = date(2016, 9, 30)
JC_DAY = date(2016, 10, 5)


def test_bezirk_frame_values_ranks_and_city(tables):
    f = bezirk_frame(tables, INDICATORS["origin12_pct"], DAY).set_index("bezirk_id")
    assert f["value"].tolist() == [7.1, 1.3, 4.2, 2.6, 5.1, 4.2, 4.2, 1.4, 1.1]
    assert f.loc["I", "rank"] == 1 and f.loc["III", "rank"] == f.loc["VI", "rank"] == 3 and f.loc["IX", "rank"] == 9
    assert f["city_value"].iloc[0] == pytest.approx(21287 / 588875 * 100)


@pytest.mark.parametrize("key, city", [
    ("bg_ro_pct", (1936 + 4005) / 89289 * 100),
    ("bg_pct", 1936 / 89289 * 100),
    ("non_german_pct", 15.2),
    ("project_housing_pct", 100 / 9),
    ("population_count", 588875 / 9),
])
def test_city_values_follow_their_stated_formula(tables, key, city):
    assert bezirk_frame(tables, INDICATORS[key], DAY)["city_value"].iloc[0] == pytest.approx(city)


def test_stadtteil_frame_keeps_unpublished_missing(tables):
    f = stadtteil_frame(tables, INDICATORS["origin12_pct"], DAY)
    assert len(f) == 50 and f["value"].notna().sum() == 8
    assert f.set_index("name").loc["Stadtkern", "value"] == 11.7
    assert f.set_index("name")["value"].isna()["Werden"]
    assert stadtteil_frame(tables, INDICATORS["bg_pct"], DAY)["value"].isna().all()


def test_allocation_frame_formula(tables):
    f = allocation_frame(tables, DAY).set_index("bezirk_id")
    assert f.loc["VII", "resident_share_pct"] == pytest.approx(2981 / 21287 * 100)
    assert f.loc["VII", "ratio"] == pytest.approx(19.0 / (2981 / 21287 * 100))
    assert f["resident_share_pct"].sum() == pytest.approx(100)


def test_jobcenter_matrix_and_overlaps(tables):
    m = jobcenter_matrix(tables, JC_DAY)
    assert m.shape == (10, 7) and m.loc["West", "Bulgarien"] == 30.0
    assert overlapping_areas(tables, JC_DAY, {"III"}) == ["Mitte", "West"]
    assert overlapping_areas(tables, JC_DAY, {"IX"}) == ["Süd 1", "Süd 2"]
    assert len(overlapping_areas(tables, JC_DAY, set())) == 10


def test_joint_areas_are_summed(tables):
    import geopandas as gpd
    from shapely.geometry import box

    from essen_dash.geo.boundaries import jobcenter_areas

    reg = tables["stadtteile_register"]
    st = gpd.GeoDataFrame(reg, geometry=[box(i, 0, i + 1, 1) for i in range(len(reg))], crs="EPSG:25832")
    cw = tables["jobcenter_crosswalk"]
    areas = jobcenter_areas(st, cw[cw["stichtag"] == JC_DAY])
    f = jobcenter_area_frame(tables, areas, JC_DAY, "Iran").set_index("key")
    assert f.loc["Süd 1 & Süd 2", "value"] == pytest.approx(13.5 + 16.0)
    assert f.loc["West", "value"] == 13.8 and f.loc["West", "shared_members"] == ["Westviertel", "Altendorf",
                                                                                   "Frohnhausen"]

"""Real boundaries: defects handled, 9/9 and 50/50 joins, a clean simplified coverage, cached."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from essen_dash import paths
from essen_dash.geo import boundaries as B


@pytest.fixture(scope="module")
def register(tables_module):
    return tables_module["stadtteile_register"]


@pytest.fixture(scope="module")
def tables_module():
    from essen_dash.tables.load import load_tables

    return load_tables(paths.DEFAULT_DATA_DIR)


@pytest.fixture(scope="module")
def prepared(register):
    return B.prepare(B.find_geo_dir(), register)


def test_all_bezirke_and_stadtteile_join(prepared, register):
    assert prepared.bezirke["bezirk_id"].tolist() == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
    st = prepared.stadtteile
    assert len(st) == 50 and sorted(st["stadtteil_nr"]) == list(range(1, 51))
    merged = st.merge(register, on=["stadtteil_nr", "stadtteil_name", "bezirk_id"])
    assert len(merged) == 50


def test_bergerhausen_joined_by_register_and_reported(prepared):
    st = prepared.stadtteile.set_index("stadtteil_name")
    assert st.loc["Bergerhausen", "stadtteil_nr"] == 13 and st.loc["Rellinghausen", "stadtteil_nr"] == 12
    assert any("Bergerhausen trägt Nummer 12, amtlich 13" in n for n in prepared.notes)


def test_defects_are_repaired_and_reported(prepared):
    notes = " | ".join(prepared.notes)
    assert "essen_stadtbezirke.geojson: 4 Werte je Punkt" in notes
    assert notes.count("kein Koordinatensystem angegeben") == 2
    for name in ("Frohnhausen", "Frillendorf"):
        assert f"{name} ungültig" in notes
    for gdf in (prepared.bezirke, prepared.stadtteile):
        assert gdf.crs == "EPSG:4326"
        assert shapely.is_valid(gdf.geometry.values).all()
        assert not shapely.has_z(gdf.geometry.values).any()
        assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}


@pytest.mark.parametrize("level", ["bezirke", "stadtteile"])
def test_simplified_neighbours_share_borders_without_gaps_or_overlaps(prepared, level):
    gdf = getattr(prepared, level).to_crs(B.METRIC_CRS)
    geoms = gdf.geometry.values
    assert shapely.coverage_is_valid(geoms)
    union = shapely.union_all(geoms)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no gaps
    shared = 0
    for a, b in itertools.combinations(range(len(geoms)), 2):
        inter = shapely.intersection(geoms[a], geoms[b])
        assert inter.area < 1.0  # m²: no overlaps
        if shapely.length(inter) > 0:
            shared += 1
    assert shared >= len(geoms) - 1  # every unit borders another along a line
    # neighbourhood is preserved: pairs that touch in the source still share a border
    if level == "bezirke":
        assert shapely.length(shapely.intersection(geoms[0], geoms[1])) > 1000  # I and II


def test_simplification_report(prepared):
    for r in prepared.reports:
        assert r.vertices_after < r.vertices_before / 4
        assert r.bytes_after < r.bytes_before / 4
    bz = prepared.reports[0]
    assert (bz.level, bz.features, bz.vertices_before) == ("bezirke", 9, 28746)


def test_area_kept_after_cleaning_and_simplification(prepared):
    raw = gpd.read_file(B.find_geo_dir() / B.FILES["bezirke"]).set_crs(4326, allow_override=True)
    before = raw.to_crs(B.METRIC_CRS).area.sum()
    after = prepared.bezirke.to_crs(B.METRIC_CRS).area.sum()
    assert after == pytest.approx(before, rel=0.002)


def test_cache_is_used_and_equal(register, monkeypatch, tmp_path):
    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(tmp_path / "c"))
    first = B.load_boundaries(register)
    assert len(list((tmp_path / "c").glob("geometry-*/report.json"))) == 1

    def fail(*a, **k):
        raise AssertionError("prepared again although cached")

    monkeypatch.setattr(B, "prepare", fail)
    second = B.load_boundaries(register)
    assert second.stadtteile["stadtteil_nr"].tolist() == first.stadtteile["stadtteil_nr"].tolist()
    assert shapely.equals_exact(second.bezirke.geometry.values, first.bezirke.geometry.values, 1e-9).all()
    assert second.notes == first.notes


def copy_geo(tmp_path: Path) -> Path:
    target = tmp_path / "geo"
    shutil.copytree(B.find_geo_dir(), target, ignore=shutil.ignore_patterns("README*"))
    return target


def test_missing_stadtteil_fails_naming_it(tmp_path, register):
    folder = copy_geo(tmp_path)
    path = folder / B.FILES["stadtteile"]
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"] = [f for f in data["features"] if f["properties"]["Stadtteiln"] != "Karnap"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(B.GeometryJoinError, match="49 von 50 zugeordnet; ohne Geometrie: Karnap"):
        B.prepare(folder, register)


def test_unknown_bezirk_fails_naming_it(tmp_path, register):
    folder = copy_geo(tmp_path)
    path = folder / B.FILES["bezirke"]
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][3]["properties"]["STADTBEZR"] = "X"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(B.GeometryJoinError, match="8 von 9 zugeordnet; fehlend: IV; unbekannt: X"):
        B.prepare(folder, register)


def test_no_boundary_files_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.GEO_DIR_ENV, str(tmp_path / "leer"))
    with pytest.raises(B.GeometryNotFound) as err:
        B.find_geo_dir()
    assert str(tmp_path / "leer") in str(err.value) and "Open-Data-Portal der Stadt Essen" in str(err.value)


def test_jobcenter_areas_dissolve_with_partial_members():
    # a three-district toy city: unit squares 1, 2, 3 in a row
    st = gpd.GeoDataFrame({"stadtteil_nr": [1, 2, 3], "stadtteil_name": ["A", "B", "C"], "bezirk_id": ["I"] * 3},
                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], crs=B.METRIC_CRS)
    cw = pd.DataFrame({
        "jc_area": ["Ost", "Ost", "West", "West", "Süd 1", "Süd 2"],
        "published_as": ["Ost", "Ost", "West", "West", "Süd 1 & Süd 2", "Süd 1 & Süd 2"],
        "stadtteil_nr": [1, 2, 2, 3, 3, 3], "stadtteil_name": ["A", "B", "B", "C", "C", "C"],
        "is_partial": [False, True, True, False, False, False], "is_list_incomplete": [False] * 4 + [True] * 2})
    areas = B.jobcenter_areas(st, cw).set_index("published_as")
    assert areas.loc["Ost", "geometry"].equals(box(0, 0, 2, 1))
    assert areas.loc["Ost", "partial_members"] == ["B"] and areas.loc["Ost", "partial_geometry"].equals(box(1, 0, 2, 1))
    assert areas.loc["Süd 1 & Süd 2", "jc_areas"] == ["Süd 1", "Süd 2"]
    assert areas.loc["Süd 1 & Süd 2", "is_list_incomplete"] and areas.loc["Süd 1 & Süd 2", "partial_geometry"] is None
    # C is listed by West and by Süd: shared, so neither fills it as its own
    assert areas.loc["West", "shared_members"] == ["B", "C"] and areas.loc["West", "core_geometry"] is None
    assert areas.loc["Ost", "core_geometry"].equals(box(0, 0, 1, 1))


def test_hatching_stays_inside_the_polygon():
    square = gpd.GeoSeries([box(7.0, 51.4, 7.02, 51.41)], crs=B.SOURCE_CRS)
    lon, lat = B.hatch_lines(square.values, spacing_m=200)
    points = [(x, y) for x, y in zip(lon, lat) if x is not None]
    assert len(points) >= 2 * 8 and lon.count(None) >= 8
    assert all(7.0 - 1e-5 <= x <= 7.02 + 1e-5 and 51.4 - 1e-5 <= y <= 51.41 + 1e-5 for x, y in points)

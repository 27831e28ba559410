"""The real Essen boundaries end to end: defects handled, 9/9 and 50/50 joins, a clean coverage, geo/ current.

Reads the raw files in ../shared/geo (never copied into the repository; copies go to temporary folders
only) and the committed prepared folder geo/.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import shapely.geometry

from essen_dash import paths
from essen_dash.geo import boundaries as B, load as L, prepare as P

RAW_SHA256 = {"essen_stadtbezirke.geojson": "0422d8bf66d07c7bfb9d9b1febec80bd6d3b1353d090573f453f51e04f328458",
              "essen_stadtteile.geojson": "a91f5a0c57c990e646ac836edcc74ddf036b42e09f486f6b5c3b808c0ad8cc91"}
REPAIRED = ["Bergeborbeck", "Frohnhausen", "Frillendorf", "Horst", "Kettwig", "Kupferdreh"]
PROJECT_GEO = paths.REPO_ROOT / "geo"


@pytest.fixture(scope="module")
def raw_dir() -> Path:
    assert B.holds_raw(paths.SHARED_GEO_DIR), f"raw boundary files missing in {paths.SHARED_GEO_DIR}"
    return paths.SHARED_GEO_DIR


@pytest.fixture(scope="module")
def register():
    from essen_dash.tables.load import load_tables

    return load_tables(paths.REPO_ROOT / "data")["stadtteile_register"]


@pytest.fixture(scope="module")
def prepared(raw_dir, register) -> B.Boundaries:
    return P.prepare(raw_dir, register)


def test_all_bezirke_and_stadtteile_join(prepared, register):
    assert prepared.bezirke["bezirk_id"].tolist() == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
    st = prepared.stadtteile
    assert len(st) == 50 and st["stadtteil_nr"].tolist() == list(range(1, 51))
    merged = st.merge(register, on=["stadtteil_nr", "stadtteil_name", "bezirk_id"])
    assert len(merged) == 50


def test_bergerhausen_joined_by_register_and_reported(prepared):
    st = prepared.stadtteile.set_index("stadtteil_name")
    assert st.loc["Bergerhausen", "stadtteil_nr"] == 13 and st.loc["Rellinghausen", "stadtteil_nr"] == 12
    assert [n for n in prepared.notes if "trägt Nummer" in n] == [
        "Stadtteildatei: Bergerhausen trägt Nummer 12, amtlich 13; nach Name und Bezirk zugeordnet"]


def test_defects_are_repaired_and_reported(prepared):
    notes = prepared.notes
    assert "essen_stadtbezirke.geojson: 4 Werte je Punkt (X, Y, Z, M), Z und M entfernt" in notes
    assert sum("kein Koordinatensystem angegeben" in n for n in notes) == 2
    repaired = [n.split(": ", 1)[1].split(" ungültig")[0] for n in notes if " ungültig " in n]
    assert repaired == REPAIRED  # six self-intersecting rings, all in the Stadtteil file
    assert all(n.startswith("essen_stadtteile.geojson") for n in notes if " ungültig " in n)
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
    if level == "bezirke":  # neighbourhood is preserved: pairs that touch in the source still share a border
        assert shapely.length(shapely.intersection(geoms[0], geoms[1])) > 1000  # I and II


def test_simplification_report(prepared):
    bz, st = prepared.reports
    assert (bz.level, bz.features, bz.vertices_before, bz.vertices_after) == ("bezirke", 9, 28746, 1861)
    assert (st.level, st.features, st.vertices_before, st.vertices_after) == ("stadtteile", 50, 23985, 4486)
    for r in prepared.reports:
        assert r.bytes_after < r.bytes_before / 4


def test_area_kept_after_cleaning_and_simplification(prepared, raw_dir):
    raw = gpd.read_file(raw_dir / B.FILES["bezirke"]).set_crs(4326, allow_override=True)
    before = raw.to_crs(B.METRIC_CRS).area.sum()
    after = prepared.bezirke.to_crs(B.METRIC_CRS).area.sum()
    assert after == pytest.approx(before, rel=0.002)


def test_raw_preparation_is_cached_and_equal(raw_dir, register, monkeypatch, tmp_path):
    settings = paths.Settings(geo_dir=raw_dir, cache_dir=tmp_path / "c")
    first = L.load_boundaries(register, settings)
    assert len(list((tmp_path / "c").glob("geometry-*/report.json"))) == 1

    def fail(*a, **k):
        raise AssertionError("prepared again although cached")

    monkeypatch.setattr(P, "prepare", fail)
    second = L.load_boundaries(register, settings)
    assert second.stadtteile["stadtteil_nr"].tolist() == first.stadtteile["stadtteil_nr"].tolist()
    assert shapely.equals_exact(second.bezirke.geometry.values, first.bezirke.geometry.values, 1e-9).all()
    assert second.notes == first.notes


def copy_raw(raw_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    target.mkdir()
    for name in B.FILES.values():
        shutil.copy(raw_dir / name, target / name)
    return target


def test_missing_stadtteil_fails_naming_it(raw_dir, tmp_path, register):
    folder = copy_raw(raw_dir, tmp_path)
    path = folder / B.FILES["stadtteile"]
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"] = [f for f in data["features"] if f["properties"]["Stadtteiln"] != "Karnap"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(B.GeometryJoinError, match="49 von 50 zugeordnet; ohne Geometrie: Karnap"):
        P.prepare(folder, register)


def test_unknown_bezirk_fails_naming_it(raw_dir, tmp_path, register):
    folder = copy_raw(raw_dir, tmp_path)
    path = folder / B.FILES["bezirke"]
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][3]["properties"]["STADTBEZR"] = "X"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(B.GeometryJoinError, match="8 von 9 zugeordnet; fehlend: IV; unbekannt: X"):
        P.prepare(folder, register)


# --- the committed prepared folder geo/ ------------------------------------------------------------

def test_committed_geo_is_what_build_prepared_makes_today(raw_dir, register, tmp_path):
    fresh = tmp_path / "geo"
    P.build_prepared(raw_dir, fresh, register)
    assert sorted(p.name for p in PROJECT_GEO.iterdir()) == sorted(p.name for p in fresh.iterdir())
    for name in B.PREPARED_FILES.values():
        committed = json.loads((PROJECT_GEO / name).read_text(encoding="utf-8"))["features"]
        built = json.loads((fresh / name).read_text(encoding="utf-8"))["features"]
        assert [f["properties"] for f in committed] == [f["properties"] for f in built], name
        a = [shapely.geometry.shape(f["geometry"]) for f in committed]
        b = [shapely.geometry.shape(f["geometry"]) for f in built]
        assert shapely.equals_exact(a, b, 1e-9).all(), f"{name} is out of date: run essen-dash geometry --build"
    committed_report = json.loads((PROJECT_GEO / B.REPORT_FILE).read_text(encoding="utf-8"))
    built_report = json.loads((fresh / B.REPORT_FILE).read_text(encoding="utf-8"))
    assert committed_report["sources"] == built_report["sources"]
    assert committed_report["levels"] == built_report["levels"]


def test_geo_readme_names_raw_checksums_licence_and_command():
    readme = (PROJECT_GEO / "README.md").read_text(encoding="utf-8")
    for name, digest in RAW_SHA256.items():
        assert f"| `{name}` |" in readme and f"`{digest}` |" in readme
    assert "Datenlizenz Deutschland – Namensnennung 2.0 (dl-de/by-2-0), Namensnennung: Stadt Essen" in readme
    assert "\nessen-dash geometry --build\n" in readme
    assert "Wagner-67/essen_bezirke-stadtteile" in readme and "KomMonitor/data-management" in readme
    report = json.loads((PROJECT_GEO / B.REPORT_FILE).read_text(encoding="utf-8"))
    assert {name: s["sha256"] for name, s in report["sources"].items()} == RAW_SHA256


def test_raw_files_are_not_in_the_repository():
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=paths.REPO_ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    files = [paths.REPO_ROOT / name for name in listed if name]
    assert paths.REPO_ROOT / "geo" / "stadtteile.prepared.geojson" in files
    for path in files:
        if path.is_file():
            assert path.name not in RAW_SHA256 or "fixtures" in path.parts, path
            assert hashlib.sha256(path.read_bytes()).hexdigest() not in RAW_SHA256.values(), path


def test_without_shared_folder_the_committed_geo_gives_both_levels(prepared, register, monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "SHARED_GEO_DIR", tmp_path / "absent")
    monkeypatch.setattr(paths, "PROJECT_GEO_DIR", PROJECT_GEO)

    def fail(*a, **k):
        raise AssertionError("raw files prepared although geo/ holds the prepared ones")

    monkeypatch.setattr(P, "prepare", fail)
    b = L.load_boundaries(register, paths.Settings(geo_dir=None, cache_dir=tmp_path / "cache"))
    assert b.source_dir == PROJECT_GEO
    assert b.bezirke["bezirk_id"].tolist() == prepared.bezirke["bezirk_id"].tolist()
    assert b.stadtteile["stadtteil_nr"].tolist() == list(range(1, 51))
    assert shapely.equals_exact(b.stadtteile.geometry.values, prepared.stadtteile.geometry.values, 1e-9).all()
    assert [len(json.loads(b.web_json[level])["features"]) for level in ("bezirk", "stadtteil")] == [9, 50]
    assert b.notes == prepared.notes
    assert not (tmp_path / "cache").exists()

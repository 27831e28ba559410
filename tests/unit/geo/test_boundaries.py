"""Boundaries on the made-up toy city (tests/fixtures/geo): repair, joins, prepared folder, search, errors.

Never reads the real boundaries, the live data/ folder or the project's geo/: the real Essen files are
checked end to end in tests/integration/test_geo_real.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from essen_dash import paths
from essen_dash.geo import boundaries as B, load as L, prepare as P, shapes as S

TOY_RAW = Path(__file__).resolve().parents[2] / "fixtures" / "geo" / "raw"
NAMES = ["Altstadt", "Neustadt", "Bachtal", "Berghang", "Feldmark", "Hafen", "Heide", "Mühlenbach", "Waldrand",
         "Ziegelei"]
BEZIRK_OF = ["I", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
PREPARED_NAMES = {"stadtbezirke.prepared.geojson", "stadtteile.prepared.geojson", "report.json", "README.md"}


@pytest.fixture
def register() -> pd.DataFrame:
    """Return the toy city's register: Stadtteile 1–10 (Neustadt is 2, though its file says 1)."""
    return pd.DataFrame({"stadtteil_nr": range(1, 11), "stadtteil_name": NAMES, "bezirk_id": BEZIRK_OF})


@pytest.fixture
def raw_dir(tmp_path) -> Path:
    """Return a writable copy of the toy raw files."""
    return Path(shutil.copytree(TOY_RAW, tmp_path / "raw"))


@pytest.fixture
def prepared(register) -> B.Boundaries:
    return P.prepare(TOY_RAW, register)


@pytest.fixture
def built(tmp_path, register) -> Path:
    """Return a prepared folder built from the toy raw files."""
    out = tmp_path / "geo"
    P.build_prepared(TOY_RAW, out, register)
    return out


def settings_for(tmp_path: Path, geo_dir: Path | None) -> paths.Settings:
    return paths.Settings(data_dir=tmp_path / "data-unused", geo_dir=geo_dir, cache_dir=tmp_path / "cache")


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def forbid_prepare(monkeypatch) -> None:
    def fail(*a, **k):
        raise AssertionError("raw files prepared although prepared files were there")

    monkeypatch.setattr(P, "prepare", fail)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- preparing raw files -------------------------------------------------------------------------

def test_raw_files_join_all_bezirke_and_register_stadtteile(prepared, register):
    assert prepared.bezirke["bezirk_id"].tolist() == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
    assert prepared.bezirke["bezirk_nr"].tolist() == list(range(1, 10))
    st = prepared.stadtteile
    assert st[["stadtteil_nr", "stadtteil_name", "bezirk_id"]].values.tolist() == register.values.tolist()


def test_number_mismatch_is_joined_by_name_and_reported(prepared):
    assert prepared.stadtteile.set_index("stadtteil_name").loc["Neustadt", "stadtteil_nr"] == 2
    assert "Stadtteildatei: Neustadt trägt Nummer 1, amtlich 2; nach Name und Bezirk zugeordnet" in prepared.notes


def test_defects_are_repaired_and_reported(prepared):
    notes = prepared.notes
    assert notes[:2] == ["essen_stadtbezirke.geojson: kein Koordinatensystem angegeben, EPSG:4326 (Länge/Breite) "
                         "angenommen", "essen_stadtbezirke.geojson: 4 Werte je Punkt (X, Y, Z, M), Z und M entfernt"]
    assert [n for n in notes if "ungültig" in n] == [
        "essen_stadtteile.geojson: Bachtal ungültig (Self-intersection[7.0102 51.4]), repariert"]
    for gdf in (prepared.bezirke, prepared.stadtteile):
        assert gdf.crs == "EPSG:4326"
        assert shapely.is_valid(gdf.geometry.values).all()
        assert not shapely.has_z(gdf.geometry.values).any()
        assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}


def test_coverage_cleaning_closes_the_sliver(prepared, register):
    raw = P.read_repaired(TOY_RAW / B.FILES["stadtteile"], "Stadtteiln", []).to_crs(B.METRIC_CRS).geometry.values
    assert shapely.length(shapely.intersection(raw[0], raw[1])) == 0  # Altstadt and Neustadt only touch
    st = prepared.stadtteile.to_crs(B.METRIC_CRS).geometry.values
    assert shapely.coverage_is_valid(st)
    union = shapely.union_all(st)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    assert shapely.length(shapely.intersection(st[0], st[1])) == pytest.approx(1112.4, abs=1)  # one shared border


def test_simplification_report(prepared):
    bz, st = prepared.reports
    assert (bz.level, bz.features, bz.vertices_before, bz.vertices_after) == ("bezirke", 9, 46, 45)
    assert (st.level, st.features) == ("stadtteile", 10)
    assert st.vertices_after < st.vertices_before
    assert bz.bytes_before == (TOY_RAW / B.FILES["bezirke"]).stat().st_size
    assert st.notes[-1].startswith("Stadtteile je Bezirk zusammengefasst weichen von der Bezirksdatei um höchstens")


def test_missing_stadtteil_fails_naming_it_and_the_file(raw_dir, register):
    edit_json(raw_dir / B.FILES["stadtteile"],
              lambda d: d.update(features=[f for f in d["features"] if f["properties"]["Stadtteiln"] != "Heide"]))
    with pytest.raises(B.GeometryJoinError, match=r"Stadtteile \(essen_stadtteile.geojson\): 9 von 10 zugeordnet; "
                                                  r"ohne Geometrie: Heide; nicht im Verzeichnis: –"):
        P.prepare(raw_dir, register)


def test_unknown_bezirk_fails_naming_it(raw_dir, register):
    edit_json(raw_dir / B.FILES["bezirke"], lambda d: d["features"][3]["properties"].update(STADTBEZR="X"))
    with pytest.raises(B.GeometryJoinError, match="8 von 9 zugeordnet; fehlend: IV; unbekannt: X; doppelt: –"):
        P.prepare(raw_dir, register)


def test_truncated_raw_file_names_the_file(raw_dir, register):
    path = raw_dir / B.FILES["stadtteile"]
    path.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(B.GeometryFileError, match=f"Grenzdatei {path} nicht lesbar"):
        P.prepare(raw_dir, register)


def test_raw_file_without_expected_property_names_it(raw_dir, register):
    edit_json(raw_dir / B.FILES["stadtteile"], lambda d: [f["properties"].pop("spatialUnitId") for f in d["features"]])
    with pytest.raises(B.GeometryFileError, match="essen_stadtteile.geojson: Eigenschaft fehlt: spatialUnitId"):
        P.prepare(raw_dir, register)


# --- the prepared folder ---------------------------------------------------------------------------

def test_build_writes_prepared_files_report_and_readme(built):
    assert {p.name for p in built.iterdir()} == PREPARED_NAMES
    bezirke = json.loads((built / "stadtbezirke.prepared.geojson").read_text(encoding="utf-8"))
    assert [{k: f["properties"][k] for k in ("bezirk_id", "bezirk_nr")} for f in bezirke["features"]][:2] == \
        [{"bezirk_id": "I", "bezirk_nr": 1}, {"bezirk_id": "II", "bezirk_nr": 2}]
    stadtteile = json.loads((built / "stadtteile.prepared.geojson").read_text(encoding="utf-8"))
    neustadt = stadtteile["features"][1]["properties"]
    assert list(neustadt) == ["stadtteil_nr", "stadtteil_name", "bezirk_id", "label_lon", "label_lat"]
    assert {k: neustadt[k] for k in ("stadtteil_nr", "stadtteil_name", "bezirk_id")} == \
        {"stadtteil_nr": 2, "stadtteil_name": "Neustadt", "bezirk_id": "I"}
    report = json.loads((built / "report.json").read_text(encoding="utf-8"))
    assert report["command"] == "essen-dash geometry --build"
    assert report["sources"] == {name: {"sha256": sha256(TOY_RAW / name), "bytes": (TOY_RAW / name).stat().st_size}
                                 for name in B.FILES.values()}
    assert (report["preparation"]["gap_width_m"], report["preparation"]["simplify_tolerance_m"]) == (15.0, 25.0)
    assert [lv["features"] for lv in report["levels"]] == [9, 10]


def test_readme_gives_provenance_licence_checksums_settings_and_command(built):
    readme = (built / "README.md").read_text(encoding="utf-8")
    for name in B.FILES.values():
        assert f"| `{name}` |" in readme and f"`{sha256(TOY_RAW / name)}`" in readme
    assert "Datenlizenz Deutschland – Namensnennung 2.0 (dl-de/by-2-0), Namensnennung: Stadt Essen" in readme
    assert "Publisher of both raw files: Stadt Essen" in readme
    assert "\nessen-dash geometry --build\n" in readme
    assert "gap width 15 m" in readme and "tolerance 25 m" in readme
    assert f"shapely {shapely.__version__}, GEOS {shapely.geos_version_string}" in readme
    assert "- essen_stadtteile.geojson: Bachtal ungültig" in readme


def test_prepared_folder_reads_back_exactly(built, prepared, register, monkeypatch):
    forbid_prepare(monkeypatch)
    again = B.read_prepared(built, register)
    assert again.source_dir == built
    for level in ("bezirke", "stadtteile"):
        a, b = getattr(prepared, level), getattr(again, level)
        assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
        assert shapely.equals_exact(a.geometry.values, b.geometry.values, 0).all()
    assert again.notes == prepared.notes and again.reports == prepared.reports
    assert again.web_json == prepared.web_json


def test_label_points_lie_inside_their_area_and_are_read_without_geopandas(built, register):
    for path in (built / name for name in B.PREPARED_FILES.values()):
        for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
            point = shapely.Point(feature["properties"]["label_lon"], feature["properties"]["label_lat"])
            assert shapely.geometry.shape(feature["geometry"]).contains(point)
    b = B.read_prepared(built, register)
    labels = b.label_points["stadtteil"].set_index("key")
    neustadt = b.units["stadtteile"].set_index("stadtteil_name").loc["Neustadt"]
    assert labels.loc["2", ["lon", "lat"]].tolist() == [neustadt["label_lon"], neustadt["label_lat"]]
    # what the maps draw, as geopandas would write it
    assert b.geojson("stadtteil") == b.stadtteile[["geometry"]].set_axis(
        b.stadtteile["stadtteil_nr"].astype(str).to_numpy()).to_geo_dict(drop_id=False)


def test_build_is_reproducible(tmp_path, built, register):
    P.build_prepared(TOY_RAW, tmp_path / "again", register)
    for name in PREPARED_NAMES:
        assert (tmp_path / "again" / name).read_bytes() == (built / name).read_bytes(), name


def test_build_replaces_the_folder_whole_and_leaves_nothing_beside_it(built, register):
    (built / "report.json").write_text("{}", encoding="utf-8")
    (built / "README.md").unlink()
    P.build_prepared(TOY_RAW, built, register)
    assert {p.name for p in built.iterdir()} == PREPARED_NAMES
    assert json.loads((built / "report.json").read_text(encoding="utf-8"))["levels"]
    assert [p.name for p in built.parent.iterdir() if p.name.startswith(".")] == []


def test_failed_build_keeps_the_old_folder(built, register, monkeypatch):
    before = {p.name: p.read_bytes() for p in built.iterdir()}

    def broken(b, raw_dir, folder, readme=True):
        (folder / "stadtbezirke.prepared.geojson").write_text("{", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(P, "write_prepared", broken)
    with pytest.raises(OSError, match="disk full"):
        P.build_prepared(TOY_RAW, built, register)
    assert {p.name: p.read_bytes() for p in built.iterdir()} == before
    assert [p.name for p in built.parent.iterdir() if p.name.startswith(".")] == []


def test_failed_swap_puts_the_old_folder_back(built, register, monkeypatch):
    before = {p.name: p.read_bytes() for p in built.iterdir()}
    real_replace = P.os.replace

    def replace(src, dst):
        if Path(src).name.startswith(".geo.tmp-"):
            raise OSError("rename refused")
        real_replace(src, dst)

    monkeypatch.setattr(P.os, "replace", replace)
    with pytest.raises(OSError, match="rename refused"):
        P.build_prepared(TOY_RAW, built, register)
    assert {p.name: p.read_bytes() for p in built.iterdir()} == before
    assert [p.name for p in built.parent.iterdir() if p.name.startswith(".")] == []


def test_build_refuses_a_folder_with_other_files(raw_dir, tmp_path, register):
    with pytest.raises(FileExistsError, match="essen_stadtbezirke.geojson, essen_stadtteile.geojson"):
        P.build_prepared(TOY_RAW, raw_dir, register)
    assert sorted(p.name for p in raw_dir.iterdir()) == sorted(B.FILES.values())


def test_prepared_folder_missing_a_register_stadtteil_fails_naming_it(built, register):
    extended = pd.concat([register, pd.DataFrame({"stadtteil_nr": [11], "stadtteil_name": ["Neuland"],
                                                  "bezirk_id": ["IX"]})], ignore_index=True)
    with pytest.raises(B.GeometryJoinError, match=r"stadtteile.prepared.geojson\): 10 von 11 zugeordnet; "
                                                  r"ohne Geometrie: Neuland \(11\); nicht im Verzeichnis: –"):
        B.read_prepared(built, extended)


def test_prepared_folder_missing_a_bezirk_fails_naming_it(built, register):
    edit_json(built / "stadtbezirke.prepared.geojson", lambda d: d["features"].pop(3))
    with pytest.raises(B.GeometryJoinError, match=r"stadtbezirke.prepared.geojson\): 8 von 9 zugeordnet; "
                                                  r"fehlend: IV; unbekannt: –"):
        B.read_prepared(built, register)


def test_truncated_prepared_file_names_the_file(built, register):
    path = built / "stadtteile.prepared.geojson"
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(B.GeometryFileError, match=f"Grenzdatei {path} nicht lesbar") as err:
        L.load_boundaries(register, paths.Settings(geo_dir=built, cache_dir=built.parent / "cache"))
    assert isinstance(err.value, ValueError) and isinstance(err.value, B.GeometryJoinError)


def test_prepared_feature_without_key_names_file_and_feature(built, register):
    path = built / "stadtteile.prepared.geojson"
    edit_json(path, lambda d: d["features"][4]["properties"].update(stadtteil_nr="5"))
    with pytest.raises(B.GeometryFileError, match=f"Grenzdatei {path}, Fläche 5: .*stadtteil_nr \\(int erwartet\\)"):
        B.read_prepared(built, register)


def test_broken_report_names_the_file(built, register):
    (built / "report.json").write_text('{"levels": [{"level": "bezirke"}]}', encoding="utf-8")
    with pytest.raises(B.GeometryFileError, match=f"Bericht {built / 'report.json'} nicht lesbar"):
        B.read_prepared(built, register)


# --- where boundaries are looked for ------------------------------------------------------------------

@pytest.fixture
def default_dirs(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """Point the default search (project geo/, then ../shared/geo) at two empty temporary folders."""
    project, shared = tmp_path / "project-geo", tmp_path / "shared-geo"
    project.mkdir()
    shared.mkdir()
    monkeypatch.setattr(paths, "PROJECT_GEO_DIR", project)
    monkeypatch.setattr(paths, "SHARED_GEO_DIR", shared)
    return project, shared


def test_default_search_prefers_prepared_project_folder(default_dirs, tmp_path, register, monkeypatch):
    project, shared = default_dirs
    P.build_prepared(TOY_RAW, project, register)
    for name in B.FILES.values():
        shutil.copy(TOY_RAW / name, shared / name)
    forbid_prepare(monkeypatch)
    b = L.load_boundaries(register, settings_for(tmp_path, None))
    assert b.source_dir == project and len(b.bezirke) == 9 and len(b.stadtteile) == 10
    assert not (tmp_path / "cache").exists()  # prepared files need no cache


def test_default_search_falls_back_to_raw_shared_folder(default_dirs, tmp_path, register):
    project, shared = default_dirs
    for name in B.FILES.values():
        shutil.copy(TOY_RAW / name, shared / name)
    assert B.find_geo_dir(settings_for(tmp_path, None)) == shared
    b = L.load_boundaries(register, settings_for(tmp_path, None))
    assert b.source_dir == shared and b.stadtteile["stadtteil_nr"].tolist() == list(range(1, 11))


def test_configured_folder_is_the_only_one_searched(default_dirs, tmp_path, built, register):
    project, _ = default_dirs
    P.build_prepared(TOY_RAW, project, register)
    empty = tmp_path / "leer"
    empty.mkdir()
    with pytest.raises(B.GeometryNotFound) as err:
        B.find_geo_dir(settings_for(tmp_path, empty))
    assert err.value.searched == [empty]
    assert B.find_geo_dir(settings_for(tmp_path, built)) == built


def test_raw_folder_for_build_skips_prepared_folders(default_dirs, tmp_path, register):
    project, shared = default_dirs
    P.build_prepared(TOY_RAW, project, register)
    with pytest.raises(B.GeometryNotFound):
        B.find_raw_dir(settings_for(tmp_path, None))
    for name in B.FILES.values():
        shutil.copy(TOY_RAW / name, shared / name)
    assert B.find_raw_dir(settings_for(tmp_path, None)) == shared


def test_no_boundary_files_says_where_it_looked_and_what_it_wanted(default_dirs, tmp_path, register):
    project, shared = default_dirs
    (project / "stadtbezirke.prepared.geojson").write_text("{}", encoding="utf-8")  # an incomplete set
    with pytest.raises(B.GeometryNotFound) as err:
        L.load_boundaries(register, settings_for(tmp_path, None))
    message = str(err.value)
    assert f"Gesucht in: {project}; {shared}." in message
    assert "(stadtbezirke.prepared.geojson, stadtteile.prepared.geojson, report.json;" in message
    assert "(essen_stadtbezirke.geojson, essen_stadtteile.geojson)" in message
    assert "Open-Data-Portal der Stadt Essen" in message and isinstance(err.value, FileNotFoundError)


# --- the cache of prepared raw files -------------------------------------------------------------------

def test_raw_preparation_is_cached_and_equal(raw_dir, tmp_path, register, monkeypatch):
    settings = settings_for(tmp_path, raw_dir)
    first = L.load_boundaries(register, settings)
    caches = list((tmp_path / "cache").glob("geometry-*"))
    assert len(caches) == 1 and {p.name for p in caches[0].iterdir()} == PREPARED_NAMES - {"README.md"}
    forbid_prepare(monkeypatch)
    second = L.load_boundaries(register, settings)
    assert second.source_dir == raw_dir
    assert second.stadtteile["stadtteil_nr"].tolist() == first.stadtteile["stadtteil_nr"].tolist()
    assert shapely.equals_exact(second.bezirke.geometry.values, first.bezirke.geometry.values, 0).all()
    assert second.notes == first.notes


def test_changed_raw_file_or_register_is_prepared_again(raw_dir, tmp_path, register):
    settings = settings_for(tmp_path, raw_dir)
    L.load_boundaries(register, settings)
    edit_json(raw_dir / B.FILES["stadtteile"], lambda d: d.update(name="changed"))
    L.load_boundaries(register, settings)
    renumbered = register.assign(stadtteil_nr=[1, 11, *range(3, 11)])
    b = L.load_boundaries(renumbered, settings)
    assert b.stadtteile["stadtteil_nr"].tolist() == [1, *range(3, 12)]
    assert len(list((tmp_path / "cache").glob("geometry-*"))) == 3


def test_damaged_cache_is_rebuilt(raw_dir, tmp_path, register, caplog):
    settings = settings_for(tmp_path, raw_dir)
    L.load_boundaries(register, settings)
    (cache,) = (tmp_path / "cache").glob("geometry-*")
    (cache / "stadtteile.prepared.geojson").write_text('{"type": "FeatureCol', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger=L.__name__):
        b = L.load_boundaries(register, settings)
    assert len(b.stadtteile) == 10 and "unbrauchbar" in caplog.text
    assert B.read_prepared(cache, register).stadtteile["stadtteil_name"].tolist() == NAMES


def test_without_cache_nothing_is_written(raw_dir, tmp_path, register):
    b = L.load_boundaries(register, settings_for(tmp_path, raw_dir), use_cache=False)
    assert len(b.bezirke) == 9 and not (tmp_path / "cache").exists()


# --- JobCenter areas and hatching ------------------------------------------------------------------

def test_jobcenter_areas_dissolve_with_partial_members():
    # a three-district toy city: unit squares 1, 2, 3 in a row
    st = gpd.GeoDataFrame({"stadtteil_nr": [1, 2, 3], "stadtteil_name": ["A", "B", "C"], "bezirk_id": ["I"] * 3},
                          geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], crs=B.METRIC_CRS)
    cw = pd.DataFrame({
        "jc_area": ["Ost", "Ost", "West", "West", "Süd 1", "Süd 2"],
        "published_as": ["Ost", "Ost", "West", "West", "Süd 1 & Süd 2", "Süd 1 & Süd 2"],
        "stadtteil_nr": [1, 2, 2, 3, 3, 3], "stadtteil_name": ["A", "B", "B", "C", "C", "C"],
        "is_partial": [False, True, True, False, False, False], "is_list_incomplete": [False] * 4 + [True] * 2})
    areas = S.jobcenter_areas(st, cw).set_index("published_as")
    assert list(areas.columns) == ["jc_areas", "members", "partial_members", "shared_members", "is_list_incomplete",
                                   "geometry", "core_geometry"]
    assert areas.loc["Ost", "geometry"].equals(box(0, 0, 2, 1))
    assert areas.loc["Ost", "partial_members"] == ["B"]
    assert areas.loc["Süd 1 & Süd 2", "jc_areas"] == ["Süd 1", "Süd 2"]
    assert areas.loc["Süd 1 & Süd 2", "is_list_incomplete"] and areas.loc["Süd 1 & Süd 2", "partial_members"] == []
    # C is listed by West and by Süd: shared, so neither fills it as its own
    assert areas.loc["West", "shared_members"] == ["B", "C"] and areas.loc["West", "core_geometry"] is None
    assert areas.loc["Ost", "core_geometry"].equals(box(0, 0, 1, 1))


def test_hatching_stays_inside_the_polygon():
    square = gpd.GeoSeries([box(7.0, 51.4, 7.02, 51.41)], crs=B.SOURCE_CRS)
    lon, lat = S.hatch_lines(square.values, spacing_m=200)
    points = [(x, y) for x, y in zip(lon, lat) if x is not None]
    assert len(points) >= 2 * 8 and lon.count(None) >= 8
    assert all(7.0 - 1e-5 <= x <= 7.02 + 1e-5 and 51.4 - 1e-5 <= y <= 51.41 + 1e-5 for x, y in points)

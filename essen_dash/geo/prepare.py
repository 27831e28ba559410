"""Prepare the raw boundary files: repaired, joined, simplified, with a label point per area.

Flow: raw boundary files → repaired polygons (CRS set, Z/M dropped, invalid
rings made valid) → joined to the Bezirk ids and the official Stadtteil
register → coverage-cleaned and coverage-simplified in metres (neighbours keep
one shared border, no gaps or overlaps) → small GeoJSON for the web, each area
with the point its label is written at (chosen in metres, inside the area).

:func:`build_prepared` writes that result, with its report and provenance, to
the project's committed ``geo/`` folder (``essen-dash geometry --build``);
:func:`essen_dash.geo.load.load_boundaries` reads such a folder and calls
:func:`prepare` only where raw files come first (cached by content hash).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
import shapely.geometry

from essen_dash.geo.boundaries import (BUILD_COMMAND, FILES, METRIC_CRS, PREPARED_COLUMNS, PREPARED_FILES,
                                       README_FILE, REPORT_FILE, SOURCE_CRS, WEB_DECIMALS, Boundaries,
                                       GeometryFileError, GeometryJoinError, GeometryNotFound, LevelReport,
                                       check_bezirk_ids, holds_raw, prepared_set)
from essen_dash.geo.shapes import label_points
from essen_dash.tables.schema import BEZIRK_IDS

log = logging.getLogger(__name__)

#: Slivers narrower than this (metres) between Stadtteile are closed by coverage cleaning;
#: the Stadtteil file is rounded to 4 decimals (about 7–11 m).
GAP_WIDTH_M = 15.0
#: About one screen pixel of a full-width city map: visually lossless, a fifth of the vertices.
SIMPLIFY_TOLERANCE_M = 25.0
#: Bump when the preparation or the prepared files' layout changes, so old caches are not reused.
PREPARATION_VERSION = 3
LICENCE = "Datenlizenz Deutschland – Namensnennung 2.0 (dl-de/by-2-0), Namensnennung: Stadt Essen"
LICENCE_URL = "https://www.govdata.de/dl-de/by-2-0"
#: Where each raw file came from (see ../shared/geo/README.md); written into the prepared folder's README.
RAW_PROVENANCE = {
    FILES["bezirke"]: "the 9 Stadtbezirke, full precision: an ArcGIS export of the City of Essen's Stadtbezirk "
                      "layer (public repository Wagner-67/essen_bezirke-stadtteile, file stadtbezirke.geojson, "
                      "commit 3f13b6381ab0ec41906c954e4d198a3a2541ead9)",
    FILES["stadtteile"]: "the 50 Stadtteile: the City of Essen's Stadtteil layer as used by KomMonitor, the "
                         "municipal monitoring platform of Stadt Essen and Hochschule Bochum (public repository "
                         "KomMonitor/data-management, src/test/resources/Stadtteile.json, commit "
                         "6547ed28090389bb77363ed455f85d3d5cec69bf, 2018); coordinates rounded to 4 decimals",
}


# --- reading and repair of the raw files ------------------------------------------------------

def read_repaired(path: Path, label_column: str, notes: list[str]) -> gpd.GeoDataFrame:
    """Read a raw boundary file and fix CRS, Z/M values and invalid rings, noting each fix."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*too many members in array.*")  # Z/M: handled below
            gdf = gpd.read_file(path, engine="pyogrio")
        declared_crs, dims = _declared_crs_and_dims(path)
    except Exception as exc:  # pyogrio/GDAL raise their own types; the file is what matters
        raise GeometryFileError(f"Grenzdatei {path} nicht lesbar: {exc}") from exc
    missing = [c for c in (label_column,) if c not in gdf.columns]
    if missing or gdf.empty:
        raise GeometryFileError(f"Grenzdatei {path}: " + (f"Eigenschaft fehlt: {', '.join(missing)}"
                                                            if missing else "keine Flächen"))
    if not declared_crs:
        # GDAL assumes WGS84 for GeoJSON without saying so; state it and set it explicitly.
        notes.append(f"{path.name}: kein Koordinatensystem angegeben, {SOURCE_CRS} (Länge/Breite) angenommen")
    gdf = gdf.set_crs(SOURCE_CRS, allow_override=True) if not declared_crs else gdf.to_crs(SOURCE_CRS)
    if dims > 2:
        notes.append(f"{path.name}: {dims} Werte je Punkt (X, Y, Z, M), Z und M entfernt")
    geoms = shapely.force_2d(gdf.geometry.values)
    if shapely.is_missing(geoms).any():
        raise GeometryFileError(f"Grenzdatei {path}: Fläche ohne Geometrie")
    invalid = ~shapely.is_valid(geoms)
    for i in np.flatnonzero(invalid):
        notes.append(f"{path.name}: {gdf.iloc[i][label_column]} ungültig "
                     f"({shapely.is_valid_reason(geoms[i])}), repariert")
    geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    return gdf.set_geometry(gpd.GeoSeries(geoms, crs=SOURCE_CRS, index=gdf.index))


def _declared_crs_and_dims(path: Path) -> tuple[bool, int]:
    """Return whether the file declares a CRS and how many values its first point has.

    GDAL drops M values silently, so the raw text is the only place to see them.
    """
    with path.open("rb") as fh:
        head = fh.read(65536).decode("utf-8", "ignore")
    point = re.search(r'"coordinates"\s*:\s*[\[\s]*(-?[\d.eE+-]+(?:\s*,\s*-?[\d.eE+-]+)*)\s*\]', head)
    return '"crs"' in head, len(point.group(1).split(",")) if point else 2


def _require_columns(raw: gpd.GeoDataFrame, columns: tuple[str, ...], path: Path) -> None:
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise GeometryFileError(f"Grenzdatei {path}: Eigenschaft fehlt: {', '.join(missing)}")


def join_bezirke(raw: gpd.GeoDataFrame, label: str = "Stadtbezirke") -> gpd.GeoDataFrame:
    """Return the nine Bezirke keyed by ``bezirk_id``; fail naming any missing or extra."""
    ids = raw["STADTBEZR"].astype(str).str.strip()
    numbers = pd.to_numeric(raw["STADTBEZ"], errors="coerce")
    check_bezirk_ids(ids, numbers, label)
    out = gpd.GeoDataFrame({"bezirk_id": ids, "bezirk_nr": numbers.astype(int)}, geometry=raw.geometry.values,
                           crs=raw.crs)
    return out.set_index(pd.Index(ids, name=None)).loc[list(BEZIRK_IDS)].reset_index(drop=True)


def join_stadtteile(raw: gpd.GeoDataFrame, register: pd.DataFrame, notes: list[str],
                    label: str = "Stadtteile") -> gpd.GeoDataFrame:
    """Join Stadtteile to the official register by name and Bezirk; report number mismatches.

    The file's own number is not trusted alone (it numbers Bergerhausen 12, the
    register 13): a feature matches the register row with its name and Bezirk.
    """
    feats = pd.DataFrame({"name": raw["Stadtteiln"].astype(str).str.strip(),
                          "bezirk_id": raw["StadtBez"].astype(str).str.strip(),
                          "file_nr": pd.to_numeric(raw["spatialUnitId"], errors="coerce"), "row": range(len(raw))})
    merged = register.merge(feats, left_on=["stadtteil_name", "bezirk_id"], right_on=["name", "bezirk_id"],
                            how="outer", indicator=True)
    missing = merged[merged["_merge"] == "left_only"]["stadtteil_name"].tolist()
    unknown = [f"{r.name} ({r.bezirk_id})" for r in merged[merged["_merge"] == "right_only"].itertuples()]
    dupes = feats[feats.duplicated(["name", "bezirk_id"])]["name"].tolist()
    if missing or unknown or dupes:
        raise GeometryJoinError(
            f"{label}: {len(register) - len(missing)} von {len(register)} zugeordnet; "
            f"ohne Geometrie: {', '.join(missing) or '–'}; nicht im Verzeichnis: {', '.join(unknown) or '–'}; "
            f"doppelt: {', '.join(dupes) or '–'}")
    both = merged[merged["_merge"] == "both"].sort_values("stadtteil_nr")
    for r in both[both["file_nr"] != both["stadtteil_nr"]].itertuples():
        file_nr = "keine" if pd.isna(r.file_nr) else int(r.file_nr)
        notes.append(f"Stadtteildatei: {r.stadtteil_name} trägt Nummer {file_nr}, amtlich {r.stadtteil_nr}; "
                     "nach Name und Bezirk zugeordnet")
    geoms = raw.geometry.values[both["row"].to_numpy()]
    return gpd.GeoDataFrame(
        {"stadtteil_nr": both["stadtteil_nr"].astype(int).to_numpy(),
         "stadtteil_name": both["stadtteil_name"].to_numpy(), "bezirk_id": both["bezirk_id"].to_numpy()},
        geometry=geoms, crs=raw.crs)


# --- coverage cleaning and simplification -------------------------------------------------

def to_web(gdf: gpd.GeoDataFrame, tolerance_m: float, gap_width_m: float) -> gpd.GeoDataFrame:
    """Return a cleaned, coverage-simplified copy in EPSG:4326 rounded for the web."""
    metric = shapely.coverage_clean(gdf.to_crs(METRIC_CRS).geometry.values, gap_width=gap_width_m)
    simple = shapely.coverage_simplify(metric, tolerance_m)
    back = gpd.GeoSeries(simple, crs=METRIC_CRS).to_crs(SOURCE_CRS).values
    rounded = shapely.transform(back, lambda xy: np.round(xy, WEB_DECIMALS))
    return gdf.set_geometry(gpd.GeoSeries(rounded, crs=SOURCE_CRS, index=gdf.index))


def with_label_points(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``gdf`` with the point each area's label is written at: inside the area, found in metres."""
    lon, lat = label_points(gdf.geometry)
    return gdf.assign(label_lon=lon, label_lat=lat)


def geojson_bytes(gdf: gpd.GeoDataFrame) -> int:
    return len(gdf.to_json(drop_id=True).encode())


def vertex_count(gdf: gpd.GeoDataFrame) -> int:
    return int(shapely.get_num_coordinates(gdf.geometry.values).sum())


def area_comparison(bezirke: gpd.GeoDataFrame, stadtteile: gpd.GeoDataFrame) -> list[str]:
    """Note how far the Stadtteile, dissolved by Bezirk, differ from the Bezirk file (known defect)."""
    dissolved = stadtteile.to_crs(METRIC_CRS).dissolve("bezirk_id").area
    own = bezirke.to_crs(METRIC_CRS).set_index("bezirk_id").area
    diff = ((dissolved - own).abs() / own * 100).reindex(list(BEZIRK_IDS))
    worst = diff.idxmax()
    return [f"Stadtteile je Bezirk zusammengefasst weichen von der Bezirksdatei um höchstens "
            f"{diff.max():.2f} % der Fläche ab (Bezirk {worst}); verschiedene Auszüge der Stadt"]


def preparation_settings() -> dict:
    """Return everything besides the files and the register that the prepared geometry depends on."""
    return {"version": PREPARATION_VERSION, "source_crs": SOURCE_CRS, "metric_crs": METRIC_CRS,
            "gap_width_m": GAP_WIDTH_M, "simplify_tolerance_m": SIMPLIFY_TOLERANCE_M,
            "web_decimals": WEB_DECIMALS, "shapely": shapely.__version__, "geos": shapely.geos_version_string,
            "pyproj": pyproj.__version__, "proj": pyproj.proj_version_str}


def raw_checksums(folder: Path) -> dict[str, dict]:
    """Return sha256 and size of each raw file in ``folder``."""
    out = {}
    for name in FILES.values():
        data = (folder / name).read_bytes()
        out[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return out


def source_key(folder: Path, register: pd.DataFrame) -> str:
    """Return a hash of everything the prepared geometry depends on."""
    h = hashlib.sha256(json.dumps([raw_checksums(folder), preparation_settings()], sort_keys=True).encode())
    h.update(register.to_csv(index=False).encode())
    return h.hexdigest()[:16]


def prepare(folder: Path, register: pd.DataFrame) -> Boundaries:
    """Read, repair, join and simplify both levels of the raw files in ``folder`` (no cache)."""
    reports = []
    levels = {}
    for level, loader in (("bezirke", _prepare_bezirke), ("stadtteile", _prepare_stadtteile)):
        notes: list[str] = []
        joined = loader(folder / FILES[level], register, notes)
        web = to_web(joined, SIMPLIFY_TOLERANCE_M, GAP_WIDTH_M)
        reports.append(LevelReport(level, len(web), vertex_count(joined), vertex_count(web),
                                   (folder / FILES[level]).stat().st_size, geojson_bytes(web), notes))
        levels[level] = (joined, with_label_points(web))
    reports[1].notes.extend(area_comparison(levels["bezirke"][0], levels["stadtteile"][0]))
    return Boundaries(folder, {level: pd.DataFrame(web) for level, (_, web) in levels.items()}, tuple(reports))


def _prepare_bezirke(path: Path, register: pd.DataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    raw = read_repaired(path, "STADTBEZR", notes)
    _require_columns(raw, ("STADTBEZR", "STADTBEZ"), path)
    return join_bezirke(raw, f"Stadtbezirke ({path.name})")


def _prepare_stadtteile(path: Path, register: pd.DataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    raw = read_repaired(path, "Stadtteiln", notes)
    _require_columns(raw, ("Stadtteiln", "StadtBez", "spatialUnitId"), path)
    return join_stadtteile(raw, register, notes, f"Stadtteile ({path.name})")


# --- prepared files: write ---------------------------------------------------------------

def feature_collection_text(units: pd.DataFrame, columns: dict[str, type]) -> str:
    """Return a level's areas as RFC 7946 GeoJSON text, one feature per line (small, stable diffs)."""
    lines = []
    for values, geom in zip(units[list(columns)].itertuples(index=False), units["geometry"]):
        props = {c: kind(v) for (c, kind), v in zip(columns.items(), values)}
        feature = {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


def report_dict(b: Boundaries, raw_dir: Path) -> dict:
    """Return what ``report.json`` holds: the rebuild command, settings, raw checksums, level reports."""
    return {"command": BUILD_COMMAND, "licence": LICENCE, "preparation": preparation_settings(),
            "sources": raw_checksums(raw_dir), "levels": [asdict(r) for r in b.reports]}


def write_prepared(b: Boundaries, raw_dir: Path, folder: Path, readme: bool = True) -> None:
    """Write both levels, the report and (optionally) the README into the existing ``folder``."""
    report = report_dict(b, raw_dir)
    for level, name in PREPARED_FILES.items():
        text = feature_collection_text(b.units[level], PREPARED_COLUMNS[level])
        (folder / name).write_text(text, encoding="utf-8", newline="\n")
    (folder / REPORT_FILE).write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8",
                                      newline="\n")
    if readme:
        sizes = {name: (folder / name).stat().st_size for name in PREPARED_FILES.values()}
        (folder / README_FILE).write_text(readme_text(report, sizes), encoding="utf-8", newline="\n")


def readme_text(report: dict, sizes: dict[str, int]) -> str:
    """Return the prepared folder's README: provenance, licence, checksums, settings, rebuild command."""
    prep = report["preparation"]
    levels = {r["level"]: r for r in report["levels"]}
    what = {"bezirke": ("the 9 Stadtbezirke", "`bezirk_id` (\"I\"–\"IX\"), `bezirk_nr` (1–9), `label_lon`, "
                                              "`label_lat`"),
            "stadtteile": ("the 50 Stadtteile", "`stadtteil_nr` (official register number), `stadtteil_name`, "
                                                "`bezirk_id`, `label_lon`, `label_lat`")}
    rows = [f"| `{name}` | {what[level][0]} | {levels[level]['features']} | {what[level][1]} | "
            f"{levels[level]['vertices_after']:,} | {sizes[name]:,} |"
            for level, name in PREPARED_FILES.items()]
    raw_rows = [f"| `{name}` | {RAW_PROVENANCE.get(name, 'unknown')} | {src['bytes']:,} | `{src['sha256']}` |"
                for name, src in report["sources"].items()]
    notes = [f"- {n}" for r in report["levels"] for n in r["notes"]]
    return "\n".join([
        "# Prepared boundaries of Essen's Stadtbezirke and Stadtteile",
        "",
        "Generated by `essen_dash.geo.boundaries.build_prepared`; do not edit by hand. Rebuild from the raw files",
        "(the first folder of `--geo-dir` / `$ESSEN_DASH_GEO_DIR`, else `../shared/geo/`, that holds them) with",
        "",
        "```sh",
        report["command"],
        "```",
        "",
        "| file | what | features | properties | vertices | bytes |",
        "|---|---|---|---|---|---|",
        *rows,
        f"| `{REPORT_FILE}` | preparation settings, the raw files' sha256, what was repaired | | | | |",
        "",
        "GeoJSON (RFC 7946): longitude/latitude in EPSG:4326, no `crs` member.",
        "",
        "## Licence",
        "",
        f"{report['licence']} ({LICENCE_URL}).",
        "Attribute \"Stadt Essen\" wherever a map made from these files is shown or exported.",
        "",
        "## Provenance",
        "",
        "Publisher of both raw files: Stadt Essen (Amt für Geoinformation, Vermessung und Kataster / Amt für",
        "Statistik). The official boundaries can be downloaded again from the City of Essen's open data portal",
        "(Stadtbezirke, Stadtteile). The raw files are not part of this repository.",
        "",
        "| raw file | what, where from | bytes | sha256 |",
        "|---|---|---|---|",
        *raw_rows,
        "",
        "## Preparation",
        "",
        f"1. No CRS declared: {prep['source_crs']} (longitude/latitude) set; Z and M values dropped.",
        "2. Invalid (self-intersecting) rings repaired with `shapely.make_valid` (method \"structure\").",
        "3. Stadtbezirke keyed by their id; Stadtteile joined to the official register "
        "(`data/stadtteile_register.csv`) by name and Bezirk, not by the file's own number.",
        f"4. In {prep['metric_crs']}: `shapely.coverage_clean` with gap width {prep['gap_width_m']:g} m, then "
        f"`shapely.coverage_simplify` with tolerance {prep['simplify_tolerance_m']:g} m (neighbours keep one "
        "shared border, no gaps or overlaps).",
        f"5. Back to {prep['source_crs']}, coordinates rounded to {prep['web_decimals']} decimals (about 1 m).",
        f"6. Where a map writes each area's name (`label_lon`, `label_lat`): a point inside it "
        f"(`representative_point` in {prep['metric_crs']}), rounded alike.",
        "",
        f"Preparation version {prep['version']}; shapely {prep['shapely']}, GEOS {prep['geos']}, "
        f"pyproj {prep['pyproj']}, PROJ {prep['proj']}.",
        "",
        "What the preparation found and did:",
        "",
        *notes,
        "",
    ])


def build_prepared(raw_dir: Path, out_dir: Path, register: pd.DataFrame) -> Boundaries:
    """Prepare the raw files in ``raw_dir`` and write the result, report and README into ``out_dir``.

    ``out_dir`` is replaced as a whole (written beside it, then renamed into place), so a reader
    never sees half a folder. A folder holding anything but prepared files is refused, never replaced:
    it may be a folder of raw files.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    if not holds_raw(raw_dir):
        raise GeometryNotFound([raw_dir])
    if out_dir.exists():
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in {*prepared_set(), README_FILE})
        if foreign or out_dir.resolve() == raw_dir.resolve():
            raise FileExistsError(f"Zielordner {out_dir} enthält andere Dateien "
                                  f"({', '.join(foreign) or 'Rohdateien'}); nicht ersetzt")
    boundaries = prepare(raw_dir, register)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the folder is read by others and installed
        write_prepared(boundaries, raw_dir, tmp)
        _swap_in(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return boundaries


def _swap_in(new: Path, target: Path) -> None:
    """Put folder ``new`` in place of ``target``; the old folder is removed only once the new one is in."""
    if not target.exists():
        os.replace(new, target)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    os.replace(target, old)  # replaces the empty placeholder
    try:
        os.replace(new, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)

def write_cache(b: Boundaries, target: Path) -> None:
    """Keep a raw-file preparation in the cache folder ``target`` (written whole, or not at all)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        write_prepared(b, b.source_dir, tmp, readme=False)
        try:
            os.replace(tmp, target)  # atomic: concurrent workers never see half a cache
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another process won the race
    except OSError as exc:
        log.warning("Geometrie-Cache nicht schreibbar (%s); Geometrie wird bei jedem Start vorbereitet", exc)



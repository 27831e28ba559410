"""Read the Essen boundaries: prepared files as they are, raw files repaired, joined and simplified.

Flow: raw boundary files → repaired polygons (CRS set, Z/M dropped, invalid
rings made valid) → joined to the Bezirk ids and the official Stadtteil
register → coverage-cleaned and coverage-simplified in metres (neighbours keep
one shared border, no gaps or overlaps) → small GeoJSON for the web.

:func:`build_prepared` writes that result, with its report and provenance, to
the project's committed ``geo/`` folder (``essen-dash geometry --build``);
:func:`load_boundaries` reads such a folder directly and prepares raw files
(cached by content hash) only where no prepared folder comes first.
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
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
import shapely.geometry

from essen_dash import paths
from essen_dash.tables.schema import BEZIRK_IDS

log = logging.getLogger(__name__)

#: The raw files as Stadt Essen publishes them (never copied into the repository).
FILES = {"bezirke": "essen_stadtbezirke.geojson", "stadtteile": "essen_stadtteile.geojson"}
#: The prepared files :func:`build_prepared` writes (named apart from the raw ones).
PREPARED_FILES = {"bezirke": "stadtbezirke.prepared.geojson", "stadtteile": "stadtteile.prepared.geojson"}
REPORT_FILE = "report.json"
README_FILE = "README.md"
#: Properties of each prepared level, in file order, with their JSON type.
PREPARED_COLUMNS: dict[str, dict[str, type]] = {
    "bezirke": {"bezirk_id": str, "bezirk_nr": int},
    "stadtteile": {"stadtteil_nr": int, "stadtteil_name": str, "bezirk_id": str},
}
BUILD_COMMAND = "essen-dash geometry --build"

SOURCE_CRS = "EPSG:4326"  # the files declare none; their coordinates are longitude/latitude
METRIC_CRS = "EPSG:25832"  # ETRS89 / UTM 32N, the official metric CRS of NRW
#: Slivers narrower than this (metres) between Stadtteile are closed by coverage cleaning;
#: the Stadtteil file is rounded to 4 decimals (about 7–11 m).
GAP_WIDTH_M = 15.0
#: About one screen pixel of a full-width city map: visually lossless, a fifth of the vertices.
SIMPLIFY_TOLERANCE_M = 25.0
WEB_DECIMALS = 5  # about 1 m; identical vertices round identically, so shared borders stay shared
#: Bump when the preparation or the prepared files' layout changes, so old caches are not reused.
PREPARATION_VERSION = 2
OFFICIAL_SOURCE = (
    "Die amtlichen Grenzen der Stadtbezirke und Stadtteile veröffentlicht die Stadt Essen "
    "(Amt für Geoinformation, Vermessung und Kataster) im Open-Data-Portal der Stadt Essen "
    "unter der Datenlizenz Deutschland – Namensnennung 2.0."
)
ATTRIBUTION = "Geometrie: Stadt Essen, dl-de/by-2-0"
LICENCE = "Datenlizenz Deutschland – Namensnennung 2.0 (dl-de/by-2-0), Namensnennung: Stadt Essen"
LICENCE_URL = "https://www.govdata.de/dl-de/by-2-0"
LEVEL_KEYS = {"bezirk": "bezirk_id", "stadtteil": "stadtteil_nr"}
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


class GeometryNotFound(FileNotFoundError):
    """No searched folder holds the prepared or the raw boundary files."""

    def __init__(self, searched: list[Path]):
        self.searched = searched
        where = "; ".join(str(p) for p in searched) or "–"
        super().__init__(
            f"Keine Grenzdateien gefunden. Gesucht in: {where}. Erwartet werden die vorbereiteten Dateien "
            f"({', '.join(prepared_set())}; erzeugt mit „{BUILD_COMMAND}“) oder die Rohdateien der Stadt Essen "
            f"({', '.join(FILES.values())}). Ordner mit {paths.GEO_DIR_ENV} oder --geo-dir angeben. "
            f"{OFFICIAL_SOURCE}"
        )


class GeometryJoinError(ValueError):
    """Boundary features and the register do not match one to one."""


class GeometryFileError(GeometryJoinError):
    """A boundary file is unreadable, truncated or lacks what it must hold; the message names the file.

    A subclass of :class:`GeometryJoinError`: either way the boundaries cannot be used, and every
    caller that handles one handles the other.
    """


@dataclass
class LevelReport:
    """What preparing one level did, with sizes before and after simplification."""

    level: str
    features: int
    vertices_before: int
    vertices_after: int
    bytes_before: int
    bytes_after: int
    notes: list[str] = field(default_factory=list)


# --- where the files are -------------------------------------------------------------------

def prepared_set() -> list[str]:
    """Return the names of the files that make a prepared boundary folder."""
    return [*PREPARED_FILES.values(), REPORT_FILE]


def holds_prepared(folder: Path) -> bool:
    """Return whether ``folder`` holds the prepared files (both levels and the report)."""
    return all((folder / name).is_file() for name in prepared_set())


def holds_raw(folder: Path) -> bool:
    """Return whether ``folder`` holds both raw files."""
    return all((folder / name).is_file() for name in FILES.values())


def find_geo_dir(settings: paths.Settings) -> Path:
    """Return the first of ``settings.geo_dirs()`` holding the prepared or the raw boundary files."""
    searched = settings.geo_dirs()
    for folder in searched:
        if holds_prepared(folder) or holds_raw(folder):
            return folder
    raise GeometryNotFound(searched)


def find_raw_dir(settings: paths.Settings) -> Path:
    """Return the first of ``settings.geo_dirs()`` holding the raw files (what ``--build`` reads)."""
    searched = settings.geo_dirs()
    for folder in searched:
        if holds_raw(folder):
            return folder
    raise GeometryNotFound(searched)


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


def check_bezirk_ids(ids: pd.Series, numbers: pd.Series, label: str) -> None:
    """Fail naming every missing, unknown or doubled Bezirk and every number that contradicts its id."""
    missing = [b for b in BEZIRK_IDS if b not in set(ids)]
    extra = sorted(set(ids) - set(BEZIRK_IDS))
    dupes = sorted(set(ids[ids.duplicated()]))
    if missing or extra or dupes:
        raise GeometryJoinError(
            f"{label}: {len(BEZIRK_IDS) - len(missing)} von {len(BEZIRK_IDS)} zugeordnet; "
            f"fehlend: {', '.join(missing) or '–'}; unbekannt: {', '.join(extra) or '–'}; "
            f"doppelt: {', '.join(dupes) or '–'}")
    wrong = [f"{b} (Nummer {n})" for b, n in zip(ids, numbers) if BEZIRK_IDS.index(b) + 1 != n]
    if wrong:
        raise GeometryJoinError(f"{label}: Nummer passt nicht zur Bezeichnung: {', '.join(wrong)}")


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


# --- the prepared result ------------------------------------------------------------------

@dataclass(frozen=True)
class Boundaries:
    """Web-ready boundaries of both levels with the report of their preparation."""

    source_dir: Path
    bezirke: gpd.GeoDataFrame
    stadtteile: gpd.GeoDataFrame
    reports: tuple[LevelReport, ...]

    def level(self, name: str) -> gpd.GeoDataFrame:
        return {"bezirk": self.bezirke, "stadtteil": self.stadtteile}[name]

    @cached_property
    def notes(self) -> list[str]:
        return [n for r in self.reports for n in r.notes]

    @cached_property
    def web_json(self) -> dict[str, bytes]:
        """Return each level as compact GeoJSON bytes, feature ``id`` = Bezirk id / Stadtteil number."""
        return {level: json.dumps(self.geojson(level), separators=(",", ":")).encode() for level in LEVEL_KEYS}

    @cached_property
    def label_points(self) -> dict[str, pd.DataFrame]:
        """Return a point inside each unit (key, lon, lat) for map labels."""
        out = {}
        for level, column in LEVEL_KEYS.items():
            gdf = self.level(level)
            points = gdf.to_crs(METRIC_CRS).representative_point().to_crs(SOURCE_CRS)
            out[level] = pd.DataFrame({"key": gdf[column].astype(str).to_numpy(), "lon": points.x.to_numpy(),
                                       "lat": points.y.to_numpy()})
        return out

    def geojson(self, level: str) -> SharedGeoJSON:
        """Return a level as GeoJSON, feature ``id`` = Bezirk id / Stadtteil number (shared: never change it)."""
        return self._geojson[level]

    @cached_property
    def _geojson(self) -> dict[str, SharedGeoJSON]:
        out = {}
        for level, column in LEVEL_KEYS.items():
            gdf = self.level(level)
            out[level] = SharedGeoJSON(gdf[["geometry"]].set_axis(gdf[column].astype(str).to_numpy())
                                       .to_geo_dict(drop_id=False))
        return out


class SharedGeoJSON(dict):
    """GeoJSON that every figure drawing a level shares, read-only: plotly copies a figure's data whenever it is
    built or changed, and copying thousands of coordinates took most of an exported map page's time."""

    def __deepcopy__(self, memo) -> SharedGeoJSON:
        return self


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
        levels[level] = (joined, web)
    reports[1].notes.extend(area_comparison(levels["bezirke"][0], levels["stadtteile"][0]))
    return Boundaries(folder, levels["bezirke"][1], levels["stadtteile"][1], tuple(reports))


def _prepare_bezirke(path: Path, register: pd.DataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    raw = read_repaired(path, "STADTBEZR", notes)
    _require_columns(raw, ("STADTBEZR", "STADTBEZ"), path)
    return join_bezirke(raw, f"Stadtbezirke ({path.name})")


def _prepare_stadtteile(path: Path, register: pd.DataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    raw = read_repaired(path, "Stadtteiln", notes)
    _require_columns(raw, ("Stadtteiln", "StadtBez", "spatialUnitId"), path)
    return join_stadtteile(raw, register, notes, f"Stadtteile ({path.name})")


# --- prepared files: write and read ---------------------------------------------------------

def feature_collection_text(gdf: gpd.GeoDataFrame, columns: dict[str, type]) -> str:
    """Return ``gdf`` as RFC 7946 GeoJSON text, one feature per line (small, stable diffs)."""
    lines = []
    for values, geom in zip(gdf[list(columns)].itertuples(index=False), gdf.geometry.values):
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
        text = feature_collection_text(getattr(b, level), PREPARED_COLUMNS[level])
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
    what = {"bezirke": ("the 9 Stadtbezirke", "`bezirk_id` (\"I\"–\"IX\"), `bezirk_nr` (1–9)"),
            "stadtteile": ("the 50 Stadtteile", "`stadtteil_nr` (official register number), `stadtteil_name`, "
                                                "`bezirk_id`")}
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


def read_prepared(folder: Path, register: pd.DataFrame, source_dir: Path | None = None) -> Boundaries:
    """Read a prepared folder and check it against the register: all 9 Bezirke, every register Stadtteil."""
    bezirke = read_prepared_level(folder / PREPARED_FILES["bezirke"], PREPARED_COLUMNS["bezirke"])
    stadtteile = read_prepared_level(folder / PREPARED_FILES["stadtteile"], PREPARED_COLUMNS["stadtteile"])
    label = f"Stadtbezirke ({folder / PREPARED_FILES['bezirke']})"
    check_bezirk_ids(bezirke["bezirk_id"], bezirke["bezirk_nr"], label)
    bezirke = bezirke.set_index(pd.Index(bezirke["bezirk_id"], name=None)).loc[list(BEZIRK_IDS)]
    stadtteile = match_register(stadtteile, register, f"Stadtteile ({folder / PREPARED_FILES['stadtteile']})")
    reports = read_report(folder / REPORT_FILE)
    return Boundaries(source_dir or folder, bezirke.reset_index(drop=True), stadtteile, reports)


def read_prepared_level(path: Path, columns: dict[str, type]) -> gpd.GeoDataFrame:
    """Read one prepared GeoJSON file; fail naming the file and feature if anything is off."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise GeometryFileError(f"Grenzdatei {path} nicht lesbar: {exc}") from exc
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list) or not features:
        raise GeometryFileError(f"Grenzdatei {path}: keine FeatureCollection mit Flächen")
    rows, geoms = [], []
    for i, feature in enumerate(features, 1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        wrong = [f"{c} ({kind.__name__} erwartet)" for c, kind in columns.items()
                 if not isinstance(props, dict) or type(props.get(c)) is not kind]  # bool is no int here
        if wrong:
            raise GeometryFileError(f"Grenzdatei {path}, Fläche {i}: Eigenschaft fehlt oder hat falschen Typ: "
                                    f"{', '.join(wrong)}")
        try:
            geom = shapely.geometry.shape(feature["geometry"])
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise GeometryFileError(f"Grenzdatei {path}, Fläche {i}: Geometrie nicht lesbar ({exc})") from exc
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty or not geom.is_valid:
            raise GeometryFileError(f"Grenzdatei {path}, Fläche {i}: keine gültige Fläche ({geom.geom_type})")
        rows.append([props[c] for c in columns])
        geoms.append(geom)
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(columns)), geometry=geoms, crs=SOURCE_CRS)


def match_register(stadtteile: gpd.GeoDataFrame, register: pd.DataFrame, label: str) -> gpd.GeoDataFrame:
    """Return the prepared Stadtteile in register order; fail naming any register Stadtteil without geometry."""
    keys = ["stadtteil_nr", "stadtteil_name", "bezirk_id"]
    feats = pd.DataFrame(stadtteile[keys]).assign(row=range(len(stadtteile)))
    merged = register[keys].merge(feats, on=keys, how="outer", indicator=True)
    missing = [f"{r.stadtteil_name} ({r.stadtteil_nr})" for r in merged[merged["_merge"] == "left_only"].itertuples()]
    unknown = [f"{r.stadtteil_name} ({r.stadtteil_nr}, {r.bezirk_id})"
               for r in merged[merged["_merge"] == "right_only"].itertuples()]
    dupes = [str(n) for n in feats[feats["stadtteil_nr"].duplicated()]["stadtteil_nr"]]
    if missing or unknown or dupes:
        raise GeometryJoinError(
            f"{label}: {len(register) - len(missing)} von {len(register)} zugeordnet; "
            f"ohne Geometrie: {', '.join(missing) or '–'}; nicht im Verzeichnis: {', '.join(unknown) or '–'}; "
            f"doppelt: {', '.join(dupes) or '–'}")
    rows = merged.sort_values("stadtteil_nr")["row"].astype(int).to_numpy()
    return stadtteile.iloc[rows].reset_index(drop=True)


def read_report(path: Path) -> tuple[LevelReport, ...]:
    """Return the level reports of a prepared folder's ``report.json``."""
    try:
        return tuple(LevelReport(**r) for r in json.loads(path.read_bytes())["levels"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GeometryFileError(f"Bericht {path} nicht lesbar: {exc!r}") from exc


# --- loading: prepared folder, or raw files with a cache ---------------------------------------

def load_boundaries(register: pd.DataFrame, settings: paths.Settings, use_cache: bool = True) -> Boundaries:
    """Return the boundaries of the first folder of ``settings.geo_dirs()`` holding prepared or raw files.

    Prepared files are read as they are (checked against the register). Raw files are prepared, and
    the result is kept in ``settings.cache_dir`` keyed by a hash of the files, the register and the
    preparation settings; ``use_cache`` False prepares afresh and writes no cache.
    """
    folder = find_geo_dir(settings)
    if holds_prepared(folder):
        return read_prepared(folder, register)
    key = source_key(folder, register)
    cached = Path(settings.cache_dir) / f"geometry-{key}"
    if use_cache and holds_prepared(cached):
        try:
            return read_prepared(cached, register, source_dir=folder)
        except GeometryJoinError as exc:  # a damaged cache is rebuilt, never fatal
            log.warning("Geometrie-Cache %s unbrauchbar (%s), wird neu erstellt", cached, exc)
            shutil.rmtree(cached, ignore_errors=True)
    boundaries = prepare(folder, register)
    if use_cache:
        _write_cache(boundaries, cached)
    return boundaries


def _write_cache(b: Boundaries, target: Path) -> None:
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


# --- JobCenter areas --------------------------------------------------------------------

def jobcenter_areas(stadtteile: gpd.GeoDataFrame, crosswalk: pd.DataFrame) -> gpd.GeoDataFrame:
    """Dissolve each published JobCenter list into one area, keeping which members are partial or shared.

    Areas the source lists together (e.g. "Süd 1 & Süd 2") stay one shape: the source does not say how
    its Stadtteile split between them. ``core_geometry`` holds only the members that belong to this area
    alone and fully; a Stadtteil listed as partial, or listed by two areas, is ``shared``.
    """
    geo = stadtteile.set_index("stadtteil_nr").geometry
    lists_per_stadtteil = crosswalk.groupby("stadtteil_nr")["published_as"].nunique()
    rows = []
    for published_as, members in crosswalk.groupby("published_as", sort=False):
        areas = list(dict.fromkeys(members["jc_area"]))
        members = members.drop_duplicates("stadtteil_nr")
        shared = members["is_partial"] | (members["stadtteil_nr"].map(lists_per_stadtteil) > 1)
        core = members[~shared]
        rows.append({
            "published_as": published_as,
            "jc_areas": areas,
            "members": members["stadtteil_name"].tolist(),
            "partial_members": members[members["is_partial"]]["stadtteil_name"].tolist(),
            "shared_members": members[shared]["stadtteil_name"].tolist(),
            "is_list_incomplete": bool(members["is_list_incomplete"].any()),
            "geometry": shapely.union_all(geo.loc[members["stadtteil_nr"]].values),
            "core_geometry": shapely.union_all(geo.loc[core["stadtteil_nr"]].values) if len(core) else None,
        })
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=stadtteile.crs)


def hatch_lines(geometries, spacing_m: float = 220.0) -> tuple[list, list]:
    """Return lon/lat lists (None-separated) of diagonal hatching clipped to ``geometries``."""
    metric = gpd.GeoSeries(list(geometries), crs=SOURCE_CRS).to_crs(METRIC_CRS)
    if metric.empty:
        return [], []
    minx, miny, maxx, maxy = metric.total_bounds
    span = (maxx - minx) + (maxy - miny)
    offsets = np.arange(-span, span, spacing_m)
    lines = shapely.linestrings([[[minx + o, miny], [minx + o + span, miny + span]] for o in offsets])
    clipped = shapely.intersection(shapely.union_all(lines), shapely.union_all(metric.values))
    parts = [g for g in shapely.get_parts(clipped) if g.geom_type == "LineString" and not g.is_empty]
    back = gpd.GeoSeries(parts, crs=METRIC_CRS).to_crs(SOURCE_CRS)
    lon: list = []
    lat: list = []
    for line in back:
        xs, ys = line.xy
        lon += [round(x, 5) for x in xs] + [None]
        lat += [round(y, 5) for y in ys] + [None]
    return lon, lat

"""Read the real Essen boundaries, repair their known defects, join and simplify them.

Flow: boundary files → repaired polygons (CRS set, Z/M dropped, invalid rings
made valid) → joined to the Bezirk ids and the official Stadtteil register →
coverage-cleaned and coverage-simplified in metres (neighbours keep one shared
border, no gaps or overlaps) → cached as small GeoJSON for the web.
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
import shapely

from essen_dash import paths
from essen_dash.tables.schema import BEZIRK_IDS

log = logging.getLogger(__name__)

FILES = {"bezirke": "essen_stadtbezirke.geojson", "stadtteile": "essen_stadtteile.geojson"}
SOURCE_CRS = "EPSG:4326"  # the files declare none; their coordinates are longitude/latitude
METRIC_CRS = "EPSG:25832"  # ETRS89 / UTM 32N, the official metric CRS of NRW
#: Slivers narrower than this (metres) between Stadtteile are closed by coverage cleaning;
#: the Stadtteil file is rounded to 4 decimals (about 7–11 m).
GAP_WIDTH_M = 15.0
#: About one screen pixel of a full-width city map: visually lossless, a fifth of the vertices.
SIMPLIFY_TOLERANCE_M = 25.0
WEB_DECIMALS = 5  # about 1 m; identical vertices round identically, so shared borders stay shared
#: Bump when the preparation changes, so old caches are not reused.
PREPARATION_VERSION = 1
OFFICIAL_SOURCE = (
    "Die amtlichen Grenzen der Stadtbezirke und Stadtteile veröffentlicht die Stadt Essen "
    "(Amt für Geoinformation, Vermessung und Kataster) im Open-Data-Portal der Stadt Essen "
    "unter der Datenlizenz Deutschland – Namensnennung 2.0."
)
ATTRIBUTION = "Geometrie: Stadt Essen, dl-de/by-2-0"
LEVEL_KEYS = {"bezirk": "bezirk_id", "stadtteil": "stadtteil_nr"}


class GeometryNotFound(FileNotFoundError):
    """No folder holds both boundary files."""

    def __init__(self, searched: list[Path]):
        self.searched = searched
        where = "; ".join(str(p) for p in searched)
        super().__init__(
            f"Keine Grenzdateien gefunden ({', '.join(FILES.values())}). Gesucht in: {where}. "
            f"Ordner mit {paths.GEO_DIR_ENV} oder --geo-dir angeben. {OFFICIAL_SOURCE}"
        )


class GeometryJoinError(ValueError):
    """Boundary features and the register do not match one to one."""


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


# --- reading and repair -------------------------------------------------------------

def find_geo_dir() -> Path:
    """Return the first configured folder holding both boundary files."""
    searched = paths.geo_dirs()
    for folder in searched:
        if all((folder / name).is_file() for name in FILES.values()):
            return folder
    raise GeometryNotFound(searched)


def read_repaired(path: Path, label_column: str, notes: list[str]) -> gpd.GeoDataFrame:
    """Read a boundary file and fix CRS, Z/M values and invalid rings, noting each fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*too many members in array.*")  # Z/M: handled below
        gdf = gpd.read_file(path, engine="pyogrio")
    declared_crs, dims = _declared_crs_and_dims(path)
    if not declared_crs:
        # GDAL assumes WGS84 for GeoJSON without saying so; state it and set it explicitly.
        notes.append(f"{path.name}: kein Koordinatensystem angegeben, {SOURCE_CRS} (Länge/Breite) angenommen")
    gdf = gdf.set_crs(SOURCE_CRS, allow_override=True) if not declared_crs else gdf.to_crs(SOURCE_CRS)
    if dims > 2:
        notes.append(f"{path.name}: {dims} Werte je Punkt (X, Y, Z, M), Z und M entfernt")
    geoms = shapely.force_2d(gdf.geometry.values)
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


def join_bezirke(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the nine Bezirke keyed by ``bezirk_id``; fail naming any missing or extra."""
    ids = raw["STADTBEZR"].astype(str).str.strip()
    missing = [b for b in BEZIRK_IDS if b not in set(ids)]
    extra = sorted(set(ids) - set(BEZIRK_IDS))
    dupes = sorted(set(ids[ids.duplicated()]))
    if missing or extra or dupes:
        raise GeometryJoinError(
            f"Stadtbezirke: {9 - len(missing)} von 9 zugeordnet; fehlend: {', '.join(missing) or '–'}; "
            f"unbekannt: {', '.join(extra) or '–'}; doppelt: {', '.join(dupes) or '–'}")
    nr = raw["STADTBEZ"].astype(int)
    wrong = [f"{b} (Nummer {n})" for b, n in zip(ids, nr) if BEZIRK_IDS.index(b) + 1 != n]
    if wrong:
        raise GeometryJoinError(f"Stadtbezirke: Nummer passt nicht zur Bezeichnung: {', '.join(wrong)}")
    out = gpd.GeoDataFrame({"bezirk_id": ids, "bezirk_nr": nr}, geometry=raw.geometry.values, crs=raw.crs)
    return out.set_index(pd.Index(ids, name=None)).loc[list(BEZIRK_IDS)].reset_index(drop=True)


def join_stadtteile(raw: gpd.GeoDataFrame, register: pd.DataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    """Join Stadtteile to the official register by name and Bezirk; report number mismatches.

    The file's own number is not trusted alone (it numbers Bergerhausen 12, the
    register 13): a feature matches the register row with its name and Bezirk.
    """
    feats = pd.DataFrame({"name": raw["Stadtteiln"].astype(str).str.strip(),
                          "bezirk_id": raw["StadtBez"].astype(str).str.strip(),
                          "file_nr": raw["spatialUnitId"].astype(int), "row": range(len(raw))})
    merged = register.merge(feats, left_on=["stadtteil_name", "bezirk_id"], right_on=["name", "bezirk_id"],
                            how="outer", indicator=True)
    missing = merged[merged["_merge"] == "left_only"]["stadtteil_name"].tolist()
    unknown = merged[merged["_merge"] == "right_only"].apply(lambda r: f"{r['name']} ({r['bezirk_id']})", axis=1).tolist()
    dupes = feats[feats.duplicated(["name", "bezirk_id"])]["name"].tolist()
    if missing or unknown or dupes:
        raise GeometryJoinError(
            f"Stadtteile: {len(register) - len(missing)} von {len(register)} zugeordnet; "
            f"ohne Geometrie: {', '.join(missing) or '–'}; nicht im Verzeichnis: {', '.join(unknown) or '–'}; "
            f"doppelt: {', '.join(dupes) or '–'}")
    both = merged[merged["_merge"] == "both"].sort_values("stadtteil_nr")
    for r in both[both["file_nr"] != both["stadtteil_nr"]].itertuples():
        notes.append(f"Stadtteildatei: {r.stadtteil_name} trägt Nummer {r.file_nr}, amtlich {r.stadtteil_nr}; "
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


# --- the prepared result, cached ----------------------------------------------------------

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

    def geojson(self, level: str) -> dict:
        gdf = self.level(level)
        keyed = gdf[["geometry"]].set_axis(gdf[LEVEL_KEYS[level]].astype(str).to_numpy())
        return keyed.to_geo_dict(drop_id=False)


def source_key(folder: Path, register: pd.DataFrame) -> str:
    """Return a hash of everything the prepared geometry depends on."""
    h = hashlib.sha256()
    for name in FILES.values():
        h.update((folder / name).read_bytes())
    h.update(register.to_csv(index=False).encode())
    h.update(f"{PREPARATION_VERSION}|{SIMPLIFY_TOLERANCE_M}|{GAP_WIDTH_M}|{WEB_DECIMALS}|"
             f"{shapely.__version__}|{shapely.geos_version_string}".encode())
    return h.hexdigest()[:16]


def prepare(folder: Path, register: pd.DataFrame) -> Boundaries:
    """Read, repair, join and simplify both levels (no cache)."""
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
    return join_bezirke(read_repaired(path, "STADTBEZR", notes))


def _prepare_stadtteile(path: Path, register: pd.DataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    return join_stadtteile(read_repaired(path, "Stadtteiln", notes), register, notes)


def load_boundaries(register: pd.DataFrame, folder: Path | None = None, use_cache: bool = True) -> Boundaries:
    """Return prepared boundaries, from the cache when the sources have not changed."""
    folder = folder or find_geo_dir()
    key = source_key(folder, register)
    cached = paths.cache_dir() / f"geometry-{key}"
    if use_cache and (cached / "report.json").is_file():
        try:
            return _read_cache(folder, cached)
        except Exception as exc:  # a damaged cache is rebuilt, never fatal
            log.warning("Geometrie-Cache %s unbrauchbar (%s), wird neu erstellt", cached, exc)
    boundaries = prepare(folder, register)
    if use_cache:
        _write_cache(boundaries, cached)
    return boundaries


def _read_cache(folder: Path, cached: Path) -> Boundaries:
    reports = tuple(LevelReport(**r) for r in json.loads((cached / "report.json").read_text("utf-8")))
    bezirke = gpd.read_file(cached / "bezirke.geojson", engine="pyogrio")
    stadtteile = gpd.read_file(cached / "stadtteile.geojson", engine="pyogrio")
    return Boundaries(folder, bezirke, stadtteile, reports)


def _write_cache(b: Boundaries, target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        b.bezirke.to_file(tmp / "bezirke.geojson", driver="GeoJSON", engine="pyogrio")
        b.stadtteile.to_file(tmp / "stadtteile.geojson", driver="GeoJSON", engine="pyogrio")
        (tmp / "report.json").write_text(json.dumps([asdict(r) for r in b.reports], ensure_ascii=False), "utf-8")
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
        partial = members[members["is_partial"]]
        core = members[~shared]
        rows.append({
            "published_as": published_as,
            "jc_areas": areas,
            "members": members["stadtteil_name"].tolist(),
            "partial_members": partial["stadtteil_name"].tolist(),
            "shared_members": members[shared]["stadtteil_name"].tolist(),
            "is_list_incomplete": bool(members["is_list_incomplete"].any()),
            "geometry": shapely.union_all(geo.loc[members["stadtteil_nr"]].values),
            "core_geometry": shapely.union_all(geo.loc[core["stadtteil_nr"]].values) if len(core) else None,
            "partial_geometry": shapely.union_all(geo.loc[partial["stadtteil_nr"]].values) if len(partial) else None,
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

"""Read the Essen boundaries the app draws: the prepared files, checked against the Stadtteil register.

Prepared files are what :mod:`essen_dash.geo.prepare` derives from the raw boundary files: repaired, joined to
the Bezirk ids and the official register, coverage-simplified, with a label point per area. The project's
committed ``geo/`` folder holds them (``essen-dash geometry --build``); where no prepared folder comes first,
:mod:`essen_dash.geo.load` prepares the raw files once and keeps the result in the cache folder.

Reading needs shapely and pandas only: geopandas and pyproj (80 ms to import) are loaded when geometry is first
computed with (a JobCenter map, a raw-file preparation), not while the app starts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import shapely
import shapely.geometry

from essen_dash import paths
from essen_dash.tables.schema import BEZIRK_IDS

if TYPE_CHECKING:
    import geopandas as gpd

#: The raw files as Stadt Essen publishes them (never copied into the repository).
FILES = {"bezirke": "essen_stadtbezirke.geojson", "stadtteile": "essen_stadtteile.geojson"}
#: The prepared files :func:`build_prepared` writes (named apart from the raw ones).
PREPARED_FILES = {"bezirke": "stadtbezirke.prepared.geojson", "stadtteile": "stadtteile.prepared.geojson"}
REPORT_FILE = "report.json"
README_FILE = "README.md"
#: Where a map writes an area's name: a point inside it (longitude, latitude), a property of each prepared area.
LABEL_COLUMNS: dict[str, type] = {"label_lon": float, "label_lat": float}
#: Properties of each prepared level, in file order, with their JSON type.
PREPARED_COLUMNS: dict[str, dict[str, type]] = {
    "bezirke": {"bezirk_id": str, "bezirk_nr": int, **LABEL_COLUMNS},
    "stadtteile": {"stadtteil_nr": int, "stadtteil_name": str, "bezirk_id": str, **LABEL_COLUMNS},
}
BUILD_COMMAND = "essen-dash geometry --build"

SOURCE_CRS = "EPSG:4326"  # the files declare none; their coordinates are longitude/latitude
METRIC_CRS = "EPSG:25832"  # ETRS89 / UTM 32N, the official metric CRS of NRW
WEB_DECIMALS = 5  # about 1 m; identical vertices round identically, so shared borders stay shared
OFFICIAL_SOURCE = (
    "Die amtlichen Grenzen der Stadtbezirke und Stadtteile veröffentlicht die Stadt Essen "
    "(Amt für Geoinformation, Vermessung und Kataster) im Open-Data-Portal der Stadt Essen "
    "unter der Datenlizenz Deutschland – Namensnennung 2.0."
)
ATTRIBUTION = "Geometrie: Stadt Essen, dl-de/by-2-0"
#: The levels as the views name them: the key column of their areas, and their key in the prepared files.
LEVEL_KEYS = {"bezirk": "bezirk_id", "stadtteil": "stadtteil_nr"}
LEVEL_UNITS = {"bezirk": "bezirke", "stadtteil": "stadtteile"}


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


# --- the prepared result ------------------------------------------------------------------

@dataclass(frozen=True)
class Boundaries:
    """Web-ready boundaries of both levels with the report of their preparation.

    ``units`` holds each level's areas (key ``"bezirke"`` / ``"stadtteile"``) as a table of the prepared
    properties (:data:`PREPARED_COLUMNS`: keys, names, label point) and the shapely ``geometry``: all a map needs.
    :attr:`bezirke` and :attr:`stadtteile` give them as GeoDataFrames, built when first asked for.
    """

    source_dir: Path
    units: Mapping[str, pd.DataFrame]
    reports: tuple[LevelReport, ...]

    @cached_property
    def bezirke(self) -> gpd.GeoDataFrame:
        return geo_frame(self.units["bezirke"])

    @cached_property
    def stadtteile(self) -> gpd.GeoDataFrame:
        return geo_frame(self.units["stadtteile"])

    @cached_property
    def notes(self) -> list[str]:
        return [n for r in self.reports for n in r.notes]

    @cached_property
    def web_json(self) -> dict[str, bytes]:
        """Return each level as compact GeoJSON bytes, feature ``id`` = Bezirk id / Stadtteil number."""
        return {level: json.dumps(self.geojson(level), separators=(",", ":")).encode() for level in LEVEL_KEYS}

    @cached_property
    def label_points(self) -> dict[str, pd.DataFrame]:
        """Return the label point of each area (key, lon, lat), per level."""
        return {level: pd.DataFrame({"key": units[column].astype(str).to_numpy(), "lon": units["label_lon"].to_numpy(),
                                     "lat": units["label_lat"].to_numpy()})
                for level, column, units in self._levels()}

    def geojson(self, level: str) -> SharedGeoJSON:
        """Return a level as GeoJSON, feature ``id`` = Bezirk id / Stadtteil number (shared: never change it)."""
        return self._geojson[level]

    @cached_property
    def _geojson(self) -> dict[str, SharedGeoJSON]:
        return {level: SharedGeoJSON(type="FeatureCollection", features=[
                    {"id": str(key), "type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(geom)}
                    for key, geom in zip(units[column], units["geometry"])])
                for level, column, units in self._levels()}

    def _levels(self):
        return [(level, column, self.units[LEVEL_UNITS[level]]) for level, column in LEVEL_KEYS.items()]


def geo_frame(units: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return a level's areas as a GeoDataFrame in longitude/latitude."""
    import geopandas as gpd

    return gpd.GeoDataFrame(units, geometry="geometry", crs=SOURCE_CRS)


class SharedGeoJSON(dict):
    """GeoJSON that every figure drawing a level shares, read-only: plotly copies a figure's data whenever it is
    built or changed, and copying thousands of coordinates took most of an exported map page's time."""

    def __deepcopy__(self, memo) -> SharedGeoJSON:
        return self



def read_prepared(folder: Path, register: pd.DataFrame, source_dir: Path | None = None) -> Boundaries:
    """Read a prepared folder and check it against the register: all 9 Bezirke, every register Stadtteil."""
    bezirke = read_prepared_level(folder / PREPARED_FILES["bezirke"], PREPARED_COLUMNS["bezirke"])
    stadtteile = read_prepared_level(folder / PREPARED_FILES["stadtteile"], PREPARED_COLUMNS["stadtteile"])
    label = f"Stadtbezirke ({folder / PREPARED_FILES['bezirke']})"
    check_bezirk_ids(bezirke["bezirk_id"], bezirke["bezirk_nr"], label)
    bezirke = bezirke.set_index(pd.Index(bezirke["bezirk_id"], name=None)).loc[list(BEZIRK_IDS)]
    stadtteile = match_register(stadtteile, register, f"Stadtteile ({folder / PREPARED_FILES['stadtteile']})")
    reports = read_report(folder / REPORT_FILE)
    return Boundaries(source_dir or folder, {"bezirke": bezirke.reset_index(drop=True), "stadtteile": stadtteile},
                      reports)


def read_prepared_level(path: Path, columns: dict[str, type]) -> pd.DataFrame:
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
    return pd.DataFrame(rows, columns=list(columns)).assign(geometry=geoms)


def match_register(stadtteile: pd.DataFrame, register: pd.DataFrame, label: str) -> pd.DataFrame:
    """Return the prepared Stadtteile in register order; fail naming any register Stadtteil without geometry."""
    keys = ["stadtteil_nr", "stadtteil_name", "bezirk_id"]
    feats = stadtteile[keys].assign(row=range(len(stadtteile)))
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

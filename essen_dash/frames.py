"""Join validated tables into ready frames for one view (indicator, level, Stichtag).

Frames carry values, names, ranks and the city reference; geometry stays in
:mod:`essen_dash.geo` and is matched by ``key`` (Bezirk id or Stadtteil number).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from essen_dash.indicators import Indicator
from essen_dash.tables.load import Tables
from essen_dash.tables.schema import BEZIRK_IDS

LEVELS = {"bezirk": "Stadtbezirke", "stadtteil": "Stadtteile"}
UNASSIGNED = "nicht zugeordnet"  # the JobCenter table's row for recipients without an area
DEFAULT_LEVEL = "bezirk"


def at(df: pd.DataFrame, stichtag: date) -> pd.DataFrame:
    return df[df["stichtag"] == stichtag]


def bezirk_name(bezirk_id: str) -> str:
    return f"Stadtbezirk {bezirk_id}"


def city_value(tables: Tables, indicator: Indicator, stichtag: date) -> float:
    return indicator.city_value(at(tables["bezirke"], stichtag), at(tables["city"], stichtag))


def bezirk_frame(tables: Tables, indicator: Indicator, stichtag: date) -> pd.DataFrame:
    """Return the nine Bezirke with value, rank (1 = highest) and the city value."""
    bz = at(tables["bezirke"], stichtag)
    out = pd.DataFrame({
        "key": bz["bezirk_id"].to_numpy(),
        "name": [bezirk_name(b) for b in bz["bezirk_id"]],
        "bezirk_id": bz["bezirk_id"].to_numpy(),
        "value": bz[indicator.key].astype(float).to_numpy(),
    })
    out["rank"] = out["value"].rank(ascending=False, method="min").astype("Int64")
    out["city_value"] = city_value(tables, indicator, stichtag)
    return out.set_index(pd.Index(range(len(out)))).sort_values(
        "bezirk_id", key=lambda s: s.map(BEZIRK_IDS.index)).reset_index(drop=True)


def stadtteil_frame(tables: Tables, indicator: Indicator, stichtag: date) -> pd.DataFrame:
    """Return all 50 Stadtteile; only published values are set, the rest stay missing (never 0)."""
    reg = tables["stadtteile_register"]
    out = pd.DataFrame({"key": reg["stadtteil_nr"].astype(str).to_numpy(), "name": reg["stadtteil_name"].to_numpy(),
                        "bezirk_id": reg["bezirk_id"].to_numpy(), "value": np.nan})
    if indicator.has_stadtteil_values:
        hs = at(tables["stadtteile_hotspots"], stichtag)
        published = dict(zip(hs["stadtteil_nr"].astype(str), hs[indicator.key].astype(float)))
        out["value"] = out["key"].map(published).astype(float)
    out["rank"] = out["value"].rank(ascending=False, method="min").astype("Int64")
    out["city_value"] = city_value(tables, indicator, stichtag)
    return out


FRAMES = {"bezirk": bezirk_frame, "stadtteil": stadtteil_frame}


def view_frame(tables: Tables, indicator: Indicator, level: str, stichtag: date) -> pd.DataFrame:
    return FRAMES[level](tables, indicator, stichtag)


def profile_frame(tables: Tables, bezirk_id: str, stichtag: date) -> pd.DataFrame:
    """Return every indicator of one Bezirk with the city value, its rank and an index (city = 100)."""
    from essen_dash.indicators import INDICATORS

    rows = []
    for ind in INDICATORS.values():
        frame = bezirk_frame(tables, ind, stichtag).set_index("bezirk_id")
        value, city = float(frame.loc[bezirk_id, "value"]), float(frame.loc[bezirk_id, "city_value"])
        rows.append({"key": ind.key, "label": ind.short, "long": ind.label, "unit": ind.unit, "value": value,
                     "city": city, "rank": int(frame.loc[bezirk_id, "rank"]), "value_text": ind.format(value),
                     "city_text": ind.format(city), "index": 100 * value / city if city else float("nan"),
                     "city_formula": ind.city_formula})
    return pd.DataFrame(rows)


def allocation_frame(tables: Tables, stichtag: date) -> pd.DataFrame:
    """Return each Bezirk's share of project housing against its share of the 12-country residents.

    resident_share_pct = origin12_count / Σ origin12_count × 100 (derived from published counts);
    ratio = project_housing_pct / resident_share_pct (1 = housing in proportion to residents).
    """
    bz = at(tables["bezirke"], stichtag)
    out = bz[["bezirk_id", "project_housing_pct", "origin12_count"]].copy()
    out["resident_share_pct"] = 100.0 * out["origin12_count"] / out["origin12_count"].sum()
    out["ratio"] = out["project_housing_pct"] / out["resident_share_pct"]
    out["name"] = out["bezirk_id"].map(bezirk_name)
    return out.reset_index(drop=True)


def jobcenter_matrix(tables: Tables, stichtag: date) -> pd.DataFrame:
    """Return JobCenter shares as areas × origin groups, in the source's order."""
    jc = tables["jobcenter"][tables["jobcenter"]["stichtag"] == stichtag]
    areas = list(dict.fromkeys(jc["jc_area"]))
    groups = list(dict.fromkeys(jc["origin_group"]))
    return jc.pivot(index="jc_area", columns="origin_group", values="share_pct").loc[areas, groups]


def jobcenter_stichtag(tables: Tables, bezirke_stichtag: date) -> date:
    """Return the JobCenter Stichtag published with the Bezirk data of ``bezirke_stichtag``."""
    docs = tables["documents"]
    row = docs[docs["bezirke_stichtag"] == bezirke_stichtag]
    return row["jobcenter_stichtag"].iloc[0] if len(row) else max(tables["jobcenter"]["stichtag"])


def overlapping_areas(tables: Tables, jc_stichtag: date, bezirke: set[str]) -> list[str]:
    """Return the JobCenter areas with at least one Stadtteil in the given Bezirke (all when none given)."""
    cw = tables["jobcenter_crosswalk"][tables["jobcenter_crosswalk"]["stichtag"] == jc_stichtag]
    if not bezirke:
        return list(dict.fromkeys(tables["jobcenter"][tables["jobcenter"]["stichtag"] == jc_stichtag]["jc_area"]))
    reg = tables["stadtteile_register"].set_index("stadtteil_nr")["bezirk_id"]
    hit = cw[cw["stadtteil_nr"].map(reg).isin(bezirke)]
    return list(dict.fromkeys(hit["jc_area"]))


def jobcenter_area_frame(tables: Tables, areas, jc_stichtag: date, group: str) -> pd.DataFrame:
    """Return one row per published area list with the chosen group's share (summed over jointly listed areas).

    Without boundaries (``areas`` None) every assigned area of the table is its own row.
    """
    matrix = jobcenter_matrix(tables, jc_stichtag)
    if areas is None:
        keep = [a for a in matrix.index if a != UNASSIGNED]
        return pd.DataFrame({"key": keep, "name": keep, "jc_areas": [[a] for a in keep],
                             "value": [float(matrix.loc[a, group]) for a in keep]})
    rows = []
    for a in areas.itertuples():
        parts = [float(matrix.loc[area, group]) for area in a.jc_areas]
        rows.append({"key": a.published_as, "name": a.published_as, "jc_areas": a.jc_areas,
                     "value": sum(parts), "parts": parts, "members": a.members,
                     "partial_members": a.partial_members, "shared_members": a.shared_members,
                     "is_list_incomplete": a.is_list_incomplete})
    return pd.DataFrame(rows)


def jobcenter_map_inputs(areas, stadtteile, crosswalk: pd.DataFrame, keep: list[str] | None = None) -> dict:
    """Return what the JobCenter map draws: area cores, other Stadtteile, hatching, outlines, label points.

    ``keep`` limits the map to areas whose published list names one of these JobCenter areas.
    """
    import geopandas as gpd
    import shapely

    from essen_dash.geo.boundaries import METRIC_CRS, SOURCE_CRS, hatch_lines

    if keep is not None:
        areas = areas[[bool(set(a) & set(keep)) for a in areas["jc_areas"]]]
    lists = crosswalk.groupby("stadtteil_nr")["published_as"].apply(lambda s: sorted(set(s)))
    partial = crosswalk[crosswalk["is_partial"]].groupby("stadtteil_nr")["published_as"].apply(set)
    core = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": a.published_as, "properties": {}, "geometry": shapely.geometry.mapping(a.core_geometry)}
        for a in areas.itertuples() if a.core_geometry is not None]}
    in_view = set().union(*[set(m) for m in areas["members"]]) if len(areas) else set()
    others, shared_geoms = [], []
    for st in stadtteile.itertuples():
        named = lists.get(st.stadtteil_nr, [])
        if keep is not None and st.stadtteil_name not in in_view:
            continue
        if len(named) == 1 and st.stadtteil_nr not in partial.index:
            continue  # drawn as part of its area's core
        if named:
            part = partial.get(st.stadtteil_nr, set())
            text = "<br>".join(f"{n}{' (teilweise)' if n in part else ''}" for n in named)
            hover = f"<b>{st.stadtteil_name}</b><br>zugeordnet zu:<br>{text}"
            shared_geoms.append(st.geometry)
        else:
            hover = f"<b>{st.stadtteil_name}</b><br>in der Quelle keinem JobCenter-Bereich zugeordnet"
        others.append({"type": "Feature", "id": str(st.stadtteil_nr), "properties": {"hover": hover},
                       "geometry": shapely.geometry.mapping(st.geometry)})
    outline_lon, outline_lat = [], []
    for geom in areas.geometry:
        for ring in shapely.get_parts(shapely.boundary(geom)):
            xs, ys = ring.xy
            outline_lon += [round(x, 5) for x in xs] + [None]
            outline_lat += [round(y, 5) for y in ys] + [None]
    def largest_part(geom):
        parts = shapely.get_parts(geom)
        return parts[int(np.argmax(shapely.area(parts)))]

    anchors = [largest_part(g if g is not None else f) for g, f in zip(areas["core_geometry"], areas.geometry)]
    points = gpd.GeoSeries(anchors, crs=SOURCE_CRS).to_crs(METRIC_CRS).representative_point().to_crs(SOURCE_CRS)
    labels = pd.DataFrame({"key": areas["published_as"].to_numpy(), "lon": points.x.round(5).to_numpy(),
                           "lat": points.y.round(5).to_numpy()})
    return {"core": core, "others": {"type": "FeatureCollection", "features": others},
            "hatch": hatch_lines(shared_geoms), "outline": (outline_lon, outline_lat), "labels": labels,
            "areas": areas}


def jobcenter_map_view(tables: Tables, areas, stadtteile, jc_stichtag: date, group: str,
                       bezirke: set[str]) -> tuple[pd.DataFrame, dict]:
    """Return the area frame and the map inputs of the JobCenter map, limited to areas touching ``bezirke``."""
    cw = tables["jobcenter_crosswalk"]
    parts = jobcenter_map_inputs(areas, stadtteile, cw[cw["stichtag"] == jc_stichtag],
                                 overlapping_areas(tables, jc_stichtag, bezirke) if bezirke else None)
    return jobcenter_area_frame(tables, parts["areas"], jc_stichtag, group), parts

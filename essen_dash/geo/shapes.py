"""Shapes the views compute from the prepared boundaries when first drawn: the JobCenter areas, dissolved from
their Stadtteile, and the hatching that marks what the source leaves open (geopandas, in metres)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from essen_dash.geo.boundaries import METRIC_CRS, SOURCE_CRS, WEB_DECIMALS


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


def label_points(geometries) -> tuple[np.ndarray, np.ndarray]:
    """Return longitude and latitude of a point inside each of ``geometries`` (lon/lat), found in metres (where a map
    writes an area's name), rounded as the boundaries are."""
    metric = gpd.GeoSeries(list(geometries), crs=SOURCE_CRS).to_crs(METRIC_CRS)
    points = metric.representative_point().to_crs(SOURCE_CRS)
    return points.x.round(WEB_DECIMALS).to_numpy(), points.y.round(WEB_DECIMALS).to_numpy()


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
        lon += [round(x, WEB_DECIMALS) for x in xs] + [None]
        lat += [round(y, WEB_DECIMALS) for y in ys] + [None]
    return lon, lat

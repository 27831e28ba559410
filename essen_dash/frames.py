"""Join validated tables into ready frames for one view (Kennzahl, level, Stichtag).

Frames carry values, names, ranks and the city reference, all as the Kennzahlen
catalog defines them; geometry stays in :mod:`essen_dash.geo` and is matched by
``key`` (Bezirk id or Stadtteil number).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from essen_dash.data import AppData, memoized
from essen_dash.format import de_date
from essen_dash.kennzahlen import NO_CITY_VALUE, Kennzahl, city_value, evaluate, formula_inputs, level_values
from essen_dash.tables.load import Tables
from essen_dash.tables.schema import BEZIRK_IDS

LEVELS = {"bezirk": "Stadtbezirke", "stadtteil": "Stadtteile"}
#: the mark of a published figure the source contradicts (its explanation travels with it as ``flag``)
FLAG = "*"
#: what an area shows in place of a value it does not have, by the value's state
STATE_TEXT = {"withheld": "gesperrt (Geheimhaltung)", "missing": "kein Wert", "derived": "kein Wert",
              "published": "kein Wert"}
UNASSIGNED = "nicht zugeordnet"  # the JobCenter table's row for recipients without an area
DEFAULT_LEVEL = "bezirk"


def at(df: pd.DataFrame, stichtag: date) -> pd.DataFrame:
    return df[df["stichtag"] == stichtag]


def bezirk_name(bezirk_id: str) -> str:
    return f"Stadtbezirk {bezirk_id}"


def level_areas(tables: Tables, level: str) -> pd.DataFrame:
    """Return every area of a level (key, name, bezirk_id), in official order."""
    if level == "bezirk":
        return pd.DataFrame({"key": list(BEZIRK_IDS), "name": [bezirk_name(b) for b in BEZIRK_IDS],
                             "bezirk_id": list(BEZIRK_IDS)})
    reg = tables["stadtteile_register"]
    return pd.DataFrame({"key": reg["stadtteil_nr"].astype(str).to_numpy(), "name": reg["stadtteil_name"].to_numpy(),
                         "bezirk_id": reg["bezirk_id"].to_numpy()})


@memoized
def area_values(data: AppData, level: str, stichtag: date) -> pd.DataFrame:
    """Return every area of the level with a column per Kennzahl of the level: published values as published,
    derived ones by their formula; an area without a published value stays missing (never 0)."""
    catalog = data.catalog(stichtag)
    v = data.tables["values"]
    v = v[(v["stichtag"] == stichtag) & (v["level"] == level)]
    columns = [k.key for k in catalog.at_level(level) if not k.is_derived]
    published = v.pivot(index="area", columns="kennzahl", values="value").reindex(columns=columns)
    published.columns.name = None
    merged = level_areas(data.tables, level).merge(published, left_on="key", right_index=True, how="left",
                                                   validate="1:1")
    return level_values(catalog, merged, level)


@memoized
def area_states(data: AppData, level: str, stichtag: date) -> pd.DataFrame:
    """Return the state of every Kennzahl of every area of the level (rows: area keys in official order):
    published, withheld (by the source), derived (by formula from values that exist) or missing."""
    catalog = data.catalog(stichtag)
    v = data.tables["values"]
    v = v[(v["stichtag"] == stichtag) & (v["level"] == level)]
    keys = level_areas(data.tables, level)["key"]
    delivered = v.pivot(index="area", columns="kennzahl", values="state").reindex(index=keys)
    values = area_values(data, level, stichtag).set_index("key")

    def state(k: Kennzahl) -> np.ndarray:
        if k.is_derived:
            return np.where(values[k.key].notna(), "derived", "missing")
        got = delivered[k.key] if k.key in delivered else pd.Series(pd.NA, index=keys)
        return got.fillna("missing").to_numpy()

    # one frame from all columns at once: inserting them one by one costs pandas a block per column
    return pd.DataFrame({k.key: state(k) for k in catalog.at_level(level)}, index=keys)


@memoized
def city_values(data: AppData, stichtag: date) -> dict[str, float | None]:
    """Return the city reference of every Kennzahl (None where the catalog says there is none)."""
    catalog = data.catalog(stichtag)
    bezirke = area_values(data, "bezirk", stichtag)
    city = at(data.tables["city"], stichtag)
    return {key: city_value(catalog, key, bezirke, city) for key in catalog}


@memoized
def kennzahl_frame(data: AppData, key: str, level: str, stichtag: date) -> pd.DataFrame:
    """Return one Kennzahl for every area of a level: value, rank (1 = highest), the city value, the count a
    share is taken of (``count`` and as text ``count_text``, where the level has it; ``count_decimals`` and
    ``count_unit`` say how it is written), the source's inconsistency (``flag``) and the
    value's ``state`` (published, derived, withheld, missing)."""
    catalog = data.catalog(stichtag)
    k = catalog[key]
    values = area_values(data, level, stichtag)
    # a Kennzahl the catalog does not give at this level shows as missing everywhere, never as 0
    out = values[["key", "name", "bezirk_id"]].assign(
        value=values[key].astype(float) if key in values else np.nan)
    out["rank"] = out["value"].rank(ascending=False, method="min").astype("Int64")
    city = city_values(data, stichtag)[key]
    out["city_value"] = np.nan if city is None else city
    names = formula_inputs(k.numerator) if k.numerator is not None else ()
    if names and all(n in values for n in names):
        count = catalog[names[0]]
        out["count"] = np.asarray(evaluate(k.numerator, {n: values[n].astype(float) for n in names}), dtype=float)
        out["count_text"] = [count.format(v) if pd.notna(v) else "" for v in out["count"]]
        out["count_decimals"], out["count_unit"] = count.decimals, count.unit
    else:
        out["count"], out["count_text"] = np.nan, ""
    flags = {f.area: f.note() for f in data.quality
             if f.is_discrepancy and f.kennzahl == key and f.stichtag == stichtag}
    out["flag"] = [flags.get(key, "") for key in out["key"]] if level == "bezirk" else ""
    states = area_states(data, level, stichtag)
    out["state"] = states[key].to_numpy() if key in states else "missing"
    return out


@dataclass(frozen=True)
class Change:
    """How the change of a Kennzahl between two Stichtage is measured, by the Kennzahl's kind."""

    unit: str  # short, after a number
    words: str  # in a sentence: "Veränderung in …"
    of: Callable[[pd.Series, pd.Series], pd.Series]  # (now, before) -> change
    decimals: int


def _relative(now: pd.Series, before: pd.Series) -> pd.Series:
    return (now / before.where(before > 0) - 1) * 100  # no base, no per cent: no comparison, never infinite


#: shares change in percentage points, counts in per cent of the earlier count, other kinds by difference
CHANGES: dict[str, Change] = {
    "share": Change("%-Punkte", "Prozentpunkten", lambda now, before: now - before, 1),
    "count": Change("%", "Prozent", _relative, 1),
}
DIFFERENCE = Change("", "der Einheit der Kennzahl", lambda now, before: now - before, 2)
NO_COMPARISON = "kein Vergleich möglich"


def change_of(k: Kennzahl) -> Change:
    change = CHANGES.get(k.kind)
    return change if change is not None else replace(DIFFERENCE, unit=k.unit, decimals=k.decimals)


def change_kennzahl(k: Kennzahl, compare: date) -> Kennzahl:
    """Return the Kennzahl that a map of change shows: signed, in the change's unit, centred on 0."""
    change = change_of(k)
    return replace(k, label=f"Veränderung: {k.label}", short=f"Veränderung gegenüber {de_date(compare)}",
                   unit=change.unit, kind="change", decimals=change.decimals, signed=True, reference="published")


@memoized
def change_frame(data: AppData, key: str, level: str, stichtag: date, compare: date) -> pd.DataFrame:
    """Return the change of one Kennzahl from ``compare`` to ``stichtag`` for every area of a level, shaped like
    :func:`kennzahl_frame` (``value`` is the change, ranked, centred on 0) with both values (``now``, ``before``)
    and the city's own change as text. An area without a value at one of the dates has no change, never 0."""
    now = kennzahl_frame(data, key, level, stichtag)
    k_now = data.catalog(stichtag)[key]
    k_before = data.catalog(compare).get(key)
    if k_before is None:  # the Kennzahl was not in the catalog then: no comparison anywhere
        k_before, before = k_now, now.assign(value=np.nan, city_value=np.nan).set_index("key")
    else:
        before = kennzahl_frame(data, key, level, compare).set_index("key").reindex(now["key"])
    change = change_of(k_now)
    out = now[["key", "name", "bezirk_id"]].copy()
    out["now"], out["before"] = now["value"].to_numpy(), before["value"].to_numpy()
    # rounded far below any shown decimal: differences of rounded figures tie where they should (4,2 → 4,1 and
    # 1,4 → 1,3 both fall by 0,1 Pp.), not by a float's last bit
    out["value"] = change.of(out["now"], out["before"]).round(9).to_numpy()
    out["rank"] = out["value"].rank(ascending=False, method="min").astype("Int64")
    out["city_value"] = 0.0  # the scale is centred on "no change"
    city_now, city_before = now["city_value"].iloc[0], before["city_value"].iloc[0]
    shown = change_kennzahl(k_now, compare)
    city_change = change.of(pd.Series([city_now]), pd.Series([city_before])).iloc[0]
    out["city_text"] = (f"Gesamtstadt: {shown.format(city_change)} ({k_before.format(city_before)} → "
                        f"{k_now.format(city_now)})" if pd.notna(city_change) else
                        f"Gesamtstadt: {NO_COMPARISON}")
    out["count_text"] = [f"{k_before.format(b)} → {k_now.format(n)}" if pd.notna(b) and pd.notna(n) else ""
                         for n, b in zip(out["now"], out["before"])]
    # how a map builds the same text from the two numbers: the Kennzahl's format at both days
    out["count_decimals"], out["count_unit"] = (k_now.decimals, k_now.unit) if (k_now.decimals, k_now.unit) == (
        k_before.decimals, k_before.unit) else (None, None)
    out["flag"] = ""
    out["state"] = np.where(out["value"].notna(), "compared", "no_comparison")
    return out


@memoized
def series_frame(data: AppData, key: str, bezirk_id: str) -> pd.DataFrame:
    """Return one Kennzahl over every Stichtag for a Bezirk, the city and — where the Kennzahl has Stadtteil
    values — the Bezirk's Stadtteile: ``who``, ``kind`` (bezirk, city, stadtteil), ``day``, ``value`` (missing
    where there is none, never 0). Stadtteile without any value are left out."""
    rows = []
    for day in data.stichtage:
        if key not in data.catalog(day):
            continue
        bezirke = kennzahl_frame(data, key, "bezirk", day).set_index("key")
        rows.append((bezirk_name(bezirk_id), "bezirk", day, bezirke.loc[bezirk_id, "value"]))
        rows.append(("Gesamtstadt", "city", day, bezirke["city_value"].iloc[0]))
        if "stadtteil" in data.catalog(day)[key].levels:
            st = kennzahl_frame(data, key, "stadtteil", day)
            for name, value in zip(*st[st["bezirk_id"] == bezirk_id][["name", "value"]].T.to_numpy()):
                rows.append((name, "stadtteil", day, value))
    out = pd.DataFrame(rows, columns=["who", "kind", "day", "value"]).astype({"value": float})
    shown = out.groupby("who")["value"].transform(lambda v: v.notna().any())
    return out[shown].reset_index(drop=True)


def profile_frame(data: AppData, bezirk_id: str, stichtag: date) -> pd.DataFrame:
    """Return every Bezirk Kennzahl of one Bezirk with the city value, its rank and, for shares and ratios, an
    index (city = 100); counts get the Bezirk's share of the city total instead."""
    catalog = data.catalog(stichtag)
    rows = []
    for k in catalog.at_level("bezirk"):
        frame = kennzahl_frame(data, k.key, "bezirk", stichtag).set_index("bezirk_id")
        value, city = float(frame.loc[bezirk_id, "value"]), float(frame.loc[bezirk_id, "city_value"])
        comparable = k.has_reference and not np.isnan(city) and city != 0
        flag = frame.loc[bezirk_id, "flag"]
        rank = frame.loc[bezirk_id, "rank"]
        ranked = int(frame["value"].notna().sum())
        rows.append({"key": k.key, "label": k.short, "long": k.label, "unit": k.unit, "kind": k.kind,
                     "value": value, "city": city, "rank": None if pd.isna(rank) else int(rank),
                     "rank_text": "ohne Rang" if pd.isna(rank) else f"Rang {int(rank)} von {ranked}",
                     "value_text": (k.format(value) + (FLAG if flag else "")) if not np.isnan(value)
                     else STATE_TEXT[frame.loc[bezirk_id, "state"]], "flag": flag,
                     "count_text": frame.loc[bezirk_id, "count_text"],
                     "city_text": k.format(city) if comparable else NO_CITY_VALUE,
                     "index": 100 * value / city if comparable and k.kind != "count" else float("nan"),
                     "share_of_city": 100 * value / city if comparable and k.kind == "count" else float("nan"),
                     "city_formula": catalog.reference_text(k)})
    return pd.DataFrame(rows)


#: what the Zuteilung compares: the published housing shares against the Bezirke's share of a count
ALLOCATION = ("project_housing_pct", "origin12_count")


def allocation_frame(data: AppData, stichtag: date) -> pd.DataFrame:
    """Return each Bezirk's share of project housing against its share of the residents counted by
    ``ALLOCATION[1]``: resident_share_pct = count / Σ count × 100; ratio = housing share / resident share."""
    housing, count = ALLOCATION
    values = area_values(data, "bezirk", stichtag)
    out = values[["bezirk_id", "name", housing, count]].rename(
        columns={housing: "housing_pct", count: "resident_count"}).reset_index(drop=True)
    out["resident_share_pct"] = 100.0 * out["resident_count"] / out["resident_count"].sum()
    out["ratio"] = out["housing_pct"] / out["resident_share_pct"]
    return out


def jobcenter_matrix(tables: Tables, stichtag: date) -> pd.DataFrame:
    """Return JobCenter shares as areas × origin groups, in the source's order."""
    def build() -> pd.DataFrame:
        jc = tables["jobcenter"][tables["jobcenter"]["stichtag"] == stichtag]
        areas = list(dict.fromkeys(jc["jc_area"]))
        groups = list(dict.fromkeys(jc["origin_group"]))
        return jc.pivot(index="jc_area", columns="origin_group", values="share_pct").loc[areas, groups]

    return tables.derived(("jobcenter_matrix", stichtag), build)


def overlapping_areas(tables: Tables, jc_stichtag: date, bezirke: set[str]) -> list[str]:
    """Return the JobCenter areas with at least one Stadtteil in the given Bezirke (all when none given)."""
    cw = tables["jobcenter_crosswalk"][tables["jobcenter_crosswalk"]["stichtag"] == jc_stichtag]
    if not bezirke:
        return list(dict.fromkeys(tables["jobcenter"][tables["jobcenter"]["stichtag"] == jc_stichtag]["jc_area"]))
    reg = tables["stadtteile_register"].set_index("stadtteil_nr")["bezirk_id"]
    hit = cw[cw["stadtteil_nr"].map(reg).isin(bezirke)]
    return list(dict.fromkeys(hit["jc_area"]))


def jobcenter_area_frame(tables: Tables, areas, jc_stichtag: date, group: str) -> pd.DataFrame:
    """Return one row per published area list with the chosen group's share; a list the source gives for two
    areas jointly keeps both published shares in ``parts`` and no value (their sum is not a published figure).

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
                     "value": parts[0] if len(parts) == 1 else np.nan, "parts": parts, "members": a.members,
                     "partial_members": a.partial_members, "shared_members": a.shared_members,
                     "is_list_incomplete": a.is_list_incomplete})
    return pd.DataFrame(rows)


def jobcenter_map_inputs(areas, stadtteile, crosswalk: pd.DataFrame, keep: list[str] | None = None) -> dict:
    """Return what the JobCenter map draws: area cores, other Stadtteile, hatching, outlines, label points.

    ``keep`` limits the map to areas whose published list names one of these JobCenter areas.
    """
    import shapely

    from essen_dash.geo.shapes import hatch_lines, label_points

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
    def largest_part(geom):
        parts = shapely.get_parts(geom)
        return parts[int(np.argmax(shapely.area(parts)))]

    anchors = [largest_part(g if g is not None else f) for g, f in zip(areas["core_geometry"], areas.geometry)]
    lon, lat = label_points(anchors)
    labels = pd.DataFrame({"key": areas["published_as"].to_numpy(), "lon": lon, "lat": lat})
    return {"core": core, "others": {"type": "FeatureCollection", "features": others},
            "hatch": hatch_lines(shared_geoms), "outline": border_coords(areas.geometry), "labels": labels,
            "areas": areas}


def jobcenter_map_view(tables: Tables, areas, stadtteile, jc_stichtag: date, group: str,
                       bezirke: set[str]) -> tuple[pd.DataFrame, dict]:
    """Return the area frame and the map inputs of the JobCenter map, limited to areas touching ``bezirke``."""
    cw = tables["jobcenter_crosswalk"]
    parts = jobcenter_map_inputs(areas, stadtteile, cw[cw["stichtag"] == jc_stichtag],
                                 overlapping_areas(tables, jc_stichtag, bezirke) if bezirke else None)
    return jobcenter_area_frame(tables, parts["areas"], jc_stichtag, group), parts


def outline_coords(bezirke, keys) -> tuple[list, list]:
    """Return lon/lat lists (None-separated) of the borders of the given Bezirke, to mark a selection."""
    return border_coords(bezirke[bezirke["bezirk_id"].isin(list(keys))]["geometry"])


def border_coords(geometries) -> tuple[list, list]:
    """Return lon/lat lists (None-separated) of the borders of ``geometries``, rounded as the boundaries are."""
    import shapely

    from essen_dash.geo.boundaries import WEB_DECIMALS

    lon: list = []
    lat: list = []
    for geom in geometries:
        for ring in shapely.get_parts(shapely.boundary(geom)):
            xs, ys = ring.xy
            lon += [round(x, WEB_DECIMALS) for x in xs] + [None]
            lat += [round(y, WEB_DECIMALS) for y in ys] + [None]
    return lon, lat

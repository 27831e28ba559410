"""Choropleth maps of Bezirke or Stadtteile, without tiles: plotly ``geo`` with the real boundaries.

Geometry enters as ``geojson``: a URL in the browser (fetched once per page
load) or the FeatureCollection itself for static export, so a callback can
send the traces of another Kennzahl without the boundaries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from _plotly_utils.utils import to_typed_array_spec

from essen_dash.classify import NO_VALUE_COLOUR, SCHEMES, Classes
from essen_dash.figures.common import HIGHLIGHT
from essen_dash.format import de_number
from essen_dash.frames import FLAG
from essen_dash.kennzahlen import NO_CITY_VALUE, Kennzahl

NO_VALUE_LABEL = "kein Wert veröffentlicht"
WITHHELD_LABEL = "gesperrt (Geheimhaltung der Quelle)"
WITHHELD_COLOUR = "#c9ced3"  # darker than "no value": the source has the figure but does not publish it
#: what an area without a value shows, by the value's state
EMPTY = {"withheld": (WITHHELD_LABEL, WITHHELD_COLOUR), "no_comparison": ("kein Vergleich möglich", NO_VALUE_COLOUR),
         "missing": (NO_VALUE_LABEL, NO_VALUE_COLOUR)}
CONTEXT_COLOUR = "#eceff2"  # areas outside a selection: visible for orientation, not competing with it


def city_of(frame: pd.DataFrame) -> float | None:
    """Return the frame's city reference, or None where the catalog gives the Kennzahl none."""
    city = float(frame["city_value"].iloc[0])
    return None if np.isnan(city) else city


def classes_for(frame: pd.DataFrame, indicator: Kennzahl, scheme: str) -> Classes:
    return SCHEMES[scheme].build(frame["value"].to_numpy(dtype=float), city_of(frame),
                                 lambda v: de_number(v, indicator.decimals))


#: the two area traces every map starts with, each holding every area of the level in the same order: the areas
#: without a value (drawn first, underneath), and the values (missing where an area has none, so it is not drawn)
BACKGROUND, VALUES = 0, 1
#: after them, a fixed number of small traces (other empty states, the selection's context, class legend, labels,
#: outline), padded with invisible placeholders, so a switch can replace them by position
EXTRA_SLOTS = 10
#: what a switch sends of the two area traces: everything except the areas themselves (geometry, locations,
#: names), which stay in the browser from the page load, and the ranks, which the browser derives from the values
#: (``hovertext``, see :func:`ranks`); each key is always sent, ``None`` resetting it
SWITCHED: dict[int, tuple[str, ...]] = {
    BACKGROUND: ("name", "colorscale", "hovertemplate", "showlegend", "legendrank"),
    VALUES: ("name", "z", "customdata", "colorscale", "zmin", "zmax", "zmid", "showscale", "colorbar",
             "hovertemplate"),
}
#: above this many labels a map is too dense to read them: the tooltip names the area instead
MAX_LABELS = 60
AREA_LINE = {"line": {"color": "white", "width": 1}}


def city_text(frame: pd.DataFrame, indicator: Kennzahl) -> str:
    city = city_of(frame)
    return frame["city_text"].iloc[0] if "city_text" in frame else \
        f"Gesamtstadt: {indicator.format(city)}" if city is not None else NO_CITY_VALUE


def template_text(text: str) -> str:
    """Return ``text`` safe inside a plotly template (a literal ``%{`` would be read as a variable)."""
    return text.replace("%{", "%\u200b{")


def number(column: str, decimals: int, unit: str) -> str:
    """Return the template of a number as :func:`essen_dash.format.de_number` writes it (German separators come
    from ``layout.separators``)."""
    return f"%{{{column}:,.{decimals}f}}" + (f" {template_text(unit)}" if unit else "")


def _numbers(values: pd.Series, where: np.ndarray) -> np.ndarray:
    """Return values as floats where ``where`` holds, NaN elsewhere."""
    return np.where(where, values.to_numpy(dtype=float, na_value=np.nan), np.nan)


def _listed(numbers: np.ndarray) -> list:
    """Return numbers as a JSON-ready list: whole ones as integers (the shorter text), ``None`` for NaN."""
    keep = ~np.isnan(numbers)
    whole = keep & (numbers == np.round(numbers)) & (np.abs(numbers) < 2 ** 53)
    out = numbers.astype(object)
    out[whole] = numbers[whole].astype(np.int64)
    out[~keep] = None
    return out.tolist()


def _present(values: pd.Series, where: np.ndarray) -> list:
    """Return values as a JSON-ready list: numbers where ``where`` holds, ``None`` elsewhere."""
    return _listed(_numbers(values, where))


def value_hover(frame: pd.DataFrame, indicator: Kennzahl) -> tuple[str, object]:
    """Return the hover template of the values trace and its ``customdata``: only numbers per area (count,
    compared values) and, where the source is contradicted, its mark; the texts around them are in the template.
    The rank is the trace's ``hovertext`` (see :func:`ranks`).

    The tooltip reads as before: name, value (count), rank of n, city reference, the flag's note.
    """
    valued = frame["value"].notna().to_numpy()
    n = int(valued.sum())
    columns: list = []  # numbers as arrays, texts as lists
    parts = []
    if indicator.signed:  # "+" only where the rounded value is above 0, as ``Kennzahl.format`` writes it
        sign = np.where(frame["value"].round(indicator.decimals).to_numpy() > 0, "+", "")
        columns.append(np.where(valued, sign, None).tolist())
        parts.append(f"%{{customdata[{len(columns) - 1}]}}")
    parts.append(number("z", indicator.decimals, indicator.unit))
    counted = frame["count_text"].ne("").to_numpy() if "count_text" in frame else np.zeros(len(frame), bool)
    numeric = frame.get("count_decimals") is not None and frame["count_decimals"].notna().all()
    if counted[valued].any():
        if counted[valued].all() and numeric and "before" in frame:  # a change: "(4,2 % → 4,1 %)"
            d, unit = int(frame["count_decimals"].iloc[0]), frame["count_unit"].iloc[0]
            columns += [_numbers(frame["before"], valued), _numbers(frame["now"], valued)]
            parts.append(f" ({number(f'customdata[{len(columns) - 2}]', d, unit)} → "
                         f"{number(f'customdata[{len(columns) - 1}]', d, unit)})")
        elif counted[valued].all() and numeric and "count" in frame:  # a share and its count: "(4.162 Personen)"
            columns.append(_numbers(frame["count"], valued))
            parts.append(f" ({number(f'customdata[{len(columns) - 1}]', int(frame['count_decimals'].iloc[0]), frame['count_unit'].iloc[0])})")
        else:  # some values without their count: the written counts themselves
            columns.append(np.where(valued, [f" ({c})" if c else "" for c in frame["count_text"]], None).tolist())
            parts.append(f"%{{customdata[{len(columns) - 1}]}}")
    note = ""
    flags = frame["flag"].to_numpy() if "flag" in frame else np.array([""] * len(frame))
    if (flags != "").any():
        columns.append([FLAG if f else "" for f in flags])
        parts.append(f"%{{customdata[{len(columns) - 1}]}}")
        columns.append([f"<br>{FLAG} {f}" if f else "" for f in flags])
        note = f"%{{customdata[{len(columns) - 1}]}}"
    template = (f"<b>%{{text}}</b><br>{''.join(parts)}<br>Rang %{{hovertext}} von {n}<br>"
                f"{template_text(city_text(frame, indicator))}{note}<extra></extra>")
    return template, packed(columns, valued)


def ranks(frame: pd.DataFrame) -> list:
    """Return each area's rank (1 = highest value, ties sharing the best) as the values trace's ``hovertext``,
    None where it has none. A switch leaves it out: the browser ranks the values it receives the same way
    (``rankDescending`` in ``assets/drawn.js``), so a switch carries no per-area number but the value."""
    return _listed(frame["rank"].to_numpy(dtype=float, na_value=np.nan))


def packed(columns: list, valued: np.ndarray):
    """Return the tooltip's columns per area, one row per area (numbers as arrays, NaN where an area has none;
    texts as lists), as compactly as they travel: whole numbers as a typed array (base64, as plotly encodes it:
    2 bytes an area for a small count, 4 for a large one), anything else as JSON rows; without columns an empty
    list (plotly.js reads ``customdata[i]`` of a null ``customdata`` on hover).
    Areas without a value are never hovered in this trace; their entries are 0 or null."""
    if not columns:
        return []
    if all(isinstance(column, np.ndarray) for column in columns):
        block = np.vstack(columns)
        shown = block[:, valued]
        if np.all((shown == np.round(shown)) & (np.abs(shown) < 2 ** 53)):  # NaN is never whole
            numbers = np.nan_to_num(block).astype(np.int64)
            small = numbers.min(initial=0) >= 0 and numbers.max(initial=0) < 2 ** 16
            numbers = numbers.astype(np.uint16 if small else np.int32 if np.abs(numbers).max(initial=0) < 2 ** 31
                                     else float)
            return to_typed_array_spec(numbers.T.copy())
    lists = [_listed(column) if isinstance(column, np.ndarray) else column for column in columns]
    return [list(row) if ok else None for row, ok in zip(zip(*lists), valued)]


def empty_hover(label: str, city: str) -> str:
    """Return the tooltip of an area without a value: its name, the state in place of value and rank, the city."""
    return f"<b>%{{text}}</b><br>{label}<br>{label}<br>{template_text(city)}<extra></extra>"


def flag_footnote(frame: pd.DataFrame) -> str:
    """Return the explanation of every flagged value of a frame, for a chart's subtitle ("" when none)."""
    flagged = frame[frame["flag"] != ""]
    return "".join(f"<br>{FLAG} {name}: {flag}" for name, flag in zip(flagged["name"], flagged["flag"]))


def _flat(colour: str) -> list:
    return [[0, colour], [1, colour]]


def _members(frame: pd.DataFrame, geojson, name: str, colour: str, *, hovertemplate: str | None,
             legendrank: int | None = None) -> dict:
    """Return a trace filling a few areas in one colour (the rare empty states, the selection's context)."""
    hover = {"hovertemplate": hovertemplate, "text": frame["name"].tolist()} if hovertemplate else \
        {"hoverinfo": "skip"}
    return {"type": "choropleth", "geojson": geojson, "locations": frame["key"].tolist(), "z": [0] * len(frame),
            "name": name, "colorscale": _flat(colour), "showscale": False, "marker": AREA_LINE, "showlegend": True,
            "legendgroup": name, **({"legendrank": legendrank} if legendrank is not None else {}), **hover}


def stepped(classes: Classes, lo: float, hi: float) -> list:
    """Return a colorscale that colours values by their class over ``lo``…``hi`` (the lowest value and the top
    break): each class a flat stretch, and a value on a break in the upper class ("bis unter")."""
    span = (hi - lo) or 1.0
    scale = [[0.0, classes.legend_colours[0]]]
    for low_edge, colour, previous in zip(classes.bins[:-1], classes.legend_colours[1:], classes.legend_colours):
        # a hair below the break: plotly maps stops back to values, and a break must not round above itself
        at = min(max((low_edge - lo) / span - 1e-12, 0.0), 1.0)
        scale += [[at, previous], [at, colour]]
    return scale + [[1.0, classes.legend_colours[-1]]]


def luminance(colour: str) -> float:
    """Return the WCAG relative luminance of an ``rgb(r, g, b)`` or ``#rrggbb`` colour."""
    if colour.startswith("#"):
        channels = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    else:
        channels = [float(c) for c in colour[colour.index("(") + 1:colour.index(")")].split(",")[:3]]
    linear = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def label_colour(fill: str) -> str:
    """Return black or white, whichever contrasts more with ``fill`` (at least 4,58:1 for any fill)."""
    lum = luminance(fill)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


HALO = {"#000000": "0 0 3px white, 0 0 3px white, 0 0 2px white", "#ffffff": "0 0 3px black, 0 0 2px black"}


def label_traces(frame: pd.DataFrame, fills: list[str], points: pd.DataFrame, level: str,
                 indicator: Kennzahl) -> list[dict]:
    """Return map labels (Bezirk numerals, or names and values of Stadtteile with a value; where that would cover
    another label, the value alone, or nothing), black on light and white on dark fills."""
    frame = frame.assign(fill=fills)
    shown = frame if level == "bezirk" else frame[frame["value"].notna()]
    if len(shown) > MAX_LABELS:
        return []
    if level == "bezirk":
        choices = [[f"{b}{FLAG if f else ''}"] for b, f in zip(shown["bezirk_id"], shown["flag"])]
    else:
        written = [indicator.format(v) for v in shown["value"]]
        choices = [[f"{n}<br>{w}", w] for n, w in zip(shown["name"], written)]
    size = 14 if level == "bezirk" else 11
    text = pd.Series(placed(points, shown["key"], choices, size, shown["value"].to_numpy(dtype=float, na_value=np.nan)),
                     index=shown.index)
    shown = shown[text.notna()]
    ink = shown["fill"].map(label_colour)
    at = points.set_index("key")
    traces = []
    for colour in sorted(set(ink)):
        part = shown[ink == colour]
        where = at.loc[part["key"]]
        traces.append({"type": "scattergeo", "lon": where["lon"].round(5).tolist(),
                       "lat": where["lat"].round(5).tolist(), "text": text[part.index].tolist(), "mode": "text",
                       "hoverinfo": "skip", "showlegend": False, "name": "Beschriftung",
                       "textfont": {"size": size, "color": colour, "shadow": HALO[colour]}})
    return traces


#: a label's box in em of its type (average character width, line height as plotly.js sets it), and how high a
#: map draws its level's areas at the smallest it carries labels: 457 px on a 600 px screen, 489 px from 700 px
#: (measured; narrower screens show no labels, see assets/style.css)
LABEL_CHAR_EM, LABEL_LINE_EM, AREAS_HEIGHT_PX = 0.5, 1.3, 450


def placed(points: pd.DataFrame, keys: pd.Series, choices: list[list[str]], size: int,
           values: np.ndarray) -> list[str | None]:
    """Return each label's text so that none covers another (small central areas lie close together): the highest
    values are placed first, the areas a reader looks for, each with the first of its ``choices`` that covers no
    label placed before; one without room gets None (its area keeps its tooltip and its row in the table).

    Boxes are compared in px at the smallest scale the map is drawn at: the latitude span of all the level's label
    points (``points``), and a little more for the areas around them, over ``AREAS_HEIGHT_PX``; on Mercator a
    degree of longitude is shorter by the cosine of the latitude."""
    at = points.set_index("key").loc[keys]
    per_px_lat = (points["lat"].max() - points["lat"].min()) * 1.25 / AREAS_HEIGHT_PX or 1.0
    x = at["lon"].to_numpy() / (per_px_lat / np.cos(np.radians(points["lat"].mean())))
    y = at["lat"].to_numpy() / per_px_lat

    def half_box(text: str) -> tuple[float, float]:
        lines = text.split("<br>")
        return max(map(len, lines)) * LABEL_CHAR_EM * size / 2, len(lines) * LABEL_LINE_EM * size / 2

    out: list[str | None] = [None] * len(choices)
    boxes: list[tuple[float, float, float, float]] = []  # centre and half size of each label placed
    for i in np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable"):
        for text in choices[i]:
            w, h = half_box(text)
            if all(abs(x[i] - bx) >= w + bw or abs(y[i] - by) >= h + bh for bx, by, bw, bh in boxes):
                out[i] = text
                boxes.append((x[i], y[i], w, h))
                break
    return out


def value_traces(frame: pd.DataFrame, indicator: Kennzahl, scheme: str, geojson,
                 labels: pd.DataFrame | None = None, level: str = "bezirk",
                 selected: frozenset[str] = frozenset()) -> list:
    """Return the traces of a map: the areas without a value, the values, then the rare empty states, the
    selection's context, the class legend and labels (see ``BACKGROUND``, ``VALUES``).

    Per area only numbers travel: the values (``z``) and what the tooltip adds (``customdata``); names and
    locations belong to the level and stay in the browser. Classes are computed over all units, so colours keep
    their city-wide meaning. With a selection, the areas outside it stay on the map in a light grey for context
    (their tooltips keep their values: the grey on top lets the hover through to the values beneath).
    """
    classes = classes_for(frame, indicator, scheme)
    valued = frame["value"].notna().to_numpy()
    outside = ~frame["bezirk_id"].isin(selected).to_numpy() if selected else np.zeros(len(frame), dtype=bool)
    city = city_text(frame, indicator)
    keys, names = frame["key"].tolist(), frame["name"].tolist()
    states = pd.Series(np.where(frame["state"].isin(list(EMPTY)), frame["state"], "missing"), index=frame.index)
    empty_states = states[~valued]
    # the most frequent empty state lies underneath every area; any other one is drawn over its few areas
    common = empty_states.mode().iloc[0] if len(empty_states) else ("no_comparison" if "before" in frame
                                                                      else "missing")
    rank = list(EMPTY).index
    label, colour = EMPTY[common]
    background = {"type": "choropleth", "geojson": geojson, "locations": keys, "text": names, "z": [0] * len(frame),
                  "name": label, "colorscale": _flat(colour), "showscale": False, "marker": AREA_LINE,
                  "hovertemplate": empty_hover(label, city), "showlegend": bool(len(empty_states)),
                  "legendrank": rank(common)}
    hovertemplate, customdata = value_hover(frame, indicator)
    scale: dict = {}
    if not valued.any():
        scale = {"colorscale": _flat(NO_VALUE_COLOUR), "showscale": False}
    elif classes.continuous:
        scale = {"colorscale": classes.colorscale, "zmin": classes.zmin, "zmax": classes.zmax, "showscale": True,
                 **({"zmid": classes.zmid} if classes.zmid is not None else {}),
                 "colorbar": {"title": {"text": indicator.unit, "side": "top"}, "thickness": 14, "len": 0.6,
                              "x": 1.0, "tickformat": ",.0f" if indicator.decimals == 0 else ",.1f",
                              "outlinewidth": 0}}
    else:
        lo, hi = float(frame["value"].min()), classes.bins[-1]
        scale = {"colorscale": stepped(classes, lo, hi), "zmin": lo, "zmax": hi if hi > lo else lo + 1,
                 "showscale": False}
    values = {"type": "choropleth", "geojson": geojson, "locations": keys, "text": names,
              "z": _present(frame["value"], valued), "name": indicator.short, "customdata": customdata,
              "hovertext": ranks(frame), "hovertemplate": hovertemplate, "marker": AREA_LINE, "showlegend": False,
              **scale}
    extras = [_members(frame[(~valued) & (states == state).to_numpy()], geojson, EMPTY[state][0], EMPTY[state][1],
                       hovertemplate=empty_hover(EMPTY[state][0], city), legendrank=rank(state))
              for state in EMPTY if state != common and (empty_states == state).any()]
    if (valued & outside).any():
        extras.append(_members(frame[valued & outside], geojson, "außerhalb der Auswahl (zum Vergleich)",
                               CONTEXT_COLOUR, hovertemplate=None))
    if valued.any() and not classes.continuous:
        for text, colour in zip(classes.labels, classes.legend_colours):
            # one square per class, also for a class no area falls into: the legend keeps the whole scale
            extras.append({"type": "scattergeo", "lon": [None], "lat": [None], "mode": "markers",
                           "name": f"{text} {indicator.unit}", "marker": {"symbol": "square", "size": 12,
                                                                          "color": colour},
                           "legendgroup": text, "hoverinfo": "skip"})
    if labels is not None:
        fills = [CONTEXT_COLOUR if out and v else c for c, out, v in zip(classes.colours, outside, valued)]
        extras += label_traces(frame, fills, labels, level, indicator)
    return [background, values, *extras]


def switched(traces: list[dict]) -> list[dict]:
    """Return what a switch sends of a map's traces (as plotly JSON): of the two area traces only the keys that
    change (``SWITCHED``), every other trace whole, padded to the fixed number of slots. The values travel as
    scaled integers where they can (:func:`scaled`)."""
    slim = [{key: traces[i].get(key) for key in keys} for i, keys in SWITCHED.items()]
    slim[VALUES]["z"] = scaled(np.array(slim[VALUES]["z"], dtype=float))  # None becomes NaN
    return slim + traces[len(SWITCHED):]


#: the most decimals :func:`scaled` writes values with as integers
SCALED_DECIMALS = 3


def scaled(values: np.ndarray):
    """Return values as a switch sends them: when each is a whole multiple of 1/10^d (d ≤ ``SCALED_DECIMALS``),
    as a typed array of those multiples (2 bytes a value as base64 where they fit, not 5–6 as text) with the
    divisor and the integer that stands for a missing value; the browser divides (``essenDrawn.values`` in
    ``assets/drawn.js``: a correctly rounded division gives back the very same float). Otherwise the floats
    themselves (encoded at C speed, a missing one as ``null``)."""
    present = ~np.isnan(values)
    shown = values[present]
    for decimals in range(SCALED_DECIMALS + 1):
        multiples = np.round(shown * 10 ** decimals)
        if np.array_equal(multiples / 10 ** decimals, shown):
            break
    else:
        return values
    largest = np.abs(multiples).max(initial=0)
    dtype = np.int16 if largest < 2 ** 15 - 1 else np.int32
    missing = np.iinfo(dtype).min
    if largest >= -missing:
        return values
    whole = np.full(len(values), missing, dtype=dtype)
    whole[present] = multiples
    return {**to_typed_array_spec(whole), "divisor": 10 ** decimals, "missing": int(missing)}


def padded(traces: list) -> list:
    """Return the traces with invisible placeholders up to the fixed number of slots."""
    extra = len(traces) - len(SWITCHED)
    if extra > EXTRA_SLOTS:
        raise ValueError(f"{extra} traces after the area traces, room for {EXTRA_SLOTS}")
    return traces + [{"type": "scattergeo", "visible": False, "showlegend": False} for _ in range(EXTRA_SLOTS - extra)]


def choropleth(frame: pd.DataFrame, indicator: Kennzahl, scheme: str, geojson, *, level: str,
               selected: frozenset[str] = frozenset(), labels: pd.DataFrame | None = None,
               outline: tuple[list, list] | None = None, height: int = 600) -> dict:
    """Return the whole map figure (heading and source are added by the caller) as plotly JSON: plotly.py would
    check and copy each of thousands of areas' elements (the tests check the figure against plotly's schema)."""
    traces = value_traces(frame, indicator, scheme, geojson, labels, level, selected)
    if outline is not None:
        traces.append({"type": "scattergeo", "lon": outline[0], "lat": outline[1], "mode": "lines",
                       "line": {"color": HIGHLIGHT, "width": 3}, "hoverinfo": "skip",
                       "name": f"Auswahl: Stadtbezirk {', '.join(sorted(selected))}"})
    layout = {
        "geo": {"visible": False, "fitbounds": "locations", "projection": {"type": "mercator"}, "bgcolor": "white"},
        "height": height, "dragmode": False, "margin": {"l": 0, "r": 0, "t": 80, "b": 46}, "separators": ",.",
        "legend": {"orientation": "v", "x": 0.0, "y": 0.02, "xanchor": "left", "yanchor": "bottom",
                   "bgcolor": "rgba(255,255,255,0.85)", "traceorder": "normal", "itemclick": False,
                   "itemdoubleclick": False, "font": {"size": 12},
                   "title": {"text": f"{indicator.short} ({indicator.unit})"}}}
    return {"data": padded(traces), "layout": layout}


def locator(geojson, highlight: list[str], locations: list[str], height: int = 260) -> go.Figure:
    """Return a small map of all units with ``highlight`` filled, for profiles."""
    z = [1 if k in highlight else 0 for k in locations]
    fig = go.Figure(go.Choropleth(
        geojson=geojson, locations=locations, z=z, colorscale=[[0, "#e8edf2"], [1, "#0b5394"]], showscale=False,
        marker={"line": {"color": "white", "width": 0.8}}, hoverinfo="skip"))
    fig.update_geos(visible=False, fitbounds="locations", projection_type="mercator")
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0}, dragmode=False, template="none")
    return fig

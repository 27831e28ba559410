"""Every view of the dashboard, defined once: its parameters, its frame and figure, its heading and source.

A :class:`View` builds a :class:`Chart` — the figure without heading, plus the
heading, subtitle and source line as text (and, for tables, the table itself).
The pages show it with the screen style (:func:`screen`), the exports
re-apply only size, format and the print heading; download links, the export
route, the district pack and ``essen-dash export`` all look views up here.
Geometry enters through ``geo``: a URL on screen, the GeoJSON itself in exports.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Union

import pandas as pd
import plotly.graph_objects as go

from essen_dash import captions
from essen_dash.classify import SCHEMES
from essen_dash.data import AppData, memoized
from essen_dash.figures import jobcenter as jcfig
from essen_dash.figures.bars import allocation_bars, allocation_scatter, profile, ranking
from essen_dash.figures.series import series, series_grid
from essen_dash.figures.choropleth import NO_VALUE_LABEL, choropleth, classes_for, flag_footnote
from essen_dash.figures.common import housed
from essen_dash.figures.tables import table_figure
from essen_dash.format import de_date, de_number
from essen_dash.frames import (ALLOCATION, LEVELS, UNASSIGNED, allocation_frame, change_frame, change_kennzahl,
                               change_of, jobcenter_area_frame,
                               jobcenter_map_view, jobcenter_matrix, kennzahl_frame, outline_coords, overlapping_areas,
                               profile_frame, series_frame)
from essen_dash.kennzahlen import Kennzahl
from essen_dash.params import ParamError, Params, parse

Geo = Callable[[str], Union[str, dict]]
#: a map of change is diverging, centred on "no change"
CHANGE_SCHEME = "deviation"


@dataclass(frozen=True)
class Chart:
    """What a view shows: the figure (no heading), its heading and source, and for tables the table."""

    #: the figure; or the figure as plotly JSON (a map of thousands of areas: screen and export send it as it is,
    #: the tests check it against plotly's schema); or a function drawing it when first asked for (a table:
    #: screens show the table itself, only exports draw it)
    drawing: go.Figure | dict | Callable[[], go.Figure]
    title: str
    subtitle: str
    source: str
    table: pd.DataFrame | None = None
    #: a German sentence saying what the chart shows (accessible description, alt text, speaker notes)
    caption: str = ""

    @functools.cached_property
    def figure(self) -> go.Figure:
        """Return the figure as a checked plotly figure (exports and screens use :meth:`plotly_json`)."""
        drawing = self.drawing
        return drawing() if callable(drawing) else go.Figure(drawing) if isinstance(drawing, dict) else drawing

    def plotly_json(self) -> dict:
        """Return the figure as plotly JSON (shared: callers never change it)."""
        return self.drawing if isinstance(self.drawing, dict) else self.figure.to_plotly_json()


@dataclass(frozen=True)
class View:
    """One view: where it lives, which parameters it reads, and how it is built."""

    page: str
    chart: str
    label: str
    params: tuple[str, ...]
    build: Callable[[AppData, Params, Geo], Chart] = field(repr=False)
    needs_geometry: bool = False
    #: the view shows one Bezirk (the profile): exactly one in the ``bezirk`` parameter
    one_bezirk: bool = False

    @property
    def key(self) -> str:
        return f"{self.page}-{self.chart}"


class ViewError(ValueError):
    """A view cannot be built as asked (German message for a 400 answer)."""


def screen_geo(level: str) -> str:
    """Return where the browser fetches a level's boundaries (once per page load)."""
    return f"/geo/{level}.geojson"


def filter_text(p: Params) -> str:
    return f"Auswahl: Stadtbezirk {', '.join(p.bezirk)}" if p.bezirk else "alle Stadtbezirke"


# --- builders ------------------------------------------------------------------------------

def shown(data: AppData, p: Params, level: str) -> tuple[Kennzahl, pd.DataFrame, str]:
    """Return what the Karte's views show: the Kennzahl and its frame at the Stichtag, or — comparing — its
    change since ``compare`` (as a signed Kennzahl) and the change frame; and the scheme that colours it."""
    k = data.catalog(p.stichtag)[p.indicator]
    if p.compare is None:
        return k, kennzahl_frame(data, k.key, level, p.stichtag), p.scheme
    return (change_kennzahl(k, p.compare), change_frame(data, k.key, level, p.stichtag, p.compare),
            CHANGE_SCHEME)


def karte_map(data: AppData, p: Params, geo: Geo) -> Chart:
    k, frame, scheme = shown(data, p, p.level)
    fig = choropleth(frame, k, scheme, geo(p.level), level=p.level, selected=p.selected,
                     labels=data.boundaries.label_points[p.level],
                     outline=outline_coords(data.boundaries.units["bezirke"], p.bezirk) if p.bezirk else None)
    colours = "zweifarbig um 0 (keine Veränderung)" if p.compare else SCHEMES[scheme].label
    return Chart(fig, k.label, f"{LEVELS[p.level]}, {period(data, p)} · {colours} · "
                 f"{filter_text(p)} · Einheit: {k.unit}{flag_footnote(frame)}", sources(data, p),
                 caption=sentence(data, p, frame, k, p.selected if p.level == "bezirk" else frozenset()))


def karte_ranking(data: AppData, p: Params, geo: Geo) -> Chart:
    k, frame, scheme = shown(data, p, "bezirk")
    fig = ranking(frame, k, classes_for(frame, k, scheme).colours, selected=p.selected)
    reference = (" · gestrichelt: keine Veränderung" if p.compare else
                 " · gestrichelt: Wert der Gesamtstadt" if k.has_reference else "")
    return Chart(fig, f"Rangfolge der Stadtbezirke: {k.short if p.compare is None else k.label}",
                 f"{period(data, p)} · {filter_text(p)} · Einheit: {k.unit}{reference}{flag_footnote(frame)}",
                 sources(data, p, geometry=False), caption=sentence(data, p, frame, k, p.selected))


def written(k: Kennzahl, values: pd.Series, empty: list[str]) -> list[str]:
    """Return each value as ``k`` writes it, and where there is none the text in ``empty``; each distinct value is
    formatted once (thousands of areas share a few hundred values)."""
    distinct = {v: k.format(v) for v in values.dropna().unique()}
    return [distinct[v] if v == v else e for v, e in zip(values.to_numpy(dtype=float, na_value=float("nan")), empty)]


def karte_table(data: AppData, p: Params, geo: Geo) -> Chart:
    """The Karte's figures as a table: every area of the level with its value — comparing, both values and the
    change; an area without a value says so in words."""
    k = data.catalog(p.stichtag)[p.indicator]
    shown_k, frame, _ = shown(data, p, p.level)
    empty = {"withheld": "gesperrt", "no_comparison": "kein Vergleich möglich"}
    rows = frame[frame["bezirk_id"].isin(p.bezirk)] if p.bezirk else frame
    text = written(shown_k, rows["value"], [empty.get(state, NO_VALUE_LABEL) for state in rows["state"].to_numpy()])
    if p.compare is None:
        table = pd.DataFrame({"Gebiet": rows["name"], f"{k.short} ({k.unit})": text,
                              "Rang": rows["rank"].astype("string").fillna("–").tolist()})
    else:
        table = pd.DataFrame({"Gebiet": rows["name"],
                              de_date(p.compare): written(k, rows["before"], [NO_VALUE_LABEL] * len(rows)),
                              de_date(p.stichtag): written(k, rows["now"], [NO_VALUE_LABEL] * len(rows)),
                              f"Veränderung ({shown_k.unit})": text})
    return _table_chart(table, f"{shown_k.label if p.compare else k.label}: Tabelle",
                        f"{LEVELS[p.level]}, {period(data, p)} · {filter_text(p)}", sources(data, p, geometry=False))


def period(data: AppData, p: Params) -> str:
    """Return the Stichtag a view shows, or the two it compares and how the change is measured."""
    if p.compare is None:
        return f"Stand {de_date(p.stichtag)}"
    change = change_of(data.catalog(p.stichtag)[p.indicator])
    return f"{de_date(p.compare)} → {de_date(p.stichtag)} · Veränderung in {change.words}"


def sources(data: AppData, p: Params, geometry: bool = True) -> str:
    """Return the source line of the Stichtag shown, or of both compared."""
    line = data.source_line(p.stichtag, geometry=geometry)
    if p.compare is None:
        return line
    before = data.source_line(p.compare, geometry=False).removeprefix("Quelle: ")
    return line.replace("Quelle: ", f"Quelle: {before} und ", 1)


def sentence(data: AppData, p: Params, frame: pd.DataFrame, k: Kennzahl, selected: frozenset[str]) -> str:
    if p.compare is None:
        return captions.kennzahl_sentence(frame, k, selected)
    return captions.change_sentence(frame, data.catalog(p.stichtag)[p.indicator], k, p.compare, p.stichtag)


def _jc(data: AppData, p: Params):
    jc_day = data.jobcenter_stichtag(p.stichtag)
    return jc_day, jobcenter_matrix(data.tables, jc_day)


def _unassigned(matrix: pd.DataFrame, group: str) -> float:
    return float(matrix.loc[UNASSIGNED, group]) if UNASSIGNED in matrix.index else 0.0


def jobcenter_heatmap(data: AppData, p: Params, geo: Geo) -> Chart:
    jc_day, matrix = _jc(data, p)
    rows = overlapping_areas(data.tables, jc_day, p.selected) if p.bezirk else []
    if rows:
        subtitle = f"Bereiche mit Stadtteilen in Stadtbezirk {', '.join(p.bezirk)}"
    else:  # no selection, or the source names no Stadtteil of the selection: the whole table, saying so
        rows = list(matrix.index)
        subtitle = (f"die Quelle nennt keinen Stadtteil von Stadtbezirk {', '.join(p.bezirk)}; alle Bereiche"
                    if p.bezirk else "alle Bereiche")
    return Chart(jcfig.heatmap(matrix.loc[rows], zmax=float(matrix.to_numpy().max())),
                 "SGB-II-Leistungsbeziehende: Verteilung nach Herkunft auf die JobCenter-Bereiche",
                 f"Stand {de_date(jc_day)} · {subtitle} · Einheit: % · jede Spalte der ganzen Stadt ergibt 100 %",
                 data.source_line(p.stichtag, "jobcenter", geometry=False),
                 caption=captions.heatmap_sentence(matrix.loc[rows]))


def jobcenter_map(data: AppData, p: Params, geo: Geo) -> Chart:
    jc_day, matrix = _jc(data, p)
    frame, parts = jobcenter_map_view(data.tables, data.jobcenter_areas(jc_day), data.boundaries.stadtteile, jc_day,
                                      p.gruppe, p.selected)
    fig = jcfig.area_map(frame, parts["core"], parts["others"], parts["hatch"], parts["outline"], parts["labels"],
                         zmax=float(matrix.drop(index=UNASSIGNED, errors="ignore")[p.gruppe].max()))
    return Chart(fig, f"Leistungsbeziehende aus {p.gruppe}: Anteil je JobCenter-Bereich",
                 f"Stand {de_date(jc_day)} · {filter_text(p)} · Einheit: % · nicht zugeordnet: "
                 f"{jcfig.pct(_unassigned(matrix, p.gruppe))} · schraffiert: teilweise/mehrfach zugeordnet",
                 data.source_line(p.stichtag, "jobcenter"),
                 caption=captions.jobcenter_sentence(jobcenter_area_frame(data.tables, None, jc_day, p.gruppe),
                                                     p.gruppe, _unassigned(matrix, p.gruppe)))


def jobcenter_bars(data: AppData, p: Params, geo: Geo) -> Chart:
    jc_day, matrix = _jc(data, p)
    frame = jobcenter_area_frame(data.tables, None, jc_day, p.gruppe)  # each published area, never a sum
    if p.bezirk:
        keep = set(overlapping_areas(data.tables, jc_day, p.selected))
        frame = frame[[bool(set(a) & keep) for a in frame["jc_areas"]]]
    return Chart(jcfig.area_bars(frame), f"Leistungsbeziehende aus {p.gruppe}: Anteil je JobCenter-Bereich",
                 f"Stand {de_date(jc_day)} · {filter_text(p)} · Einheit: % · nicht zugeordnet: "
                 f"{jcfig.pct(_unassigned(matrix, p.gruppe))}",
                 data.source_line(p.stichtag, "jobcenter", geometry=False),
                 caption=captions.jobcenter_sentence(frame, p.gruppe, _unassigned(matrix, p.gruppe)))


def _allocation_labels(data: AppData, p: Params) -> tuple[str, str]:
    catalog = data.catalog(p.stichtag)
    housing, count = (catalog[key] for key in ALLOCATION)
    return f"Wohnungsanteil: {housing.short}", f"Einwohneranteil: {count.short}"


def zuteilung_bars(data: AppData, p: Params, geo: Geo) -> Chart:
    housing, residents = _allocation_labels(data, p)
    fig = allocation_bars(allocation_frame(data, p.stichtag), housing, residents, selected=p.selected)
    catalog = data.catalog(p.stichtag)
    title = f"{catalog[ALLOCATION[0]].short} und {catalog[ALLOCATION[1]].short}: Anteile je Bezirk"
    caption = captions.allocation_sentence(allocation_frame(data, p.stichtag))
    return Chart(fig, title, f"Stand {de_date(p.stichtag)} · {filter_text(p)} · "
                 "Einheit: % · Einwohneranteil = Anzahl des Bezirks / Summe der Bezirke × 100",
                 data.source_line(p.stichtag, geometry=False), caption=caption)


def zuteilung_scatter(data: AppData, p: Params, geo: Geo) -> Chart:
    housing, residents = _allocation_labels(data, p)
    fig = allocation_scatter(allocation_frame(data, p.stichtag), housing, residents, selected=p.selected)
    return Chart(fig, "Wohnungsanteil gegen Einwohneranteil (Parität = Verhältnis 1)",
                 f"Stand {de_date(p.stichtag)} · {filter_text(p)} · Einheit: %",
                 data.source_line(p.stichtag, geometry=False),
                 caption=captions.allocation_sentence(allocation_frame(data, p.stichtag)))


def zuteilung_table(data: AppData, p: Params, geo: Geo) -> Chart:
    frame = allocation_frame(data, p.stichtag)
    shown = frame[frame["bezirk_id"].isin(p.selected)] if p.bezirk else frame
    housing, residents = _allocation_labels(data, p)
    count = data.catalog(p.stichtag)[ALLOCATION[1]]
    table = pd.DataFrame({
        "Bezirk": shown["name"], housing: [de_number(v, 1, "%") for v in shown["housing_pct"]],
        count.short: [count.format(v) for v in shown["resident_count"]],
        residents: [de_number(v, 1, "%") for v in shown["resident_share_pct"]],
        "Verhältnis": [de_number(v, 2) for v in shown["ratio"]]})
    return _table_chart(table, "Zuteilung der Projektwohnungen je Bezirk",
                        f"Stand {de_date(p.stichtag)} · {filter_text(p)}", data.source_line(p.stichtag, geometry=False))


def bezirk_profile(data: AppData, p: Params, geo: Geo) -> Chart:
    bezirk_id = p.bezirk[0]
    rows = profile_frame(data, bezirk_id, p.stichtag)
    return Chart(profile(rows[rows["index"].notna()]), f"Stadtbezirk {bezirk_id} im Vergleich zur Gesamtstadt",
                 f"Stand {de_date(p.stichtag)} · Index: Bezirkswert / Wert der Gesamtstadt × 100",
                 data.source_line(p.stichtag, geometry=False), caption=captions.profile_sentence(rows, bezirk_id))


def bezirk_kennzahlen(data: AppData, p: Params, geo: Geo) -> Chart:
    """The data table of a profile: every Kennzahl of the selected Bezirke against the city."""
    frames = {b: profile_frame(data, b, p.stichtag) for b in p.bezirk}
    first = frames[p.bezirk[0]]
    table = pd.DataFrame({"Kennzahl": first["long"]})
    for b, rows in frames.items():
        table[f"Stadtbezirk {b}"] = rows["value_text"].to_numpy()
        table[f"Rang {b}"] = rows["rank_text"].str.removeprefix("Rang ").to_numpy()
    table["Gesamtstadt"] = first["city_text"].to_numpy()
    notes = "".join(f"<br>* Stadtbezirk {b}, {r.label}: {r.flag}" for b, rows in frames.items()
                    for r in rows.itertuples() if r.flag)
    return _table_chart(table, f"Kennzahlen Stadtbezirk {', '.join(p.bezirk)}",
                        f"Stand {de_date(p.stichtag)} · wie die Werte der Gesamtstadt gebildet werden: siehe "
                        f"Definitionen{notes}",
                        data.source_line(p.stichtag, geometry=False))


def bezirk_summary(data: AppData, p: Params, geo: Geo) -> Chart:
    """The key figures of one Bezirk against the city, each with a German sentence."""
    bezirk_id = p.bezirk[0]
    rows = profile_frame(data, bezirk_id, p.stichtag)
    table = pd.DataFrame({"Kennzahl": rows["label"],
                          "Einordnung": [captions.profile_line(r, bezirk_id)
                                         for r in rows.itertuples()]})
    return _table_chart(table, f"Stadtbezirk {bezirk_id} auf einen Blick", f"Stand {de_date(p.stichtag)}",
                        data.source_line(p.stichtag, geometry=False))


def bezirk_series(data: AppData, p: Params, geo: Geo) -> Chart:
    """Every Bezirk Kennzahl of one Bezirk over all Stichtage, against the city (and its Stadtteile)."""
    bezirk_id, catalog = p.bezirk[0], data.catalog(p.stichtag)
    kennzahlen = catalog.at_level("bezirk")
    frames = {k.key: series_frame(data, k.key, bezirk_id) for k in kennzahlen}
    return Chart(series_grid(frames, kennzahlen), f"Stadtbezirk {bezirk_id}: Entwicklung aller Kennzahlen",
                 f"{span(data)} · Linie: Stadtbezirk {bezirk_id}, gestrichelt: Gesamtstadt, dünn: Stadtteile",
                 series_sources(data), caption=captions.series_sentence(frames, kennzahlen, bezirk_id))


def bezirk_entwicklung(data: AppData, p: Params, geo: Geo) -> Chart:
    """One Kennzahl of one Bezirk over all Stichtage, against the city and the Bezirk's Stadtteile."""
    bezirk_id, k = p.bezirk[0], data.catalog(p.stichtag)[p.indicator]
    frame = series_frame(data, k.key, bezirk_id)
    return Chart(series(frame, k), f"Entwicklung: {k.label}", f"Stadtbezirk {bezirk_id} · {span(data)} · "
                 f"Einheit: {k.unit}", series_sources(data),
                 caption=captions.series_sentence({k.key: frame}, [k], bezirk_id))


def span(data: AppData) -> str:
    days = data.stichtage
    return f"{len(days)} Stichtage, {de_date(days[0])} bis {de_date(days[-1])}" if len(days) > 1 else \
        f"ein Stichtag ({de_date(days[0])}): eine Entwicklung zeigt sich ab dem zweiten"


def series_sources(data: AppData) -> str:
    return "Quelle: " + "; ".join(dict.fromkeys(
        data.source_line(day, geometry=False).removeprefix("Quelle: ") for day in data.stichtage))


def bezirk_stadtteile(data: AppData, p: Params, geo: Geo) -> Chart:
    """The Stadtteile of the selected Bezirke with each Stadtteil Kennzahl and their JobCenter areas."""
    catalog = data.catalog(p.stichtag)
    kennzahlen = catalog.at_level("stadtteil")
    frames = {k.key: kennzahl_frame(data, k.key, "stadtteil", p.stichtag) for k in kennzahlen}
    base = next(iter(frames.values())) if frames else None
    cw = data.tables["jobcenter_crosswalk"]
    cw = cw[cw["stichtag"] == data.jobcenter_stichtag(p.stichtag)]
    named = set(cw["stadtteil_nr"])
    keep = base["bezirk_id"].isin(p.selected).to_numpy()
    table = pd.DataFrame({"Nr.": base["key"][keep], "Stadtteil": base["name"][keep],
                          "Stadtbezirk": base["bezirk_id"][keep]})
    for k in kennzahlen:
        table[k.short] = [k.format(v) if pd.notna(v) else NO_VALUE_LABEL for v in frames[k.key]["value"][keep]]

    def areas_of(nr: str) -> str:
        rows = cw[cw["stadtteil_nr"] == int(nr)]
        text = ", ".join(f"{r.jc_area}{' (teilweise)' if r.is_partial else ''}" for r in rows.itertuples())
        return text if int(nr) in named else "in der Quelle nicht genannt"

    table["JobCenter-Bereich"] = [areas_of(nr) for nr in table["Nr."]]
    return _table_chart(table.reset_index(drop=True), f"Stadtteile von Stadtbezirk {', '.join(p.bezirk)}",
                        f"Stand {de_date(p.stichtag)} · Werte nur für die Stadtteile, die die Quelle nennt",
                        data.source_line(p.stichtag, geometry=False))


def _table_chart(table: pd.DataFrame, title: str, subtitle: str, source: str) -> Chart:
    return Chart(functools.partial(table_figure, table), title, subtitle, source, table)


VIEWS: dict[str, View] = {v.key: v for v in (
    View("karte", "map", "Karte", ("indicator", "scheme", "level", "bezirk", "compare"), karte_map,
         needs_geometry=True),
    View("karte", "ranking", "Rangfolge", ("indicator", "scheme", "bezirk", "compare"), karte_ranking),
    View("karte", "table", "Tabelle", ("indicator", "level", "bezirk", "compare"), karte_table),
    View("jobcenter", "map", "Karte", ("gruppe", "bezirk"), jobcenter_map, needs_geometry=True),
    View("jobcenter", "bars", "Balken", ("gruppe", "bezirk"), jobcenter_bars),
    View("jobcenter", "heatmap", "Heatmap", ("bezirk",), jobcenter_heatmap),
    View("zuteilung", "bars", "Balken", ("bezirk",), zuteilung_bars),
    View("zuteilung", "scatter", "Streudiagramm", ("bezirk",), zuteilung_scatter),
    View("zuteilung", "table", "Tabelle", ("bezirk",), zuteilung_table),
    View("bezirk", "profile", "Profil", ("bezirk",), bezirk_profile, one_bezirk=True),
    View("bezirk", "kennzahlen", "Kennzahlen", ("bezirk",), bezirk_kennzahlen, one_bezirk=True),
    View("bezirk", "summary", "Auf einen Blick", ("bezirk",), bezirk_summary, one_bezirk=True),
    View("bezirk", "stadtteile", "Stadtteile", ("bezirk",), bezirk_stadtteile, one_bezirk=True),
    View("bezirk", "series", "Entwicklung", ("bezirk",), bezirk_series, one_bezirk=True),
    View("bezirk", "entwicklung", "Entwicklung einer Kennzahl", ("bezirk", "indicator"), bezirk_entwicklung,
         one_bezirk=True),
)}
DEFAULT_CHART = {"karte": "map", "jobcenter": "map", "zuteilung": "bars", "bezirk": "profile"}


def register(*views: View, default: str | None = None) -> None:
    """Add views of another module (a page of its own) to the registry; ``default`` is its page's main chart."""
    for view in views:
        VIEWS[view.key] = view
    if default:
        DEFAULT_CHART[views[0].page] = default


def find_view(page: str | None, chart: str | None) -> View:
    """Return the view of a page and chart (the page's main view without a chart), or raise :class:`ViewError`."""
    pages = sorted({v.page for v in VIEWS.values()})
    if page not in pages:
        raise ViewError(f"Unbekannte Seite „{str(page)[:40]}“. Erlaubt: {', '.join(pages)}")
    key = f"{page}-{chart or DEFAULT_CHART[page]}"
    if key not in VIEWS:
        charts = [v.chart for v in VIEWS.values() if v.page == page]
        raise ViewError(f"Unbekanntes Diagramm „{str(chart)[:40]}“. Erlaubt: {', '.join(charts)}")
    return VIEWS[key]


def view_params(view: View, raw: Mapping[str, object], data: AppData, *, strict: bool) -> tuple[Params, dict]:
    """Return the view's parameters from ``raw`` (strict: raise :class:`ParamError` on a bad one)."""
    p, notices = parse(raw, data, view.params, strict=strict)
    if view.one_bezirk and len(p.bezirk) != 1:
        if strict:
            raise ParamError("Für diese Ansicht genau einen Stadtbezirk angeben, z. B. bezirk=III")
    if view.needs_geometry and data.boundaries is None:
        raise ViewError(f"Karten sind nicht verfügbar: {data.geometry_problem}")
    if "key" in view.params and not p.key:
        raise ViewError(f"Kein Schlüssel möglich: am {de_date(p.stichtag)} hat keine Zählkennzahl einen Wert für "
                        "jeden der neun Stadtbezirke")
    return p, notices


@memoized
def build(data: AppData, key: str, p: Params, inline_geometry: bool = False) -> Chart:
    """Return the chart of a view (memoized per bundle; callers copy the figure before changing it)."""
    geo = data.boundaries.geojson if inline_geometry else screen_geo
    return VIEWS[key].build(data, p, geo)


def screen_layout(built: dict, height: int | None = None) -> dict:
    """Return a built figure's layout (plotly JSON) in the house style for the screen: no heading and no source
    line in the figure, they are HTML around it (``components.chart_block``) and wrap on a phone instead of
    being cut. Plain data: the figure was validated when it was built."""
    layout = housed(built)
    margin = layout.get("margin", {})
    meta = layout.get("meta")
    top = meta.get("screen_top") if isinstance(meta, dict) else None
    horizontal = layout.get("legend", {}).get("orientation") == "h"
    layout["margin"] = {**margin, "l": margin.get("l", 10), "r": margin.get("r", 10),
                        "t": top or (40 if horizontal else 16), "b": max(margin.get("b") or 0, 10)}
    layout.pop("title", None)
    if height:
        layout["height"] = height
    return layout


@memoized
def screen(data: AppData, key: str, p: Params, height: int | None = None) -> dict:
    """Return a view's figure on screen as plotly JSON data (memoized per bundle: pages ask for the same views
    again and again). Shared between requests: callers never change it."""
    figure = build(data, key, p).plotly_json()
    return {"data": figure["data"], "layout": screen_layout(figure["layout"], height)}


# pages with views of their own register them on import; importing them here puts every view in the registry
# for every caller (export route, CLI, district pack, tests)
from essen_dash import verteilung  # noqa: E402,F401

"""Every exportable chart, by page and name, built for print with geometry inline.

Export parameters are validated strictly: an unknown page, chart, indicator,
scheme, level, Bezirk, group or format raises :class:`ExportError` (HTTP 400),
unlike the pages, which fall back to defaults. Titles carry the Stichtag and
the active district filter; the source line comes from the data's records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import plotly.graph_objects as go

from essen_dash.classify import SCHEMES
from essen_dash.data import AppData
from essen_dash.export.render import FORMATS
from essen_dash.figures import jobcenter as jcfig
from essen_dash.figures.bars import allocation_bars, allocation_scatter, profile, ranking
from essen_dash.figures.choropleth import choropleth, classes_for
from essen_dash.figures.common import FONT, INK, MUTED
from essen_dash.format import de_date
from essen_dash.frames import (LEVELS, UNASSIGNED, allocation_frame, bezirk_frame, jobcenter_area_frame,
                               jobcenter_map_view, jobcenter_matrix, jobcenter_stichtag, overlapping_areas,
                               profile_frame, view_frame)
from essen_dash.indicators import DEFAULT_INDICATOR, INDICATORS
from essen_dash.tables.schema import BEZIRK_IDS

MAX_VALUE = 100


class ExportError(ValueError):
    """An export request names something that does not exist (German message for a 400 answer)."""


@dataclass(frozen=True)
class ExportParams:
    """What to export, validated."""

    page: str
    chart: str
    format: str
    indicator: str = DEFAULT_INDICATOR
    scheme: str = "continuous"
    level: str = "bezirk"
    bezirke: tuple[str, ...] = ()
    stichtag: date | None = None
    gruppe: str | None = None
    profile: str | None = None  # the Bezirk of a profile page

    @property
    def selected(self) -> set[str]:
        return set(self.bezirke)


def one_of(name: str, value: str, allowed) -> str:
    if value not in allowed:
        raise ExportError(f"Unbekannter Wert für „{name}“: „{str(value)[:MAX_VALUE]}“. "
                          f"Erlaubt: {', '.join(str(a) for a in allowed)}")
    return value


def parse_bezirke(raw: str | None) -> tuple[str, ...]:
    """Return the Bezirke of a comma-separated parameter, in official order; raise on an unknown one."""
    bezirke = [b for b in (raw or "").split(",") if b]
    for b in bezirke:
        one_of("bezirk", b, BEZIRK_IDS)
    return tuple(sorted(set(bezirke), key=BEZIRK_IDS.index))


def parse_stichtag(raw: str | None, data: AppData) -> date:
    """Return the Stichtag of a parameter (default: the latest); raise on a malformed or absent one."""
    if not raw:
        return data.latest
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ExportError(f"Ungültiger Stichtag „{raw[:MAX_VALUE]}“ (erwartet JJJJ-MM-TT)") from None
    return one_of("stichtag", day, data.stichtage)


def parse_params(raw: Mapping[str, str], data: AppData) -> ExportParams:
    """Return validated export parameters or raise :class:`ExportError`."""
    page = one_of("page", raw.get("page", ""), sorted({p for p, _ in CHARTS}))
    chart = one_of("chart", raw.get("chart") or DEFAULT_CHART[page], [c for p, c in CHARTS if p == page])
    fmt = one_of("format", raw.get("format", "png"), list(FORMATS))
    indicator = one_of("indicator", raw.get("indicator") or DEFAULT_INDICATOR, list(INDICATORS))
    scheme = one_of("scheme", raw.get("scheme") or "continuous", list(SCHEMES))
    level = one_of("level", raw.get("level") or "bezirk", list(LEVELS))
    bezirke = parse_bezirke(raw.get("bezirk"))
    day = parse_stichtag(raw.get("stichtag"), data)
    profile_id = None
    if page == "bezirk":
        if len(bezirke) != 1:
            raise ExportError("Für das Bezirksprofil genau einen Bezirk angeben, z. B. bezirk=III")
        profile_id = bezirke[0]
    gruppe = raw.get("gruppe") or None
    if page == "jobcenter":
        groups = list(jobcenter_matrix(data.tables, jobcenter_stichtag(data.tables, day)).columns)
        gruppe = one_of("gruppe", gruppe or groups[0], groups)
    return ExportParams(page, chart, fmt, indicator, scheme, level, bezirke, day, gruppe, profile_id)


# --- helpers ----------------------------------------------------------------------------

def filter_text(p: ExportParams) -> str:
    return f"Auswahl: Stadtbezirk {', '.join(p.bezirke)}" if p.bezirke else "alle Stadtbezirke"


def set_heading(fig: go.Figure, title: str, subtitle: str, source: str) -> go.Figure:
    """Give an exported figure its title, subtitle (Stand, filter) and source line."""
    fig.update_layout(title={"text": f"<b>{title}</b><br><span style='font-size:14px;color:{MUTED}'>{subtitle}</span>",
                             "font": {"size": 22, "color": INK}, "x": 0.01, "xanchor": "left", "yref": "container",
                             "y": 0.975, "yanchor": "top", "pad": {"t": 0}},
                      font={"family": FONT}, margin={"t": 104, "b": 56, "l": 24, "r": 24})
    fig.layout.annotations = [a for a in fig.layout.annotations if a.name != "source"]
    fig.add_annotation(text=source, showarrow=False, xref="paper", yref="paper", x=0, y=0, yshift=-22,
                       xanchor="left", yanchor="top", font={"size": 12, "color": MUTED}, name="source")
    return fig


def outline_trace(data: AppData, level: str, keys: list[str]) -> go.Scattergeo:
    """Return a thick outline around the given units (to highlight a Bezirk on a map)."""
    import shapely

    gdf = data.boundaries.level(level)
    column = "bezirk_id" if level == "bezirk" else "stadtteil_nr"
    lon, lat = [], []
    for geom in gdf[gdf[column].astype(str).isin(keys)].geometry:
        for ring in shapely.get_parts(shapely.boundary(geom)):
            xs, ys = ring.xy
            lon += list(xs) + [None]
            lat += list(ys) + [None]
    return go.Scattergeo(lon=lon, lat=lat, mode="lines", line={"color": "#111", "width": 3.5},
                         name=f"Stadtbezirk {', '.join(keys)}", hoverinfo="skip", showlegend=True)


def need_geometry(data: AppData) -> None:
    if data.boundaries is None:
        raise ExportError(f"Karten sind nicht verfügbar: {data.geometry_problem}")


# --- chart builders ---------------------------------------------------------------------

def karte_map(data: AppData, p: ExportParams, highlight: list[str] | None = None) -> go.Figure:
    need_geometry(data)
    ind = INDICATORS[p.indicator]
    frame = view_frame(data.tables, ind, p.level, p.stichtag)
    fig = choropleth(frame, ind, p.scheme, data.boundaries.geojson(p.level), level=p.level,
                     level_label=LEVELS[p.level], stichtag_text=de_date(p.stichtag), source="",
                     selected=p.selected if not highlight else set(),
                     labels=data.boundaries.label_points[p.level])
    if highlight:
        fig.add_trace(outline_trace(data, "bezirk", highlight))
    return set_heading(fig, ind.label, f"{LEVELS[p.level]}, Stand {de_date(p.stichtag)} · {SCHEMES[p.scheme].label} · "
                       f"{filter_text(p) if not highlight else 'hervorgehoben: Stadtbezirk ' + ', '.join(highlight)} "
                       f"· Einheit: {ind.unit}", data.source_line(p.stichtag))


def karte_ranking(data: AppData, p: ExportParams) -> go.Figure:
    ind = INDICATORS[p.indicator]
    frame = bezirk_frame(data.tables, ind, p.stichtag)
    fig = ranking(frame, ind, classes_for(frame, ind, p.scheme).colours, selected=p.selected)
    return set_heading(fig, f"Rangfolge der Stadtbezirke: {ind.label}",
                       f"Stand {de_date(p.stichtag)} · {filter_text(p)} · Einheit: {ind.unit} · "
                       "gestrichelt: Wert der Gesamtstadt", data.source_line(p.stichtag, geometry=False))


def _jc(data: AppData, p: ExportParams):
    jc_day = jobcenter_stichtag(data.tables, p.stichtag)
    return jc_day, data.source_line(p.stichtag, "jobcenter", geometry=False)


def jobcenter_heatmap(data: AppData, p: ExportParams) -> go.Figure:
    jc_day, source = _jc(data, p)
    matrix = jobcenter_matrix(data.tables, jc_day)
    rows = overlapping_areas(data.tables, jc_day, p.selected) if p.bezirke else list(matrix.index)
    fig = jcfig.heatmap(matrix.loc[rows], title="")
    return set_heading(fig, "SGB-II-Leistungsbeziehende: Verteilung nach Herkunft auf die JobCenter-Bereiche",
                       f"Stand {de_date(jc_day)} · {filter_text(p)} · Einheit: % · jede Spalte ergibt 100 %", source)


def jobcenter_map(data: AppData, p: ExportParams) -> go.Figure:
    need_geometry(data)
    jc_day, _ = _jc(data, p)
    frame, parts = jobcenter_map_view(data.tables, data.jobcenter_geo[jc_day], data.boundaries.stadtteile, jc_day,
                                      p.gruppe, p.selected)
    fig = jcfig.area_map(frame, parts["core"], parts["others"], parts["hatch"], parts["outline"], parts["labels"],
                         title="", source="")
    matrix = jobcenter_matrix(data.tables, jc_day)
    unassigned = float(matrix.loc[UNASSIGNED, p.gruppe]) if UNASSIGNED in matrix.index else 0.0
    return set_heading(fig, f"Leistungsbeziehende aus {p.gruppe}: Anteil je JobCenter-Bereich",
                       f"Stand {de_date(jc_day)} · {filter_text(p)} · Einheit: % · nicht zugeordnet: "
                       f"{jcfig.pct(unassigned)} · schraffiert: teilweise/mehrfach zugeordnet",
                       data.source_line(p.stichtag, "jobcenter"))


def jobcenter_bars(data: AppData, p: ExportParams) -> go.Figure:
    jc_day, source = _jc(data, p)
    matrix = jobcenter_matrix(data.tables, jc_day)
    frame = jobcenter_area_frame(data.tables, data.jobcenter_geo.get(jc_day), jc_day, p.gruppe)
    if p.bezirke:
        keep = set(overlapping_areas(data.tables, jc_day, p.selected))
        frame = frame[[bool(set(a) & keep) for a in frame["jc_areas"]]]
    fig = jcfig.area_bars(frame, float(matrix.loc[UNASSIGNED, p.gruppe]), p.gruppe, title="")
    return set_heading(fig, f"Leistungsbeziehende aus {p.gruppe}: Anteil je JobCenter-Bereich",
                       f"Stand {de_date(jc_day)} · {filter_text(p)} · Einheit: %", source)


def zuteilung_bars(data: AppData, p: ExportParams) -> go.Figure:
    fig = allocation_bars(allocation_frame(data.tables, p.stichtag), selected=p.selected, title="")
    return set_heading(fig, "Projektwohnungen und Einwohner aus den 12 Herkunftsländern je Bezirk",
                       f"Stand {de_date(p.stichtag)} · {filter_text(p)} · Einheit: % · Einwohneranteil = "
                       "origin12_count / Σ origin12_count × 100", data.source_line(p.stichtag, geometry=False))


def zuteilung_scatter(data: AppData, p: ExportParams) -> go.Figure:
    fig = allocation_scatter(allocation_frame(data.tables, p.stichtag), selected=p.selected, title="")
    return set_heading(fig, "Wohnungsanteil gegen Einwohneranteil (Parität = Verhältnis 1)",
                       f"Stand {de_date(p.stichtag)} · {filter_text(p)} · Einheit: %",
                       data.source_line(p.stichtag, geometry=False))


def bezirk_profile(data: AppData, p: ExportParams) -> go.Figure:
    rows = profile_frame(data.tables, p.profile, p.stichtag)
    fig = profile(rows[rows["key"] != "population_count"], title="")
    return set_heading(fig, f"Stadtbezirk {p.profile} im Vergleich zur Gesamtstadt",
                       f"Stand {de_date(p.stichtag)} · Index: Bezirkswert / Wert der Gesamtstadt × 100",
                       data.source_line(p.stichtag, geometry=False))


@dataclass(frozen=True)
class Chart:
    page: str
    key: str
    label: str
    build: Callable[[AppData, ExportParams], go.Figure] = field(repr=False)


CHARTS: dict[tuple[str, str], Chart] = {
    (c.page, c.key): c
    for c in (
        Chart("karte", "map", "Karte", karte_map),
        Chart("karte", "ranking", "Rangfolge", karte_ranking),
        Chart("jobcenter", "map", "Karte", jobcenter_map),
        Chart("jobcenter", "heatmap", "Heatmap", jobcenter_heatmap),
        Chart("jobcenter", "bars", "Balken", jobcenter_bars),
        Chart("zuteilung", "bars", "Balken", zuteilung_bars),
        Chart("zuteilung", "scatter", "Streudiagramm", zuteilung_scatter),
        Chart("bezirk", "profile", "Profil", bezirk_profile),
    )
}
DEFAULT_CHART = {"karte": "map", "jobcenter": "map", "zuteilung": "bars", "bezirk": "profile"}


def build_chart(data: AppData, p: ExportParams) -> go.Figure:
    return CHARTS[(p.page, p.chart)].build(data, p)


def filename(p: ExportParams) -> str:
    """Return a download name made only of validated parts (never a path from the request)."""
    parts = [p.page, p.chart]
    if p.page == "karte":
        parts += [p.indicator, p.level]
    if p.page == "jobcenter":
        parts.append(p.gruppe.replace(" ", "-"))
    if p.bezirke:
        parts.append("-".join(p.bezirke))
    parts.append(p.stichtag.isoformat())
    return "essen-" + "_".join(parts) + "." + p.format

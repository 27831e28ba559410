"""The district pack: every view of one Bezirk (or a selection) as a PDF, a slide deck or a ZIP of slide images.

It opens with a cover (Bezirk, its Stadtteile on a small map, Stichtag, source) and a summary page (each
Kennzahl against the city in one German sentence), then the charts; every page is a view of the registry.
With a second Stichtag to compare with (``compare``), the maps show the change since then, and every page
names both dates. With two or more Stichtage, each Kennzahl of a Bezirk has an "Entwicklung" page.

Pages are rendered in one stream through the warm renderer and kept in its cache by what they show, so the
pages that packs share (definitions, sources) and a pack asked for again are not rendered twice.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import pandas as pd
import plotly.graph_objects as go

from essen_dash.data import AppData
from essen_dash.export.charts import ExportError, pdf_of, print_figure
from essen_dash.export.render import FORMATS, RENDERER, Format, Job, Renderer, offload
from essen_dash.export.slides import deck, slide_figure
from essen_dash.figures.choropleth import locator
from essen_dash.figures.tables import table_figure
from essen_dash.format import de_date, de_number
from essen_dash.params import ParamError, Params, parse
from essen_dash.tables.schema import BEZIRK_IDS
from essen_dash.views import VIEWS, Chart, build, sources


def stand(day: date, compare: date | None = None) -> str:
    """Return the dates a pack shows: "Stand 31.12.2018", comparing ", Veränderung gegenüber 30.09.2016"."""
    return f"Stand {de_date(day)}" + (f", Veränderung gegenüber {de_date(compare)}" if compare else "")


def definitions_chart(data: AppData, day: date) -> Chart:
    """Return how each Kennzahl and its city value are obtained."""
    catalog = data.catalog(day)
    table = pd.DataFrame({"Kennzahl": [k.label for k in catalog.values()],
                          "Herkunft": [catalog.formula_text(k) for k in catalog.values()],
                          "Wert der Gesamtstadt": [catalog.reference_text(k) for k in catalog.values()]})
    return Chart(table_figure(table), "Kennzahlen: Herkunft und Wert der Gesamtstadt", f"Stand {de_date(day)}",
                 "Kennzahlenkatalog von essen-dash (data/kennzahlen.csv)", table)


def sources_chart(data: AppData, day: date, compare: date | None = None) -> Chart:
    """Return the pack's last page: sources (of both dates when comparing) and the discrepancies of the source
    at the Stichtag shown."""
    days = [day] + ([compare] if compare else [])
    lines = [
        (f"Bezirksdaten, Stand {de_date(d)}", f"{data.source_detail(d)}, Stand {de_date(d)}") for d in days
    ] + [
        ("JobCenter-Daten", f"{data.jobcenter_source(day)}, Stand {de_date(data.jobcenter_stichtag(day))}"),
        ("Geometrie", "Stadt Essen, Grenzen der Stadtbezirke und Stadtteile, Datenlizenz Deutschland – "
                      "Namensnennung 2.0"),
    ] + [
        (f"Abweichung: {f.subject}", f"{f.check}: veröffentlicht {de_number(f.published, 1)} {f.unit}, "
                                     f"nachgerechnet {f.recomputed_text()} {f.unit}")
        for f in data.quality if f.is_discrepancy and f.stichtag == day]
    table = pd.DataFrame({"Angabe": [a for a, _ in lines], "Quelle / Formel": [b for _, b in lines]})
    return Chart(table_figure(table), "Quellen, Formeln und Hinweise", stand(day, compare),
                 "Zusammengestellt mit essen-dash", table)


def cover_chart(data: AppData, bezirk_ids: list[str], day: date, compare: date | None = None) -> Chart:
    """Return the cover: which Bezirke, their Stadtteile, the date(s) and the source, beside a locator map."""
    register = data.tables["stadtteile_register"]
    lines = [f"<b>Stadtbezirk {b}</b>: " + ", ".join(register[register["bezirk_id"] == b]["stadtteil_name"])
             for b in bezirk_ids]
    fig = (locator(data.boundaries.geojson("bezirk"), bezirk_ids, list(BEZIRK_IDS), height=None)
           if data.boundaries is not None else go.Figure())
    fig.update_layout(geo={"domain": {"x": [0.58, 1.0], "y": [0.05, 0.95]}})
    fig.add_annotation(text="<br>".join(wrap(line, 70) for line in lines), x=0, y=0.62, xref="paper", yref="paper",
                       xanchor="left", yanchor="top", align="left", showarrow=False, font={"size": 16})
    source = sources(data, Params(stichtag=day, compare=compare), geometry=False)
    fig.add_annotation(text=f"{stand(day, compare)}<br>{wrap(source, 70)}", x=0, y=0.2,
                       xref="paper", yref="paper", xanchor="left", yanchor="top", align="left", showarrow=False,
                       font={"size": 14, "color": "#5b6770"})
    names = ", ".join(bezirk_ids)
    return Chart(fig, f"Bezirkspaket Stadtbezirk {names}", "Sozialdaten für die Integrationsplanung",
                 sources(data, Params(stichtag=day, compare=compare)),
                 caption=f"Bezirkspaket für Stadtbezirk {names}, {stand(day, compare)}.")


def wrap(text: str, width: int) -> str:
    """Return ``text`` with <br> where a line would exceed ``width`` characters (annotations do not wrap)."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>".join(lines + [line])


@dataclass(frozen=True)
class Page:
    """One page of a pack: its section, its chart, and what it shows (the key of its rendered file)."""

    section: str
    chart: Chart
    #: a view with its parameters, or one of the pack's own pages with what it depends on
    shows: tuple


def contents(data: AppData, bezirk_ids: list[str], day: date, compare: date | None = None) -> list[Page]:
    """Return every page of the pack, each built by its view (the cover, definitions and sources by the pack).

    Comparing, the maps show the change since ``compare``; a page whose view shows one Stichtag only says in
    its subtitle which two dates the pack compares.
    """
    selection = Params(bezirk=tuple(bezirk_ids), stichtag=day)
    requests = []
    for b in bezirk_ids:
        one = replace(selection, bezirk=(b,))
        requests += [("Auf einen Blick", "bezirk-summary", one), ("Bezirksprofil", "bezirk-profile", one)]
        if len(data.stichtage) > 1:  # a development needs two Stichtage: one page per Kennzahl of the Bezirk
            requests += [("Entwicklung", "bezirk-entwicklung", replace(one, indicator=k.key))
                         for k in data.catalog(day).at_level("bezirk")]
    if data.boundaries is not None:
        requests += [("Karten", "karte-map", replace(selection, indicator=k.key))
                     for k in data.catalog(day).values() if k.kind != "count"]
    requests += [("Stadtteile", "bezirk-stadtteile", selection), ("JobCenter", "jobcenter-heatmap", selection),
                 ("Kennzahlen", "bezirk-kennzahlen", selection)]
    pages = [Page("Titel", cover_chart(data, bezirk_ids, day, compare), ("cover", tuple(bezirk_ids), day, compare))]
    for section, key, p in requests:
        if compare and "compare" in VIEWS[key].params:
            p = replace(p, compare=compare)
        pages.append(Page(section, noted(build(data, key, p, inline_geometry=True), p, compare),
                          ("view", key, p, compare)))
    return pages + [
        Page("Definitionen", noted(definitions_chart(data, day), Params(stichtag=day), compare),
             ("definitions", day, compare)),
        Page("Quellen", sources_chart(data, day, compare), ("sources", day, compare))]


def noted(chart: Chart, p: Params, compare: date | None) -> Chart:
    """Return the chart of a comparing pack's page: if it shows one Stichtag, its subtitle names both dates."""
    if compare is None or p.compare == compare:
        return chart
    return replace(chart, subtitle=f"{chart.subtitle}<br>Bezirkspaket: {stand(p.stichtag, compare)}")


def charts(data: AppData, bezirk_ids: list[str], day: date, compare: date | None = None) -> list[tuple[str, Chart]]:
    """Return (section, chart) for every page of the pack."""
    return [(page.section, page.chart) for page in contents(data, bezirk_ids, day, compare)]


def pages(data: AppData, bezirk_ids: list[str], day: date, compare: date | None = None) -> list[tuple[str, dict]]:
    """Return (section, print figure) for every page of the pack."""
    return [(section, print_figure(chart)) for section, chart in charts(data, bezirk_ids, day, compare)]


#: how a page is drawn for each kind of file: with the print heading (PDF, slide images) or for a slide that
#: carries heading and source as text (PowerPoint)
LOOKS: dict[str, Callable[[Chart], dict]] = {"print": print_figure, "slide": slide_figure}


def rendered(data: AppData, pack_pages: list[Page], fmt: Format, look: str, renderer: Renderer,
             job: Job | None) -> list[bytes]:
    """Return each page as a file in ``fmt``: kept ones from the renderer's cache, the others rendered in one
    stream (a page that occurs twice is rendered once); ``job`` is checked before every page rendered."""
    cache = renderer.cache
    keys = [cache.key(data, "page", look, page.shows, fmt.key) for page in pack_pages]
    files = {key: cache.get(key) for key in keys}
    missing = {key: page for key, page in zip(keys, pack_pages) if files[key] is None}
    figures = (offload(LOOKS[look], page.chart) for page in missing.values())
    for key, body in zip(missing, renderer.render_many(figures, fmt, job)):
        files[key] = cache.put(key, body)
    return [files[key] for key in keys]


def kept(renderer: Renderer, data: AppData, what: tuple, make: Callable[[], bytes]) -> bytes:
    """Return the file ``what`` from the renderer's cache, or make and keep it."""
    key = renderer.cache.key(data, "pack", *what)
    body = renderer.cache.get(key)
    return body if body is not None else renderer.cache.put(key, make())


def title_of(bezirk_ids: list[str], day: date, compare: date | None) -> str:
    return f"Bezirkspaket Stadtbezirk {', '.join(bezirk_ids)} – {stand(day, compare)}"


def pack_pdf(data: AppData, bezirk_ids: list[str], day: date, renderer: Renderer = RENDERER,
             job: Job | None = None, compare: date | None = None) -> bytes:
    """Return the pack as one PDF (A4 landscape, one figure per page).

    With ``job`` (a web request), every page is rendered within its budget and only while its client is there:
    the renderer checks both before each page.
    """
    def make() -> bytes:
        files = rendered(data, offload(contents, data, bezirk_ids, day, compare), FORMATS["pdf"], "print",
                         renderer, job)
        return offload(pdf_of, files, title_of(bezirk_ids, day, compare))
    return kept(renderer, data, (tuple(bezirk_ids), day, compare, "pdf"), make)


def pack_zip(data: AppData, bezirk_ids: list[str], day: date, renderer: Renderer = RENDERER,
             job: Job | None = None, compare: date | None = None) -> bytes:
    """Return the pack as a ZIP of 16:9 slide PNGs, numbered in order (``job`` as for :func:`pack_pdf`)."""
    def make() -> bytes:
        pack_pages = offload(contents, data, bezirk_ids, day, compare)
        files = rendered(data, pack_pages, FORMATS["png"], "print", renderer, job)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for i, (page, body) in enumerate(zip(pack_pages, files), start=1):
                z.writestr(f"{i:02d}_{page.section.lower()}.png", body)
        return out.getvalue()
    return kept(renderer, data, (tuple(bezirk_ids), day, compare, "zip"), make)


def pack_pptx(data: AppData, bezirk_ids: list[str], day: date, renderer: Renderer = RENDERER,
              job: Job | None = None, compare: date | None = None) -> bytes:
    """Return the pack as a PowerPoint deck: a slide per chart with title, source, alt text and speaker notes."""
    def make() -> bytes:
        pack_pages = offload(contents, data, bezirk_ids, day, compare)
        files = rendered(data, pack_pages, FORMATS["png"], "slide", renderer, job)
        return offload(deck, [(page.chart, body) for page, body in zip(pack_pages, files)],
                       title_of(bezirk_ids, day, compare))
    return kept(renderer, data, (tuple(bezirk_ids), day, compare, "pptx"), make)


def all_packs(data: AppData, bezirk_ids: list[str], day: date, renderer: Renderer = RENDERER,
              job: Job | None = None, compare: date | None = None) -> bytes:
    """Return one ZIP with the PDF pack of each of the given Bezirke (all nine: ``bezirk=alle``).

    The pages of all packs are rendered in one stream; a page they share (definitions, sources) once.
    """
    def make() -> bytes:
        packs = {b: offload(contents, data, [b], day, compare) for b in bezirk_ids}
        files = iter(rendered(data, [page for pages_of in packs.values() for page in pages_of], FORMATS["pdf"],
                              "print", renderer, job))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for b, pages_of in packs.items():
                own = [next(files) for _ in pages_of]
                body = kept(renderer, data, ((b,), day, compare, "pdf"),
                            lambda: offload(pdf_of, own, title_of([b], day, compare)))
                z.writestr(PackRequest((b,), day, compare, "pdf").filename, body)
        return out.getvalue()
    return kept(renderer, data, (tuple(bezirk_ids), day, compare, ALL), make)


PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
#: format → (media type, builder, file extension); "alle" is the ZIP of every Bezirk's PDF pack
PACK_FORMATS = {"pdf": ("application/pdf", pack_pdf, "pdf"), "zip": ("application/zip", pack_zip, "zip"),
                "pptx": (PPTX, pack_pptx, "pptx"), "alle": ("application/zip", all_packs, "zip")}
ALL = "alle"


@dataclass(frozen=True)
class PackRequest:
    """A validated pack request: which Bezirke, at which Stichtag, compared with which, in which format."""

    bezirke: tuple[str, ...]
    stichtag: date
    compare: date | None
    format: str

    @property
    def media_type(self) -> str:
        return PACK_FORMATS[self.format][0]

    @property
    def filename(self) -> str:
        """Return the download name: Bezirke, then the dates (the one compared with first), then the format."""
        days = "_".join(d.isoformat() for d in (self.compare, self.stichtag) if d)
        return f"essen-bezirkspaket_{'-'.join(self.bezirke)}_{days}.{PACK_FORMATS[self.format][2]}"

    def build(self, data: AppData, renderer: Renderer = RENDERER, job: Job | None = None) -> bytes:
        return PACK_FORMATS[self.format][1](data, list(self.bezirke), self.stichtag, renderer, job,
                                            compare=self.compare)

    def kept(self, data: AppData, renderer: Renderer = RENDERER) -> bytes | None:
        """Return the file if the renderer has it already (then nothing needs to wait for the renderer)."""
        return renderer.cache.get(renderer.cache.key(data, "pack", self.bezirke, self.stichtag, self.compare,
                                                     self.format))


def parse_pack(raw, data: AppData) -> PackRequest:
    """Return the validated pack request, or raise :class:`ExportError`."""
    every = raw.get("bezirk") == ALL
    try:
        p, _ = parse({**raw, "bezirk": ",".join(BEZIRK_IDS) if every else raw.get("bezirk")}, data,
                     ("bezirk", "stichtag", "compare"), strict=True)
    except ParamError as exc:
        raise ExportError(str(exc)) from None
    if not p.bezirk:
        raise ExportError("Bezirk angeben, einen oder mehrere von I bis IX (z. B. bezirk=III) oder bezirk=alle")
    fmt = ALL if every else raw.get("format") or "pdf"
    if fmt not in PACK_FORMATS:
        raise ExportError(f"Unbekanntes Format „{str(fmt)[:20]}“. Erlaubt: {', '.join(PACK_FORMATS)}")
    return PackRequest(p.bezirk, p.stichtag, p.compare, fmt)


def parse_pack_request(raw, data: AppData) -> tuple[list[str], date, str]:
    """Return validated (Bezirke, Stichtag, format) of a pack request, or raise :class:`ExportError`
    (the command line's form; a comparison needs :func:`parse_pack`)."""
    request = parse_pack(raw, data)
    return list(request.bezirke), request.stichtag, request.format

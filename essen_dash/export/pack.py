"""The district pack: every view of one Bezirk (or a selection) as a PDF, a slide deck or a ZIP of slide images.

It opens with a cover (Bezirk, its Stadtteile on a small map, Stichtag, source) and a summary page (each
Kennzahl against the city in one German sentence), then the charts; every page is a view of the registry.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from datetime import date

import pandas as pd
import plotly.graph_objects as go
from pypdf import PdfReader, PdfWriter

from essen_dash.data import AppData
from essen_dash.export.charts import ExportError, print_figure
from essen_dash.export.render import FORMATS, RENDERER, Job, Renderer, offload
from essen_dash.figures.tables import table_figure
from essen_dash.format import de_date, de_number
from essen_dash.params import ParamError, Params, parse
from essen_dash.export.slides import deck
from essen_dash.figures.choropleth import locator
from essen_dash.tables.schema import BEZIRK_IDS
from essen_dash.views import Chart, build

def definitions_chart(data: AppData, day: date) -> Chart:
    """Return how each Kennzahl and its city value are obtained."""
    catalog = data.catalog(day)
    table = pd.DataFrame({"Kennzahl": [k.label for k in catalog.values()],
                          "Herkunft": [catalog.formula_text(k) for k in catalog.values()],
                          "Wert der Gesamtstadt": [catalog.reference_text(k) for k in catalog.values()]})
    return Chart(table_figure(table), "Kennzahlen: Herkunft und Wert der Gesamtstadt", f"Stand {de_date(day)}",
                 "Kennzahlenkatalog von essen-dash (data/kennzahlen.csv)", table)


def sources_chart(data: AppData, day: date) -> Chart:
    """Return the pack's last page: sources and the source's discrepancies."""
    lines = [
        ("Bezirksdaten", f"{data.source_detail(day)}, Stand {de_date(day)}"),
        ("JobCenter-Daten", f"{data.jobcenter_source(day)}, Stand {de_date(data.jobcenter_stichtag(day))}"),
        ("Geometrie", "Stadt Essen, Grenzen der Stadtbezirke und Stadtteile, Datenlizenz Deutschland – "
                      "Namensnennung 2.0"),
    ] + [
        (f"Abweichung: {f.subject}", f"{f.check}: veröffentlicht {de_number(f.published, 1)} {f.unit}, "
                                     f"nachgerechnet {f.recomputed_text()} {f.unit}")
        for f in data.quality if f.is_discrepancy and f.stichtag == day]
    table = pd.DataFrame({"Angabe": [a for a, _ in lines], "Quelle / Formel": [b for _, b in lines]})
    return Chart(table_figure(table), "Quellen, Formeln und Hinweise", f"Stand {de_date(day)}",
                 "Zusammengestellt mit essen-dash", table)


def cover_chart(data: AppData, bezirk_ids: list[str], day: date) -> Chart:
    """Return the cover: which Bezirke, their Stadtteile, the Stichtag and the source, beside a locator map."""
    register = data.tables["stadtteile_register"]
    lines = [f"<b>Stadtbezirk {b}</b>: " + ", ".join(register[register["bezirk_id"] == b]["stadtteil_name"])
             for b in bezirk_ids]
    fig = (locator(data.boundaries.geojson("bezirk"), bezirk_ids, list(BEZIRK_IDS), height=None)
           if data.boundaries is not None else go.Figure())
    fig.update_layout(geo={"domain": {"x": [0.58, 1.0], "y": [0.05, 0.95]}})
    fig.add_annotation(text="<br>".join(wrap(line, 70) for line in lines), x=0, y=0.62, xref="paper", yref="paper",
                       xanchor="left", yanchor="top", align="left", showarrow=False, font={"size": 16})
    fig.add_annotation(text=f"Stand {de_date(day)}<br>{data.source_line(day, geometry=False)}", x=0, y=0.2,
                       xref="paper", yref="paper", xanchor="left", yanchor="top", align="left", showarrow=False,
                       font={"size": 14, "color": "#5b6770"})
    names = ", ".join(bezirk_ids)
    return Chart(fig, f"Bezirkspaket Stadtbezirk {names}", "Sozialdaten für die Integrationsplanung",
                 data.source_line(day), caption=f"Bezirkspaket für Stadtbezirk {names}, Stand {de_date(day)}.")


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


def charts(data: AppData, bezirk_ids: list[str], day: date) -> list[tuple[str, Chart]]:
    """Return (section, chart) for every page of the pack, each built by its view."""
    selection = Params(bezirk=tuple(bezirk_ids), stichtag=day)
    per_bezirk = [("Auf einen Blick", "bezirk-summary"), ("Bezirksprofil", "bezirk-profile")]
    if len(data.stichtage) > 1:  # a development needs two Stichtage: every Kennzahl's series on one page
        per_bezirk.append(("Entwicklung", "bezirk-series"))
    requests = [(section, key, replace(selection, bezirk=(b,))) for b in bezirk_ids for section, key in per_bezirk]
    if data.boundaries is not None:
        requests += [("Karten", "karte-map", replace(selection, indicator=k.key))
                     for k in data.catalog(day).values() if k.kind != "count"]
    requests += [("Stadtteile", "bezirk-stadtteile", selection), ("JobCenter", "jobcenter-heatmap", selection),
                 ("Kennzahlen", "bezirk-kennzahlen", selection)]
    return ([("Titel", cover_chart(data, bezirk_ids, day))] +
            [(section, build(data, key, p, inline_geometry=True)) for section, key, p in requests] +
            [("Definitionen", definitions_chart(data, day)), ("Quellen", sources_chart(data, day))])


def pages(data: AppData, bezirk_ids: list[str], day: date) -> list[tuple[str, go.Figure]]:
    """Return (section, print figure) for every page of the pack."""
    return [(section, print_figure(chart)) for section, chart in charts(data, bezirk_ids, day)]


def pack_pdf(data: AppData, bezirk_ids: list[str], day: date, renderer: Renderer = RENDERER,
             job: Job | None = None) -> bytes:
    """Return the pack as one PDF (A4 landscape, one figure per page).

    With ``job`` (a web request), every page is rendered within its budget and only while its client is there:
    the renderer checks both before each page.
    """
    writer = PdfWriter()
    for section, fig in offload(pages, data, bezirk_ids, day):
        for page in PdfReader(io.BytesIO(renderer.render(fig, FORMATS["pdf"], job))).pages:
            writer.add_page(page)
    writer.add_metadata({"/Title": f"Bezirkspaket Stadtbezirk {', '.join(bezirk_ids)} – Stand {de_date(day)}",
                         "/Author": "Stadt Essen – essen-dash"})
    out = io.BytesIO()
    offload(writer.write, out)
    return out.getvalue()


def pack_zip(data: AppData, bezirk_ids: list[str], day: date, renderer: Renderer = RENDERER,
             job: Job | None = None) -> bytes:
    """Return the pack as a ZIP of 16:9 slide PNGs, numbered in order (``job`` as for :func:`pack_pdf`)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (section, fig) in enumerate(offload(pages, data, bezirk_ids, day), start=1):
            z.writestr(f"{i:02d}_{section.lower()}.png", renderer.render(fig, FORMATS["png"], job))
    return out.getvalue()


def pack_pptx(data: AppData, bezirk_ids: list[str], day: date, renderer: Renderer = RENDERER,
              job: Job | None = None) -> bytes:
    """Return the pack as a PowerPoint deck: a slide per chart with title, source, alt text and speaker notes."""
    return deck(offload(charts, data, bezirk_ids, day), lambda fig: renderer.render(fig, FORMATS["png"], job),
                f"Bezirkspaket Stadtbezirk {', '.join(bezirk_ids)} – Stand {de_date(day)}")


def all_packs(data: AppData, bezirk_ids: list[str], day: date, renderer: Renderer = RENDERER,
              job: Job | None = None) -> bytes:
    """Return one ZIP with the PDF pack of each of the given Bezirke (all nine: ``bezirk=alle``)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for b in bezirk_ids:
            z.writestr(f"essen-bezirkspaket_{b}_{day.isoformat()}.pdf", pack_pdf(data, [b], day, renderer, job))
    return out.getvalue()


PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
#: format → (media type, builder, file extension); "alle" is the ZIP of every Bezirk's PDF pack
PACK_FORMATS = {"pdf": ("application/pdf", pack_pdf, "pdf"), "zip": ("application/zip", pack_zip, "zip"),
                "pptx": (PPTX, pack_pptx, "pptx"), "alle": ("application/zip", all_packs, "zip")}
ALL = "alle"


def parse_pack_request(raw, data: AppData) -> tuple[list[str], date, str]:
    """Return validated (Bezirke, Stichtag, format) of a pack request, or raise :class:`ExportError`."""
    every = raw.get("bezirk") == ALL
    try:
        p, _ = parse({**raw, "bezirk": ",".join(BEZIRK_IDS) if every else raw.get("bezirk")}, data,
                     ("bezirk", "stichtag"), strict=True)
    except ParamError as exc:
        raise ExportError(str(exc)) from None
    if not p.bezirk:
        raise ExportError("Bezirk angeben, einen oder mehrere von I bis IX (z. B. bezirk=III) oder bezirk=alle")
    fmt = ALL if every else raw.get("format") or "pdf"
    if fmt not in PACK_FORMATS:
        raise ExportError(f"Unbekanntes Format „{str(fmt)[:20]}“. Erlaubt: {', '.join(PACK_FORMATS)}")
    return list(p.bezirk), p.stichtag, fmt

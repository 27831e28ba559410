"""The district pack: every view of one Bezirk (or a selection) as a multi-page PDF or a ZIP of slides."""

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
    doc = data.document(day)
    lines = [
        ("Bezirksdaten", f"Stadt Essen, {doc['bezirke_source']}, Stand {de_date(doc['bezirke_stichtag'])}; "
                         f"Ratsvorlage {doc['document_id']}, Abschnitt {doc['bezirke_section']}"),
        ("JobCenter-Daten", f"Stadt Essen, {doc['jobcenter_source']}, Stand {de_date(doc['jobcenter_stichtag'])}; "
                            f"Ratsvorlage {doc['document_id']}, Abschnitt {doc['jobcenter_section']}"),
        ("Geometrie", "Stadt Essen, Grenzen der Stadtbezirke und Stadtteile, Datenlizenz Deutschland – "
                      "Namensnennung 2.0"),
    ] + [
        (f"Abweichung: {f.subject}", f"{f.check}: veröffentlicht {de_number(f.published, 1)} {f.unit}, "
                                     f"nachgerechnet {f.recomputed_text()} {f.unit}")
        for f in data.quality if f.is_discrepancy and f.stichtag == day]
    table = pd.DataFrame({"Angabe": [a for a, _ in lines], "Quelle / Formel": [b for _, b in lines]})
    return Chart(table_figure(table), "Quellen, Formeln und Hinweise", f"Stand {de_date(day)}",
                 "Zusammengestellt mit essen-dash", table)


def pages(data: AppData, bezirk_ids: list[str], day: date) -> list[tuple[str, go.Figure]]:
    """Return (section, figure) for every page of the pack, each built by its view."""
    selection = Params(bezirk=tuple(bezirk_ids), stichtag=day)
    requests = [("Bezirksprofil", "bezirk-profile", replace(selection, bezirk=(b,))) for b in bezirk_ids]
    if data.boundaries is not None:
        requests += [("Karten", "karte-map", replace(selection, indicator=k.key))
                     for k in data.catalog(day).values() if k.kind != "count"]
    requests += [("Stadtteile", "bezirk-stadtteile", selection), ("JobCenter", "jobcenter-heatmap", selection),
                 ("Kennzahlen", "bezirk-kennzahlen", selection)]
    out = [(section, print_figure(build(data, key, p, inline_geometry=True))) for section, key, p in requests]
    return out + [("Definitionen", print_figure(definitions_chart(data, day))),
                  ("Quellen", print_figure(sources_chart(data, day)))]


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


PACK_FORMATS = {"pdf": ("application/pdf", pack_pdf), "zip": ("application/zip", pack_zip)}


def parse_pack_request(raw, data: AppData) -> tuple[list[str], date, str]:
    """Return validated (Bezirke, Stichtag, format) of a pack request, or raise :class:`ExportError`."""
    try:
        p, _ = parse(raw, data, ("bezirk", "stichtag"), strict=True)
    except ParamError as exc:
        raise ExportError(str(exc)) from None
    if not p.bezirk:
        raise ExportError("Bezirk angeben, einen oder mehrere von I bis IX (z. B. bezirk=III)")
    fmt = raw.get("format") or "pdf"
    if fmt not in PACK_FORMATS:
        raise ExportError(f"Unbekanntes Format „{str(fmt)[:20]}“. Erlaubt: {', '.join(PACK_FORMATS)}")
    return list(p.bezirk), p.stichtag, fmt

"""The district pack: every view of one Bezirk (or a selection) as a multi-page PDF or a ZIP of slides."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pandas as pd
import plotly.graph_objects as go
from pypdf import PdfReader, PdfWriter

from essen_dash.data import AppData
from essen_dash.export.charts import (ExportError, ExportParams, karte_map, one_of, parse_bezirke, parse_stichtag,
                                      set_heading)
from essen_dash.export.render import FORMATS, RENDERER, Renderer
from essen_dash.figures import jobcenter as jcfig
from essen_dash.figures.bars import profile
from essen_dash.figures.choropleth import NO_VALUE_LABEL
from essen_dash.figures.common import ACCENT, FONT, INK
from essen_dash.format import de_date, de_number
from essen_dash.frames import jobcenter_matrix, jobcenter_stichtag, overlapping_areas, profile_frame, stadtteil_frame
from essen_dash.indicators import INDICATORS
from essen_dash.tables.schema import BEZIRK_IDS

SECTIONS = ("Bezirksprofil", "Indikatorkarten", "Stadtteile", "JobCenter", "Datentabelle", "Quellen")


def table_figure(header: list[str], columns: list[list], *, title: str, subtitle: str, source: str,
                 align: list[str] | None = None) -> go.Figure:
    """Return a table as a figure, so tables print in the same style as charts."""
    fig = go.Figure(go.Table(
        columnwidth=[3] + [2] * (len(header) - 1),
        header={"values": [f"<b>{h}</b>" for h in header], "fill_color": ACCENT, "font": {"color": "white", "size": 14},
                "align": "left", "height": 32},
        cells={"values": columns, "align": align or ["left"] + ["right"] * (len(header) - 1), "height": 28,
               "font": {"size": 13, "color": INK}, "fill_color": [["#ffffff", "#f4f6f8"] * 40]}))
    fig.update_layout(font={"family": FONT})
    return set_heading(fig, title, subtitle, source)


def pages(data: AppData, bezirk_ids: list[str], day: date) -> list[tuple[str, go.Figure]]:
    """Return (section, figure) for every page of the pack."""
    label = ", ".join(bezirk_ids)
    stand = f"Stand {de_date(day)}"
    source = data.source_line(day, geometry=False)
    out: list[tuple[str, go.Figure]] = []
    for b in bezirk_ids:
        rows = profile_frame(data.tables, b, day)
        fig = profile(rows[rows["key"] != "population_count"], title="")
        out.append(("Bezirksprofil", set_heading(fig, f"Bezirksprofil Stadtbezirk {b}: Vergleich mit der Gesamtstadt",
                                                 f"{stand} · Index: Bezirkswert / Wert der Gesamtstadt × 100", source)))
    if data.boundaries is not None:
        for key in INDICATORS:
            p = ExportParams("karte", "map", "pdf", indicator=key, stichtag=day)
            out.append(("Indikatorkarten", karte_map(data, p, highlight=bezirk_ids)))
    st = stadtteil_frame(data.tables, INDICATORS["origin12_pct"], day)
    st = st[st["bezirk_id"].isin(bezirk_ids)]
    out.append(("Stadtteile", table_figure(
        ["Stadtteil", "Nr.", "Stadtbezirk", "Anteil 12 Herkunftsländer"],
        [st["name"].tolist(), st["key"].tolist(), st["bezirk_id"].tolist(),
         [de_number(v, 1, "%") if pd.notna(v) else NO_VALUE_LABEL for v in st["value"]]],
        title=f"Stadtteile von Stadtbezirk {label} und veröffentlichte Werte",
        subtitle=f"{stand} · Werte nur für die in der Quelle besonders betroffenen Stadtteile", source=source)))
    jc_day = jobcenter_stichtag(data.tables, day)
    matrix = jobcenter_matrix(data.tables, jc_day).loc[overlapping_areas(data.tables, jc_day, set(bezirk_ids))]
    jc_source = data.source_line(day, "jobcenter", geometry=False)
    out.append(("JobCenter", set_heading(jcfig.heatmap(matrix, title=""),
                                         f"JobCenter: Bereiche mit Stadtteilen in Stadtbezirk {label}",
                                         f"Stand {de_date(jc_day)} · Anteil des Bereichs an allen "
                                         "SGB-II-Leistungsbeziehenden der Herkunft (Spalten der ganzen Stadt "
                                         "ergeben 100 %)", jc_source)))
    header = ["Indikator"] + [f"Bezirk {b}" for b in bezirk_ids] + ["Gesamtstadt", "Rang (von 9)"]
    frames = {b: profile_frame(data.tables, b, day) for b in bezirk_ids}
    first = frames[bezirk_ids[0]]
    columns = [first["long"].tolist()] + [frames[b]["value_text"].tolist() for b in bezirk_ids] + \
        [first["city_text"].tolist(), [" / ".join(str(frames[b].loc[i, "rank"]) for b in bezirk_ids)
                                       for i in first.index]]
    out.append(("Datentabelle", table_figure(header, columns, title=f"Datentabelle Stadtbezirk {label}",
                                             subtitle=f"{stand} · Gesamtstadt: siehe Quellen für die Formeln",
                                             source=source)))
    doc = data.document(day)
    lines = [
        ("Bezirksdaten", f"Stadt Essen, {doc['bezirke_source']}, Stand {de_date(doc['bezirke_stichtag'])}; "
                         f"Ratsvorlage {doc['document_id']}, Abschnitt {doc['bezirke_section']}"),
        ("JobCenter-Daten", f"Stadt Essen, {doc['jobcenter_source']}, Stand {de_date(doc['jobcenter_stichtag'])}; "
                            f"Ratsvorlage {doc['document_id']}, Abschnitt {doc['jobcenter_section']}"),
        ("Geometrie", "Stadt Essen, Grenzen der Stadtbezirke und Stadtteile, Datenlizenz Deutschland – "
                      "Namensnennung 2.0"),
    ] + [(r.short, r.city_formula) for r in INDICATORS.values()] + [
        (f"Abweichung: {f.subject}", f"{f.check}: veröffentlicht {de_number(f.published, 1)} {f.unit}, "
                                     f"nachgerechnet {f.recomputed_text()} {f.unit}")
        for f in data.quality if f.is_discrepancy and f.stichtag == day]
    out.append(("Quellen", table_figure(["Angabe", "Quelle / Formel"], [[a for a, _ in lines], [b for _, b in lines]],
                                        title="Quellen, Formeln und Hinweise", subtitle=stand,
                                        source="Zusammengestellt mit essen-dash", align=["left", "left"])))
    return out


def pack_pdf(data: AppData, bezirk_ids: list[str], day: date, renderer: Renderer = RENDERER) -> bytes:
    """Return the pack as one PDF (A4 landscape, one figure per page)."""
    writer = PdfWriter()
    for section, fig in pages(data, bezirk_ids, day):
        for page in PdfReader(io.BytesIO(renderer.render(fig, FORMATS["pdf"]))).pages:
            writer.add_page(page)
    writer.add_metadata({"/Title": f"Bezirkspaket Stadtbezirk {', '.join(bezirk_ids)} – Stand {de_date(day)}",
                         "/Author": "Stadt Essen – essen-dash"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pack_zip(data: AppData, bezirk_ids: list[str], day: date, renderer: Renderer = RENDERER) -> bytes:
    """Return the pack as a ZIP of 16:9 slide PNGs, numbered in order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (section, fig) in enumerate(pages(data, bezirk_ids, day), start=1):
            z.writestr(f"{i:02d}_{section.lower()}.png", renderer.render(fig, FORMATS["png"]))
    return out.getvalue()


PACK_FORMATS = {"pdf": ("application/pdf", pack_pdf), "zip": ("application/zip", pack_zip)}


def parse_pack_request(raw, data: AppData) -> tuple[list[str], date, str]:
    """Return validated (Bezirke, Stichtag, format) of a pack request, or raise :class:`ExportError`."""
    bezirke = parse_bezirke(raw.get("bezirk"))
    if not bezirke:
        raise ExportError(f"Bezirk angeben, einen oder mehrere von {', '.join(BEZIRK_IDS)} (z. B. bezirk=III)")
    fmt = one_of("format", raw.get("format") or "pdf", list(PACK_FORMATS))
    return list(bezirke), parse_stichtag(raw.get("stichtag"), data), fmt

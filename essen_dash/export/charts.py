"""Export a view as a file: the view's own chart, re-headed for print, at the format's size.

Requests are parsed strictly with the views' own parameter parsers: an unknown
page, chart, parameter value or format raises :class:`ExportError` (HTTP 400,
exit 1 in the CLI), unlike the pages, which fall back to defaults.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

from essen_dash.data import AppData
from essen_dash.export.render import FORMATS, Format, Job, Renderer, offload
from essen_dash.figures.common import FONT, INK, MUTED, housed, merged
from essen_dash.params import ParamError, Params, as_query
from essen_dash.views import Chart, View, ViewError, build, find_view, view_params


class ExportError(ValueError):
    """An export request names something that does not exist (German message for a 400 answer)."""


#: the caption printed under an export: size, line height and average character width in px (for wrapping)
CAPTION_FONT, CAPTION_LINE, CAPTION_CHAR = 13, 18, 7.2
#: the source line of an export: its line height and average character width in px; it is wrapped to the
#: narrowest print format, so a long one (several deliveries, two Stichtage) is never cut at the page's edge
SOURCE_LINE, SOURCE_CHAR, PRINT_WIDTH = 18, 6.6, min(f.width for f in FORMATS.values())
#: room for the print heading (title and a line of subtitle) and for each further line of subtitle, in px
HEADING, SUBTITLE_LINE = 104, 18
#: the author named in every exported PDF
AUTHOR = "Stadt Essen – essen-dash"


def print_figure(chart: Chart, caption_width: int = 0) -> dict:
    """Return the chart with the print heading (title, subtitle, source line) as plotly JSON; content unchanged.

    With ``caption_width`` (the page width in px), the chart's German sentence is printed above the source line,
    wrapped to that width. Plain data: the chart's figure was validated when it was built, and checking it again
    took longer than rendering it.
    """
    figure = chart.plotly_json()
    source = textwrap.wrap(chart.source, int(((caption_width or PRINT_WIDTH) - 48) / SOURCE_CHAR))
    lines = textwrap.wrap(chart.caption, int((caption_width - 48) / CAPTION_CHAR)) if caption_width else []
    caption = [f"<span style='font-size:{CAPTION_FONT}px;color:{INK}'>{'<br>'.join(lines)}</span>"] if lines else []
    layout = merged(housed(figure["layout"]), {
        "title": {"text": f"<b>{chart.title}</b><br><span style='font-size:14px;color:{MUTED}'>{chart.subtitle}</span>",
                  "font": {"size": 22, "color": INK}, "x": 0.01, "xanchor": "left", "yref": "container", "y": 0.97,
                  "yanchor": "top", "pad": {"t": 0}},
        "font": {"family": FONT}, "margin": {"t": HEADING + SUBTITLE_LINE * chart.subtitle.count("<br>"),
                                             "l": 24, "r": 24}})
    # room for the source line at the foot, below tick labels and axis titles; a figure's own wider margin stays
    bottom = max(layout["margin"].get("b") or 0, 46 if chart.source else 10)
    layout["margin"]["b"] = bottom + CAPTION_LINE * len(lines) + (4 if lines else 0) + \
        SOURCE_LINE * max(len(source) - 1, 0)
    if chart.source:
        layout["annotations"] = [*layout.get("annotations", ()), {
            "text": "<br>".join(caption + source), "showarrow": False, "xref": "paper", "yref": "paper", "x": 0,
            "y": 0, "yshift": -(bottom - 18), "xanchor": "left", "yanchor": "top", "align": "left",
            "font": {"size": 12, "color": MUTED}, "name": "source"}]
    return {"data": figure["data"], "layout": layout}


@dataclass(frozen=True)
class ExportRequest:
    """A validated export: which view, with which parameters, in which format."""

    view: View
    params: Params
    format: Format
    caption: bool = False

    def figure(self, data: AppData) -> dict:
        return print_figure(build(data, self.view.key, self.params, inline_geometry=True),
                            self.format.width if self.caption else 0)

    def finish(self, body: bytes, data: AppData) -> bytes:
        """Return the rendered file with its document title (a PDF would otherwise be titled by the renderer)."""
        if self.format.key != "pdf":
            return body
        return pdf_of([body], build(data, self.view.key, self.params).title)

    def render(self, data: AppData, renderer: Renderer, job: Job | None = None) -> bytes:
        """Return the finished file, from the renderer's cache if it was made before, else rendered and kept."""
        key = self._key(data, renderer)
        body = renderer.cache.get(key)
        if body is None:  # figure and finish are pure Python (a map's PDF: 60 ms in pypdf): not in the worker's loop
            body = renderer.cache.put(key, offload(self.finish, renderer.render(offload(self.figure, data),
                                                                                 self.format, job), data))
        return body

    def kept(self, data: AppData, renderer: Renderer) -> bytes | None:
        """Return the file if the renderer has it already (then nothing needs to wait for the renderer)."""
        return renderer.cache.get(self._key(data, renderer))

    def _key(self, data: AppData, renderer: Renderer) -> tuple:
        return renderer.cache.key(data, "chart", self.view.key, self.params, self.format.key, self.caption)

    @property
    def filename(self) -> str:
        """Return a download name made only of validated parts (never a path from the request)."""
        values = as_query(self.params, self.view.params)
        parts = [self.view.page, self.view.chart,
                 *(re.sub(r"[^0-9A-Za-zÄÖÜäöüß.]+", "-", values[n]) for n in values),
                 self.params.stichtag.isoformat(), *(["mit-satz"] if self.caption else [])]
        return "essen-" + "_".join(parts) + "." + self.format.key


def parse_request(raw: Mapping[str, str], data: AppData) -> ExportRequest:
    """Return the validated export request or raise :class:`ExportError`."""
    try:
        view = find_view(raw.get("page"), raw.get("chart"))
        params, _ = view_params(view, raw, data, strict=True)
    except (ParamError, ViewError) as exc:
        raise ExportError(str(exc)) from None
    fmt = raw.get("format") or "png"
    if fmt not in FORMATS:
        raise ExportError(f"Unbekanntes Format „{fmt[:20]}“. Erlaubt: {', '.join(FORMATS)}")
    caption = raw.get("caption") or "0"
    if caption not in ("0", "1"):
        raise ExportError(f"Ungültiger Wert „{caption[:20]}“ für caption. Erlaubt: 0 (ohne Satz) oder 1 (mit Satz)")
    return ExportRequest(view, params, FORMATS[fmt], caption == "1")


def pdf_of(files: list[bytes], title: str) -> bytes:
    """Return one PDF of the pages of the PDFs ``files``, in order, titled ``title`` (the renderer would title it
    otherwise)."""
    from pypdf import PdfReader, PdfWriter  # imported when first needed: 0.1 s of a cold start

    writer = PdfWriter()
    for body in files:
        for page in PdfReader(io.BytesIO(body)).pages:
            writer.add_page(page)
    writer.add_metadata({"/Title": title, "/Author": AUTHOR})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

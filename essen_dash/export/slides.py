"""The district pack as a PowerPoint deck: one chart per slide, with title, source, alt text and speaker notes.

Every slide's picture is the view's own chart (rendered by the warm kaleido renderer); its title is the chart's
title, the subtitle and source stand on the slide as text, the alt text is the chart's German sentence, and the
speaker notes repeat that sentence for whoever presents. The pictures are rendered by the caller, all in one
stream.
"""

from __future__ import annotations

import io

from pptx import Presentation
from pptx.util import Emu, Pt

from essen_dash.figures.common import housed, merged
from essen_dash.views import Chart

SLIDE_WIDTH, SLIDE_HEIGHT = Emu(12_192_000), Emu(6_858_000)  # 16:9, 13,333 × 7,5 in
MARGIN = Emu(380_000)
TITLE_ONLY = 5  # layout of python-pptx's default template


def slide_figure(chart: Chart) -> dict:
    """Return the chart (plotly JSON) without heading (the slide carries it) and without the source line (ditto)."""
    figure = chart.plotly_json()
    layout = merged(housed(figure["layout"]), {"margin": {"t": 30, "l": 24, "r": 24}})
    layout["margin"]["b"] = max(layout["margin"].get("b") or 0, 10)
    layout.pop("title", None)
    return {"data": figure["data"], "layout": layout}


def deck(slides: list[tuple[Chart, bytes]], title: str) -> bytes:
    """Return a .pptx with a slide per chart; each comes with its picture, the 16:9 PNG of its
    :func:`slide_figure`."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    prs.core_properties.title = title
    prs.core_properties.author = "Stadt Essen – essen-dash"
    for chart, png in slides:
        slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
        heading = slide.shapes.title
        heading.left, heading.top, heading.width, heading.height = MARGIN, Emu(180_000), SLIDE_WIDTH - 2 * MARGIN, \
            Emu(620_000)
        heading.text = chart.title
        heading.text_frame.paragraphs[0].runs[0].font.size = Pt(26)
        sub = slide.shapes.add_textbox(MARGIN, Emu(800_000), SLIDE_WIDTH - 2 * MARGIN, Emu(420_000)).text_frame
        sub.word_wrap = True
        sub.text = chart.subtitle.replace("<br>", " · ")
        sub.paragraphs[0].runs[0].font.size = Pt(13)
        top = Emu(1_250_000)
        height = SLIDE_HEIGHT - top - Emu(520_000)
        picture = slide.shapes.add_picture(io.BytesIO(png), MARGIN, top,
                                           height=height)
        picture.left = int((SLIDE_WIDTH - picture.width) / 2)
        picture._element.nvPicPr.cNvPr.set("descr", chart.caption or chart.title)  # alt text
        source = slide.shapes.add_textbox(MARGIN, SLIDE_HEIGHT - Emu(480_000), SLIDE_WIDTH - 2 * MARGIN,
                                          Emu(360_000)).text_frame
        source.text = chart.source
        source.paragraphs[0].runs[0].font.size = Pt(11)
        slide.notes_slide.notes_text_frame.text = "\n".join(filter(None, [chart.caption, chart.source]))
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()

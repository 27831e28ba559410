"""Static export for real: PNG/SVG/PDF files through kaleido and Debian's Chromium, via CLI and HTTP."""

from __future__ import annotations

import contextlib
import io
import os
import threading
import xml.etree.ElementTree as ET
import zipfile
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from essen_dash.cli import main
from essen_dash.export import render
from essen_dash.export.charts import ExportError, parse_request
from essen_dash.paths import settings

DAY = "2016-09-30"
SOURCE = "Quelle: Stadt Essen, FB 12, Stand 30.09.2016"
JC_SOURCE = "Quelle: Stadt Essen, FB 56, Stand 05.10.2016"
#: (CLI/HTTP parameters, title text, source text): a map, a bar chart and the heatmap
CHARTS = {
    "map": ({"page": "karte", "chart": "map", "indicator": "bg_ro_pct", "level": "bezirk", "stichtag": DAY},
            "Anteil Bulgarien/Rumänien an den Nichtdeutschen", SOURCE + "; Geometrie: Stadt Essen"),
    "bars": ({"page": "zuteilung", "chart": "bars", "bezirk": "I,III", "stichtag": DAY},
             "Projektwohnungen und 12 Herkunftsländer (Personen): Anteile je Bezirk", SOURCE),
    "heatmap": ({"page": "jobcenter", "chart": "heatmap", "stichtag": DAY},
                "SGB-II-Leistungsbeziehende: Verteilung nach Herkunft auf die JobCenter-Bereiche", JC_SOURCE),
}


@pytest.fixture(scope="module")
def data():
    from essen_dash.data import load_app_data

    return load_app_data(settings())


@pytest.fixture(scope="module")
def client(data):
    from essen_dash.app import create_app

    return create_app(data=data).server.test_client()


def check_png(body: bytes) -> None:
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(body)).size == (1920, 1080)


def check_svg(body: bytes, title: str, source: str) -> None:
    root = ET.fromstring(body)
    text = " ".join("".join(el.itertext()) for el in root.iter() if el.tag.endswith("text"))
    assert title in text and source in text and "Stand" in text


def check_pdf(body: bytes, title: str, source: str, stand: str = "Stand 30.09.2016") -> None:
    reader = PdfReader(io.BytesIO(body))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 596)  # A4 landscape in points
    assert title.split(":")[0] in (reader.metadata.title or "")  # titled by its chart, not by the renderer
    text = reader.pages[0].extract_text()
    assert title.split(":")[0] in text and source in text and stand in text


def check(fmt: str, body: bytes, title: str, source: str) -> None:
    stand = source.split(", Stand ")[1][:10]  # the chart's own Stichtag, as in its source line
    {"png": lambda: check_png(body), "svg": lambda: check_svg(body, title, source),
     "pdf": lambda: check_pdf(body, title, source, f"Stand {stand}")}[fmt]()


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
@pytest.mark.parametrize("chart", list(CHARTS))
def test_cli_export(tmp_path, chart, fmt):
    params, title, source = CHARTS[chart]
    out = tmp_path / f"x.{fmt}"
    args = ["export", "--format", fmt, "--out", str(out)]
    for k, v in params.items():
        args += [f"--{k}", v]
    assert main(args) == 0
    check(fmt, out.read_bytes(), title, source)


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
@pytest.mark.parametrize("chart", list(CHARTS))
def test_browser_download_path(client, chart, fmt):
    params, title, source = CHARTS[chart]
    response = client.get("/download/chart", query_string={**params, "format": fmt})
    assert response.status_code == 200, response.data[:200]
    assert response.mimetype == render.FORMATS[fmt].media_type
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="essen-') and "/" not in disposition
    check(fmt, response.data, title, source)


def test_a_long_source_line_is_wrapped_whole_onto_the_page(client, data):
    """A source line of several deliveries is longer than an A4 page is wide: it wraps, nothing is cut."""
    from essen_dash.views import build, find_view, view_params

    query = {"page": "verteilung", "chart": "comparison"}
    view = find_view(**query)
    source = build(data, view.key, view_params(view, {}, data, strict=True)[0]).source
    assert len(source) > 170 and source.endswith("Pressemitteilung der Stadt Essen vom 04.09.2017")
    body = client.get("/download/chart", query_string={**query, "format": "pdf"}).data
    page = PdfReader(io.BytesIO(body)).pages[0]
    runs = []  # (text, x, y) of every text run, in points from the page's lower left
    page.extract_text(visitor_text=lambda text, cm, tm, *_: runs.append((text, tm[4] * cm[0] + cm[4],
                                                                         tm[5] * cm[3] + cm[5])))
    text = " ".join(t for t, *_ in runs)
    assert " ".join(source.split()) in " ".join(text.split())
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert all(0 <= x < width and 0 < y < height for t, x, y in runs if t.strip())


def test_export_carries_filter_and_unit(client):
    body = client.get("/download/chart", query_string={"page": "karte", "chart": "ranking", "format": "svg",
                                                       "bezirk": "II,V", "indicator": "project_housing_pct",
                                                       "stichtag": DAY}).data
    check_svg(body, "Rangfolge der Stadtbezirke", SOURCE)
    text = body.decode()
    assert "Auswahl: Stadtbezirk II, V" in text and "Einheit: %" in text


def series_pages(data) -> int:
    """Return the pages of development per Bezirk: one per Bezirk Kennzahl with two or more Stichtage in the
    data, else none."""
    return len(data.catalog(date.fromisoformat(DAY)).at_level("bezirk")) if len(data.stichtage) > 1 else 0


def test_district_pack_for_bezirk_iii(client, data):
    response = client.get("/download/pack", query_string={"bezirk": "III", "format": "pdf", "stichtag": DAY})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    texts = [p.extract_text() for p in reader.pages]
    assert len(texts) == 14 + series_pages(data)
    whole = "\n".join(texts)
    assert "Bezirkspaket Stadtbezirk III" in texts[0] and "Altendorf, Frohnhausen, Holsterhausen" in flat(texts[0])
    assert "Stadtbezirk III auf einen Blick" in texts[1]
    assert "Stadtbezirk III: 4,2 % (4.162 Personen), über dem Wert der Gesamtstadt (3,6 %); Rang 3 von 9." in \
        flat(texts[1])
    for section in ("Stadtbezirk III im Vergleich zur Gesamtstadt", "Auswahl: Stadtbezirk III",
                    "Stadtteile von Stadtbezirk III", "Altendorf", "8,3 %", "kein Wert veröffentlicht",
                    "in der Quelle nicht genannt", "Bereiche mit Stadtteilen in Stadtbezirk III",
                    "Kennzahlen Stadtbezirk III", "98.439 Personen", "588.875 Personen",
                    "Kennzahlen: Herkunft und Wert der Gesamtstadt", "Quellen, Formeln und Hinweise",
                    "Namensnennung 2.0"):
        assert section in whole, section
    # one map page per share Kennzahl of the catalog, each with the Bezirk outlined
    assert sum("Auswahl: Stadtbezirk III" in t for t in texts) == 6
    assert "Ratsvorlage 1846/2016" in texts[-1]


def flat(text: str) -> str:
    """Return PDF text with line breaks and runs of spaces as single spaces (titles may wrap)."""
    return " ".join(text.split())


def share_labels(data) -> list[str]:
    """Return the labels of the Kennzahlen the pack maps (every kind but counts), in catalog order."""
    return [k.label for k in data.catalog(date.fromisoformat(DAY)).values() if k.kind != "count"]


@pytest.mark.parametrize("bezirke", [["III"], ["I", "III"]], ids=["III", "I-III"])
def test_district_pack_pages_in_order(client, data, bezirke):
    """A cover, then per Bezirk its summary and profile, one map per non-count Kennzahl (selection outlined), the
    Stadtteile table, the JobCenter heatmap, the Kennzahlen table, the definitions and the sources — in order."""
    labels = share_labels(data)
    assert labels == ["Anteil aus den 12 wesentlichen Herkunftsländern Geflüchteter",
                      "Anteil Bulgarien/Rumänien an den Nichtdeutschen", "Anteil Bulgarien an den Nichtdeutschen",
                      "Anteil Rumänien an den Nichtdeutschen", "Anteil an den Projektwohnungen für Flüchtlinge",
                      "Anteil nichtdeutscher Bevölkerung"]
    chosen = ", ".join(bezirke)
    response = client.get("/download/pack", query_string={"bezirk": ",".join(bezirke), "format": "pdf",
                                                           "stichtag": DAY})
    assert response.status_code == 200
    texts = [flat(p.extract_text()) for p in PdfReader(io.BytesIO(response.data)).pages]
    each = 2 + series_pages(data)
    assert len(texts) == 1 + each * len(bezirke) + len(labels) + 5
    assert f"Bezirkspaket Stadtbezirk {chosen}" in texts[0]
    per_bezirk, rest = texts[1:1 + each * len(bezirke)], texts[1 + each * len(bezirke):]
    for b, summary, profile in zip(bezirke, per_bezirk[::each], per_bezirk[1::each]):
        assert f"Stadtbezirk {b} auf einen Blick" in summary
        assert f"Stadtbezirk {b} im Vergleich zur Gesamtstadt" in profile
    entwicklung = [k.label for k in data.catalog(date.fromisoformat(DAY)).at_level("bezirk")]
    for i, b in enumerate(bezirke):
        for label, series in zip(entwicklung if series_pages(data) else [], per_bezirk[i * each + 2:(i + 1) * each]):
            assert f"Entwicklung: {label}" in series and f"Stadtbezirk {b}" in series
    maps, (stadtteile, jobcenter, kennzahlen, definitions, sources) = rest[:len(labels)], rest[len(labels):]
    for label, text in zip(labels, maps):
        assert [other for other in labels if other in text] == [label], (label, text[:300])
        assert f"Auswahl: Stadtbezirk {chosen}" in text and "Stand 30.09.2016" in text
        assert SOURCE + "; Geometrie: Stadt Essen" in text
    assert f"Stadtteile von Stadtbezirk {chosen}" in stadtteile
    assert "Altendorf" in stadtteile and "8,3 %" in stadtteile and "in der Quelle nicht genannt" in stadtteile
    assert f"Bereiche mit Stadtteilen in Stadtbezirk {chosen}" in jobcenter and JC_SOURCE in jobcenter
    assert f"Kennzahlen Stadtbezirk {chosen}" in kennzahlen and "588.875 Personen" in kennzahlen
    assert "98.439 Personen" in kennzahlen  # Bezirk III's population
    assert "Kennzahlen: Herkunft und Wert der Gesamtstadt" in definitions
    assert "Quellen, Formeln und Hinweise" in sources and "Ratsvorlage 1846/2016" in sources


def test_district_pack_as_slides(client, data):
    response = client.get("/download/pack", query_string={"bezirk": "III", "format": "zip", "stichtag": DAY})
    with zipfile.ZipFile(io.BytesIO(response.data)) as z:
        names = z.namelist()
        n = series_pages(data)
        assert names == ["01_titel.png", "02_auf einen blick.png", "03_bezirksprofil.png"] + [
            f"{i:02d}_entwicklung.png" for i in range(4, 4 + n)] + [f"{i:02d}_karten.png" for i in range(4 + n, 10 + n)] + [
            f"{i + n:02d}_{name}.png" for i, name in ((10, "stadtteile"), (11, "jobcenter"), (12, "kennzahlen"),
                                                      (13, "definitionen"), (14, "quellen"))]
        assert len(share_labels(data)) == 6
        for name in names:
            check_png(z.read(name))


def test_cli_pack(tmp_path, data):
    out = tmp_path / "iii.pdf"
    assert main(["export-pack", "--bezirk", "III", "--stichtag", DAY, "--out", str(out)]) == 0
    assert len(PdfReader(out).pages) == 14 + series_pages(data)


def test_district_pack_as_powerpoint(client, data):
    """One slide per page of the pack, each titled, with the chart as a picture whose alt text is its German
    sentence, and that sentence in the speaker notes."""
    from pptx import Presentation

    response = client.get("/download/pack", query_string={"bezirk": "III", "format": "pptx", "stichtag": DAY})
    assert response.status_code == 200 and response.mimetype.endswith("presentationml.presentation")
    deck = Presentation(io.BytesIO(response.data))
    slides = list(deck.slides)
    assert len(slides) == 14 + series_pages(data) and deck.core_properties.title == "Bezirkspaket Stadtbezirk III – Stand 30.09.2016"
    profile = next(s for s in slides if s.shapes.title.text == "Stadtbezirk III im Vergleich zur Gesamtstadt")
    (picture,) = [s for s in profile.shapes if s.shape_type == 13]
    alt = picture._element.nvPicPr.cNvPr.get("descr")
    assert alt.startswith("Stadtbezirk III liegt über dem Wert der Gesamtstadt bei 12 Herkunftsländer")
    assert profile.notes_slide.notes_text_frame.text.startswith(alt)
    assert any(SOURCE in s.text_frame.text for s in profile.shapes if s.has_text_frame)


def test_all_nine_packs_in_one_zip(tmp_path):
    out = tmp_path / "alle.zip"
    assert main(["export-pack", "--bezirk", "alle", "--stichtag", DAY, "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert names == [f"essen-bezirkspaket_{b}_2016-09-30.pdf" for b in
                         ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX")]
        assert "Bezirkspaket Stadtbezirk IX" in PdfReader(io.BytesIO(z.read(names[-1]))).pages[0].extract_text()


@pytest.mark.parametrize("query, message", [
    ({"page": "nirgends", "format": "png"}, "Unbekannte Seite „nirgends“"),
    ({"page": "karte", "indicator": "foo", "format": "png"}, "Der Wert „foo“ für „indicator“ ist ungültig"),
    ({"page": "karte", "bezirk": "I,XYZ", "format": "png"}, "Der Wert „I,XYZ“ für „bezirk“ ist ungültig"),
    ({"page": "karte", "format": "gif"}, "Unbekanntes Format „gif“"),
    ({"page": "../../etc/passwd", "format": "png"}, "Unbekannte Seite"),
    ({"page": "karte", "stichtag": "2020-01-01"}, "Der Wert „2020-01-01“ für „stichtag“ ist ungültig"),
    ({"page": "bezirk", "format": "png"}, "genau einen Stadtbezirk"),
    ({"page": "karte", "chart": "torte", "format": "png"}, "Unbekanntes Diagramm „torte“"),
])
def test_bad_export_parameters_answer_400(client, query, message):
    response = client.get("/download/chart", query_string=query)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("query", [{"bezirk": "XYZ"}, {"bezirk": "III", "format": "doc"}, {}])
def test_bad_pack_parameters_answer_400(client, query):
    assert client.get("/download/pack", query_string=query).status_code == 400


def test_concurrent_exports_do_not_mix(client):
    keys = ["origin12_pct", "bg_pct", "ro_pct", "non_german_pct"]
    labels = {"origin12_pct": "Anteil aus den 12 wesentlichen", "bg_pct": "Anteil Bulgarien an den",
              "ro_pct": "Anteil Rumänien an den", "non_german_pct": "Anteil nichtdeutscher Bevölkerung"}
    results: dict[str, bytes] = {}

    def fetch(key):
        results[key] = client.get("/download/chart", query_string={"page": "karte", "indicator": key,
                                                                   "format": "svg", "stichtag": DAY}).data

    threads = [threading.Thread(target=fetch, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for key in keys:
        text = results[key].decode()
        assert labels[key] in text
        assert all(labels[other] not in text for other in keys if other != key)


def test_the_render_helpers_chromium_runs_below_the_workers(client):
    """Every process of the helper's Chromium runs at the helper's lower priority: none raised its own (as root,
    Chromium sets its browser and GPU process to nice -8 where it may)."""
    assert client.get("/download/chart", query_string={**CHARTS["bars"][0], "format": "png"}).status_code == 200
    group = render.RENDERER._local().helper.browser_pid
    niceness = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:  # the process group (field 5 of proc(5))
                niceness[int(stat.parent.name)] = int(fields[16])  # nice (field 19)
    assert len(niceness) >= 3, niceness  # browser, GPU or utility processes, renderers
    assert min(niceness.values()) >= os.nice(0) + render.HELPER_NICENESS, niceness


def test_missing_chromium_is_reported_and_app_keeps_working(client, monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    fresh = render.Renderer()
    with pytest.raises(render.ExportUnavailable, match="Debian-Paket „chromium“"):
        fresh.render(__import__("plotly.graph_objects").graph_objects.Figure(), render.FORMATS["png"])
    monkeypatch.setattr(render, "RENDERER", fresh)
    response = client.get("/download/chart", query_string={"page": "karte", "format": "png"})
    assert response.status_code == 503 and "Debian-Paket „chromium“" in response.get_data(as_text=True)
    assert response.headers["Retry-After"].isdigit()
    assert client.get("/health").status_code == 200
    assert client.get("/geo/bezirk.geojson").status_code == 200


def test_parse_request_is_strict(data):
    with pytest.raises(ExportError):
        parse_request({"page": "karte", "scheme": "rainbow"}, data)
    r = parse_request({"page": "jobcenter", "stichtag": DAY}, data)
    assert (r.view.key, r.params.gruppe, r.format.key) == ("jobcenter-map", "Afghanistan", "png")
    assert r.filename == "essen-jobcenter_map_Afghanistan_2016-09-30.png"


class Counting(render.Renderer):
    """The real renderer, counting the figures it renders."""

    def __init__(self) -> None:
        super().__init__()
        self.figures = 0

    def render_many(self, figs, fmt, job=None):
        figs = list(figs)
        self.figures += len(figs)
        return super().render_many(figs, fmt, job)


def test_exports_asked_for_again_come_from_the_cache(client, data, monkeypatch):
    """A chart or a pack asked for again is not rendered again; packs share their definitions and sources; other
    data (another bundle) are rendered anew."""
    from essen_dash.data import load_app_data
    from essen_dash.export.pack import pack_pdf

    counting = Counting()
    monkeypatch.setattr(render, "RENDERER", counting)
    try:
        chart = {"page": "karte", "chart": "map", "indicator": "bg_ro_pct", "stichtag": DAY}
        first = client.get("/download/chart", query_string={**chart, "format": "pdf"})
        again = client.get("/download/chart", query_string={**chart, "format": "pdf"})
        assert first.status_code == again.status_code == 200 and first.data == again.data
        assert again.headers["Content-Disposition"] == first.headers["Content-Disposition"]
        assert counting.figures == 1
        check_pdf(again.data, CHARTS["map"][1], CHARTS["map"][2])
        assert client.get("/download/chart", query_string={**chart, "format": "png"}).status_code == 200
        assert counting.figures == 2  # another format is another file
        pages = 14 + series_pages(data)
        pack = {"bezirk": "III", "format": "pdf", "stichtag": DAY}
        body = client.get("/download/pack", query_string=pack).data
        assert counting.figures == 2 + pages
        assert client.get("/download/pack", query_string=pack).data == body and counting.figures == 2 + pages
        # another Bezirk's pack shares the definitions and the sources
        other = client.get("/download/pack", query_string={**pack, "bezirk": "I"}).data
        assert "Bezirkspaket Stadtbezirk I" in PdfReader(io.BytesIO(other)).pages[0].extract_text()
        assert counting.figures == 2 + 2 * pages - 2
        # the same data read again are another bundle: nothing of the first is served for it
        pack_pdf(load_app_data(settings()), ["III"], date.fromisoformat(DAY), counting)
        assert counting.figures == 2 + 3 * pages - 2
    finally:
        counting.close()

"""Every view has one definition: the screen and the export carry the same values; a new catalog row shows up
on the map, in the export and in the district pack (real data, real boundaries, real Chromium)."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import xml.etree.ElementTree as ET
from datetime import date

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.io.json import to_json_plotly
from pypdf import PdfReader

from essen_dash import paths
from essen_dash.cli import main
from essen_dash.data import load_app_data
from essen_dash.export.charts import print_figure
from essen_dash.figures.choropleth import VALUES
from essen_dash.params import Params
from essen_dash.views import VIEWS, build, screen

DAY = date(2016, 9, 30)
VALUE_FIELDS = ("x", "y", "z", "locations", "text", "lon", "lat")


@pytest.fixture(scope="module")
def data():
    return load_app_data(paths.settings())


def values(figure) -> list:
    """Return what a figure shows as sent to plotly.js (arrays as plotly encodes them): every trace's data fields
    (tables: their cells), not its styling."""
    out = []
    for trace in json.loads(to_json_plotly(figure))["data"]:
        if trace["type"] == "table":
            out.append([list(c) for c in trace["cells"]["values"]])
            continue
        out.append({f: [list(v) if isinstance(v, (list, tuple)) else v for v in decoded(trace[f])]
                    if isinstance(decoded(trace[f]), (list, tuple)) else trace[f] for f in VALUE_FIELDS if f in trace})
    return out


def decoded(field):
    """Return a plotly typed array (``{"dtype", "bdata"}``, base64) as the list of its numbers; anything else as is."""
    if isinstance(field, dict) and "bdata" in field:
        return np.frombuffer(base64.b64decode(field["bdata"]), dtype=field["dtype"]).tolist()
    return field


@pytest.mark.parametrize("key", list(VIEWS))
def test_screen_and_export_show_the_same_values(data, key):
    p = Params(stichtag=DAY, bezirk=("III",), gruppe="Bulgarien", indicator="bg_ro_pct", level="stadtteil")
    shown = screen(data, key, p)
    printed = print_figure(build(data, key, p, inline_geometry=True))
    assert values(shown) == values(printed)
    assert len(values(shown)) >= 1
    title = build(data, key, p).title
    assert title in printed["layout"]["title"]["text"]  # printed: heading in the figure; on screen HTML around it
    assert "title" not in shown["layout"]


@pytest.fixture(scope="module")
def with_new_row(tmp_path_factory):
    """Return a copy of the bundled data package with one more catalog row (a derived count)."""
    folder = tmp_path_factory.mktemp("data")
    shutil.copytree(paths.DEFAULT_DATA_DIR, folder, dirs_exist_ok=True)
    row = {"key": "bg_ro_count", "label": "Personen aus Bulgarien und Rumänien",
           "short_label": "Bulgarien/Rumänien (Personen)", "unit": "Personen", "kind": "count",
           "definition": "Summe der bulgarischen und rumänischen Staatsangehörigen.", "obtained": "derived",
           "formula": "bg_count + ro_count", "reference": "sum", "reference_source": "", "reference_note": "",
           "decimals": "0", "levels": "bezirk", "source": "bezirke", "aliases": ""}
    with (folder / "kennzahlen.csv").open("a", encoding="utf-8", newline="") as fh:
        csv.DictWriter(fh, fieldnames=list(row), lineterminator="\n").writerow(row)
    return folder


def test_a_new_catalog_row_is_on_the_map(with_new_row):
    data = load_app_data(paths.settings(data_dir=with_new_row))
    chart = build(data, "karte-map", Params(indicator="bg_ro_count", stichtag=DAY))
    # the values trace: every area, z missing where none
    trace = go.Figure(screen(data, "karte-map", Params(indicator="bg_ro_count", stichtag=DAY))).data[VALUES]
    assert trace.type == "choropleth" and trace.name == "Bulgarien/Rumänien (Personen)"
    assert dict(zip(trace.locations, trace.z))["III"] == 1507 and chart.title == "Personen aus Bulgarien und Rumänien"


def test_a_new_catalog_row_is_exported_and_in_the_pack(with_new_row, tmp_path):
    svg = tmp_path / "karte.svg"
    assert main(["export", "--page", "karte", "--chart", "map", "--indicator", "bg_ro_count", "--stichtag",
                 DAY.isoformat(), "--format", "svg", "--out", str(svg), "--data-dir", str(with_new_row)]) == 0
    text = " ".join("".join(el.itertext()) for el in ET.fromstring(svg.read_bytes()).iter() if el.tag.endswith("text"))
    assert "Personen aus Bulgarien und Rumänien" in text and "1.507" not in text  # labels on the map: numerals
    pack = tmp_path / "pack.pdf"
    assert main(["export-pack", "--bezirk", "III", "--stichtag", DAY.isoformat(), "--out", str(pack),
                 "--data-dir", str(with_new_row)]) == 0
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pack.read_bytes())).pages]
    table = next(t for t in pages if "Kennzahlen Stadtbezirk III" in t)
    assert "Personen aus Bulgarien und Rumänien" in table and "1.507 Personen" in table and "5.941 Personen" in table

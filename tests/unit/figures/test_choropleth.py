"""Map builders: the figure holds the loaded values; geometry is referenced, never repeated."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from essen_dash.figures.choropleth import NO_VALUE_LABEL, assign, choropleth, value_layout, value_traces
from essen_dash.frames import bezirk_frame, stadtteil_frame
from essen_dash.indicators import INDICATORS

DAY = date(2016, 9, 30)
URL = "/geo/bezirk.geojson"


def valued(fig_data):
    return [t for t in fig_data if t.type == "choropleth" and t.name != NO_VALUE_LABEL]


@pytest.mark.parametrize("key", list(INDICATORS))
def test_continuous_map_holds_exact_values(tables, key):
    frame = bezirk_frame(tables, INDICATORS[key], DAY)
    fig = choropleth(frame, INDICATORS[key], "continuous", URL, level="bezirk", level_label="Stadtbezirke",
                     stichtag_text="30.09.2016", source="Quelle: x")
    (trace,) = valued(fig.data)
    assert dict(zip(trace.locations, trace.z)) == dict(zip(tables["bezirke"]["bezirk_id"], tables["bezirke"][key]))
    assert trace.geojson == URL  # geometry by reference only
    assert INDICATORS[key].label in fig.layout.title.text and "Stand 30.09.2016" in fig.layout.title.text
    assert fig.layout.annotations[0].text == "Quelle: x"


def test_classified_map_has_one_legend_entry_per_class(tables):
    ind = INDICATORS["origin12_pct"]
    traces = value_traces(bezirk_frame(tables, ind, DAY), ind, "quantiles", URL)
    # mapclassify merges the tied quantile bins (three Bezirke at 4.2): three classes
    assert [t.name for t in traces] == ["1,1 – 1,4 %", "1,4 – 4,2 %", "4,2 – 7,1 %"]
    assert all(t.showlegend for t in traces)
    members = sorted(loc for t in traces for loc in t.locations)
    assert members == sorted(["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"])
    hover = {row[4]: row for t in traces for row in t.customdata}
    assert list(hover["I"][:4]) == ["Stadtbezirk I", "7,1 %", "Rang 1 von 9", "Gesamtstadt: 3,6 %"]


def test_stadtteile_without_value_are_drawn_grey_not_zero(tables):
    ind = INDICATORS["origin12_pct"]
    traces = value_traces(stadtteil_frame(tables, ind, DAY), ind, "continuous", "/geo/stadtteil.geojson")
    grey = next(t for t in traces if t.name == NO_VALUE_LABEL)
    assert len(grey.locations) == 42 and grey.showlegend
    assert all(row[1] == NO_VALUE_LABEL for row in grey.customdata)
    (coloured,) = valued(traces)
    assert dict(zip(coloured.locations, coloured.z))["1"] == 11.7 and 0 not in coloured.z


def test_selection_narrows_the_map(tables):
    ind = INDICATORS["origin12_pct"]
    traces = value_traces(stadtteil_frame(tables, ind, DAY), ind, "natural_breaks", "/geo/stadtteil.geojson",
                          selected={"III"})
    shown = {loc for t in traces for loc in t.locations}
    reg = tables["stadtteile_register"]
    assert shown == set(reg[reg["bezirk_id"] == "III"]["stadtteil_nr"].astype(str))


def test_labels_are_added_from_points(tables):
    ind = INDICATORS["bg_pct"]
    frame = bezirk_frame(tables, ind, DAY)
    points = pd.DataFrame({"key": frame["key"], "lon": range(9), "lat": range(9)})
    labels = value_traces(frame, ind, "continuous", URL, labels=points)[-1]
    assert labels.type == "scattergeo" and list(labels.text) == list(frame["bezirk_id"])


def test_value_layout_patches_titles():
    class Node(dict):
        def __getitem__(self, key):
            return self.setdefault(key, Node())

    target = Node()
    assign(target, value_layout(INDICATORS["ro_pct"], "deviation", "Stadtbezirke", "30.09.2016"))
    assert "Rumänien" in target["title"]["text"] and "Abweichung vom Stadtwert" in target["title"]["text"]
    assert target["legend"]["title"]["text"] == "Rumänien (%)"


def test_figures_carry_no_default_template(tables):
    import json

    from essen_dash.figures.bars import ranking

    ind = INDICATORS["bg_pct"]
    frame = bezirk_frame(tables, ind, DAY)
    fig = ranking(frame, ind, ["#000"] * 9)
    assert len(json.dumps(fig.to_plotly_json()["layout"].get("template", {}))) < 100
    assert len(fig.to_json()) < 6000

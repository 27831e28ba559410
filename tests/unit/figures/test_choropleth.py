"""Map builders: the figure holds the loaded values; geometry is referenced, never repeated."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from essen_dash.figures.choropleth import NO_VALUE_LABEL, choropleth, value_traces
from essen_dash.frames import kennzahl_frame
from tests.published import bezirke

DAY = date(2016, 9, 30)
URL = "/geo/bezirk.geojson"
KEYS = ["origin12_pct", "bg_ro_pct", "bg_pct", "ro_pct", "project_housing_pct", "non_german_pct", "population_count"]


def valued(fig_data):
    return [t for t in fig_data if t.type == "choropleth" and t.name != NO_VALUE_LABEL]


@pytest.mark.parametrize("key", KEYS)
def test_continuous_map_holds_exact_values(tables, app_data, key):
    k = app_data.catalog(DAY)[key]
    fig = choropleth(kennzahl_frame(app_data, key, "bezirk", DAY), k, "continuous", URL, level="bezirk")
    (trace,) = valued(fig.data)
    assert dict(zip(trace.locations, trace.z)) == dict(zip(bezirke(tables)["bezirk_id"], bezirke(tables)[key]))
    assert trace.geojson == URL  # geometry by reference only
    assert fig.layout.legend.title.text == f"{k.short} ({k.unit})"


def test_classified_map_has_one_legend_entry_per_class(app_data):
    k = app_data.catalog(DAY)["origin12_pct"]
    traces = value_traces(kennzahl_frame(app_data, k.key, "bezirk", DAY), k, "quantiles", URL)
    # mapclassify merges the tied quantile bins (three Bezirke at 4.2): three classes
    assert [t.name for t in traces] == ["1,1 bis unter 1,4 %", "1,4 bis unter 4,2 %", "4,2 bis 7,1 %"]
    assert all(t.showlegend for t in traces)
    members = sorted(loc for t in traces for loc in t.locations)
    assert members == sorted(["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"])
    hover = {row["key"]: row for t in traces for row in t.customdata}
    assert hover["I"] == {"name": "Stadtbezirk I", "value": "7,1 % (4.795 Personen)", "rank": "Rang 1 von 9",
                          "city": "Gesamtstadt: 3,6 %", "key": "I", "bezirk_id": "I", "note": ""}


def test_a_value_the_source_contradicts_carries_its_flag(app_data):
    k = app_data.catalog(DAY)["origin12_pct"]
    frame = kennzahl_frame(app_data, k.key, "bezirk", DAY)
    points = pd.DataFrame({"key": frame["key"], "lon": range(9), "lat": range(9)})
    traces = value_traces(frame, k, "continuous", URL, labels=points)
    hover = {row["key"]: row for t in traces if t.type == "choropleth" for row in t.customdata}
    assert hover["II"]["value"] == "1,3 % (677 Personen)*"
    assert hover["II"]["note"] == ("<br>* Quelle uneinheitlich: veröffentlicht 1,3 %, aus den veröffentlichten "
                                   "Zahlen nachgerechnet 1,24 %")
    assert "II*" in [x for t in traces if t.type == "scattergeo" for x in t.text]


def test_stadtteile_without_value_are_drawn_grey_not_zero(app_data):
    k = app_data.catalog(DAY)["origin12_pct"]
    traces = value_traces(kennzahl_frame(app_data, k.key, "stadtteil", DAY), k, "continuous", "/geo/stadtteil.geojson")
    grey = next(t for t in traces if t.name == NO_VALUE_LABEL)
    assert len(grey.locations) == 42 and grey.showlegend
    assert all(row["value"] == NO_VALUE_LABEL for row in grey.customdata)
    (coloured,) = valued(traces)
    assert dict(zip(coloured.locations, coloured.z))["1"] == 11.7 and 0 not in coloured.z


def test_selection_keeps_the_city_and_outlines_the_choice(app_data):
    k = app_data.catalog(DAY)["origin12_pct"]
    frame = kennzahl_frame(app_data, k.key, "stadtteil", DAY)
    fig = choropleth(frame, k, "natural_breaks", "/geo/stadtteil.geojson", level="stadtteil", selected={"III"},
                     outline=([7.0, 7.1, None], [51.4, 51.5, None]))
    assert sorted(loc for t in fig.data if t.type == "choropleth" for loc in t.locations) == sorted(frame["key"])
    context = next(t for t in fig.data if t.name == "außerhalb der Auswahl (zum Vergleich)")
    in_iii = set(frame[frame["bezirk_id"] == "III"]["key"])
    assert set(context.locations) == set(frame[frame["value"].notna()]["key"]) - in_iii  # valued, outside III
    coloured = [t for t in valued(fig.data) if t is not context and t.locations]
    assert {loc for t in coloured for loc in t.locations} == {"7"}  # Altendorf, the only value in III
    border = fig.data[-1]
    assert border.type == "scattergeo" and border.name == "Auswahl: Stadtbezirk III"


def test_without_city_value_the_tooltip_says_so(app_data):
    k = app_data.catalog(DAY)["project_housing_pct"]
    (trace,) = valued(value_traces(kennzahl_frame(app_data, k.key, "bezirk", DAY), k, "deviation", URL))
    assert {row["city"] for row in trace.customdata} == {"kein Wert der Gesamtstadt"}
    assert trace.zmid is None  # no city value to deviate from: a sequential scale


def test_labels_are_added_from_points(app_data):
    k = app_data.catalog(DAY)["bg_pct"]
    frame = kennzahl_frame(app_data, k.key, "bezirk", DAY)
    points = pd.DataFrame({"key": frame["key"], "lon": range(9), "lat": range(9)})
    labels = [t for t in value_traces(frame, k, "continuous", URL, labels=points) if t.type == "scattergeo"]
    assert sorted(x.rstrip("*") for t in labels for x in t.text) == sorted(frame["bezirk_id"])


@pytest.mark.parametrize("scheme", ["continuous", "quantiles", "deviation"])
def test_map_labels_keep_contrast_on_every_fill(app_data, scheme):
    from essen_dash.figures.choropleth import classes_for, luminance

    k = app_data.catalog(DAY)["origin12_pct"]
    frame = kennzahl_frame(app_data, k.key, "bezirk", DAY)
    points = pd.DataFrame({"key": frame["key"], "lon": range(9), "lat": range(9)})
    fill = dict(zip(frame["bezirk_id"], classes_for(frame, k, scheme).colours))
    for trace in value_traces(frame, k, scheme, URL, labels=points):
        if trace.type != "scattergeo":
            continue
        for bezirk in trace.text:
            a, b = sorted([luminance(trace.textfont.color), luminance(fill[bezirk.rstrip("*")])])
            assert (b + 0.05) / (a + 0.05) >= 4.5, (bezirk, trace.textfont.color, fill[bezirk])


def test_figures_carry_no_default_template(app_data):
    import json

    from essen_dash.params import Params
    from essen_dash.views import build, screen_figure

    fig = screen_figure(build(app_data, "karte-ranking", Params(indicator="bg_pct", stichtag=DAY)))
    assert len(json.dumps(fig.to_plotly_json()["layout"].get("template", {}))) < 100
    assert len(fig.to_json()) < 6000


def test_an_empty_class_keeps_its_legend_entry(app_data):
    """Equal intervals over project housing leave 12,1 bis unter 17,2 % empty: it is listed all the same."""
    k = app_data.catalog(DAY)["project_housing_pct"]
    traces = value_traces(kennzahl_frame(app_data, k.key, "bezirk", DAY), k, "equal_interval", URL)
    assert [t.name for t in traces] == ["1,8 bis unter 6,9 %", "6,9 bis unter 12,1 %", "12,1 bis unter 17,2 %",
                                        "17,2 bis 22,3 %"]
    empty = traces[2]
    assert empty.type == "scattergeo" and list(empty.lon) == [None] and empty.marker.symbol == "square"

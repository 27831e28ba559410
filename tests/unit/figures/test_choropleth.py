"""Map builders: the figure holds the loaded values; geometry is referenced, never repeated; a switch sends numbers."""

from __future__ import annotations

import base64
import json
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dash._utils import to_json

from essen_dash.figures.choropleth import (BACKGROUND, EXTRA_SLOTS, MAX_LABELS, NO_VALUE_LABEL, SWITCHED, VALUES,
                                           WITHHELD_COLOUR, WITHHELD_LABEL, classes_for, switched)
from essen_dash.figures import choropleth as map_figures
from essen_dash.frames import kennzahl_frame
from tests.published import bezirke

DAY = date(2016, 9, 30)
URL = "/geo/bezirk.geojson"
KEYS = ["origin12_pct", "bg_ro_pct", "bg_pct", "ro_pct", "project_housing_pct", "non_german_pct", "population_count"]


def value_traces(*args, **kwargs) -> tuple:
    """Return the map's traces as plotly checks them against its schema (the builder returns plotly JSON)."""
    return go.Figure(map_figures.value_traces(*args, **kwargs)).data


def choropleth(*args, **kwargs) -> go.Figure:
    """Return the map as plotly checks it against its schema (the builder returns plotly JSON)."""
    return go.Figure(map_figures.choropleth(*args, **kwargs))


def valued(fig_data):
    """Return the values trace (every area; ``z`` missing where an area has none)."""
    trace = fig_data[VALUES]
    assert trace.type == "choropleth" and trace.name not in (NO_VALUE_LABEL, WITHHELD_LABEL)
    return trace


def values_by_area(trace) -> dict:
    return {loc: z for loc, z in zip(trace.locations, trace.z) if z is not None}


def drawn(traces) -> dict[str, str]:
    """Return each area's topmost filled trace by name, as plotly draws them (later traces on top; an area whose
    ``z`` is missing is not drawn by that trace)."""
    out = {}
    for t in traces:
        if t.type == "choropleth":
            out.update({loc: t.name for loc, z in zip(t.locations, t.z) if z is not None})
    return out


def colour_at(scale: list, t: float) -> str:
    """Return the colour a stepped plotly colorscale gives at ``t``: the last stop at or below it (d3 bisects
    to the right, so a value on a doubled stop takes the upper colour)."""
    return [c for at, c in scale if at <= t][-1]


@pytest.mark.parametrize("key", KEYS)
def test_continuous_map_holds_exact_values(tables, app_data, key):
    k = app_data.catalog(DAY)[key]
    fig = choropleth(kennzahl_frame(app_data, key, "bezirk", DAY), k, "continuous", URL, level="bezirk")
    trace = valued(fig.data)
    assert values_by_area(trace) == dict(zip(bezirke(tables)["bezirk_id"], bezirke(tables)[key]))
    assert trace.geojson == URL  # geometry by reference only
    assert fig.layout.legend.title.text == f"{k.short} ({k.unit})"
    assert fig.layout.separators == ",."  # the tooltip's numbers in German
    assert len(fig.data) == 2 + EXTRA_SLOTS


def test_the_tooltip_is_built_from_numbers(app_data):
    """Per area only numbers travel (count; the rank as hovertext); name, unit and city value are in the template,
    once."""
    k = app_data.catalog(DAY)["origin12_pct"]
    trace = valued(value_traces(kennzahl_frame(app_data, k.key, "bezirk", DAY), k, "continuous", URL))
    assert trace.hovertemplate == ("<b>%{text}</b><br>%{z:,.1f} % (%{customdata[0]:,.0f} Personen)%{customdata[1]}"
                                   "<br>Rang %{hovertext} von 9<br>Gesamtstadt: 3,6 %%{customdata[2]}"
                                   "<extra></extra>")
    rows = dict(zip(trace.locations, trace.customdata))
    assert list(rows["I"]) == [4795, "", ""]
    # 7,1 5,1 4,2 4,2 4,2 2,6 1,4 1,3 1,1 %: the three at 4,2 share rank 3 (plotly.py writes hovertext as text)
    assert dict(zip(trace.locations, trace.hovertext)) == {"I": "1", "V": "2", "III": "3", "VI": "3", "VII": "3",
                                                           "IV": "6", "VIII": "7", "II": "8", "IX": "9"}
    assert dict(zip(trace.locations, trace.text))["I"] == "Stadtbezirk I"


def test_classified_map_has_one_legend_entry_per_class(app_data):
    k = app_data.catalog(DAY)["origin12_pct"]
    frame = kennzahl_frame(app_data, k.key, "bezirk", DAY)
    traces = value_traces(frame, k, "quantiles", URL)
    # mapclassify merges the tied quantile bins (three Bezirke at 4.2): three classes
    legend = [t for t in traces if t.showlegend is not False]
    assert [t.name for t in legend] == ["1,1 bis unter 1,4 %", "1,4 bis unter 4,2 %", "4,2 bis 7,1 %"]
    assert set(drawn(traces).values()) == {k.short}  # every Bezirk has a value
    # each area in its class's colour; 4,2 lies on a break and belongs to the class "4,2 bis 7,1"
    trace = valued(traces)
    classes = classes_for(frame, k, "quantiles")
    for z, colour in zip(trace.z, classes.colours):
        assert colour_at(trace.colorscale, (z - trace.zmin) / (trace.zmax - trace.zmin)) == colour, z
    assert dict(zip(trace.z, classes.colours))[4.2] == classes.legend_colours[2]


def test_a_value_the_source_contradicts_carries_its_flag(app_data):
    k = app_data.catalog(DAY)["origin12_pct"]
    frame = kennzahl_frame(app_data, k.key, "bezirk", DAY)
    points = pd.DataFrame({"key": frame["key"], "lon": range(9), "lat": range(9)})
    traces = value_traces(frame, k, "continuous", URL, labels=points)
    rows = dict(zip(traces[VALUES].locations, traces[VALUES].customdata))
    assert list(rows["II"]) == [677, "*", "<br>* Quelle uneinheitlich: veröffentlicht 1,3 %, aus den "
                                             "veröffentlichten Zahlen nachgerechnet 1,24 %"]
    assert "II*" in [x for t in traces if t.type == "scattergeo" for x in t.text]


def test_stadtteile_without_value_are_drawn_grey_not_zero(app_data):
    k = app_data.catalog(DAY)["origin12_pct"]
    frame = kennzahl_frame(app_data, k.key, "stadtteil", DAY)
    traces = value_traces(frame, k, "continuous", "/geo/stadtteil.geojson")
    grey = traces[BACKGROUND]
    assert grey.name == NO_VALUE_LABEL and grey.showlegend and len(grey.locations) == 50
    assert grey.hovertemplate == ("<b>%{text}</b><br>kein Wert veröffentlicht<br>kein Wert veröffentlicht<br>"
                                  "Gesamtstadt: 3,6 %<extra></extra>")
    assert sum(1 for name in drawn(traces).values() if name == NO_VALUE_LABEL) == 42
    coloured = valued(traces)
    assert values_by_area(coloured)["1"] == 11.7 and 0 not in values_by_area(coloured).values()
    assert len(values_by_area(coloured)) == 8


def test_withheld_areas_are_drawn_darker_with_their_own_tooltip(app_data):
    k = app_data.catalog(DAY)["origin12_pct"]
    frame = kennzahl_frame(app_data, k.key, "stadtteil", DAY)
    first, second = frame[frame["value"].isna()]["key"].iloc[:2]
    assert first == "2"
    frame.loc[frame["key"] == "2", "state"] = "withheld"
    traces = value_traces(frame, k, "continuous", "/geo/stadtteil.geojson")
    (withheld,) = [t for t in traces if t.name == WITHHELD_LABEL]
    assert list(withheld.locations) == ["2"] and list(withheld.text) == [frame.set_index("key").loc["2", "name"]]
    assert withheld.colorscale[0][1] == WITHHELD_COLOUR and withheld.showlegend
    assert drawn(traces)["2"] == WITHHELD_LABEL and drawn(traces)[second] == NO_VALUE_LABEL
    assert withheld.legendrank < traces[BACKGROUND].legendrank  # listed first, as before


def test_selection_keeps_the_city_and_outlines_the_choice(app_data):
    k = app_data.catalog(DAY)["origin12_pct"]
    frame = kennzahl_frame(app_data, k.key, "stadtteil", DAY)
    fig = choropleth(frame, k, "natural_breaks", "/geo/stadtteil.geojson", level="stadtteil", selected={"III"},
                     outline=([7.0, 7.1, None], [51.4, 51.5, None]))
    context = next(t for t in fig.data if t.name == "außerhalb der Auswahl (zum Vergleich)")
    in_iii = set(frame[frame["bezirk_id"] == "III"]["key"])
    assert set(context.locations) == set(frame[frame["value"].notna()]["key"]) - in_iii  # valued, outside III
    assert context.hoverinfo == "skip"  # the hover reaches the values beneath: their tooltips keep the value
    shown = drawn(fig.data)
    assert {loc for loc, name in shown.items() if name == k.short} == {"7"}  # Altendorf, the only value in III
    border = [t for t in fig.data if t.visible is not False][-1]
    assert border.type == "scattergeo" and border.name == "Auswahl: Stadtbezirk III"


def test_without_city_value_the_tooltip_says_so(app_data):
    k = app_data.catalog(DAY)["project_housing_pct"]
    trace = valued(value_traces(kennzahl_frame(app_data, k.key, "bezirk", DAY), k, "deviation", URL))
    assert trace.hovertemplate.endswith("<br>kein Wert der Gesamtstadt<extra></extra>")
    assert trace.zmid is None  # no city value to deviate from: a sequential scale


def test_a_switch_sends_values_not_areas(app_data):
    """Of the two area traces a switch sends only what changes; geometry, locations and names stay."""
    k = app_data.catalog(DAY)["origin12_pct"]
    fig = choropleth(kennzahl_frame(app_data, k.key, "stadtteil", DAY), k, "continuous", "/geo/stadtteil.geojson",
                     level="stadtteil")
    whole = fig.to_plotly_json()["data"]
    slim = switched(whole)
    assert len(slim) == len(whole) == 2 + EXTRA_SLOTS
    assert [sorted(t) for t in slim[:2]] == [sorted(SWITCHED[BACKGROUND]), sorted(SWITCHED[VALUES])]
    assert unscaled(json.loads(to_json(slim[VALUES]["z"]))) == whole[VALUES]["z"] and slim[2:] == whole[2:]
    assert None in whole[VALUES]["z"]  # an area without a value arrives as null
    assert "locations" in whole[VALUES] and "text" in whole[VALUES]


def unscaled(sent):
    """Return the values a switch sent as the browser reads them (``essenDrawn.values`` in assets/drawn.js)."""
    if not isinstance(sent, dict):
        return sent
    whole = np.frombuffer(base64.b64decode(sent["bdata"]), {"i2": "<i2", "i4": "<i4"}[sent["dtype"]])
    return [None if v == sent["missing"] else int(v) / sent["divisor"] for v in whole]


@pytest.mark.parametrize("values, dtype, divisor", [
    ([17.8, None, 2.1, 0.0, -3.4], "i2", 10),  # shares: tenths, two bytes each
    ([4162.0, 98439.0, None], "i4", 1),  # counts above 32.766: four bytes
    ([0.125, 2.5], "i2", 1000),
    ([1.2345, 2.0], None, None),  # more decimals than SCALED_DECIMALS: the floats themselves
    ([1 / 3], None, None),
])
def test_a_switch_sends_values_as_scaled_integers_the_browser_divides_back(values, dtype, divisor):
    floats = np.array([np.nan if v is None else v for v in values])
    sent = json.loads(to_json(map_figures.scaled(floats)))
    if dtype is None:
        assert sent == values
    else:
        assert (sent["dtype"], sent["divisor"]) == (dtype, divisor)
        assert unscaled(sent) == values  # the very same floats


def test_labels_are_added_from_points(app_data):
    k = app_data.catalog(DAY)["bg_pct"]
    frame = kennzahl_frame(app_data, k.key, "bezirk", DAY)
    points = pd.DataFrame({"key": frame["key"], "lon": range(9), "lat": range(9)})
    labels = [t for t in value_traces(frame, k, "continuous", URL, labels=points) if t.type == "scattergeo"]
    assert sorted(x.rstrip("*") for t in labels for x in t.text) == sorted(frame["bezirk_id"])


def test_a_dense_map_has_no_labels(app_data):
    k = app_data.catalog(DAY)["bg_pct"]
    frame = kennzahl_frame(app_data, k.key, "bezirk", DAY)
    many = pd.concat([frame] * 7, ignore_index=True).assign(key=[str(i) for i in range(63)])
    points = pd.DataFrame({"key": many["key"], "lon": range(63), "lat": range(63)})
    assert len(many) > MAX_LABELS
    assert not [t for t in value_traces(many, k, "continuous", URL, labels=points) if t.type == "scattergeo"]


@pytest.mark.parametrize("scheme", ["continuous", "quantiles", "deviation"])
def test_map_labels_keep_contrast_on_every_fill(app_data, scheme):
    from essen_dash.figures.choropleth import luminance

    k = app_data.catalog(DAY)["origin12_pct"]
    frame = kennzahl_frame(app_data, k.key, "bezirk", DAY)
    points = pd.DataFrame({"key": frame["key"], "lon": range(9), "lat": range(9)})
    fill = dict(zip(frame["bezirk_id"], classes_for(frame, k, scheme).colours))
    for trace in value_traces(frame, k, scheme, URL, labels=points):
        if trace.type != "scattergeo" or trace.mode != "text":
            continue
        for bezirk in trace.text:
            a, b = sorted([luminance(trace.textfont.color), luminance(fill[bezirk.rstrip("*")])])
            assert (b + 0.05) / (a + 0.05) >= 4.5, (bezirk, trace.textfont.color, fill[bezirk])


def test_figures_carry_no_default_template(app_data):
    import json

    from essen_dash.params import Params
    from essen_dash.views import screen

    fig = go.Figure(screen(app_data, "karte-ranking", Params(indicator="bg_pct", stichtag=DAY)))
    assert len(json.dumps(fig.to_plotly_json()["layout"].get("template", {}))) < 100
    assert len(fig.to_json()) < 6000


def test_the_written_out_template_is_plotlys_none():
    from essen_dash.figures.common import NONE_TEMPLATE

    assert go.Figure(layout={"template": "none"}).to_plotly_json()["layout"]["template"] == NONE_TEMPLATE


def test_an_empty_class_keeps_its_legend_entry(app_data):
    """Equal intervals over project housing leave 12,1 bis unter 17,2 % empty: it is listed all the same."""
    k = app_data.catalog(DAY)["project_housing_pct"]
    traces = value_traces(kennzahl_frame(app_data, k.key, "bezirk", DAY), k, "equal_interval", URL)
    legend = [t for t in traces if t.showlegend is not False]
    assert [t.name for t in legend] == ["1,8 bis unter 6,9 %", "6,9 bis unter 12,1 %", "12,1 bis unter 17,2 %",
                                        "17,2 bis 22,3 %"]
    empty = legend[2]
    assert empty.type == "scattergeo" and list(empty.lon) == [None] and empty.marker.symbol == "square"
    assert 12.1 <= min(z for z in traces[VALUES].z if z >= 12.1) and not any(12.1 <= z < 17.2 for z in traces[VALUES].z)


def test_a_label_that_would_cover_another_is_shortened_or_left_out():
    """Labels are placed highest value first; one that would cover a placed label gets its value alone, or none."""
    from essen_dash.figures.choropleth import placed

    # made-up points; the map's scale comes from their span: about 0,107° of latitude over 450 px, so b lies
    # 23 px below a (two lines of 11 px type need 28,6 px, a line and two lines 21,5 px)
    points = pd.DataFrame({"key": ["a", "b", "c", "d"], "lon": [7.0, 7.0, 7.0, 7.3],
                           "lat": [51.40, 51.40 - 25 * 0.000278, 51.40, 51.50]})
    choices = [[f"{k.upper()}<br>{v} %", f"{v} %"] for k, v in zip("abcd", (4, 3, 1, 2))]
    texts = placed(points, points["key"], choices, 11, np.array([4.0, 3.0, 1.0, 2.0]))
    # a (4 %) placed whole; b has room only for its value; c, on a, has none; d, far away, whole
    assert texts == ["A<br>4 %", "3 %", None, "D<br>2 %"]

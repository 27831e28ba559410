"""Bar builders: ranking, profile index, allocation — values and highlighting from the frames."""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import pytest

from essen_dash.figures import bars
from essen_dash.figures.bars import allocation_bars, allocation_scatter, profile
from essen_dash.frames import allocation_frame, kennzahl_frame
from tests.published import bezirke

DAY = date(2016, 9, 30)


def ranking(*args, **kwargs) -> go.Figure:
    """Return the ranking as plotly checks it against its schema (the builder returns plotly JSON)."""
    return go.Figure(bars.ranking(*args, **kwargs))


def test_ranking_sorted_with_city_line_and_selection(tables, app_data):
    ind = app_data.catalog(DAY)["origin12_pct"]
    frame = kennzahl_frame(app_data, ind.key, "bezirk", DAY)
    fig = ranking(frame, ind, ["#000"] * 9, selected={"II"})
    bar = fig.data[0]
    assert list(bar.x) == sorted(bezirke(tables)["origin12_pct"])
    assert list(bar.y)[-1] == "Stadtbezirk I" and list(bar.text)[-1] == "7,1 %"
    assert fig.layout.shapes[0].x0 == pytest.approx(21287 / 588875 * 100)
    opacity = dict(zip(bar.y, bar.marker.opacity))
    assert opacity["Stadtbezirk II"] == 1.0 and opacity["Stadtbezirk I"] == 0.35
    assert {"key": "I", "bezirk_id": "I"} in list(bar.customdata)  # clicks read named fields


def test_ranking_without_city_value_draws_no_line(app_data):
    ind = app_data.catalog(DAY)["project_housing_pct"]
    fig = ranking(kennzahl_frame(app_data, ind.key, "bezirk", DAY), ind, ["#000"] * 9)
    assert not fig.layout.shapes and not fig.layout.annotations


def test_profile_uses_index_against_city():
    rows = pd.DataFrame({"label": ["A"], "index": [150.0], "value_text": ["3,0 %"], "city_text": ["2,0 %"]})
    fig = profile(rows)
    assert list(fig.data[0].x) == [150.0] and fig.layout.shapes[0].x0 == 100


def test_allocation_charts(tables, app_data):
    frame = allocation_frame(app_data, DAY)
    bars = allocation_bars(frame, "Wohnungen", "Einwohner")
    assert list(bars.data[0].y) == list(bezirke(tables)["project_housing_pct"])
    assert list(bars.data[1].y) == pytest.approx(list(bezirke(tables)["origin12_count"] / 21287 * 100))
    assert [t.name for t in bars.data] == ["Wohnungen", "Einwohner"]
    scatter = allocation_scatter(frame, "Wohnungen", "Einwohner", selected={"VII"})
    parity, points = scatter.data
    assert list(parity.x) == list(parity.y)  # the parity line y = x
    assert list(points.text) == list(bezirke(tables)["bezirk_id"])


def test_labels_of_close_points_stand_apart(app_data):
    """IV and VI lie within 0,3 percentage points of each other: their labels go left and right, not on top."""
    frame = allocation_frame(app_data, DAY)
    points = dict(zip(frame["bezirk_id"], allocation_scatter(frame, "W", "E").data[1].textposition))
    assert {points["IV"], points["VI"]} == {"middle left", "middle right"}
    assert points["I"] == points["VII"] == "top center"

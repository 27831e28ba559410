"""Bar builders: ranking, profile index, allocation — values and highlighting from the frames."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from essen_dash.figures.bars import allocation_bars, allocation_scatter, profile, ranking
from essen_dash.frames import allocation_frame, bezirk_frame
from essen_dash.indicators import INDICATORS

DAY = date(2016, 9, 30)


def test_ranking_sorted_with_city_line_and_selection(tables):
    ind = INDICATORS["project_housing_pct"]
    frame = bezirk_frame(tables, ind, DAY)
    fig = ranking(frame, ind, ["#000"] * 9, selected={"II"})
    bar = fig.data[0]
    assert list(bar.x) == sorted(tables["bezirke"]["project_housing_pct"])
    assert list(bar.y)[-1] == "Stadtbezirk I" and list(bar.text)[-1] == "22,3 %"
    assert fig.layout.shapes[0].x0 == pytest.approx(100 / 9)
    opacity = dict(zip(bar.y, bar.marker.opacity))
    assert opacity["Stadtbezirk II"] == 1.0 and opacity["Stadtbezirk I"] == 0.35


def test_profile_uses_index_against_city():
    rows = pd.DataFrame({"label": ["A"], "index": [150.0], "value_text": ["3,0 %"], "city_text": ["2,0 %"]})
    fig = profile(rows, title="t")
    assert list(fig.data[0].x) == [150.0] and fig.layout.shapes[0].x0 == 100


def test_allocation_charts(tables):
    frame = allocation_frame(tables, DAY)
    bars = allocation_bars(frame, title="t")
    assert list(bars.data[0].y) == list(tables["bezirke"]["project_housing_pct"])
    assert list(bars.data[1].y) == pytest.approx(list(tables["bezirke"]["origin12_count"] / 21287 * 100))
    scatter = allocation_scatter(frame, title="t", selected={"VII"})
    parity, points = scatter.data
    assert list(parity.x) == list(parity.y)  # the parity line y = x
    assert list(points.text) == list(tables["bezirke"]["bezirk_id"])

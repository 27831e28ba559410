"""JobCenter builders: heatmap cells equal the table, bars state the unassigned share."""

from __future__ import annotations

from datetime import date

import pandas as pd

from essen_dash.figures.jobcenter import area_bars, heatmap
from essen_dash.frames import jobcenter_matrix

JC_DAY = date(2016, 10, 5)


def test_heatmap_equals_the_table(tables):
    m = jobcenter_matrix(tables, JC_DAY)
    fig = heatmap(m)
    h = fig.data[0]
    assert list(h.y) == list(m.index) and list(h.x) == list(m.columns)
    assert h.z[list(h.y).index("West")][list(h.x).index("Bulgarien")] == 30.0
    assert h.text[0][0] == "19,1 %"


def test_bars_sum_joint_lists():
    frame = pd.DataFrame({"key": ["Süd 1 & Süd 2", "Nord"], "name": ["Süd 1 & Süd 2", "Nord"],
                          "jc_areas": [["Süd 1", "Süd 2"], ["Nord"]], "value": [16.8, 9.9]})
    fig = area_bars(frame)
    assert list(fig.data[0].y) == ["Nord", "Süd 1 + Süd 2"] and list(fig.data[0].text) == ["9,9 %", "16,8 %"]

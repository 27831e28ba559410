"""JobCenter builders: heatmap cells equal the table, bars state the unassigned share."""

from __future__ import annotations

from datetime import date

import pandas as pd

from essen_dash.figures.jobcenter import area_bars, heatmap, value_traces
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


def test_map_labels_that_would_cover_each_other_are_shortened_highest_share_first():
    """Made-up areas and label points: Ost lies a label's height below Nord and gets its share alone; the jointly
    listed pair far away keeps both names."""
    frame = pd.DataFrame({"key": ["Nord", "Ost", "Süd"], "name": ["Nord", "Ost", "Süd 1 & Süd 2"],
                          "jc_areas": [["Nord"], ["Ost"], ["Süd 1", "Süd 2"]], "parts": [[9.9], [9.8], [8.7, 8.1]],
                          "value": [9.9, 9.8, None], "members": [["A"], ["B"], ["C"]], "is_list_incomplete": False,
                          "shared_members": [[], [], []]})
    # 0,08° of latitude span (and a quarter more) over 450 px: 0,0055° apart is 25 px, room for a label of two lines
    # of 12 px type above one of one line (23 px), not for two of two lines (31 px)
    points = pd.DataFrame({"key": ["Nord", "Ost", "Süd"], "lon": [7.0, 7.0, 7.0], "lat": [51.5, 51.4945, 51.42]})
    geojson = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": k, "properties": {},
                                                           "geometry": None} for k in ["Nord", "Ost"]]}
    labels = value_traces(frame, geojson, points, zmax=20.0)[-1]
    assert dict(zip(labels.lat, labels.text)) == {51.5: "Nord<br>9,9 %", 51.4945: "9,8 %",
                                                  51.42: "Süd 1 8,7 %<br>Süd 2 8,1 %"}

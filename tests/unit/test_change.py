"""Change between two Stichtage (made-up second Stichtag, tests/multi_year.py): exact differences in percentage
points for shares and per cent for counts, "kein Vergleich möglich" where a value is missing, never 0."""

from __future__ import annotations

import numpy as np
import pytest

from essen_dash.frames import change_frame, kennzahl_frame
from essen_dash.params import Params, ParamError, parse
from essen_dash.views import build
from tests.conftest import load_without_maps
from tests.multi_year import FIRST, SECOND, add_made_up_stichtag


@pytest.fixture(scope="module")
def two_days(tmp_path_factory):
    import shutil

    from tests.conftest import FIXTURE_DATA

    folder = tmp_path_factory.mktemp("two") / "data"
    shutil.copytree(FIXTURE_DATA, folder)
    return load_without_maps(add_made_up_stichtag(folder), tmp_path_factory.mktemp("no-geo"))


def test_shares_change_in_percentage_points_counts_in_per_cent(two_days):
    share = change_frame(two_days, "origin12_pct", "bezirk", SECOND, FIRST).set_index("key")
    now = kennzahl_frame(two_days, "origin12_pct", "bezirk", SECOND).set_index("key")["value"]
    before = kennzahl_frame(two_days, "origin12_pct", "bezirk", FIRST).set_index("key")["value"]
    assert share.loc["I", "value"] == pytest.approx(now["I"] - before["I"]) == pytest.approx(8.5 - 7.1)
    assert share.loc["I", "count_text"] == "7,1 % → 8,5 %"
    assert share.loc["I", "rank"] == 1
    count = change_frame(two_days, "population_count", "bezirk", SECOND, FIRST).set_index("key")
    assert count.loc["VIII", "value"] == pytest.approx((round(52215 * 0.9) / 52215 - 1) * 100)
    assert count["city_text"].iloc[0] == "Gesamtstadt: +1,0 % (588.875 Personen → 594.764 Personen)"


def test_an_area_without_a_value_at_one_date_has_no_comparison_never_zero(two_days):
    f = change_frame(two_days, "origin12_pct", "bezirk", SECOND, FIRST).set_index("key")
    assert np.isnan(f.loc["IX", "value"]) and f.loc["IX", "state"] == "no_comparison"
    assert pd_isna(f.loc["IX", "rank"]) and f.loc["IV", "value"] == 0  # IV: factor 1, really unchanged
    hotspots = change_frame(two_days, "origin12_pct", "stadtteil", SECOND, FIRST)
    assert int(hotspots["value"].notna().sum()) == 8  # the 8 Stadtteile with a value at both dates


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_compare_parameter(two_days, app_data):
    p, bad = parse({"stichtag": "2018-12-31", "compare": "2016-09-30"}, two_days)
    assert (p.stichtag, p.compare, bad) == (SECOND, FIRST, {})
    with pytest.raises(ParamError, match="gezeigte Stichtag selbst"):
        parse({"stichtag": "2018-12-31", "compare": "2018-12-31"}, two_days, strict=True)
    with pytest.raises(ParamError, match="nur einen Stichtag"):
        parse({"compare": "2016-09-30"}, app_data, strict=True)
    p, bad = parse({"compare": "2016-09-30"}, app_data)
    assert p.compare is None and "nur einen Stichtag" in bad["compare"]


def test_ranking_and_caption_of_change_name_both_dates(two_days):
    chart = build(two_days, "karte-ranking", Params(indicator="origin12_pct", stichtag=SECOND, compare=FIRST))
    assert chart.title == ("Rangfolge der Stadtbezirke: Veränderung: Anteil aus den 12 wesentlichen "
                           "Herkunftsländern Geflüchteter")
    assert chart.subtitle.startswith("30.09.2016 → 31.12.2018 · Veränderung in Prozentpunkten")
    assert chart.source == "Quelle: Stadt Essen, FB 12, Stand 30.09.2016 und Testdaten (erfunden), Stand 31.12.2018"
    assert chart.caption == (
        "Anteil aus den 12 wesentlichen Herkunftsländern Geflüchteter, von 30.09.2016 bis 31.12.2018: am stärksten "
        "gestiegen in Stadtbezirk I (+1,4 %-Punkte; 7,1 % → 8,5 %), am stärksten gesunken oder am wenigsten gestiegen in "
        "Stadtbezirk VI (4,2 % → 4,1 %) und Stadtbezirk VIII (1,4 % → 1,3 %), je -0,1 %-Punkte. Gesamtstadt: kein Vergleich möglich. Für 1 "
        "von 9 Gebieten ist kein Vergleich möglich (ein Wert fehlt).")
    bars = chart.figure.data[0]
    assert dict(zip(bars.y, bars.x)) == pytest.approx({
        "Stadtbezirk I": 1.4, "Stadtbezirk III": 0.4, "Stadtbezirk VII": 0.2, "Stadtbezirk V": 0.1,
        "Stadtbezirk II": 0.1, "Stadtbezirk IV": 0.0, "Stadtbezirk VIII": -0.1, "Stadtbezirk VI": -0.1})

"""URL parameters: valid values restore a view, bad ones fall back with a notice."""

from __future__ import annotations

from datetime import date

from essen_dash.state import View, parse_search, parse_view, query

DAYS = [date(2016, 9, 30), date(2018, 12, 31)]


def test_valid_parameters():
    view, notices = parse_search("?indicator=bg_ro_pct&scheme=quantiles&level=stadtteil&bezirk=III,i&stichtag=2016-09-30",
                                 DAYS)
    assert view == View("bg_ro_pct", "quantiles", "stadtteil", ("I", "III"), date(2016, 9, 30))
    assert notices == {}


def test_defaults_without_parameters():
    assert parse_search("", DAYS) == (View(stichtag=date(2018, 12, 31)), {})


def test_bad_values_fall_back_with_german_notices():
    view, notices = parse_view({"indicator": "foo", "level": "land", "bezirk": "I,XYZ", "stichtag": "2017-01-01",
                                "scheme": "x" * 5000}, DAYS)
    assert view == View(stichtag=date(2018, 12, 31))
    assert set(notices) == {"indicator", "level", "bezirk", "stichtag", "scheme"}
    assert "„foo“ für „indicator“ ist ungültig" in notices["indicator"] and "origin12_pct" in notices["indicator"]
    assert "vorhanden: 2016-09-30, 2018-12-31" in notices["stichtag"]
    assert len(notices["scheme"]) < 400  # huge values are cut, not echoed


def test_query_string():
    assert query(bezirk=["I", "III"], stichtag=date(2016, 9, 30), level=None) == "?bezirk=I,III&stichtag=2016-09-30"
    assert query(bezirk=[]) == ""

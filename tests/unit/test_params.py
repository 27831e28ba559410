"""URL parameters: one parser each; pages fall back with a German notice, exports refuse."""

from __future__ import annotations

from datetime import date

import pytest

from essen_dash.params import ParamError, Params, as_query, parse, parse_search, query

DAY = date(2016, 9, 30)


def test_valid_parameters(app_data):
    p, notices = parse_search("?indicator=bg_ro_pct&scheme=quantiles&level=stadtteil&bezirk=III,i&stichtag=2016-09-30"
                              "&gruppe=Iran", app_data)
    assert p == Params("bg_ro_pct", "quantiles", "stadtteil", ("I", "III"), DAY, gruppe="Iran")
    assert notices == {}


def test_defaults_without_parameters(app_data):
    assert parse_search("", app_data) == (Params(stichtag=DAY, gruppe="Afghanistan"), {})


def test_only_the_named_parameters_are_read(app_data):
    p, notices = parse({"indicator": "bg_pct", "bezirk": "II"}, app_data, ("bezirk",))
    assert p.bezirk == ("II",) and p.indicator == "origin12_pct" and notices == {}


def test_bad_values_fall_back_with_german_notices(app_data):
    p, notices = parse({"indicator": "foo", "level": "land", "bezirk": "I,XYZ", "stichtag": "2017-01-01",
                        "scheme": "x" * 5000, "gruppe": "Mars"}, app_data)
    assert p == Params(stichtag=DAY, gruppe="Afghanistan")
    assert set(notices) == {"indicator", "level", "bezirk", "stichtag", "scheme", "gruppe"}
    assert "„foo“ für „indicator“ ist ungültig" in notices["indicator"] and "origin12_pct" in notices["indicator"]
    assert "vorhanden: 2016-09-30" in notices["stichtag"] and "angezeigt wird 30.09.2016" in notices["stichtag"]
    assert len(notices["scheme"]) < 400  # huge values are cut, not echoed


def test_strict_parsing_raises_the_same_message(app_data):
    with pytest.raises(ParamError, match="„XYZ“ für „bezirk“ ist ungültig"):
        parse({"bezirk": "XYZ"}, app_data, strict=True)


def test_kennzahlen_come_from_the_catalog(app_data):
    keys = list(app_data.catalog(DAY))
    for key in keys:
        assert parse({"indicator": key}, app_data, strict=True)[0].indicator == key
    assert "non_german_count" in keys  # a derived Kennzahl is a valid choice like any other


def test_query_string():
    assert query(bezirk=["I", "III"], stichtag=DAY, level=None) == "?bezirk=I,III&stichtag=2016-09-30"
    assert query(bezirk=[]) == ""
    assert as_query(Params(bezirk=("I", "V"), stichtag=DAY), ("bezirk", "stichtag", "gruppe")) == {
        "bezirk": "I,V", "stichtag": "2016-09-30"}

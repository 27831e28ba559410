"""The app writes its answers as Dash would, byte for byte, only faster (real data, real boundaries)."""

from __future__ import annotations

import math
from datetime import date

import dash
import numpy as np
import pandas as pd
import pytest
from dash import Patch, html
from plotly.io.json import to_json_plotly

from essen_dash import encode, paths
from essen_dash.app import create_app
from essen_dash.data import current
from essen_dash.params import Params
from essen_dash.views import VIEWS, screen


@pytest.fixture(scope="module")
def app():
    return create_app(paths.settings())


def test_dash_writes_its_answers_with_the_app_encoder(app):
    import dash._callback
    import dash.dash

    assert dash._callback.to_json is encode.to_json and dash.dash.to_json is encode.to_json


#: every page, with the path parameters of the templated ones
PAGES = {"pages.karte": {}, "pages.bezirk": {"bezirk_id": "III"}, "pages.jobcenter": {}, "pages.zuteilung": {},
         "pages.daten": {}, "pages.verteilung": {}, "pages.not_found_404": {}}


def test_the_pages_are_all_here(app):
    assert set(dash.page_registry) == set(PAGES)


@pytest.mark.parametrize("module", PAGES)
def test_every_page_is_written_as_plotly_writes_it(app, module):
    """A page's layout (components, figures with the maps' coordinates, numpy arrays) is the same text."""
    page = dash.page_registry[module]
    with app.server.test_request_context(page["path"]):
        layout = page["layout"](**PAGES[module])
    reference = to_json_plotly(layout)
    assert encode.to_json(layout) == reference
    assert len(reference) > 1000


@pytest.mark.parametrize("key", list(VIEWS))
def test_every_view_is_written_as_plotly_writes_it(app, key):
    p = Params(stichtag=date(2016, 9, 30), bezirk=("III",), gruppe="Bulgarien", indicator="bg_ro_pct",
               level="stadtteil")
    figure = screen(current(), key, p)
    assert encode.to_json(figure) == to_json_plotly(figure)


def test_values_orjson_does_not_know_are_cleaned_as_plotly_cleans_them():
    """Components inside dicts and lists, a Patch, dates, numpy scalars and arrays (numbers, text, objects),
    pandas' missing values, NaN, and text that must not close a script tag."""
    patch = Patch()
    patch["props"]["children"][1] = html.B("neu")
    value = {"a": [html.Div([html.Span("x"), None, 3], id="d", title="</script><b>")],
             "when": date(2016, 9, 30), "n": np.float64(1.25), "i": np.int64(7), "nan": math.nan,
             "missing": pd.NA, "nat": pd.NaT, "numbers": np.arange(4, dtype="int16"),
             "text": np.array(["Süd", "Nord"]), "objects": np.array(["a", 1], dtype=object),
             "series": pd.Series([1.5, 2.5]), "patch": patch, 1: "\u2028"}
    assert encode.to_json(value) == to_json_plotly(value)

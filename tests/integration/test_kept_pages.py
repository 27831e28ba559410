"""Page layouts and the app's frame are built once per bundle and parameters, and stay what the URL asks for."""

from __future__ import annotations

import dash
import pytest

from essen_dash import paths
from essen_dash.app import create_app
from essen_dash.components import PAGES_KEPT
from essen_dash.shell import layout as frame_layout


@pytest.fixture(scope="module")
def app():
    return create_app(paths.settings(), warm=False)


def page_layout(module: str, **params):
    return dash.page_registry[module]["layout"](**params)


@pytest.mark.parametrize("module", ["pages.karte", "pages.jobcenter", "pages.verteilung"])
def test_a_page_is_built_once_per_parameters(app, module):
    with app.server.test_request_context("/"):
        first = page_layout(module, stichtag="2016-09-30")
        assert page_layout(module, stichtag="2016-09-30") is first
        assert page_layout(module, bezirk="III", stichtag="2016-09-30") is not first


def test_a_notice_belongs_to_its_url(app):
    """The Karte's notice about an unknown Kennzahl is in the layout of that URL only, not in the one kept for the
    default view, though both show the default Kennzahl."""
    with app.server.test_request_context("/"):
        plain = page_layout("pages.karte", stichtag="2016-09-30")
        wrong = page_layout("pages.karte", indicator="gibt_es_nicht", stichtag="2016-09-30")
    assert "gibt_es_nicht" in str(wrong) and "gibt_es_nicht" not in str(plain)


def test_only_the_last_few_layouts_are_kept(app):
    layout = dash.page_registry["pages.karte"]["layout"]
    with app.server.test_request_context("/"):
        for i in range(PAGES_KEPT + 5):
            layout(indicator=f"unbekannt_{i}")
    assert layout.kept.cache_info().currsize == PAGES_KEPT


def test_the_frame_is_built_once_per_bundle(app):
    with app.server.test_request_context("/"):
        assert frame_layout() is frame_layout()

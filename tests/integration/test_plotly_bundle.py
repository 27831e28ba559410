"""The app's own plotly.js (essen_dash/vendor/): the build of the pinned sources, of the plotly.js version plotly.py
writes figures for, with every trace type a view draws, and the one the browser's graphs load."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from plotly.offline import get_plotlyjs_version

from essen_dash import paths
from essen_dash.data import current
from essen_dash.export.charts import parse_request
from essen_dash.views import VIEWS, build
from tests.integration.test_browser import MAP_DRAWN, open_map
from tests.integration.test_clipping import PARAMS

VENDOR = paths.PLOTLY_JS.parent
#: the trace modules the bundle registers (scatter comes with plotly.js's core)
REGISTERED = {"scatter", *re.findall(r"require\('plotly\.js/lib/(\w+)'\)", (VENDOR / "plotly-essen.js").read_text())}
REGISTERED.discard("core")


def test_the_committed_bundle_is_the_build_of_the_pinned_sources(tmp_path):
    built = tmp_path / "plotly.min.js"
    subprocess.run(["node", str(VENDOR / "build.mjs"), str(built)], cwd=paths.REPO_ROOT, check=True, timeout=120)
    assert built.read_bytes() == paths.PLOTLY_JS.read_bytes(), "essen_dash/vendor is stale: run make plotly-js"


def test_the_bundle_is_the_plotly_js_that_plotly_py_writes_for():
    version = get_plotlyjs_version()
    pinned = json.loads((paths.REPO_ROOT / "package.json").read_text())["devDependencies"]["plotly.js"]
    assert pinned == version, "package.json pins another plotly.js than plotly.py's: pin it and run make plotly-js"
    assert paths.PLOTLY_JS.read_text(encoding="utf-8").startswith(f"/*! plotly.js {version} ")


@pytest.fixture(scope="module")
def data():
    from essen_dash.app import create_app

    create_app(warm=False)
    return current()


@pytest.mark.parametrize("key", list(VIEWS))
def test_every_trace_type_a_view_draws_is_in_the_bundle(data, key):
    view = VIEWS[key]
    query = {"page": view.page, "chart": view.chart, **{k: v for k, v in PARAMS.items() if k in (*view.params,
                                                                                                     "stichtag")}}
    chart = build(data, key, parse_request(query, data).params)
    drawn = {trace.get("type", "scatter") for trace in chart.figure.to_plotly_json()["data"]}
    assert drawn and drawn <= REGISTERED, f"{key} draws {sorted(drawn - REGISTERED)}: add them to plotly-essen.js"


def test_the_graphs_load_the_apps_plotly_js(page, page_log, app_server):
    """The map is drawn by the bundle (its trace types and no others), served with an ETag and compressed."""
    open_map(page, app_server, page_log)
    assert page.locator(MAP_DRAWN).count() > 0
    assert set(page.evaluate("Object.keys(Plotly.PlotSchema.get().traces)")) == REGISTERED
    loaded = [u for u in page_log.requests if "plotly" in u and u.endswith(".js")]
    assert loaded == [app_server.base_url + "/_dash-component-suites/plotly/package_data/plotly.min.js"]
    gzip = {"Accept-Encoding": "gzip"}
    response = page.request.get(loaded[0], headers=gzip)
    assert response.headers["content-encoding"] == "gzip"
    assert response.body() == paths.PLOTLY_JS.read_bytes()
    again = page.request.get(loaded[0], headers={**gzip, "If-None-Match": response.headers["etag"]})
    assert again.status == 304

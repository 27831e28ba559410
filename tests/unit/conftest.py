"""Unit tier guard: a unit test that opens the live data, the project's geo/ or ../shared fails.

This is what keeps "a new Stichtag or Kennzahl in data/ changes no unit test" true: unit tests read only
tests/fixtures/ and what they write themselves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from essen_dash import paths

FORBIDDEN = tuple(str(p.resolve()) for p in (paths.REPO_ROOT / "data", paths.REPO_ROOT / "geo",
                                              paths.SHARED_GEO_DIR.parent))
_state = {"active": False, "hits": []}


def _audit(event: str, args: tuple) -> None:
    if _state["active"] and event == "open" and isinstance(args[0], (str, Path)):
        path = str(Path(args[0]).resolve()) if not str(args[0]).startswith("/") else str(args[0])
        if path.startswith(FORBIDDEN):
            _state["hits"].append(path)


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def no_live_data():
    """Fail the test if it opened a file of the live data package, geo/ or ../shared."""
    _state["active"], _state["hits"] = True, []
    yield
    _state["active"] = False
    assert not _state["hits"], f"unit test read live files: {sorted(set(_state['hits']))[:5]}"

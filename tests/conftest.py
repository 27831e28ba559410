"""Shared fixtures: the real data folder, the seed submission, the real boundaries."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from essen_dash import paths

SEED = paths.REPO_ROOT.parent / "shared" / "seeds" / "004_21aeda8fd511776f.txt"


@pytest.fixture(scope="session")
def seed_path() -> Path:
    assert SEED.is_file(), f"seed submission missing: {SEED}"
    return SEED


@pytest.fixture(scope="session")
def tables():
    from essen_dash.tables.load import load_tables

    return load_tables(paths.DEFAULT_DATA_DIR)


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """Return a writable copy of the bundled data folder."""
    target = tmp_path / "data"
    shutil.copytree(paths.DEFAULT_DATA_DIR, target)
    return target


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's geometry cache out of the working tree."""
    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(tmp_path_factory.getbasetemp() / "cache"))

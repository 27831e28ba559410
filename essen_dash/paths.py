"""Decide where data, geometry and caches live; import nothing else of the package.

Each location can be overridden by an environment variable, and the CLI's
``--data-dir`` / ``--geo-dir`` flags set those variables for the process.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Bundled tidy tables and their data package descriptor.
DEFAULT_DATA_DIR = REPO_ROOT / "data"
#: The project's own (uncommitted) geometry folder, looked at first.
PROJECT_GEO_DIR = REPO_ROOT / "geo"
#: The shared boundary files the project was given; never copied into the repo.
SHARED_GEO_DIR = REPO_ROOT.parent / "shared" / "geo"
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache"

DATA_DIR_ENV = "ESSEN_DASH_DATA_DIR"
GEO_DIR_ENV = "ESSEN_DASH_GEO_DIR"
CACHE_DIR_ENV = "ESSEN_DASH_CACHE_DIR"


def data_dir() -> Path:
    """Return the folder of tidy tables in force."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def geo_dirs() -> list[Path]:
    """Return the folders searched for boundary files, in order."""
    configured = os.environ.get(GEO_DIR_ENV)
    if configured:
        return [Path(configured)]
    return [PROJECT_GEO_DIR, SHARED_GEO_DIR]


def cache_dir() -> Path:
    """Return the folder for prepared (simplified) geometry."""
    return Path(os.environ.get(CACHE_DIR_ENV) or DEFAULT_CACHE_DIR)

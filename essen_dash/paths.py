"""Decide where data, geometry and caches live; import nothing else of the package.

:func:`settings` reads the environment once, at start-up; the CLI passes its
``--data-dir`` / ``--geo-dir`` flags to it. Everything after start-up receives
the resulting :class:`Settings` as a parameter — nothing writes ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent

DATA_DIR_ENV = "ESSEN_DASH_DATA_DIR"
GEO_DIR_ENV = "ESSEN_DASH_GEO_DIR"
CACHE_DIR_ENV = "ESSEN_DASH_CACHE_DIR"
DATABASE_URL_ENV = "ESSEN_DASH_DATABASE_URL"
STATE_DIR_ENV = "ESSEN_DASH_STATE_DIR"

#: The app's plotly.js: its core and the trace types the figures draw (``essen_dash/vendor/README.md``), loaded by
#: the browser's graphs and by the export helper's Chromium.
PLOTLY_JS = PACKAGE_DIR / "vendor" / "plotly-essen.min.js"

#: The shared raw boundary files the project was given (a sibling of the checkout); never copied into the repo.
SHARED_GEO_DIR = REPO_ROOT.parent / "shared" / "geo"


def _bundled(name: str) -> Path:
    """Return the checkout's top-level folder ``name``, or its copy installed inside the package."""
    checkout = REPO_ROOT / name
    return checkout if checkout.is_dir() else PACKAGE_DIR / "bundled" / name


#: Bundled tidy tables and their data package descriptor.
DEFAULT_DATA_DIR = _bundled("data")
#: The project's prepared boundaries (``essen-dash geometry --build``), committed and installed.
PROJECT_GEO_DIR = _bundled("geo")
DEFAULT_CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "essen-dash" \
    if not (REPO_ROOT / "pyproject.toml").is_file() else REPO_ROOT / ".cache"


#: Where the default database (SQLite) lives: ``var/`` of a checkout, else the user's data folder.
DEFAULT_STATE_DIR = REPO_ROOT / "var" if (REPO_ROOT / "pyproject.toml").is_file() else \
    Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "essen-dash"
DATABASE_FILE = "essen-dash.db"


@dataclass(frozen=True)
class Settings:
    """Where one process reads its data and boundaries and keeps its caches."""

    #: the data package: the first version of a new database, or, without a database, the data served as they are
    data_dir: Path = DEFAULT_DATA_DIR
    #: an explicitly configured boundary folder; None searches the project's ``geo/``, then ``../shared/geo``
    geo_dir: Path | None = None
    cache_dir: Path = DEFAULT_CACHE_DIR
    #: the versioned store (SQLAlchemy URL); None serves ``data_dir`` itself, read as it is
    database_url: str | None = None
    #: where the default SQLite database and the generated secret key live
    state_dir: Path = DEFAULT_STATE_DIR

    @property
    def accounts_url(self) -> str:
        """Return the database of accounts and the audit log: the data's own, else SQLite in the state folder
        (a data folder served without a database still has accounts)."""
        return self.database_url or f"sqlite:///{self.state_dir / DATABASE_FILE}"

    def geo_dirs(self) -> list[Path]:
        """Return the folders searched for boundary files, in order."""
        return [self.geo_dir] if self.geo_dir else [PROJECT_GEO_DIR, SHARED_GEO_DIR]


def settings(data_dir: str | Path | None = None, geo_dir: str | Path | None = None,
             cache_dir: str | Path | None = None, database_url: str | None = None) -> Settings:
    """Return the settings in force: explicit values first, then the environment, then the defaults.

    The data live in a database: the one configured, else SQLite in the state folder. Only a data folder given
    explicitly without a database is served as it is (read from its files, no versions).
    """
    def pick(value, env: str, default):
        chosen = value or os.environ.get(env)
        return Path(chosen) if chosen else default

    folder = pick(data_dir, DATA_DIR_ENV, None)
    state = pick(None, STATE_DIR_ENV, DEFAULT_STATE_DIR)
    url = database_url or os.environ.get(DATABASE_URL_ENV)
    if not url and folder is None:
        url = f"sqlite:///{state / DATABASE_FILE}"
    return Settings(folder or DEFAULT_DATA_DIR, pick(geo_dir, GEO_DIR_ENV, None),
                    pick(cache_dir, CACHE_DIR_ENV, DEFAULT_CACHE_DIR), url, state)

"""Load everything the app shows once, as one immutable bundle, and hold the bundle in force.

:func:`current` is the one documented accessor for the bundle a request reads;
everything below a page callback receives the bundle as a parameter. Results of
pure builders are memoized outside the bundle (:func:`memoized`), keyed by the
bundle's identity, and dropped when another bundle is installed.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from essen_dash.format import de_date
from essen_dash.geo.boundaries import (ATTRIBUTION, Boundaries, GeometryJoinError, GeometryNotFound, jobcenter_areas,
                                      load_boundaries)
from essen_dash.kennzahlen import Catalog
from essen_dash.paths import Settings
from essen_dash.tables.load import Tables, load_tables
from essen_dash.tables.quality import Finding, findings

log = logging.getLogger(__name__)
MEMO_SIZE = 1024


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one bundle, one memo key
class AppData:
    """Validated tables, the Kennzahlen catalog per Stichtag, prepared boundaries (or why there are none),
    and the quality report."""

    tables: Tables
    boundaries: Boundaries | None
    geometry_problem: str | None
    quality: tuple[Finding, ...]
    #: dissolved JobCenter areas per JobCenter Stichtag (empty without boundaries)
    jobcenter_geo: dict = field(default_factory=dict)
    #: the catalog with data-dependent labels filled in, per Stichtag
    catalogs: dict = field(default_factory=dict)

    @property
    def stichtage(self) -> list[date]:
        return self.tables.stichtage

    @property
    def latest(self) -> date:
        return self.stichtage[-1]

    def catalog(self, stichtag: date) -> Catalog:
        return self.catalogs[stichtag]

    def document(self, stichtag: date):
        """Return the source record of the Bezirk data of ``stichtag``."""
        docs = self.tables["documents"]
        return docs[docs["bezirke_stichtag"] == stichtag].iloc[0]

    def jobcenter_stichtag(self, stichtag: date) -> date:
        """Return the JobCenter Stichtag published together with the Bezirk data of ``stichtag``."""
        return self.document(stichtag)["jobcenter_stichtag"]

    def source_line(self, stichtag: date, kind: str = "bezirke", geometry: bool = True) -> str:
        """Return the source line for figures, from the data's source records."""
        doc = self.document(stichtag)
        text = f"Quelle: Stadt Essen, {doc[f'{kind}_source']}, Stand {de_date(doc[f'{kind}_stichtag'])}"
        return f"{text}; {ATTRIBUTION.split(',')[0]}" if geometry else text


def load_app_data(settings: Settings, maps: bool = True) -> AppData:
    """Load and validate tables, then boundaries (unless ``maps`` is false, e.g. for tables on the command line);
    missing boundaries are reported, not fatal."""
    tables = load_tables(settings.data_dir)
    boundaries, problem = None, "Grenzen nicht geladen"
    try:
        if maps:
            boundaries, problem = load_boundaries(tables["stadtteile_register"], settings), None
    except (GeometryNotFound, GeometryJoinError) as exc:
        problem = str(exc)
        log.error("Karten nicht verfügbar: %s", exc)
    jc_geo = {}
    if boundaries is not None:
        cw = tables["jobcenter_crosswalk"]
        jc_geo = {day: jobcenter_areas(boundaries.stadtteile, rows) for day, rows in cw.groupby("stichtag")}
    catalog = Catalog.from_table(tables["kennzahlen"])
    catalogs = {day: catalog.resolved(tables, day) for day in tables.stichtage}
    return AppData(tables, boundaries, problem, tuple(findings(tables, catalog)), jc_geo, catalogs)


# --- memo of pure builders, outside the bundle ------------------------------------------

_memos: list = []


def memoized(fn):
    """Memoize a pure builder whose first argument is the bundle (views repeat across users).

    The memo is bounded and emptied whenever another bundle is installed.
    """
    cached = functools.lru_cache(maxsize=MEMO_SIZE)(fn)
    _memos.append(cached)
    return functools.wraps(fn)(cached)


def _forget_views() -> None:
    """Empty every memo: its entries belong to a bundle that is no longer served."""
    for memo in _memos:
        memo.cache_clear()


# --- the bundle in force --------------------------------------------------------------------

#: How often (seconds) a request may check whether the data files changed.
RELOAD_INTERVAL_S = 2.0


def fingerprint(folder: Path) -> tuple:
    """Return (name, size, mtime) of every file in the data folder: cheap to compare."""
    try:
        return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()))
    except OSError:
        return ()


@dataclass
class _Holder:
    """The bundle in force, and when its folder was last looked at (one per process, same in every worker)."""

    data: AppData | None = None
    settings: Settings | None = None
    fingerprint: tuple = ()
    checked_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


_holder = _Holder()


def install(data: AppData, settings: Settings) -> None:
    """Make ``data`` the bundle the pages read (at start-up, or after a successful reload)."""
    _holder.data, _holder.settings = data, settings
    _holder.fingerprint, _holder.checked_at = fingerprint(settings.data_dir), time.monotonic()
    _forget_views()


def reload_if_changed() -> bool:
    """Reload when the data files changed; keep serving the last good data if the new files are bad."""
    h = _holder
    if h.settings is None or time.monotonic() - h.checked_at < RELOAD_INTERVAL_S or not h.lock.acquire(blocking=False):
        return False
    try:
        h.checked_at = time.monotonic()
        now = fingerprint(h.settings.data_dir)
        if now == h.fingerprint:
            return False
        h.fingerprint = now  # a broken state is reported once, not on every request
        try:
            fresh = load_app_data(h.settings)
        except Exception as exc:  # any failure keeps the last good data
            log.error("Neue Daten in %s abgelehnt, es bleiben die bisherigen: %s", h.settings.data_dir, exc)
            return False
        h.data = fresh
        _forget_views()
        log.info("Daten aus %s neu geladen", h.settings.data_dir)
        return True
    finally:
        h.lock.release()


def current() -> AppData:
    """Return the bundle in force (installed by :func:`essen_dash.app.create_app`)."""
    if _holder.data is None:
        raise RuntimeError("Keine Daten geladen: create_app() zuerst aufrufen")
    return _holder.data
